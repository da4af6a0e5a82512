#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Backpressure: VM1 floods VM3 with UDP through VM2's XDP_TX, with rings
# and pools small enough to run out. VM1's buffers travel the whole chain
# and come home only from VM3, so its pool empties whenever VM3 lags: the
# transmit queue must stop (not drop, not loop on NETDEV_TX_BUSY) and wake
# when buffers return.
#
#                 +-----------------------------------------+
#                 | VM0  node 0  chainmesh_host.ko          |
#                 |      ring_slots=32 bufs_per_node=64     |
#                 +-------------------+---------------------+
#   ================= one shared region ===========================
#        |                        |                         |
#   +----+----------+   +---------+------------+   +--------+------+
#   | VM1 node 1    |   | VM2 node 2           |   | VM3 node 3    |
#   | cmudp send    |-->| cm0 + xdp_tx.o       |-->| cmudp recv    |
#   +---------------+   +----------------------+   +---------------+
#
#   chain 1 = hops 1 2 3: flow 1  10.0.0.1 -> 10.0.0.3
#
# Asserts: sent = received + every counted drop (VM1's qdisc, fq_codel
# by default, and tx drops, VM2's XDP drops, VM3's rx drops and UDP InErrors); VM1 dropped
# nothing itself and its queue did stop; every pool is full again once
# the traffic stops; no warning on any console. Prints TAP.

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=selftests/vm/lib/datapath.sh
. "$(dirname "$0")/lib/datapath.sh"

dp_require tc

COUNT=${CM_FLOOD_COUNT:-20000}
SIZE=512

flows()
{
	vm_exec vm0 "chainmesh chain add 1 hops 1 2 3 &&
		     chainmesh flow add 1 chain 1 src 10.0.0.1/32 dst 10.0.0.3/32"
}

SENT=
RECEIVED=
QDROPS0=

# qdisc_drops: frames VM1's qdisc dropped (fq_codel drops under pressure).
qdisc_drops()
{
	vm_exec vm1 "/usr/sbin/tc -s qdisc show dev cm0" || return 1
	awk '{ for (i = 1; i < NF; i++) if ($i == "(dropped") { gsub(",", "", $(i + 1)); s += $(i + 1) } }
	     END { print s + 0 }' <<<"$CM_OUT"
}

flood()
{
	QDROPS0=$(qdisc_drops) || return 1
	dp_cmudp_recv vm3 7777 3000 150 /tmp/flood || return 1
	vm_exec vm1 "cmudp send 10.0.0.3 7777 $COUNT $SIZE" 150 || return 1
	SENT=$(sed -n 's/^sent \([0-9]*\) errors.*/\1/p' <<<"$CM_OUT")
	RECEIVED=$(dp_cmudp_result vm3 /tmp/flood 30) || return 1
	CM_OUT="vm1 sent $SENT, vm3 received $RECEIVED"
	[ "$SENT" = "$COUNT" ] && ge "$RECEIVED" 1
}

accounting()
{
	local qd d1 d2 d3 udp stopped

	qd=$(qdisc_drops) || return 1
	qd=$((qd - QDROPS0))
	# tx_drop_no_flow: VM1's own IPv6 chatter, which no flow matches
	d1=$(dp_sum_stats vm1 tx_drop_len tx_drop_no_hop tx_drop_peer_down \
		       tx_drop_ring_full tx_drop_ring_bad tx_drop_no_buf \
		       tx_drop_quota tx_drop_fenced) || return 1
	stopped=$(dp_stat vm1 tx_queue_stopped) || return 1
	d2=$(dp_sum_stats vm2 xdp_tx_drop xdp_tx_no_hop xdp_drop xdp_aborted rx_drop_nomem \
		       rx_drop_down rx_drop_no_return rx_bad_addr rx_bad_align rx_bad_owner \
		       rx_bad_len rx_bad_index rx_bad_chain) || return 1
	d3=$(dp_sum_stats vm3 rx_drop_nomem rx_drop_down rx_drop_no_return rx_bad_addr \
		       rx_bad_align rx_bad_owner rx_bad_len rx_bad_index rx_bad_chain) || return 1
	vm_exec vm3 "cat /proc/net/snmp" || return 1
	udp=$(awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ { print $3 + $4 }' <<<"$CM_OUT")
	CM_OUT="sent $SENT = received $RECEIVED + vm1 qdisc $qd + vm1 tx $d1 + vm2 $d2 + vm3 rx $d3 + vm3 udp NoPorts+InErrors $udp; vm1 queue stopped $stopped times"
	[ "$SENT" = $((RECEIVED + qd + d1 + d2 + d3 + udp)) ]
}

no_local_drop()
{
	local d1 stopped requeue

	# VM2 holds VM1's buffers past its share (peer_share) whenever VM3
	# lags: that is backpressure too, not a reason to drop.
	d1=$(dp_sum_stats vm1 tx_drop_ring_full tx_drop_no_buf tx_drop_quota) || return 1
	stopped=$(dp_stat vm1 tx_queue_stopped) || return 1
	requeue=$(dp_stat vm1 tx_requeue) || return 1
	CM_OUT="vm1: tx_drop_ring_full + tx_drop_no_buf + tx_drop_quota $d1, tx_queue_stopped $stopped, tx_requeue $requeue"
	[ "$d1" = 0 ] && ge "$stopped" 1
}

tap_plan 14
dp_setup_steps ring_slots=32 bufs_per_node=64
cm_step "vm0: chain 1 (1 2 3), flow 1" fatal flows
cm_step "vm2: ip link set cm0 xdp obj xdp_tx.o" fatal dp_xdp_attach xdp_tx.o
cm_step "vm1: $COUNT datagrams of $SIZE bytes sent, vm3 receives" - flood
cm_step "sent = received + counted drops" - accounting
cm_step "vm1: no local drop (queue stopped instead)" - no_local_drop
cm_step "vm1..3: every buffer back in its pool" - wait_for "dp_pools_full vm1 vm2 vm3" 10
cm_step "all: rmmod chainmesh, chainmesh_host" - dp_unload vm1 vm2 vm3
cm_step "consoles: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
tap_exit_status
