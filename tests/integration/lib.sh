# Shared helpers for the integration tests: each test is a bash script that
# runs the real evalgate binary ($EG_BIN) against the mock gateway ($EG_MOCK).
set -euo pipefail

: "${EG_BIN:?EG_BIN must point at the evalgate binary}"
: "${EG_MOCK:?EG_MOCK must point at the mock gateway binary}"
: "${EG_SRC:?EG_SRC must point at the source tree}"

T=$(mktemp -d "${TMPDIR:-/tmp}/evalgate-it.XXXXXX")
MOCK_PID=""
FAKE_MLFLOW_PID=""
FAILS=0
CHECKS=0

cleanup() {
	stop_mock
	stop_fake_mlflow
	rm -rf "$T"
}
trap cleanup EXIT

# wait_port_file FILE WHAT OUT: waits (up to 5 s) for the port a server started in
# the background writes to FILE; when none comes, says WHAT did not start, shows
# its output OUT and exits
wait_port_file() {
	for _ in $(seq 1 100); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	echo "$2 did not start"
	cat "$3"
	exit 1
}

# start_mock SCRIPT [mock options...]: sets MOCK_PORT and MOCK_URL
start_mock() {
	local script=$1; shift
	stop_mock
	rm -f "$T/mock.port"
	"$EG_MOCK" --port 0 --port-file "$T/mock.port" --script "$script" --log "$T/mock.log" "$@" >"$T/mock.out" 2>&1 &
	MOCK_PID=$!
	wait_port_file "$T/mock.port" "mock gateway" "$T/mock.out"
	MOCK_PORT=$(cat "$T/mock.port")
	MOCK_URL="http://127.0.0.1:$MOCK_PORT/v1"
	export EVALGATE_BASE_URL=$MOCK_URL
}

stop_mock() {
	if [ -n "$MOCK_PID" ]; then kill "$MOCK_PID" 2>/dev/null || true; wait "$MOCK_PID" 2>/dev/null || true; MOCK_PID=""; fi
}

# start_fake_mlflow [fake options...]: the fake MLflow server ($EG_FAKE_MLFLOW), its
# requests logged in $T/fake.log; sets FAKE_MLFLOW_PORT
start_fake_mlflow() {
	stop_fake_mlflow
	rm -f "$T/fake.port"
	"$EG_FAKE_MLFLOW" --port 0 --port-file "$T/fake.port" --log "$T/fake.log" "$@" >"$T/fake.out" 2>&1 &
	FAKE_MLFLOW_PID=$!
	wait_port_file "$T/fake.port" "fake MLflow" "$T/fake.out"
	FAKE_MLFLOW_PORT=$(cat "$T/fake.port")
}

stop_fake_mlflow() {
	if [ -n "$FAKE_MLFLOW_PID" ]; then kill "$FAKE_MLFLOW_PID" 2>/dev/null || true; wait "$FAKE_MLFLOW_PID" 2>/dev/null || true; FAKE_MLFLOW_PID=""; fi
}

# write_config FILE [gates-json] [gateway-extra-json] [top-level-extra-json]: a config
# aimed at the mock; the extra members replace the defaults
write_config() {
	python3 - "$1" "${2:-[]}" "${3:-}" "${4:-}" <<'EOP'
import json, sys
path, gates, extra, top = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
gw = {"base_url": "${EVALGATE_BASE_URL:-http://127.0.0.1:9/v1}", "api_key_env": "EVALGATE_API_KEY",
      "timeout_s": 5, "max_retries": 3, "concurrency": 8, "max_error_rate": 1}
if extra:
    gw.update(json.loads("{" + extra + "}"))
cfg = {"gateway": gw, "target": {"name": "it-bot", "version": "v1", "model": "mock-model"},
       "suites": [], "gates": json.loads(gates)}
if top:
    cfg.update(json.loads("{" + top + "}"))
with open(path, "w") as f:
    json.dump(cfg, f, indent=2)
EOP
}

# make_suite DIR NAME KIND CASES_JSONL [scorers-json]
make_suite() {
	local echo_scorer='[{"type":"contains","value":"echo"}]'
	local dir=$1 name=$2 kind=$3 cases=$4 scorers=${5:-$echo_scorer}
	mkdir -p "$dir"
	printf '{"name": "%s", "version": "1.0.0", "kind": "%s", "scorers": %s}\n' "$name" "$kind" "$scorers" >"$dir/suite.json"
	printf '%s\n' "$cases" >"$dir/cases.jsonl"
}

# n_cases N PREFIX: N simple cases as JSONL
n_cases() {
	local n=$1 prefix=${2:-c}
	for i in $(seq 1 "$n"); do printf '{"id": "%s%d", "input": "question %d"}\n' "$prefix" "$i" "$i"; done
}

sql() { sqlite3 "$T/h.db" "$@"; }

ok() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
not_ok() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "not ok - $*"; }

# check DESCRIPTION CMD...: passes when CMD succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() { if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1: expected '$2', got '$3'"; fi; }
# expect_rc DESCRIPTION EXPECTED CMD...: runs CMD, compares its exit code; output in $T/out, $T/err
expect_rc() {
	local d=$1 want=$2 rc=0; shift 2
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ "$rc" == "$want" ]; then ok "$d"; else not_ok "$d: exit $rc, expected $want"; sed 's/^/    /' "$T/err" | head -20; fi
}
expect_grep() { local d=$1 pat=$2 file=$3; if grep -q -- "$pat" "$file"; then ok "$d"; else not_ok "$d: '$pat' not in $file"; sed 's/^/    /' "$file" | head -10; fi; }

# expect_module_optional MODULE WITH_CFG WITHOUT_CFG WHAT MESSAGE: a copy of the
# binary without MODULE runs --version and validates WITHOUT_CFG (a suite that
# needs no module), refuses WITH_CFG with MESSAGE (which names where it looked),
# and finds MODULE in <bindir>/../lib/evalgate as installed
expect_module_optional() {
	local module=$1 with=$2 without=$3 what=$4 msg=$5
	mkdir -p alone/bin alone/lib/evalgate
	cp "$EG_BIN" alone/bin/evalgate
	expect_rc "without the module --version works" 0 alone/bin/evalgate --version
	expect_rc "without the module a suite without $what validates" 0 alone/bin/evalgate validate --config "$without"
	expect_rc "without the module a suite with $what is refused" 2 alone/bin/evalgate validate --config "$with"
	expect_grep "the message names the module and where it was looked for" "$msg" "$T/err"
	cp "$(dirname "$EG_BIN")/$module" alone/lib/evalgate/
	expect_rc "the module in ../lib/evalgate is found" 0 alone/bin/evalgate validate --config "$with"
}

finish() {
	echo "$((CHECKS - FAILS)) passed, $FAILS failed"
	[ "$FAILS" == 0 ]
}

export EVALGATE_API_KEY="sk-test-SECRET-7f3a9c"
cd "$T"

# --- the Action's install step (build.sh install), shared by t_package and t_action

# pkg_shims DIR LOG: apt-get and sudo that log their call and fail (no network in a
# test), and a cmake that logs its call and runs the real one
pkg_shims() {
	local dir=$1 log=$2 c real
	mkdir -p "$dir"
	for c in apt-get sudo; do
		printf '#!/bin/sh\necho "%s $*" >>"%s"\nexit 1\n' "$c" "$log" >"$dir/$c"
		chmod +x "$dir/$c"
	done
	real=$(command -v cmake)
	printf '#!/bin/sh\necho "cmake $*" >>"%s"\nexec "%s" "$@"\n' "$log" "$real" >"$dir/cmake"
	chmod +x "$dir/cmake"
}

# action_install USER_REPO ACTION_CHECKOUT PKG_DIR SHIMS OUTPUT PATH_FILE: build.sh
# install as action.yml runs it, from the user's repository; GITHUB_OUTPUT and
# GITHUB_PATH are OUTPUT and PATH_FILE (emptied first); the step's log on stdout
action_install() {
	: >"$5"
	: >"$6"
	(cd "$1" && PATH="$4:$PATH" GITHUB_OUTPUT="$5" GITHUB_PATH="$6" \
		bash "$2/actions/evalgate/build.sh" install "$3") 2>&1
}

# project_version: the version in CMakeLists.txt
project_version() {
	sed -n 's/^project(evalgate VERSION \([0-9.]*\).*/\1/p' "$EG_SRC/CMakeLists.txt"
}

# make_deb FILE BIN: a Debian package holding BIN as /usr/bin/evalgate (what cpack
# makes, without building), for tests that install through the Action
make_deb() {
	local root
	root=$(mktemp -d "$T/deb.XXXXXX")
	mkdir -p "$root/DEBIAN" "$root/usr/bin"
	cp "$2" "$root/usr/bin/evalgate"
	printf 'Package: evalgate\nVersion: %s\nArchitecture: amd64\nMaintainer: evalgate tests\nDescription: evalgate (test package)\n' \
		"$(project_version)" >"$root/DEBIAN/control"
	dpkg-deb --root-owner-group --build "$root" "$1" >/dev/null
	rm -rf "$root"
}
