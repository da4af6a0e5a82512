#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A Debian 12 guest with systemd and udev in the chain, set up the way an
# operator sets one up: the package installed with the operations guide's
# `make install` and depmod, the module loaded by udev from its PCI alias
# at boot, cm0 kept by the shipped .link file, configured by
# systemd-networkd from a .network file. Then the guide's walk-through
# (Documentation/operations.rst, "How the guide is tested"): its guest
# blocks in this guest, its host blocks with this guest as the host of a
# second mesh (daemon unit, save/restore by chainmesh.service).
#
#                 +------------------------------------------+
#                 | VM0  node 0 (host)   chainmesh_host.ko   |
#                 |      lab_ivshmem=1: lays out the region  |
#                 |      before VM2 boots; flows, counters   |
#                 +--------------------+---------------------+
#                                      | ivshmem-doorbell, peer 0
#   chainmesh-ivshmemd ===== one shared region (memfd, 16 MiB) =====
#                  | peer 1                             | peer 2
#   +--------------+-------------+       +--------------+-------------+
#   | VM1  node 1  busybox       |       | VM2  node 2  Debian 12     |
#   |   insmod chainmesh.ko      |       |  systemd, udev, networkd   |
#   |   cm0 10.0.0.1/24          |       |  udev loads chainmesh.ko   |
#   |   nc (busybox)             |       |  cm0 (70-chainmesh.link)   |
#   +----------------------------+       |  10.0.0.2/24 (.network)    |
#                                        +----------------------------+
#
#   chain 1 = hops 1 2: flow 1  10.0.0.1 -> 10.0.0.2
#   chain 2 = hops 2 1: flow 2  10.0.0.2 -> 10.0.0.1
#
# The image (tools/lab/cmlab-distro build) is made by mmdebstrap and
# cached under build/distro; the first build on a machine takes a minute
# or two and needs Debian's mirror. Prints TAP.

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=selftests/vm/lib/distro.sh
. "$(dirname "$0")/lib/distro.sh"

MIB=4
CM_PING_COUNT=10

distro_boot()
{
	CM_OUT=$("$CMLAB_DISTRO" add 2>&1) || return 1
	tap_diag "$CM_OUT"
}

# systemd finished booting, no unit failed.
booted()
{
	vm_exec vm2 "timeout 150 systemctl is-system-running --wait ||
		     { systemctl --failed --no-pager; exit 1; }" 170
}

# Nobody insmod'ed anything: udev loaded chainmesh.ko (installed under
# /lib/modules by the guide's make install) for the ivshmem device, and
# that device is bound by it, not by chainmesh_host.ko (installed next to
# it, loaded at boot by modules-load.d as on a host, with no PCI alias).
udev_loaded()
{
	# shellcheck disable=SC2016 # expanded in the VM
	vm_exec vm2 'set -e
		kver=$(uname -r)
		[ "$(modinfo -n chainmesh)" = /lib/modules/$kver/extra/guest/chainmesh.ko ]
		[ -e /lib/modules/$kver/extra/host/chainmesh_host.ko ]
		grep "^chainmesh " /proc/modules
		# chainmesh_host is there as on a host (modules-load.d), but no
		# alias lets udev load it for a device, and nothing but udev
		# loads chainmesh
		[ -z "$(modinfo -F alias chainmesh_host)" ]
		grep -qx chainmesh_host /usr/lib/modules-load.d/chainmesh.conf
		! grep -rqsx chainmesh /usr/lib/modules-load.d /etc/modules-load.d /etc/modules
		for d in /sys/bus/pci/devices/*; do
			[ "$(cat $d/vendor):$(cat $d/device)" = 0x1af4:0x1110 ] || continue
			echo "$d: modalias $(cat $d/modalias), driver $(basename $(readlink $d/driver))"
			[ "$(basename $(readlink $d/driver))" = chainmesh ]
		done
		journalctl -b -k --no-pager | grep -m1 "joined mesh"'
}

# The name is the kernel's, kept by the shipped .link file; the path
# name udev would have given it is only an altname.
udev_name()
{
	# shellcheck disable=SC2016 # expanded in the VM
	vm_exec vm2 'set -e
		ip -br link
		udevadm info /sys/class/net/cm0 | grep -E "ID_NET_LINK_FILE|ID_NET_NAME_PATH|ID_NET_DRIVER"
		udevadm info /sys/class/net/cm0 |
			grep -qx "E: ID_NET_LINK_FILE=/usr/lib/systemd/network/70-chainmesh.link"
		path=$(udevadm info -q property --property=ID_NET_NAME_PATH --value /sys/class/net/cm0)
		[ -n "$path" ]
		ip link show cm0 | grep "altname $path"'
}

network_files()
{
	vm_exec vm2 'networkctl status cm0 --no-pager --lines=0 |
		grep -E "Link File: /usr/lib/systemd/network/70-chainmesh.link|Network File: /etc/systemd/network/50-cm0.network" |
		wc -l | grep -qx 2'
}

mkfile()
{
	local vm=$1 sum

	vm_exec "$vm" "dd if=/dev/urandom of=/tmp/src bs=64k count=$((MIB * 16)) 2>/dev/null &&
		       sha256sum /tmp/src" || return 1
	sum=$(cut -d' ' -f1 <<<"$CM_OUT")
	[ -n "$sum" ] && echo "$sum"
}

# VM2's file to VM1 over TCP (bash's /dev/tcp to busybox nc -l).
tcp_to_busybox()
{
	local sum got

	sum=$(mkfile vm2) || return 1
	vm_exec vm1 "rm -f /tmp/dst; (sleep 170 | nc -l -p 5001 > /tmp/dst &)" || return 1
	sleep 1
	vm_exec vm2 "bash -c 'cat /tmp/src > /dev/tcp/10.0.0.1/5001'" 150 || return 1
	vm_wait_for vm1 "[ \$(stat -c %s /tmp/dst) = $((MIB * 1048576)) ]" 30 || return 1
	vm_exec vm1 "sha256sum /tmp/dst" || return 1
	got=$(cut -d' ' -f1 <<<"$CM_OUT")
	CM_OUT="sent $sum, received $got"
	[ "$got" = "$sum" ]
}

# VM1's file to VM2: busybox nc -l sends it, bash reads it from /dev/tcp.
tcp_to_distro()
{
	local sum got

	sum=$(mkfile vm1) || return 1
	vm_exec vm1 "(nc -l -p 5002 < /tmp/src > /dev/null &)" || return 1
	sleep 1
	vm_exec vm2 "rm -f /tmp/dst; bash -c 'cat < /dev/tcp/10.0.0.1/5002 > /tmp/dst' &&
		     stat -c %s /tmp/dst && sha256sum /tmp/dst" 150 || return 1
	got=$(tail -n 1 <<<"$CM_OUT" | cut -d' ' -f1)
	CM_OUT="sent $sum, received $got"
	[ "$got" = "$sum" ]
}

distro_unload()
{
	vm_exec vm2 "modprobe -r chainmesh && ! [ -e /sys/class/net/cm0 ]" 30 &&
		vm_exec vm1 "rmmod chainmesh" && vm_exec vm0 "rmmod chainmesh_host"
}

tap_plan 23
cm_step "image: Debian 12 by mmdebstrap, the guide's make install and depmod (cached)" fatal distro_image
cm_step "lab: daemon and 2 busybox VMs up, peer ids 0 1" fatal lab_start 2
cm_step "vm0: insmod chainmesh_host.ko lab_ivshmem=1" fatal cm_ping_host_load
cm_step "vm2: the Debian guest boots as peer 2" fatal distro_boot
cm_step "vm2: systemd is running, no failed unit" - booted
cm_step "vm2: udev loaded chainmesh.ko by its PCI alias, it binds the device and joined; chainmesh_host.ko has no alias" fatal udev_loaded
cm_step "vm2: cm0 keeps its name under udev (70-chainmesh.link), path name as altname" - udev_name
cm_step "vm2: networkctl shows the .link and .network files of cm0" - network_files
cm_step "vm1: insmod chainmesh.ko, cm0 10.0.0.1/24 up" fatal cm_ping_guest_up vm1 10.0.0.1/24
cm_step "vm0: nodes 1 and 2 are up in 'node show'" fatal cm_ping_nodes_up
cm_step "vm0: chains 1 (1 2), 2 (2 1) and flows 1, 2 added" fatal cm_ping_add_flows
cm_step "vm2: operations guide, guest blocks (.network file, forwarding sysctls)" - distro_walk guest
cm_step "vm2: networkd configured cm0 10.0.0.2/24" - distro_configured
cm_step "vm2: ping -c $CM_PING_COUNT 10.0.0.1 (iputils): all answered" - distro_ping
cm_step "vm1: ping -c $CM_PING_COUNT 10.0.0.2 (busybox): all answered" - cm_ping_run
cm_step "TCP: $MIB MiB vm2 -> vm1, same sha256" - tcp_to_busybox
cm_step "TCP: $MIB MiB vm1 -> vm2, same sha256" - tcp_to_distro
cm_step "vm0: flow 1 counted >= $CM_PING_COUNT packets at node 1" - cm_ping_flow_counter 1 1
cm_step "vm0: flow 2 counted >= $CM_PING_COUNT packets at node 2" - cm_ping_flow_counter 2 2
cm_step "vm2 as a host: operations guide, host blocks (mesh, daemon unit, qemu-args, libvirt-xml, chains, flows, save/restore by chainmesh.service, tear-down)" - distro_walk host
cm_step "operations guide: every block but text ones ran (image, guest, host)" - distro_walk_complete
cm_step "all: modprobe -r chainmesh (vm2), rmmod (vm1, vm0)" - distro_unload
cm_step "consoles: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
tap_done
