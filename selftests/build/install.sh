#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What `make install` and dkms.conf promise: the modules and the tools land
# where they should, the modules are built for Debian's 6.1 kernel, and
# dkms.conf names the modules the build makes. Runs on the build machine,
# into a scratch DESTDIR; boots nothing. Prints TAP.

set -e
. "$(dirname "$(readlink -f "$0")")/lib.sh"
cd "$(dirname "$0")/../.."

dest=$(mktemp -d /tmp/cm-install.XXXXXX)
cleanup() { rm -rf "$dest"; }
trap cleanup EXIT


kver=$(ls -1 /lib/modules | grep -E '^6\.1\.[0-9]+-[0-9]+-amd64$' | sort -V | tail -n 1)

echo "1..9"
check "make install DESTDIR=... PREFIX=/usr" \
	make -s install DESTDIR="$dest" PREFIX=/usr
check "tools installed: chainmesh, chainmesh-ivshmemd, cm-peer" \
	test -x "$dest/usr/bin/chainmesh" -a -x "$dest/usr/bin/chainmesh-ivshmemd" \
	     -a -x "$dest/usr/bin/cm-peer"
check "libchainmesh installed: libchainmesh.so.0, libchainmesh.a, header, .pc; chainmesh-mesh" \
	test -e "$dest/usr/lib/libchainmesh.so.0" -a -f "$dest/usr/lib/libchainmesh.a" \
	     -a -f "$dest/usr/include/chainmesh/libchainmesh.h" \
	     -a -f "$dest/usr/lib/pkgconfig/libchainmesh.pc" \
	     -a -x "$dest/usr/bin/chainmesh-mesh"
check "modules installed under /lib/modules/$kver/extra" \
	test -f "$dest/lib/modules/$kver/extra/host/chainmesh_host.ko" \
	     -a -f "$dest/lib/modules/$kver/extra/guest/chainmesh.ko"
check "chainmesh_host.ko built for $kver" \
	bash -c "modinfo -F vermagic '$dest/lib/modules/$kver/extra/host/chainmesh_host.ko' | grep -q '^$kver '"
check "chainmesh.ko built for $kver" \
	bash -c "modinfo -F vermagic '$dest/lib/modules/$kver/extra/guest/chainmesh.ko' | grep -q '^$kver '"
check "installed chainmesh help exits 0 and lists mesh, chain, flow" \
	bash -c "'$dest/usr/bin/chainmesh' help | grep -q 'flow add' &&
		 '$dest/usr/bin/chainmesh' help | grep -q 'mesh add' &&
		 '$dest/usr/bin/chainmesh' help | grep -q 'chain add'"
check "chainmesh-ivshmemd -h documents the peer id rule" \
	bash -c "'$dest/usr/bin/chainmesh-ivshmemd' -h 2>&1 | grep -q 'lowest id not in use'"
check "dkms.conf names both modules where the build puts them" \
	bash -c ". ./dkms.conf &&
		 [ \"\${BUILT_MODULE_NAME[0]}\" = chainmesh_host ] &&
		 [ -f \"\${BUILT_MODULE_LOCATION[0]}chainmesh_host.ko\" ] &&
		 [ \"\${BUILT_MODULE_NAME[1]}\" = chainmesh ] &&
		 [ -f \"\${BUILT_MODULE_LOCATION[1]}chainmesh.ko\" ]"
exit $cm_check_fail
