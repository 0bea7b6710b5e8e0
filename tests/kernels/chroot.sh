#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A Debian chroot of SUITE (trixie, sid, ...) with that suite's kernel
# headers and the compiler its kernel was built with, plus that kernel's
# image unpacked under /mkvm-kernel. Newer Debian kernels need a newer gcc
# and libc than bookworm has, so their modules are built in here.
#
#   chroot.sh SUITE        prints the chroot directory
#
# Cached in $MKVM_CACHE/chroots/SUITE (default /var/cache/mkvm), rebuilt
# when this script changes or the chroot is older than
# MKVM_CHROOT_MAX_DAYS (default 30). The mirror is the one
# this machine's apt already uses: no host name is written anywhere.
set -euo pipefail

suite=${1:?usage: chroot.sh SUITE}
cache=${MKVM_CACHE:-/var/cache/mkvm}
dir=$cache/chroots/$suite
max_days=${MKVM_CHROOT_MAX_DAYS:-30}

stamp=$(sha256sum "$0" | cut -c1-16)
ready() {
	[ -f "$dir/.mkvm-ready" ] && [ "$(cat "$dir/.mkvm-ready")" = "$stamp" ] &&
		[ -z "$(find "$dir/.mkvm-ready" -mtime +"$max_days")" ]
}
if ready; then
	echo "$dir"
	exit 0
fi

mirror() {
	local uri
	uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources |
	      awk '{print $2}' | grep -v -- '-security' | head -n1)
	[ -n "$uri" ] || uri=$(awk '$1 == "deb" && $3 !~ /security/ {print $2; exit}' \
			       /etc/apt/sources.list 2>/dev/null)
	[ -n "$uri" ] || { echo "chroot.sh: no Debian mirror in the apt sources" >&2; return 1; }
	echo "$uri"
}

mkdir -p "$cache/chroots"
exec 9>"$cache/chroots/.lock"
flock 9
if ready; then
	echo "$dir"
	exit 0
fi

start=$(date +%s)
uri=$(mirror)
echo "chroot.sh: debootstrap $suite (a minute or two)" >&2
rm -rf "$dir"
debootstrap --variant=minbase \
	--include=make,gcc,libc6-dev,linux-headers-amd64,bc,flex,bison,libelf-dev,kmod,perl \
	"$suite" "$dir" "$uri" >"$cache/chroots/$suite-debootstrap.log" 2>&1 || {
	tail -n 20 "$cache/chroots/$suite-debootstrap.log" >&2
	exit 1
}

# The kernel the headers are for, and its image, unpacked (not installed).
kver=$(chroot "$dir" dpkg-query -W -f='${Depends}' linux-headers-amd64 |
       sed -n 's/.*linux-headers-\([0-9][^ ,]*-amd64\).*/\1/p')
[ -n "$kver" ] || { echo "chroot.sh: no kernel version in $suite's headers" >&2; exit 1; }
# The package holding vmlinuz has had several names and places:
# linux-binary-* with /usr/lib/modules/VER/vmlinuz (7.x),
# linux-image-*-unsigned or linux-image-* with /boot/vmlinuz-VER (6.x).
kimage=""
mkdir -p "$dir/mkvm-kernel"
for pkg in "linux-binary-$kver" "linux-image-$kver-unsigned" "linux-image-$kver"; do
	chroot "$dir" sh -c "cd /mkvm-kernel && apt-get download -q $pkg" >/dev/null 2>&1 || continue
	for deb in "$dir"/mkvm-kernel/*.deb; do
		dpkg-deb -x "$deb" "$dir/mkvm-kernel"
		rm -f "$deb"
	done
	for f in "boot/vmlinuz-$kver" "usr/lib/modules/$kver/vmlinuz"; do
		[ -f "$dir/mkvm-kernel/$f" ] && kimage=$dir/mkvm-kernel/$f
	done
	[ -n "$kimage" ] && break
done
[ -n "$kimage" ] || { echo "chroot.sh: no vmlinuz for $kver in $suite" >&2; exit 1; }
echo "$kimage" >"$dir/.mkvm-kimage"
echo "$kver" >"$dir/.mkvm-kver"
echo "$stamp" >"$dir/.mkvm-ready"
echo "chroot.sh: $suite ready in $(( $(date +%s) - start ))s: kernel $kver" >&2
echo "$dir"
