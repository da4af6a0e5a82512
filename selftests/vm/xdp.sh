#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# XDP on a chain: VM2 runs an XDP program that returns XDP_TX, so frames of
# VM1 -> VM3 go through VM2 without VM2's stack seeing them and without a
# copy: the buffer VM1 filled is the one VM3 reads.
#
#                 +-----------------------------------------+
#                 | VM0  node 0  chainmesh_host.ko          |
#                 +-------------------+---------------------+
#   ===== one shared region: ring 1->2, ring 2->3, ring 3->2, ring 2->1 =====
#        |                        |                         |
#   +----+----------+   +---------+------------+   +--------+------+
#   | VM1 node 1    |   | VM2 node 2           |   | VM3 node 3    |
#   | cm0 10.0.0.1  |-->| cm0 + xdp_tx.o       |-->| cm0 10.0.0.3  |
#   |               |<--| (XDP_TX: next hop)   |<--|               |
#   +---------------+   +----------------------+   +---------------+
#
#   chain 1 = hops 1 2 3: flow 1  10.0.0.1 -> 10.0.0.3
#   chain 2 = hops 3 2 1: flow 2  10.0.0.3 -> 10.0.0.1
#
# Asserts: pings answered; VM2's xdp_tx_zerocopy counts them and its
# stack counts nothing received; the buffer offsets VM3 received from VM2
# are offsets VM1 sent, in VM1's pool (debugfs hops logs); then XDP off
# (the stack forwards, by the chain context in skb->mark), XDP_REDIRECT
# to an AF_XDP socket in VM3 and to a veth in VM2 (page copies). Prints
# TAP.
#
# Frames of several buffers: a program that declares xdp.frags on VM2
# gets VM1's GSO frames (TCP, up to 64 KiB) whole, VM2's stack forwards
# them, VM3 receives them unsegmented; a program without it (a hop that
# corrupts UDP payload in flight) makes VM2 take single buffers only, and
# VM3's socket accepts none of the corrupted datagrams (their checksums,
# computed by VM1, fail), while those it left alone arrive.
#
# Node 0 is the same node as every guest (node/): the same frames then go
# 1 -> 0 -> 3 and back through cmh-lab with xdp_tx.o, and the same
# asserts hold for VM0: ethtool -S cmh-lab counts them as XDP_TX zero
# copy, its stack sees none, VM3 reads the buffers VM1 filled.

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=selftests/vm/lib/datapath.sh
. "$(dirname "$0")/lib/datapath.sh"

dp_require clang

COUNT=10

ping_all()
{
	vm_exec vm1 "ping -c $COUNT -i 0.2 -W 2 10.0.0.3" $((COUNT + 30))
	grep -q " $COUNT packets received" <<<"$CM_OUT"
}

xdp_counters()
{
	local zc tx

	zc=$(dp_stat vm2 xdp_tx_zerocopy) && tx=$(dp_stat vm2 xdp_tx) || return 1
	CM_OUT="vm2: xdp_tx $tx xdp_tx_zerocopy $zc"
	ge "$zc" $((2 * COUNT)) && [ "$zc" = "$tx" ]
}

stack_blind()
{
	local rx

	rx=$(cm_link_packets vm2 cm0 rx) || return 1
	CM_OUT="vm2 cm0 rx (stack) $rx packets"
	[ "$rx" = 0 ]
}

# same_buffers VM NODE DEBUGFS: offsets VM1 sent to NODE (on VM), NODE
# handed on by XDP_TX, VM3 got from NODE; DEBUGFS is NODE's hops log.
same_buffers()
{
	local vm=$1 node=$2 log=/sys/kernel/debug/$3/hops sent fwd got missing

	vm_exec vm1 "cat /sys/kernel/debug/chainmesh/cm0/hops" || return 1
	sent=$(awk -v n="$node" '$1 == "tx" && $3 == n { print $5 }' <<<"$CM_OUT" | sort -u)
	vm_exec "$vm" "cat $log" || return 1
	fwd=$(awk '$1 == "xdp_tx" && $3 == 3 && $7 == 1 { print $5 }' <<<"$CM_OUT" | sort -u)
	vm_exec vm3 "cat /sys/kernel/debug/chainmesh/cm0/hops" || return 1
	got=$(awk -v n="$node" '$1 == "rx" && $3 == n && $7 == 1 { print $5 }' <<<"$CM_OUT" | sort -u)
	missing=$(comm -13 <(echo "$sent") <(echo "$got"); comm -13 <(echo "$fwd") <(echo "$got"))
	CM_OUT="vm1 sent $(wc -w <<<"$sent"), $vm forwarded $(wc -w <<<"$fwd"), vm3 got $(wc -w <<<"$got") buffers of node 1; e.g. $(head -1 <<<"$got")${missing:+; not sent by vm1/$vm: $missing}"
	[ "$(wc -w <<<"$got")" -ge "$COUNT" ] && [ -z "$missing" ]
}

xdp_off_forward()
{
	vm_exec vm2 "ip link set cm0 xdp off" && dp_ip_forward vm2 &&
	ping_all || return 1
	ctx=$(dp_stat vm2 tx_ctx) || return 1
	CM_OUT="vm2 tx_ctx $ctx"
	ge "$ctx" $((2 * COUNT))
}

# VM3 (the last hop) hands chain 1's frames to an AF_XDP socket.
afxdp()
{
	local got red0 red1

	red0=$(dp_stat vm3 xdp_redirect) || return 1
	vm_exec vm3 "rm -f /tmp/xsk; (xsk_rx cm0 1500 40 > /tmp/xsk 2>&1 &);
		     n=0; until grep -q listening /tmp/xsk; do
			[ \$n -ge 50 ] && { cat /tmp/xsk; exit 1; }
			n=\$((n + 1)); usleep 100000
		     done" || return 1
	vm_exec vm1 "cmudp send 10.0.0.3 4444 $COUNT" || return 1
	vm_wait_for vm3 "grep -q received /tmp/xsk" 20 || return 1
	vm_exec vm3 "cat /tmp/xsk" || return 1
	got=$(sed -n 's/^received \([0-9]*\) .*/\1/p' <<<"$CM_OUT")
	red1=$(dp_stat vm3 xdp_redirect) || return 1
	CM_OUT="vm3: AF_XDP socket received $got, xdp_redirect +$((red1 - red0))"
	ge "$got" "$COUNT" && ge $((red1 - red0)) "$COUNT"
}

# Chains 3 (1 0 3) and 4 (3 0 1) replace 1 and 2: through node 0, which
# runs xdp_tx.o on cmh-lab.
node0_xdp()
{
	vm_exec vm0 "chainmesh flow del 1 && chainmesh flow del 2 &&
		     chainmesh chain add 3 hops 1 0 3 &&
		     chainmesh chain add 4 hops 3 0 1 &&
		     chainmesh flow add 3 chain 3 src 10.0.0.1/32 dst 10.0.0.3/32 &&
		     chainmesh flow add 4 chain 4 src 10.0.0.3/32 dst 10.0.0.1/32 &&
		     ip link set cmh-lab up &&
		     ip link set cmh-lab xdp obj /lib/cmtest/xdp_tx.o sec xdp &&
		     ip link show cmh-lab | grep -q 'prog/xdp'"
}

node0_counters()
{
	local zc tx bad p1 p3

	zc=$(dp_stat vm0 xdp_tx_zerocopy cmh-lab) &&
		tx=$(dp_stat vm0 xdp_tx cmh-lab) &&
		p1=$(dp_stat vm0 peer1_rx_packets cmh-lab) &&
		p3=$(dp_stat vm0 peer3_tx_packets cmh-lab) &&
		bad=$(dp_stat vm0 rx_bad_chain cmh-lab) || return 1
	CM_OUT="vm0 cmh-lab: xdp_tx $tx xdp_tx_zerocopy $zc peer1_rx_packets $p1 peer3_tx_packets $p3 rx_bad_chain $bad"
	ge "$zc" $((2 * COUNT)) && [ "$zc" = "$tx" ] && ge "$p1" "$COUNT" &&
		ge "$p3" "$COUNT" && [ "$bad" = 0 ]
}

redirect()
{
	local before after red

	# veth: loaded on demand (rtnl-link-veth, modules.alias)
	vm_exec vm2 "ip link add veth0 type veth peer name veth1 &&
		     ip link set veth1 xdp obj /lib/cmtest/xdp_pass.o sec xdp &&
		     ip link set veth0 up && ip link set veth1 up &&
		     cat /sys/class/net/veth0/ifindex" || return 1
	if [ "$CM_OUT" != "${CM_IFINDEX:-4}" ]; then
		CM_OUT="veth0 has ifindex $CM_OUT, xdp_redirect.o was built for ${CM_IFINDEX:-4}"
		return 1
	fi
	before=$(cm_link_packets vm2 veth1 rx) || return 1
	dp_xdp_attach xdp_redirect.o || return 1
	vm_exec vm1 "ping -c $COUNT -i 0.2 -W 1 10.0.0.3" $((COUNT + 30)) || true
	after=$(cm_link_packets vm2 veth1 rx) || return 1
	red=$(dp_stat vm2 xdp_redirect) || return 1
	fail=$(dp_stat vm2 xdp_redirect_fail) || return 1
	CM_OUT="vm2: xdp_redirect $red (failed $fail), veth1 rx $before -> $after"
	ge "$red" "$COUNT" && [ "$fail" = 0 ] && ge $((after - before)) "$COUNT"
}

# A multi-buffer program on vm2: a TCP transfer's GSO frames through it.
frags_tcp()
{
	local pass frames v2

	vm_exec vm2 "ip link set cm0 xdp obj /lib/cmtest/xdp_frags_pass.o sec xdp.frags &&
		     ip link show cm0 | grep -q 'prog/xdp'" || return 1
	dp_mkfile 2 && dp_transfer 5004 || return 1
	pass=$(dp_stat vm2 xdp_pass) && frames=$(dp_stat vm2 rx_frames) || return 1
	dp_gso_frames vm2 32768 || return 1
	v2=$CM_OUT
	dp_gso_frames vm3 32768 || return 1
	CM_OUT="vm2 xdp_pass $pass; $v2; $CM_OUT"
	ge "$pass" "$frames"
}

# udp_csum_errors VM: the UDP InCsumErrors of VM's stack.
udp_csum_errors()
{
	vm_exec "$1" "cat /proc/net/snmp" || return 1
	awk '$1 == "Udp:" && $2 !~ /^[0-9]/ { for (i = 2; i <= NF; i++) col[$i] = i }
	     $1 == "Udp:" && $2 ~ /^[0-9]/ { print $col["InCsumErrors"] }' <<<"$CM_OUT"
}

# A hop that corrupts payload: vm3's socket takes none of it.
corrupt()
{
	local e0 e1 bad good

	vm_exec vm2 "ip link set cm0 xdp off &&
		     ip link set cm0 xdp obj /lib/cmtest/xdp_corrupt.o sec xdp" || return 1
	e0=$(udp_csum_errors vm3) || return 1
	dp_cmudp_recv vm3 9997 2000 30 /tmp/recv.9997 || return 1
	vm_exec vm1 "cmudp send 10.0.0.3 9997 $COUNT 1000" || return 1
	bad=$(dp_cmudp_result vm3 /tmp/recv.9997 40) || return 1
	good=$(dp_udp_batch 9998 "$COUNT" 2000 30 40) || return 1
	e1=$(udp_csum_errors vm3) || return 1
	vm_exec vm2 "ip link set cm0 xdp off" || return 1
	CM_OUT="vm3: corrupted datagrams received $bad/$COUNT, untouched $good/$COUNT, InCsumErrors +$((e1 - e0))"
	[ "$bad" = 0 ] && [ "$good" = "$COUNT" ] && ge $((e1 - e0)) "$COUNT"
}

tap_plan 26
dp_setup_steps hop_log=1
cm_step "vm0: chains 1 (1 2 3), 2 (3 2 1), flows 1, 2" fatal dp_chain_flows
cm_step "vm2: ip link set cm0 xdp obj xdp_tx.o" fatal dp_xdp_attach xdp_tx.o
cm_step "vm1: ping -c $COUNT 10.0.0.3 through vm2's XDP_TX: all answered" - ping_all
cm_step "vm2: xdp_tx_zerocopy == xdp_tx >= $((2 * COUNT))" - xdp_counters
cm_step "vm2: its stack saw nothing (cm0 rx 0)" - stack_blind
cm_step "vm3 received vm1's buffers, same offsets at hop 1, 2 and 3" - \
	same_buffers vm2 2 chainmesh/cm0
cm_step "vm2: xdp off, ip_forward on: pings forwarded by the stack with context" - xdp_off_forward
cm_step "vm2: xdp.frags program: 64 KiB GSO frames through it whole" - frags_tcp
cm_step "vm2: XDP corrupts UDP payload: vm3's socket accepts none of it" - corrupt
cm_step "vm1..3: no bad descriptors, no frames of offloads dropped" - dp_no_bad vm1 vm2 vm3
cm_step "vm3: XDP_REDIRECT to an AF_XDP socket (copy mode)" - afxdp
cm_step "vm2: XDP_REDIRECT to a veth: copies reach veth1" - redirect
cm_step "vm0: chains 3 (1 0 3), 4 (3 0 1); cmh-lab xdp obj xdp_tx.o" fatal node0_xdp
cm_step "vm1: ping -c $COUNT 10.0.0.3 through node 0's XDP_TX: all answered" - ping_all
cm_step "vm0: cmh-lab xdp_tx_zerocopy == xdp_tx, per-peer counters" - node0_counters
cm_step "vm0: the host's stack saw nothing (cmh-lab rx 0)" - \
	eval '[ "$(cm_link_packets vm0 cmh-lab rx)" = 0 ]'
cm_step "vm3 received vm1's buffers, same offsets at node 1, 0 and 3" - \
	same_buffers vm0 0 chainmesh_host/cmh-lab
cm_step "vm1..3: every buffer back in its pool" - wait_for "dp_pools_full vm1 vm2 vm3" 10
cm_step "all: rmmod chainmesh, chainmesh_host" - dp_unload vm1 vm2 vm3
cm_step "consoles: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
tap_exit_status
