#!/usr/bin/env bash
# libcurl is opened when something first speaks HTTP through it
# (runner/util/curl_load.h), not at start-up: loading it and the thirty
# libraries under it cost every command about 15 ms.
#   - the binary does not link libcurl
#   - --version, validate, report and gate never map it (the dynamic
#     loader's own log, LD_DEBUG=files); the MLflow registry client does,
#     which shows the log would say so
#   - a run against the mock gateway (plain http://, the built-in client)
#     works without mapping it; with "http_client": "libcurl" it maps it
#   - a libcurl.so.4 that does not load: the commands without HTTP and a
#     plain-http run work; a run whose gateway needs libcurl and the MLflow
#     registry stop with exit 2 and a message saying what to install, and
#     the run writes nothing
. "$(dirname "$0")/lib.sh"

: "${EG_FAKE_MLFLOW:?EG_FAKE_MLFLOW must point at the fake MLflow server}"

# maps_curl NAME CMD...: runs CMD (its exit code in MAPS_RC) with the
# loader's log of the files it maps in ld/NAME.*; true when libcurl was
# among them (in any process of CMD)
maps_curl() {
	local name=$1; shift
	mkdir -p ld
	rm -f ld/"$name".*
	MAPS_RC=0
	LD_DEBUG=files LD_DEBUG_OUTPUT="$T/ld/$name" "$@" >"$T/out" 2>"$T/err" || MAPS_RC=$?
	ls ld/"$name".* >/dev/null 2>&1 || { echo "no loader log for $name"; return 2; }
	grep -q 'file=[^ ]*libcurl\.so' ld/"$name".*
}
# not_maps_curl NAME CMD...: the command succeeded without mapping libcurl
not_maps_curl() {
	local rc=0
	maps_curl "$@" || rc=$?
	[ "$rc" == 1 ] && [ "$MAPS_RC" == 0 ] || { sed 's/^/    /' "$T/err" | head -5; return 1; }
}

check "the binary does not link libcurl" bash -c "! readelf -d '$EG_BIN' | grep NEEDED | grep -q libcurl"

mkdir -p s/a
make_suite s/a a golden '{"id": "c1", "input": "hello"}'
printf '{"reply": "echo hello"}\n' >script.jsonl
write_config c.json '[{"metric": "pass_rate", "min": 1}]' "" '"suites": ["s/a"]'
write_config curl.json '[{"metric": "pass_rate", "min": 1}]' '"http_client": "libcurl"' '"suites": ["s/a"]'

check "--version does not map libcurl" not_maps_curl version "$EG_BIN" --version
expect_grep "... and prints the version" "^evalgate " "$T/out"
check "validate does not map libcurl" not_maps_curl validate "$EG_BIN" validate --config c.json
expect_grep "... and validates" "ok: config, 1 suite" "$T/err"

start_mock script.jsonl
check "a plain-http run does not map libcurl" not_maps_curl run "$EG_BIN" run --config c.json --history "$T/h.db" --no-cache
expect_eq "... and stores its passing case" "1" "$(sql "select pass from scores")"
check "a run with http_client libcurl maps it" \
	maps_curl runcurl "$EG_BIN" run --config curl.json --history "$T/h2.db" --no-cache
expect_eq "... and works" "0" "$MAPS_RC"
stop_mock

check "report does not map libcurl" not_maps_curl report "$EG_BIN" report latest --history "$T/h.db" --junit "$T/j.xml"
check "... and writes the report" test -s "$T/j.xml"
check "gate does not map libcurl" not_maps_curl gate "$EG_BIN" gate latest --config c.json --history "$T/h.db"
expect_grep "... and gives its verdict" "PASS" "$T/out"

export MLFLOW_TRACKING_TOKEN="mlflow-token-5ecret"
start_fake_mlflow
ML="mlflow+http://127.0.0.1:$FAKE_MLFLOW_PORT?db=$T/mlreg.db"
check "the MLflow registry client maps libcurl (the log shows it)" \
	maps_curl mlflow "$EG_BIN" registry register lazy-bot 1 --registry "$ML"
expect_eq "... and registers the version" "0" "$MAPS_RC"
expect_grep "... through the server" '"path":"/api/2.0/mlflow/model-versions/create"' "$T/fake.log"

# a libcurl.so.4 the loader finds first and cannot load
mkdir -p broken
echo "not a shared library" >broken/libcurl.so.4
nolib() { LD_LIBRARY_PATH="$T/broken${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }
expect_rc "without libcurl --version works" 0 nolib "$EG_BIN" --version
expect_rc "without libcurl validate works" 0 nolib "$EG_BIN" validate --config c.json
expect_rc "without libcurl report works" 0 nolib "$EG_BIN" report latest --history "$T/h.db" --markdown -

mkdir -p fresh
start_mock script.jsonl
expect_rc "without libcurl a plain-http run works" 0 \
	nolib "$EG_BIN" run --config c.json --history "$T/h3.db" --no-cache
n=$(cat mock.log 2>/dev/null | wc -l)
expect_rc "without libcurl a run whose gateway needs it stops (exit 2)" 2 \
	bash -c "cd fresh && LD_LIBRARY_PATH='$T/broken' '$EG_BIN' run --config ../curl.json --junit j.xml"
expect_grep "... saying what cannot be loaded and what to install" \
	"^evalgate: cannot load libcurl (libcurl.so.4): .*libcurl.so.4.*; install libcurl4$" "$T/err"
expect_eq "... and writes nothing (no history, no report)" "" "$(ls -A fresh)"
expect_eq "... and calls nothing" "$n" "$(cat mock.log 2>/dev/null | wc -l)"
stop_mock

n=$(wc -l <"$T/fake.log")
expect_rc "without libcurl the MLflow registry stops (exit 2)" 2 \
	nolib "$EG_BIN" registry register lazy-bot 2 --registry "$ML"
expect_grep "... with the same message" "cannot load libcurl (libcurl.so.4): .*; install libcurl4" "$T/err"
expect_eq "... and sends nothing" "$n" "$(wc -l <"$T/fake.log")"
finish
