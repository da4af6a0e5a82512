# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared helpers for the chainmesh VM tests (selftests/vm/*.sh) and the demo
# (tools/lab/demo.sh): TAP output and test steps, the lab's lifetime,
# polling waits, and the ping scenario itself, so that the test and the
# demo run the same code.
#
# Source it from bash; the caller uses `set -e`. Knobs (environment):
#   CMLAB_DIR    lab state and console logs (default: a fresh /tmp/lab-XXXXXX,
#                removed after a clean run unless CMLAB_KEEP=1)
#   CMLAB_KMODS  extra Debian kernel modules for the initramfs
#   CMLAB_LIFETIME  hard limit (s) of every lab process (default per test)
#   CM_VERBOSE=1 echo every guest command and its output

CM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CMLAB=${CMLAB:-$CM_ROOT/tools/lab/cmlab}

# ------------------------------------------------------------------ TAP

cm_tap_n=0
cm_tap_fail=0

tap_plan()
{
	echo "1..$1"
}

tap_diag()
{
	local line

	while IFS= read -r line; do
		echo "# $line"
	done <<<"$*"
}

ok()
{
	cm_tap_n=$((cm_tap_n + 1))
	echo "ok $cm_tap_n - $*"
}

not_ok()
{
	cm_tap_n=$((cm_tap_n + 1))
	cm_tap_fail=$((cm_tap_fail + 1))
	echo "not ok $cm_tap_n - $*"
}

# tap_plan_late: the plan comes last (tap_done), for a test whose number
# of test points is known only at its end.
cm_tap_late=

tap_plan_late()
{
	cm_tap_late=1
}

# CM_BAIL_SUFFIX: appended to a fatal step's "Bail out!" line (a seed).
CM_BAIL_SUFFIX=

# cm_step DESC FATAL CMD...: one test point from CMD's status. CMD may put
# what explains its result in $CM_OUT: a diagnostic when it fails (and
# with CM_VERBOSE=1). FATAL "fatal": a failure ends the test ("Bail out!";
# the EXIT trap stops the lab); "-": the test goes on. tools/lab/demo.sh
# defines its own cm_step (progress lines) after sourcing this.
cm_step()
{
	local desc=$1 fatal=$2

	shift 2
	CM_OUT=
	if "$@"; then
		ok "$desc"
		[ -z "$CM_VERBOSE" ] || [ -z "$CM_OUT" ] || tap_diag "$CM_OUT"
	else
		not_ok "$desc"
		[ -z "$CM_OUT" ] || tap_diag "$CM_OUT"
		if [ "$fatal" = fatal ]; then
			echo "Bail out! $desc$CM_BAIL_SUFFIX"
			[ -z "$cm_tap_late" ] || echo "1..$cm_tap_n"
			exit 1
		fi
	fi
}

# tap_exit_status: 0 if no test point failed (the script's last command).
tap_exit_status()
{
	[ "$cm_tap_fail" -eq 0 ]
}

# tap_done: the plan if it comes last (tap_plan_late), the exit status.
tap_done()
{
	[ -z "$cm_tap_late" ] || echo "1..$cm_tap_n"
	tap_exit_status
}

tap_skip_all()
{
	echo "1..0 # SKIP $*"
	exit 0
}

# ------------------------------------------------------------------ waits

# wait_for 'CMD' TIMEOUT: poll CMD (eval'd in this shell, so lab helpers
# work) every 0.2 s until it succeeds; 1 if it never did within TIMEOUT s.
wait_for()
{
	local cmd=$1 timeout=${2:-10}
	local deadline=$((SECONDS + timeout))

	while :; do
		if eval "$cmd" >/dev/null 2>&1; then
			return 0
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			return 1
		fi
		sleep 0.2
	done
}

# ------------------------------------------------------------------ lab

cm_lab_started=
cm_lab_stopped=
cm_lab_owns_dir=

# vm_exec VM CMD [TIMEOUT]: run CMD in VM; its output in $CM_OUT (and on
# stdout with CM_VERBOSE=1), its exit status returned.
vm_exec()
{
	local vm=$1 cmd=$2 timeout=${3:-60} rc=0

	CM_OUT=$("$CMLAB" exec "$vm" "$cmd" --timeout "$timeout" 2>&1) || rc=$?
	if [ -n "$CM_VERBOSE" ]; then
		tap_diag "$vm\$ $cmd  [rc $rc]" >&2
		[ -z "$CM_OUT" ] || tap_diag "$CM_OUT" >&2
	fi
	return $rc
}

# vm_wait_for VM 'CMD' TIMEOUT: poll CMD inside VM every 0.1 s (one exec).
vm_wait_for()
{
	local vm=$1 cmd=$2 timeout=${3:-10}

	vm_exec "$vm" "n=0; until $cmd; do
		[ \$n -ge $((timeout * 10)) ] && exit 1
		n=\$((n + 1)); usleep 100000
	done" $((timeout + 10))
}

lab_cleanup()
{
	local rc=$?

	set +e
	if [ -n "$cm_lab_started" ] && [ -z "$cm_lab_stopped" ]; then
		"$CMLAB" stop >"$CMLAB_DIR/stop.out" 2>&1 || rc=1
		sed 's/^/# /' "$CMLAB_DIR/stop.out"
	fi
	if [ -n "$cm_lab_owns_dir" ] && [ "$rc" -eq 0 ] && [ -z "$CMLAB_KEEP" ]; then
		rm -rf "$CMLAB_DIR"
	elif [ -n "$CMLAB_DIR" ]; then
		echo "# lab logs kept in $CMLAB_DIR"
	fi
	exit "$rc"
}

# lab_dir_init: $CMLAB_DIR (a fresh one unless set) and the trap that
# stops the lab on exit, whatever happens. Callable more than once.
lab_dir_init()
{
	if [ -z "$CMLAB_DIR" ]; then
		CMLAB_DIR=$(mktemp -d /tmp/lab-XXXXXX)
		cm_lab_owns_dir=1
	fi
	export CMLAB_DIR
	mkdir -p "$CMLAB_DIR"
	trap lab_cleanup EXIT
	trap 'exit 130' INT TERM HUP
}

# lab_build [SUBCOMMAND] [OPTION...]: `cmlab build` (or build-host) with
# OPTIONs (--kmod NAME, --file SRC:DST, --prog SRC:DST, --nested). With
# options the build is this lab's own ($CMLAB_DIR/build): labs of other
# tests, which share the default one, never see its extra files.
lab_build()
{
	local sub=build

	case "$1" in build|build-host) sub=$1; shift ;; esac
	[ $# -eq 0 ] || export CMLAB_BUILD=$CMLAB_DIR/build
	if ! CM_OUT=$("$CMLAB" "$sub" "$@" 2>&1); then
		echo "$CM_OUT" >&2
		return 1
	fi
}

# lab_start N [BUILD OPTION...]: build the initramfs (lab_build), start
# the daemon and VM0..VM(N-1), for $CMLAB_LIFETIME s at most (default: the
# test's CM_LAB_LIFETIME), with a region of $CM_LAB_REGION bytes (cmlab's
# --region, default its 16M), $CM_LAB_SMP vCPUs per VM (default 1),
# $CM_LAB_VECTORS doorbell vectors per VM (default 1), VM0 linked to
# another lab's by $CM_LAB_VM0_NETDEV (cmlab's --vm0-netdev).
CM_LAB_LIFETIME=1200
CM_LAB_REGION=
CM_LAB_SMP=
CM_LAB_VECTORS=
CM_LAB_VM0_NETDEV=

lab_start()
{
	local n=$1

	shift
	lab_dir_init
	lab_build build "$@" || return 1
	cm_lab_started=1
	CM_OUT=$("$CMLAB" start "$n" --lifetime "${CMLAB_LIFETIME:-$CM_LAB_LIFETIME}" \
		${CM_LAB_REGION:+--region "$CM_LAB_REGION"} \
		${CM_LAB_SMP:+--smp "$CM_LAB_SMP"} \
		${CM_LAB_VECTORS:+--vectors "$CM_LAB_VECTORS"} \
		${CM_LAB_VM0_NETDEV:+--vm0-netdev "$CM_LAB_VM0_NETDEV"} 2>&1)
}

# lab_stop: stop the lab now; fails if a console shows an Oops/WARN/BUG.
lab_stop()
{
	cm_lab_stopped=1
	CM_OUT=$("$CMLAB" stop 2>&1)
}

# ------------------------------------------------------------------ chainmesh

CM_HOST_KO=/lib/chainmesh/chainmesh_host.ko
# The lab's VM0 is node 0 with the region in its ivshmem BAR: an opt-in
# of chainmesh_host.ko (without it the module leaves ivshmem devices alone).
CM_HOST_LAB=lab_ivshmem=1
CM_GUEST_KO=/lib/chainmesh/chainmesh.ko

# cm_field TEXT KEY: the word after KEY in TEXT (its first line with one).
cm_field()
{
	awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' <<<"$1"
}

# cm_node_field NODE KEY [TEXT]: the word after KEY in the `chainmesh node
# show` line of NODE (rx, tx: packets; state, drops, bad ...), from TEXT
# (default $CM_OUT).
cm_node_field()
{
	local node=$1 key=$2 text=${3-$CM_OUT}

	cm_field "$(awk -v n="$node" '$1 == "node" && $2 == n { $1 = $2 = ""; print; exit }' <<<"$text")" "$key"
}

# cm_flow_node_packets VM0 FLOW NODE: packets node NODE counted for FLOW.
cm_flow_node_packets()
{
	local host=$1 flow=$2 node=$3

	vm_exec "$host" "chainmesh flow show" || return 1
	awk -v f="$flow" -v n="$node:" '
		$1 == "flow" { cur = $2 }
		cur == f && $1 == "node" && $2 == n { print $3; exit }' <<<"$CM_OUT"
}

# cm_ethtool_stat VM NAME [DEV]: one `ethtool -S DEV` (cm0) counter of VM.
cm_ethtool_stat()
{
	vm_exec "$1" "ethtool -S ${3:-cm0}" || return 1
	awk -v k="$2:" '$1 == k { print $2; exit }' <<<"$CM_OUT"
}

# cm_pool_full VM [TIMEOUT] [DEV]: VM's pool_free (of DEV, cm0) is back to
# 512 (the default bufs_per_node) within TIMEOUT s (default 10).
cm_pool_full()
{
	local vm=$1 dev=${3:-cm0}

	vm_wait_for "$vm" "ethtool -S $dev | grep -q 'pool_free: 512\$'" "${2:-10}" ||
		{ vm_exec "$vm" "ethtool -S $dev | grep -E 'pool_free|peer2_tx_packets|drop'"; return 1; }
}

# ping_received OUTPUT: the "N packets received" of busybox ping's summary.
ping_received()
{
	sed -n 's/.* \([0-9]*\) packets received.*/\1/p' <<<"$1"
}

# cm_link_packets VM DEV rx|tx: packets from `ip -s link show DEV`.
cm_link_packets()
{
	local vm=$1 dev=$2 dir=$3

	vm_exec "$vm" "ip -s link show dev $dev" || return 1
	awk -v d="$(echo "$dir" | tr '[:lower:]' '[:upper:]'):" '
		want { print $2; exit }
		$1 == d { want = 1 }' <<<"$CM_OUT"
}

# ge VALUE MIN: VALUE is a number >= MIN.
ge()
{
	[[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ]
}

# ------------------------------------------------------------------ scenario
#
# The ping scenario, shared by selftests/vm/ping.sh and tools/lab/demo.sh:
#
#   VM0: chainmesh_host.ko, node 0 (lays out the region, holds the flows)
#   VM1: chainmesh.ko, node 1, cm0 10.0.0.1/24
#   VM2: chainmesh.ko, node 2, cm0 10.0.0.2/24
#   chain 1 = hops 1 2, chain 2 = hops 2 1
#   flow 1: 10.0.0.1 -> 10.0.0.2 on chain 1, flow 2: back on chain 2
#
# Every step goes through cm_step: the test's (above) turns each into a
# TAP line, the demo's into a progress line. A fatal step that fails ends
# the scenario (the EXIT trap stops the lab).

CM_PING_COUNT=${CM_PING_COUNT:-10}
CM_PING_RECEIVED=

cm_ping_start_lab()
{
	lab_start 3
}

# Module parameters for every insmod of the scenario (e.g. bad_limit=0).
CM_HOST_ARGS=${CM_HOST_ARGS:-}
CM_GUEST_ARGS=${CM_GUEST_ARGS:-}

cm_ping_host_load()
{
	vm_exec vm0 "insmod $CM_HOST_KO $CM_HOST_LAB $CM_HOST_ARGS"
}

cm_ping_guest_load()
{
	local vm=$1

	vm_exec "$vm" "insmod $CM_GUEST_KO $CM_GUEST_ARGS" &&
		vm_wait_for "$vm" "[ -e /sys/class/net/cm0 ]" 20
}

cm_ping_guest_addr()
{
	local vm=$1 addr=$2

	vm_exec "$vm" "ip addr add $addr dev cm0 && ip link set cm0 up"
}

# cm_ping_guest_up VM ADDR: both of the above.
cm_ping_guest_up()
{
	cm_ping_guest_load "$1" && cm_ping_guest_addr "$1" "$2"
}

cm_ping_nodes_up()
{
	vm_wait_for vm0 "chainmesh node show | grep -q '^node 1 state up' &&
			 chainmesh node show | grep -q '^node 2 state up'" 30
}

cm_ping_add_flows()
{
	vm_exec vm0 "chainmesh chain add 1 hops 1 2 &&
		     chainmesh chain add 2 hops 2 1 &&
		     chainmesh flow add 1 chain 1 src 10.0.0.1/32 dst 10.0.0.2/32 &&
		     chainmesh flow add 2 chain 2 src 10.0.0.2/32 dst 10.0.0.1/32"
}

# The ping scenario's chains plus chain 3 = hops 1 3, flow 3 from VM1 to
# node 3 (a userspace peer in chaos.sh and misbehave.sh).
cm_ping_add_flows_to_3()
{
	cm_ping_add_flows &&
	vm_exec vm0 "chainmesh chain add 3 hops 1 3 &&
		     chainmesh flow add 3 chain 3 src 10.0.0.1/32 dst 10.0.0.3/32"
}

cm_ping_carrier()
{
	vm_wait_for vm1 "grep -q 1 /sys/class/net/cm0/carrier" 20 &&
		vm_wait_for vm2 "grep -q 1 /sys/class/net/cm0/carrier" 20
}

# busybox ping: "10 packets transmitted, 10 packets received, 0% packet loss"
cm_ping_run()
{
	vm_exec vm1 "ping -c $CM_PING_COUNT -i 0.2 -W 2 10.0.0.2" $((CM_PING_COUNT + 30))
	# shellcheck disable=SC2034 # for the caller (the demo prints it)
	CM_PING_OUT=$CM_OUT
	CM_PING_RECEIVED=$(ping_received "$CM_OUT")
	[ "$CM_PING_RECEIVED" = "$CM_PING_COUNT" ]
}

cm_ping_node_counters()
{
	local node=$1 tx rx bad

	vm_exec vm0 "chainmesh node show" || return 1
	tx=$(cm_node_field "$node" tx)
	rx=$(cm_node_field "$node" rx)
	bad=$(cm_node_field "$node" bad)
	CM_OUT="node $node: tx $tx rx $rx bad $bad"
	ge "$tx" "$CM_PING_COUNT" && ge "$rx" "$CM_PING_COUNT" && [ "$bad" = 0 ]
}

cm_ping_flow_counter()
{
	local flow=$1 node=$2 pk

	pk=$(cm_flow_node_packets vm0 "$flow" "$node") || return 1
	CM_OUT="flow $flow node $node: $pk packets"
	ge "$pk" "$CM_PING_COUNT"
}

cm_ping_link_counters()
{
	local vm=$1 tx rx

	tx=$(cm_link_packets "$vm" cm0 tx) &&
	rx=$(cm_link_packets "$vm" cm0 rx) || return 1
	CM_OUT="$vm cm0: tx $tx rx $rx packets"
	ge "$tx" "$CM_PING_COUNT" && ge "$rx" "$CM_PING_COUNT"
}

cm_ping_unload()
{
	vm_exec vm1 "rmmod chainmesh" &&
		vm_exec vm2 "rmmod chainmesh" &&
		vm_exec vm0 "rmmod chainmesh_host"
}

# Number of cm_step calls in cm_ping_scenario (the TAP plan).
# shellcheck disable=SC2034 # used by ping.sh
CM_PING_STEPS=20

# cm_ping_scenario [BARE [UP]]: the steps; the commands BARE and UP add
# steps of the caller's (ping.sh: the ivshmem and module binding checks),
# BARE on the bare lab, before any module is loaded, UP after the ping.
cm_ping_scenario()
{
	cm_step "lab: daemon and 3 VMs up, peer ids 0 1 2" fatal cm_ping_start_lab
	[ -z "$1" ] || "$1"
	cm_step "vm0: insmod chainmesh_host.ko" fatal cm_ping_host_load
	cm_step "vm1: insmod chainmesh.ko, cm0 appears" fatal cm_ping_guest_load vm1
	cm_step "vm2: insmod chainmesh.ko, cm0 appears" fatal cm_ping_guest_load vm2
	cm_step "vm1: cm0 10.0.0.1/24 up" fatal cm_ping_guest_addr vm1 10.0.0.1/24
	cm_step "vm2: cm0 10.0.0.2/24 up" fatal cm_ping_guest_addr vm2 10.0.0.2/24
	cm_step "vm0: nodes 1 and 2 are up in 'node show'" fatal cm_ping_nodes_up
	cm_step "vm0: chains 1 (1 2), 2 (2 1) and flows 1, 2 added" fatal cm_ping_add_flows
	cm_step "vm1, vm2: cm0 has carrier" - cm_ping_carrier
	cm_step "vm1: ping -c $CM_PING_COUNT 10.0.0.2: all answered" - cm_ping_run
	[ -z "$2" ] || "$2"
	cm_step "vm0: node 1 tx, rx >= $CM_PING_COUNT, bad 0" - cm_ping_node_counters 1
	cm_step "vm0: node 2 tx, rx >= $CM_PING_COUNT, bad 0" - cm_ping_node_counters 2
	cm_step "vm0: flow 1 counted >= $CM_PING_COUNT packets at node 1" - cm_ping_flow_counter 1 1
	cm_step "vm0: flow 2 counted >= $CM_PING_COUNT packets at node 2" - cm_ping_flow_counter 2 2
	cm_step "vm1: ip -s link cm0 tx, rx >= $CM_PING_COUNT" - cm_ping_link_counters vm1
	cm_step "vm2: ip -s link cm0 tx, rx >= $CM_PING_COUNT" - cm_ping_link_counters vm2
	cm_step "vm0: node and flow show after the run" - cm_ping_show
	cm_step "all: rmmod chainmesh, chainmesh_host" - cm_ping_unload
	cm_step "vm0: nothing left behind (lsmod)" - cm_ping_lsmod
	cm_step "consoles: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
}

cm_ping_show()
{
	vm_exec vm0 "chainmesh node show; chainmesh flow show"
}

cm_ping_lsmod()
{
	local vm

	for vm in vm0 vm1 vm2; do
		vm_exec "$vm" "! grep -q chainmesh /proc/modules" || return 1
	done
}

# ------------------------------------------------------------------ real host

# host_lab_start [--nested] [--file|--prog SRC:DST]... [start-host options]:
# like lab_start, but one
# VM (vm0) that is a real host: no ivshmem device, the daemon and cm-peer
# in its initramfs (`cmlab build-host`); --nested adds QEMU and the lab's
# kernel and initramfs, to boot guests inside it (cm-vm-start/exec).
host_lab_start()
{
	local build=() start=()

	while [ $# -gt 0 ]; do
		case "$1" in
		--file|--prog) build+=("$1" "$2"); shift 2 ;;
		--nested) build+=("$1"); start+=("$1"); shift ;;
		*) start+=("$1"); shift ;;
		esac
	done
	lab_dir_init
	lab_build build-host "${build[@]}" || return 1
	cm_lab_started=1
	CM_OUT=$("$CMLAB" start-host --lifetime "${CMLAB_LIFETIME:-$CM_LAB_LIFETIME}" "${start[@]}" 2>&1)
}
