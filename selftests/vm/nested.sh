#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The path operators run, end to end: a host (VM0, 2 vCPUs, 2 GiB) with
# chainmesh_host.ko in its real backing and the ivshmem daemon boots two
# guests of its own with QEMU (nested TCG), started with the options
# `chainmesh mesh qemu-args` prints; the CLI's chains carry a ping from
# the host node through both guests and back.
#
#   +-------------------------- VM0: the KVM host ----------------------------+
#   |  cmh-m 10.7.0.254/24  chainmesh_host.ko, mesh m (shmem, 3 nodes)        |
#   |       node 0          chainmesh-ivshmemd -M m  /run/chainmesh/m.sock    |
#   |                                 | region fd, eventfds                   |
#   |            +--------------------+---------------------+                  |
#   |  +---------+--------------------+  +------------------+-------------+    |
#   |  | QEMU g1  node 1  chainmesh.ko |  | QEMU g2  node 2  chainmesh.ko |    |
#   |  | cm0 10.7.0.1/24, ip_forward   |  | cm0 10.7.0.2/24               |    |
#   |  +-------------------------------+  +-------------------------------+    |
#   +-------------------------------------------------------------------------+
#
#   chain 1 = hops 0 1 2: flow 1  10.7.0.254 -> 10.7.0.2   cmh-m -> g1 -> g2
#   chain 2 = hops 2 0:   flow 2  10.7.0.2 -> 10.7.0.254   g2 -> cmh-m
#   then flow 2 moves to chain 3 = hops 2 1 0              g2 -> g1 -> cmh-m
#
# g1 forwards with its stack (ip_forward); the chain context rides in
# skb->mark. Asserts ping's summary, per-node per-flow counters, node
# counters, g1's `ip -s link` and ethtool counters, clean unloads in all
# three kernels and consoles without Oops/WARN/BUG. Prints TAP.
#
# Knobs: CM_NESTED_BOOT (s to wait for the guests' shells, default 480;
# about 80 s on an idle 2-core machine, 300 s on one that runs 8 other
# VMs), CM_PING_COUNT (default 10).

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"

COUNT=${CM_PING_COUNT:-10}
BOOT=${CM_NESTED_BOOT:-480}
SOCK=/run/chainmesh/m.sock
DLOG=/var/log/chainmesh-m.log
DPID=/run/chainmesh/m.pid
BAD='Oops|BUG:|WARNING:|Call Trace|Kernel panic|general protection'

# h CMD [SECS]: in the host VM
h()
{
	vm_exec vm0 "$@"
}

# g GUEST CMD [SECS]: in a nested guest, through the host VM
g()
{
	local secs=${3:-30} b64

	b64=$(printf '%s' "$2" | base64 -w 0)
	vm_exec vm0 "cm-vm-exec $1 $secs \"\$(echo $b64 | base64 -d)\"" $((secs + 20))
}

host_up()
{
	host_lab_start --nested --smp 2 --mem 2048
}

host_mesh()
{
	h "insmod $CM_HOST_KO && chainmesh mesh add m nodes 3 &&
	   chainmesh mesh show m | grep -q 'backing shmem dev cmh-m' &&
	   mkdir -p /run/chainmesh /var/log &&
	   chainmesh-ivshmemd -M m -S $SOCK -l $DLOG -p $DPID -d &&
	   n=0; until grep -q 'listening on $SOCK' $DLOG; do
		[ \$n -ge 50 ] && exit 1; n=\$((n + 1)); usleep 100000; done
	   ip addr add 10.7.0.254/24 dev cmh-m && ip link set cmh-m up"
}

# start_guest NAME NODE: QEMU with the CLI's options; the daemon gives ids
# in connection order, so wait for this one's join before the next
start_guest()
{
	local name=$1 node=$2

	h "args=\$(chainmesh mesh qemu-args m node $node) &&
	   echo \"\$args\" | grep -q 'path=$SOCK,' &&
	   cm-vm-start $name \$args && n=0 &&
	   until grep -q 'peer $node joined' $DLOG; do
		[ \$n -ge 200 ] && { cat /tmp/vms/$name.qemu.log; exit 1; }
		n=\$((n + 1)); usleep 100000; done"
}

guests_boot()
{
	local t0=$SECONDS

	h "for name in g1 g2; do
		until grep -q 'userspace up' /tmp/vms/\$name.console.log; do
			sleep 1; done
		until cm-vm-exec \$name 5 true >/dev/null 2>&1; do sleep 1; done
	   done" "$BOOT" || return 1
	CM_OUT="guests' shells up $((SECONDS - t0)) s after g2's start"
	tap_diag "$CM_OUT"
}

guest_load()
{
	local name=$1 addr=$2 fwd=

	[ "$name" = g1 ] && fwd="sysctl -qw net.ipv4.ip_forward=1 &&
		sysctl -qw net.ipv4.conf.all.send_redirects=0 &&
		sysctl -qw net.ipv4.conf.cm0.send_redirects=0 &&
		sysctl -qw net.ipv4.conf.all.rp_filter=0 &&
		sysctl -qw net.ipv4.conf.cm0.rp_filter=0 &&"
	g "$name" "grep -q 0x1110 /sys/bus/pci/devices/*/device && insmod $CM_GUEST_KO && n=0 &&
		until [ -e /sys/class/net/cm0 ]; do
			[ \$n -ge 300 ] && exit 1; n=\$((n + 1)); usleep 100000; done
		$fwd ip addr add $addr dev cm0 && ip link set cm0 up &&
		dmesg | grep -q 'cm0: joined mesh .* as node'" 60
}

nodes_up()
{
	vm_wait_for vm0 "chainmesh node show | grep -q '^node 1 state up' &&
			 chainmesh node show | grep -q '^node 2 state up'" 60
}

flows()
{
	h "chainmesh chain add 1 hops 0 1 2 &&
	   chainmesh chain add 2 hops 2 0 &&
	   chainmesh flow add 1 chain 1 src 10.7.0.254/32 dst 10.7.0.2/32 &&
	   chainmesh flow add 2 chain 2 src 10.7.0.2/32 dst 10.7.0.254/32"
}

carrier()
{
	g g1 "grep -q 1 /sys/class/net/cm0/carrier" &&
		g g2 "grep -q 1 /sys/class/net/cm0/carrier"
}

# The host declares a node down when its heartbeat stood still for 1 s: a
# nested guest starved of CPU (a busy machine) flaps, and its chains drop
# meanwhile. Such a run is retried once, saying so; a loss without a
# flap is a failure.
ping_g2()
{
	local try got mark

	for try in 1 2; do
		h "dmesg | wc -l" || return 1
		mark=$CM_OUT
		h "ping -c $COUNT -i 0.5 -W 5 10.7.0.2" $((COUNT + 60)) || true
		got=$(ping_received "$CM_OUT")
		CM_OUT=$(tail -n 2 <<<"$CM_OUT")
		[ "$got" = "$COUNT" ] && return 0
		tap_diag "$CM_OUT"
		h "dmesg | tail -n +$((mark + 1)) | grep 'chainmesh_host: m: node [12] down'" ||
			return 1
		tap_diag "a guest flapped (heartbeat still for 1 s: CPU starved) during the ping:"
		tap_diag "$CM_OUT"
		[ "$try" = 1 ] && tap_diag "retrying once"
	done
	return 1
}

# flow_at FLOW MIN NODE...: FLOW counted >= MIN packets at every NODE
flow_at()
{
	local flow=$1 min=$2 node pk out=

	shift 2
	for node in "$@"; do
		pk=$(cm_flow_node_packets vm0 "$flow" "$node") || return 1
		out+="node $node: ${pk:-none}  "
		ge "$pk" "$min" || { CM_OUT=$out; return 1; }
	done
	CM_OUT=$out
}

node_counters()
{
	local min=$1 node tx rx bad out=

	h "chainmesh node show" || return 1
	for node in 0 1 2; do
		tx=$(cm_node_field "$node" tx)
		rx=$(cm_node_field "$node" rx)
		bad=$(cm_node_field "$node" bad)
		out+="node $node: tx $tx rx $rx bad $bad  "
		ge "$tx" "$min" && ge "$rx" "$min" && [ "$bad" = 0 ] ||
			{ CM_OUT=$out; return 1; }
	done
	CM_OUT=$out
}

# g1 forwarded every request: in and out of cm0, sent on by its context
g1_counters()
{
	local min=$1 rx tx ctx drops

	g g1 "ip -s link show dev cm0; ethtool -S cm0" || return 1
	rx=$(awk 'want { print $2; exit } $1 == "RX:" { want = 1 }' <<<"$CM_OUT")
	tx=$(awk 'want { print $2; exit } $1 == "TX:" { want = 1 }' <<<"$CM_OUT")
	ctx=$(awk '$1 == "tx_ctx:" { print $2 }' <<<"$CM_OUT")
	drops=$(awk '$1 ~ /drop|bad/ && $2 != 0 { printf "%s %s ", $1, $2 }' <<<"$CM_OUT")
	CM_OUT="g1 cm0: rx $rx tx $tx packets, tx_ctx $ctx; ${drops:-no drops}"
	ge "$rx" "$min" && ge "$tx" "$min" && ge "$ctx" "$min"
}

move_flow()
{
	h "chainmesh chain add 3 hops 2 1 0 &&
	   chainmesh flow set 2 chain 3 src 10.7.0.2/32 dst 10.7.0.254/32 &&
	   chainmesh chain del 2 &&
	   chainmesh flow show | grep -q '^flow 2 chain 3 ' &&
	   chainmesh chain show | grep -q '^chain 3 hops 2 1 0 ' &&
	   ! chainmesh chain show | grep -q '^chain 2 '"
}

guests_unload()
{
	g g1 "rmmod chainmesh && ! grep -q chainmesh /proc/modules" &&
		g g2 "rmmod chainmesh && ! grep -q chainmesh /proc/modules" &&
		vm_wait_for vm0 "chainmesh node show | grep -q '^node 1 state absent' &&
				 chainmesh node show | grep -q '^node 2 state absent'" 20
}

guests_clean()
{
	local name

	for name in g1 g2; do
		g "$name" "! dmesg | grep -E '$BAD'" || return 1
	done
}

# stop QEMU (SIGTERM, then SIGKILL), keep the consoles in CMLAB_DIR
guests_stop()
{
	h "for name in g1 g2; do
		pid=\$(cat /tmp/vms/\$name.pid) && kill \$pid; n=0
		while kill -0 \$pid 2>/dev/null; do
			[ \$n -ge 50 ] && kill -9 \$pid; n=\$((n + 1)); usleep 100000; done
	   done" 30 || return 1
	for name in g1 g2; do
		h "cat /tmp/vms/$name.console.log" 30 >/dev/null || return 1
		printf '%s\n' "$CM_OUT" >"$CMLAB_DIR/nested-$name.console.log"
		! grep -E "$BAD" "$CMLAB_DIR/nested-$name.console.log" || return 1
	done
}

host_teardown()
{
	h "chainmesh flow del 1 && chainmesh flow del 2 &&
	   chainmesh chain del 1 && chainmesh chain del 3 &&
	   kill \$(cat $DPID) && n=0 &&
	   while [ -e $SOCK ]; do
		[ \$n -ge 50 ] && exit 1; n=\$((n + 1)); usleep 100000; done
	   grep -q 'peer 2 left' $DLOG &&
	   chainmesh mesh del m && [ ! -e /sys/class/net/cmh-m ] &&
	   rmmod chainmesh_host && ! grep -q chainmesh /proc/modules &&
	   ! dmesg | grep -E '$BAD'"
}

tap_plan 22
cm_step "host VM: 2 vCPUs, 2 GiB, QEMU and the lab guests inside" fatal host_up
cm_step "host: chainmesh_host.ko, mesh add m nodes 3, daemon -M m, cmh-m up" fatal host_mesh
cm_step "host: QEMU g1 with 'mesh qemu-args m node 1' joins as peer 1" fatal start_guest g1 1
cm_step "host: QEMU g2 with 'mesh qemu-args m node 2' joins as peer 2" fatal start_guest g2 2
cm_step "g1, g2: booted, lab shells answer" fatal guests_boot
cm_step "g1: insmod chainmesh.ko, cm0 10.7.0.1/24 up, ip_forward" fatal guest_load g1 10.7.0.1/24
cm_step "g2: insmod chainmesh.ko, cm0 10.7.0.2/24 up" fatal guest_load g2 10.7.0.2/24
cm_step "host: node show: nodes 1 and 2 up" fatal nodes_up
cm_step "host: chains 1 (0 1 2), 2 (2 0), flows 1 and 2" fatal flows
cm_step "g1, g2: cm0 has carrier" - carrier
cm_step "host: ping -c $COUNT 10.7.0.2 (cmh-m -> g1 -> g2 -> cmh-m): all answered" - ping_g2
cm_step "flow 1 counted >= $COUNT packets at nodes 0, 1, 2" - flow_at 1 "$COUNT" 0 1 2
cm_step "flow 2 counted >= $COUNT packets at nodes 2, 0" - flow_at 2 "$COUNT" 2 0
cm_step "node show: nodes 0, 1, 2 tx, rx >= $COUNT, bad 0" - node_counters "$COUNT"
cm_step "g1: ip -s link cm0 rx, tx and ethtool tx_ctx >= $COUNT" - g1_counters "$COUNT"
cm_step "host: flow set moves flow 2 to chain 3 (2 1 0), chain 2 deleted" - move_flow
cm_step "host: ping -c $COUNT 10.7.0.2 (cmh-m -> g1 -> g2 -> g1 -> cmh-m): all answered" - ping_g2
cm_step "flow 2 counted >= $COUNT packets at node 1, >= $((2 * COUNT)) at 2, 0" - eval 'flow_at 2 "$COUNT" 1 && flow_at 2 $((2 * COUNT)) 2 0'
cm_step "g1, g2: rmmod chainmesh; host sees both absent" - guests_unload
cm_step "g1, g2: dmesg without Oops/BUG/WARNING" - guests_clean
cm_step "g1, g2: QEMU stopped, consoles clean" - guests_stop
cm_step "host: flows, chains, daemon, mesh del, rmmod; no WARN; console clean" - eval 'host_teardown && lab_stop'
tap_exit_status
