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
# sent during the attack that may be lost, default 10).

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"

SEED=${CM_CHAOS_SEED:-$(( (RANDOM << 30) | (RANDOM << 15) | RANDOM ))}
SECS=${CM_CHAOS_SECONDS:-30}
MAX_LOSS=${CM_CHAOS_MAX_LOSS:-10}
TARGETS=${CM_CHAOS_TARGETS:-0,1,2}
REASONS="addr align owner len index chain return"
CM_BAIL_SUFFIX=" (seed $SEED)"
CM_HOST_ARGS="bad_limit=0 $CM_HOST_ARGS"
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

rmmod_victims()
{
	vm_exec vm1 "rmmod chainmesh" 30 && vm_exec vm2 "rmmod chainmesh" 30 &&
		vm_exec vm0 "rmmod chainmesh_host" 30 && cm_ping_lsmod
}

tap_plan 24
tap_diag "chaos seed $SEED, $SECS s (replay: CM_CHAOS_SEED=$SEED $0)"
cm_step "lab: daemon and 3 VMs up" fatal cm_ping_start_lab
cm_step "vm0: insmod chainmesh_host.ko" fatal cm_ping_host_load
cm_step "vm1: chainmesh.ko, cm0 10.0.0.1/24 up" fatal cm_ping_guest_up vm1 10.0.0.1/24
cm_step "vm2: chainmesh.ko, cm0 10.0.0.2/24 up" fatal cm_ping_guest_up vm2 10.0.0.2/24
cm_step "vm0: nodes 1 and 2 up" fatal cm_ping_nodes_up
cm_step "vm0: chains 1 (1 2), 2 (2 1), 3 (1 3) and their flows" fatal cm_ping_add_flows_to_3
cm_step "vm1, vm2: carrier" fatal cm_ping_carrier
cm_step "vm1: ping 10.0.0.2 before the attack" fatal ping_after
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
cm_step "vm0: host node counted the rejected input (node 0 bad)" - host_bad
cm_step "vm0: nodes 1 and 2 still up" - host_view
cm_step "vm0: node table and counters" - vm_exec vm0 "chainmesh node show"
cm_step "consoles: no soft lockup, RCU stall, hung task" - consoles_quiet
cm_step "all: rmmod chainmesh, chainmesh_host" - rmmod_victims
cm_step "consoles: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
tap_diag "chaos seed $SEED"
tap_exit_status
