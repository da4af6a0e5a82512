#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Userspace nodes as a hop of a chain between two kernel guests, both
# ways a userspace program joins a mesh:
#
# 1. dpdk-testpmd (Debian's dpdk-dev) with the net_chainmesh driver
#    (drivers/dpdk, loaded with -d) joins the lab's mesh as node 4 on the
#    lab's host side, through the daemon's socket, and forwards (io mode,
#    one port looped onto itself) what VM1 and VM2 send each other.
# 2. In VM3, a guest with no chainmesh module (its ivshmem device has no
#    driver), cml-node (selftests/build/cml-node.c on libchainmesh)
#    maps the device's sysfs resource0 (BAR0: IVPosition, Doorbell) and
#    resource2 (BAR2: the region), joins as node 3 in polling mode (it
#    rings its peers through BAR0, nobody rings it) and forwards.
#
#                 +------------------------------------------+
#                 | VM0  node 0 (host)   chainmesh_host.ko   |
#                 +--------------------+---------------------+
#                                      | peer 0
#   chainmesh-ivshmemd ===== one shared region (memfd) ===========================
#         | peer 1                | peer 2               | peer 3               | peer 4
#   +-----+----------------+ +----+-----------------+ +--+-------------------+ +-+-------------+
#   | VM1 node 1           | | VM2 node 2           | | VM3 node 3 (no .ko)  | | dpdk-testpmd  |
#   | chainmesh.ko         | | chainmesh.ko         | | cml-node forward,    | | net_chainmesh |
#   | cm0 10.0.0.1/24      | | cm0 10.0.0.2/24      | | BARs through sysfs   | | --no-huge, io |
#   +----------------------+ +----------------------+ +----------------------+ +---------------+
#   testpmd: chain 1 = hops 1 4 2 (flow 1 10.0.0.1 -> 10.0.0.2),
#            chain 2 = hops 2 4 1 (flow 2 back)
#   BARs:    chain 3 = hops 1 3 2, chain 4 = hops 2 3 1 (flows 1, 2 set
#            onto them once testpmd quit)
#
# Why testpmd on the host side and not in VM3 through its BARs too: a TCG
# guest big enough for DPDK's EAL and testpmd costs a distro guest's boot
# (and testpmd spins a core the guests need); the driver's pci= is the
# same libchainmesh attach that cml-node runs in VM3 here. --no-huge: the
# driver's mbufs carry the region's buffers as external buffers, so no
# DMA memory is needed.
#
# Asserts, testpmd: it joins as node 4 and its port's link is up; ping
# and a TCP transfer (checksummed) go VM1 <-> VM2 through it; testpmd's
# port statistics count them (rx = tx: io forwards all) and its xstats
# carry the kernel node's ethtool -S names; the frames went zero copy
# (xdp_tx_zerocopy, no copy into testpmd's node's pool: tx_copied 0);
# after testpmd quits node 4 is absent and every buffer of VM1's and
# VM2's pools is home.
# BARs: VM3's ivshmem device has no driver; cml-node -P joins as node 3
# (vm0 sees it up); ping and a TCP transfer go through it; node 3's
# counters at vm0 count them, and cml-node's own
# count them forwarded zero copy with nothing bad; SIGTERM: it leaves
# (absent), every buffer of VM1 and VM2 home; it rejoins (a new epoch)
# and forwards pings again; SIGKILL under a ping: vm0 marks node 3 down
# and VM1's and VM2's buffers come home. Prints TAP.
set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"

PMD=$CM_ROOT/drivers/dpdk/librte_net_chainmesh.so
TESTPMD=${CM_TESTPMD:-dpdk-testpmd}
PINGS=20
KIB=1024

CML_NODE=
cm_rc=0
FWD_PORT=5001

# Without testpmd or the driver its steps are skipped (TAP SKIP), the
# BAR steps still run.
TP_SKIP=
if ! command -v "$TESTPMD" >/dev/null 2>&1; then
	TP_SKIP="no $TESTPMD (apt-get install dpdk-dev)"
else
	[ -e "$PMD" ] || make -s -C "$CM_ROOT/drivers/dpdk" >&2 || true
	[ -e "$PMD" ] ||
		TP_SKIP="no $PMD (libdpdk-dev and scripts/dpdk-sdk.sh)"
fi
cm_pmd_untrust()
{
	:
}
if [ -z "$TP_SKIP" ]; then
	# shellcheck source=scripts/dpdk-plugin.sh
	. "$CM_ROOT/scripts/dpdk-plugin.sh"
	cm_pmd_trusted
fi

# tp_step DESC FATAL CMD...: a testpmd step, or a skipped one.
tp_step()
{
	if [ -n "$TP_SKIP" ]; then
		ok "$1 # SKIP $TP_SKIP"
		return 0
	fi
	cm_step "$@"
}

TP_PID=
TP_LOG=
TP_IN=

# testpmd interactive, its stdin a fifo we hold open on fd 7; nice 19:
# its forwarding core spins, the guests' vCPUs come first.
testpmd_start()
{
	TP_LOG=$CMLAB_DIR/testpmd.log
	TP_IN=$CMLAB_DIR/testpmd.in
	rm -f "$TP_IN"
	mkfifo "$TP_IN"
	nice -n 19 timeout -k 5 600 stdbuf -oL "$TESTPMD" -l 0-1 --no-huge -m 256 \
		--no-pci --file-prefix="cmlab$$" -d "$PMD" \
		--vdev="net_chainmesh0,socket=$CMLAB_DIR/ivshmem.sock,node=4" \
		-- -i --forward-mode=io --port-topology=loop \
		--total-num-mbufs=2048 <"$TP_IN" >"$TP_LOG" 2>&1 &
	TP_PID=$!
	exec 7>"$TP_IN"
	wait_for "grep -q 'testpmd> ' '$TP_LOG'" 60 || {
		CM_OUT=$(tail -n 20 "$TP_LOG")
		return 1
	}
	grep -q "is node 4 of" "$TP_LOG" || grep -q "Port 0: " "$TP_LOG"
}

# tp CMD: one testpmd command; its output (up to the next prompt) in CM_OUT.
tp()
{
	local n

	n=$(grep -c 'testpmd> ' "$TP_LOG")
	echo "$1" >&7
	wait_for "[ \$(grep -c 'testpmd> ' '$TP_LOG') -gt $n ]" 20 || return 1
	CM_OUT=$(awk -v n="$n" '/testpmd> / { k++ } k == n' "$TP_LOG")
}

testpmd_stop()
{
	[ -n "$TP_PID" ] || return 0
	echo quit >&7 2>/dev/null || true
	exec 7>&-
	wait_for "! kill -0 $TP_PID" 20 || kill "$TP_PID" 2>/dev/null || true
	wait "$TP_PID" 2>/dev/null || true
	TP_PID=
}

trap 'testpmd_stop; cm_pmd_untrust; lab_cleanup' EXIT

# node_state N STATE [TIMEOUT]: vm0 sees node N in STATE.
node_state()
{
	vm_wait_for vm0 "chainmesh node show | grep -q '^node $1 state $2'" "${3:-30}"
}

chains()
{
	vm_exec vm0 "chainmesh chain add 1 hops 1 4 2 &&
		     chainmesh chain add 2 hops 2 4 1 &&
		     chainmesh flow add 1 chain 1 src 10.0.0.1/32 dst 10.0.0.2/32 &&
		     chainmesh flow add 2 chain 2 src 10.0.0.2/32 dst 10.0.0.1/32"
}

link_up()
{
	tp "show port info 0" && grep -q "Link status: up" <<<"$CM_OUT"
}

ping_through()
{
	vm_exec vm1 "ping -c $PINGS -i 0.2 -W 2 10.0.0.2" $((PINGS + 30)) &&
		grep -q "$PINGS packets received" <<<"$CM_OUT"
}

tcp_through()
{
	local sum got port=$FWD_PORT

	FWD_PORT=$((FWD_PORT + 1))
	vm_exec vm1 "dd if=/dev/urandom of=/tmp/src bs=1k count=$KIB 2>/dev/null &&
		     md5sum /tmp/src" || return 1
	sum=$(cut -d' ' -f1 <<<"$CM_OUT")
	vm_exec vm2 "rm -f /tmp/dst; (sleep 120 | nc -l -p $port > /tmp/dst &)" || return 1
	sleep 1
	vm_exec vm1 "nc 10.0.0.2 $port < /tmp/src" 120 || return 1
	vm_wait_for vm2 "[ \$(stat -c %s /tmp/dst) = $((KIB * 1024)) ]" 30 || return 1
	vm_exec vm2 "md5sum /tmp/dst" || return 1
	got=$(cut -d' ' -f1 <<<"$CM_OUT")
	CM_OUT="sent $sum, received $got"
	[ -n "$sum" ] && [ "$got" = "$sum" ]
}

# xstat NAME [TEXT]: the value of xstat NAME in `show port xstats 0`.
xstat()
{
	awk -v k="$1:" '$1 == k { print $2; exit }' <<<"${2-$CM_OUT}"
}

port_stats()
{
	local rx tx

	tp "show port stats 0" || return 1
	rx=$(awk '/RX-packets:/ { print $2; exit }' <<<"$CM_OUT")
	tx=$(awk '/TX-packets:/ { print $2; exit }' <<<"$CM_OUT")
	CM_OUT="testpmd port 0: RX-packets $rx TX-packets $tx"
	tap_diag "$CM_OUT"
	# the pings both ways, and the TCP transfer's 700-odd segments
	ge "$rx" $((PINGS * 2 + 700)) && [ "$rx" = "$tx" ]
}

xstats()
{
	local z c b name

	tp "show port xstats 0" || return 1
	for name in rx_bad_addr rx_bad_return tx_drop_no_flow xdp_tx_zerocopy \
		    pool_free peer1_rx_packets peer2_tx_packets; do
		[ -n "$(xstat "$name")" ] || { CM_OUT="no xstat $name"; return 1; }
	done
	z=$(xstat xdp_tx_zerocopy)
	c=$(xstat tx_copied)
	b=$(xstat rx_bad_addr)
	CM_OUT="xdp_tx_zerocopy $z tx_copied $c rx_bad_addr $b"
	tap_diag "$CM_OUT"
	ge "$z" $((PINGS * 2 + 700)) && [ "$c" = 0 ] && [ "$b" = 0 ]
}

node4_gone()
{
	testpmd_stop
	node_state 4 absent
}

# ------------------------------------------------------------ BARs (VM3)

# cml-node for the guests, on the static libchainmesh.a: the initramfs
# takes a program with the shared objects ldd names, libc only here.
cml_node_build()
{
	CML_NODE=$CMLAB_DIR/cml-node
	[ -e "$CM_ROOT/lib/libchainmesh.a" ] || make -s -C "$CM_ROOT/lib" >&2 ||
		return 1
	${CC:-cc} -O2 -Wall -I"$CM_ROOT/include" -o "$CML_NODE" \
		"$CM_ROOT/selftests/build/cml-node.c" \
		"$CM_ROOT/lib/libchainmesh.a" -lpthread
}

lab_up()
{
	lab_dir_init
	cml_node_build || { CM_OUT="cannot build cml-node"; return 1; }
	lab_start 4 --prog "$CML_NODE:/usr/bin/cml-node" || return 1
	# lab_start's trap (lab_cleanup, which reads the exit status) with
	# testpmd's stop before it
	trap 'cm_rc=$?; testpmd_stop; cm_pmd_untrust; (exit $cm_rc); lab_cleanup' EXIT
}

# The ivshmem device (1af4:1110, its address differs between machine
# types) in $BAR_DEV: no driver bound, memory decoding on (the `enable`
# file: no driver did it).
BAR_DEV=

bar_device()
{
	# shellcheck disable=SC2016 # expanded in the guest
	vm_exec vm3 'for d in /sys/bus/pci/devices/*; do
			[ "$(cat $d/vendor):$(cat $d/device)" != 0x1af4:0x1110 ] ||
				echo $d; done' || return 1
	BAR_DEV=$(head -n 1 <<<"$CM_OUT")
	[ -n "$BAR_DEV" ] || { CM_OUT="no ivshmem device in vm3"; return 1; }
	vm_exec vm3 "[ ! -e $BAR_DEV/driver ] && echo 1 > $BAR_DEV/enable &&
		     ls $BAR_DEV/resource0 $BAR_DEV/resource2"
}

# cml_node_start: cml-node forwards in VM3 (background, log /tmp/fwd.log),
# vm0 sees node 3 up.
cml_node_start()
{
	vm_exec vm3 "rm -f /tmp/fwd.log; cml-node -P $BAR_DEV forward --count 0 \
		     --duration 900 >/tmp/fwd.log 2>&1 & echo \$! >/tmp/fwd.pid" ||
		return 1
	vm_wait_for vm3 "grep -q 'node 3 joined' /tmp/fwd.log" 30 || {
		vm_exec vm3 "cat /tmp/fwd.log"
		return 1
	}
	node_state 3 up
}

bar_flows()
{
	vm_exec vm0 "chainmesh chain add 3 hops 1 3 2 &&
		     chainmesh chain add 4 hops 2 3 1 &&
		     chainmesh flow set 1 chain 3 src 10.0.0.1/32 dst 10.0.0.2/32 &&
		     chainmesh flow set 2 chain 4 src 10.0.0.2/32 dst 10.0.0.1/32"
}

# Node 3's packets as vm0 reads them from the region (the library's tick
# publishes them): every frame from and to its peers.
bar_host_counters()
{
	local tx rx bad

	sleep 1
	vm_exec vm0 "chainmesh node show" || return 1
	tx=$(cm_node_field 3 tx)
	rx=$(cm_node_field 3 rx)
	bad=$(cm_node_field 3 bad)
	CM_OUT="node 3: tx $tx rx $rx bad $bad"
	tap_diag "$CM_OUT"
	ge "$rx" $((PINGS * 2 + 700)) && ge "$tx" $((PINGS * 2 + 700)) &&
		[ "$bad" = 0 ]
}

# cml_stat NAME: a counter of cml-node's final stats line in CM_OUT.
cml_stat()
{
	awk -v k="$1" '/cml-node: stats/ {
		for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' \
		<<<"$CM_OUT"
}

# SIGTERM: cml-node leaves (its last counters printed), vm0 sees node 3
# absent; what it forwarded went zero copy, nothing was bad.
cml_node_leave()
{
	local fwd bad rx

	vm_exec vm3 "kill -TERM \$(cat /tmp/fwd.pid)" || return 1
	vm_wait_for vm3 "grep -q 'cml-node: stats' /tmp/fwd.log" 20 || return 1
	vm_exec vm3 "cat /tmp/fwd.log" || return 1
	rx=$(cml_stat rx)
	fwd=$(cml_stat fwd)
	bad=$(cml_stat bad)
	tap_diag "$(grep 'cml-node: stats' <<<"$CM_OUT")"
	CM_OUT="cml-node: rx $rx fwd $fwd bad $bad"
	ge "$fwd" $((PINGS * 2 + 700)) && [ "$bad" = 0 ] && node_state 3 absent
}

pools_full()
{
	cm_pool_full vm1 20 && cm_pool_full vm2 20
}

# SIGKILL under a ping: no leave; vm0's verdict by the heartbeat (down),
# then VM1 and VM2 take their buffers back.
cml_node_kill()
{
	vm_exec vm1 "ping -i 0.1 -W 1 10.0.0.2 >/tmp/ping.log 2>&1 &
		     echo \$! >/tmp/ping.pid" || return 1
	sleep 2
	vm_exec vm3 "kill -KILL \$(cat /tmp/fwd.pid)" || return 1
	node_state 3 down 20 || return 1
	vm_exec vm1 "kill \$(cat /tmp/ping.pid)"
}

BAR_STEPS=12
TP_STEPS=9
tap_plan $((6 + TP_STEPS + BAR_STEPS + 1))
cm_step "lab: daemon and 4 VMs up (vm3: cml-node, no chainmesh.ko)" fatal lab_up
cm_step "vm0: insmod chainmesh_host.ko" fatal cm_ping_host_load
cm_step "vm1: chainmesh.ko, cm0 10.0.0.1/24 up" fatal cm_ping_guest_up vm1 10.0.0.1/24
cm_step "vm2: chainmesh.ko, cm0 10.0.0.2/24 up" fatal cm_ping_guest_up vm2 10.0.0.2/24
cm_step "vm0: nodes 1 and 2 up" fatal cm_ping_nodes_up
cm_step "vm0: chains 1 (1 4 2), 2 (2 4 1) and their flows" fatal chains

tp_step "dpdk-testpmd -d librte_net_chainmesh.so joins as node 4 (daemon socket)" fatal testpmd_start
tp_step "testpmd: start (io forwarding); vm0 sees node 4 up" fatal eval 'tp start && node_state 4 up'
tp_step "testpmd port 0: link up (the node's state)" - link_up
tp_step "vm1: ping -c $PINGS 10.0.0.2 through testpmd, all answered" - ping_through
tp_step "TCP vm1 -> vm2 through testpmd, $KIB KiB: checksums match" - tcp_through
tp_step "testpmd: port stats count them, rx = tx" - port_stats
tp_step "testpmd: xstats with ethtool -S names; zero copy, nothing bad" - xstats
tp_step "testpmd quits: node 4 absent" - node4_gone
tp_step "vm1 and vm2 pools full" - pools_full

cm_step "vm3: ivshmem device without a driver; memory decoding on" fatal bar_device
cm_step "vm3: cml-node -P (BAR0, BAR2; polling) joins as node 3; vm0 sees it up" fatal cml_node_start
cm_step "vm0: flows 1, 2 onto chains 3 (1 3 2), 4 (2 3 1)" fatal bar_flows
cm_step "vm1: ping -c $PINGS 10.0.0.2 through vm3's cml-node, all answered" - ping_through
cm_step "TCP vm1 -> vm2 through vm3's cml-node, $KIB KiB: checksums match" - tcp_through
cm_step "vm0: node 3's counters count them, bad 0" - bar_host_counters
cm_step "vm3: SIGTERM: cml-node forwarded them zero copy, nothing bad; node 3 absent" - cml_node_leave
cm_step "vm1 and vm2 pools full after node 3 left" - pools_full
cm_step "vm3: cml-node rejoins as node 3 (vm0 sees it up)" - cml_node_start
cm_step "vm1: ping -c $PINGS 10.0.0.2 through the rejoined node 3" - ping_through
cm_step "vm3: SIGKILL under a ping: vm0 marks node 3 down" - cml_node_kill
cm_step "vm1 and vm2 pools full: their buffers came home from node 3" - pools_full
cm_step "consoles: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
tap_exit_status
