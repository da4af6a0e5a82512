#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What `make install` and dkms.conf promise: the modules and the users'
# tools land where they should (the CLI in bin, the daemon in sbin, cm-peer
# nowhere), with systemd units that systemd-analyze finds clean,
# modules-load.d and tmpfiles.d entries, man pages that groff renders
# without a warning, bash completion that completes; `make install-tools`
# needs no kernel headers; the modules are built for Debian's 6.1 kernel,
# and dkms.conf names the modules the build makes and builds for 6.1 only. Runs on the build machine,
# into a scratch DESTDIR; boots nothing. Prints TAP.

set -e
. "$(dirname "$(readlink -f "$0")")/lib.sh"
cd "$(dirname "$0")/../.."

dest=$(mktemp -d /tmp/cm-install.XXXXXX)
cleanup() { rm -rf "$dest"; }
trap cleanup EXIT


kver=$(ls -1 /lib/modules | grep -E '^6\.1\.[0-9]+-[0-9]+-amd64$' | sort -V | tail -n 1)

# comp LINE...: what bash completion offers for the words LINE (the last
# one being completed), one a line
comp()
{
	bash -c '. /usr/share/bash-completion/bash_completion &&
		. "$1" && shift &&
		COMP_WORDS=("$@") && COMP_CWORD=$(($# - 1)) &&
		COMP_LINE="$*" && COMP_POINT=${#COMP_LINE} &&
		_chainmesh chainmesh "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" &&
		printf "%s\n" "${COMPREPLY[@]}"' comp \
		"$dest/usr/share/bash-completion/completions/chainmesh" "$@"
}

completion_ok()
{
	[ "$(comp chainmesh fl)" = flow ] &&
		comp chainmesh flow a | grep -qx add &&
		comp chainmesh flow add 1 chain 1 pr | grep -qx prio &&
		comp chainmesh chain add 1 hops 1 policy b | grep -qx bypass &&
		comp chainmesh -p | grep -qx -- -pretty
}

# units_verify: systemd-analyze finds nothing to say about the units, as
# installed into a prefix of their own (so that ExecStart's paths exist).
units_verify()
{
	local p=$dest/prefix u=$dest/prefix/lib/systemd/system out

	make -s install-tools PREFIX="$p" >/dev/null || return 1
	cp "$u/chainmesh-ivshmemd@.service" "$u/chainmesh-ivshmemd@m.service"
	out=$(systemd-analyze verify --man=no "$u/chainmesh-ivshmemd@m.service" \
		"$u/chainmesh.service" 2>&1) || { echo "$out"; return 1; }
	[ -z "$out" ] || { echo "$out"; return 1; }
	grep -qx "ExecStart=$p/sbin/chainmesh-ivshmemd -M %i -p /run/chainmesh/%i.pid -d" \
		"$u/chainmesh-ivshmemd@.service" &&
		grep -qx 'RuntimeDirectory=chainmesh' "$u/chainmesh-ivshmemd@.service" &&
		grep -qx "ExecStart=$p/bin/chainmesh -batch /etc/chainmesh/chainmesh.conf" \
			"$u/chainmesh.service"
}

echo "1..21"
check "make install DESTDIR=... PREFIX=/usr" \
	make -s install DESTDIR="$dest" PREFIX=/usr
check "tools installed: chainmesh in bin, chainmesh-ivshmemd in sbin" \
	test -x "$dest/usr/bin/chainmesh" -a -x "$dest/usr/sbin/chainmesh-ivshmemd"
check "cm-peer (a test helper) and the daemon in bin are not installed" \
	bash -c "[ -z \"\$(find '$dest' -name 'cm-peer*')\" ] && [ ! -e '$dest/usr/bin/chainmesh-ivshmemd' ]"
check "libchainmesh installed: libchainmesh.so.0, libchainmesh.a, header, .pc" \
	test -e "$dest/usr/lib/libchainmesh.so.0" -a -f "$dest/usr/lib/libchainmesh.a" \
	     -a -f "$dest/usr/include/chainmesh/libchainmesh.h" \
	     -a -f "$dest/usr/lib/pkgconfig/libchainmesh.pc"
check "modules installed under /lib/modules/$kver/extra" \
	test -f "$dest/lib/modules/$kver/extra/host/chainmesh_host.ko" \
	     -a -f "$dest/lib/modules/$kver/extra/guest/chainmesh.ko"
check "the guest's .link file (keeps cm0 under udev) installed for systemd-udevd" \
	bash -c "grep -qx 'Driver=chainmesh' '$dest/usr/lib/systemd/network/70-chainmesh.link' &&
		 grep -qx 'NamePolicy=' '$dest/usr/lib/systemd/network/70-chainmesh.link'"
check "chainmesh_host.ko built for $kver" \
	bash -c "modinfo -F vermagic '$dest/lib/modules/$kver/extra/host/chainmesh_host.ko' | grep -q '^$kver '"
check "chainmesh.ko built for $kver" \
	bash -c "modinfo -F vermagic '$dest/lib/modules/$kver/extra/guest/chainmesh.ko' | grep -q '^$kver '"
check "installed chainmesh help exits 0 and lists mesh, chain, flow" \
	bash -c "'$dest/usr/bin/chainmesh' help | grep -q 'flow add' &&
		 '$dest/usr/bin/chainmesh' help | grep -q 'mesh add' &&
		 '$dest/usr/bin/chainmesh' help | grep -q 'chain add'"
check "chainmesh-ivshmemd -h documents the peer id rule" \
	bash -c "'$dest/usr/sbin/chainmesh-ivshmemd' -h 2>&1 | grep -q 'lowest id not in use'"
check "systemd units: chainmesh.service, chainmesh-ivshmemd@.service with the install's paths" \
	bash -c "grep -qx 'ExecStart=/usr/sbin/chainmesh-ivshmemd -M %i -p /run/chainmesh/%i.pid -d' \
			'$dest/usr/lib/systemd/system/chainmesh-ivshmemd@.service' &&
		 grep -qx 'ExecStart=/usr/bin/chainmesh -batch /etc/chainmesh/chainmesh.conf' \
			'$dest/usr/lib/systemd/system/chainmesh.service' &&
		 ! grep -rq '@[A-Z]*DIR@' '$dest/usr/lib/systemd'"
check "systemd-analyze verify: the units are clean" units_verify
check "modules-load.d loads chainmesh_host" \
	bash -c "grep -v '^#' '$dest/usr/lib/modules-load.d/chainmesh.conf' | grep -qx chainmesh_host"
check "tmpfiles.d: systemd-tmpfiles creates /run/chainmesh from it" \
	bash -c "systemd-tmpfiles --root='$dest/root' --create '$dest/usr/lib/tmpfiles.d/chainmesh.conf' &&
		 [ -d '$dest/root/run/chainmesh' ]"
check "man pages chainmesh(8), chainmesh-ivshmemd(8): groff renders them without a warning" \
	bash -c "for m in chainmesh chainmesh-ivshmemd; do
			f='$dest/usr/share/man/man8/'\$m.8
			[ -f \$f ] || exit 1
			w=\$(LC_ALL=C.UTF-8 groff -man -ww -z \$f 2>&1)
			[ -z \"\$w\" ] || { echo \"\$w\"; exit 1; }
		 done"
check "bash completion: objects, commands, keywords" completion_ok
check "make install-tools needs no kernel headers" \
	bash -c "make -s install-tools DESTDIR='$dest/t' PREFIX=/usr KDIR=/nonexistent &&
		 [ -x '$dest/t/usr/bin/chainmesh' ] && ! make -s modules KDIR=/nonexistent"
check "dkms.conf: BUILD_EXCLUSIVE_KERNEL takes $kver, not 6.5.0-1-amd64 or 5.10.0-30-amd64" \
	bash -c ". ./dkms.conf && [[ $kver =~ \$BUILD_EXCLUSIVE_KERNEL ]] &&
		 ! [[ 6.5.0-1-amd64 =~ \$BUILD_EXCLUSIVE_KERNEL ]] &&
		 ! [[ 5.10.0-30-amd64 =~ \$BUILD_EXCLUSIVE_KERNEL ]] &&
		 ! [[ 6.10.0-1-amd64 =~ \$BUILD_EXCLUSIVE_KERNEL ]]"
check "dkms.conf names both modules where the build puts them" \
	bash -c ". ./dkms.conf &&
		 [ \"\${BUILT_MODULE_NAME[0]}\" = chainmesh_host ] &&
		 [ -f \"\${BUILT_MODULE_LOCATION[0]}chainmesh_host.ko\" ] &&
		 [ \"\${BUILT_MODULE_NAME[1]}\" = chainmesh ] &&
		 [ -f \"\${BUILT_MODULE_LOCATION[1]}chainmesh.ko\" ]"
check "dkms.conf's version is the one chainmesh -V prints" \
	bash -c ". ./dkms.conf && '$dest/usr/bin/chainmesh' -V | grep -q \"^chainmesh \$PACKAGE_VERSION \""
check "nothing installed but under the prefix and /lib/modules" \
	bash -c "cd '$dest' && [ -z \"\$(find . -type f ! -path './usr/*' ! -path './lib/modules/*' ! -path './prefix/*' ! -path './t/*' ! -path './root/*')\" ]"
exit $cm_check_fail
