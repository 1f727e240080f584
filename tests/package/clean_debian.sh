#!/usr/bin/env bash
# Installs a built package on a clean Debian 12 (a debootstrap minbase chroot)
# with apt-get, as a user would, and runs it. Needs root and Debian's mirror;
# not part of ctest (it downloads a whole base system).
#
#   (cd build && cpack -G DEB) && sudo tests/package/clean_debian.sh build/evalgate_*_amd64.deb
set -euo pipefail
deb=$(realpath "${1:?usage: clean_debian.sh evalgate_VERSION_amd64.deb [CHROOT]}")
root=${2:-/var/tmp/evalgate-deb12}
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
[ -x "$root/usr/bin/apt-get" ] || debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/dev/null
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/"
chroot "$root" bash -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/$(basename "$deb") >/dev/null && evalgate --version"
