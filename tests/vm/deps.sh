#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Make sure what the QEMU harness needs is installed (Debian 12 and later):
#   deps.sh [LANE...]
# As root it installs what is missing with apt-get; otherwise it prints the
# exact command to run and fails.
set -euo pipefail

# Packages every lane needs: QEMU, the guest userspace, the build tools
# for the module and the test programs, checkpatch's source tarball.
pkgs=(qemu-system-x86 busybox-static libkmod-dev kmod build-essential cpio
      gzip xz-utils linux-source-6.1)

for lane in "${@:-stock}"; do
	case "$lane" in
	stock)	pkgs+=(linux-headers-amd64) ;;	# the image: debian-kernel.sh
	debug)	pkgs+=(flex bison bc libelf-dev libssl-dev e2fsprogs) ;;
	bench)	pkgs+=(flex bison bc libelf-dev libssl-dev linux-perf gnuplot-nox) ;;
	chroot)	pkgs+=(debootstrap) ;;
	proofs)	pkgs+=(spin) ;;
	dkms)	pkgs+=(dkms) ;;
	arm64)	pkgs+=(linux-headers-amd64 gcc-aarch64-linux-gnu qemu-system-arm libc6-dev:arm64 libkmod-dev:arm64) ;;
	*)	echo "deps.sh: unknown lane '$lane'" >&2; exit 2 ;;
	esac
done

# arm64 packages come from the same bookworm archive, as a foreign
# architecture; the base system stays amd64.
if [[ " ${pkgs[*]} " == *":arm64 "* ]] &&
   ! dpkg --print-foreign-architectures | grep -qx arm64; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "mkvm: the arm64 lane needs arm64 packages. Run as root:" >&2
		echo "  dpkg --add-architecture arm64 && apt-get update" >&2
		exit 1
	fi
	dpkg --add-architecture arm64
	apt-get update -qq >&2
fi

# Installed means: in the named architecture (pkg:arch), or else in the
# native one or "all" (with arm64 added, one name can match several).
native=$(dpkg --print-architecture)
installed() {
	local name=${1%%:*} arch=${1#*:}
	[ "$arch" != "$1" ] || arch=""
	dpkg-query -W -f='${Architecture} ${Status}\n' "$name" 2>/dev/null |
		grep -qE "^(${arch:-$native|all}) install ok installed$"
}
missing=()
for p in "${pkgs[@]}"; do
	installed "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "mkvm: missing packages. Run as root:" >&2
	echo "  apt-get update && $cmd" >&2
	exit 1
fi
echo "mkvm: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
$cmd >&2
