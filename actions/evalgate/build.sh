#!/usr/bin/env bash
# Build steps of the evalgate action; action.yml only calls these.
#
#   build.sh deps            install the Debian/Ubuntu packages evalgate builds against
#   build.sh hash            print source-hash=SHA256 of the sources to $GITHUB_OUTPUT
#                            (the build cache key: actions/cache cannot hashFiles()
#                            outside the workspace, and the action's sources may be)
#   build.sh build OUTDIR    build evalgate (tests off) into OUTDIR/evalgate unless it
#                            is already there (a cache hit)
#
# EVALGATE_SRC: the source tree (default: two levels above this script).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${EVALGATE_SRC:-$(cd "$here/../.." && pwd)}

# what evalgate needs to build and run (not the test-only Criterion and libmicrohttpd)
PACKAGES="build-essential cmake pkg-config libcurl4-openssl-dev libcjson-dev libpcre2-dev libsqlite3-dev"

deps() {
	local missing="" p sudo=""
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=" $p"
	done
	if [ -z "$missing" ]; then
		echo "build dependencies already installed"
		return 0
	fi
	[ "$(id -u)" = 0 ] || sudo="sudo"
	echo "::group::apt-get install$missing"
	$sudo apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
	echo "::endgroup::"
}

# every file the binary is built from, in a stable order, hashed by name and content
source_hash() {
	(cd "$src" && find CMakeLists.txt cmake runner scorers reports -type f \
		\( -name '*.c' -o -name '*.h' -o -name '*.txt' -o -name '*.cmake' \) -print0 |
		LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)
}

hash() {
	local h
	h=$(source_hash)
	echo "evalgate sources: sha256 $h"
	if [ -n "${GITHUB_OUTPUT:-}" ]; then
		echo "source-hash=$h" >>"$GITHUB_OUTPUT"
	fi
}

build() {
	local out=${1:?build needs an output directory}
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	if [ -x "$out/evalgate" ] && [ "$(cat "$out/source-hash" 2>/dev/null)" = "$(source_hash)" ]; then
		echo "evalgate is cached: $("$out/evalgate" --version)"
	else
		echo "::group::build evalgate"
		cmake -S "$src" -B "$out/cmake" -DCMAKE_BUILD_TYPE=Release -DEG_TESTS=OFF
		cmake --build "$out/cmake" -j"$(nproc)" --target evalgate
		cp "$out/cmake/evalgate" "$out/evalgate"
		source_hash >"$out/source-hash"
		rm -rf "$out/cmake"
		echo "::endgroup::"
	fi
	if [ -n "${GITHUB_PATH:-}" ]; then
		echo "$out" >>"$GITHUB_PATH"
	fi
	if [ -n "${GITHUB_OUTPUT:-}" ]; then
		echo "evalgate=$out/evalgate" >>"$GITHUB_OUTPUT"
	fi
}

case "${1:-}" in
deps) deps ;;
hash) hash ;;
build) build "${2:-}" ;;
*) echo "usage: build.sh deps|hash|build OUTDIR" >&2; exit 2 ;;
esac
