#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# TCP through a chain whose middle node forwards with its stack, at the
# standard MTU and at a jumbo MTU of 9000 (16 KiB buffers): a few MB with
# busybox nc, checksums compared at both ends. Offloads on (checksum,
# TSO): VM1's GSO frames of up to 64 KiB cross the chain as frames of
# several buffers, VM2's stack forwards them without segmenting.
#
#                 +-----------------------------------------+
#                 | VM0  node 0  chainmesh_host.ko nodes=4  |
#                 |      buf_size=16384 bufs_per_node=128   |
#                 +-------------------+---------------------+
#   ================= one shared region ===========================
#        |                        |                         |
#   +----+----------+   +---------+------------+   +--------+------+
#   | VM1 node 1    |   | VM2 node 2           |   | VM3 node 3    |
#   | nc 10.0.0.3   |-->| ip_forward           |-->| nc -l         |
#   |   < 4 MiB     |<--| (chain context)      |<--|   > file      |
#   +---------------+   +----------------------+   +---------------+
#
#   chain 1 = hops 1 2 3: flow 1  10.0.0.1 -> 10.0.0.3
#   chain 2 = hops 3 2 1: flow 2  10.0.0.3 -> 10.0.0.1
#
# Prints TAP.

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=selftests/vm/lib/datapath.sh
. "$(dirname "$0")/lib/datapath.sh"

dp_require cc

MIB=4

jumbo()
{
	local vm

	for vm in vm1 vm2 vm3; do
		vm_exec "$vm" "ip link set cm0 mtu 9000 && ip link show cm0 | grep -q 'mtu 9000'" ||
			return 1
	done
	vm_exec vm1 "ping -c 3 -i 0.2 -s 8900 -W 2 10.0.0.3" 30
}

max_mtu()
{
	vm_exec vm1 "ip -d link show cm0" || return 1
	grep -q "maxmtu 16114" <<<"$CM_OUT"
}

gro()
{
	vm_exec vm3 "ethtool -k cm0 | grep generic-receive-offload"
	grep -q ": on" <<<"$CM_OUT"
}

# offloads VM...: cm0 offers checksum offload and TSO, and announces
# that it takes them (ethtool -k).
offloads()
{
	local vm

	for vm in "$@"; do
		vm_exec "$vm" "ethtool -k cm0" || return 1
		grep -Eq "^\s*tx-checksum-ip-generic: on" <<<"$CM_OUT" &&
			grep -Eq "^\s*tcp-segmentation-offload: on" <<<"$CM_OUT" &&
			grep -Eq "^\s*scatter-gather: on" <<<"$CM_OUT" &&
			grep -Eq "^\s*rx-checksumming: on" <<<"$CM_OUT" || {
			CM_OUT="$vm: $CM_OUT"
			return 1
		}
	done
}

drvinfo()
{
	vm_exec vm1 "ethtool -i cm0"
	grep -q "driver: chainmesh" <<<"$CM_OUT" && grep -q "bus-info: 0000:" <<<"$CM_OUT"
}

tap_plan 22
dp_setup_steps nodes=4 buf_size=16384 bufs_per_node=128
cm_step "vm0: chains 1 (1 2 3), 2 (3 2 1), flows 1, 2" fatal dp_chain_flows
cm_step "vm2: ip_forward on" fatal dp_ip_forward vm2
cm_step "vm1: ethtool -i cm0: driver chainmesh, bus-info" - drvinfo
cm_step "vm1: ip -d link: maxmtu 16114 (16 KiB buffers)" - max_mtu
cm_step "vm3: GRO on" - gro
cm_step "vm1: $MIB MiB of random data" fatal dp_mkfile $MIB
cm_step "vm1..3: cm0 offers checksum offload, TSO, SG; takes them" - offloads vm1 vm2 vm3
cm_step "TCP vm1 -> vm3 through vm2's stack, MTU 1500: checksums match" - dp_transfer 5001
cm_step "vm2: GSO frames of up to 64 KiB from vm1, one frame each" - dp_gso_frames vm2 60000
cm_step "vm3: GSO frames forwarded by vm2's stack without segmenting" - dp_gso_frames vm3 60000
cm_step "vm1..3: MTU 9000, ping -s 8900 answered" - jumbo
cm_step "TCP vm1 -> vm3 through vm2's stack, MTU 9000: checksums match" - dp_transfer 5002
cm_step "vm1..3: every buffer back in its pool" - wait_for "dp_pools_full vm1 vm2 vm3" 10
cm_step "vm1..3: no bad descriptors, no frames of offloads dropped" - dp_no_bad vm1 vm2 vm3
cm_step "all: rmmod chainmesh, chainmesh_host" - dp_unload vm1 vm2 vm3
cm_step "consoles: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
tap_exit_status
