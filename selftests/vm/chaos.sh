#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A hostile peer: tools/cm-peer in chaos mode joins the mesh as node 3 and
# attacks VM1, VM2 and the host node (VM0) with seeded random and crafted
# corruption of all it can write (descriptors, ring indices, returns, its
# node entry, buffer contents, doorbell storms; a victim's flow table too)
# while VM1 pings VM2 through the mesh.
#
#                 +------------------------------------------+
#                 | VM0  node 0 (host)   chainmesh_host.ko   |
#                 +--------------------+---------------------+
#                                      | peer 0
#   chainmesh-ivshmemd ===== one shared region (memfd, 16 MiB) ===========
#                  | peer 1                   | peer 2              | peer 3
#   +--------------+-------------+ +----------+-----------------+ +-+--------+
#   | VM1  node 1  chainmesh.ko  | | VM2  node 2  chainmesh.ko   | | cm-peer  |
#   |      cm0 10.0.0.1/24       | |      cm0 10.0.0.2/24        | | chaos    |
#   +----------------------------+ +-----------------------------+ | node 3   |
#         ^    ping 10.0.0.2 (chains 1: 1 2, 2: 2 1)   ^           +-+--------+
#         |                                            |             |
#         +------------- corrupted rings, returns, doorbells --------+
#   (node 0 in VM0 is attacked the same way, through rings 3->0, 0->3)
#   chain 3 = hops 1 3: flow 3 10.0.0.1 -> 10.0.0.3, so that VM1 also
#   transmits into the attacker (its consumer index is attacked too)
#
# Then, one attack kind at a time (Documentation/threat-model.rst, "What
# it cannot do"): ft_storm against VM2 (a table copy per descriptor
# asked for: at most one a jiffy), ring_stuck against VM1 (node 3's ring
# says full: VM1's other traffic goes on), desc_self_free against VM2
# running xdp_tx.o (its own free buffers named to it: refused, per-hop
# accounting exact).
#
# Then what the host owns (hole 6): a verdict forged once (VM2 called
# broken; VM1's pings to it answer again within 5 s, as the host writes
# its verdict again), and node 3 flipping its state every 100 ms (the
# host publishes the tables at most twice a second, VM1 copies its table
# no more often, the VMs' kernel logs grow by a bounded number of lines).
#
# Last, recovery after a burst (hole 7): with the broken-peer policy on
# (bad_limit 32 on every node, set at run time) and VM1 pinging VM2 over
# a 3-node chain through the host node (chains 8: 1 0 2, 9: 2 0 1, VM0
# forwarding), node 3 writes garbage into everything for
# CM_CHAOS_BURST_SECONDS (20 s): every ring's indices, flags and slots
# between any two nodes, every node entry, every flow table. Each honest
# node then blames the others for descriptors node 3 wrote into their
# rings. Once node 3 is gone, ping and a TCP transfer through the chain
# must work again within CM_CHAOS_RECOVER_SECONDS (5 s, the bound that
# Documentation/datapath.rst, "Recovery", promises), with no reload, and
# every buffer must be home.
#
# Asserts: pings keep flowing during the attack and all answer after it;
# each victim counts the rejected input per reason (ethtool -S rx_bad_*);
# no Oops/WARN/BUG/soft lockup/RCU stall; the victims' shells answer all
# along; no buffer leaked (pool_free back to full); clean rmmod.
#
# The broken-peer policy is off here (bad_limit=0 on every node): the
# point is the validation under a whole attack, which a victim would
# otherwise cut short by judging node 3 broken within a second;
# selftests/vm/misbehave.sh tests the policy.
#
# Knobs: CM_CHAOS_SEED (replay a run; printed in any case),
# CM_CHAOS_SECONDS (default 30), CM_CHAOS_TARGETS (default 0,1,2: the
# host node and both guests), CM_CHAOS_MAX_LOSS (percent of the pings
# sent during the attack that may be lost, default 10),
# CM_CHAOS_FT_SECONDS (ft_storm, default 6), CM_CHAOS_FT_SOFTIRQ_MAX
# (percent of VM2's CPU time in softirq during ft_storm),
# CM_CHAOS_BURST_SECONDS (default 20), CM_CHAOS_RECOVER_SECONDS (default 5,
# also the bound after a forged verdict), CM_CHAOS_FLIP_SECONDS
# (state_flip, default 6), CM_CHAOS_LOG_PER_S (kernel log lines a VM may
# write per second of the burst, and 20 more; default 10),
# CM_CHAOS_ONLY=burst (the lab, verdict, state_flip and the burst alone,
# for a quick run).

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"

SEED=${CM_CHAOS_SEED:-$(( (RANDOM << 30) | (RANDOM << 15) | RANDOM ))}
SECS=${CM_CHAOS_SECONDS:-30}
MAX_LOSS=${CM_CHAOS_MAX_LOSS:-10}
TARGETS=${CM_CHAOS_TARGETS:-0,1,2}
REASONS="addr align owner len index chain return frame_loop frame_owner frame_cut frame_len offload"
CM_BAIL_SUFFIX=" (seed $SEED)"
# max_flows 16384 (2 MiB a table, so a 32 MiB region): what a table
# copy costs when a peer inflates nflows (ft_storm)
FT_MAX_FLOWS=${CM_CHAOS_MAX_FLOWS:-16384}
CM_LAB_REGION=${CM_CHAOS_REGION:-32M}
CM_HOST_ARGS="bad_limit=0 max_flows=$FT_MAX_FLOWS $CM_HOST_ARGS"
CM_GUEST_ARGS="bad_limit=0 $CM_GUEST_ARGS"

start_pings()
{
	vm_exec vm1 "ping -i 0.2 -W 1 10.0.0.2 >/tmp/ping2.log 2>&1 &
		     echo \$! >/tmp/ping2.pid
		     ping -i 0.5 -W 1 10.0.0.3 >/tmp/ping3.log 2>&1 &
		     echo \$! >/tmp/ping3.pid"
}

PEER_OUT=

start_chaos()
{
	PEER_OUT=$("$CMLAB" peer chaos --seed "$SEED" --duration "$SECS" \
		   --targets "$TARGETS" 2>&1) || { CM_OUT=$PEER_OUT; return 1; }
	CM_OUT=$PEER_OUT
	[[ "$PEER_OUT" == *" peer 3 "* ]]
}

# The victims answer their shells all along (no hang, no lockup).
watch_victims()
{
	local end=$((SECONDS + SECS)) vm

	while [ "$SECONDS" -lt "$end" ]; do
		for vm in vm1 vm2; do
			vm_exec "$vm" "cat /proc/loadavg" 20 || {
				CM_OUT="$vm stopped answering"
				return 1
			}
		done
		sleep 3
	done
}

CHAOS_LOG=

wait_chaos()
{
	local rc=0

	CHAOS_LOG=$("$CMLAB" peer-wait 0 --timeout $((SECS + 60)) 2>&1) || rc=$?
	CM_OUT=$(grep -E 'seed|chaos kind|summary|error' <<<"$CHAOS_LOG")
	[ "$rc" -eq 0 ] && grep -q "chaos done seed $SEED" <<<"$CHAOS_LOG"
}

# busybox: "N packets transmitted, M packets received, ..."
stop_pings()
{
	local sent recv

	vm_exec vm1 "kill -INT \$(cat /tmp/ping2.pid) \$(cat /tmp/ping3.pid)
		     sleep 1; tail -n 3 /tmp/ping2.log" || return 1
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' <<<"$CM_OUT")
	recv=$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' <<<"$CM_OUT")
	CM_OUT="$CM_OUT"$'\n'"sent $sent received $recv (max loss $MAX_LOSS%)"
	ge "$sent" $((SECS * 3)) && ge "$recv" 1 &&
		[ $(( (sent - recv) * 100 )) -le $((sent * MAX_LOSS)) ]
}

ping_after()
{
	vm_exec vm1 "ping -c 10 -i 0.2 -W 2 10.0.0.2" 40 &&
		grep -q "10 packets received" <<<"$CM_OUT"
}

bad_counted()
{
	local vm=$1 r v out=

	for r in $REASONS; do
		v=$(cm_ethtool_stat "$vm" "rx_bad_$r") || return 1
		out="$out rx_bad_$r=$v"
		ge "$v" 1 || { CM_OUT="$vm:$out (rx_bad_$r not counted)"; return 1; }
	done
	tap_diag "$vm:$out"
}

# The host node counts what it refused in its node entry's counters.
host_bad()
{
	local bad

	case ",$TARGETS," in *,0,*) ;; *) CM_OUT="node 0 not attacked"; return 0 ;; esac
	vm_exec vm0 "chainmesh node show" || return 1
	bad=$(cm_node_field 0 bad)
	tap_diag "vm0: host node bad $bad"
	ge "$bad" 1
}

host_view()
{
	vm_exec vm0 "chainmesh node show" &&
		[ "$(cm_node_field 1 state)" = up ] &&
		[ "$(cm_node_field 2 state)" = up ]
}

# Lockups and stalls: the kernel says so on the console.
consoles_quiet()
{
	CM_OUT=$(grep -hE 'soft lockup|hard LOCKUP|rcu.*(stall|detected)|blocked for more than|hung_task' \
		 "$CMLAB_DIR"/vm[0-2].console.log 2>/dev/null) && return 1
	return 0
}

# ---------------------------------------------------------------- holes
#
# After the random run, one attack kind at a time, each against what it
# could once make a victim do (Documentation/threat-model.rst, "What it
# cannot do"). cmlab peer numbers: 0 the random run, 1 ft_storm, 2
# ring_stuck, 3 desc_self_free.

FT_SECS=${CM_CHAOS_FT_SECONDS:-6}
# Of all the victim's CPU time during ft_storm, the share in softirq
FT_SOFTIRQ_MAX=${CM_CHAOS_FT_SOFTIRQ_MAX:-25}
STUCK_SECS=16
XDP_OBJ=$CM_ROOT/selftests/vm/progs/xdp_tx.o
XDP_SKIP=

# The lab, with xdp_tx.o in /lib/cmtest when clang can build it.
chaos_lab()
{
	if command -v clang >/dev/null 2>&1 &&
	   make -s -C "$CM_ROOT/selftests/vm/progs" xdp_tx.o >&2; then
		lab_start 3 --file "$XDP_OBJ:/lib/cmtest/"
	else
		XDP_OBJ=
		XDP_SKIP=" # SKIP no clang to build xdp_tx.o"
		lab_start 3
	fi
}

# cmlab's number of the last peer started: 0 is the random run, if any.
PEER_LAST=0
[ "${CM_CHAOS_ONLY:-}" != burst ] || PEER_LAST=-1

# peer_up ARGS...: cmlab peer ARGS, which must join as node 3.
peer_up()
{
	PEER_LAST=$((PEER_LAST + 1))
	CM_OUT=$("$CMLAB" peer "$@" 2>&1) || return 1
	[[ "$CM_OUT" == *" peer 3 "* ]]
}

# peer_end P: cmlab peer P ran to its end.
peer_end()
{
	local log

	log=$("$CMLAB" peer-wait "$1" --timeout 90 2>&1) &&
		grep -q "chaos done seed" <<<"$log" && return 0
	CM_OUT="cm-peer $1: $(grep -E 'chaos kind|summary|error' <<<"$log")"
	return 1
}

# ft_stats VM: inline table builds, uptime (s), softirq time (USER_HZ
# ticks, all CPUs), CPUs, rx_bad_chain.
ft_stats()
{
	vm_exec "$1" "awk 'NR == 1 { print \$6 }' /sys/kernel/debug/chainmesh/cm0/ftable
		      cut -d' ' -f1 /proc/uptime
		      awk '/^cpu / { print \$8 }' /proc/stat
		      nproc
		      ethtool -S cm0 | awk '\$1 == \"rx_bad_chain:\" { print \$2 }'" ||
		return 1
	tr '\n' ' ' <<<"$CM_OUT"
}

# 1. Table rebuild storm: node 3 sends vm2 descriptors with a chain
# context no table has, two a millisecond, and moves the seq of vm2's table
# each time
# (inflated to max_flows entries, 2 MiB, and refused). vm2 copies no
# such table in softirq (one of at most 4096 entries, at most one a
# jiffy: HZ 250), whatever it is sent: its softirq time stays bounded.
ft_storm()
{
	local s0 s1 i0 u0 q0 c0 i1 u1 q1 n1 c1 jif pct

	s0=$(ft_stats vm2) || return 1
	peer_up chaos --seed "$SEED" --kinds ft_storm --targets 2 \
		--duration 1 --hold $((FT_SECS * 1000)) || return 1
	peer_end "$PEER_LAST" || return 1
	s1=$(ft_stats vm2) || return 1
	read -r i0 u0 q0 _ c0 <<<"$s0"
	read -r i1 u1 q1 n1 c1 <<<"$s1"
	jif=$(awk -v a="$u0" -v b="$u1" 'BEGIN { printf "%d", (b - a) * 250 + 1 }')
	pct=$(awk -v a="$u0" -v b="$u1" -v q=$((q1 - q0)) -v n="$n1" \
		'BEGIN { printf "%d", q * 100 / ((b - a) * 100 * n) }')
	CM_OUT="vm2 over $(awk -v a="$u0" -v b="$u1" 'BEGIN { print b - a }') s: inline table builds +$((i1 - i0)) (at most one a jiffy: $jif), rx_bad_chain +$((c1 - c0)), softirq $pct% of $n1 CPUs (max $FT_SOFTIRQ_MAX%)"
	[ $((i1 - i0)) -le "$jif" ] && [ $((c1 - c0)) -gt "$jif" ] &&
		[ "$pct" -le "$FT_SOFTIRQ_MAX" ] && tap_diag "$CM_OUT"
}

# 2. One full ring: node 3 heartbeats and reads, but says its ring from
# vm1 is full (its tail = vm1's head - ring_slots) for up to STUCK_SECS s while
# vm1 floods it; once vm1 used up the space it had cached, that ring
# stays full. After CM_HOARD_MS (2 s) of that, vm1 drops what goes to
# node 3 (tx_drop_ring_full) and its pings to vm2 all get through again.
ring_stuck()
{
	local d0 d1 got

	d0=$(cm_ethtool_stat vm1 tx_drop_ring_full) || return 1
	peer_up chaos --seed "$SEED" --kinds ring_stuck --targets 1 \
		--duration 1 --hold $((STUCK_SECS * 1000)) || return 1
	vm_exec vm1 "ping -c 1500 -i 0.01 -W 1 10.0.0.3 >/dev/null 2>&1 &
		     echo \$! >/tmp/flood3.pid" || return 1
	sleep 7
	vm_exec vm1 "ping -c 10 -i 0.3 -W 1 10.0.0.2" 30 || true
	got=$(ping_received "$CM_OUT")
	vm_exec vm1 "kill \$(cat /tmp/flood3.pid) 2>/dev/null; true" || return 1
	# shown: end the hold now (SIGTERM: cm-peer ends as at its end)
	"$CMLAB" peer-stop "$PEER_LAST" >/dev/null 2>&1 || return 1
	peer_end "$PEER_LAST" || return 1
	d1=$(cm_ethtool_stat vm1 tx_drop_ring_full) || return 1
	CM_OUT="vm1 -> vm2, 7 s into node 3's full ring: ${got:-0}/10 answered; vm1 tx_drop_ring_full +$((d1 - d0))"
	[ "$got" = 10 ] && ge $((d1 - d0)) 1 && tap_diag "$CM_OUT"
}

# 3. XDP_TX of a node's own free buffers: vm2 runs xdp_tx.o and is hop 1
# of chain 7 (3 2 1); node 3 sends it descriptors naming vm2's own
# buffers, which vm2 never sent it, with chain 7's context. vm2 refuses
# them (rx_bad_return) rather than passing them on to vm1, and its
# per-hop accounting stays exact: once traffic stops, every peerN_held
# is 0 and pool_free is 512.
self_free()
{
	local r0 r1 held free xtx

	[ -n "$XDP_OBJ" ] || return 0
	vm_exec vm0 "chainmesh chain add 7 hops 3 2 1 &&
		     chainmesh flow add 7 chain 7 src 10.0.0.33/32 dst 10.0.0.1/32" ||
		return 1
	vm_exec vm2 "ip link set cm0 xdp obj /lib/cmtest/xdp_tx.o sec xdp" || return 1
	r0=$(cm_ethtool_stat vm2 rx_bad_return) || return 1
	peer_up chaos --seed "$SEED" --kinds desc_self_free --targets 2 \
		--duration 5 --gap 2000 || return 1
	peer_end "$PEER_LAST" || return 1
	vm_exec vm2 "ip link set cm0 xdp off" || return 1
	vm_wait_for vm2 "ethtool -S cm0 | grep -q 'pool_free: 512\$'" 10 || true
	vm_exec vm2 "ethtool -S cm0" || return 1
	held=$(awk '$1 ~ /^peer[0-9]+_held:$/ && $2 != 0 { printf "%s %s ", $1, $2 }' <<<"$CM_OUT")
	r1=$(awk '$1 == "rx_bad_return:" { print $2 }' <<<"$CM_OUT")
	free=$(awk '$1 == "pool_free:" { print $2 }' <<<"$CM_OUT")
	xtx=$(awk '$1 == "xdp_tx_zerocopy:" { print $2 }' <<<"$CM_OUT")
	CM_OUT="vm2: pool_free $free, xdp_tx_zerocopy $xtx, rx_bad_return +$((r1 - r0)); held: ${held:-every peerN_held 0}"
	[ -z "$held" ] && [ "$free" = 512 ] && ge $((r1 - r0)) 1 && tap_diag "$CM_OUT"
}

# 4. What the host owns and how often it acts on a peer's flips
# (hole 6). cmlab peer numbers go on from the holes above.
VERDICT_SECS=${CM_CHAOS_RECOVER_SECONDS:-5}
FLIP_SECS=${CM_CHAOS_FLIP_SECONDS:-6}
# Kernel log lines a VM may write per second of the burst, and 20 more:
# what a peer can make a node log is rate limited (net_ratelimit(), 10
# lines per 5 s; pr_*_ratelimited(), 10 per 5 s per call site): the host
# has three such messages and its datapath's net_ratelimit() ones, with
# a line a message that says how many were suppressed, 9 a second at
# most; unlimited, a burst makes each VM log dozens a second.
LOG_PER_S=${CM_CHAOS_LOG_PER_S:-10}

# log_lines: the kernel log lines of vm0, vm1 and vm2 so far.
log_lines()
{
	local vm out=

	for vm in vm0 vm1 vm2; do
		vm_exec "$vm" "dmesg | wc -l" || return 1
		out="$out ${CM_OUT//[!0-9]/}"
	done
	echo "$out"
}

# log_bounded L0 L1 SECS: each VM logged at most LOG_PER_S lines a
# second of SECS, and 20 more, between the counts L0 and L1.
log_bounded()
{
	local -a a b
	local i max=$(($3 * LOG_PER_S + 20)) out='' ok=0

	read -r -a a <<<"$1"
	read -r -a b <<<"$2"
	for i in 0 1 2; do
		out="$out vm$i +$((b[i] - a[i]))"
		[ $((b[i] - a[i])) -le "$max" ] || ok=1
	done
	LOG_OUT="kernel log lines over $3 s:$out (at most $max each)"
	return $ok
}

# A forged verdict: node 3 writes once that vm2 is broken (about its last
# life: vm2 does not fence). vm1 cuts vm2 on it; the host writes its own
# verdict again within a tick, and vm1's pings to vm2 answer again
# within VERDICT_SECS (before the host re-asserted verdicts, never).
verdict_forged()
{
	local t0 secs out

	vm_exec vm1 "ping -c 2 -W 1 10.0.0.2 >/dev/null" 20 || return 1
	# cm-peer forges it as soon as it joined, then waits 2 s and leaves
	peer_up chaos --seed "$SEED" --kinds verdict --targets 2 \
		--duration 1 --gap 2000000 || return 1
	t0=$SECONDS
	vm_exec vm1 "i=0; while [ \$i -lt $((VERDICT_SECS * 5)) ]; do
			ping -c 1 -W 1 10.0.0.2 >/dev/null 2>&1 && { echo answered after \$i tries; exit 0; }
			i=\$((i + 1)); usleep 200000
		     done; exit 1" $((VERDICT_SECS * 3 + 20)) || return 1
	secs=$((SECONDS - t0))
	out="$CM_OUT, within $secs s of the forged verdict (bound $VERDICT_SECS s)"
	peer_end "$PEER_LAST" || return 1
	vm_exec vm0 "chainmesh node show" || return 1
	[ "$(cm_node_field 2 state)" = up ] || { CM_OUT="vm0: node 2 not up; $out"; return 1; }
	CM_OUT=$out
	[ "$secs" -le $((VERDICT_SECS + 2)) ] && tap_diag "$CM_OUT"
}

# tables_stats: vm0's publishes, vm1's table builds (inline + work).
tables_stats()
{
	local p

	vm_exec vm0 "cat /sys/kernel/debug/chainmesh_host/cmh-lab/publishes" ||
		return 1
	p=${CM_OUT//[!0-9]/}
	vm_exec vm1 "awk 'NR == 1 { print \$6 + \$8 }' /sys/kernel/debug/chainmesh/cm0/ftable" ||
		return 1
	echo "$p ${CM_OUT//[!0-9]/}"
}

# A peer that flips its state (joining, up) every 100 ms for FLIP_SECS:
# the alive set changes at every watcher tick, but the host compiles the
# tables at most once per 500 ms, vm1 (on chain 3, 1 3) copies its table
# no more often, and no VM logs more than 3 lines a second and 20.
state_flip()
{
	local s0 s1 l0 l1 p0 b0 p1 b1 t0 secs max logs

	s0=$(tables_stats) || return 1
	l0=$(log_lines) || return 1
	t0=$SECONDS
	peer_up chaos --seed "$SEED" --kinds state_flip --duration 1 \
		--hold $((FLIP_SECS * 1000)) || return 1
	peer_end "$PEER_LAST" || return 1
	secs=$((SECONDS - t0))
	s1=$(tables_stats) || return 1
	l1=$(log_lines) || return 1
	read -r p0 b0 <<<"$s0"
	read -r p1 b1 <<<"$s1"
	max=$((secs * 2 + 2))
	# One message of the host's follows the flips: 10 lines per 5 s,
	# and the line that says how many were suppressed.
	logs=0
	LOG_PER_S=3 log_bounded "$l0" "$l1" "$secs" || logs=1
	CM_OUT="over $secs s of flips every 100 ms: vm0 published the tables +$((p1 - p0)), vm1 copied its table +$((b1 - b0)) (at most $max each); $LOG_OUT"
	[ "$logs" = 0 ] && ge $((p1 - p0)) 2 && [ $((p1 - p0)) -le "$max" ] &&
		[ $((b1 - b0)) -le "$max" ] && tap_diag "$CM_OUT"
}

# 5. Recovery after a burst: see the top of the file.
BURST_SECS=${CM_CHAOS_BURST_SECONDS:-20}
RECOVER_SECS=${CM_CHAOS_RECOVER_SECONDS:-5}
TCP_PORT=7007

# The policy under test, on every node at run time; VM0 forwards chains
# 8 (1 0 2) and 9 (2 0 1), which flows 1 and 2 now take.
burst_setup()
{
	vm_exec vm0 "echo 32 >/sys/module/chainmesh_host/parameters/bad_limit &&
		     ip addr add 10.0.0.100/24 dev cmh-lab &&
		     ip link set cmh-lab up &&
		     sysctl -qw net.ipv4.ip_forward=1 &&
		     sysctl -qw net.ipv4.conf.all.send_redirects=0 &&
		     sysctl -qw net.ipv4.conf.cmh-lab.send_redirects=0 &&
		     chainmesh chain add 8 hops 1 0 2 &&
		     chainmesh chain add 9 hops 2 0 1 &&
		     chainmesh flow set 1 chain 8 src 10.0.0.1/32 dst 10.0.0.2/32 &&
		     chainmesh flow set 2 chain 9 src 10.0.0.2/32 dst 10.0.0.1/32" ||
		return 1
	vm_exec vm1 "echo 32 >/sys/module/chainmesh/parameters/bad_limit" &&
		vm_exec vm2 "echo 32 >/sys/module/chainmesh/parameters/bad_limit" ||
		return 1
}

# ping and TCP from VM1 to VM2 through the chain; VM0 forwarded them.
through_chain()
{
	local f0 f1 got

	# the guests take the host's new tables within a tick or two
	vm_exec vm1 "i=0; until ping -c 1 -W 1 10.0.0.2 >/dev/null 2>&1; do
			i=\$((i + 1)); [ \$i -ge 10 ] && exit 1
		     done; true" 30 || true
	f0=$(cm_link_packets vm0 cmh-lab rx) || return 1
	vm_exec vm1 "ping -c 5 -i 0.2 -W 2 10.0.0.2" 30 || true
	got=$(ping_received "$CM_OUT")
	[ "$got" = 5 ] || { tap_diag "ping: $CM_OUT"; burst_diag; tap_diag "$CM_OUT"; }
	tcp_transfer || { tap_diag "$CM_OUT"; burst_diag; return 1; }
	f1=$(cm_link_packets vm0 cmh-lab rx) || return 1
	CM_OUT="vm1 -> vm0 -> vm2: ${got:-0}/5 pings answered, 256 KiB over TCP intact; vm0 cmh-lab rx +$((f1 - f0))"
	[ "$got" = 5 ] && ge $((f1 - f0)) 10 && tap_diag "$CM_OUT"
}

# 256 KiB from VM1 to VM2 with nc (as tcp.sh: the listener's stdin
# stays open), compared; a new port each time.
tcp_transfer()
{
	local a b

	TCP_PORT=$((TCP_PORT + 1))
	vm_exec vm1 "dd if=/dev/urandom of=/tmp/burst.src bs=1k count=256 2>/dev/null &&
		     md5sum </tmp/burst.src" || return 1
	a=${CM_OUT%% *}
	vm_exec vm2 "rm -f /tmp/burst.dst; (sleep 60 | nc -l -p $TCP_PORT >/tmp/burst.dst &)" ||
		return 1
	sleep 1
	vm_exec vm1 "nc 10.0.0.2 $TCP_PORT </tmp/burst.src" 60 || true
	vm_wait_for vm2 "[ \$(stat -c %s /tmp/burst.dst) = 262144 ]" 20 || true
	vm_exec vm2 "md5sum </tmp/burst.dst" || return 1
	b=${CM_OUT%% *}
	[ -n "$a" ] && [ "$a" = "$b" ] || { CM_OUT="TCP: sent $a, got $b"; return 1; }
}

BURST_LOG0=
BURST_T0=0

burst()
{
	BURST_LOG0=$(log_lines) || return 1
	BURST_T0=$SECONDS
	vm_exec vm1 "ping -i 0.2 -W 1 10.0.0.2 >/tmp/burstping.log 2>&1 &
		     echo \$! >/tmp/burstping.pid" || return 1
	peer_up chaos --seed "$SEED" --kinds burst --duration 1 \
		--hold $((BURST_SECS * 1000)) || return 1
	peer_end "$PEER_LAST" || return 1
	vm_exec vm1 "kill -INT \$(cat /tmp/burstping.pid); sleep 1
		     tail -n 3 /tmp/burstping.log" || return 1
	tap_diag "during the burst: $(grep 'packets' <<<"$CM_OUT")"
}

# What the burst made each VM log, through its recovery: rate limited.
burst_logs()
{
	local l1

	l1=$(log_lines) || return 1
	log_bounded "$BURST_LOG0" "$l1" $((SECONDS - BURST_T0)) ||
		{ CM_OUT=$LOG_OUT; return 1; }
	tap_diag "$LOG_OUT"
}

# Within RECOVER_SECS of node 3's exit, a ping through the chain answers.
recovered()
{
	local t0=$SECONDS

	vm_exec vm1 "i=0; while [ \$i -lt $((RECOVER_SECS * 5)) ]; do
			ping -c 1 -W 1 10.0.0.2 >/dev/null 2>&1 && { echo answered after \$i tries; exit 0; }
			i=\$((i + 1)); usleep 200000
		     done; exit 1" $((RECOVER_SECS * 3 + 20)) ||
		{ burst_diag; return 1; }
	CM_OUT="$CM_OUT, $((SECONDS - t0)) s after node 3 left (bound $RECOVER_SECS s)"
	[ $((SECONDS - t0)) -le $((RECOVER_SECS + 2)) ] && tap_diag "$CM_OUT"
}

burst_diag()
{
	local out=$CM_OUT vm

	for vm in vm1 vm2; do
		vm_exec "$vm" "ethtool -S cm0 | grep -v ': 0\$'" || true
		out="$out"$'\n'"$vm: $(tr -s ' \n' ' ' <<<"$CM_OUT")"
	done
	vm_exec vm0 "chainmesh node show; chainmesh flow show; ip -s link show cmh-lab
		     ethtool -S cmh-lab | grep -v ': 0\$'" || true
	CM_OUT="$out"$'\n'"vm0: $CM_OUT"
}

burst_pools()
{
	cm_pool_full vm1 20 && cm_pool_full vm2 20 && cm_pool_full vm0 20 cmh-lab
}

rmmod_victims()
{
	vm_exec vm1 "rmmod chainmesh" 30 && vm_exec vm2 "rmmod chainmesh" 30 &&
		vm_exec vm0 "rmmod chainmesh_host" 30 && cm_ping_lsmod
}

# CM_CHAOS_ONLY=burst: the lab and the burst steps alone.
if [ "${CM_CHAOS_ONLY:-}" = burst ]; then
	tap_plan 22
else
	tap_plan 37
fi
tap_diag "chaos seed $SEED, $SECS s (replay: CM_CHAOS_SEED=$SEED $0)"
cm_step "lab: daemon and 3 VMs up" fatal chaos_lab
cm_step "vm0: insmod chainmesh_host.ko" fatal cm_ping_host_load
cm_step "vm1: chainmesh.ko, cm0 10.0.0.1/24 up" fatal cm_ping_guest_up vm1 10.0.0.1/24
cm_step "vm2: chainmesh.ko, cm0 10.0.0.2/24 up" fatal cm_ping_guest_up vm2 10.0.0.2/24
cm_step "vm0: nodes 1 and 2 up" fatal cm_ping_nodes_up
cm_step "vm0: chains 1 (1 2), 2 (2 1), 3 (1 3) and their flows" fatal cm_ping_add_flows_to_3
cm_step "vm1, vm2: carrier" fatal cm_ping_carrier
cm_step "vm1: ping 10.0.0.2 before the attack" fatal ping_after
if [ "${CM_CHAOS_ONLY:-}" != burst ]; then
cm_step "vm1: continuous pings to 10.0.0.2 and 10.0.0.3 started" fatal start_pings
cm_step "cm-peer chaos joined as node 3 (seed $SEED)" fatal start_chaos
cm_step "vm1, vm2: shells answer during the $SECS s attack" - watch_victims
cm_step "cm-peer chaos ran to the end, seed printed" - wait_chaos
[ -z "$CHAOS_LOG" ] || tap_diag "$(grep -E 'chaos kind|summary' <<<"$CHAOS_LOG")"
cm_step "vm1: pings kept flowing during the attack" - stop_pings
cm_step "vm1: ping -c 10 10.0.0.2 all answered after it" - ping_after
cm_step "vm1: rejected input counted per reason ($REASONS)" - bad_counted vm1
cm_step "vm2: rejected input counted per reason ($REASONS)" - bad_counted vm2
cm_step "vm1: pool_free back to 512 (no buffer leaked)" - cm_pool_full vm1 20
cm_step "vm2: pool_free back to 512 (no buffer leaked)" - cm_pool_full vm2 20
cm_step "ft_storm: vm2 copies at most one table a jiffy, softirq bounded" - ft_storm
cm_step "ring_stuck: node 3's full ring; vm1's pings to vm2 answered, its frames dropped" - ring_stuck
cm_step "desc_self_free: vm2 (XDP_TX) refuses its own free buffers, accounting exact$XDP_SKIP" - self_free
cm_step "vm1, vm2: pool_free back to 512 after them" - eval 'cm_pool_full vm1 20 && cm_pool_full vm2 20'
cm_step "vm0: host node counted the rejected input (node 0 bad)" - host_bad
fi
cm_step "verdict: vm2 forged broken once; vm1 -> vm2 answered within $VERDICT_SECS s" - verdict_forged
cm_step "state_flip: node 3 flips every 100 ms; tables at most twice a second, logs bounded" - state_flip
cm_step "burst: bad_limit 32 everywhere; chains 8 (1 0 2), 9 (2 0 1) through vm0" fatal burst_setup
cm_step "burst: vm1 -> vm0 -> vm2 ping and TCP before it" fatal through_chain
cm_step "burst: node 3 writes garbage everywhere for $BURST_SECS s (seed $SEED)" - burst
cm_step "burst: ping through the chain within $RECOVER_SECS s of its end" - recovered
cm_step "burst: ping and TCP through the chain after it" - through_chain
cm_step "burst: vm0, vm1, vm2 pool_free back to 512" - burst_pools
cm_step "burst: kernel log lines rate limited (at most $LOG_PER_S a second)" - burst_logs
cm_step "vm0: nodes 1 and 2 still up" - host_view
cm_step "vm0: node table and counters" - vm_exec vm0 "chainmesh node show"
cm_step "consoles: no soft lockup, RCU stall, hung task" - consoles_quiet
cm_step "all: rmmod chainmesh, chainmesh_host" - rmmod_victims
cm_step "consoles: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
tap_diag "chaos seed $SEED"
tap_exit_status
