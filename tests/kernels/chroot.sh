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
# Cached in $MKVM_CACHE/chroots/SUITE (default /var/cache/mkvm), refreshed
# when older than MKVM_CHROOT_MAX_DAYS (default 30). The mirror is the one
# this machine's apt already uses: no host name is written anywhere.
set -euo pipefail

suite=${1:?usage: chroot.sh SUITE}
cache=${MKVM_CACHE:-/var/cache/mkvm}
dir=$cache/chroots/$suite
max_days=${MKVM_CHROOT_MAX_DAYS:-30}

if [ -f "$dir/.mkvm-ready" ] &&
   [ -z "$(find "$dir/.mkvm-ready" -mtime +"$max_days")" ]; then
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

start=$(date +%s)
uri=$(mirror)
echo "chroot.sh: debootstrap $suite (a minute or two)" >&2
rm -rf "$dir"
debootstrap --variant=minbase \
	--include=make,gcc,libc6-dev,linux-headers-amd64,bc,flex,bison,libelf-dev,kmod,ca-certificates \
	"$suite" "$dir" "$uri" >"$cache/chroots/$suite-debootstrap.log" 2>&1 || {
	tail -n 20 "$cache/chroots/$suite-debootstrap.log" >&2
	exit 1
}

# The kernel the headers are for, and its image, unpacked (not installed).
kver=$(chroot "$dir" dpkg-query -W -f='${Depends}' linux-headers-amd64 |
       sed -n 's/.*linux-headers-\([0-9][^ ,]*-amd64\).*/\1/p')
[ -n "$kver" ] || { echo "chroot.sh: no kernel version in $suite's headers" >&2; exit 1; }
mkdir -p "$dir/mkvm-kernel"
chroot "$dir" sh -c "cd /mkvm-kernel && apt-get download -q linux-image-$kver-unsigned || apt-get download -q linux-image-$kver" >&2
for deb in "$dir"/mkvm-kernel/*.deb; do
	dpkg-deb -x "$deb" "$dir/mkvm-kernel"
	rm -f "$deb"
done
[ -f "$dir/mkvm-kernel/boot/vmlinuz-$kver" ] || { echo "chroot.sh: no vmlinuz-$kver" >&2; exit 1; }
echo "$kver" >"$dir/.mkvm-kver"
touch "$dir/.mkvm-ready"
echo "chroot.sh: $suite ready in $(( $(date +%s) - start ))s: kernel $kver" >&2
echo "$dir"
