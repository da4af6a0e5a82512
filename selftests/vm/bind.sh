#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Only the module that belongs there binds an ivshmem device.
#
#                 +------------------------------------------+
#                 | VM0  ivshmem device, peer 0              |
#                 |   1. insmod chainmesh_host.ko            |
#                 |      (no lab_ivshmem): device left alone |
#                 |   3. insmod ... lab_ivshmem=1: node 0,   |
#                 |      lays the region out                 |
#                 +--------------------+---------------------+
#                                      | ivshmem-doorbell
#   chainmesh-ivshmemd ===== one shared region (memfd, 16 MiB) =====
#                                      | peer 1
#                 +--------------------+---------------------+
#                 | VM1  ivshmem device, peer 1              |
#                 |   2. insmod chainmesh.ko region_wait=3   |
#                 |      while the region is blank: released |
#                 |      after 3 s, dmesg says why, no cm0   |
#                 |   4. insmod again: joins, cm0            |
#                 +------------------------------------------+
#
# Both modules used to carry the alias pci:v00001AF4d00001110*: udev
# loaded both for any ivshmem device, and each bound it. Now the host
# module has no alias and touches no ivshmem device unless told
# (lab_ivshmem=1), and the guest module gives back a device whose BAR2
# shows no chainmesh magic within region_wait seconds. Prints TAP.

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"

# The sysfs directory of the VM's ivshmem device (1af4:1110); fails if none.
# shellcheck disable=SC2016 # expanded in the VM
IVS_DEV='$(for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/vendor)" = 0x1af4 ] && [ "$(cat $d/device)" = 0x1110 ] && echo $d
done | grep .)'

aliases()
{
	local host guest

	host=$(modinfo -F alias "$CM_ROOT/host/chainmesh_host.ko") &&
	guest=$(modinfo -F alias "$CM_ROOT/guest/chainmesh.ko") || return 1
	CM_OUT="chainmesh_host.ko: [$host] chainmesh.ko: [$guest]"
	[ -z "$host" ] && [ "$guest" = 'pci:v00001AF4d00001110sv*sd*bc*sc*i*' ]
}

host_no_optin()
{
	vm_exec vm0 "insmod $CM_HOST_KO && d=$IVS_DEV && [ -n \"\$d\" ] &&
		grep -q '^chainmesh_host ' /proc/modules &&
		sleep 1 && ! [ -e \$d/driver ] && ! [ -e /sys/class/net/cmh-lab ] &&
		echo \"\$d: no driver, no cmh-lab\" && rmmod chainmesh_host"
}

guest_releases()
{
	# Bound at first (it waits for a host), given back after 3 s.
	vm_exec vm1 "insmod $CM_GUEST_KO region_wait=3 && d=$IVS_DEV &&
		[ \"\$(basename \$(readlink \$d/driver))\" = chainmesh ] &&
		echo \"\$d: bound to chainmesh at first\" || exit 1
		n=0; while [ -e \$d/driver ]; do
			[ \$n -ge 100 ] && { echo still bound; exit 1; }
			n=\$((n + 1)); usleep 100000
		done
		echo \"\$d: released after \${n}00 ms\"
		dmesg | grep 'no chainmesh region in BAR2 within 3 s' &&
		! [ -e /sys/class/net/cm0 ] && rmmod chainmesh" 30
}

host_optin()
{
	vm_exec vm0 "insmod $CM_HOST_KO $CM_HOST_LAB && d=$IVS_DEV &&
		[ \"\$(basename \$(readlink \$d/driver))\" = chainmesh_host ] &&
		[ -e /sys/class/net/cmh-lab ]"
}

guest_joins()
{
	vm_exec vm1 "insmod $CM_GUEST_KO region_wait=3" &&
		vm_wait_for vm1 "[ -e /sys/class/net/cm0 ]" 20 &&
		vm_wait_for vm0 "chainmesh node show | grep -q '^node 1 state up'" 20 &&
		vm_exec vm1 "sleep 4; d=$IVS_DEV; [ -e \$d/driver ] && [ -e /sys/class/net/cm0 ]"
}

unload()
{
	vm_exec vm1 "rmmod chainmesh" && vm_exec vm0 "rmmod chainmesh_host"
}

tap_plan 8
cm_step "chainmesh_host.ko has no PCI alias, chainmesh.ko has 1af4:1110's" - aliases
cm_step "lab: daemon and 2 VMs up" fatal lab_start 2
cm_step "vm0: chainmesh_host.ko without lab_ivshmem leaves the ivshmem device alone" - host_no_optin
cm_step "vm1: chainmesh.ko gives back a device with no chainmesh region after region_wait=3, dmesg says why, no cm0" - guest_releases
cm_step "vm0: chainmesh_host.ko lab_ivshmem=1 binds it, cmh-lab" fatal host_optin
cm_step "vm1: chainmesh.ko region_wait=3 joins once the region is laid out, stays bound" - guest_joins
cm_step "all: rmmod chainmesh, chainmesh_host" - unload
cm_step "consoles: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
tap_done
