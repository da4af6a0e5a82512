#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A peer that misbehaves while it stays alive: tools/cm-peer joins as
# node 3, first keeping every buffer it is sent (a hoarder), then sending
# garbage (descriptors outside every pool, misaligned, runts and frames
# past their buffer, insane ring heads), then comes back well behaved.
# The default module parameters: peer_share=50, bad_limit=32 within
# bad_window_ms=1000 (Documentation/operations.rst).
#
#                 +------------------------------------------+
#                 | VM0  node 0 (host)   chainmesh_host.ko   |
#                 |      watcher: reports -> BROKEN verdict  |
#                 +--------------------+---------------------+
#                                      | peer 0
#   chainmesh-ivshmemd ===== one shared region (memfd, 16 MiB) ===========
#                  | peer 1                   | peer 2              | peer 3
#   +--------------+-------------+ +----------+-----------------+ +-+--------+
#   | VM1  node 1  chainmesh.ko  | | VM2  node 2  chainmesh.ko   | | cm-peer  |
#   |      cm0 10.0.0.1/24       | |      cm0 10.0.0.2/24        | | hoard,   |
#   +----------------------------+ +-----------------------------+ | chaos,   |
#     ping 10.0.0.2: chains 1 (1 2), 2 (2 1)                       | echo     |
#     ping 10.0.0.3: chain 3 (1 3), into node 3                    +----------+
#
#   1. quota: node 3 hoards; VM1 floods it (ping -i 0.01). VM1 lets it
#      hold exactly its share (256 of 512 buffers: peer3_held), drops the
#      rest (tx_drop_quota), and its pings to VM2 are all answered. Once
#      the hoarder leaves, VM1 takes its buffers back (pool_free 512).
#   2. broken: node 3 sends garbage to VM1 and VM2 (seed printed). The
#      victims judge it broken (peer3_broken) and read nothing more from
#      it (their rx_bad_* counters stand still while it goes on), the host
#      calls it broken (`node show`), VM1 stops sending to it, and the
#      pings between VM1 and VM2 keep flowing. It stays broken after it
#      left.
#   3. rejoin: a well-behaved cm-peer (echo) joins as node 3, a new epoch:
#      the host calls it up, VM1's pings to 10.0.0.3 are answered again.
#   4. node 0 is the same node as the guests (node/): as a sender, the
#      hoarder holds exactly its share of node 0's pool (cmh-lab
#      10.0.0.100, chain 4 (0 3)) while node 0's pings to VM1 (chains
#      5 (0 1), 6 (1 0)) are all answered; as a victim of garbage, node 0
#      counts it per reason and per peer in ethtool -S cmh-lab and judges
#      the sender broken.
#   End: every pool full, clean rmmod, quiet consoles.
#
# Knobs: CM_MISBEHAVE_SEED (replay the garbage; printed in any case).

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"

SEED=${CM_MISBEHAVE_SEED:-$(( (RANDOM << 30) | (RANDOM << 15) | RANDOM ))}
SHARE=256			# peer_share 50% of bufs_per_node 512
GARBAGE=desc_addr,desc_align,desc_len0,desc_len_huge,desc_off,head_random,ret_flood
# NET_RX softirqs a victim may run in 3 s while a peer it cut floods it
NAPI_MAX=${CM_MISBEHAVE_NAPI_MAX:-300}
BAD="rx_bad_addr rx_bad_align rx_bad_owner rx_bad_len rx_bad_index"
CM_BAIL_SUFFIX=" (seed $SEED)"

# peer_up ARGS...: cmlab peer ARGS, which must join as node 3.
peer_up()
{
	CM_OUT=$("$CMLAB" peer "$@" 2>&1) || return 1
	[[ "$CM_OUT" == *" peer 3 "* ]]
}

stat_of()
{
	cm_ethtool_stat "$@"
}

# ---------------------------------------------------------------- quota

# hoard_flood VM: node 3 hoards what it is sent; VM floods it.
hoard_flood()
{
	peer_up chaos --kinds hoard --targets "${1#vm}" --duration 120 || return 1
	vm_wait_for vm0 "chainmesh node show | grep -q '^node 3 state up'" 10 ||
		return 1
	vm_exec "$1" "ping -c 3000 -i 0.01 -W 1 10.0.0.3 >/dev/null 2>&1 &
		      echo \$! >/tmp/flood.pid"
}

# held_share VM DEV: node 3 holds exactly its share of VM's pool.
held_share()
{
	local vm=$1 dev=$2 held drops free

	vm_wait_for "$vm" "ethtool -S $dev | grep -q 'peer3_held: $SHARE\$'" 20 || true
	held=$(stat_of "$vm" peer3_held "$dev") &&
		drops=$(stat_of "$vm" tx_drop_quota "$dev") &&
		free=$(stat_of "$vm" pool_free "$dev") || return 1
	CM_OUT="$vm $dev: peer3_held $held (share $SHARE), tx_drop_quota $drops, pool_free $free"
	[ "$held" = "$SHARE" ] && ge "$drops" 1 && ge "$free" $((512 - SHARE))
}

# ping_all VM ADDR: 20 pings, all answered.
ping_all()
{
	vm_exec "$1" "ping -c 20 -i 0.2 -W 2 $2" 60 || true
	[ "$(ping_received "$CM_OUT")" = 20 ]
}

# hoarder_leaves VM DEV P: the flood ends, cmlab peer P leaves, VM takes
# its buffers back.
hoarder_leaves()
{
	vm_exec "$1" "kill \$(cat /tmp/flood.pid) 2>/dev/null; true" || return 1
	"$CMLAB" peer-stop "$3" >/dev/null 2>&1 || return 1
	cm_pool_full "$1" 10 "$2" && [ "$(stat_of "$1" peer3_held "$2")" = 0 ]
}

# ---------------------------------------------------------------- broken

T_CHAOS=

start_garbage()
{
	vm_exec vm1 "ping -i 0.2 -W 1 10.0.0.2 >/tmp/ping2.log 2>&1 &
		     echo \$! >/tmp/ping2.pid
		     ping -i 0.5 -W 1 10.0.0.3 >/dev/null 2>&1 &
		     echo \$! >/tmp/ping3.pid" || return 1
	# node 3 up and VM1 sending to it before the garbage starts
	peer_up chaos --seed "$SEED" --duration 45 --targets 1,2 --kinds "$GARBAGE" \
		--gap 1000 || return 1
	T_CHAOS=$SECONDS
}

host_says_broken()
{
	vm_wait_for vm0 "chainmesh node show | grep -q '^node 3 state broken'" 15 ||
		{ vm_exec vm0 "chainmesh node show; dmesg | tail -5"; return 1; }
	tap_diag "host: node 3 broken $((SECONDS - T_CHAOS)) s after the garbage started"
	vm_exec vm0 "dmesg | grep 'reported broken'"
}

judged()
{
	local b1 b2 n1 n2

	b1=$(stat_of vm1 peer3_broken) && n1=$(stat_of vm1 peer3_bad) &&
		b2=$(stat_of vm2 peer3_broken) && n2=$(stat_of vm2 peer3_bad) || return 1
	CM_OUT="vm1: peer3_broken $b1 peer3_bad $n1; vm2: peer3_broken $b2 peer3_bad $n2"
	# Both count its garbage; at least one judged it before the host's
	# verdict cut it off at the other too.
	ge "$n1" 1 && ge "$n2" 1 && [ $((b1 + b2)) -ge 1 ] && [ "$b1" -le 1 ] && [ "$b2" -le 1 ]
}

bad_sum()
{
	local r s=0 v

	for r in $BAD; do
		v=$(stat_of "$1" "$r") || return 1
		s=$((s + v))
	done
	echo "$s"
}

# The attack goes on (the chaos peer runs up to 45 s, until garbage_ends
# stops it); the victims read none of it.
not_read()
{
	local a1 a2 b1 b2 alive

	a1=$(bad_sum vm1) && a2=$(bad_sum vm2) || return 1
	sleep 3
	b1=$(bad_sum vm1) && b2=$(bad_sum vm2) || return 1
	alive=$(grep -c "chaos: .* attacks so far" "$CMLAB_DIR/peer1.log" || true)
	CM_OUT="rx_bad_* vm1 $a1 -> $b1, vm2 $a2 -> $b2 (chaos progress lines: $alive)"
	[ "$a1" = "$b1" ] && [ "$a2" = "$b2" ] && ! grep -q "chaos done" "$CMLAB_DIR/peer1.log"
}

# While the cut node 3 keeps refilling its return ring to vm1 with
# garbage (ret_flood, no doorbell), vm1's NAPI neither reads it nor
# keeps polling for it: few NET_RX softirqs in 3 s, and at most 10% of
# its CPU time in softirq.
napi_idle()
{
	local nrx sirq n

	vm_exec vm1 "s() { awk '/NET_RX/ { for (i = 2; i <= NF; i++) s += \$i; print s }' /proc/softirqs; }
		     t() { awk '/^cpu / { print \$8 }' /proc/stat; }
		     a=\$(s); q=\$(t); sleep 3; b=\$(s); r=\$(t)
		     echo \$((b - a)) \$((r - q)) \$(nproc)" || return 1
	read -r nrx sirq n <<<"$CM_OUT"
	CM_OUT="vm1 in 3 s of node 3's ret_flood: NET_RX softirqs +$nrx (max $NAPI_MAX), softirq time $sirq of $((300 * n)) ticks (max 10%)"
	ge "$nrx" 0 && [ "$nrx" -le "$NAPI_MAX" ] && [ $((sirq * 10)) -le $((300 * n)) ] &&
		! grep -q "chaos done" "$CMLAB_DIR/peer1.log" && tap_diag "$CM_OUT"
}

vm1_stops_sending()
{
	local a b

	a=$(stat_of vm1 peer3_tx_packets) || return 1
	sleep 2
	b=$(stat_of vm1 peer3_tx_packets) || return 1
	CM_OUT="vm1 peer3_tx_packets $a -> $b"
	ge "$a" 1 && [ "$a" = "$b" ]
}

pings_flow()
{
	local sent recv

	vm_exec vm1 "kill -INT \$(cat /tmp/ping2.pid) \$(cat /tmp/ping3.pid)
		     sleep 1; tail -n 3 /tmp/ping2.log" || return 1
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' <<<"$CM_OUT")
	recv=$(ping_received "$CM_OUT")
	CM_OUT="vm1 -> vm2 during the attack: sent $sent received $recv"
	ge "$sent" 20 && [ $(( (sent - recv) * 10 )) -le "$sent" ]
}

# What the attack had to show is shown: stop it (SIGTERM: cm-peer ends
# its chaos as at the end of its --duration, summary included).
garbage_ends()
{
	"$CMLAB" peer-stop 1 >/dev/null 2>&1 || return 1
	CM_OUT=$("$CMLAB" peer-wait 1 --timeout 60 2>&1) || return 1
	CM_OUT=$(grep -E 'seed|chaos kind|summary' <<<"$CM_OUT")
	grep -q "chaos done seed $SEED" <<<"$CM_OUT" &&
		vm_wait_for vm0 "chainmesh node show | grep -q '^node 3 state broken'" 5
}

# ---------------------------------------------------------------- rejoin

rejoin()
{
	peer_up echo --duration 60 || return 1
	vm_wait_for vm0 "chainmesh node show | grep -q '^node 3 state up'" 10 ||
		{ vm_exec vm0 "chainmesh node show"; return 1; }
	vm_exec vm0 "chainmesh node show | grep '^node 3'"
}

ping_node3()
{
	vm_wait_for vm1 "ping -c 1 -W 1 10.0.0.3 >/dev/null" 15 || return 1
	vm_exec vm1 "ping -c 5 -i 0.2 -W 2 10.0.0.3" 30 || true
	[ "$(ping_received "$CM_OUT")" = 5 ]
}

# ---------------------------------------------------------------- node 0

# Node 0 gets an address and chains to node 3 (4) and to VM1 (5, 6 back).
node0_chains()
{
	vm_exec vm0 "ip addr add 10.0.0.100/24 dev cmh-lab &&
		     ip link set cmh-lab up &&
		     chainmesh chain add 4 hops 0 3 &&
		     chainmesh chain add 5 hops 0 1 &&
		     chainmesh chain add 6 hops 1 0 &&
		     chainmesh flow add 4 chain 4 src 10.0.0.100/32 dst 10.0.0.3/32 &&
		     chainmesh flow add 5 chain 5 src 10.0.0.100/32 dst 10.0.0.1/32 &&
		     chainmesh flow add 6 chain 6 src 10.0.0.1/32 dst 10.0.0.100/32"
}

node0_garbage()
{
	local n=0

	peer_up chaos --seed "$SEED" --duration 15 --targets 0 \
		--kinds "$GARBAGE" --gap 200 || return 1
	vm_wait_for vm0 "ethtool -S cmh-lab | grep -q 'peer3_broken: 1\$'" 20 ||
		{ vm_exec vm0 "ethtool -S cmh-lab | grep -v ': 0\$'"; return 1; }
	vm_exec vm0 "ethtool -S cmh-lab" || return 1
	for r in $BAD; do
		n=$((n + $(awk -v k="$r:" '$1 == k { print $2 }' <<<"$CM_OUT")))
	done
	CM_OUT="vm0 cmh-lab: rx_bad_* $n, $(grep -E 'peer3_(bad|broken):' <<<"$CM_OUT" | tr -s ' \n' ' ')"
	ge "$n" 1 && ge "$(stat_of vm0 peer3_bad cmh-lab)" 1
}

node0_garbage_ends()
{
	"$CMLAB" peer-stop 4 >/dev/null 2>&1 || true
	"$CMLAB" peer-wait 4 --timeout 60 >/dev/null 2>&1 || true
	vm_wait_for vm0 "chainmesh node show | grep -q '^node 3 state broken'" 5 &&
		vm_exec vm0 "dmesg | grep 'cmh-lab: node 3 sent'"
}

# ---------------------------------------------------------------- chain

# Bad chain context counts against its sender once the victim's table is
# a second old: node 3 (a new life) sends vm2 nothing but descriptors
# whose chain and hop vm2's table does not have; vm2 judges it broken.
chain_judged()
{
	local b0 b1 c1

	b0=$(stat_of vm2 peer3_broken) || return 1
	peer_up chaos --seed "$SEED" --kinds desc_chain --targets 2 --duration 15 \
		--gap 1000 || return 1
	vm_wait_for vm2 "ethtool -S cm0 | awk '\$1 == \"peer3_broken:\" && \$2 > $b0 { f = 1 } END { exit !f }'" 12 || true
	b1=$(stat_of vm2 peer3_broken) && c1=$(stat_of vm2 rx_bad_chain) || return 1
	"$CMLAB" peer-stop 5 >/dev/null 2>&1 || return 1
	CM_OUT="vm2: peer3_broken $b0 -> $b1, rx_bad_chain $c1"
	[ "$b1" -gt "$b0" ] && tap_diag "$CM_OUT"
}

end_pools()
{
	"$CMLAB" peer-stop 2 >/dev/null 2>&1 || return 1
	cm_pool_full vm1 10 && cm_pool_full vm2 10
}

tap_plan 34
tap_diag "garbage seed $SEED (replay: CM_MISBEHAVE_SEED=$SEED $0)"
cm_step "lab: daemon and 3 VMs up" fatal cm_ping_start_lab
cm_step "vm0: insmod chainmesh_host.ko" fatal cm_ping_host_load
cm_step "vm1: chainmesh.ko, cm0 10.0.0.1/24 up" fatal cm_ping_guest_up vm1 10.0.0.1/24
cm_step "vm2: chainmesh.ko, cm0 10.0.0.2/24 up" fatal cm_ping_guest_up vm2 10.0.0.2/24
cm_step "vm0: nodes 1 and 2 up" fatal cm_ping_nodes_up
cm_step "vm0: chains 1 (1 2), 2 (2 1), 3 (1 3) and their flows" fatal cm_ping_add_flows_to_3
cm_step "vm1, vm2: carrier" fatal cm_ping_carrier

cm_step "quota: node 3 hoards, vm1 floods it" fatal hoard_flood vm1
cm_step "quota: node 3 holds exactly its share of vm1's pool, the rest dropped" - held_share vm1 cm0
cm_step "quota: vm1's pings to vm2 all answered meanwhile" - ping_all vm1 10.0.0.2
cm_step "quota: hoarder gone, vm1 pool_free back to 512" - hoarder_leaves vm1 cm0 0

cm_step "broken: pings running, node 3 sends garbage (seed $SEED)" fatal start_garbage
cm_step "broken: the host calls node 3 broken" - host_says_broken
cm_step "broken: vm1 and vm2 count its garbage, judge it broken" - judged
cm_step "broken: vm1 and vm2 read nothing more from it" - not_read
cm_step "broken: vm1's NAPI idle while it floods its return ring (ret_flood)" - napi_idle
cm_step "broken: vm1 sends nothing more to it" - vm1_stops_sending
cm_step "broken: vm1 -> vm2 pings kept flowing (loss <= 10%)" - pings_flow
cm_step "broken: node 3 left, still broken at the host" - garbage_ends

cm_step "rejoin: node 3 joins again as a new epoch, the host calls it up" - rejoin
cm_step "rejoin: vm1's pings to 10.0.0.3 answered again" - ping_node3
cm_step "end: vm1, vm2 pool_free 512" - end_pools
cm_step "node 0: cmh-lab 10.0.0.100, chains 4 (0 3), 5 (0 1), 6 (1 0)" fatal node0_chains
cm_step "node 0: node 3 hoards, node 0 floods it" fatal hoard_flood vm0
cm_step "node 0: node 3 holds exactly its share of node 0's pool, the rest dropped" - held_share vm0 cmh-lab
cm_step "node 0: its pings to vm1 all answered meanwhile" - ping_all vm0 10.0.0.1
cm_step "node 0: hoarder gone, cmh-lab pool_free back to 512" - hoarder_leaves vm0 cmh-lab 3
cm_step "node 0: node 3 sends it garbage: counted per reason and peer, judged broken" - node0_garbage
cm_step "node 0: node 3 left, broken at the host" - node0_garbage_ends
cm_step "node 0: cmh-lab pool_free 512" - cm_pool_full vm0 10 cmh-lab
cm_step "chain: node 3 sends vm2 bad chain context only: judged broken" - chain_judged
cm_step "chain: vm2 pool_free 512" - cm_pool_full vm2 10
cm_step "end: all rmmod cleanly" - eval 'vm_exec vm1 "rmmod chainmesh" 30 &&
	vm_exec vm2 "rmmod chainmesh" 30 && vm_exec vm0 "rmmod chainmesh_host" 30 &&
	cm_ping_lsmod'
cm_step "consoles: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
tap_diag "garbage seed $SEED"
tap_exit_status
