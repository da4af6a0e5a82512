#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# DPDK's driver SDK headers for drivers/dpdk (net_chainmesh). Debian's
# libdpdk-dev installs the API headers but not the four a driver needs
# (ethdev_driver.h, ethdev_vdev.h, bus_vdev_driver.h, dev_driver.h): they
# come from Debian's own dpdk source package, the version libdpdk-dev has,
# with apt-get source, into /usr/src/dpdk-sdk-VERSION (drivers/dpdk's
# DPDK_SDK). Adds a deb-src entry for Debian's archive when apt has none.
# Does nothing when they are there already, or when libdpdk-dev is not
# installed.
set -eu

ver=$(pkg-config --modversion libdpdk 2>/dev/null) || {
	echo "dpdk-sdk: no libdpdk (apt-get install libdpdk-dev): nothing to do"
	exit 0
}
dest=${DPDK_SDK:-/usr/src/dpdk-sdk-$ver}
hdrs="lib/ethdev/ethdev_driver.h lib/ethdev/ethdev_vdev.h
drivers/bus/vdev/bus_vdev_driver.h lib/eal/include/dev_driver.h"
missing=
for h in $hdrs; do
	[ -e "$dest/$h" ] || missing=1
done
if [ -z "$missing" ]; then
	echo "dpdk-sdk: $dest has the driver headers"
	exit 0
fi

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
debver=$(dpkg-query -W -f='${Version}' libdpdk-dev)
srclist=/etc/apt/sources.list.d/chainmesh-deb-src.sources
if ! apt-cache showsrc "dpdk=$debver" >/dev/null 2>&1; then
	if ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		$sudo sh -c "cat > $srclist" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	fi
	$sudo apt-get update
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
(cd "$tmp" && apt-get source --download-only "dpdk=$debver")
orig=$(ls "$tmp"/dpdk_*.orig.tar.*)
top=$(tar tf "$orig" | head -n 1 | cut -d/ -f1)
paths=
for h in $hdrs; do
	paths="$paths $top/$h"
done
# shellcheck disable=SC2086
tar xf "$orig" -C "$tmp" $paths
$sudo mkdir -p "$dest"
for h in $hdrs; do
	$sudo install -D -m 0644 "$tmp/$top/$h" "$dest/$h"
done
echo "dpdk-sdk: driver headers of dpdk $debver in $dest"
