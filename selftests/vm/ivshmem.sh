#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The lab itself, no chainmesh module: chainmesh-ivshmemd and QEMU's
# ivshmem-doorbell agree on peer ids, share one region, and deliver
# doorbells through the daemon's eventfds.
#
#   VM0 (peer 0)   VM1 (peer 1)   VM2 (peer 2)   helper on the host (peer 3)
#       |              |              |              |
#   ====+==== chainmesh-ivshmemd: memfd 16 MiB + one eventfd per peer ====
#
#   - each VM reads IVPosition (BAR0 + 8) == its peer id
#   - BAR2 is the 16 MiB region; a word written in VM1 reads back in VM0, VM2
#   - VM0 writes (3 << 16) to its Doorbell (BAR0 + 12): the helper's eventfd
#     fires; the helper leaves and the daemon logs it

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

check_shared()
{
	local i val

	val=0x$(printf '%08X' $((RANDOM << 16 | RANDOM)))

	vm_exec vm1 "$IVDEV; devmem \$((bar2 + 4096)) 32 $val" || return 1
	for i in 0 2; do
		vm_exec "vm$i" "$IVDEV; devmem \$((bar2 + 4096)) 32" &&
			[ "$CM_OUT" = "$val" ] || return 1
	done
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

tap_plan 9

cm_step "lab: daemon and 3 VMs up" - lab_start 3
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
cm_step "consoles: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
tap_exit_status
