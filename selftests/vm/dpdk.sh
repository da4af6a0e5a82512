#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A DPDK application as a hop of a chain between two kernel guests:
# dpdk-testpmd (Debian's dpdk-dev) with the net_chainmesh driver
# (drivers/dpdk, loaded with -d) joins the lab's mesh as node 3 on the
# lab's host side, through the daemon's socket, and forwards (io mode,
# one port looped onto itself) what VM1 and VM2 send each other.
#
#                 +------------------------------------------+
#                 | VM0  node 0 (host)   chainmesh_host.ko   |
#                 +--------------------+---------------------+
#                                      | peer 0
#   chainmesh-ivshmemd ===== one shared region (memfd) =================
#                  | peer 1                   | peer 2             | peer 3
#   +--------------+-------------+ +----------+----------------+ +-+-------------+
#   | VM1  node 1  chainmesh.ko  | | VM2  node 2  chainmesh.ko  | | dpdk-testpmd  |
#   |      cm0 10.0.0.1/24       | |      cm0 10.0.0.2/24       | | net_chainmesh |
#   +----------------------------+ +----------------------------+ | --no-huge, io |
#   chain 1 = hops 1 3 2: flow 1 10.0.0.1 -> 10.0.0.2               +---------------+
#   chain 2 = hops 2 3 1: flow 2 10.0.0.2 -> 10.0.0.1
#
# Why the host side and not a guest's BARs: a TCG guest big enough for
# DPDK's EAL and testpmd costs a distro guest's boot (and testpmd spins a
# core the three guests need); on the host it is the same driver, the same
# libchainmesh node and the same region (the BAR path, pci=, is the
# library's, unit-tested). --no-huge: the driver's mbufs carry the
# region's buffers as external buffers, so no DMA memory is needed.
#
# Asserts: testpmd joins as node 3 and its port's link is up; ping and a
# TCP transfer (checksummed) go VM1 <-> VM2 through it; testpmd's port
# statistics count them (rx = tx: io forwards all) and its xstats carry
# the kernel node's ethtool -S names; the frames went zero copy
# (xdp_tx_zerocopy, no copy into testpmd's node's pool: tx_copied 0);
# after testpmd quits node 3 is absent and every buffer of VM1's and
# VM2's pools is home. Prints TAP.

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"

PMD=$CM_ROOT/drivers/dpdk/librte_net_chainmesh.so
TESTPMD=${CM_TESTPMD:-dpdk-testpmd}
PINGS=20
KIB=1024

command -v "$TESTPMD" >/dev/null 2>&1 ||
	tap_skip_all "no $TESTPMD (apt-get install dpdk-dev)"
[ -e "$PMD" ] || make -s -C "$CM_ROOT/drivers/dpdk" >&2 || true
[ -e "$PMD" ] ||
	tap_skip_all "no $PMD (libdpdk-dev and scripts/dpdk-sdk.sh)"
# shellcheck source=scripts/dpdk-plugin.sh
. "$CM_ROOT/scripts/dpdk-plugin.sh"
cm_pmd_trusted

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
		--vdev="net_chainmesh0,socket=$CMLAB_DIR/ivshmem.sock,node=3" \
		-- -i --forward-mode=io --port-topology=loop \
		--total-num-mbufs=2048 <"$TP_IN" >"$TP_LOG" 2>&1 &
	TP_PID=$!
	exec 7>"$TP_IN"
	wait_for "grep -q 'testpmd> ' '$TP_LOG'" 60 || {
		CM_OUT=$(tail -n 20 "$TP_LOG")
		return 1
	}
	grep -q "is node 3 of" "$TP_LOG" || grep -q "Port 0: " "$TP_LOG"
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

node3_up()
{
	vm_wait_for vm0 "chainmesh node show | grep -q '^node 3 state up'" 30
}

chains()
{
	vm_exec vm0 "chainmesh chain add 1 hops 1 3 2 &&
		     chainmesh chain add 2 hops 2 3 1 &&
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
	local sum got

	vm_exec vm1 "dd if=/dev/urandom of=/tmp/src bs=1k count=$KIB 2>/dev/null &&
		     md5sum /tmp/src" || return 1
	sum=$(cut -d' ' -f1 <<<"$CM_OUT")
	vm_exec vm2 "rm -f /tmp/dst; (sleep 120 | nc -l -p 5001 > /tmp/dst &)" || return 1
	sleep 1
	vm_exec vm1 "nc 10.0.0.2 5001 < /tmp/src" 120 || return 1
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

node3_gone()
{
	testpmd_stop
	vm_wait_for vm0 "chainmesh node show | grep -q '^node 3 state absent'" 30
}

tap_plan 15
cm_step "lab: daemon and 3 VMs up" fatal lab_start 3
cm_step "vm0: insmod chainmesh_host.ko" fatal cm_ping_host_load
cm_step "vm1: chainmesh.ko, cm0 10.0.0.1/24 up" fatal cm_ping_guest_up vm1 10.0.0.1/24
cm_step "vm2: chainmesh.ko, cm0 10.0.0.2/24 up" fatal cm_ping_guest_up vm2 10.0.0.2/24
cm_step "vm0: nodes 1 and 2 up" fatal cm_ping_nodes_up
cm_step "vm0: chains 1 (1 3 2), 2 (2 3 1) and their flows" fatal chains
cm_step "dpdk-testpmd -d librte_net_chainmesh.so joins as node 3 (daemon socket)" fatal testpmd_start
cm_step "testpmd: start (io forwarding); vm0 sees node 3 up" fatal eval 'tp start && node3_up'
cm_step "testpmd port 0: link up (the node's state)" - link_up
cm_step "vm1: ping -c $PINGS 10.0.0.2 through testpmd, all answered" - ping_through
cm_step "TCP vm1 -> vm2 through testpmd, $KIB KiB: checksums match" - tcp_through
cm_step "testpmd: port stats count them, rx = tx" - port_stats
cm_step "testpmd: xstats with ethtool -S names; zero copy, nothing bad" - xstats
cm_step "testpmd quits: node 3 absent, vm1 and vm2 pools full" - eval 'node3_gone && cm_pool_full vm1 20 && cm_pool_full vm2 20'
cm_step "consoles: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
tap_exit_status
