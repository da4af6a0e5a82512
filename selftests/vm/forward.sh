#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The common 4-VM topology (lib/datapath.sh) in two parts: classification
# first, then a VNF made of the Linux stack.
#
# 1. Classification: IPv4, IPv6 and VLAN-tagged traffic from VM1 to VM3 is
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
# node 2. Then VM2's program, the VLANs, these flows and chains go.
#
# 2. Forwarding by the stack: VM2 forwards the chain's frames with
# nftables rules (a filter that drops one UDP port, then SNAT). The chain
# context that rides in skb->mark keeps each frame on its chain, even when
# NAT has changed the header the flow table matches on.
#
#                 +-----------------------------------------+
#                 | VM0  node 0  chainmesh_host.ko          |
#                 +-------------------+---------------------+
#   ================= one shared region ===========================
#        |                        |                         |
#   +----+----------+   +---------+------------+   +--------+------+
#   | VM1 node 1    |   | VM2 node 2           |   | VM3 node 3    |
#   | cm0 10.0.0.1  |-->| ip_forward, nft:     |-->| cm0 10.0.0.3  |
#   | cmudp send    |<--|  udp dport 9999 drop |<--| cmudp recv    |
#   +---------------+   |  snat 10.0.0.1 ->    |   +---------------+
#                       |       10.0.0.2       |
#                       +----------------------+
#
#   chain 1 = hops 1 2 3: flow 1  10.0.0.1 -> 10.0.0.3
#   chain 2 = hops 3 2 1: flow 2  10.0.0.3 -> 10.0.0.0/24
#
# Asserts: UDP to port 8888 arrives, to port 9999 never does (and VM2's
# nft counter saw it); with SNAT in VM2, VM3 still gets the chain's
# frames (VM2 sends them on by their context, tx_ctx); with the context
# off (mark_mask=0) the NATed frames match no flow of VM2 and are dropped
# (tx_drop_no_flow). Checksum offload end to end through the NAT hop: a
# TCP transfer VM1 -> VM3 whose GSO frames (checksums not computed) VM2
# NATs and forwards as they are, checksums of the data compared at both
# ends. Prints TAP.
#
# (One lab for both: the same topology and module parameters.)

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=selftests/vm/lib/datapath.sh
. "$(dirname "$0")/lib/datapath.sh"

dp_require nft clang

COUNT=20

# ---------------------------------------------------------------- classify

CLS_COUNT=5

cls_flows()
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

cls_vlan_up()
{
	local vm=$1 n=$2

	# 8021q: loaded on demand (rtnl-link-vlan, modules.alias)
	vm_exec "$vm" "ip link add link cm0 name cm0.10 type vlan id 10 &&
		       ip addr add 10.1.0.$n/24 dev cm0.10 && ip link set cm0.10 up"
}

cls_ping_to()
{
	vm_exec vm1 "$1 -c $CLS_COUNT -i 0.2 -W 2 $2" $((CLS_COUNT + 30))
	grep -q " $CLS_COUNT packets received" <<<"$CM_OUT"
}

cls_vm2_chains()
{
	local c1 c3 c5

	vm_exec vm2 "cat /sys/kernel/debug/chainmesh/cm0/hops" || return 1
	c1=$(awk '$1 == "xdp_tx" && $13 == 1' <<<"$CM_OUT" | wc -l)
	c3=$(awk '$1 == "xdp_tx" && $13 == 3' <<<"$CM_OUT" | wc -l)
	c5=$(awk '$1 == "xdp_tx" && $13 == 5' <<<"$CM_OUT" | wc -l)
	CM_OUT="vm2 forwarded: chain 1 $c1, chain 3 $c3, chain 5 $c5 frames"
	[ "$c1" = 0 ] && ge "$c3" "$CLS_COUNT" && ge "$c5" "$CLS_COUNT"
}

cls_flow_counters()
{
	local f1n2 f1n3 f3n2 f5n2

	f1n2=$(cm_flow_node_packets vm0 1 2) && f1n3=$(cm_flow_node_packets vm0 1 3) &&
	f3n2=$(cm_flow_node_packets vm0 3 2) && f5n2=$(cm_flow_node_packets vm0 5 2) ||
		return 1
	CM_OUT="flow 1: node 2 ${f1n2:-none}, node 3 $f1n3; flow 3 node 2 $f3n2; flow 5 node 2 $f5n2"
	[ "${f1n2:-0}" = 0 ] && ge "$f1n3" "$CLS_COUNT" && ge "$f3n2" "$CLS_COUNT" &&
		ge "$f5n2" "$CLS_COUNT"
}

# The lab as dp_setup_steps left it, for the second part: no XDP program,
# no VLAN, no flow, no chain.
cls_end()
{
	vm_exec vm2 "ip link set cm0 xdp off && ! ip link show cm0 | grep -q 'prog/xdp'" &&
	vm_exec vm1 "ip link del cm0.10" && vm_exec vm3 "ip link del cm0.10" &&
	vm_exec vm0 "for f in 1 2 3 4 5 6; do chainmesh flow del \$f || exit 1; done &&
		     for c in 1 2 3 5; do chainmesh chain del \$c || exit 1; done &&
		     ! chainmesh flow show | grep -q '^flow ' &&
		     ! chainmesh chain show | grep -q '^chain '"
}

# ---------------------------------------------------------------- forward

vnf_filter()
{
	# nf_tables and its expressions: loaded on demand (modules.alias)
	dp_ip_forward vm2 &&
	vm_exec vm2 "nft add table inet vnf &&
		     nft add chain inet vnf vnffwd '{ type filter hook forward priority 0; }' &&
		     nft add rule inet vnf vnffwd udp dport 9999 counter drop"
}

# udp_batch PORT: VM3 counts what VM1's COUNT datagrams to PORT delivered.
udp_batch()
{
	dp_udp_batch "$1" "$COUNT" 1000 6 15
}

port_open()
{
	local got

	got=$(udp_batch 8888) || return 1
	CM_OUT="vm3 received $got/$COUNT on port 8888"
	[ "$got" = "$COUNT" ]
}

port_dropped()
{
	local got

	got=$(udp_batch 9999) || return 1
	vm_exec vm2 "nft list chain inet vnf vnffwd" || return 1
	CM_OUT="vm3 received $got on port 9999; vm2: $(grep -o 'counter.*' <<<"$CM_OUT")"
	[ "$got" = 0 ] && grep -q "counter packets $COUNT " <<<"$CM_OUT"
}

ping_through()
{
	vm_exec vm1 "ping -c 5 -i 0.2 -W 2 10.0.0.3" 40
}

vnf_snat()
{
	vm_exec vm2 "nft add table ip nat &&
		     nft add chain ip nat post '{ type nat hook postrouting priority 100; }' &&
		     nft add rule ip nat post ip saddr 10.0.0.1 oifname cm0 counter snat to 10.0.0.2"
}

snat_through()
{
	local got ctx0 ctx1

	ctx0=$(dp_stat vm2 tx_ctx) || return 1
	got=$(udp_batch 8888) || return 1
	ctx1=$(dp_stat vm2 tx_ctx) || return 1
	vm_exec vm2 "nft list chain ip nat post" || return 1
	CM_OUT="vm3 received $got/$COUNT through SNAT; vm2 tx_ctx +$((ctx1 - ctx0)); $(grep -o 'counter.*' <<<"$CM_OUT")"
	[ "$got" = "$COUNT" ] && ge $((ctx1 - ctx0)) "$COUNT" &&
		grep -q "counter packets [1-9]" <<<"$CM_OUT"
}

snat_ping()
{
	vm_exec vm1 "ping -c 5 -i 0.2 -W 2 10.0.0.3" 40
}

no_context()
{
	local got nf0 nf1

	vm_exec vm2 "echo 0 > /sys/module/chainmesh/parameters/mark_mask" || return 1
	nf0=$(dp_stat vm2 tx_drop_no_flow) || return 1
	got=$(udp_batch 8888) || return 1
	nf1=$(dp_stat vm2 tx_drop_no_flow) || return 1
	vm_exec vm2 "echo 0xffff0000 > /sys/module/chainmesh/parameters/mark_mask" || return 1
	CM_OUT="mark_mask 0: vm3 received $got; vm2 tx_drop_no_flow +$((nf1 - nf0))"
	[ "$got" = 0 ] && ge $((nf1 - nf0)) "$COUNT"
}

# TCP through SNAT with offloads: vm2 and vm3 took GSO frames whose
# checksum nobody computed (CHECKSUM_PARTIAL), vm2 NATed them.
snat_tcp()
{
	dp_mkfile 2 && dp_transfer 5003 || return 1
	dp_gso_frames vm2 16384 && dp_gso_frames vm3 16384
}

tap_plan 30
dp_setup_steps
cm_step "vm0: chains 1, 2, 3, 5 and flows 1..6" fatal cls_flows
cm_step "vm1: cm0.10 10.1.0.1" fatal cls_vlan_up vm1 1
cm_step "vm3: cm0.10 10.1.0.3" fatal cls_vlan_up vm3 3
cm_step "vm2: ip link set cm0 xdp obj xdp_tx.o" fatal dp_xdp_attach xdp_tx.o
cm_step "vm1: ping 10.0.0.3 (chain 1, direct)" - cls_ping_to ping 10.0.0.3
cm_step "vm1: ping6 fd00::3 (chain 3, through vm2)" - cls_ping_to ping6 fd00::3
cm_step "vm1: ping 10.1.0.3 over VLAN 10 (chain 5, through vm2)" - cls_ping_to ping 10.1.0.3
cm_step "vm2 forwarded chains 3 and 5, never chain 1" - cls_vm2_chains
cm_step "vm0: per-flow counters follow the chains" - wait_for cls_flow_counters 5
cm_step "classification done: xdp off, VLANs, flows and chains deleted" fatal cls_end
cm_step "vm0: chains 1 (1 2 3), 2 (3 2 1), flows 1, 2" fatal dp_chain_flows 10.0.0.0/24
cm_step "vm2: ip_forward, nft forward rule: udp dport 9999 drop" fatal vnf_filter
cm_step "vm1 -> vm3: $COUNT datagrams to port 8888 all arrive" - port_open
cm_step "vm1 -> vm3: port 9999 never arrives, vm2's rule counted $COUNT" - port_dropped
cm_step "vm1: ping 10.0.0.3 through vm2's stack" - ping_through
cm_step "vm2: SNAT 10.0.0.1 -> 10.0.0.2 on cm0" fatal vnf_snat
cm_step "vm1 -> vm3 through SNAT: all arrive, sent on by context" - snat_through
cm_step "vm1: ping 10.0.0.3 through SNAT (replies un-NATed by vm2)" - snat_ping
cm_step "TCP vm1 -> vm3 through SNAT, offloads on: data intact, GSO frames" - snat_tcp
cm_step "vm1..3: no bad descriptors, no frames of offloads dropped" - dp_no_bad vm1 vm2 vm3
cm_step "vm2 mark_mask=0: NATed frames match no flow, dropped" - no_context
cm_step "vm1..3: every buffer back in its pool" - wait_for "dp_pools_full vm1 vm2 vm3" 10
cm_step "all: rmmod chainmesh, chainmesh_host" - dp_unload vm1 vm2 vm3
cm_step "consoles: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
tap_exit_status
