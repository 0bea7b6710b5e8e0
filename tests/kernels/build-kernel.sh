#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (or reuse) a guest kernel from Debian's linux-source package:
# allnoconfig + the fragments named on the command line, WireGuard-style.
#
#   build-kernel.sh FRAGMENT...       prints the cached build directory
#
# The cache lives outside the work tree (MKVM_CACHE, default
# /var/cache/mkvm) and is keyed by the source package version and the hash
# of the fragments, so a second run with the same inputs builds nothing.
# The build directory is a full kernel tree: bzImage is at
# arch/x86/boot/bzImage and out-of-tree modules build against it (M=).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${MKVM_CACHE:-/var/cache/mkvm}
src_pkg=${MKVM_SRC_PKG:-linux-source-6.1}

[ $# -ge 1 ] || { echo "usage: $0 FRAGMENT..." >&2; exit 2; }

srcver=$(dpkg-query -W -f='${Version}' "$src_pkg" 2>/dev/null) || {
	echo "build-kernel: $src_pkg is not installed (tests/vm/deps.sh installs it)" >&2
	exit 1
}
tarball=$(ls /usr/src/linux-source-*.tar.xz | grep -F "/${src_pkg}.tar.xz" | head -n1)
frags=()
for f in "$@"; do frags+=("$(realpath "$f")"); done
hash=$(cat "$here/build-kernel.sh" "${frags[@]}" | sha256sum | cut -c1-16)
dir="$cache/kernels/${src_pkg}_${srcver}_${hash}"

if [ -f "$dir/.mkvm-built" ]; then
	echo "$dir"
	exit 0
fi

mkdir -p "$cache/kernels"
exec 9>"$cache/kernels/.lock"
flock 9
if [ -f "$dir/.mkvm-built" ]; then
	echo "$dir"
	exit 0
fi

start=$(date +%s)
echo "build-kernel: building $src_pkg $srcver with $* (cached in $dir)" >&2
rm -rf "$dir"
mkdir -p "$dir"
tar -C "$dir" --strip-components=1 -xf "$tarball"
cd "$dir"
configure_and_build() {
	make allnoconfig || return 1
	cat "${frags[@]}" >.mkvm-fragment || return 1
	scripts/kconfig/merge_config.sh -m .config .mkvm-fragment || return 1
	make olddefconfig || return 1
	# Every option the fragments ask for must have survived olddefconfig:
	# a silently dropped KASAN would make the debug lane a lie.
	local line opt missing=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=n) opt=${line%%=*}
			if grep -q "^$opt=" .config; then echo "dropped: $line"; missing=1; fi ;;
		CONFIG_*) if ! grep -qxF "$line" .config; then echo "dropped: $line"; missing=1; fi ;;
		esac
	done <.mkvm-fragment
	[ $missing -eq 0 ] || return 1
	make -j"$(nproc)" bzImage modules || return 1
}

if ! configure_and_build >build.log 2>&1; then
	echo "build-kernel: failed, see $dir/build.log:" >&2
	grep -E 'dropped:|error' build.log | tail -n 20 >&2 || tail -n 30 build.log >&2
	exit 1
fi
end=$(date +%s)
echo "$((end - start))" >.mkvm-build-seconds
touch .mkvm-built
echo "build-kernel: built in $((end - start)) s" >&2
echo "$dir"
