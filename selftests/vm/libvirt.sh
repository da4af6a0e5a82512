#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A libvirt domain joins a mesh: its <shmem> element is what `chainmesh
# mesh libvirt-xml lab node 2` prints (run in VM0, the lab's host), validates
# with virt-xml-validate, and `virsh define` + `virsh start` boot the
# Debian guest of distro.sh under TCG through Debian's libvirt.
#
#                 +------------------------------------------+
#                 | VM0  node 0 (host)   chainmesh_host.ko   |
#                 |      lab_ivshmem=1, flows, counters      |
#                 +--------------------+---------------------+
#                                      | ivshmem-doorbell, peer 0
#   chainmesh-ivshmemd ===== one shared region (memfd, 16 MiB) =====
#                  | peer 1                             | peer 2
#   +--------------+-------------+       +--------------+-------------+
#   | VM1  node 1  busybox       |       | VM2  libvirt domain        |
#   |   cm0 10.0.0.1/24          |       |  <shmem> ivshmem-doorbell, |
#   +----------------------------+       |  server = the lab's socket |
#                                        |  Debian 12, udev loads     |
#                                        |  chainmesh.ko, networkd    |
#                                        |  cm0 10.0.0.2/24           |
#                                        +----------------------------+
#
#   chain 1 = hops 1 2, chain 2 = hops 2 1; then `virsh destroy`: the
#   host declares node 2 down.
#
# libvirtd and virtlogd are started here (and stopped at the end) when no
# init system runs them. Prints TAP.

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=selftests/vm/lib/distro.sh
. "$(dirname "$0")/lib/distro.sh"

URI=qemu:///system
CM_PING_COUNT=10
OUR_DAEMONS=
DOMAIN=
REAPER=

# libvirtd answers; started by us (and stopped at exit) if nobody runs it.
libvirt_up()
{
	local d

	if ! command -v virsh >/dev/null || ! command -v libvirtd >/dev/null; then
		CM_OUT="install libvirt-daemon-system libvirt-clients"
		return 1
	fi
	if ! virsh -c "$URI" version >/dev/null 2>&1; then
		for d in virtlogd libvirtd; do
			if ! pgrep -x "$d" >/dev/null; then
				"$d" -d || return 1
				OUR_DAEMONS="$OUR_DAEMONS $d"
			fi
		done
		wait_for "virsh -c $URI version" 20 || return 1
	fi
	CM_OUT=$(virsh -c "$URI" version 2>&1)
	tap_diag "libvirt: $(grep 'Using library' <<<"$CM_OUT")${OUR_DAEMONS:+, started here:$OUR_DAEMONS}"
}

# From the EXIT trap, under set +e: the domain may be gone already.
libvirt_cleanup()
{
	local d pid

	if [ -n "$DOMAIN" ]; then
		virsh -c "$URI" destroy "$DOMAIN" >/dev/null 2>&1 || true
		virsh -c "$URI" undefine "$DOMAIN" >/dev/null 2>&1 || true
	fi
	if [ -n "$REAPER" ]; then
		kill -- "-$REAPER" 2>/dev/null || true   # its session: bash and sleep
		REAPER=
	fi
	for d in $OUR_DAEMONS; do
		if pid=$(cat "/run/$d.pid" 2>/dev/null); then
			kill "$pid" 2>/dev/null || true
		fi
	done
	OUR_DAEMONS=
	return 0
}

# The element from `chainmesh mesh libvirt-xml` in VM0, where the host
# module holds mesh lab, with the lab's daemon socket as the server.
shmem_xml()
{
	vm_exec vm0 "chainmesh mesh libvirt-xml lab node 2 socket $CMLAB_DIR/ivshmem.sock" ||
		return 1
	printf '%s\n' "$CM_OUT" >"$CMLAB_DIR/shmem.xml"
	tap_diag "$CM_OUT"
	grep -q "<model type='ivshmem-doorbell'/>" "$CMLAB_DIR/shmem.xml" &&
		grep -q "<server path='$CMLAB_DIR/ivshmem.sock'/>" "$CMLAB_DIR/shmem.xml"
}

# virt-xml-validate and virsh define/start happen in cmlab-distro add.
domain_start()
{
	DOMAIN=cmlab-$(basename "$CMLAB_DIR")-vm2
	# libvirt's QEMU is not under timeout(1) like the lab's: even if this
	# test is killed, the domain goes when the lab's lifetime is over.
	setsid bash -c "sleep $CM_LAB_LIFETIME; virsh -c $URI destroy $DOMAIN;
			virsh -c $URI undefine $DOMAIN" </dev/null >/dev/null 2>&1 &
	REAPER=$!
	CM_OUT=$("$CMLAB_DISTRO" add --libvirt "$CMLAB_DIR/shmem.xml" --connect "$URI" 2>&1) ||
		return 1
	tap_diag "$CM_OUT"
	CM_OUT=$(virsh -c "$URI" domstate "$DOMAIN" 2>&1)
	[ "$CM_OUT" = running ] || return 1
	# what libvirt made of the element
	CM_OUT=$(grep -o -- "-device [^ ]*ivshmem-doorbell[^ ]*" "/var/log/libvirt/qemu/$DOMAIN.log" | tail -n 1)
	tap_diag "QEMU: $CM_OUT"
	[ -n "$CM_OUT" ]
}

guest_joined()
{
	vm_exec vm2 "grep '^chainmesh ' /proc/modules && ls -d /sys/bus/pci/drivers/chainmesh/0000:* &&
		     journalctl -b -k --no-pager | grep -m1 'joined mesh' && ip link show cm0" 30
}

# virsh destroy is a crash as far as the mesh can tell.
destroyed()
{
	virsh -c "$URI" destroy "$DOMAIN" >/dev/null 2>&1 || return 1
	CM_OUT=$(virsh -c "$URI" domstate "$DOMAIN" 2>&1)
	[ "$CM_OUT" = "shut off" ] &&
		vm_wait_for vm0 "chainmesh node show | grep -q '^node 2 state down'" 30
}

domain_gone()
{
	virsh -c "$URI" destroy "$DOMAIN" >/dev/null 2>&1 || true
	virsh -c "$URI" undefine "$DOMAIN" >/dev/null 2>&1 || return 1
	CM_OUT=$(virsh -c "$URI" dominfo "$DOMAIN" 2>&1)
	grep -q "failed to get domain" <<<"$CM_OUT" && DOMAIN=
}

unload()
{
	vm_exec vm1 "rmmod chainmesh" && vm_exec vm0 "rmmod chainmesh_host"
}

tap_plan 15
cm_step "image: Debian 12 by mmdebstrap, the guide's make install (cached)" fatal distro_image
cm_step "lab: daemon and 2 busybox VMs up, peer ids 0 1" fatal lab_start 2
trap 'rc=$?; set +e; libvirt_cleanup; (exit $rc); lab_cleanup' EXIT
cm_step "libvirt: libvirtd answers on $URI" fatal libvirt_up
cm_step "vm0: insmod chainmesh_host.ko lab_ivshmem=1" fatal cm_ping_host_load
cm_step "vm0: chainmesh mesh libvirt-xml lab node 2: <shmem>, server = the lab's socket" fatal shmem_xml
cm_step "vm2: virt-xml-validate, virsh define, virsh start: running, peer 2" fatal domain_start
cm_step "vm2: udev loaded chainmesh.ko, it joined, cm0" fatal guest_joined
cm_step "vm1: insmod chainmesh.ko, cm0 10.0.0.1/24 up" fatal cm_ping_guest_up vm1 10.0.0.1/24
cm_step "vm0: nodes 1 and 2 are up in 'node show'" fatal cm_ping_nodes_up
cm_step "vm0: chains 1 (1 2), 2 (2 1) and flows 1, 2 added" fatal cm_ping_add_flows
cm_step "vm2: networkd configured cm0 10.0.0.2/24" - distro_configured
cm_step "vm2: ping -c $CM_PING_COUNT 10.0.0.1: all answered" - distro_ping
cm_step "vm2: virsh destroy, the host sees node 2 down" - destroyed
cm_step "all: rmmod; consoles: no Oops, BUG, WARNING, Call Trace, panic" - eval 'unload && lab_stop'
cm_step "libvirt: virsh undefine, the domain is gone" - domain_gone
tap_done
