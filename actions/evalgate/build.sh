#!/usr/bin/env bash
# How the evalgate action gets its binary; action.yml only calls these.
#
#   build.sh key              print key=evalgate-VERSION-SHA256 (the version and a hash of
#                             the sources) to $GITHUB_OUTPUT: the cache key of the package
#                             (actions/cache cannot hashFiles() outside the workspace,
#                             and the action's sources are outside it)
#   build.sh install DIR      make DIR/evalgate_VERSION_ARCH.deb unless DIR holds the one
#                             of these sources (a cache hit), then unpack its binary to
#                             DIR/root and print evalgate=PATH to $GITHUB_OUTPUT
#
# On a cache miss (and only then) apt-get installs the build dependencies, the
# package is built with CPack, and the runtime packages it depends on are
# downloaded into DIR/runtime. On a hit nothing is built and apt-get is not run:
# a runtime library the runner lacks is installed from DIR/runtime with dpkg.
# The user's repository never needs evalgate's sources: they come with the action
# (EVALGATE_SRC, default two levels above this script).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${EVALGATE_SRC:-$(cd "$here/../.." && pwd)}

# what evalgate needs to build (not the test-only Criterion and libmicrohttpd)
BUILD_PACKAGES="build-essential g++ cmake pkg-config dpkg-dev libcurl4-openssl-dev libcjson-dev
libpcre2-dev libsqlite3-dev libphonenumber-dev libvalijson-dev nlohmann-json3-dev"

sudo_cmd() { # run as root: directly when we are, else through sudo
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

missing_packages() { # print those of the named packages that are not installed
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
	done
}

apt_install() {
	echo "::group::apt-get install $*"
	sudo_cmd apt-get update -qq
	DEBIAN_FRONTEND=noninteractive sudo_cmd apt-get install -y -qq --no-install-recommends "$@"
	echo "::endgroup::"
}

version() {
	sed -n 's/^project(evalgate VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt"
}

# every file the binary is built from, in a stable order, hashed by name and content
source_hash() {
	(cd "$src" && find CMakeLists.txt cmake runner scorers reports -type f \
		\( -name '*.c' -o -name '*.cc' -o -name '*.h' -o -name '*.txt' -o -name '*.cmake' \
		-o -name '*.css' -o -name '*.js' \) -print0 |
		LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)
}

key() {
	local k
	k="evalgate-$(version)-$(source_hash)"
	echo "package cache key: $k"
	if [ -n "${GITHUB_OUTPUT:-}" ]; then
		echo "key=$k" >>"$GITHUB_OUTPUT"
	fi
}

# the package's Depends: as package names, one per line
depends() {
	dpkg-deb -f "$1" Depends | tr ',' '\n' | sed 's/(.*)//; s/|.*//; s/[[:space:]]//g' | grep -v '^$'
}

build_package() { # build_package DIR: a cache miss
	local out=$1 missing
	# shellcheck disable=SC2086
	missing=$(missing_packages $BUILD_PACKAGES)
	# shellcheck disable=SC2086
	[ -z "$missing" ] || apt_install $missing
	echo "::group::build the evalgate package"
	rm -rf "$out/cmake" "$out"/evalgate_*.deb "$out/runtime"
	cmake -S "$src" -B "$out/cmake" -DCMAKE_BUILD_TYPE=Release -DEG_TESTS=OFF
	cmake --build "$out/cmake" -j"$(nproc)" --target evalgate
	(cd "$out/cmake" && cpack -G DEB >/dev/null)
	mv "$out"/cmake/evalgate_*.deb "$out/"
	rm -rf "$out/cmake"
	echo "::endgroup::"
	# the runtime packages, so that a hit on a fresh runner needs no apt-get
	mkdir -p "$out/runtime"
	# shellcheck disable=SC2046
	(cd "$out/runtime" && apt-get download $(depends "$out"/evalgate_*.deb | grep -v '^libc6$') \
		>/dev/null 2>&1) || echo "runtime packages not downloaded; a cache hit may need apt-get"
	source_hash >"$out/source-hash"
}

install() {
	local out=${1:?install needs a directory} deb missing p f
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	if compgen -G "$out/evalgate_*.deb" >/dev/null &&
		[ "$(cat "$out/source-hash" 2>/dev/null)" = "$(source_hash)" ]; then
		echo "evalgate package is cached: $(basename "$out"/evalgate_*.deb)"
	else
		build_package "$out"
	fi
	deb=$(echo "$out"/evalgate_*.deb)
	rm -rf "$out/root"
	dpkg-deb -x "$deb" "$out/root"
	# the runtime libraries: when the binary finds them all (the Depends may name
	# virtual packages), nothing is installed; else from the cached packages,
	# apt-get only as a last resort
	if ldd "$out/root/usr/bin/evalgate" | grep -q 'not found'; then
		# shellcheck disable=SC2046
		missing=$(missing_packages $(depends "$deb"))
		local files=()
		for p in $missing; do
			for f in "$out/runtime/${p}_"*.deb; do [ -e "$f" ] && files+=("$f"); done
		done
		if [ ${#files[@]} -gt 0 ]; then
			echo "installing cached runtime packages: $missing"
			sudo_cmd dpkg -i "${files[@]}" >/dev/null || true
		fi
		if ldd "$out/root/usr/bin/evalgate" | grep -q 'not found'; then
			# shellcheck disable=SC2046
			missing=$(missing_packages $(depends "$deb"))
			# shellcheck disable=SC2086
			[ -z "$missing" ] || apt_install $missing
		fi
	fi
	echo "evalgate: $("$out/root/usr/bin/evalgate" --version)"
	if [ -n "${GITHUB_PATH:-}" ]; then
		echo "$out/root/usr/bin" >>"$GITHUB_PATH"
	fi
	if [ -n "${GITHUB_OUTPUT:-}" ]; then
		echo "evalgate=$out/root/usr/bin/evalgate" >>"$GITHUB_OUTPUT"
	fi
}

case "${1:-}" in
key) key ;;
install) install "${2:-}" ;;
*) echo "usage: build.sh key|install DIR" >&2; exit 2 ;;
esac
