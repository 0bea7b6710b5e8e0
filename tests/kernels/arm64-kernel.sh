#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian's arm64 kernel for the arm64 lane, unpacked (never installed):
# the image, its arm64 headers and busybox-static for arm64. The headers'
# Makefile uses the host's linux-headers-VER-common (the same files for
# every architecture, installed with linux-headers-amd64), and their
# scripts/tools links are pointed at the host's amd64 linux-kbuild, which
# cross-builds fine.
#
#   arm64-kernel.sh        prints the cache directory; in it: .mkvm-kver,
#                          boot/vmlinuz-VER, usr/src/linux-headers-VER,
#                          bin/busybox, lib/modules/VER
#
# The version follows the host's linux-headers-amd64 (same Debian kernel).
set -euo pipefail

cache=${MKVM_CACHE:-/var/cache/mkvm}
kver=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 |
       sed -n 's/.*linux-headers-\([0-9][^ ,]*\)-amd64.*/\1/p')
[ -n "$kver" ] || { echo "arm64-kernel.sh: cannot tell the Debian kernel version" >&2; exit 1; }
dir=$cache/arm64/$kver

if [ -f "$dir/.mkvm-ready" ]; then
	echo "$dir"
	exit 0
fi
mkdir -p "$cache/arm64"
exec 9>"$cache/arm64/.lock"
flock 9
[ -f "$dir/.mkvm-ready" ] && { echo "$dir"; exit 0; }

rm -rf "$dir" "$dir.debs"
mkdir -p "$dir" "$dir.debs"
(cd "$dir.debs" && apt-get download -q \
	"linux-image-$kver-arm64-unsigned:arm64" "linux-headers-$kver-arm64:arm64" \
	"busybox-static:arm64") >&2
for deb in "$dir.debs"/*.deb; do
	dpkg-deb -x "$deb" "$dir"
done
hdr=$dir/usr/src/linux-headers-$kver-arm64
for l in scripts tools; do
	ln -sfn "$(readlink -f "/usr/src/linux-headers-$kver-amd64/$l")" "$hdr/$l"
done
rm -rf "$dir.debs"
echo "$kver-arm64" >"$dir/.mkvm-kver"
touch "$dir/.mkvm-ready"
echo "$dir"
