#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A VNF made of the Linux stack: VM2 forwards the chain's frames with
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

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=selftests/vm/lib/datapath.sh
. "$(dirname "$0")/lib/datapath.sh"

dp_require nft

COUNT=20

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

tap_plan 20
dp_setup_steps
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
