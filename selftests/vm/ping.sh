#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Walking skeleton: VM1 pings VM2 through a chainmesh region, end to end.
# First, on the bare lab (no chainmesh module yet), the lab itself:
# chainmesh-ivshmemd and QEMU's ivshmem-doorbell agree on peer ids, share
# one region, and deliver doorbells through the daemon's eventfds; and
# only the module that belongs there binds an ivshmem device.
#
#                 +------------------------------------------+
#                 | VM0  node 0 (host)   chainmesh_host.ko   |
#                 |      lays out the region, flow table,    |
#                 |      `chainmesh` CLI over netlink        |
#                 +--------------------+---------------------+
#                                      | ivshmem-doorbell, peer 0
#   chainmesh-ivshmemd ===== one shared region (memfd, 16 MiB) =====
#                  | peer 1                             | peer 2
#   +--------------+-------------+       +--------------+-------------+
#   | VM1  node 1  chainmesh.ko  |       | VM2  node 2  chainmesh.ko  |
#   |      cm0 10.0.0.1/24       |       |      cm0 10.0.0.2/24       |
#   +----------------------------+       +----------------------------+
#                      helper on the host (peer 3, the ivshmem steps only)
#
#   chain 1 = hops 1 2: flow 1  10.0.0.1 -> 10.0.0.2  (ring 1->2)
#   chain 2 = hops 2 1: flow 2  10.0.0.2 -> 10.0.0.1  (ring 2->1)
#
# The ivshmem steps, before any module:
#   - each VM reads IVPosition (BAR0 + 8) == its peer id
#   - BAR2 is the 16 MiB region; a word written in VM1 reads back in VM0,
#     VM2 (then VM1 writes back what was there)
#   - VM0 writes (3 << 16) to its Doorbell (BAR0 + 12): the helper's eventfd
#     fires; the helper leaves and the daemon logs it
#
# The binding steps, still before the ping's modules:
#   - chainmesh_host.ko has no PCI alias, chainmesh.ko has 1af4:1110's
#   - VM0: insmod chainmesh_host.ko without lab_ivshmem: the device is
#     left alone, no cmh-lab; rmmod
#   - VM1: insmod chainmesh.ko region_wait=3 while the region is blank:
#     bound at first, released after 3 s, dmesg says why, no cm0; rmmod
# Both modules used to carry the alias pci:v00001AF4d00001110*: udev
# loaded both for any ivshmem device, and each bound it. Now the host
# module has no alias and touches no ivshmem device unless told
# (lab_ivshmem=1), and the guest module gives back a device whose BAR2
# shows no chainmesh magic within region_wait seconds. The ping's guests
# load with region_wait=3 too: after the ping, VM1's device, which found
# the region laid out, is still bound more than 3 s after its join.
#
# Then the ping: asserts the ping count from ping's own summary, the node
# and flow counters seen by the host, the guests' `ip -s link` counters, a
# clean unload, and consoles free of Oops/BUG/WARNING. Prints TAP.

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"

# the sysfs dir of the ivshmem device, BAR0 and BAR2 addresses (guest side)
# shellcheck disable=SC2016
IVDEV='d=$(grep -l 0x1110 /sys/bus/pci/devices/*/device); d=${d%/device};
	bar0=$((0x$(sed -n 1p $d/resource | cut -c3-18)));
	bar2=$((0x$(sed -n 3p $d/resource | cut -c3-18)));
	bar2end=$((0x$(sed -n 3p $d/resource | cut -c22-37)))'

check_ivposition()
{
	local i=$1

	vm_exec "vm$i" "$IVDEV; [ \$(cat \$d/vendor) = 0x1af4 ] &&
		echo \$((\$(devmem \$((bar0 + 8)) 32)))" &&
		[ "$CM_OUT" = "$i" ]
}

check_bar2_size()
{
	local i

	for i in 0 1 2; do
		vm_exec "vm$i" "$IVDEV; echo \$((bar2end - bar2 + 1))" &&
			[ "$CM_OUT" = $((16 << 20)) ] || return 1
	done
}

# VM1 writes a random word, VM0 and VM2 read it; VM1 writes back the old
# one, so that the region is as the lab made it when the host lays it out.
check_shared()
{
	local i val old rc=0

	val=0x$(printf '%08X' $((RANDOM << 16 | RANDOM)))
	vm_exec vm1 "$IVDEV; devmem \$((bar2 + 4096)) 32" || return 1
	old=$CM_OUT
	vm_exec vm1 "$IVDEV; devmem \$((bar2 + 4096)) 32 $val" || return 1
	for i in 0 2; do
		vm_exec "vm$i" "$IVDEV; devmem \$((bar2 + 4096)) 32" &&
			[ "$CM_OUT" = "$val" ] || rc=1
	done
	vm_exec vm1 "$IVDEV; devmem \$((bar2 + 4096)) 32 $old" || return 1
	return $rc
}

# A peer of our own: joins, prints its id, waits for one doorbell.
helper_peer()
{
	python3 - "$CMLAB_DIR/ivshmem.sock" <<'PY'
import array, os, select, socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(5)
msgs = []
while True:
    msg, anc, _, _ = s.recvmsg(8, socket.CMSG_SPACE(4))
    if len(msg) != 8:
        sys.exit("short message")
    fd = None
    for _, _, data in anc:
        fd = array.array("i", data[:4])[0]
    msgs.append((struct.unpack("<q", msg)[0], fd))
    # version, id, region, then peers' fds, then our own id with a fd
    if len(msgs) > 3 and msgs[-1][0] == msgs[1][0] and fd is not None:
        break
me, own = msgs[1][0], msgs[-1][1]
assert msgs[0] == (0, None) and msgs[2][0] == -1 and msgs[2][1] is not None
print("joined", me, flush=True)
r, _, _ = select.select([own], [], [], 20)
print("doorbell", struct.unpack("Q", os.read(own, 8))[0] if r else 0, flush=True)
PY
}

# ---------------------------------------------------------------- binding

# The sysfs directory of the VM's ivshmem device (1af4:1110); fails if none.
# shellcheck disable=SC2016 # expanded in the VM
IVS_DEV='$(for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/vendor)" = 0x1af4 ] && [ "$(cat $d/device)" = 0x1110 ] && echo $d
done | grep .)'

bind_aliases()
{
	local host guest

	host=$(modinfo -F alias "$CM_ROOT/host/chainmesh_host.ko") &&
	guest=$(modinfo -F alias "$CM_ROOT/guest/chainmesh.ko") || return 1
	CM_OUT="chainmesh_host.ko: [$host] chainmesh.ko: [$guest]"
	[ -z "$host" ] && [ "$guest" = 'pci:v00001AF4d00001110sv*sd*bc*sc*i*' ]
}

bind_host_no_optin()
{
	vm_exec vm0 "insmod $CM_HOST_KO && d=$IVS_DEV && [ -n \"\$d\" ] &&
		grep -q '^chainmesh_host ' /proc/modules &&
		sleep 1 && ! [ -e \$d/driver ] && ! [ -e /sys/class/net/cmh-lab ] &&
		echo \"\$d: no driver, no cmh-lab\" && rmmod chainmesh_host"
}

bind_guest_releases()
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

# VM1 joined with region_wait=3 (CM_GUEST_ARGS): more than 3 s after its
# join (dmesg's time of it), its device is still bound, cm0 still there.
bind_guest_stays()
{
	vm_exec vm1 "t=\$(dmesg | grep 'cm0: joined mesh' | tail -n 1 |
			sed 's/^\[ *\([0-9]*\)\..*/\1/') && [ -n \"\$t\" ] &&
		u=\$(cut -d. -f1 /proc/uptime) &&
		{ [ \$((u - t)) -ge 4 ] || sleep \$((4 - (u - t))); } &&
		d=$IVS_DEV && [ \"\$(basename \$(readlink \$d/driver))\" = chainmesh ] &&
		[ -e /sys/class/net/cm0 ] && echo \"\$d: bound, joined at \${t} s, now \$(cut -d' ' -f1 /proc/uptime) s\""
}

# Number of cm_step calls in bare_steps and up_steps.
BARE_STEPS=10
UP_STEPS=1

bare_steps()
{
	ivshmem_steps
	cm_step "chainmesh_host.ko has no PCI alias, chainmesh.ko has 1af4:1110's" - bind_aliases
	cm_step "vm0: chainmesh_host.ko without lab_ivshmem leaves the ivshmem device alone" - bind_host_no_optin
	cm_step "vm1: chainmesh.ko gives back a device with no chainmesh region after region_wait=3, dmesg says why, no cm0" - bind_guest_releases
}

up_steps()
{
	cm_step "vm1: chainmesh.ko region_wait=3, joined once the region was laid out, stays bound" - bind_guest_stays
}

# ---------------------------------------------------------------- ivshmem

ivshmem_steps()
{
	local i helper

	for i in 0 1 2; do
		cm_step "vm$i: ivshmem 1af4:1110, IVPosition = $i" - check_ivposition $i
	done
	cm_step "all: BAR2 is the 16 MiB region" - check_bar2_size
	cm_step "vm1 writes BAR2, vm0 and vm2 read it back" - check_shared
	helper_peer >"$CMLAB_DIR/helper.out" 2>&1 &
	helper=$!
	cm_step "helper joins as peer 3" - \
		wait_for "grep -q 'peer 3 joined' '$CMLAB_DIR/ivshmemd.log'" 10
	vm_exec vm0 "$IVDEV; devmem \$((bar0 + 12)) 32 $((3 << 16))" || true
	wait "$helper" || true
	tap_diag "$(cat "$CMLAB_DIR/helper.out")"
	cm_step "vm0 rings peer 3: its eventfd fires, it leaves" - \
		eval "grep -q '^doorbell [1-9]' '$CMLAB_DIR/helper.out' &&
		      wait_for \"grep -q 'peer 3 left' '$CMLAB_DIR/ivshmemd.log'\" 10"
}

# the guest module's parameter for the binding check (bind_guest_stays)
CM_GUEST_ARGS="region_wait=3 $CM_GUEST_ARGS"
tap_plan $((CM_PING_STEPS + BARE_STEPS + UP_STEPS))
cm_ping_scenario bare_steps up_steps
tap_exit_status
