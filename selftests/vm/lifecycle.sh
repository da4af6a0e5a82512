#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Peer death and rebirth under traffic: a guest that stalls past the dead
# time and resumes, a guest that unloads its module and loads it again, a
# guest whose QEMU is killed (a crash), and the same guest booted again;
# nothing else is restarted. Last, the host module unloaded under traffic
# and loaded again.
#
#                 +------------------------------------------+
#                 | VM0  node 0 (host)   chainmesh_host.ko   |
#                 |      heartbeat watcher, flow tables      |
#                 +--------------------+---------------------+
#                                      | peer 0
#   chainmesh-ivshmemd ===== one shared region (memfd, 16 MiB) =====
#                  | peer 1                             | peer 2
#   +--------------+-------------+       +--------------+-------------+
#   | VM1  node 1  chainmesh.ko  | ----> | VM2  node 2  chainmesh.ko  |
#   |      cm0 10.0.0.1/24       | <---- |      cm0 10.0.0.2/24       |
#   |      pings VM2 all along   |       | stall, rmmod/insmod, kill, |
#   |                            |       | boot                       |
#   +----------------------------+       +----------------------------+
#
#   chain 1 = hops 1 2, chain 2 = hops 2 1 (lib.sh's ping scenario)
#
#   0. stall: VM2's QEMU is stopped (SIGSTOP) until the host calls node 2
#      down, which takes back what was queued to it (VM1's pool is full
#      again while VM2 is still stopped), then resumed (SIGCONT). VM2 sees
#      the verdict and fences itself: it reads and returns nothing of what
#      was queued to it, and rejoins as the next epoch; the host takes it
#      back, the pings are answered again, no peer counts a bad return
#      (rx_bad_return at VM1, node 0's bad) and every pool is full.
#   1. unload: VM2 rmmods under traffic; the host sees it absent, VM1's
#      pool is full again (VM2 handed VM1's buffers back as it left);
#      insmod again: it rejoins and the pings are answered again.
#   2. crash: VM2's QEMU is SIGKILLed under traffic; the host marks node 2
#      down within CM_DOWN_MAX_S (default 5 s; the host's rule is a
#      heartbeat standing still for dead_ms = 2 s and 20 watcher ticks, see
#      Documentation/threat-model.rst), VM1 stops sending to it, and
#      VM1's pool is full again within CM_RECLAIM_MAX_S (default 5 s)
#      of the verdict: VM1 takes back the buffers whose first hop was
#      node 2 (Documentation/architecture.rst, "Lifecycle").
#   3. reboot: `cmlab restart vm2` boots it again as peer 2; it loads the
#      module, rejoins, the pings are answered again within
#      CM_REJOIN_MAX_S (default 60 s) and no buffer is leaked anywhere.
#   4. host: VM0 rmmods chainmesh_host under traffic; both guests leave
#      the mesh (cm0 goes); insmod again: they rejoin by themselves and,
#      given their addresses and the flows again, answer pings.
#
# Measured times are printed as TAP comments.

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"

DOWN_MAX=${CM_DOWN_MAX_S:-5}
REJOIN_MAX=${CM_REJOIN_MAX_S:-60}
RECLAIM_MAX=${CM_RECLAIM_MAX_S:-5}

now()
{
	date +%s.%N
}

# since T0: seconds elapsed, two decimals
since()
{
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'
}

# le A B: A <= B, decimals allowed
le()
{
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'
}

start_ping()
{
	vm_exec vm1 "ping -i 0.1 -W 1 10.0.0.2 >/tmp/ping.log 2>&1 &
		     echo \$! >/tmp/ping.pid"
}

stop_ping()
{
	vm_exec vm1 "kill -INT \$(cat /tmp/ping.pid); sleep 1; tail -n 2 /tmp/ping.log"
}

node_state()
{
	local n=$1 want=$2

	vm_wait_for vm0 "chainmesh node show | grep -q '^node $n state $want'" "${3:-10}"
}

# The pings from VM1 are answered again (the background ping's log grows
# with replies): poll a fresh one-shot ping.
pings_answered()
{
	vm_wait_for vm1 "ping -c 1 -W 1 10.0.0.2 >/dev/null" "${1:-30}"
}

# ---------------------------------------------------------------- stall

EPOCH0=

stall_vm2()
{
	vm_exec vm0 "chainmesh node show" || return 1
	EPOCH0=$(cm_node_field 2 epoch)
	"$CMLAB" pause vm2 >/dev/null 2>&1 || return 1
	node_state 2 down 15 || return 1
	tap_diag "vm2 stopped at epoch $EPOCH0; host calls node 2 down"
}

resume_vm2()
{
	local t0 epoch

	"$CMLAB" resume vm2 >/dev/null 2>&1 || return 1
	t0=$(now)
	vm_wait_for vm0 "chainmesh node show | grep -q '^node 2 state up epoch $((EPOCH0 + 1)) '" 20 ||
		return 1
	epoch=$(vm_exec vm0 "chainmesh node show" && cm_node_field 2 epoch)
	tap_diag "vm2 resumed; up again as epoch $epoch $(since "$t0") s later"
	[ "$epoch" = $((EPOCH0 + 1)) ]
}

fenced_once()
{
	local f

	f=$(cm_ethtool_stat vm2 fenced) || return 1
	vm_exec vm2 "dmesg | grep fenced"
	CM_OUT="vm2 fenced $f: $CM_OUT"
	[ "$f" = 1 ]
}

no_bad_return()
{
	local r h

	r=$(cm_ethtool_stat vm1 rx_bad_return) || return 1
	vm_exec vm0 "chainmesh node show" || return 1
	h=$(cm_node_field 0 bad)
	CM_OUT="vm1 rx_bad_return $r, node 0 bad $h"
	[ "$r" = 0 ] && [ "$h" = 0 ]
}

# ---------------------------------------------------------------- unload

unload_vm2()
{
	local t0

	t0=$(now)
	vm_exec vm2 "rmmod chainmesh" 30 || return 1
	tap_diag "vm2: rmmod under traffic took $(since "$t0") s"
}

reload_vm2()
{
	local t0

	t0=$(now)
	cm_ping_guest_up vm2 10.0.0.2/24 && node_state 2 up 20 && pings_answered 30 ||
		return 1
	T_RELOAD=$(since "$t0")
	tap_diag "vm2: insmod to first answered ping: $T_RELOAD s"
	le "$T_RELOAD" "$REJOIN_MAX"
}

# ---------------------------------------------------------------- crash

T_DOWN=

kill_vm2()
{
	local t0

	t0=$(now)
	"$CMLAB" kill vm2 >/dev/null 2>&1 || return 1
	node_state 2 down 15 || return 1
	T_DOWN=$(since "$t0")
	tap_diag "host marked node 2 down $T_DOWN s after the kill (limit $DOWN_MAX s)"
	le "$T_DOWN" "$DOWN_MAX"
}

vm1_stops_sending()
{
	local a b da db

	# nothing more goes to node 2; the pings are dropped and counted
	# (tx_drop_peer_down, or tx_drop_no_hop once the chain is recompiled)
	vm_exec vm1 "ethtool -S cm0" || return 1
	a=$(awk '$1 == "peer2_tx_packets:" { print $2 }' <<<"$CM_OUT")
	da=$(awk '$1 ~ /^tx_drop_/ { s += $2 } END { print s + 0 }' <<<"$CM_OUT")
	sleep 2
	vm_exec vm1 "ethtool -S cm0" || return 1
	b=$(awk '$1 == "peer2_tx_packets:" { print $2 }' <<<"$CM_OUT")
	db=$(awk '$1 ~ /^tx_drop_/ { s += $2 } END { print s + 0 }' <<<"$CM_OUT")
	CM_OUT="peer2_tx_packets $a -> $b, tx drops $da -> $db"
	ge "$a" 1 && [ "$a" = "$b" ] && [ "$db" -gt "$da" ]
}

# ---------------------------------------------------------------- host

# The host module goes under traffic: each guest sees the region's header
# go, leaves the mesh (its cm0 with it) and writes nothing more into the
# region. Loaded again, the host lays the region out as a new host epoch
# and the guests join it by themselves; their addresses and the flows
# are configuration, given again.
unload_host()
{
	local t0

	t0=$(now)
	vm_exec vm0 "rmmod chainmesh_host" 30 || return 1
	tap_diag "vm0: rmmod chainmesh_host under traffic took $(since "$t0") s"
	vm_wait_for vm1 "[ ! -e /sys/class/net/cm0 ]" 10 &&
		vm_wait_for vm2 "[ ! -e /sys/class/net/cm0 ]" 10 &&
		vm_exec vm1 "dmesg | grep -c 'laid the region out anew'"
}

reload_host()
{
	local t0

	t0=$(now)
	cm_ping_host_load &&
		vm_wait_for vm1 "[ -e /sys/class/net/cm0 ]" 20 &&
		vm_wait_for vm2 "[ -e /sys/class/net/cm0 ]" 20 &&
		cm_ping_guest_addr vm1 10.0.0.1/24 &&
		cm_ping_guest_addr vm2 10.0.0.2/24 &&
		cm_ping_nodes_up && cm_ping_add_flows && pings_answered 30 ||
		return 1
	tap_diag "vm0: insmod to first answered ping, guests rejoined by themselves: $(since "$t0") s"
}

# ---------------------------------------------------------------- reboot

restart_vm2()
{
	local t0

	t0=$(now)
	CM_OUT=$("$CMLAB" restart vm2 2>&1) || return 1
	T_RESTART0=$t0
	tap_diag "vm2: QEMU restarted, shell up after $(since "$t0") s"
	"$CMLAB" status | grep -q '^vm2 peer 2 '
}

rejoin_vm2()
{
	cm_ping_guest_up vm2 10.0.0.2/24 && node_state 2 up 20 && pings_answered 30 ||
		return 1
	T_REJOIN=$(since "$T_RESTART0")
	tap_diag "vm2: restart to first answered ping: $T_REJOIN s (limit $REJOIN_MAX s)"
	le "$T_REJOIN" "$REJOIN_MAX"
}

tap_plan 33
cm_step "lab: daemon and 3 VMs up" fatal cm_ping_start_lab
cm_step "vm0: insmod chainmesh_host.ko" fatal cm_ping_host_load
cm_step "vm1: chainmesh.ko, cm0 10.0.0.1/24 up" fatal cm_ping_guest_up vm1 10.0.0.1/24
cm_step "vm2: chainmesh.ko, cm0 10.0.0.2/24 up" fatal cm_ping_guest_up vm2 10.0.0.2/24
cm_step "vm0: nodes 1 and 2 up, chains and flows added" fatal \
	eval 'cm_ping_nodes_up && cm_ping_add_flows && cm_ping_carrier'
cm_step "vm1: continuous ping of 10.0.0.2 started" fatal start_ping
cm_step "vm1: pings answered" fatal pings_answered 20

cm_step "stall: vm2 stopped, host marks node 2 down" - stall_vm2
cm_step "stall: vm1 pool_free back to 512 while vm2 is stopped" - cm_pool_full vm1 "$RECLAIM_MAX"
cm_step "stall: vm2 resumed, fences, up again as the next epoch" - resume_vm2
cm_step "stall: vm2 counted one fence" - fenced_once
cm_step "stall: pings answered again" - pings_answered 30
cm_step "stall: no bad return at vm1 nor node 0" - no_bad_return
cm_step "stall: vm1, vm2 pool_free 512" - eval 'cm_pool_full vm1 10 && cm_pool_full vm2 10'

cm_step "unload: vm2 rmmod chainmesh under traffic" - unload_vm2
cm_step "unload: vm0 sees node 2 absent" - node_state 2 absent 5
cm_step "unload: vm1 pool_free back to 512" - cm_pool_full vm1
cm_step "unload: vm2 insmod again, rejoins, pings answered" - reload_vm2

cm_step "crash: vm2 killed, host marks node 2 down within $DOWN_MAX s" - kill_vm2
cm_step "crash: vm1 sends nothing more to node 2, counts the drops" - vm1_stops_sending
cm_step "crash: vm1 pool_free back to 512 within $RECLAIM_MAX s (it reclaims node 2's)" - \
	cm_pool_full vm1 "$RECLAIM_MAX"
cm_step "crash: vm1 and the host keep running (shell, node 1 up)" - node_state 1 up 5

cm_step "reboot: cmlab restart vm2, peer id 2 again" - restart_vm2
cm_step "reboot: vm2 rejoins, pings answered within $REJOIN_MAX s" - rejoin_vm2
cm_step "reboot: vm0 sees nodes 1 and 2 up" - eval 'node_state 1 up 5 && node_state 2 up 5'
cm_step "host: vm0 rmmod chainmesh_host under traffic, vm1 and vm2 leave" - unload_host
cm_step "host: vm0 insmod again, vm1 and vm2 rejoin, pings answered" - reload_host
cm_step "vm1: ping stopped" - stop_ping
cm_step "end: vm1 pool_free 512 (no buffer leaked)" - cm_pool_full vm1 10
cm_step "end: vm2 pool_free 512 (no buffer leaked)" - cm_pool_full vm2 10
cm_step "end: all rmmod cleanly" - eval 'vm_exec vm1 "rmmod chainmesh" 30 &&
	vm_exec vm2 "rmmod chainmesh" 30 && vm_exec vm0 "rmmod chainmesh_host" 30'
cm_step "end: nothing left behind (lsmod)" - cm_ping_lsmod
cm_step "consoles: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
tap_exit_status
