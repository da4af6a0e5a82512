#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Queues: a mesh of 4 queues between guests of 2 vCPUs. Each node has a
# lane (rings, pool slice, NAPI context, tx queue, doorbell vector) per
# queue; a frame's lane is a symmetric hash of its flow. UDP to 64 ports
# from VM1 to VM2 must use every lane at both ends and fire every
# doorbell vector of VM2; `ethtool -L cm0 combined N` changes the tx
# queues in use while traffic runs, and traffic goes on.
#
#                 +------------------------------------------+
#                 | VM0  node 0  chainmesh_host.ko queues=4  |
#                 +--------------------+---------------------+
#   ================= one shared region: 4 rings per pair =========
#                  |                                     |
#   +--------------+-------------+       +--------------+-------------+
#   | VM1 node 1, 2 vCPUs        |  -->  | VM2 node 2, 2 vCPUs        |
#   | cm0 10.0.0.1, 4 channels   |  <--  | cm0 10.0.0.2, 4 channels   |
#   | MSI-X cm0-q0..q3           |       | MSI-X cm0-q0..q3           |
#   +----------------------------+       +----------------------------+
#
#   chain 1 = hops 1 2: flow 1  10.0.0.1 -> 10.0.0.2
#   chain 2 = hops 2 1: flow 2  10.0.0.2 -> 10.0.0.1
#
# Asserts: `mesh show` says queues 4, `ethtool -l` 4 channels; a
# doorbell interrupt per queue in each guest (/proc/interrupts cm0-qN),
# each with the affinity hint of its own CPU (qN on CPU N mod 2); every
# lane of VM1 sent and every lane of VM2 received (ethtool -S
# qN_tx_packets, qN_rx_packets) and every vector of VM2 fired; ethtool -L
# to 1, 2 and back to 4 under traffic, VM2 receiving after each, ping
# answered; with 2 in use, new UDP flows leave VM1 on tx queues 0 and 1
# and on no other (tc -s class, mq :1..:4); every pool slice full again;
# a clean unload and consoles. (One queue: every other test.)
# Prints TAP.

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=selftests/vm/lib/datapath.sh
. "$(dirname "$0")/lib/datapath.sh"

# shellcheck disable=SC2119 # no programs beyond progs/' tools
dp_require

QUEUES=4
PORTS=64		# flows: all 4 lanes but with probability ~4e-8
TRAFFIC_S=20		# background traffic around each ethtool -L (at most)
# shellcheck disable=SC2034 # for lab_start in lib.sh
CM_LAB_SMP=2
# shellcheck disable=SC2034 # for lab_start in lib.sh
CM_LAB_VECTORS=$QUEUES

# queues_flows VM DST BASE: one datagram burst to each of PORTS ports.
queues_flows()
{
	vm_exec "$1" "for p in \$(seq $3 $(($3 + PORTS - 1))); do
			cmudp send $2 \$p 10 >/dev/null || exit 1
		      done" 300
}

# queues_stat_each VM PREFIX SUFFIX: every lane's counter is nonzero.
queues_stat_each()
{
	local vm=$1 q v out=""

	vm_exec "$vm" "ethtool -S cm0" || return 1
	for q in $(seq 0 $((QUEUES - 1))); do
		v=$(awk -v k="q${q}_$2:" '$1 == k { print $2; exit }' <<<"$CM_OUT")
		out="$out q${q}_$2 ${v:-none}"
		if [ -z "$v" ] || [ "$v" -eq 0 ]; then
			CM_OUT=$out
			return 1
		fi
	done
	CM_OUT=$out
}

queues_mesh_show()
{
	vm_exec vm0 "chainmesh mesh show lab" &&
		grep -q " queues $QUEUES " <<<"$CM_OUT"
}

# queues_channels VM N: ethtool -l says max QUEUES, current N.
queues_channels()
{
	vm_exec "$1" "ethtool -l cm0" || return 1
	[ "$(awk '/^Combined:/ { print $2 }' <<<"$CM_OUT" | head -1)" = "$QUEUES" ] &&
		[ "$(awk '/^Combined:/ { print $2 }' <<<"$CM_OUT" | tail -1)" = "$2" ]
}

queues_rx_sum()
{
	local q names=()

	for q in $(seq 0 $((QUEUES - 1))); do
		names+=("q${q}_rx_packets")
	done
	dp_sum_stats vm2 "${names[@]}"
}

# queues_rx_grew: VM2's lanes received more than QT_BEFORE; the sum in
# QT_AFTER.
QT_BEFORE=
QT_AFTER=
queues_rx_grew()
{
	QT_AFTER=$(queues_rx_sum) && [ "$QT_AFTER" -gt "$QT_BEFORE" ]
}

# queues_set_under_traffic N: VM1 and VM2 use N channels while VM1 sends;
# VM2 keeps receiving after the change, and a ping is answered. Each
# call starts a background sender (QT_LOOPS of them so far); each
# writes a line to /tmp/qtraffic.done when it ends, after TRAFFIC_S s
# or once /tmp/qtraffic.stop exists (queues_pools_full).
QT_LOOPS=0
queues_set_under_traffic()
{
	local n=$1 before after got

	[ "$QT_LOOPS" -gt 0 ] ||
		vm_exec vm1 "rm -f /tmp/qtraffic.stop /tmp/qtraffic.done" || return 1
	# for TRAFFIC_S seconds, whatever the guests' speed: still running
	# when VM2's counters are read after the change
	vm_exec vm1 "({ end=\$((\$(date +%s) + $TRAFFIC_S)); i=0
		      while [ \$(date +%s) -lt \$end ] && ! [ -e /tmp/qtraffic.stop ]; do
			cmudp send 10.0.0.2 \$((7000 + i % $PORTS)) 20
			i=\$((i + 1))
		      done > /dev/null 2>&1; echo end >> /tmp/qtraffic.done
		      } </dev/null >/dev/null 2>&1 &)" || return 1
	QT_LOOPS=$((QT_LOOPS + 1))
	vm_exec vm1 "ethtool -L cm0 combined $n" &&
	vm_exec vm2 "ethtool -L cm0 combined $n" || return 1
	queues_channels vm1 "$n" && queues_channels vm2 "$n" || return 1
	before=$(queues_rx_sum) || return 1
	# VM2 receives again within 10 s of the change
	QT_BEFORE=$before QT_AFTER=$before
	wait_for queues_rx_grew 10 || true
	after=$QT_AFTER
	vm_exec vm1 "ping -c 5 -i 0.2 -W 2 10.0.0.2" 40
	got=$(ping_received "$CM_OUT")
	CM_OUT="combined $n: vm2 received $before, then $after; ping: ${got:-0} of 5"
	# the background flood may crowd out one echo, not the path
	[ "$after" -gt "$before" ] && [ "${got:-0}" -ge 4 ]
}

# queues_irqs VM: CM_OUT becomes "q0 N0 q1 N1 ...", each vector's
# interrupts summed over the CPUs; fails without a line per queue.
queues_irqs()
{
	local out

	vm_exec "$1" "cat /proc/interrupts" || return 1
	out=$(awk -v n="$QUEUES" '
		$NF ~ /^cm0-q[0-9]+$/ {
			s = 0
			for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++)
				s += $i
			q = substr($NF, 6); seen[q] = 1; c[q] = s
		}
		END {
			for (q = 0; q < n; q++) {
				if (!(q in seen)) { print "q" q " missing"; exit 1 }
				printf "q%d %d ", q, c[q]
			}
		}' <<<"$CM_OUT")
	local rc=$?
	CM_OUT=$out
	return $rc
}

# queues_vectors VM: a vector per queue, qN's affinity hint CPU N mod 2.
queues_vectors()
{
	local vm=$1 q irq hint want ints out=""

	vm_exec "$vm" "cat /proc/interrupts" || return 1
	ints=$CM_OUT
	for q in $(seq 0 $((QUEUES - 1))); do
		irq=$(awk -v k="cm0-q$q" '$NF == k { sub(":", "", $1); print $1 }' <<<"$ints")
		if [ -z "$irq" ]; then
			CM_OUT="$out no cm0-q$q in /proc/interrupts"
			return 1
		fi
		vm_exec "$vm" "cat /proc/irq/$irq/affinity_hint" || return 1
		hint=$(tr -d ', \r\n' <<<"$CM_OUT")
		want=$((1 << (q % CM_LAB_SMP)))
		out="$out q$q irq $irq hint $hint;"
		if [ $((16#$hint)) -ne "$want" ]; then
			CM_OUT="$out want $want"
			return 1
		fi
	done
	CM_OUT=$out
}

# queues_vectors_fired VM: every vector's count went up since
# queues_irqs_before (VM2 took a kick on each lane's rings).
queues_irqs_before=
queues_vectors_fired()
{
	local q a b out=""

	queues_irqs "$1" || return 1
	for q in $(seq 0 $((QUEUES - 1))); do
		a=$(awk -v k="q$q" '{ for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1) }' <<<"$queues_irqs_before")
		b=$(awk -v k="q$q" '{ for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1) }' <<<"$CM_OUT")
		out="$out q$q ${a:-?}->${b:-?}"
		if [ -z "$a" ] || [ -z "$b" ] || [ "$b" -le "$a" ]; then
			CM_OUT=$out
			return 1
		fi
	done
	CM_OUT=$out
}

queues_irqs_mark()
{
	queues_irqs vm2 && queues_irqs_before=$CM_OUT
}

# queues_txq_pkts VM: "N0 N1 N2 N3", packets sent by each tx queue (the
# mq root's classes :1..:QUEUES).
queues_txq_pkts()
{
	vm_exec "$1" "/usr/sbin/tc -s class show dev cm0" || return 1
	awk -v n="$QUEUES" '
		$1 == "class" && $2 == "mq" { c = $3; sub(/^:/, "", c); c = ("0x" c) + 0 }
		$1 == "Sent" && c { p[c] = $4; c = 0 }
		END {
			for (i = 1; i <= n; i++) {
				if (!(i in p)) exit 1
				printf "%d ", p[i]
			}
		}' <<<"$CM_OUT"
}

# queues_two_used: with 2 channels in use, new flows leave VM1 on tx
# queues 0 and 1 and on no other.
queues_two_used()
{
	local before after

	vm_exec vm1 "ethtool -L cm0 combined 2" &&
		queues_channels vm1 2 || return 1
	# the background senders of the last step are done
	vm_wait_for vm1 "! pidof cmudp" 60 || return 1
	before=$(queues_txq_pkts vm1) || return 1
	queues_flows vm1 10.0.0.2 6000 || return 1
	after=$(queues_txq_pkts vm1) || return 1
	CM_OUT="tx queue packets before: $before; after: $after"
	read -r -a b <<<"$before"
	read -r -a a <<<"$after"
	[ "${a[0]}" -gt "${b[0]}" ] && [ "${a[1]}" -gt "${b[1]}" ] &&
		[ "${a[2]}" -eq "${b[2]}" ] && [ "${a[3]}" -eq "${b[3]}" ]
}

queues_pools_full()
{
	# stop the background senders, wait until every one has ended
	vm_exec vm1 "touch /tmp/qtraffic.stop" &&
	vm_wait_for vm1 "[ \$(cat /tmp/qtraffic.done 2>/dev/null | wc -l) -ge $QT_LOOPS ] &&
			 ! pidof cmudp" $((TRAFFIC_S + 60)) &&
		cm_pool_full vm1 20 && cm_pool_full vm2 20
}

tap_plan 25
cm_step "lab: daemon and 3 VMs of $CM_LAB_SMP vCPUs up" fatal dp_lab_start 3
cm_step "vm0: insmod chainmesh_host.ko queues=$QUEUES" fatal dp_host_load queues=$QUEUES
cm_step "vm1: chainmesh.ko, cm0 10.0.0.1 up" fatal dp_guest_up vm1 1
cm_step "vm2: chainmesh.ko, cm0 10.0.0.2 up" fatal dp_guest_up vm2 2
cm_step "nodes 1 2 up, carrier on" fatal dp_nodes_up 1 2
cm_step "vm0: mesh show says queues $QUEUES" - queues_mesh_show
cm_step "vm0: chains 1 (1 2), 2 (2 1) and flows 1, 2 added" fatal cm_ping_add_flows
queues_channels_both()
{
	queues_channels vm1 "$1" && queues_channels vm2 "$1"
}

cm_step "vm1, vm2: ethtool -l: $QUEUES channels, $QUEUES in use" - queues_channels_both $QUEUES
queues_threaded()
{
	vm_exec vm1 "grep -qx 1 /sys/class/net/cm0/threaded" &&
		vm_exec vm2 "grep -qx 1 /sys/class/net/cm0/threaded"
}

cm_step "vm1, vm2: NAPI threaded (/sys/class/net/cm0/threaded)" - queues_threaded
cm_step "vm1: a doorbell vector per queue, qN's affinity hint CPU N mod $CM_LAB_SMP" - queues_vectors vm1
cm_step "vm2: a doorbell vector per queue, qN's affinity hint CPU N mod $CM_LAB_SMP" - queues_vectors vm2
cm_step "vm2: /proc/interrupts before" - queues_irqs_mark
cm_step "vm1: UDP to $PORTS ports of 10.0.0.2" - queues_flows vm1 10.0.0.2 5000
cm_step "vm2: every queue's vector fired (/proc/interrupts cm0-qN)" - queues_vectors_fired vm2
cm_step "vm1: every lane sent (ethtool -S qN_tx_packets)" - queues_stat_each vm1 tx_packets
cm_step "vm2: every lane received (ethtool -S qN_rx_packets)" - queues_stat_each vm2 rx_packets
cm_step "ethtool -L combined 1 under traffic: traffic goes on, ping answered" - queues_set_under_traffic 1
cm_step "ethtool -L combined 2 under traffic: traffic goes on, ping answered" - queues_set_under_traffic 2
cm_step "vm1: combined 2: new flows on tx queues 0 and 1, none on 2 and 3 (tc -s class)" - queues_two_used
cm_step "ethtool -L combined $QUEUES under traffic: traffic goes on, ping answered" - queues_set_under_traffic $QUEUES
cm_step "vm1, vm2: every buffer home (pool_free 512)" - queues_pools_full
cm_step "vm1: ethtool -S, ip -s link" - dp_stats vm1
cm_step "vm2: ethtool -S, ip -s link" - dp_stats vm2
cm_step "all: rmmod chainmesh, chainmesh_host" - cm_ping_unload
cm_step "consoles: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
tap_exit_status
