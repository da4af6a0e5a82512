#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Two flows on two chains, hop by hop, and a flow moved to the other chain
# under traffic (FLOW_SET) without losing a packet of the other flow.
#
#                 +-----------------------------------------+
#                 | VM0  node 0  chainmesh_host.ko, CLI     |
#                 +-------------------+---------------------+
#   ================= one shared region ===========================
#        |                        |                         |
#   +----+----------+   +---------+------------+   +--------+------+
#   | VM1 node 1    |   | VM2 node 2           |   | VM3 node 3    |
#   | cm0 10.0.0.1  |   | cm0 10.0.0.2         |   | cm0 10.0.0.3  |
#   | cmudp send    |   | ip_forward=1         |   | cmudp recv    |
#   +---------------+   +----------------------+   +---------------+
#
#   chain 1 = hops 1 2 3   flow 1 (A): src 10.0.0.1 dst 10.0.0.3, prio 20
#   chain 2 = hops 1 3     flow 2 (B): udp dport 7002,            prio 10
#
# UDP to port 7001 is flow A only: VM1 -> VM2 (forwards it through its
# stack, the chain context in skb->mark) -> VM3. UDP to port 7002 matches
# both flows; B wins on priority: VM1 -> VM3. Checked by VM3's receive
# counts and by every node's per-flow counters (`chainmesh -j flow show`).
# Then, while VM1 sends both flows, `chainmesh flow set` moves flow A to
# chain 2: flow B loses nothing, and after the move flow A no longer
# passes VM2.
#
# A full table of 100 000 flows: the host runs with nodes=4 and
# max_flows=MAXF (100 000) in a 64 MiB region, about as many as fit. One
# `chainmesh -batch` file fills every other flow id: MAXF - 3 flows that
# match none of the traffic (UDP 10.0.0.1 -> 10.64.x.y, prio 1, chain 1)
# and flow C (the top id, MAXF - 1: UDP 10.0.0.1 -> 10.0.0.3 port 7003,
# prio 2, chain 1), last of them in the table of nodes 1, 2 and 3:
# datagrams to 7003 go 1 -> 2 -> 3, counted at flow C by the three (the
# last per-flow counter of each). Then, while VM1 sends flow C, VM0
# rewrites the full table CHURN times (a batch deleting and re-adding a
# flow that matches nothing: two updates of every node's table each):
# flow C loses nothing, and nodes 1 to 3 applied the changes from their
# flow logs (debugfs chainmesh/cm0/ftable: increments applied, no
# checkpoint taken), not by copying the whole table again. A batch of
# deletions takes them away again, and port 7003 falls back to flow A.
# Before that, for RATE_SECONDS (30) VM0 deletes and re-adds RATE_IDS (50)
# flows of the full table as fast as the CLI goes, one request of each a
# round, alternately on chain 1 and chain 2 (node 2 gets adds and deletes
# too), while VM1 sends flow C, present all along: every datagram
# arrives, and at the end each node's table (debugfs chainmesh/cm0/flows)
# is what the host's logical table gives it.
#
# Replica groups (Documentation/datapath.rst, "Replica groups"): VM1 and
# VM2 become two replicas of a stateful firewall (nftables, conntrack,
# policy drop) between node 0 (cmh-lab 10.0.0.100) and VM3:
#
#   chain 10 = hops 0 {1 2} 3 policy failover   flow 10 10.0.0.100 -> 10.0.0.3
#   chain 11 = hops 3 {2 1} 0 policy failover   flow 11 10.0.0.3 -> 10.0.0.100
#
# VM0 keeps GTCP TCP and GUDP UDP connections to VM3 (cmflows) echoing
# every 500 ms for GSECS s. Each replica's conntrack holds 30-70 % of
# them, each connection in one replica only, none unreplied (its replies,
# chosen at node 3 from chain 11's group, took the same replica). Then
# VM1's QEMU is killed: the host calls node 1 down within DOWN_MAX s,
# VM1's connections go on through VM2 (no reset, no longer silence than
# the detection bound allows), and VM2's own never pause.
# Prints TAP.

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=selftests/vm/lib/datapath.sh
. "$(dirname "$0")/lib/datapath.sh"

COUNT=${CM_CHAINS_COUNT:-40}
MAXF=${CM_CHAINS_MAX_FLOWS:-100000}
BULK=$((MAXF - 3))	# every id below MAXF - 1 but flows 1 and 2
# shellcheck disable=SC2034 # for lab_start in lib.sh
CM_LAB_REGION=${CM_CHAINS_REGION:-64M}
FLOW_C=$((MAXF - 1))
PORT_C=7003
# traffic during the move: ROUNDS rounds of BATCH datagrams per flow
ROUNDS=${CM_CHAINS_ROUNDS:-30}
BATCH=5
CHURN=${CM_CHAINS_CHURN:-15}	# batches rewriting the full table
RATE_SECONDS=${CM_CHAINS_RATE_SECONDS:-30}	# flow changes at a high rate
RATE_IDS=${CM_CHAINS_RATE_IDS:-50}
GPORT=9000
GTCP=${CM_CHAINS_GROUP_TCP:-100}
GUDP=${CM_CHAINS_GROUP_UDP:-100}
GSECS=${CM_CHAINS_GROUP_SECS:-45}
DOWN_MAX=${CM_DOWN_MAX_S:-5}
# conntrack state expressions in the replicas' firewalls
CMLAB_KMODS="$CMLAB_KMODS nft_ct"
PORT_A=7001
PORT_B=7002
MATCH_A="src 10.0.0.1/32 dst 10.0.0.3/32"
MATCH_B="proto udp dport $PORT_B"

flows()
{
	vm_exec vm0 "chainmesh chain add 1 hops 1 2 3 &&
		     chainmesh chain add 2 hops 1 3 &&
		     chainmesh flow add 1 chain 1 prio 20 $MATCH_A &&
		     chainmesh flow add 2 chain 2 prio 10 $MATCH_B &&
		     chainmesh chain show && chainmesh flow show"
}

# FLOWS_JSON: `chainmesh -j flow show` of VM0.
flows_json()
{
	vm_exec vm0 "chainmesh -j flow show" && FLOWS_JSON=$CM_OUT
}

# fpk FLOW NODE: packets NODE counted for FLOW in $FLOWS_JSON (0: none).
fpk()
{
	python3 -c '
import json, sys
fl, node = int(sys.argv[1]), int(sys.argv[2])
for f in json.loads(sys.stdin.read()):
    if f["id"] == fl:
        print(sum(s["packets"] for s in f["stats"] if s["node"] == node))
        break
else:
    print(-1)' "$1" "$2" <<<"$FLOWS_JSON"
}

# udp_batch PORT N: VM3 counts what VM1's N datagrams to PORT delivered.
udp_batch()
{
	dp_udp_batch "$1" "$2" 1500 20 30
}

A0=
B0=
baseline_a()
{
	local got

	got=$(udp_batch $PORT_A "$COUNT") || return 1
	CM_OUT="flow A: vm3 received $got/$COUNT"
	[ "$got" = "$COUNT" ]
}

baseline_b()
{
	local got

	got=$(udp_batch $PORT_B "$COUNT") || return 1
	CM_OUT="flow B: vm3 received $got/$COUNT"
	[ "$got" = "$COUNT" ]
}

# Per-node counters: flow A at nodes 1, 2 (rx and tx: it forwards) and 3;
# flow B at nodes 1 and 3, never 2.
hop_counters_a()
{
	local n1 n2 n3

	flows_json || return 1
	n1=$(fpk 1 1) n2=$(fpk 1 2) n3=$(fpk 1 3)
	A0="$n1 $n2 $n3"
	CM_OUT="flow A packets: node 1 $n1, node 2 $n2, node 3 $n3"
	ge "$n1" "$COUNT" && ge "$n2" "$COUNT" && ge "$n3" "$COUNT"
}

hop_counters_b()
{
	local n1 n2 n3

	n1=$(fpk 2 1) n2=$(fpk 2 2) n3=$(fpk 2 3)
	B0="$n1 $n2 $n3"
	CM_OUT="flow B packets: node 1 $n1, node 2 $n2, node 3 $n3"
	ge "$n1" "$COUNT" && ge "$n3" "$COUNT" && [ "$n2" -le 0 ]
}

# Both flows flowing from VM1 (background), flow A moved to chain 2 in
# the middle; VM3 counts each port. The sender runs on until it has sent
# ROUNDS / 3 rounds after VM1 learnt that `flow set` returned (the file
# /tmp/mv.moved, touched after it): however slow the lab, the move falls
# in the middle, and those last rounds show whether node 1 classified
# with the new table at once (every datagram of them 1 -> 3).
SENT_A=
SENT_B=
GOT_A=
GOT_B=
RUN_ROUNDS=
RUN_BEFORE=
RUN_AFTER=
move_under_traffic()
{
	local out

	dp_cmudp_recv vm3 $PORT_A 4000 300 /tmp/mv.$PORT_A || return 1
	dp_cmudp_recv vm3 $PORT_B 4000 300 /tmp/mv.$PORT_B || return 1
	vm_exec vm1 "rm -f /tmp/send.log /tmp/mv.moved; (i=0; after=-1;
			while [ \$i -lt $((ROUNDS * 10)) ]; do
			[ \$after -lt 0 ] && [ -e /tmp/mv.moved ] && after=\$i &&
				echo moved at \$i;
			[ \$after -ge 0 ] && [ \$((i - after)) -ge $((ROUNDS / 3)) ] && break;
			echo B \$(cmudp send 10.0.0.3 $PORT_B $BATCH 2>&1);
			echo A \$(cmudp send 10.0.0.3 $PORT_A $BATCH 2>&1);
			usleep 30000; i=\$((i + 1)); done > /tmp/send.log 2>&1;
			echo done \$i >> /tmp/send.log) &" || return 1
	# a third of the way in
	vm_wait_for vm1 "[ \$(grep -c '^A sent' /tmp/send.log) -ge $((ROUNDS / 3)) ]" 60 ||
		return 1
	vm_exec vm1 "grep -c '^A ' /tmp/send.log" || return 1
	RUN_BEFORE=$CM_OUT
	vm_exec vm0 "chainmesh flow set 1 chain 2 prio 20 $MATCH_A" || return 1
	out=$CM_OUT
	vm_exec vm1 "touch /tmp/mv.moved" || return 1
	vm_wait_for vm1 "grep -q '^done' /tmp/send.log" 300 || return 1
	vm_exec vm1 "cat /tmp/send.log" || return 1
	SENT_A=$(awk '$1 == "A" && $2 == "sent" { s += $3 } END { print s + 0 }' <<<"$CM_OUT")
	SENT_B=$(awk '$1 == "B" && $2 == "sent" { s += $3 } END { print s + 0 }' <<<"$CM_OUT")
	RUN_ROUNDS=$(awk '$1 == "done" { print $2 }' <<<"$CM_OUT")
	RUN_AFTER=$(awk '$1 == "moved" { print $3 }' <<<"$CM_OUT")
	GOT_A=$(dp_cmudp_result vm3 /tmp/mv.$PORT_A 30) || return 1
	GOT_B=$(dp_cmudp_result vm3 /tmp/mv.$PORT_B 30) || return 1
	CM_OUT="flow set: ${out:-ok}; $RUN_ROUNDS rounds, flow set issued after round $RUN_BEFORE, seen by VM1 at round $RUN_AFTER; sent A $SENT_A B $SENT_B, received A $GOT_A B $GOT_B"
	tap_diag "$CM_OUT"
	[ -n "$RUN_ROUNDS" ] && [ -n "$RUN_AFTER" ]
}

no_loss_b()
{
	CM_OUT="flow B: sent $SENT_B, vm3 received $GOT_B"
	[ "$SENT_B" = $((RUN_ROUNDS * BATCH)) ] && [ "$GOT_B" = "$SENT_B" ]
}

no_loss_a()
{
	CM_OUT="flow A: sent $SENT_A, vm3 received $GOT_A"
	[ "$SENT_A" = $((RUN_ROUNDS * BATCH)) ] && [ "$GOT_A" = "$SENT_A" ]
}

# The move happened under traffic: node 2 forwarded flow A's datagrams
# of the rounds before `flow set` was issued, and none of the rounds
# VM1 sent after it returned (node 2 counts a datagram it forwards once,
# where it entered: cm_dp_route()).
moved_shown()
{
	local n2 via2

	flows_json || return 1
	n2=$(fpk 1 2)
	via2=$((n2 - $(cut -d' ' -f2 <<<"$A0")))
	CM_OUT="flow A during the move: $via2 of $SENT_A via node 2; at least $((RUN_BEFORE * BATCH)) (before flow set), at most $((RUN_AFTER * BATCH)) (before VM1 saw it return)"
	ge "$via2" $((RUN_BEFORE * BATCH)) && [ "$via2" -le $((RUN_AFTER * BATCH)) ] ||
		return 1
	python3 -c '
import json, sys
f = {x["id"]: x for x in json.loads(sys.stdin.read())}
assert f[1]["chain"] == 2 and f[1]["prio"] == 20, f[1]
assert f[1]["src"] == "10.0.0.1/32" and f[1]["dst"] == "10.0.0.3/32", f[1]
assert f[2]["chain"] == 2, f[2]' <<<"$FLOWS_JSON"
}

# After the move flow A goes 1 -> 3: node 2's count for it stands still.
after_move()
{
	local got n2a n2b n3a n3b

	flows_json || return 1
	n2a=$(fpk 1 2) n3a=$(fpk 1 3)
	got=$(udp_batch $PORT_A "$COUNT") || return 1
	flows_json || return 1
	n2b=$(fpk 1 2) n3b=$(fpk 1 3)
	CM_OUT="flow A after the move: vm3 received $got/$COUNT; node 2 $n2a -> $n2b, node 3 $n3a -> $n3b"
	[ "$got" = "$COUNT" ] && [ "$n2a" = "$n2b" ] && ge "$n3b" $((n3a + COUNT))
}

# BULK flows and flow C from one batch file, generated in VM0.
bulk_load()
{
	vm_exec vm0 "awk 'BEGIN {
		for (i = 0; i < $FLOW_C; i++)
			if (i != 1 && i != 2)
				printf \"flow add %d chain 1 prio 1 proto udp src 10.0.0.1/32 dst 10.%d.%d.%d/32 dport $PORT_C\\n\",
					i, 64 + int(i / 65536), int(i / 256) % 256, i % 256
		printf \"flow add $FLOW_C chain 1 prio 2 proto udp src 10.0.0.1/32 dst 10.0.0.3/32 dport $PORT_C\\n\"
	}' > /tmp/bulk && wc -l < /tmp/bulk &&
	t0=\$(date +%s) && chainmesh -batch /tmp/bulk && t1=\$(date +%s) &&
	echo loaded in \$((t1 - t0)) s &&
	chainmesh flow show > /tmp/fs && grep -c '^flow ' /tmp/fs" 900 || return 1
	tap_diag "$CM_OUT"
	[ "$(tail -n 1 <<<"$CM_OUT")" = "$MAXF" ]
}

# fc_packets NODE: packets NODE counted for flow C in VM0's /tmp/fs.
FS_C=
fc_packets()
{
	awk -v n="$1" '$1 == "node" && $2 == n ":" { print $3 }' <<<"$FS_C"
}

bulk_traffic()
{
	local got

	got=$(udp_batch $PORT_C "$COUNT") || return 1
	CM_OUT="flow C: vm3 received $got/$COUNT"
	[ "$got" = "$COUNT" ]
}

bulk_counters()
{
	local n1 n2 n3

	vm_exec vm0 "chainmesh flow show > /tmp/fs && grep -A4 '^flow $FLOW_C ' /tmp/fs" 300 ||
		return 1
	FS_C=$CM_OUT
	n1=$(fc_packets 1) n2=$(fc_packets 2) n3=$(fc_packets 3)
	CM_OUT="flow C packets: node 1 $n1, node 2 $n2, node 3 $n3"
	ge "$n1" "$COUNT" && ge "$n2" "$COUNT" && ge "$n3" "$COUNT"
}

# flog_counts VM: "APPLIED/CHECKPOINTS": increments VM applied from its
# flow log and checkpoints it took so far (debugfs chainmesh/cm0/ftable).
flog_counts()
{
	vm_exec "$1" "cat /sys/kernel/debug/chainmesh/cm0/ftable" || return 1
	awk '{ for (i = 1; i < NF; i++) {
		if ($i == "applied") a = $(i + 1)
		if ($i == "checkpoints") c = $(i + 1) } }
	     END { if (a == "" || c == "") exit 1; print a "/" c }' <<<"$CM_OUT"
}

# Flow C flows from VM1 while VM0 applies CHURN batches to the full table.
bulk_churn()
{
	local vm w0 w1 sent got out=

	for vm in vm1 vm2 vm3; do
		w0="$w0 $(flog_counts $vm)" || return 1
	done
	dp_cmudp_recv vm3 $PORT_C 4000 120 /tmp/churn.$PORT_C || return 1
	vm_exec vm0 "printf 'flow del 10\nflow add 10 chain 1 prio 1 proto udp src 10.0.0.1/32 dst 10.64.0.10/32 dport $PORT_C\n' > /tmp/churn &&
		rm -f /tmp/churn.log && (i=0; while [ \$i -lt $CHURN ]; do
			chainmesh -batch /tmp/churn || echo fail; i=\$((i + 1));
			done > /tmp/churn.log 2>&1; echo done >> /tmp/churn.log) &" ||
		return 1
	vm_exec vm1 "rm -f /tmp/send.log; (i=0; while [ \$i -lt $ROUNDS ]; do
			echo C \$(cmudp send 10.0.0.3 $PORT_C $BATCH 2>&1);
			usleep 30000; i=\$((i + 1)); done > /tmp/send.log 2>&1;
			echo done >> /tmp/send.log) &" || return 1
	vm_wait_for vm1 "grep -q '^done' /tmp/send.log" 120 || return 1
	vm_wait_for vm0 "grep -q '^done' /tmp/churn.log" 120 || return 1
	vm_exec vm0 "cat /tmp/churn.log" || return 1
	grep -q fail <<<"$CM_OUT" && out="batch failed"
	vm_exec vm1 "cat /tmp/send.log" || return 1
	sent=$(awk '$1 == "C" && $2 == "sent" { s += $3 } END { print s + 0 }' <<<"$CM_OUT")
	got=$(dp_cmudp_result vm3 /tmp/churn.$PORT_C 30) || return 1
	for vm in vm1 vm2 vm3; do
		w1="$w1 $(flog_counts $vm)" || return 1
	done
	CM_OUT="$CHURN batches${out:+ ($out)}: flow C sent $sent, vm3 received $got; log applied/checkpoints nodes 1-3:$w0 ->$w1"
	tap_diag "$CM_OUT"
	# each batch: two increments in every node's log, no checkpoint
	[ -z "$out" ] && [ "$sent" = $((ROUNDS * BATCH)) ] && [ "$got" = "$sent" ] &&
		python3 -c '
import sys
n = int(sys.argv[3])
a = [[int(v) for v in x.split("/")] for x in sys.argv[1].split()]
b = [[int(v) for v in x.split("/")] for x in sys.argv[2].split()]
assert len(a) == len(b) == 3, (a, b)
assert all(y[0] - x[0] >= 2 * n and y[1] == x[1] for x, y in zip(a, b)), (a, b)' \
			"$w0" "$w1" "$CHURN"
}

# Flow C flows from VM1 for RATE_SECONDS while VM0 deletes and adds
# RATE_IDS flows of the full table again and again, one request of each
# a round, alternately on chain 1 (nodes 1 2 3) and chain 2 (1 3).
rate_churn()
{
	local sent got rounds lag

	dp_cmudp_recv vm3 $PORT_C 10000 $((RATE_SECONDS + 120)) /tmp/rate.$PORT_C ||
		return 1
	vm_exec vm0 "awk 'BEGIN {
		for (c = 1; c <= 2; c++) {
			f = \"/tmp/rate\" c
			for (i = 10; i < 10 + $RATE_IDS; i++)
				print \"flow del\", i > f
			for (i = 10; i < 10 + $RATE_IDS; i++)
				printf \"flow add %d chain %d prio %d proto udp src 10.0.0.1/32 dst 10.64.%d.%d/32 dport $PORT_C\\n\",
					i, c, c, int(i / 256), i % 256 > f
		}
	}' && rm -f /tmp/rate.log && (end=\$((\$(date +%s) + $RATE_SECONDS)); r=0;
		while [ \$(date +%s) -lt \$end ]; do
			chainmesh -batch /tmp/rate\$((r % 2 + 1)) || echo fail; r=\$((r + 1));
		done > /tmp/rate.log 2>&1; echo done \$r >> /tmp/rate.log) &" ||
		return 1
	# node 1's lag (increments published, not yet in the table in
	# use), sampled every 0.1 s while it sends: a figure, not a check
	vm_exec vm1 "rm -f /tmp/send.log /tmp/lag; (end=\$((\$(date +%s) + $RATE_SECONDS));
		(while [ ! -e /tmp/send.log ] || ! grep -q '^done' /tmp/send.log; do
			awk '\$1 == \"log_pos\" { p = \$2 } \$1 == \"published\" { h = \$5 }
			     END { print h - p }' /sys/kernel/debug/chainmesh/cm0/ftable;
			usleep 100000; done > /tmp/lag 2>&1 &);
		while [ \$(date +%s) -lt \$end ]; do
			echo C \$(cmudp send 10.0.0.3 $PORT_C $BATCH 2>&1);
			usleep 20000; done > /tmp/send.log 2>&1;
			echo done >> /tmp/send.log) &" || return 1
	vm_wait_for vm1 "grep -q '^done' /tmp/send.log" $((RATE_SECONDS + 120)) || return 1
	vm_wait_for vm0 "grep -q '^done' /tmp/rate.log" $((RATE_SECONDS + 120)) || return 1
	vm_exec vm0 "cat /tmp/rate.log" || return 1
	grep -q fail <<<"$CM_OUT" && { tap_diag "a batch failed: $CM_OUT"; return 1; }
	rounds=$(awk '$1 == "done" { print $2 }' <<<"$CM_OUT")
	vm_exec vm1 "cat /tmp/send.log" || return 1
	sent=$(awk '$1 == "C" && $2 == "sent" { s += $3 } END { print s + 0 }' <<<"$CM_OUT")
	got=$(dp_cmudp_result vm3 /tmp/rate.$PORT_C 60) || return 1
	vm_exec vm1 "sort -n /tmp/lag | awk '{ v[NR] = \$1 }
		END { if (NR) printf \"%d samples: median %d, p99 %d, max %d\", NR,
			v[int((NR + 1) / 2)], v[int(NR * 0.99) > 0 ? int(NR * 0.99) : 1], v[NR] }'" ||
		return 1
	lag=$CM_OUT
	CM_OUT="${RATE_SECONDS} s: $rounds rounds of $RATE_IDS deletes and $RATE_IDS adds ($((rounds * 2 * RATE_IDS)) flow changes); flow C sent $sent, vm3 received $got; node 1's lag in increments: ${lag:-none sampled}"
	tap_diag "$CM_OUT"
	ge "$rounds" 2 && ge "$sent" 1 && [ "$got" = "$sent" ]
}

# Every node's table (debugfs chainmesh/cm0/flows) holds what the host's
# logical table gives it: the flows of the chains it is on. Compared once
# the node holds what the host published (debugfs ftable: its table's seq
# and log_pos are the published seq and log head; the tick applies what
# no packet came for), not while it may legitimately lag.
FT_CAUGHT_UP="awk '\$1 == \"seq\" { s = \$2 } \$1 == \"log_pos\" { p = \$2 }
	\$1 == \"published\" { ps = \$3; h = \$5 }
	END { exit !(s != \"\" && s == ps && p == h) }' /sys/kernel/debug/chainmesh/cm0/ftable"
tables_equal()
{
	local n want have out="" t0=$SECONDS t1

	# `save` lists the flows without their per-node counters; sorted
	# once, each node's share of it (one filter pass) stays sorted
	vm_exec vm0 "rm -f /tmp/lt.1 /tmp/lt.2 /tmp/lt.3 && chainmesh save | awk '\$1 == \"flow\" && \$2 == \"add\" { print \$3, \$5, \$7 }' |
			LC_ALL=C sort | awk '\$2 == 1 || \$2 == 2 { print > \"/tmp/lt.1\"; print > \"/tmp/lt.3\" }
				\$2 == 1 { print > \"/tmp/lt.2\" }' &&
		touch /tmp/lt.1 /tmp/lt.2 /tmp/lt.3 &&
		for n in 1 2 3; do md5sum < /tmp/lt.\$n | cut -d' ' -f1; done" 300 || return 1
	want=($CM_OUT)
	tap_diag "host: the nodes' expected tables hashed in $((SECONDS - t0)) s"
	for n in 1 2 3; do
		t1=$SECONDS
		vm_wait_for vm$n "$FT_CAUGHT_UP" 30 || out="$out $n(behind)"
		tap_diag "node $n: caught up with the host in $((SECONDS - t1)) s"
		vm_exec vm$n "LC_ALL=C sort /sys/kernel/debug/chainmesh/cm0/flows | md5sum | cut -d' ' -f1;
			wc -l < /sys/kernel/debug/chainmesh/cm0/flows;
			cat /sys/kernel/debug/chainmesh/cm0/ftable" 300 || return 1
		tap_diag "node $n: $CM_OUT"
		have=$(head -n 1 <<<"$CM_OUT")
		[ "$have" = "${want[$((n - 1))]}" ] || out="$out $n"
	done
	CM_OUT="nodes whose table differs from the host's:${out:- none}"
	[ -z "$out" ]
}

bulk_delete()
{
	local got

	vm_exec vm0 "awk 'BEGIN {
		for (i = 0; i <= $FLOW_C; i++)
			if (i != 1 && i != 2)
				print \"flow del\", i
	}' > /tmp/unbulk && chainmesh -batch /tmp/unbulk &&
	chainmesh flow show | grep -c '^flow '" 600 || return 1
	[ "$CM_OUT" = 2 ] || return 1
	got=$(udp_batch $PORT_C "$COUNT") || return 1
	CM_OUT="flows left: 2; port $PORT_C by flow A: vm3 received $got/$COUNT"
	[ "$got" = "$COUNT" ]
}

node_health()
{
	local n bad

	vm_exec vm0 "chainmesh node show" || return 1
	for n in 1 2 3; do
		bad=$(cm_node_field $n bad)
		[ "$bad" = 0 ] || return 1
	done
}

show_all()
{
	vm_exec vm0 "chainmesh node show; chainmesh flow show" || return 1
	tap_diag "$CM_OUT"
	dp_stats vm2 && tap_diag "$CM_OUT"
	return 0
}

# ---------------------------------------------------------------- groups

# VM1 and VM2: forwarding through a conntrack firewall that drops what
# it has no state for.
group_fw()
{
	local vm

	for vm in vm1 vm2; do
		dp_ip_forward $vm || return 1
		vm_exec $vm "/usr/sbin/nft add table inet cmfw &&
			/usr/sbin/nft add chain inet cmfw gfw '{ type filter hook forward priority 0; policy drop; }' &&
			/usr/sbin/nft add rule inet cmfw gfw ct state established,related counter accept &&
			/usr/sbin/nft add rule inet cmfw gfw ct state new counter accept" || return 1
	done
}

group_chains()
{
	vm_exec vm0 "ip addr add 10.0.0.100/24 dev cmh-lab && ip link set cmh-lab up &&
		     chainmesh chain add 10 hops 0 {1 2} 3 policy failover &&
		     chainmesh chain add 11 hops 3 {2 1} 0 policy failover &&
		     chainmesh flow add 10 chain 10 prio 5 src 10.0.0.100/32 dst 10.0.0.3/32 &&
		     chainmesh flow add 11 chain 11 prio 5 src 10.0.0.3/32 dst 10.0.0.100/32 &&
		     chainmesh chain show" || return 1
	tap_diag "$CM_OUT"
	grep -q '^chain 10 hops 0 {1 2} 3 policy failover$' <<<"$CM_OUT" &&
		grep -q '^    group hop 1 members 1 2 live 1 2$' <<<"$CM_OUT" &&
		grep -q '^chain 11 hops 3 {2 1} 0 policy failover$' <<<"$CM_OUT"
}

# `chainmesh save` writes a group as `chain add` takes it: a batch of
# that line makes the same chain (as id 12), JSON shows the group.
group_save()
{
	vm_exec vm0 "chainmesh save | grep '^chain add 10 ' | sed 's/^chain add 10 /chain add 12 /' > /tmp/c12 &&
		     cat /tmp/c12 && chainmesh -batch /tmp/c12 &&
		     chainmesh chain show | grep '^chain 12 ' &&
		     chainmesh -j chain show && chainmesh chain del 12" || return 1
	tap_diag "$CM_OUT"
	grep -q '^chain 12 hops 0 {1 2} 3 policy failover$' <<<"$CM_OUT" &&
		python3 -c '
import json, sys
c = {x["id"]: x for x in json.loads(sys.stdin.read().splitlines()[-1])}
assert c[10]["hops"] == [0, 1, 2, 3] and c[10]["policy"] == "failover", c[10]
assert c[10]["groups"] == [{"hop": 1, "members": [1, 2], "live": [1, 2]}], c[10]' <<<"$CM_OUT"
}

group_traffic()
{
	vm_exec vm3 "rm -f /tmp/srv.log; (cmflows serve $GPORT > /tmp/srv.log 2>&1 &);
		     n=0; until grep -q listening /tmp/srv.log 2>/dev/null; do
			[ \$n -ge 50 ] && exit 1; n=\$((n + 1)); usleep 100000
		     done" || return 1
	vm_exec vm0 "rm -f /tmp/flows.log;
		     (cmflows run 10.0.0.3 $GPORT $GTCP $GUDP $GSECS > /tmp/flows.log 2>&1 &)" ||
		return 1
	vm_wait_for vm0 "grep -q '^connected' /tmp/flows.log" 120 || {
		vm_exec vm0 "cat /tmp/flows.log"; return 1; }
	sleep 5
}

# ct_conns VM: "proto sport" of each connection VM0 -> VM3:GPORT in VM's
# conntrack, then a line "unreplied N".
ct_conns()
{
	vm_exec "$1" "cat /proc/net/nf_conntrack" || return 1
	# the tuple VM0 -> VM3:GPORT, whichever direction conntrack saw first
	awk -v port="$GPORT" '{
		hit = 0
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "src") s = kv[2]
			else if (kv[1] == "dst") d = kv[2]
			else if (kv[1] == "sport") sp = kv[2]
			else if (kv[1] == "dport" && s == "10.0.0.100" &&
				 d == "10.0.0.3" && kv[2] == port && !hit) {
				print $3, sp
				hit = 1
			}
		}
		if (hit && /UNREPLIED/) u++
	} END { print "unreplied", u + 0 }' <<<"$CM_OUT"
}

G1=
G2=
group_spread()
{
	local n1 n2 both u1 u2 all=$((GTCP + GUDP))

	G1=$(ct_conns vm1) && G2=$(ct_conns vm2) || return 1
	u1=$(awk '$1 == "unreplied" { print $2 }' <<<"$G1")
	u2=$(awk '$1 == "unreplied" { print $2 }' <<<"$G2")
	G1=$(grep -v unreplied <<<"$G1" | sort -u)
	G2=$(grep -v unreplied <<<"$G2" | sort -u)
	n1=$(grep -c . <<<"$G1") n2=$(grep -c . <<<"$G2")
	both=$(comm -12 <(echo "$G1") <(echo "$G2") | grep -c . || true)
	CM_OUT="of $all connections: vm1 $n1, vm2 $n2, in both $both; unreplied vm1 $u1 vm2 $u2"
	tap_diag "$CM_OUT"
	[ $((n1 + n2)) = "$all" ] && [ "$both" = 0 ] && [ "$u1" = 0 ] && [ "$u2" = 0 ] &&
		[ $((n1 * 10)) -ge $((all * 3)) ] && [ $((n1 * 10)) -le $((all * 7)) ]
}

# flow show: flows 10 and 11 counted at both replicas.
group_counters()
{
	flows_json || return 1
	CM_OUT="flow 10 packets: node 1 $(fpk 10 1), node 2 $(fpk 10 2); flow 11: node 1 $(fpk 11 1), node 2 $(fpk 11 2)"
	tap_diag "$CM_OUT"
	[ "$(fpk 10 1)" -gt 0 ] && [ "$(fpk 10 2)" -gt 0 ] &&
		[ "$(fpk 11 1)" -gt 0 ] && [ "$(fpk 11 2)" -gt 0 ]
}

now()
{
	date +%s.%N
}

T_DOWN=
group_kill()
{
	local t0

	t0=$(now)
	"$CMLAB" kill vm1 >/dev/null 2>&1 || return 1
	vm_wait_for vm0 "chainmesh node show | grep -q '^node 1 state down'" 20 ||
		return 1
	T_DOWN=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
	vm_exec vm0 "chainmesh chain show" || return 1
	tap_diag "host marked node 1 down $T_DOWN s after the kill (limit $DOWN_MAX s)"
	tap_diag "$CM_OUT"
	grep -q '^    group hop 1 members 1 2 live 2$' <<<"$CM_OUT" &&
		awk -v a="$T_DOWN" -v b="$DOWN_MAX" 'BEGIN { exit !(a <= b) }'
}

# After the run: every connection answered to the end, none reset; VM1's
# were silent no longer than the detection bound allows (UDP: DOWN_MAX +
# 2 s; TCP: its retransmission backoff on top), VM2's never over 2.5 s.
GRES=
group_result()
{
	local rc=0

	vm_wait_for vm0 "grep -q '^total' /tmp/flows.log" $((GSECS + 60)) || return 1
	vm_exec vm0 "cat /tmp/flows.log" || return 1
	GRES=$CM_OUT
	CM_OUT=$(python3 -c '
import sys
res, g1, g2, dmax = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
on1 = set(tuple(l.split()) for l in g1.splitlines() if l)
on2 = set(tuple(l.split()) for l in g2.splitlines() if l)
bad, gap1, gap2, n = [], 0, 0, 0
for l in res.splitlines():
    w = l.split()
    if len(w) != 8 or w[0] not in ("tcp", "udp"):
        continue
    n += 1
    key, errs, gap = (w[0], w[1]), int(w[5]), int(w[7])
    if errs:
        bad.append("%s %s: %d errors" % (key + (errs,)))
    if key in on1:
        lim = (dmax + 2) * 1000 if w[0] == "udp" else (2 * dmax + 4) * 1000
        gap1 = max(gap1, gap)
    elif key in on2:
        lim = 2500
        gap2 = max(gap2, gap)
    else:
        bad.append("%s %s in no replica" % key)
        continue
    if gap > lim:
        bad.append("%s %s silent %d ms (limit %d)" % (key + (gap, lim)))
print("%d connections; longest silence: moved (vm1) %d ms, stayed (vm2) %d ms" % (n, gap1, gap2))
for b in bad[:10]:
    print(b)
sys.exit(1 if bad or n != len(on1) + len(on2) else 0)' "$GRES" "$G1" "$G2" "$DOWN_MAX") || rc=$?
	tap_diag "$CM_OUT"
	return $rc
}

# VM2 now holds every connection, VM1's too (each replied).
group_survivor()
{
	local g

	g=$(ct_conns vm2) || return 1
	CM_OUT="vm2 conntrack: $(grep -vc unreplied <<<"$g") connections, $(grep unreplied <<<"$g")"
	[ "$(grep -v unreplied <<<"$g" | sort -u | grep -c .)" = $((GTCP + GUDP)) ]
}

dp_require nft
tap_plan 37
dp_setup_steps nodes=4 max_flows=$MAXF
cm_step "vm2: ip_forward=1, no redirects" fatal dp_ip_forward vm2
cm_step "vm0: chains 1 (1 2 3), 2 (1 3); flows A (prio 20), B (prio 10)" fatal flows
cm_step "flow A: $COUNT datagrams 1 -> 2 -> 3 all arrive" - baseline_a
cm_step "flow B: $COUNT datagrams 1 -> 3 all arrive (B beats A on prio)" - baseline_b
cm_step "flow A counted at nodes 1, 2, 3" - hop_counters_a
cm_step "flow B counted at nodes 1, 3, not at 2" - hop_counters_b
cm_step "under traffic: flow set moves flow A to chain 2" - move_under_traffic
cm_step "flow B lost nothing during the move" - no_loss_b
cm_step "flow A lost nothing during the move" - no_loss_a
cm_step "flow show: flow 1 on chain 2, same match; moved mid-run" - moved_shown
cm_step "flow A after the move: 1 -> 3, node 2 no longer counts it" - after_move
cm_step "vm0: $BULK flows and flow C ($FLOW_C) from one chainmesh -batch: $MAXF, full" - bulk_load
cm_step "flow C: $COUNT datagrams 1 -> 2 -> 3 all arrive, past $BULK flows" - bulk_traffic
cm_step "flow C counted at nodes 1, 2, 3" - bulk_counters
cm_step "flow C loses nothing while $CHURN batches change the full table, applied from the flow logs" - bulk_churn
cm_step "flow C loses nothing while flows are deleted and added for $RATE_SECONDS s" - rate_churn
cm_step "nodes 1 2 3: their tables equal the host's" - tables_equal
cm_step "batch of deletions: 2 flows left, port $PORT_C back to flow A" - bulk_delete
cm_step "nodes 1 2 3: no bad descriptors" - node_health
cm_step "node and flow show" - show_all
cm_step "vm1, vm2: forward through an nftables conntrack firewall" fatal group_fw
cm_step "vm0: chains 10 (0 {1 2} 3), 11 (3 {2 1} 0), policy failover" fatal group_chains
cm_step "save: a group reloads by -batch; JSON shows it" - group_save
cm_step "vm0: $GTCP TCP and $GUDP UDP connections to vm3 through the group" fatal group_traffic
cm_step "conntrack: 30-70 % per replica, each connection on one, both ways" - group_spread
cm_step "flow show: flows 10, 11 counted at both replicas" - group_counters
cm_step "vm1 killed: node 1 down within $DOWN_MAX s, out of the group" - group_kill
cm_step "no reset; vm1's connections go on via vm2, vm2's never pause" - group_result
cm_step "vm2's conntrack holds every connection now" - group_survivor
cm_step "all: rmmod chainmesh (vm2, vm3; vm1 is dead), chainmesh_host" - dp_unload vm2 vm3
cm_step "consoles: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
tap_exit_status
