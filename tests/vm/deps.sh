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
	stock)	pkgs+=(linux-image-amd64 linux-headers-amd64) ;;
	debug)	pkgs+=(flex bison bc libelf-dev libssl-dev) ;;
	chroot)	pkgs+=(debootstrap) ;;
	*)	echo "deps.sh: unknown lane '$lane'" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${pkgs[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
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
