#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: a real service chain. VM0 is the host (chainmesh_host.ko,
# node 0 = the netdev cmh-lab, where the chain starts and ends); three
# guests run network functions nobody wrote for chainmesh: nftables
# (firewall), an XDP program built here with clang, nftables masquerade.
#
#   +------------------------------- VM0: host ------------------------------+
#   | netns cli 192.168.10.2 --veth-- root (ip_forward) --veth-- netns srv   |
#   |   ping, cmudp send          |  cmh-lab 10.0.0.254  203.0.113.10 cmudp  |
#   +-----------------------------+-- node 0 ---------------------------------+
#   ==================== one shared ivshmem region ==========================
#        |                         |                          |
#   +----+-------------+  +--------+-----------+  +-----------+-----------+
#   | VM1 node 1       |  | VM2 node 2         |  | VM3 node 3            |
#   | firewall: nft    |->| xdp_count.o: count |->| NAT: nft masquerade   |
#   | udp dport 9999   |<-| per source, XDP_TX |<-| 192.168.10.2 ->       |
#   | counter drop     |  | (zero copy)        |  |   10.0.0.3            |
#   +------------------+  +--------------------+  +-----------------------+
#
#   chain 1 = 0 1 2 3  flow 1  192.168.10.0/24 -> 203.0.113.0/24 (ingress)
#   chain 2 = 3 0      flow 2  10.0.0.3 -> 203.0.113.0/24         (egress)
#   chain 3 = 0 3 2 1  flow 3  203.0.113.0/24 -> 10.0.0.3   (replies in)
#   chain 4 = 1 0      flow 4  203.0.113.0/24 -> 192.168.10.0/24 (out)
#   chain 5 = 0 {1 2} 3 policy failover   flow 5  udp dport 7000 (prio 5,
#                      before flows 1-4 at prio 10): a replica group
#
# The client pings the server and sends UDP to ports 8888 (allowed) and
# 9999 (the firewall drops it); the demo then shows what each hop did.
# Last, VM1 and VM2 act as two replicas of one forwarding hop (chain 5):
# GFLOWS UDP flows to port 7000 spread over both (node 0 picks one per
# flow by a symmetric hash), then VM1 is killed: the host declares node 1
# down, its flows fail over to VM2 and all arrive again. The demo exits 0
# only if every step passed. Knobs: DEMO_COUNT (default 10).
#
# On the screen: a line per step, the per-hop table, PASS or FAIL, the
# time (about 40 lines); what each step printed (counters, nft tables,
# conntrack, flow show) goes to the log file it names, DEMO_LOG (default
# build/demo.log); a failed step also shows its last lines.

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/../../selftests/vm/lib.sh"
# shellcheck source=selftests/vm/lib/datapath.sh
. "$CM_ROOT/selftests/vm/lib/datapath.sh"

COUNT=${DEMO_COUNT:-10}
GFLOWS=16		# UDP flows (source ports) to port 7000 on chain 5
CLI=192.168.10.2
SRV=203.0.113.10
NATIP=10.0.0.3
# masquerade and conntrack state expressions, beyond CM_DP_KMODS
CMLAB_KMODS="$CMLAB_KMODS nft_masq nft_ct"

DEMO_LOG=${DEMO_LOG:-$CM_ROOT/build/demo.log}
mkdir -p "$(dirname "$DEMO_LOG")"
: >"$DEMO_LOG"
demo_t0=$SECONDS
demo_failed=0
demo_start=$(date +%s.%N)

demo_elapsed()
{
	awk -v a="$demo_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%6.1fs", b - a }'
}

demo_indent()
{
	local line

	while IFS= read -r line; do
		echo "    $line"
	done <<<"$1"
}

# cm_step DESC FATAL CMD...: a progress line (replaces lib.sh's TAP one).
# Whatever CMD prints and its $CM_OUT go to $DEMO_LOG; a failed step
# shows the last lines of $CM_OUT on the screen too.
cm_step()
{
	local desc=$1 fatal=$2 rc=0

	shift 2
	CM_OUT=
	printf '[%s] %s ... ' "$(demo_elapsed)" "$desc"
	printf '\n== [%s] %s\n' "$(demo_elapsed)" "$desc" >>"$DEMO_LOG"
	"$@" >>"$DEMO_LOG" 2>&1 || rc=$?
	[ -z "$CM_OUT" ] || demo_indent "$CM_OUT" >>"$DEMO_LOG"
	if [ "$rc" = 0 ]; then
		echo "ok"
		echo "== ok" >>"$DEMO_LOG"
	else
		echo "FAILED"
		echo "== FAILED (rc $rc)" >>"$DEMO_LOG"
		demo_failed=$((demo_failed + 1))
		[ -z "$CM_OUT" ] || demo_indent "$(tail -n 8 <<<"$CM_OUT")"
		echo "    (all of it: $DEMO_LOG)"
		if [ "$fatal" = fatal ]; then
			echo "demo: FAIL (giving up); log $DEMO_LOG, console logs in $CMLAB_DIR"
			CMLAB_KEEP=1
			exit 1
		fi
	fi
}

# ------------------------------------------------------------------ setup

# the XDP program (clang) and its map reader (static), then the lab
demo_lab()
{
	lab_dir_init
	make -s -C "$CM_DP_PROGS" xdp_count.o >&2 &&
	cc -O2 -Wall -static -o "$CMLAB_DIR/cmxdpstat" "$CM_DP_PROGS/cmxdpstat.c" ||
		return 1
	export CMLAB_FILES="$CMLAB_FILES $CMLAB_DIR/cmxdpstat:/usr/bin/"
	dp_lab_start 4
}

# VM0: client and server namespaces around the root namespace, which
# sends what the client sends (iif vcli) into cmh-lab
demo_host_net()
{
	vm_exec vm0 "[ -d /sys/class/net/cmh-lab ] || exit 1
		mkdir -p /run/netns
		sysctl -qw net.ipv4.ip_forward=1 &&
		sysctl -qw net.ipv4.conf.all.rp_filter=0 &&
		sysctl -qw net.ipv4.conf.default.rp_filter=0 &&
		ip addr add 10.0.0.254/24 dev cmh-lab && ip link set cmh-lab up &&
		ip netns add cli && ip netns add srv &&
		ip link add vcli type veth peer name eth0 netns cli &&
		ip link add vsrv type veth peer name eth0 netns srv &&
		ip addr add 192.168.10.1/24 dev vcli && ip link set vcli up &&
		ip addr add 203.0.113.1/24 dev vsrv && ip link set vsrv up &&
		ip -n cli addr add $CLI/24 dev eth0 && ip -n cli link set eth0 up &&
		ip -n cli link set lo up && ip -n cli route add default via 192.168.10.1 &&
		ip -n srv addr add $SRV/24 dev eth0 && ip -n srv link set eth0 up &&
		ip -n srv link set lo up && ip -n srv route add default via 203.0.113.1 &&
		ip rule add iif vcli lookup 100 &&
		ip route add default dev cmh-lab table 100"
}

demo_flows()
{
	vm_exec vm0 "chainmesh chain add 1 hops 0 1 2 3 &&
		chainmesh chain add 2 hops 3 0 &&
		chainmesh chain add 3 hops 0 3 2 1 &&
		chainmesh chain add 4 hops 1 0 &&
		chainmesh flow add 1 chain 1 prio 10 src 192.168.10.0/24 dst 203.0.113.0/24 &&
		chainmesh flow add 2 chain 2 prio 10 src $NATIP/32 dst 203.0.113.0/24 &&
		chainmesh flow add 3 chain 3 prio 10 src 203.0.113.0/24 dst $NATIP/32 &&
		chainmesh flow add 4 chain 4 prio 10 src 203.0.113.0/24 dst 192.168.10.0/24 &&
		chainmesh chain show" || return 1
}

# demo_router VM: forwards between the chain's neighbours through cm0
demo_router()
{
	dp_ip_forward "$1" &&
	vm_exec "$1" "sysctl -qw net.ipv4.conf.all.rp_filter=0 &&
		      sysctl -qw net.ipv4.conf.cm0.rp_filter=0 &&
		      ip route add 192.168.10.0/24 dev cm0 &&
		      ip route add 203.0.113.0/24 dev cm0"
}

demo_firewall()
{
	demo_router vm1 &&
	vm_exec vm1 "nft add table inet fw &&
		nft add chain inet fw fw_forward '{ type filter hook forward priority 0; policy accept; }' &&
		nft add rule inet fw fw_forward udp dport 9999 counter drop &&
		nft add rule inet fw fw_forward ip saddr 192.168.10.0/24 counter accept &&
		nft add rule inet fw fw_forward ip daddr 192.168.10.0/24 counter accept"
}

demo_nat()
{
	demo_router vm3 &&
	vm_exec vm3 "nft add table ip nat &&
		nft add chain ip nat post '{ type nat hook postrouting priority 100; }' &&
		nft add rule ip nat post ip saddr 192.168.10.0/24 oifname cm0 counter masquerade &&
		nft add table ip acct &&
		nft add chain ip acct nat_forward '{ type filter hook forward priority 0; }' &&
		nft add rule ip acct nat_forward ct direction reply counter &&
		nft add rule ip acct nat_forward ct state new counter &&
		nft add rule ip acct nat_forward ct state established counter"
}

# ------------------------------------------------------------------ traffic

demo_ping()
{
	local got

	vm_exec vm0 "ip netns exec cli ping -c $COUNT -i 0.2 -W 3 $SRV" $((COUNT + 40)) || true
	got=$(ping_received "$CM_OUT")
	DEMO_PING=${got:-0}
	CM_OUT=$(sed -n '/packets transmitted/,$p' <<<"$CM_OUT")
	[ "$got" = "$COUNT" ]
}

# demo_udp PORT MAX_S: the server counts what the client's COUNT
# datagrams to PORT delivered (cmudp, in the namespaces): until 2 s
# without one, or MAX_S s when none comes
demo_udp()
{
	local port=$1 out=/tmp/recv.$1 got

	vm_exec vm0 "rm -f $out; (ip netns exec srv cmudp recv $port 2000 $2 > $out 2>&1 &)
		n=0; until grep -q listening $out 2>/dev/null; do
			[ \$n -ge 50 ] && exit 1; n=\$((n + 1)); usleep 100000; done
		ip netns exec cli cmudp send $SRV $port $COUNT" || return 1
	vm_wait_for vm0 "grep -q received $out" 40 || return 1
	vm_exec vm0 "cat $out" || return 1
	got=$(sed -n 's/^received \([0-9]*\) .*/\1/p' <<<"$CM_OUT")
	printf -v "DEMO_UDP_$port" '%s' "${got:-0}"
	CM_OUT="server received $got of $COUNT datagrams to port $port"
	if [ "$port" = 9999 ]; then
		[ "$got" = 0 ]
	else
		[ "$got" = "$COUNT" ]
	fi
}

# ------------------------------------------------------------------ what each hop did

demo_flow_show()
{
	vm_exec vm0 "chainmesh flow show; chainmesh node show | grep -v 'state absent'" || return 1
	DEMO_FLOWS=$CM_OUT
}

# flow_pk FLOW NODE: packets FLOW counted at NODE, from DEMO_FLOWS
flow_pk()
{
	awk -v f="$1" -v n="$2:" '
		$1 == "flow" { cur = $2 }
		cur == f && $1 == "node" && $2 == n { print $3; exit }' <<<"$DEMO_FLOWS"
}

# nft_pk TEXT MATCH: packets of the counter on the rule that contains MATCH
nft_pk()
{
	grep -F -- "$2" <<<"$1" | sed -n 's/.*counter packets \([0-9]*\) .*/\1/p' | head -n 1
}

demo_fw_show()
{
	vm_exec vm1 "nft list table inet fw" || return 1
	DEMO_FW_DROP=$(nft_pk "$CM_OUT" "dport 9999")
	[ "$DEMO_FW_DROP" = "$COUNT" ]
}

demo_xdp_show()
{
	vm_exec vm2 "cmxdpstat && ethtool -S cm0 | grep -E ' xdp_(tx|tx_zerocopy|drop|pass):'" || return 1
	DEMO_XDP_CLI=$(awk -v s="$CLI" '$1 == "source" && $2 == s { print $4 }' <<<"$CM_OUT")
	DEMO_XDP_SRV=$(awk -v s="$SRV" '$1 == "source" && $2 == s { print $4 }' <<<"$CM_OUT")
	DEMO_XDP_TX=$(awk '$1 == "xdp_tx:" { print $2 }' <<<"$CM_OUT")
	# requests (ping and port 8888) one way, ping replies the other
	ge "$DEMO_XDP_CLI" $((2 * COUNT)) && ge "$DEMO_XDP_SRV" "$COUNT" &&
		ge "$DEMO_XDP_TX" $((3 * COUNT))
}

demo_nat_show()
{
	vm_exec vm3 "nft list table ip nat; nft list table ip acct;
		     echo '/proc/net/nf_conntrack:'; cat /proc/net/nf_conntrack;
		     ethtool -S cm0 | grep -E ' tx_ctx:'" || return 1
	DEMO_NAT_MASQ=$(nft_pk "$CM_OUT" masquerade)
	DEMO_NAT_CT=$(grep -c "src=$CLI .*src=$SRV dst=$NATIP" <<<"$CM_OUT" || true)
	DEMO_NAT_REPLY=$(nft_pk "$CM_OUT" "ct direction reply")
	DEMO_NAT_CTX=$(awk '$1 == "tx_ctx:" { print $2 }' <<<"$CM_OUT")
	ge "$DEMO_NAT_MASQ" 1 && ge "$DEMO_NAT_CT" 1 && ge "$DEMO_NAT_REPLY" "$COUNT"
}

# Every hop of the forward chain saw the client's ping and port 8888; the
# firewall's hop (node 1) also the dropped port 9999, the later hops not.
# Replies: flow 3 is counted where its header still matches (nodes 0, 3);
# after the NAT un-did the address, nodes 2 and 1 carry them by chain
# context: the XDP map (node 2) and flow 4 (node 1) count them there.
demo_hops_ok()
{
	local want=$((2 * COUNT)) n

	CM_OUT="see the table below"
	for n in 0 1 2 3; do
		ge "$(flow_pk 1 "$n")" "$want" || return 1
	done
	ge "$(flow_pk 1 1)" $((3 * COUNT)) &&
	[ "$(flow_pk 1 2)" -lt $((3 * COUNT)) ] &&
	ge "$(flow_pk 2 3)" "$want" && ge "$(flow_pk 2 0)" "$want" &&
	ge "$(flow_pk 3 0)" "$COUNT" && ge "$(flow_pk 3 3)" "$COUNT" &&
	ge "$DEMO_NAT_CTX" "$COUNT" && ge "$DEMO_XDP_SRV" "$COUNT" &&
	ge "$(flow_pk 4 1)" "$COUNT" && ge "$(flow_pk 4 0)" "$COUNT"
}

demo_table()
{
	local f n row

	printf '  %-30s %8s %8s %8s %8s\n' "flow (chain)" "node 0" "node 1" "node 2" "node 3"
	for f in "1 (0 1 2 3) client -> server" "2 (3 0)     NAT -> server" \
		 "3 (0 3 2 1) server -> NAT" "4 (1 0)     firewall -> client"; do
		row=
		for n in 0 1 2 3; do
			row+=$(printf ' %8s' "$(flow_pk "${f%% *}" "$n")")
		done
		printf '  %-30s%s\n' "$f" "$row"
	done
	echo "  (flow 3 at nodes 2, 1: the NAT restored the client's address, so the"
	echo "   frames no longer match flow 3; they stay on chain 3 by its context:"
	echo "   vm3 tx_ctx ${DEMO_NAT_CTX:-?}, vm2's XDP map, then flow 4 at node 1)"
	echo
	printf '  %-10s %-44s %s\n' "hop" "network function" "what it did"
	printf '  %-10s %-44s %s\n' "vm0 in" "cmh-lab: client namespace -> chain 1" \
		"ping $DEMO_PING/$COUNT, udp 8888 ${DEMO_UDP_8888:-0}/$COUNT, udp 9999 ${DEMO_UDP_9999:-?}/$COUNT at the server"
	printf '  %-10s %-44s %s\n' "vm1" "nftables: udp dport 9999 counter drop" \
		"dropped ${DEMO_FW_DROP:-?} datagrams to port 9999"
	printf '  %-10s %-44s %s\n' "vm2" "XDP xdp_count.o (clang): count, XDP_TX" \
		"$CLI ${DEMO_XDP_CLI:-?} pk, $SRV ${DEMO_XDP_SRV:-?} pk; xdp_tx ${DEMO_XDP_TX:-?}"
	printf '  %-10s %-44s %s\n' "vm3" "nftables: masquerade to $NATIP" \
		"${DEMO_NAT_CT:-?} connections NATed (conntrack), ${DEMO_NAT_REPLY:-?} replies un-NATed"
	printf '  %-10s %-44s %s\n' "vm0 out" "cmh-lab -> server / client namespaces" \
		"flow 2: $(flow_pk 2 0) pk in from NAT, flow 4: $(flow_pk 4 0) pk back to the client"
	printf '  %-10s %-44s %s\n' "vm1|vm2" "replica group (chain 5, failover)" \
		"$GFLOWS flows: ${DEMO_G1:-?} pk via vm1, ${DEMO_G2:-?} via vm2; vm1 killed: all via vm2 (+$((${DEMO_G2B:-0} - ${DEMO_G2:-0})))"
}

demo_pools()
{
	wait_for "dp_pools_full vm1 vm2 vm3" 15
}

# ------------------------------------------------------------------ a replica group

demo_group()
{
	vm_exec vm0 "chainmesh chain add 5 hops 0 {1 2} 3 policy failover &&
		chainmesh flow add 5 chain 5 prio 5 proto udp dport 7000 src 192.168.10.0/24 dst 203.0.113.0/24 &&
		chainmesh chain show" || return 1
	grep -q '^    group hop 1 members 1 2 live 1 2$' <<<"$CM_OUT"
}

# demo_group_send: GFLOWS senders of COUNT datagrams each (a source port
# each, so GFLOWS flows) to the server's port 7000; all must arrive.
demo_group_send()
{
	local out=/tmp/recv.7000 got

	vm_exec vm0 "rm -f $out; (ip netns exec srv cmudp recv 7000 2000 30 > $out 2>&1 &)
		n=0; until grep -q listening $out 2>/dev/null; do
			[ \$n -ge 50 ] && exit 1; n=\$((n + 1)); usleep 100000; done
		for i in \$(seq $GFLOWS); do ip netns exec cli cmudp send $SRV 7000 $COUNT; done" ||
		return 1
	vm_wait_for vm0 "grep -q received $out" 40 || return 1
	vm_exec vm0 "cat $out" || return 1
	got=$(sed -n 's/^received \([0-9]*\) .*/\1/p' <<<"$CM_OUT")
	demo_flow_show || return 1
	CM_OUT="server received $got of $((GFLOWS * COUNT)); flow 5 at node 1: $(flow_pk 5 1), node 2: $(flow_pk 5 2)"
	[ "$got" = $((GFLOWS * COUNT)) ]
}

DEMO_G1=
DEMO_G2=
demo_group_spread()
{
	demo_group_send || return 1
	DEMO_G1=$(flow_pk 5 1)
	DEMO_G2=$(flow_pk 5 2)
	ge "$DEMO_G1" "$COUNT" && ge "$DEMO_G2" "$COUNT"
}

# VM1 killed: node 1 down, out of the group; every flow arrives via VM2,
# node 1 carries nothing more.
demo_group_failover()
{
	local t0=$SECONDS

	"$CMLAB" kill vm1 >/dev/null 2>&1 || return 1
	vm_wait_for vm0 "chainmesh node show | grep -q '^node 1 state down'" 20 ||
		return 1
	DEMO_DOWN=$((SECONDS - t0))
	vm_exec vm0 "chainmesh chain show" || return 1
	grep -q '^    group hop 1 members 1 2 live 2$' <<<"$CM_OUT" || return 1
	demo_group_send || return 1
	DEMO_G2B=$(flow_pk 5 2)
	CM_OUT="node 1 down after ${DEMO_DOWN}s; $CM_OUT"
	[ "$(flow_pk 5 1)" = "$DEMO_G1" ] &&
		[ $((DEMO_G2B - DEMO_G2)) -ge $((GFLOWS * COUNT)) ]
}

demo_teardown()
{
	vm_exec vm2 "ip link set cm0 xdp off" &&
	vm_exec vm0 "ip netns del cli && ip netns del srv" &&
	dp_unload vm2 vm3
}

# ------------------------------------------------------------------ main

echo "chainmesh demo: host (VM0) -> firewall (VM1) -> XDP (VM2) -> NAT (VM3) -> host, under QEMU TCG;"
echo "then VM1 and VM2 as a replica group, and a failover"
echo "(what each step printed: $DEMO_LOG)"
cm_step "build xdp_count.o (clang), cmxdpstat; boot daemon + VM0..VM3" fatal demo_lab
cm_step "vm0: insmod chainmesh_host.ko (node 0, netdev cmh-lab)" fatal dp_host_load
for n in 1 2 3; do
	cm_step "vm$n: insmod chainmesh.ko, cm0 10.0.0.$n up" fatal dp_guest_up "vm$n" "$n"
done
cm_step "vm0: nodes 1 2 3 up, guests have carrier" fatal dp_nodes_up 1 2 3
cm_step "vm0: cmh-lab 10.0.0.254, netns cli $CLI and srv $SRV" fatal demo_host_net
cm_step "vm0: chains 1 (0 1 2 3), 2 (3 0), 3 (0 3 2 1), 4 (1 0); flows 1-4" fatal demo_flows
cm_step "vm1: firewall: ip_forward, nft 'udp dport 9999 counter drop'" fatal demo_firewall
cm_step "vm2: ip link set cm0 xdp obj xdp_count.o" fatal dp_xdp_attach xdp_count.o
cm_step "vm3: NAT: ip_forward, nft masquerade $CLI -> $NATIP" fatal demo_nat
cm_step "client: ping -c $COUNT $SRV through the chain: all answered" - demo_ping
cm_step "client: udp to $SRV:8888: all $COUNT arrive" - demo_udp 8888 30
cm_step "client: udp to $SRV:9999: none arrive" - demo_udp 9999 6
cm_step "vm1: firewall's counters: port 9999 dropped $COUNT" - demo_fw_show
cm_step "vm2: XDP map per source and ethtool xdp counters" - demo_xdp_show
cm_step "vm3: NAT counters and conntrack" - demo_nat_show
cm_step "vm0: chainmesh flow show / node show (per hop, per flow)" - demo_flow_show
cm_step "per-hop counters: each hop saw its flows, port 9999 stopped at vm1" - demo_hops_ok
cm_step "vm1..3: every buffer back in its pool" - demo_pools
cm_step "vm0: chain 5 (0 {1 2} 3, failover): vm1, vm2 replicas of one hop" - demo_group
cm_step "client: $GFLOWS udp flows to :7000 spread over vm1 and vm2, all arrive" - demo_group_spread
cm_step "vm1 killed: node 1 down, its flows fail over to vm2, all arrive" - demo_group_failover
cm_step "all: xdp off, namespaces gone, rmmod chainmesh (vm2, vm3), chainmesh_host" - demo_teardown
cm_step "consoles: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop

echo
echo "What each hop did:"
demo_table
demo_table >>"$DEMO_LOG"
echo
echo "$demo_failed step(s) failed; total $((SECONDS - demo_t0)) s; details in $DEMO_LOG"
if [ "$demo_failed" -ne 0 ]; then
	echo "demo: FAIL; log $DEMO_LOG, console logs in $CMLAB_DIR"
	CMLAB_KEEP=1
	exit 1
fi
echo "demo: PASS"
