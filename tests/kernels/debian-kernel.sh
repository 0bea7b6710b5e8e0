#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian's own kernel for a lane, unpacked into the cache, never installed:
# nothing lands in /boot or /lib/modules, so what the machine boots next
# does not change.
#
#   debian-kernel.sh amd64   the image and its modules (the stock and dkms
#                            lanes; the headers are the host's installed
#                            linux-headers-amd64)
#   debian-kernel.sh arm64   the image, its arm64 headers and busybox-static
#                            for arm64. The headers' Makefile uses the
#                            host's linux-headers-VER-common (the same files
#                            for every architecture, installed with
#                            linux-headers-amd64), and their scripts/tools
#                            links are pointed at the host's amd64
#                            linux-kbuild, which cross-builds fine.
#
# Prints the cache directory; in it: .mkvm-kver, boot/vmlinuz-KVER,
# lib/modules/KVER, and for arm64 usr/src/linux-headers-KVER and
# bin/busybox. The version follows the host's linux-headers-amd64 (the
# same Debian kernel for both).
set -euo pipefail

arch=${1:?usage: debian-kernel.sh amd64|arm64}
cache=${MKVM_CACHE:-/var/cache/mkvm}
kver=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
       sed -n 's/.*linux-headers-\([0-9][^ ,]*\)-amd64.*/\1/p' || true)
[ -n "$kver" ] || { echo "debian-kernel.sh: cannot tell the Debian kernel version" >&2; exit 1; }
case "$arch" in
amd64)	pkgs=("linux-image-$kver-amd64-unsigned") ;;
arm64)	pkgs=("linux-image-$kver-arm64-unsigned:arm64" "linux-headers-$kver-arm64:arm64"
	      "busybox-static:arm64") ;;
*)	echo "debian-kernel.sh: no lane kernel for '$arch'" >&2; exit 2 ;;
esac
dir=$cache/$arch/$kver

if [ -f "$dir/.mkvm-ready" ]; then
	echo "$dir"
	exit 0
fi
mkdir -p "$cache/$arch"
exec 9>"$cache/$arch/.lock"
flock 9
[ -f "$dir/.mkvm-ready" ] && { echo "$dir"; exit 0; }

rm -rf "$dir" "$dir.debs"
mkdir -p "$dir" "$dir.debs"
(cd "$dir.debs" && apt-get download -q "${pkgs[@]}") >&2
for deb in "$dir.debs"/*.deb; do
	dpkg-deb -x "$deb" "$dir"
done
if [ "$arch" = arm64 ]; then
	hdr=$dir/usr/src/linux-headers-$kver-arm64
	for l in scripts tools; do
		ln -sfn "$(readlink -f "/usr/src/linux-headers-$kver-amd64/$l")" "$hdr/$l"
	done
fi
rm -rf "$dir.debs"
echo "$kver-$arch" >"$dir/.mkvm-kver"
touch "$dir/.mkvm-ready"
echo "$dir"
