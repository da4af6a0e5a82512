#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Install what building and testing chainmesh needs on Debian 12, with
# apt-get, only if something is missing (checked with dpkg-query, so an
# up-to-date machine needs neither root nor the network).

set -e

PKGS="build-essential linux-headers-amd64 linux-image-amd64 qemu-system-x86
clang libclang-rt-14-dev
busybox-static sparse libmnl-dev pkg-config python3 python3-yaml iproute2 ethtool cpio
kmod perl nftables libc6-dev tcpdump
systemd groff-base man-db bsdextrautils bash-completion
mmdebstrap libvirt-daemon-system libvirt-clients libxml2-utils"

missing=
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
	echo "deps: everything is installed"
	exit 0
fi
echo "deps: installing:$missing"

if [ "$(id -u)" -eq 0 ]; then
	SUDO=
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "deps: need root to install:$missing (run as root or install sudo)" >&2
	exit 1
fi

$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends $missing
