#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Queues: a mesh of 4 queues between guests of 2 vCPUs. Each node has a
# lane (rings, pool slice, NAPI context, tx queue) per queue; a frame's
# lane is a symmetric hash of its flow. UDP to 64 ports from VM1 to VM2
# must use every lane at both ends; `ethtool -L cm0 combined N` changes
# the tx queues in use while traffic runs, and traffic goes on.
#
#                 +------------------------------------------+
#                 | VM0  node 0  chainmesh_host.ko queues=4  |
#                 +--------------------+---------------------+
#   ================= one shared region: 4 rings per pair =========
#                  |                                     |
#   +--------------+-------------+       +--------------+-------------+
#   | VM1 node 1, 2 vCPUs        |  -->  | VM2 node 2, 2 vCPUs        |
#   | cm0 10.0.0.1, 4 channels   |  <--  | cm0 10.0.0.2, 4 channels   |
#   +----------------------------+       +----------------------------+
#
#   chain 1 = hops 1 2: flow 1  10.0.0.1 -> 10.0.0.2
#   chain 2 = hops 2 1: flow 2  10.0.0.2 -> 10.0.0.1
#
# Asserts: `mesh show` says queues 4, `ethtool -l` 4 channels; every
# lane of VM1 sent and every lane of VM2 received (ethtool -S
# qN_tx_packets, qN_rx_packets); ethtool -L to 1, 2 and back to 4 under
# traffic, VM2 receiving after each, ping answered; every pool slice full
# again; a clean unload and consoles. (One queue: every other test.)
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
TRAFFIC_S=20		# background traffic around each ethtool -L
# shellcheck disable=SC2034 # for lab_start in lib.sh
CM_LAB_SMP=2

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

# queues_set_under_traffic N: VM1 and VM2 use N channels while VM1 sends;
# VM2 keeps receiving after the change, and a ping is answered.
queues_set_under_traffic()
{
	local n=$1 before after got

	# for TRAFFIC_S seconds, whatever the guests' speed: still running
	# when VM2's counters are read after the change
	vm_exec vm1 "(end=\$((\$(date +%s) + $TRAFFIC_S)); i=0
		      while [ \$(date +%s) -lt \$end ]; do
			cmudp send 10.0.0.2 \$((7000 + i % $PORTS)) 20
			i=\$((i + 1))
		      done > /dev/null 2>&1 &)" || return 1
	vm_exec vm1 "ethtool -L cm0 combined $n" &&
	vm_exec vm2 "ethtool -L cm0 combined $n" || return 1
	queues_channels vm1 "$n" && queues_channels vm2 "$n" || return 1
	before=$(queues_rx_sum) || return 1
	sleep 3
	after=$(queues_rx_sum) || return 1
	vm_exec vm1 "ping -c 5 -i 0.2 -W 2 10.0.0.2" 40
	got=$(ping_received "$CM_OUT")
	CM_OUT="combined $n: vm2 received $before, then $after; ping: ${got:-0} of 5"
	# the background flood may crowd out one echo, not the path
	[ "$after" -gt "$before" ] && [ "${got:-0}" -ge 4 ]
}

queues_pools_full()
{
	# wait for the background senders to end
	sleep $TRAFFIC_S
	vm_wait_for vm1 "! pidof cmudp" 60 &&
		cm_pool_full vm1 20 && cm_pool_full vm2 20
}

tap_plan 20
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
cm_step "vm1: UDP to $PORTS ports of 10.0.0.2" - queues_flows vm1 10.0.0.2 5000
cm_step "vm1: every lane sent (ethtool -S qN_tx_packets)" - queues_stat_each vm1 tx_packets
cm_step "vm2: every lane received (ethtool -S qN_rx_packets)" - queues_stat_each vm2 rx_packets
cm_step "ethtool -L combined 1 under traffic: traffic goes on, ping answered" - queues_set_under_traffic 1
cm_step "ethtool -L combined 2 under traffic: traffic goes on, ping answered" - queues_set_under_traffic 2
cm_step "ethtool -L combined $QUEUES under traffic: traffic goes on, ping answered" - queues_set_under_traffic $QUEUES
cm_step "vm1, vm2: every buffer home (pool_free 512)" - queues_pools_full
cm_step "vm1: ethtool -S, ip -s link" - dp_stats vm1
cm_step "vm2: ethtool -S, ip -s link" - dp_stats vm2
cm_step "all: rmmod chainmesh, chainmesh_host" - cm_ping_unload
cm_step "consoles: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
tap_exit_status
