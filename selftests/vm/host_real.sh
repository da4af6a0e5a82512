#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The real host backing, fast: one VM is the KVM host. chainmesh_host.ko
# allocates the region itself (`chainmesh mesh add`), the daemon serves it
# from /dev/chainmesh (-M), and cm-peer, which speaks the daemon's protocol
# exactly as QEMU's ivshmem-doorbell does, is the guest node.
#
#   +---------------------------- VM0 (a real host) ---------------------------+
#   |                                                                           |
#   |  ping 10.9.0.2       chainmesh_host.ko  mesh t (shmem, 4 nodes)           |
#   |     |                  node 0 = cmh-t 10.9.0.1/24                         |
#   |     v                       |  /dev/chainmesh: REGION_FD, DOORBELL        |
#   |  cmh-t ==== region ====  chainmesh-ivshmemd -M t  /run/chainmesh/t.sock   |
#   |                               | region fd + eventfds (QEMU's protocol)    |
#   |                           cm-peer echo   node 1 (userspace)               |
#   |                           cm-peer send   node 2, UDP to node 0            |
#   +---------------------------------------------------------------------------+
#
#   chain 1 = hops 0 1: flow 1  10.9.0.1 -> 10.9.0.2   (host -> peer)
#   chain 2 = hops 1 0: flow 2  10.9.0.2 -> 10.9.0.1   (peer -> host)
#   chain 4 = hops 0 {1 3} failover, no flow: the monitor announces its
#             replicas taking flows as node 1 comes and goes
#
# Asserts ping's summary, node/flow counters over netlink (text and -j),
# `ip -s link` of cmh-t, the monitor's notifications, mesh del and rmmod
# with nothing left behind, a mesh created and deleted while a program
# issues the daemon's ioctls on it, rmmod under a live peer that still
# maps the region, and a console without Oops/WARN/BUG. Prints TAP.

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"

COUNT=10
UDP=20
SOCK=/run/chainmesh/t.sock

h()
{
	vm_exec vm0 "$@"
}

load()
{
	h "insmod $CM_HOST_KO && [ -c /dev/chainmesh ] || exit 1
	   chainmesh monitor >/tmp/monitor.log 2>&1 &
	   echo \$! >/tmp/monitor.pid"
}

mesh_add()
{
	h "chainmesh mesh add t nodes 4 ring-slots 128 bufs-per-node 256 &&
	   chainmesh mesh show t | grep -q 'nodes 4 ring_slots 128 buf_size 2048 bufs_per_node 256 .* backing shmem dev cmh-t' &&
	   chainmesh -j mesh show | grep -q '\"backing\":\"shmem\"' &&
	   [ -d /sys/class/net/cmh-t ]"
}

mesh_add_refused()
{
	# exists already; buffer size not a power of two
	h "chainmesh mesh add t nodes 4; [ \$? = 2 ] || exit 1
	   chainmesh mesh add u nodes 4 buf-size 3000; [ \$? = 2 ] || exit 1
	   ! chainmesh mesh show u"
}

qemu_args()
{
	h "chainmesh mesh qemu-args t node 2 &&
	   chainmesh mesh qemu-args t node 2 socket /tmp/x.sock | grep -q path=/tmp/x.sock, &&
	   ! chainmesh mesh qemu-args t node 0 2>/dev/null &&
	   ! chainmesh mesh qemu-args t node 4 2>/dev/null" || return 1
	[ "$(head -n 1 <<<"$CM_OUT")" = "-chardev socket,path=$SOCK,id=cm-t -device ivshmem-doorbell,chardev=cm-t,vectors=1" ]
}

daemon_start()
{
	# no -S: the default is where 'mesh qemu-args t' points (\$SOCK), in
	# /run/chainmesh, which the daemon creates; -d returns once it listens
	h "rm -rf /run/chainmesh && mkdir -p /run &&
	   chainmesh-ivshmemd -M t -l /tmp/ivshmemd.log -p /tmp/ivshmemd.pid -d &&
	   [ -S $SOCK ] && kill -0 \$(cat /tmp/ivshmemd.pid) &&
	   grep -q 'listening on $SOCK.*host mesh t' /tmp/ivshmemd.log"
}

flows()
{
	h "ip addr add 10.9.0.1/24 dev cmh-t && ip link set cmh-t up &&
	   chainmesh chain add 1 hops 0 1 &&
	   chainmesh chain add 2 hops 1 0 policy bypass &&
	   chainmesh flow add 1 chain 1 src 10.9.0.1/32 dst 10.9.0.2/32 &&
	   chainmesh flow add 2 chain 2 proto udp src 10.9.0.2 dst 10.9.0.1 dport 6912/0xff00 &&
	   chainmesh flow add 3 chain 2 prio 1 family inet src 10.9.0.0/24 dst 10.9.0.1 &&
	   chainmesh chain add 4 hops 0 {1 3} policy failover &&	# monitor_seen
	   chainmesh chain show | grep -q 'chain 2 hops 1 0 policy bypass' &&
	   chainmesh -j chain show | grep -q '\"hops\":\\[0,1\\]'"
}

peer_echo()
{
	h "cm-peer -S $SOCK echo >/tmp/peer1.log 2>&1 & echo \$! >/tmp/peer1.pid
	   n=0; until grep -q 'node 1 joined' /tmp/peer1.log; do
		[ \$n -ge 100 ] && { cat /tmp/peer1.log; exit 1; }
		n=\$((n + 1)); usleep 100000; done
	   grep 'peer 1 joined' /tmp/ivshmemd.log" &&
		vm_wait_for vm0 "chainmesh node show | grep -q '^node 1 state up'" 10
}

ping_peer()
{
	h "ping -c $COUNT -i 0.2 -W 2 10.9.0.2" $((COUNT + 30)) || true
	[ "$(ping_received "$CM_OUT")" = "$COUNT" ]
}

# node 0's counters in the region lag its netdev's a little: poll
node0_counters()
{
	local tx rx bad n

	for n in 1 2 3 4 5 6 7 8 9 10; do
		h "chainmesh node show" || return 1
		tx=$(cm_node_field 0 tx)
		rx=$(cm_node_field 0 rx)
		bad=$(cm_node_field 0 bad)
		ge "$tx" "$COUNT" && ge "$rx" "$COUNT" && break
		sleep 0.5
	done
	CM_OUT="node 0: tx $tx rx $rx bad $bad"
	ge "$tx" "$COUNT" && ge "$rx" "$COUNT" && [ "$bad" = 0 ]
}

flow_counter()
{
	local flow=$1 min=$2 pk

	pk=$(cm_flow_node_packets vm0 "$flow" 0) || return 1
	CM_OUT="flow $flow node 0: $pk packets"
	ge "$pk" "$min"
}

link_counters()
{
	local min=$1 tx rx

	tx=$(cm_link_packets vm0 cmh-t tx) &&
	rx=$(cm_link_packets vm0 cmh-t rx) || return 1
	CM_OUT="cmh-t: tx $tx rx $rx packets"
	ge "$tx" "$min" && ge "$rx" "$min"
}

# -j: every show is a JSON array of the objects `show` prints
json_show()
{
	h "chainmesh -j node show; echo; chainmesh -j flow show" || return 1
	python3 -c '
import json, sys
nodes, flows = [json.loads(l) for l in sys.stdin.read().split("\n") if l.strip()]
n0 = [n for n in nodes if n["id"] == 0][0]
assert n0["state"] == "up" and n0["tx_packets"] >= int(sys.argv[1]), n0
f1 = [f for f in flows if f["id"] == 1][0]
assert f1["chain"] == 1 and f1["dst"] == "10.9.0.2/32", f1
assert [s for s in f1["stats"] if s["node"] == 0][0]["packets"] >= int(sys.argv[1]), f1
' "$COUNT" <<<"$CM_OUT"
}

# UDP frames from a second cm-peer (node 2) to 10.9.0.1: they leave their
# chain at node 0 and come out of cmh-t
peer_send()
{
	local before after pk

	before=$(cm_link_packets vm0 cmh-t rx) || return 1
	h "cm-peer -S $SOCK send --to 0 --count $UDP --src 10.9.0.2 --dst 10.9.0.1 --dport 7009" 30 ||
		return 1
	after=$(cm_link_packets vm0 cmh-t rx) || return 1
	pk=$(cm_flow_node_packets vm0 2 0) || return 1
	CM_OUT="cmh-t rx $before -> $after, flow 2 at node 0: $pk packets"
	ge "$((after - before))" "$UDP" && ge "$pk" "$UDP"
}

peer_stop()
{
	h "kill \$(cat /tmp/peer1.pid); n=0
	   while kill -0 \$(cat /tmp/peer1.pid) 2>/dev/null; do
		[ \$n -ge 50 ] && exit 1; n=\$((n + 1)); usleep 100000; done
	   grep 'cm-peer: summary node 1' /tmp/peer1.log" &&
		vm_wait_for vm0 "chainmesh node show | grep -q '^node 1 state absent'" 10
}

monitor_seen()
{
	h "kill \$(cat /tmp/monitor.pid); cat /tmp/monitor.log" || return 1
	grep -q '^\[mesh-add\] mesh t ' <<<"$CM_OUT" &&
		grep -q '^\[chain-add\] mesh t chain 1 hops 0 1' <<<"$CM_OUT" &&
		grep -q '^\[flow-add\] mesh t flow 2 ' <<<"$CM_OUT" &&
		grep -q '^\[node-change\] mesh t node 1 state up' <<<"$CM_OUT" &&
		grep -q '^\[node-change\] mesh t node 1 state absent' <<<"$CM_OUT" ||
		return 1
	# chain 4's live replicas, notification by notification: none when
	# added, node 1 once it joined, none again once it left
	live=$(awk '/^\[/ { c4 = /^\[chain-add\] mesh t chain 4 / }
		    c4 && /group hop 1 / { sub(/.* live */, ""); printf "[%s]", $0 }' \
		   <<<"$CM_OUT")
	CM_OUT="chain 4 live sets announced: $live"
	[ "$live" = "[][1][]" ]
}

teardown_mesh()
{
	h "chainmesh chain del 1; [ \$? = 2 ] || exit 1	# flow 1 uses it
	   chainmesh flow del 1 && chainmesh chain del 1 &&
	   chainmesh flow del 2 && chainmesh flow del 3 && chainmesh chain del 2 &&
	   chainmesh chain del 4 &&
	   ! chainmesh flow show | grep -q '^flow' &&
	   kill \$(cat /tmp/ivshmemd.pid) && n=0 &&
	   while [ -e $SOCK ]; do
		[ \$n -ge 50 ] && exit 1; n=\$((n + 1)); usleep 100000; done
	   chainmesh mesh del t && [ ! -e /sys/class/net/cmh-t ] &&
	   ! chainmesh mesh show 2>/dev/null | grep -q '^mesh t '"
}

unload()
{
	h "rmmod chainmesh_host && ! grep -q chainmesh /proc/modules &&
	   [ ! -e /dev/chainmesh ]"
}

# Unload under a live peer: the daemon gone (so /dev/chainmesh is closed),
# cm-peer still maps the region and is node 1 of a mesh nobody deleted.
unload_live()
{
	h "insmod $CM_HOST_KO && chainmesh mesh add u nodes 2 &&
	   chainmesh-ivshmemd -M u -l /tmp/u.log -p /tmp/u.pid -d &&
	   [ -S /run/chainmesh/u.sock ] && grep -q 'listening on' /tmp/u.log &&
	   cm-peer -S /run/chainmesh/u.sock echo >/tmp/peer2.log 2>&1 &
	   echo \$! >/tmp/peer2.pid; n=0
	   until chainmesh node show | grep -q '^node 1 state up'; do
		[ \$n -ge 100 ] && exit 1; n=\$((n + 1)); usleep 100000; done
	   kill \$(cat /tmp/u.pid); n=0
	   while [ -e /run/chainmesh/u.sock ]; do
		[ \$n -ge 50 ] && exit 1; n=\$((n + 1)); usleep 100000; done
	   kill -0 \$(cat /tmp/peer2.pid) &&
	   rmmod chainmesh_host && ! grep -q chainmesh /proc/modules &&
	   [ ! -e /sys/class/net/cmh-u ]; rc=\$?
	   kill \$(cat /tmp/peer2.pid) 2>/dev/null; exit \$rc"
}

dmesg_clean()
{
	h "! dmesg | grep -E 'WARNING|BUG|Oops|Call Trace'"
}

host_lab_up()
{
	make -s -C "$CM_ROOT/selftests/vm/progs" ioc_race >&2 &&
	host_lab_start --file "$CM_ROOT/selftests/vm/progs/ioc_race:/usr/bin/" \
		--smp 2
}

# A daemon reacts to a mesh's notification with DOORBELL ioctls: they
# must find no mesh or a complete one, never one half made (two vCPUs,
# so that the two really run at once).
ioc_race()
{
	h "ioc_race r 10 >/tmp/race.log 2>&1 & pid=\$!
	   end=\$((\$(date +%s) + 10)); n=0
	   while [ \$(date +%s) -lt \$end ]; do
		chainmesh mesh add r nodes 2 && chainmesh mesh del r || exit 1
		n=\$((n + 1))
	   done
	   wait \$pid; cat /tmp/race.log; echo mesh add and del \$n times" 60 ||
		return 1
	grep -q "ioc_race ok [1-9][0-9]* missing [1-9][0-9]* other 0" <<<"$CM_OUT"
}

tap_plan 22
cm_step "lab: one VM as the host (2 vCPUs), no ivshmem device" fatal host_lab_up
cm_step "insmod chainmesh_host.ko, /dev/chainmesh, monitor" fatal load
cm_step "mesh add t nodes 4: shmem backing, cmh-t" fatal mesh_add
cm_step "mesh add refused: same name, buf-size not a power of 2" - mesh_add_refused
cm_step "mesh qemu-args t node 2: the QEMU options; node 0, 4 refused" - qemu_args
cm_step "chainmesh-ivshmemd -M t -d: listening on $SOCK (its default) when it returns" fatal daemon_start
cm_step "cmh-t 10.9.0.1/24 up, chains 1 (0 1), 2 (1 0 bypass), flows 1-3" fatal flows
cm_step "cm-peer echo joins as node 1 through the daemon" fatal peer_echo
cm_step "ping -c $COUNT 10.9.0.2 (cmh-t -> node 1 -> cmh-t): all answered" - ping_peer
cm_step "node show: node 0 tx, rx >= $COUNT, bad 0" - node0_counters
cm_step "flow show: flow 1 (requests) >= $COUNT packets at node 0" - flow_counter 1 "$COUNT"
cm_step "flow show: flow 3 (replies) >= $COUNT packets at node 0" - flow_counter 3 "$COUNT"
cm_step "ip -s link cmh-t: tx, rx >= $COUNT" - link_counters "$COUNT"
cm_step "-j node show, -j flow show: JSON with the same counters" - json_show
cm_step "cm-peer send: $UDP UDP frames node 2 -> node 0: cmh-t rx, flow 2 at node 0" - peer_send
cm_step "cm-peer echo stops: node 1 absent" - peer_stop
cm_step "monitor: mesh-add, chain-add, flow-add, node 1 up and absent, chain 4's live set" - monitor_seen
cm_step "chain del refused while used; flows, chains, daemon, mesh del t" - teardown_mesh
cm_step "mesh add/del races the daemon's DOORBELL ioctl: never a half-made mesh" - ioc_race
cm_step "rmmod chainmesh_host: nothing left" - unload
cm_step "unload with a live mesh and a live peer mapping it (daemon gone)" - unload_live
cm_step "dmesg and console: no WARNING/BUG/Oops" - eval 'dmesg_clean && lab_stop'
tap_exit_status
