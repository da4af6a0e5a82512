#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Soak: a chain of three guests under continuous mixed traffic for
# CM_SOAK_SECONDS, then a final accounting. The default, 30 s (sampled
# every 10 s: the whole test takes about 1.5 minutes on a 2-core machine
# under TCG), is make check's: time enough for every stream to run
# thousands of datagrams, dozens of TCP transfers and pings through both
# forwarding paths at once, queues filling and qdiscs dropping, which is
# what the exact accounting needs. What only time finds (a slow leak, a
# counter that wraps, a rare race) is a longer soak's:
#
#   CM_SOAK_SECONDS=3600 selftests/run selftests/vm/soak.sh
#
# (selftests/run gives a soak CM_SOAK_SECONDS + 600 s; the lab lives as
# long). The traffic, both ways along the chain:
#
#   UDP   VM1 -> VM3 ports 6001..6003 (18, 512, 1472 bytes) forwarded by
#         VM2's stack, 7001..7002 (200, 1000 bytes) by VM2's XDP_TX;
#         VM3 -> VM1 port 6101 (300 bytes), stack; cmudp, in batches
#   TCP   1 MiB VM1 -> VM3 with busybox nc, again and again, md5 each
#   ICMP  ping VM1 -> VM3 (56 bytes, every 0.2 s), VM3 -> VM1 (1000, 0.5 s)
#
#                 +-----------------------------------------+
#                 | VM0  node 0  chainmesh_host.ko          |
#                 |      chains, per-protocol flows         |
#                 +-------------------+---------------------+
#   ================= one shared region ===========================
#        |                        |                         |
#   +----+----------+   +---------+------------+   +--------+------+
#   | VM1 node 1    |   | VM2 node 2           |   | VM3 node 3    |
#   | cmudp send    |-->| xdp_soak.o: UDP 70xx |-->| cmudp recv    |
#   | nc, ping      |   |   XDP_TX, rest PASS  |   | nc -ll, ping  |
#   | cmudp recv    |<--| ip_forward           |<--| cmudp send    |
#   +---------------+   +----------------------+   +---------------+
#
#   chain 1 = hops 1 2 3: flows 1 udp, 2 tcp, 3 icmp, 4 other  1 -> 3
#   chain 2 = hops 3 2 1: flows 11 udp, 12 tcp, 13 icmp, 14 other  3 -> 1
#
# Every cm0 has an ETS qdisc whose bands separate what may be dropped:
# 1:1 (strict, pfifo 10000) everything but UDP, 1:2 (fq_codel) UDP to
# 10.0.0.3, 1:3 (fq_codel) UDP to 10.0.0.1: qdisc drops are per direction
# of the UDP traffic. IPv6 is off on cm0 (no chatter without a flow).
#
# Asserts, once the traffic stopped: for each UDP direction, datagrams
# sent (cmudp) = received (cmudp) + every drop counter on the way (qdisc
# bands, ethtool -S drops, XDP drops and bad descriptors, IP discards,
# UDP InErrors and NoPorts of the receiver), exactly; the chainmesh
# driver loses no frame without a counter (per node and per link, from
# qdisc, ip -s link and ethtool -S); every ping answered; every TCP
# transfer arrived intact; no bad descriptor; every pool full again; clean
# rmmod; no Oops/WARN on any console. Prints TAP; the accounting as
# diagnostics.

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=selftests/vm/lib/datapath.sh
. "$(dirname "$0")/lib/datapath.sh"

dp_require tc

SOAK=${CM_SOAK_SECONDS:-30}
CMLAB_LIFETIME=${CMLAB_LIFETIME:-$((SOAK > 300 ? SOAK + 600 : 900))}
CMLAB_KMODS="$CMLAB_KMODS sch_ets cls_u32"
TC=/usr/sbin/tc
D=/tmp/soak
# a stall shows within SAMPLE s (a long soak samples less often)
SAMPLE=$((SOAK > 300 ? 30 : 10))

# Stream table: "VM DST PORT SIZE BATCH GAP_US"
UDP_FWD="vm1 10.0.0.3 6001 18 400 50000
vm1 10.0.0.3 6002 512 300 100000
vm1 10.0.0.3 6003 1472 200 100000
vm1 10.0.0.3 7001 200 800 50000
vm1 10.0.0.3 7002 1000 400 100000"
UDP_REV="vm3 10.0.0.1 6101 300 200 100000"

# ------------------------------------------------------------------ setup

# lab_up: dp_lab_start in a build of this lab's own (CMLAB_BUILD): the ETS
# and u32 modules must be in it, whatever other tests running meanwhile
# build into the shared build/lab.
lab_up()
{
	if [ -z "$CMLAB_DIR" ]; then
		CMLAB_DIR=$(mktemp -d /tmp/lab-XXXXXX)
		# shellcheck disable=SC2034 # for lab_cleanup in lib.sh
		cm_lab_owns_dir=1
	fi
	export CMLAB_DIR
	export CMLAB_BUILD=${CMLAB_BUILD:-$CMLAB_DIR/base}
	dp_lab_start 4
}

guest_up()
{
	local vm=$1 n=$2

	vm_exec "$vm" "insmod $CM_GUEST_KO" &&
	vm_wait_for "$vm" "[ -e /sys/class/net/cm0 ]" 20 &&
	vm_exec "$vm" "sysctl -qw net.ipv6.conf.cm0.disable_ipv6=1 &&
		       ip addr add 10.0.0.$n/24 dev cm0 && ip link set cm0 up"
}

flows()
{
	local c=1 src=10.0.0.1 dst=10.0.0.3 base=0

	vm_exec vm0 "chainmesh chain add 1 hops 1 2 3 &&
		     chainmesh chain add 2 hops 3 2 1" || return 1
	for base in 0 10; do
		vm_exec vm0 "chainmesh flow add $((base + 1)) chain $c prio 10 proto udp src $src/32 dst $dst/32 &&
			     chainmesh flow add $((base + 2)) chain $c prio 10 proto tcp src $src/32 dst $dst/32 &&
			     chainmesh flow add $((base + 3)) chain $c prio 10 proto icmp src $src/32 dst $dst/32 &&
			     chainmesh flow add $((base + 4)) chain $c prio 20 src $src/32 dst $dst/32" ||
			return 1
		c=2 src=10.0.0.3 dst=10.0.0.1
	done
}

# qdiscs VM: ETS with a strict band for all but UDP, a band per UDP way.
# GRO and TSO off: the books count packets, and a qdisc counts a GSO
# skb's segments where the driver counts the frame it sends.
qdiscs()
{
	vm_exec "$1" "modprobe sch_ets && modprobe cls_u32 &&
		ethtool -K cm0 gro off tso off gso off &&
		$TC qdisc replace dev cm0 root handle 1: ets bands 3 strict 1 priomap 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 &&
		$TC qdisc replace dev cm0 parent 1:1 handle 11: pfifo limit 10000 &&
		$TC qdisc replace dev cm0 parent 1:2 handle 12: fq_codel &&
		$TC qdisc replace dev cm0 parent 1:3 handle 13: fq_codel &&
		$TC filter add dev cm0 parent 1: protocol ip prio 1 u32 match ip protocol 17 0xff match ip dst 10.0.0.3/32 flowid 1:2 &&
		$TC filter add dev cm0 parent 1: protocol ip prio 2 u32 match ip protocol 17 0xff match ip dst 10.0.0.1/32 flowid 1:3"
}

all_qdiscs()
{
	qdiscs vm1 && qdiscs vm2 && qdiscs vm3
}

middle()
{
	vm_exec vm2 "sysctl -qw net.ipv4.ip_forward=1 &&
		     sysctl -qw net.ipv4.conf.all.send_redirects=0 &&
		     sysctl -qw net.ipv4.conf.cm0.send_redirects=0 &&
		     ip link set cm0 xdp obj /lib/cmtest/xdp_soak.o sec xdp"
}

# The guest-side loops: udp.sh DST PORT SIZE BATCH GAP_US END sends
# batches until END (seconds since the epoch), one "sent N errors E" line
# per batch, then "end"; tcp.sh DST PORT END sends /tmp/soak/src over and
# over, one "ok" or "fail RC" line per connection, then "end".
scripts()
{
	local vm

	for vm in vm1 vm2 vm3; do
		vm_exec "$vm" "rm -rf $D && mkdir -p $D &&
cat > $D/udp.sh <<'EOF'
#!/bin/sh
while [ \$(date +%s) -lt \$6 ]; do
	cmudp send \$1 \$2 \$4 \$3
	usleep \$5
done > $D/udp.\$2.sent 2>&1
echo end >> $D/udp.\$2.sent
EOF
cat > $D/tcp.sh <<'EOF'
#!/bin/sh
while [ \$(date +%s) -lt \$3 ]; do
	if nc \$1 \$2 < $D/src > /dev/null 2>&1; then echo ok; else echo fail \$?; sleep 1; fi
done > $D/tcp.sent
echo end >> $D/tcp.sent
EOF
printf '#!/bin/sh\nmd5sum >> $D/tcp.sums\n' > $D/sink &&
chmod +x $D/udp.sh $D/tcp.sh $D/sink" || return 1
	done
	vm_exec vm1 "dd if=/dev/urandom of=$D/src bs=64k count=16 2>/dev/null && md5sum $D/src" ||
		return 1
	SUM=$(cut -d' ' -f1 <<<"$CM_OUT")
	[ -n "$SUM" ]
}

# ------------------------------------------------------------------ traffic

# streams VM send|recv: "PORT..." of the UDP streams VM sends or receives.
streams()
{
	awk -v vm="$1" -v way="$2" '
		way == "send" && $1 == vm { printf "%s ", $3 }
		way == "recv" && ($2 == "10.0.0.1") == (vm == "vm1") { printf "%s ", $3 }' <<<"$UDP_FWD
$UDP_REV"
}

# receivers: cmudp recv per port (it ends 5 s after the last datagram),
# the TCP sink on VM3.
receivers()
{
	local vm p cmd cond

	for vm in vm1 vm3; do
		cmd="" cond=true
		for p in $(streams $vm recv); do
			cmd="$cmd (cmudp recv $p 5000 $((SOAK + 300)) > $D/udp.$p.recv 2>&1 &);"
			cond="$cond && grep -q listening $D/udp.$p.recv 2>/dev/null"
		done
		vm_exec $vm "$cmd true" && vm_wait_for $vm "$cond" 10 || return 1
	done
	vm_exec vm3 "(nc -ll -p 5001 -e $D/sink </dev/null >/dev/null 2>&1 & echo \$! > $D/tcp.pid)"
}

# start VM: that VM's senders, all ending SOAK s from now (its clock).
start()
{
	local vm=$1 cmd s dst port size batch gap

	cmd="end=\$((\$(date +%s) + $SOAK));"
	while read -r s dst port size batch gap; do
		[ "$s" = "$vm" ] || continue
		cmd="$cmd ($D/udp.sh $dst $port $size $batch $gap \$end </dev/null >/dev/null 2>&1 &);"
	done <<<"$UDP_FWD
$UDP_REV"
	case $vm in
	vm1)
		cmd="$cmd ($D/tcp.sh 10.0.0.3 5001 \$end </dev/null >/dev/null 2>&1 &);"
		cmd="$cmd (ping -c $((SOAK * 5)) -i 0.2 -W 5 10.0.0.3 </dev/null > $D/ping 2>&1 &);"
		;;
	vm3)
		cmd="$cmd (ping -c $((SOAK * 2)) -i 0.5 -s 1000 -W 5 10.0.0.1 </dev/null > $D/ping 2>&1 &);"
		;;
	esac
	vm_exec "$vm" "$cmd true"
}

traffic_start()
{
	start vm1 && start vm3
}

# soak_run: sleep through the soak, sampling every SAMPLE s that frames
# still reach VM3 and VM1 and that no descriptor was bad.
STALLS=0
soak_run()
{
	local t=0 t0=$SECONDS a3 a1 b3 b1 bad lines=

	a3=$(dp_sum_stats vm3 peer2_rx_packets) && a1=$(dp_sum_stats vm1 peer2_rx_packets) || return 1
	while [ "$t" -lt "$SOAK" ]; do
		t=$((t + SAMPLE < SOAK ? t + SAMPLE : SOAK))
		# by the clock: the samples' own time is not added to the soak
		[ $((t0 + t - SECONDS)) -le 0 ] || sleep $((t0 + t - SECONDS))
		b3=$(dp_sum_stats vm3 peer2_rx_packets) && b1=$(dp_sum_stats vm1 peer2_rx_packets) || return 1
		bad=$(dp_sum_stats vm2 rx_bad_addr rx_bad_align rx_bad_owner rx_bad_len rx_bad_index rx_bad_chain rx_bad_return) ||
			return 1
		lines="$lines${lines:+
}t=${t}s: vm3 +$((b3 - a3)) frames, vm1 +$((b1 - a1)), vm2 bad $bad"
		if [ "$((b3 - a3))" -le 0 ] || [ "$((b1 - a1))" -le 0 ]; then
			STALLS=$((STALLS + 1))
		fi
		a3=$b3 a1=$b1
	done
	CM_OUT=$lines
	[ "$STALLS" = 0 ]
}

# traffic_end: every sender done, every receiver done, pings summed up.
traffic_end()
{
	local vm p cond

	for vm in vm1 vm3; do
		cond="grep -q 'packets received' $D/ping"
		if [ $vm = vm1 ]; then
			cond="$cond && grep -q '^end' $D/tcp.sent"
		fi
		for p in $(streams $vm send); do
			cond="$cond && grep -q '^end' $D/udp.$p.sent"
		done
		for p in $(streams $vm recv); do
			cond="$cond && grep -q '^received' $D/udp.$p.recv"
		done
		vm_wait_for $vm "$cond" 90 || {
			vm_exec $vm "cd $D && tail -n 2 ping tcp.sent udp.*" || true
			return 1
		}
	done
	vm_exec vm3 "kill \$(cat $D/tcp.pid)" || return 1
	# two mesh ticks: the shared per-flow counters are published
	sleep 0.5
}

# ------------------------------------------------------------------ accounting

declare -A C

# collect: every counter of VM1..3 into C[vmN.KEY]: eth.NAME (ethtool -S),
# qd.HANDLE.sent|dropped|backlog, link.rx|tx.packets|dropped|errors,
# snmp.PROTO.FIELD, softnet.dropped, app.* (the tools' own counts); flow
# counters into C[flow.ID.NODE].
collect()
{
	local vm key val p

	for vm in vm1 vm2 vm3; do
		vm_exec "$vm" "ethtool -S cm0; echo '@qd'; $TC -s qdisc show dev cm0;
			       echo '@link'; ip -s link show dev cm0; echo '@snmp'; cat /proc/net/snmp;
			       echo '@softnet'; cat /proc/net/softnet_stat;
			       echo '@app'; cd $D; for f in udp.*.sent; do [ -e \$f ] && echo \"\$f \$(grep -h ^sent \$f | awk '{ s += \$2; e += \$4 } END { print s + 0, e + 0 }')\"; done;
			       for f in udp.*.recv; do [ -e \$f ] && echo \"\$f \$(grep ^received \$f)\"; done;
			       [ -e ping ] && echo \"ping \$(grep 'packets received' ping)\";
			       [ -e tcp.sent ] && echo \"tcp.sent \$(grep -c ^ok tcp.sent) \$(grep -c ^fail tcp.sent)\";
			       [ -e tcp.sums ] && echo \"tcp.sums \$(wc -l < tcp.sums) \$(grep -vc '^$SUM ' tcp.sums)\"; true" ||
			return 1
		while read -r key val; do
			C[$vm.$key]=$val
		done < <(awk '
			/^@/ { sec = substr($1, 2); next }
			sec == "" && $1 ~ /:$/ { k = $1; sub(":$", "", k); print "eth." k, $2 }
			sec == "qd" && $1 == "qdisc" { h = $3; sub(":$", "", h) }
			sec == "qd" && $1 == "Sent" { d = $7; sub(",", "", d); print "qd." h ".sent", $4; print "qd." h ".dropped", d }
			sec == "qd" && $1 == "backlog" { b = $3; sub("p$", "", b); print "qd." h ".backlog", b }
			sec == "link" && ($1 == "RX:" || $1 == "TX:") { dir = tolower(substr($1, 1, 2)); getline
				print "link." dir ".packets", $2; print "link." dir ".errors", $3; print "link." dir ".dropped", $4 }
			sec == "snmp" { if (hdr[$1] == "") { hdr[$1] = $0 } else { n = split(hdr[$1], hh, " "); p = $1; sub(":$", "", p)
				for (i = 2; i <= n; i++) print "snmp." p "." hh[i], $i } }
			sec == "softnet" { v = 0; for (i = 1; i <= length($2); i++) v = v * 16 + index("0123456789abcdef", substr($2, i, 1)) - 1; sd += v }
			sec == "app" && $1 ~ /^udp\..*\.sent$/ { split($1, f, "."); print "app.udp." f[2] ".sent", $2; print "app.udp." f[2] ".errors", $3 }
			sec == "app" && $1 ~ /^udp\..*\.recv$/ { split($1, f, "."); print "app.udp." f[2] ".recv", $3 }
			sec == "app" && $1 == "ping" { print "app.ping.tx", $2; print "app.ping.rx", $5 }
			sec == "app" && $1 == "tcp.sent" { print "app.tcp.ok", $2; print "app.tcp.fail", $3 }
			sec == "app" && $1 == "tcp.sums" { print "app.tcp.recv", $2; print "app.tcp.bad", $3 }
			END { print "softnet.dropped", sd + 0 }' <<<"$CM_OUT")
	done
	vm_exec vm0 "chainmesh flow show" || return 1
	while read -r key val; do
		C[$key]=$val
	done < <(awk '$1 == "flow" { f = $2 } $1 == "node" { n = $2; sub(":", "", n); print "flow." f "." n, $3 }' <<<"$CM_OUT")
	vm_exec vm0 "chainmesh node show" || return 1
	NODE_SHOW=$CM_OUT
}

# c KEY...: the sum of those counters (missing ones count 0).
c()
{
	local k s=0

	for k in "$@"; do
		s=$((s + ${C[$k]:-0}))
	done
	echo "$s"
}

TX_DROPS=(tx_drop_len tx_drop_no_flow tx_drop_no_hop tx_drop_peer_down tx_drop_ring_full tx_drop_ring_bad tx_drop_no_buf tx_drop_quota tx_drop_fenced)
RX_DROPS=(rx_drop_nomem rx_drop_down)
BAD=(rx_bad_addr rx_bad_align rx_bad_owner rx_bad_len rx_bad_index rx_bad_chain rx_bad_return)
XDP_LOSS=(xdp_tx_drop xdp_tx_no_hop xdp_drop xdp_aborted xdp_redirect)
IP_IN=(InHdrErrors InAddrErrors InUnknownProtos InDiscards)
IP_OUT=(OutDiscards OutNoRoutes)

# cs VM SECTION NAME...: the sum of C[VM.SECTION.NAME] (eth, snmp.Ip, ...).
cs()
{
	local vm=$1 sec=$2 n s=0

	shift 2
	for n in "$@"; do
		s=$((s + ${C[$vm.$sec.$n]:-0}))
	done
	echo "$s"
}

# udp_way SRC MID DST BAND FLOW PORTS XDP: the exact UDP accounting of one
# direction (its qdisc BAND, chainmesh FLOW, cmudp PORTS; XDP: whether
# VM2's program sends part of it on, so that its XDP drops are this
# direction's); the terms in ACCT, the per-hop view in HOPS.
udp_way()
{
	local src=$1 mid=$2 dst=$3 band=$4 flow=$5 ports=$6 xdp=$7
	local sn=${src#vm} mn=${mid#vm} dn=${dst#vm} p sent=0 recv=0 err=0
	local s_qd s_tx m_rx m_xdp=0 m_ip m_qd m_tx d_rx d_ip d_udp total

	for p in $ports; do
		sent=$((sent + $(c "$src.app.udp.$p.sent")))
		err=$((err + $(c "$src.app.udp.$p.errors")))
		recv=$((recv + $(c "$dst.app.udp.$p.recv")))
	done
	s_qd=$(c "$src.qd.$band.dropped")
	s_tx=$(cs "$src" eth "${TX_DROPS[@]}")
	m_rx=$(($(cs "$mid" eth "${RX_DROPS[@]}") + $(c "$mid.eth.peer${sn}_bad")))
	if [ "$xdp" = xdp ]; then
		m_xdp=$(cs "$mid" eth "${XDP_LOSS[@]}")
	fi
	m_ip=$(($(cs "$mid" snmp.Ip "${IP_IN[@]}" "${IP_OUT[@]}") + $(c "$mid.softnet.dropped")))
	m_qd=$(c "$mid.qd.$band.dropped")
	m_tx=$(cs "$mid" eth "${TX_DROPS[@]}")
	d_rx=$(($(cs "$dst" eth "${RX_DROPS[@]}") + $(c "$dst.eth.peer${mn}_bad")))
	d_ip=$(($(cs "$dst" snmp.Ip "${IP_IN[@]}") + $(c "$dst.softnet.dropped")))
	d_udp=$(c "$dst.snmp.Udp.InErrors" "$dst.snmp.Udp.NoPorts")
	total=$((recv + s_qd + s_tx + m_rx + m_xdp + m_ip + m_qd + m_tx + d_rx + d_ip + d_udp))
	ACCT="$src -> $dst: sent $sent (errors $err) = received $recv
  + $src qdisc $band: $s_qd + $src tx_drop_*: $s_tx
  + $mid rx drops/bad: $m_rx + $mid XDP: $m_xdp + $mid IP/softnet: $m_ip + $mid qdisc $band: $m_qd + $mid tx_drop_*: $m_tx
  + $dst rx drops/bad: $d_rx + $dst IP/softnet: $d_ip + $dst UDP InErrors+NoPorts: $d_udp
  = $total (difference $((sent - total)))"
	HOPS="$src -> $dst per hop (flow $flow):
  $src: sent $sent - qdisc $band handed to cm0 $(c "$src.qd.$band.sent") - dropped $s_qd = $((sent - $(c "$src.qd.$band.sent") - s_qd))
  $src: qdisc handed $(c "$src.qd.$band.sent") - into the mesh $(c "flow.$flow.$sn") = $(( $(c "$src.qd.$band.sent") - $(c "flow.$flow.$sn") )) (tx_drop_* $s_tx)
  link $sn->$mn: $(c "flow.$flow.$sn") - $mid received $(c "flow.$flow.$mn") = $(( $(c "flow.$flow.$sn") - $(c "flow.$flow.$mn") )) (rx drops/bad $m_rx)
  $mid: received $(c "flow.$flow.$mn") - $dst received $(c "flow.$flow.$dn") = $(( $(c "flow.$flow.$mn") - $(c "flow.$flow.$dn") )) (XDP $m_xdp, IP $m_ip, qdisc $m_qd, tx $m_tx)
  $dst: received $(c "flow.$flow.$dn") - delivered $recv = $(( $(c "flow.$flow.$dn") - recv )) (rx $d_rx, IP $d_ip, UDP $d_udp)"
	[ "$sent" -gt 0 ] && [ "$recv" -gt 0 ] && [ "$err" = 0 ] && [ "$sent" = "$total" ]
}

ports_of()
{
	awk -v d="$1" '$2 == d { printf "%s ", $3 }' <<<"$UDP_FWD
$UDP_REV"
}

udp_fwd()
{
	local ok=0

	udp_way vm1 vm2 vm3 12 1 "$(ports_of 10.0.0.3)" xdp || ok=1
	CM_OUT="$ACCT
$HOPS"
	return $ok
}

udp_rev()
{
	local ok=0

	udp_way vm3 vm2 vm1 13 11 "$(ports_of 10.0.0.1)" - || ok=1
	CM_OUT="$ACCT
$HOPS"
	return $ok
}

# The driver's own books, all protocols, at every node and on every link:
#   qdisc handed to cm0 = ip -s link tx packets + tx dropped (tx_drop_*)
#   A peerB_tx = B peerA_rx + B peerA_bad + B rx_drop_down   (per link)
#   sum of peerN_rx = XDP_TX + XDP_DROP + REDIRECT + ABORTED
#                     + ip -s link rx packets + rx_drop_nomem
#   xdp_tx = xdp_tx_zerocopy + xdp_tx_drop + xdp_tx_no_hop
driver_books()
{
	local vm a b lhs rhs fail=0 lines=

	for vm in vm1 vm2 vm3; do
		lhs=$(c "$vm.qd.11.sent" "$vm.qd.12.sent" "$vm.qd.13.sent")
		rhs=$(c "$vm.link.tx.packets" "$vm.link.tx.dropped")
		lines="$lines
$vm tx: qdisc handed $lhs = sent $(c "$vm.link.tx.packets") + dropped $(c "$vm.link.tx.dropped")"
		[ "$lhs" = "$rhs" ] || { fail=1; lines="$lines  MISMATCH $((lhs - rhs))"; }
		lhs=$(cs "$vm" eth peer1_rx_packets peer2_rx_packets peer3_rx_packets)
		rhs=$(($(cs "$vm" eth xdp_tx xdp_drop xdp_redirect xdp_aborted rx_drop_nomem) + $(c "$vm.link.rx.packets")))
		lines="$lines
$vm rx: from peers $lhs = XDP consumed $(cs "$vm" eth xdp_tx xdp_drop xdp_redirect xdp_aborted) + to the stack $(c "$vm.link.rx.packets") + nomem $(c "$vm.eth.rx_drop_nomem")"
		[ "$lhs" = "$rhs" ] || { fail=1; lines="$lines  MISMATCH $((lhs - rhs))"; }
		lhs=$(c "$vm.eth.xdp_tx")
		rhs=$(cs "$vm" eth xdp_tx_zerocopy xdp_tx_drop xdp_tx_no_hop)
		lines="$lines
$vm XDP_TX: $lhs = zero copy $(c "$vm.eth.xdp_tx_zerocopy") + drop $(c "$vm.eth.xdp_tx_drop") + no hop $(c "$vm.eth.xdp_tx_no_hop")"
		[ "$lhs" = "$rhs" ] || { fail=1; lines="$lines  MISMATCH $((lhs - rhs))"; }
	done
	for a in 1 2 3; do
		for b in 1 2 3; do
			[ "$a" = "$b" ] && continue
			lhs=$(c "vm$a.eth.peer${b}_tx_packets")
			rhs=$(c "vm$b.eth.peer${a}_rx_packets" "vm$b.eth.peer${a}_bad" "vm$b.eth.rx_drop_down")
			[ "$lhs" = 0 ] && [ "$rhs" = 0 ] && continue
			lines="$lines
link $a->$b: sent $lhs = received $(c "vm$b.eth.peer${a}_rx_packets") + bad $(c "vm$b.eth.peer${a}_bad") + down $(c "vm$b.eth.rx_drop_down")"
			[ "$lhs" = "$rhs" ] || { fail=1; lines="$lines  MISMATCH $((lhs - rhs))"; }
		done
	done
	CM_OUT=${lines#
}
	[ "$fail" = 0 ]
}

pings()
{
	CM_OUT="vm1 -> vm3: $(c vm1.app.ping.tx) sent, $(c vm1.app.ping.rx) answered; vm3 -> vm1: $(c vm3.app.ping.tx) sent, $(c vm3.app.ping.rx) answered
ICMP per hop, flows 3 (1->3) / 13 (3->1) at nodes 1 2 3: $(c flow.3.1) $(c flow.3.2) $(c flow.3.3) / $(c flow.13.3) $(c flow.13.2) $(c flow.13.1)
non-UDP qdisc band drops vm1 vm2 vm3: $(c vm1.qd.11.dropped) $(c vm2.qd.11.dropped) $(c vm3.qd.11.dropped)"
	ge "$(c vm1.app.ping.tx)" 1 && ge "$(c vm3.app.ping.tx)" 1 &&
		[ "$(c vm1.app.ping.tx)" = "$(c vm1.app.ping.rx)" ] &&
		[ "$(c vm3.app.ping.tx)" = "$(c vm3.app.ping.rx)" ]
}

tcp()
{
	local ok fail recv bad

	ok=$(c vm1.app.tcp.ok) fail=$(c vm1.app.tcp.fail)
	recv=$(c vm3.app.tcp.recv) bad=$(c vm3.app.tcp.bad)
	CM_OUT="vm1 sent 1 MiB $ok times ($fail connections failed), vm3 got $recv, $bad with a wrong md5"
	ge "$ok" 1 && [ "$fail" = 0 ] && [ "$recv" = "$ok" ] && [ "$bad" = 0 ]
}

# Both kinds of forwarding in VM2 carried frames.
paths()
{
	CM_OUT="vm2: xdp_tx_zerocopy $(c vm2.eth.xdp_tx_zerocopy), sent on by context (stack) $(c vm2.eth.tx_ctx), tx_ctx_stale $(c vm2.eth.tx_ctx_stale); Ip ForwDatagrams $(c vm2.snmp.Ip.ForwDatagrams)"
	ge "$(c vm2.eth.xdp_tx_zerocopy)" 1 && ge "$(c vm2.eth.tx_ctx)" 1 &&
		[ "$(c vm2.eth.tx_ctx_stale)" = 0 ]
}

no_bad()
{
	local vm s=0 b

	CM_OUT=
	for vm in vm1 vm2 vm3; do
		b=$(($(cs "$vm" eth "${BAD[@]}") + $(c "$vm.link.rx.errors")))
		CM_OUT="$CM_OUT$vm bad $b; "
		s=$((s + b))
	done
	for b in 1 2 3; do
		CM_OUT="$CM_OUT node $b bad $(cm_node_field "$b" bad "$NODE_SHOW");"
		[ "$(cm_node_field "$b" bad "$NODE_SHOW")" = 0 ] || s=$((s + 1))
	done
	[ "$s" = 0 ]
}

# What the accounting leaves aside must be idle: nothing queued, no
# return lost, no buffer reclaimed (nobody died), no frame without a flow.
idle()
{
	local vm s=0 q

	CM_OUT=
	for vm in vm1 vm2 vm3; do
		q=$(c "$vm.qd.1.backlog" "$vm.qd.11.backlog" "$vm.qd.12.backlog" "$vm.qd.13.backlog")
		CM_OUT="$CM_OUT$vm backlog $q rx_drop_no_return $(c "$vm.eth.rx_drop_no_return") pool_reclaimed $(c "$vm.eth.pool_reclaimed") flows 4/14 $(c flow.4."${vm#vm}") $(c flow.14."${vm#vm}"); "
		s=$((s + q + $(c "$vm.eth.rx_drop_no_return" "$vm.eth.pool_reclaimed" flow.4."${vm#vm}" flow.14."${vm#vm}")))
	done
	[ "$s" = 0 ]
}

pools_full()
{
	local vm free size

	CM_OUT=
	for vm in vm1 vm2 vm3; do
		free=$(dp_stat $vm pool_free) && size=$(dp_stat $vm pool_size) || return 1
		CM_OUT="$CM_OUT$vm pool $free/$size; "
		[ "$free" = "$size" ] || return 1
	done
}

# nonzero: every counter that moved, per VM, for the record.
nonzero()
{
	local vm all=

	for vm in vm1 vm2 vm3; do
		vm_exec "$vm" "ethtool -S cm0 | grep -v ': 0\$' | grep -v 'NIC stat' | tr -s ' \n' ' '; echo;
			       $TC -s qdisc show dev cm0 | grep -E '^qdisc|Sent' | sed 's/limit.*//; s/refcnt.*//' | tr -s ' \n' ' '" ||
			return 1
		all="$all$vm: $CM_OUT
"
	done
	CM_OUT="$all$(grep -v 'state absent' <<<"$NODE_SHOW")"
}

# show DESC CMD...: a test point whose numbers are shown even when it passes.
show()
{
	local fails=$cm_tap_fail

	cm_step "$1" - "${@:2}"
	if [ "$cm_tap_fail" = "$fails" ] && [ -z "$CM_VERBOSE" ] && [ -n "$CM_OUT" ]; then
		tap_diag "$CM_OUT"
	fi
}

tap_plan 26
cm_step "lab: daemon and 4 VMs up" fatal lab_up
cm_step "vm0: insmod chainmesh_host.ko" fatal dp_host_load
cm_step "vm1: chainmesh.ko, cm0 10.0.0.1 up" fatal guest_up vm1 1
cm_step "vm2: chainmesh.ko, cm0 10.0.0.2 up" fatal guest_up vm2 2
cm_step "vm3: chainmesh.ko, cm0 10.0.0.3 up" fatal guest_up vm3 3
cm_step "nodes 1 2 3 up, carrier on" fatal dp_nodes_up 1 2 3
cm_step "vm0: chains 1 (1 2 3), 2 (3 2 1), flows per protocol" fatal flows
cm_step "vm1..3: ETS qdisc, a band per UDP direction" fatal all_qdiscs
cm_step "vm2: ip_forward, xdp_soak.o (UDP 7000-7099 XDP_TX)" fatal middle
cm_step "vm1..3: traffic scripts, 1 MiB TCP payload" fatal scripts
cm_step "receivers up: cmudp recv per port, nc -ll on vm3" fatal receivers
cm_step "traffic started: UDP x6, TCP, ping both ways" fatal traffic_start
show "soak ${SOAK}s: frames reach vm3 and vm1 in every ${SAMPLE}s" soak_run
cm_step "traffic stopped, every sender and receiver done" fatal traffic_end
cm_step "counters of vm0..3 collected" fatal collect
show "UDP vm1 -> vm3: sent = received + every drop counter, exactly" udp_fwd
show "UDP vm3 -> vm1: sent = received + every drop counter, exactly" udp_rev
show "driver books balance: per node tx/rx/XDP_TX, per link" driver_books
show "pings all answered, both ways" pings
show "TCP: every transfer arrived, md5 matches" tcp
show "vm2 forwarded by XDP_TX and by its stack" paths
show "no bad descriptor anywhere" no_bad
tap_diag "$(nonzero >/dev/null; echo "$CM_OUT")"
show "nothing queued or lost aside (backlogs, returns, other flows)" idle
show "vm1..3: every buffer back in its pool" wait_for pools_full 10
cm_step "all: rmmod chainmesh, chainmesh_host" - dp_unload vm1 vm2 vm3
cm_step "consoles: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
tap_exit_status
