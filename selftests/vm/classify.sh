#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Classification: IPv4, IPv6 and VLAN-tagged traffic from VM1 to VM3 is
# put on three different chains by VM1's flow table; VM2 (an XDP_TX
# program) is on two of them only.
#
#                 +-----------------------------------------+
#                 | VM0  node 0  chainmesh_host.ko          |
#                 +-------------------+---------------------+
#   ================= one shared region ===========================
#        |                        |                         |
#   +----+-------------+   +------+---------+   +-----------+------+
#   | VM1 node 1       |   | VM2 node 2     |   | VM3 node 3       |
#   | cm0 10.0.0.1     |   | cm0 + xdp_tx.o |   | cm0 10.0.0.3     |
#   |     fd00::1      |   |                |   |     fd00::3      |
#   | cm0.10 10.1.0.1  |   |                |   | cm0.10 10.1.0.3  |
#   +------------------+   +----------------+   +------------------+
#
#   chain 1 = hops 1 3:   flow 1  inet  10.0.0.1 -> 10.0.0.3
#   chain 3 = hops 1 2 3: flow 3  inet6 fd00::1 -> fd00::3
#   chain 5 = hops 1 2 3: flow 5  vlan 10 10.1.0.1 -> any
#   chain 2 = hops 3 1:   flows 2, 4, 6: the replies (v4, v6, vlan 10)
#
# Asserts: all three pings answered; VM2 forwarded chain 3 and chain 5
# frames and never a chain 1 frame (its hops log); the host's per-flow
# counters show flow 1 at node 3 but not at node 2, flows 3 and 5 at
# node 2. Prints TAP.

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=selftests/vm/lib/datapath.sh
. "$(dirname "$0")/lib/datapath.sh"

dp_require clang

COUNT=5

flows()
{
	vm_exec vm0 "chainmesh chain add 1 hops 1 3 &&
		     chainmesh chain add 2 hops 3 1 &&
		     chainmesh chain add 3 hops 1 2 3 &&
		     chainmesh chain add 5 hops 1 2 3 &&
		     chainmesh flow add 1 chain 1 family inet src 10.0.0.1/32 dst 10.0.0.3/32 &&
		     chainmesh flow add 2 chain 2 family inet src 10.0.0.3/32 &&
		     chainmesh flow add 3 chain 3 family inet6 src fd00::1/128 dst fd00::3/128 &&
		     chainmesh flow add 4 chain 2 family inet6 src fd00::3/128 &&
		     chainmesh flow add 5 chain 5 vlan 10 src 10.1.0.1/32 &&
		     chainmesh flow add 6 chain 2 vlan 10 src 10.1.0.3/32"
}

vlan_up()
{
	local vm=$1 n=$2

	# 8021q: loaded on demand (rtnl-link-vlan, modules.alias)
	vm_exec "$vm" "ip link add link cm0 name cm0.10 type vlan id 10 &&
		       ip addr add 10.1.0.$n/24 dev cm0.10 && ip link set cm0.10 up"
}

ping_to()
{
	vm_exec vm1 "$1 -c $COUNT -i 0.2 -W 2 $2" $((COUNT + 30))
	grep -q " $COUNT packets received" <<<"$CM_OUT"
}

vm2_chains()
{
	local c1 c3 c5

	vm_exec vm2 "cat /sys/kernel/debug/chainmesh/cm0/hops" || return 1
	c1=$(awk '$1 == "xdp_tx" && $13 == 1' <<<"$CM_OUT" | wc -l)
	c3=$(awk '$1 == "xdp_tx" && $13 == 3' <<<"$CM_OUT" | wc -l)
	c5=$(awk '$1 == "xdp_tx" && $13 == 5' <<<"$CM_OUT" | wc -l)
	CM_OUT="vm2 forwarded: chain 1 $c1, chain 3 $c3, chain 5 $c5 frames"
	[ "$c1" = 0 ] && ge "$c3" "$COUNT" && ge "$c5" "$COUNT"
}

flow_counters()
{
	local f1n2 f1n3 f3n2 f5n2

	f1n2=$(cm_flow_node_packets vm0 1 2) && f1n3=$(cm_flow_node_packets vm0 1 3) &&
	f3n2=$(cm_flow_node_packets vm0 3 2) && f5n2=$(cm_flow_node_packets vm0 5 2) ||
		return 1
	CM_OUT="flow 1: node 2 ${f1n2:-none}, node 3 $f1n3; flow 3 node 2 $f3n2; flow 5 node 2 $f5n2"
	[ "${f1n2:-0}" = 0 ] && ge "$f1n3" "$COUNT" && ge "$f3n2" "$COUNT" &&
		ge "$f5n2" "$COUNT"
}

tap_plan 16
dp_setup_steps
cm_step "vm0: chains 1, 2, 3, 5 and flows 1..6" fatal flows
cm_step "vm1: cm0.10 10.1.0.1" fatal vlan_up vm1 1
cm_step "vm3: cm0.10 10.1.0.3" fatal vlan_up vm3 3
cm_step "vm2: ip link set cm0 xdp obj xdp_tx.o" fatal dp_xdp_attach xdp_tx.o
cm_step "vm1: ping 10.0.0.3 (chain 1, direct)" - ping_to ping 10.0.0.3
cm_step "vm1: ping6 fd00::3 (chain 3, through vm2)" - ping_to ping6 fd00::3
cm_step "vm1: ping 10.1.0.3 over VLAN 10 (chain 5, through vm2)" - ping_to ping 10.1.0.3
cm_step "vm2 forwarded chains 3 and 5, never chain 1" - vm2_chains
cm_step "vm0: per-flow counters follow the chains" - wait_for flow_counters 5
cm_step "consoles: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
tap_exit_status
