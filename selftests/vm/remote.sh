#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A chain across two hosts: two labs, each a host VM (node 0 of its own
# mesh) with one guest, the two host VMs linked by a virtio-net link (QEMU
# -netdev socket, UDP on loopback). Node 0 of each host continues chains
# on the other through a geneve device in collect_md mode, the chain
# context in a Geneve option (Documentation/remote.rst).
#
#   lab A                                    lab B
#   +--------------------------+  eth0      +--------------------------+
#   | VM0 host A  cmh-lab      |172.16.0.1  | VM0 host B  cmh-lab      |
#   |  netns cli 192.168.10.2  |<==========>|  netns srv 192.168.20.2  |
#   |  gnv0 (geneve external)  | 172.16.0.2 |  gnv0 (geneve external)  |
#   +-----+--------------------+  Geneve    +-----+--------------------+
#         | mesh A                  vni 42        | mesh B
#   +-----+--------------------+            +-----+--------------------+
#   | VM1 A1: masquerade       |            | VM1 B1: masquerade       |
#   |  cm0 10.1.0.1            |            |  cm0 10.2.0.1            |
#   +--------------------------+            +--------------------------+
#
#   A: chain 1 = 0 1 (flow cli -> srv), chain 2 = 1 0 (after A1's NAT),
#      rchain out 2 -> B's 1; rchain in B's 3 -> chain 3 = 0 1, chain 4 =
#      1 0 (after A1's de-NAT) ends in A's stack, to cli.
#   B: rchain in A's 1 -> chain 1 = 0 1, chain 2 = 1 0 (after B1's NAT)
#      ends in B's stack, to srv; replies: chain 3 = 0 1, chain 4 = 1 0
#      (after B1's de-NAT), rchain out 4 -> A's 3.
#
# Asserts: ping and a TCP transfer from cli to srv across both hosts (both
# ways through both guests), per-hop flow counters on both hosts, the
# remote counters (chainmesh remote/rchain show), tcpdump on host A's
# link decoding the Geneve header and the chainmesh option (class 0xfff0,
# type 0x81, chain and hop), Geneve frames without the option and with a
# chain B does not map counted (malformed, unknown) and dropped, the
# monitor's notifications of remote peers and mappings added and deleted
# on A, and a clean unload. Prints TAP.

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=selftests/vm/lib/datapath.sh
. "$(dirname "$0")/lib/datapath.sh"

dp_require nft tcpdump

COUNT=10
PORT_A=$((20000 + ($$ % 10000) * 2))
PORT_B=$((PORT_A + 1))
LAB_B=
lab_b_started=

# ------------------------------------------------------------------ labs

# vm_b VM CMD [TIMEOUT]: vm_exec in lab B.
vm_b()
{
	CMLAB_DIR=$LAB_B vm_exec "$@"
}

remote_cleanup()
{
	local rc=$?

	set +e
	if [ -n "$lab_b_started" ]; then
		CMLAB_DIR=$LAB_B "$CMLAB" stop >"$LAB_B/stop.out" 2>&1 || rc=1
		sed 's/^/# lab B: /' "$LAB_B/stop.out"
	fi
	(exit $rc)
	lab_cleanup
}

# Both labs: A by lib.sh (its build shared with B), then B in a
# directory of A's, VM0s linked over loopback UDP.
labs_start()
{
	local opts

	CMLAB_KMODS="$CMLAB_KMODS geneve virtio_pci virtio_net nft_masq"
	opts=$(dp_build_options) || return 1
	mapfile -t opts <<<"$opts"
	# shellcheck disable=SC2034 # for lab_start in lib.sh
	CM_LAB_LIFETIME=900
	# shellcheck disable=SC2034 # for lab_start in lib.sh
	CM_LAB_VM0_NETDEV="udp=127.0.0.1:$PORT_B,localaddr=127.0.0.1:$PORT_A"
	lab_start 2 "${opts[@]}" --prog /usr/bin/tcpdump:/usr/bin/ || return 1
	trap remote_cleanup EXIT
	LAB_B=$CMLAB_DIR/b
	mkdir -p "$LAB_B"
	lab_b_started=1
	CM_OUT=$(CMLAB_DIR=$LAB_B "$CMLAB" start 2 --lifetime 900 \
		--vm0-netdev "udp=127.0.0.1:$PORT_A,localaddr=127.0.0.1:$PORT_B" 2>&1)
}

# both CMD...: CMD with vm_exec, then again with vm_b.
both()
{
	"$@" && CMLAB_DIR=$LAB_B "$@"
}

modules_up()
{
	vm_exec vm0 "insmod $CM_HOST_KO $CM_HOST_LAB" &&
	vm_exec vm1 "insmod $CM_GUEST_KO" &&
	vm_wait_for vm1 "[ -e /sys/class/net/cm0 ]" 20 &&
	dp_ip_forward vm1 &&
	vm_wait_for vm0 "chainmesh node show | grep -q '^node 1 state up'" 30
}

# host_net SELF PEER LAN NS NSADDR: the underlay (eth0, MTU for the
# encapsulation), gnv0, node 0 up, namespace NS with NSADDR behind vNS;
# then a ping to PEER over the link, unless PEER is empty.
host_net()
{
	local self=$1 peer=$2 lan=$3 ns=$4 nsaddr=$5

	vm_exec vm0 "modprobe virtio_pci && modprobe virtio_net && modprobe geneve &&
		n=0; until [ -e /sys/class/net/eth0 ]; do [ \$n -ge 50 ] && break; n=\$((n + 1)); usleep 100000; done;
		sysctl -qw net.ipv4.ip_forward=1 &&
		sysctl -qw net.ipv4.conf.all.rp_filter=0 &&
		sysctl -qw net.ipv4.conf.default.rp_filter=0 &&
		ip link set eth0 mtu 1600 && ip addr add $self/24 dev eth0 &&
		ip link set eth0 up &&
		ip link add gnv0 type geneve external && ip link set gnv0 arp off up &&
		ip link set cmh-lab up &&
		mkdir -p /run/netns && ip netns add $ns &&
		ip link add v$ns type veth peer name eth0 netns $ns &&
		ip addr add $lan.1/24 dev v$ns && ip link set v$ns up &&
		ip -n $ns addr add $nsaddr/24 dev eth0 && ip -n $ns link set eth0 up &&
		ip -n $ns link set lo up && ip -n $ns route add default via $lan.1 &&
		ip rule add iif v$ns lookup 100 &&
		ip route add default dev cmh-lab table 100 &&
		{ [ -z \"$peer\" ] || ping -c 1 -W 5 $peer; }"
}

vm_b_host_net()
{
	CMLAB_DIR=$LAB_B host_net 172.16.0.2 172.16.0.1 192.168.20 srv 192.168.20.2
}

# guest_nat ADDR FROM ROUTE...: VM1's cm0 ADDR; it masquerades what it
# forwards out of cm0 from FROM, with a route to each ROUTE on cm0.
guest_nat()
{
	local addr=$1 from=$2 r routes=

	shift 2
	for r in "$@"; do
		routes="$routes ip route add $r dev cm0 &&"
	done
	vm_exec vm1 "ip addr add $addr/24 dev cm0 && ip link set cm0 up &&
		sysctl -qw net.ipv4.conf.all.rp_filter=0 &&
		sysctl -qw net.ipv4.conf.cm0.rp_filter=0 && $routes
		nft add table ip nat &&
		nft add chain ip nat post '{ type nat hook postrouting priority 100; }' &&
		nft add rule ip nat post ip saddr $from oifname cm0 counter masquerade" &&
	vm_wait_for vm1 "grep -q 1 /sys/class/net/cm0/carrier" 20
}

both_nat()
{
	guest_nat 10.1.0.1 192.168.10.0/24 192.168.10.0/24 192.168.20.0/24 &&
	CMLAB_DIR=$LAB_B guest_nat 10.2.0.1 10.1.0.0/24 10.1.0.0/24 192.168.20.0/24
}

chains_a()
{
	vm_exec vm0 "chainmesh monitor >/tmp/monitor.log 2>&1 &
		echo \$! >/tmp/monitor.pid
		chainmesh chain add 1 hops 0 1 &&
		chainmesh chain add 2 hops 1 0 &&
		chainmesh chain add 3 hops 0 1 &&
		chainmesh chain add 4 hops 1 0 &&
		chainmesh flow add 1 chain 1 src 192.168.10.0/24 dst 192.168.20.0/24 &&
		chainmesh flow add 2 chain 2 src 10.1.0.1/32 dst 192.168.20.0/24 &&
		chainmesh flow add 4 chain 4 src 192.168.20.0/24 dst 192.168.10.0/24 &&
		chainmesh remote add hostb dev gnv0 addr 172.16.0.2 vni 42 &&
		chainmesh rchain add out chain 2 peer hostb rchain 1 &&
		chainmesh rchain add in peer hostb rchain 3 chain 3"
}

chains_b()
{
	vm_b vm0 "chainmesh chain add 1 hops 0 1 &&
		chainmesh chain add 2 hops 1 0 &&
		chainmesh chain add 3 hops 0 1 &&
		chainmesh chain add 4 hops 1 0 &&
		chainmesh flow add 2 chain 2 src 10.2.0.1/32 dst 192.168.20.0/24 &&
		chainmesh flow add 3 chain 3 src 192.168.20.0/24 dst 10.2.0.1/32 &&
		chainmesh flow add 4 chain 4 src 192.168.20.0/24 dst 10.1.0.0/24 &&
		chainmesh remote add hosta dev gnv0 addr 172.16.0.1 vni 42 &&
		chainmesh rchain add in peer hosta rchain 1 chain 1 &&
		chainmesh rchain add out chain 4 peer hosta rchain 3"
}

# Refusals, each with the kernel's reason (extack).
refusals()
{
	local out=

	vm_exec vm0 "chainmesh remote add x dev eth0 addr 172.16.0.9" && return 1
	out="$out$CM_OUT"$'\n'
	grep -q "not a geneve device" <<<"$CM_OUT" || return 1
	vm_exec vm0 "chainmesh remote add hostb dev gnv0 addr 172.16.0.9" && return 1
	out="$out$CM_OUT"$'\n'
	grep -q "remote peer exists" <<<"$CM_OUT" || return 1
	vm_exec vm0 "chainmesh rchain add out chain 1 peer hostb rchain 5" && return 1
	out="$out$CM_OUT"$'\n'
	grep -q "must end at node 0" <<<"$CM_OUT" || return 1
	vm_exec vm0 "chainmesh rchain add in peer hostb rchain 3 chain 3" && return 1
	out="$out$CM_OUT"$'\n'
	grep -q "mapped already" <<<"$CM_OUT" || return 1
	vm_exec vm0 "chainmesh remote del hostb" && return 1
	out="$out$CM_OUT"
	grep -q "mapping names this peer" <<<"$CM_OUT" || return 1
	CM_OUT=$out
}

# ------------------------------------------------------------------ traffic

capture_start()
{
	vm_exec vm0 "rm -f /tmp/td; (tcpdump -Z root -nn -vv -i eth0 -c 4 udp port 6081 > /tmp/td 2>&1 &); sleep 2"
}

ping_across()
{
	vm_exec vm0 "ip netns exec cli ping -c $COUNT -i 0.3 -W 3 192.168.20.2" $((COUNT + 60)) || true
	CM_OUT=$(sed -n '/packets transmitted/,$p' <<<"$CM_OUT")
	[ "$(ping_received "$CM_OUT")" = "$COUNT" ]
}

# The capture decoded the Geneve header and the chainmesh option: VNI 42,
# class 0xfff0, type 0x81 (critical), data: chain (2 bytes), hop, 0. A to
# B: B's remote chain 1, hop 2 (nodes 0 1 of A's chains); B to A: 3, 2.
capture_decoded()
{
	vm_wait_for vm0 "grep -q 'packets captured' /tmp/td" 10 || true
	vm_exec vm0 "cat /tmp/td" || return 1
	grep -q "Geneve.*vni 0x2a" <<<"$CM_OUT" &&
	grep -q "class .*0xfff0) type 0x81(C) len 8 data 00010200" <<<"$CM_OUT" &&
	grep -q "class .*0xfff0) type 0x81(C) len 8 data 00030200" <<<"$CM_OUT" &&
	grep -q "10.1.0.1 > 192.168.20.2: ICMP echo request" <<<"$CM_OUT" &&
	grep -q "192.168.20.2 > 10.1.0.1: ICMP echo reply" <<<"$CM_OUT"
}

# 1 MiB from netns cli of host A to srv of host B.
transfer()
{
	dp_mkfile 1 vm0 || return 1
	DP_RX_LAB=$LAB_B dp_tcp_copy vm0:cli vm0:srv 192.168.20.2 5001
}

# flow_at LAB FLOW NODE MIN: host A's or B's (LAB) count of FLOW at NODE
# is >= MIN.
flow_at()
{
	local lab=$CMLAB_DIR flow=$2 node=$3 min=$4 pk

	[ "$1" = A ] || lab=$LAB_B
	pk=$(CMLAB_DIR=$lab cm_flow_node_packets vm0 "$flow" "$node")
	CM_OUT="flow $flow node $node: $pk packets"
	ge "$pk" "$min"
}

hop_counters()
{
	local out=

	# A: cli -> A1 (flow 1 at 0), A1 -> 0 (flow 2 at 1), replies A1 -> 0
	# (flow 4 at 1); B: B1 -> 0 (flow 2 at 1), srv -> B1 (flow 3 at 0),
	# B1 -> 0 (flow 4 at 1)
	local spec

	for spec in "A 1 0" "A 2 1" "A 4 1" "B 2 1" "B 3 0" "B 4 1"; do
		# shellcheck disable=SC2086 # three words
		set -- $spec
		if ! flow_at "$1" "$2" "$3" "$COUNT"; then
			CM_OUT="$out; $1 $CM_OUT"
			return 1
		fi
		out="$out; $1 $CM_OUT"
	done
	CM_OUT=$out
}

remote_counters()
{
	local a b

	vm_exec vm0 "chainmesh remote show; chainmesh rchain show; chainmesh -j remote show; ethtool -S cmh-lab | grep remote_" || return 1
	a=$CM_OUT
	vm_b vm0 "chainmesh remote show; chainmesh rchain show; ethtool -S cmh-lab | grep remote_" || return 1
	b=$CM_OUT
	CM_OUT="A:"$'\n'"$a"$'\n'"B:"$'\n'"$b"
	ge "$(cm_field "$(grep '^remote hostb' <<<"$a")" tx)" "$COUNT" &&
	ge "$(cm_field "$(grep '^remote hostb' <<<"$a")" rx)" "$COUNT" &&
	[ "$(cm_field "$(grep '^remote hostb' <<<"$a")" errors)" = 0 ] &&
	ge "$(cm_field "$(grep '^rchain out chain 2' <<<"$a")" packets)" "$COUNT" &&
	ge "$(cm_field "$(grep '^rchain in peer hostb rchain 3' <<<"$a")" packets)" "$COUNT" &&
	ge "$(cm_field "$(grep '^rchain in peer hosta rchain 1' <<<"$b")" packets)" "$COUNT" &&
	ge "$(cm_field "$(grep '^rchain out chain 4' <<<"$b")" packets)" "$COUNT" &&
	grep -q '"name":"hostb"' <<<"$a" &&
	grep -q '^remote dropped: malformed 0 unknown-peer 0 no-context 0' <<<"$b"
}

# Geneve frames from host A that are not chainmesh's: without an option
# (a route with lightweight tunnel encap on gnv0), and with the option
# naming a chain B does not map (9). B counts each and drops it: node
# 1 of B receives nothing more.
foreign_frames()
{
	local b1 b2 out

	vm_b vm0 "chainmesh node show" || return 1
	b1=$(cm_node_field 1 rx)
	vm_exec vm0 "ip route add 10.99.0.1/32 encap ip id 42 dst 172.16.0.2 dev gnv0 &&
		ip route add 10.99.0.2/32 encap ip id 42 dst 172.16.0.2 geneve_opts 0xfff0:0x81:00090200 dev gnv0 &&
		ip route add 10.99.0.3/32 encap ip id 42 dst 172.16.0.2 geneve_opts 0xfff0:0x81:00010000 dev gnv0 &&
		ping -c 3 -i 0.2 -W 1 10.99.0.1; ping -c 4 -i 0.2 -W 1 10.99.0.2;
		ping -c 5 -i 0.2 -W 1 10.99.0.3; true" 60 || return 1
	sleep 1
	vm_b vm0 "chainmesh remote show; chainmesh node show; ethtool -S cmh-lab | grep remote_" || return 1
	out=$CM_OUT
	b2=$(cm_node_field 1 rx)
	CM_OUT="node 1 rx $b1 -> $b2"$'\n'"$out"
	# no option: 3; hop 0: 5 (malformed); chain 9: 4 (unknown)
	grep -q '^remote dropped: malformed 8 unknown-peer 0 no-context 0' <<<"$out" &&
	[ "$(cm_field "$(grep '^remote hosta' <<<"$out")" unknown)" = 4 ] &&
	grep -q 'remote_rx_malformed: 8' <<<"$out" &&
	grep -q 'remote_rx_unknown_chain: 4' <<<"$out" &&
	[ "$b1" = "$b2" ]
}

save_shows()
{
	vm_exec vm0 "chainmesh save" || return 1
	grep -q '^remote add hostb dev gnv0 addr 172.16.0.2 vni 42 mesh lab' <<<"$CM_OUT" &&
	grep -q '^rchain add out chain 2 peer hostb rchain 1 mesh lab' <<<"$CM_OUT" &&
	grep -q '^rchain add in chain 3 peer hostb rchain 3 mesh lab' <<<"$CM_OUT"
}

# A: the monitor heard the peer and the mappings added; deleting them
# (B keeps its own for rmmod) announces each as it was, counters and all.
monitor_remote()
{
	local out

	vm_exec vm0 "chainmesh rchain del out chain 2 &&
		chainmesh rchain del in peer hostb rchain 3 &&
		chainmesh remote del hostb &&
		! chainmesh remote show | grep -q hostb &&
		kill \$(cat /tmp/monitor.pid); cat /tmp/monitor.log" || return 1
	out=$(grep -E '^\[(remote|rchain)-' <<<"$CM_OUT")
	CM_OUT=$out
	grep -q '^\[remote-add\] mesh lab remote hostb dev gnv0 addr 172.16.0.2 vni 42 tx 0 ' <<<"$out" &&
	grep -q '^\[rchain-add\] mesh lab rchain out chain 2 peer hostb rchain 1 packets 0 ' <<<"$out" &&
	grep -q '^\[rchain-add\] mesh lab rchain in peer hostb rchain 3 chain 3 packets 0 ' <<<"$out" &&
	grep -Eq '^\[rchain-del\] mesh lab rchain out chain 2 peer hostb rchain 1 packets [1-9]' <<<"$out" &&
	grep -Eq '^\[rchain-del\] mesh lab rchain in peer hostb rchain 3 chain 3 packets [1-9]' <<<"$out" &&
	grep -Eq '^\[remote-del\] mesh lab remote hostb dev gnv0 addr 172.16.0.2 vni 42 tx [1-9]' <<<"$out" &&
	[ "$(wc -l <<<"$out")" = 6 ]
}

unload()
{
	vm_exec vm1 "rmmod chainmesh" && vm_exec vm0 "rmmod chainmesh_host" &&
	vm_exec vm0 "! grep -q chainmesh /proc/modules"
}

both_stop()
{
	local a

	lab_stop || { CM_OUT="lab A: $CM_OUT"; return 1; }
	a=$CM_OUT
	lab_b_started=
	CM_OUT=$(CMLAB_DIR=$LAB_B "$CMLAB" stop 2>&1) || { CM_OUT="lab B: $CM_OUT"; return 1; }
	CM_OUT="$a"$'\n'"$CM_OUT"
}

tap_plan 19
cm_step "labs A and B: 2 VMs each, VM0s linked (udp $PORT_A <-> $PORT_B)" fatal labs_start
cm_step "A, B: chainmesh_host.ko, chainmesh.ko in VM1, node 1 up" fatal both modules_up
cm_step "A: eth0 172.16.0.1, gnv0 (geneve external), netns cli" fatal \
	host_net 172.16.0.1 "" 192.168.10 cli 192.168.10.2
cm_step "B: eth0 172.16.0.2, gnv0 (geneve external), netns srv; pings A" fatal \
	vm_b_host_net
cm_step "A1, B1: cm0 up with carrier, forward and masquerade (nftables)" fatal both_nat
cm_step "A: chains, flows, remote peer hostb, rchains out 2 -> 1, in 3 -> 3" fatal chains_a
cm_step "B: chains, flows, remote peer hosta, rchains in 1 -> 1, out 4 -> 3" fatal chains_b
cm_step "A: bad remote and rchain requests refused with the kernel's reason" - refusals
cm_step "A: tcpdump on eth0 started" - capture_start
cm_step "cli (A) pings srv (B) through A1, B1: $COUNT/$COUNT answered" - ping_across
cm_step "tcpdump decodes Geneve vni 42, option class 0xfff0 type 0x81 chain+hop both ways" - capture_decoded
cm_step "TCP: 1 MiB from cli (A) to srv (B), checksums equal" - transfer
cm_step "per-hop flow counters on both hosts >= $COUNT" - hop_counters
cm_step "remote and rchain counters, JSON, ethtool -S on both hosts" - remote_counters
cm_step "B: Geneve without the option, hop 0, unmapped chain: counted, dropped" - foreign_frames
cm_step "A: chainmesh save has the peer and the mappings" - save_shows
cm_step "A: monitor: remote and rchain add, then del with their counters" - monitor_remote
cm_step "A, B: rmmod chainmesh, chainmesh_host" - both unload
cm_step "consoles of both labs: no Oops, BUG, WARNING" - both_stop
tap_exit_status
