#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Chain throughput and latency in the lab: the same guests chained over
# chainmesh and the usual way, in one run on one machine. For 3 hops:
#
#   chainmesh:  VM1 --ring--> VM2 --ring--> VM3 --ring--> VM4
#               cm0 10.0.0.N/24; chain 2h-1 = hops 1..h+1 (h hops), chain
#               2h the way back, a flow each; VM2..VMh forward with
#               ip_forward (the chain context rides in skb->mark)
#
#   baseline:   VM1 -tap- br1 -tap- VM2 -tap- br2 -tap- VM3 -tap- br3 -tap- VM4
#               virtio-net NICs on taps, one Linux bridge per link, in a
#               network namespace of the host; link i is 172.16.i.0/24,
#               VM2..VMh route between their two NICs (ip_forward)
#
#   VM0 is node 0 (chainmesh_host.ko, the region and the flow table) and
#   carries no traffic. Every guest is QEMU TCG with one vCPU.
#
# For each path (chainmesh, bridge) and hop count h (VM1 -> VM(h+1)),
# interleaved, RUNS times:
#   latency:    busybox ping -c PINGS -i 0.02, VM1 -> far end: the
#               median and 90th percentile of the round trips
#   throughput: cmblast (bench/cmblast.c, static) sends 64-byte UDP
#               datagrams from VM1 for SECS seconds; the far end counts
#               what arrives: packets per second received (cmblast goes
#               into the guests through cmlab's extra files hook)
#   TCP:        iperf3 (Debian's, with its libraries) from VM1 to the far
#               end for TCP_SECS seconds, one stream and four streams
#               (-P 4): the receiver's Mbit/s. Each side with its
#               offloads on: virtio-net's as QEMU offers them, cm0's
#               (checksum, TSO/GSO as frames of several buffers)
# Medians go to $RESULTS/chain.csv and chain.txt (UDP, latency), and
# chain_tcp.csv and chain_tcp.txt (TCP), with the ratio chainmesh /
# bridge (above 1: chainmesh faster, or lower latency).
#
# Needs root (netns, taps, bridges), qemu-system-x86_64, gcc with a static
# libc, the built modules and tools (make), python3. Without them it says
# why and exits 0 (bench/run.sh goes on). Environment: RESULTS, RUNS
# (default 3), SECS (5), PINGS (100), HOPS ("1 2 3 4"; the most decides how
# many guests boot), MODES ("udp tcp": which measurements), TCP_SECS (10),
# HOST_PARAMS (more chainmesh_host.ko parameters for the mesh, e.g.
# "buf_size=16384 bufs_per_node=64": a 64 KiB frame in 5 buffers, not 37),
# GUEST_CPU (QEMU's -cpu for every guest instead of the lab's "max", e.g.
# "max,-erms": the guests' memcpy without rep movsb, which TCG runs a byte
# at a time).
set -e

cd "$(dirname "$0")"
CM_BENCH=chain
# shellcheck source=bench/lib.sh
. ./lib.sh
RUNS=${RUNS:-3}
SECS=${SECS:-5}
PINGS=${PINGS:-100}
HOPS=${HOPS:-"1 2 3 4"}
MODES=${MODES:-"udp tcp"}
TCP_SECS=${TCP_SECS:-10}
HOST_PARAMS=${HOST_PARAMS:-}
GUEST_CPU=${GUEST_CPU:-}
PORT=9100
TCP_PORT=5201
MAXHOP=0
for h in $HOPS; do [ "$h" -gt "$MAXHOP" ] && MAXHOP=$h; done
NG=$((MAXHOP + 1))	# guests VM1..VM$NG
if [ "$NG" -lt 2 ] || [ "$NG" -gt 8 ]; then
	echo "chain: HOPS from 1 to 7" >&2
	exit 2
fi

# iperf3 for the TCP runs.
chain_need_iperf3()
{
	case " $MODES " in
	*" tcp "*) command -v iperf3 >/dev/null ||
		skip "no iperf3 (scripts/deps-bench.sh)" ;;
	esac
}

cm_bench_require "needs root (network namespace, taps, bridges)" chain_need_iperf3

NS=cmbench$$
cm_bench_netns=$NS
cm_bench_dir cmbench
raw=$RESULTS/chain.raw.csv
rawtcp=$RESULTS/chain_tcp.raw.csv

# ------------------------------------------------------------ the host side

# Link i (1..NG-1) joins VM i and VM i+1 through bridge bri; tap cbVL is
# VM V's NIC on link L, MAC 52:54:00:cb:0V:0L.
net_setup()
{
	local i

	ip netns add "$NS"
	ip -n "$NS" link set lo up
	for i in $(seq 1 $((NG - 1))); do
		ip -n "$NS" link add "br$i" type bridge
		ip -n "$NS" link set "br$i" up
		for v in "$i" $((i + 1)); do
			ip -n "$NS" tuntap add dev "cb$v$i" mode tap
			ip -n "$NS" link set "cb$v$i" master "br$i" up
		done
	done
}

# The links VM V has a NIC on.
vm_links()
{
	local v=$1

	[ "$v" -gt 1 ] && echo $((v - 1))
	[ "$v" -lt "$NG" ] && echo "$v"
	return 0
}

# QEMU as the lab starts it, in the namespace, with the NICs of its VM.
qemu_wrapper()
{
	local v l

	{
		echo '#!/bin/bash'
		echo 'name=; prev='
		echo 'for a in "$@"; do [ "$prev" = -name ] && name=$a; prev=$a; done'
		echo 'extra=()'
		echo 'case $name in'
		for v in $(seq 1 "$NG"); do
			echo -n "vm$v) extra=("
			for l in $(vm_links "$v"); do
				echo -n " -netdev tap,id=n$l,ifname=cb$v$l,script=no,downscript=no"
				echo -n " -device virtio-net-pci,netdev=n$l,mac=52:54:00:cb:0$v:0$l"
			done
			echo ") ;;"
		done
		echo 'esac'
		if [ -n "$GUEST_CPU" ]; then
			echo 'args=(); prev='
			echo 'for a in "$@"; do [ "$prev" = -cpu ] && a='"$GUEST_CPU"'; args+=("$a"); prev=$a; done'
			echo 'set -- "${args[@]}"'
		fi
		echo "exec ip netns exec $NS qemu-system-x86_64 \"\$@\" \"\${extra[@]}\""
	} >"$CMLAB_DIR/qemu"
	chmod +x "$CMLAB_DIR/qemu"
}

# The lab's initramfs plus cmblast, iperf3 and virtio-net.
chain_lab_build()
{
	CMLAB_PROGS="$(command -v iperf3 || true):/usr/bin/iperf3" \
	CMLAB_KMODS="${CMLAB_KMODS:-} virtio_pci virtio_net" \
		cm_bench_lab_build
}

# ------------------------------------------------------------ the guests

# guest_nic VM MAC ADDR: the virtio-net NIC with MAC gets ADDR.
guest_nic()
{
	must "$1" "for d in /sys/class/net/*; do
			[ \"\$(cat \$d/address)\" = $2 ] && dev=\${d##*/}
		done
		[ -n \"\$dev\" ] && ip addr add $3 dev \$dev && ip link set \$dev up"
}

guests_setup()
{
	local n h l cmds

	must vm0 "insmod $CM_HOST_KO $CM_HOST_LAB $HOST_PARAMS"
	for n in $(seq 1 "$NG"); do
		must "vm$n" "insmod $CM_GUEST_KO && modprobe virtio_pci && modprobe virtio_net"
		vm_wait_for "vm$n" "[ -e /sys/class/net/cm0 ]" 20 ||
			{ log "vm$n: no cm0"; return 1; }
		must "vm$n" "ip addr add 10.0.0.$n/24 dev cm0 && ip link set cm0 up"
	done
	for n in $(seq 1 "$NG"); do
		vm_wait_for vm0 "chainmesh node show | grep -q '^node $n state up'" 60 ||
			{ log "node $n not up"; return 1; }
	done
	cmds=true
	for h in $(seq 1 "$MAXHOP"); do
		cmds="$cmds && chainmesh chain add $((2 * h - 1)) hops $(seq -s ' ' 1 $((h + 1)))"
		cmds="$cmds && chainmesh chain add $((2 * h)) hops $(seq -s ' ' $((h + 1)) -1 1)"
		cmds="$cmds && chainmesh flow add $((2 * h - 1)) chain $((2 * h - 1)) src 10.0.0.1/32 dst 10.0.0.$((h + 1))/32"
		cmds="$cmds && chainmesh flow add $((2 * h)) chain $((2 * h)) src 10.0.0.$((h + 1))/32 dst 10.0.0.1/32"
	done
	must vm0 "$cmds"

	# the baseline: VM v is 172.16.l.v on link l; routes along the line
	for n in $(seq 1 "$NG"); do
		for l in $(vm_links "$n"); do
			guest_nic "vm$n" "52:54:00:cb:0$n:0$l" "172.16.$l.$n/24"
		done
		cmds=true
		for l in $(seq 1 $((NG - 1))); do
			if [ "$l" -gt "$n" ]; then
				cmds="$cmds && ip route add 172.16.$l.0/24 via 172.16.$n.$((n + 1))"
			elif [ "$l" -lt $((n - 1)) ]; then
				cmds="$cmds && ip route add 172.16.$l.0/24 via 172.16.$((n - 1)).$((n - 1))"
			fi
		done
		if [ "$n" -gt 1 ] && [ "$n" -lt "$NG" ]; then
			cmds="$cmds && sysctl -qw net.ipv4.ip_forward=1 &&
				sysctl -qw net.ipv4.conf.all.send_redirects=0 &&
				sysctl -qw net.ipv4.conf.cm0.send_redirects=0"
		fi
		must "vm$n" "$cmds"
	done
	for n in $(seq 1 "$NG"); do
		vm_wait_for "vm$n" "grep -q 1 /sys/class/net/cm0/carrier" 20 ||
			{ log "vm$n: cm0 has no carrier"; return 1; }
	done
	case " $MODES " in
	*" tcp "*)
		for n in $(seq 2 "$NG"); do
			must "vm$n" "iperf3 -s -D -p $TCP_PORT"
		done ;;
	esac
}

# dst PATH HOPS: the far end's address and VM.
dst()
{
	local far=$(($2 + 1))

	case $1 in
	chainmesh) echo "10.0.0.$far vm$far" ;;
	bridge) echo "172.16.$2.$far vm$far" ;;
	esac
}

# reach PATH HOPS: a few pings get through (ARP, routes, the chain).
reach()
{
	local d

	read -r d _ <<<"$(dst "$1" "$2")"
	vm_exec vm1 "ping -c 3 -i 0.2 -W 3 $d" 30
}

# latency PATH HOPS -> "median p90 loss%": RTTs in ms, each echo's own
# (the median shrugs off the scheduling spikes of a busy host)
latency()
{
	local d

	read -r d _ <<<"$(dst "$1" "$2")"
	vm_exec vm1 "ping -c $PINGS -i 0.02 -W 3 $d" $((PINGS / 10 + 60)) || true
	awk -v want="$PINGS" '
		/ time=/ { t = $0; sub(/.* time=/, "", t); sub(/ .*/, "", t); v[n++] = t + 0 }
		END {
			if (!n) { print "nan nan 100"; exit }
			for (i = 1; i < n; i++)
				for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
					x = v[j]; v[j] = v[j - 1]; v[j - 1] = x
				}
			med = n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
			printf "%.3f %.3f %.1f\n", med, v[int(0.9 * (n - 1))], 100 * (want - n) / want
		}' <<<"$CM_OUT"
}

# rate PATH HOPS -> "rx_pps tx_pps"
rate()
{
	local d vm rx tx

	read -r d vm <<<"$(dst "$1" "$2")"
	must "$vm" "rm -f /tmp/blast.out; (cmblast recv $PORT $((SECS + 20)) 1000 > /tmp/blast.out 2>&1 &)"
	sleep 0.5
	must vm1 "cmblast send $d $PORT $SECS 64" $((SECS + 30))
	tx=$(sed -n 's/.* pps \([0-9]*\).*/\1/p' <<<"$CM_OUT")
	vm_wait_for "$vm" "grep -q received /tmp/blast.out" 30 || true
	vm_exec "$vm" "cat /tmp/blast.out" || true
	rx=$(sed -n 's/^received .* pps \([0-9]*\).*/\1/p' <<<"$CM_OUT")
	echo "${rx:-0} ${tx:-0}"
}

# tcp PATH HOPS STREAMS -> Mbit/s the far end received
tcp()
{
	local d

	read -r d _ <<<"$(dst "$1" "$2")"
	vm_exec vm1 "iperf3 -c $d -p $TCP_PORT -t $TCP_SECS -P $3 -f m" \
		$((TCP_SECS + 40)) || { echo 0; return; }
	awk '/receiver/ { v = $(NF - 2) } END { print v + 0 }' <<<"$CM_OUT"
}

# ------------------------------------------------------------ the run

log "building the lab initramfs (virtio-net, cmblast)"
chain_lab_build
net_setup
qemu_wrapper
export CMLAB_QEMU=$CMLAB_DIR/qemu
log "starting VM0..VM$NG (TCG; namespace $NS)"
cm_bench_lab_start $((NG + 1)) --lifetime $((900 + RUNS * 200))
guests_setup

paths="chainmesh bridge"
hops=
for h in $HOPS; do
	ok=1
	for p in $paths; do
		reach "$p" "$h" || ok=
	done
	if [ -n "$ok" ]; then
		hops="$hops $h"
	else
		log "$h hop(s): a path does not get through ($CM_OUT); not measured"
	fi
done
[ -n "$hops" ] || { log "no chain gets through"; exit 1; }

echo "run,path,hops,lat_med_ms,lat_p90_ms,loss_pct,rx_pps,tx_pps" >"$raw"
echo "run,path,hops,tcp1_mbps,tcp4_mbps" >"$rawtcp"
for run in $(seq 1 "$RUNS"); do
	for h in $hops; do
		# alternate who goes first, against drift
		order=$paths
		[ $(((run + h) % 2)) -eq 0 ] && order="bridge chainmesh"
		for p in $order; do
			case " $MODES " in
			*" udp "*)
				lat=$(latency "$p" "$h")
				r=$(rate "$p" "$h")
				echo "$run,$p,$h,${lat// /,},${r// /,}" >>"$raw"
				log "run $run $p $h hop(s): rtt median/p90 ms, loss % $lat; rx/tx pps $r" ;;
			esac
			case " $MODES " in
			*" tcp "*)
				t1=$(tcp "$p" "$h" 1)
				t4=$(tcp "$p" "$h" 4)
				echo "$run,$p,$h,$t1,$t4" >>"$rawtcp"
				log "run $run $p $h hop(s): TCP Mbit/s 1 stream $t1, 4 streams $t4" ;;
			esac
		done
	done
done

# Medians per path and hop count, then the ratio table.
python3 - "$raw" "$RESULTS/chain.csv" "$RESULTS/chain.txt" "$RUNS" "$SECS" "$PINGS" <<-'PY'
import csv, statistics, sys
raw, out_csv, out_txt, runs, secs, pings = sys.argv[1:]
rows = list(csv.DictReader(open(raw)))
med = {}
for r in rows:
    k = (r["path"], int(r["hops"]))
    med.setdefault(k, {"lat": [], "max": [], "loss": [], "rx": [], "tx": []})
    for f, c in (("lat", "lat_med_ms"), ("max", "lat_p90_ms"), ("loss", "loss_pct"),
                 ("rx", "rx_pps"), ("tx", "tx_pps")):
        try:
            med[k][f].append(float(r[c]))
        except ValueError:
            pass
m = lambda v: statistics.median(v) if v else float("nan")
hops = sorted({h for _, h in med})
with open(out_csv, "w") as f:
    f.write("hops,cm_rx_pps,br_rx_pps,pps_ratio,cm_rtt_ms,br_rtt_ms,rtt_ratio,"
            "cm_rtt_p90_ms,br_rtt_p90_ms,cm_loss_pct,br_loss_pct,cm_tx_pps,br_tx_pps\n")
    lines = []
    for h in hops:
        c, b = med.get(("chainmesh", h)), med.get(("bridge", h))
        if not c or not b:
            continue
        cr, br = m(c["rx"]), m(b["rx"])
        cl, bl = m(c["lat"]), m(b["lat"])
        pr = cr / br if br else float("nan")
        lr = bl / cl if cl else float("nan")
        f.write("%d,%.0f,%.0f,%.2f,%.3f,%.3f,%.2f,%.3f,%.3f,%.1f,%.1f,%.0f,%.0f\n" % (
            h, cr, br, pr, cl, bl, lr, m(c["max"]), m(b["max"]), m(c["loss"]),
            m(b["loss"]), m(c["tx"]), m(b["tx"])))
        lines.append((h, cr, br, pr, cl, bl, lr))
with open(out_txt, "w") as f:
    f.write("# chain: median of %s runs; %s s UDP blasts of 64-byte datagrams,"
            " %s pings at 20 ms (median RTT)\n" % (runs, secs, pings))
    f.write("# pps ratio = chainmesh / bridge received pps; RTT ratio ="
            " bridge / chainmesh RTT (above 1: chainmesh better)\n")
    f.write("%4s %12s %12s %7s %10s %10s %7s\n" % ("hops", "cm rx pps", "bridge pps",
            "ratio", "cm rtt ms", "br rtt ms", "ratio"))
    for h, cr, br, pr, cl, bl, lr in lines:
        f.write("%4d %12.0f %12.0f %7.2f %10.3f %10.3f %7.2f\n" % (h, cr, br, pr, cl, bl, lr))
print(open(out_txt).read(), end="")
PY

python3 - "$rawtcp" "$RESULTS/chain_tcp.csv" "$RESULTS/chain_tcp.txt" "$RUNS" "$TCP_SECS" "$HOST_PARAMS" "$GUEST_CPU" <<-'PY'
import csv, statistics, sys
raw, out_csv, out_txt, runs, secs, params, cpu = sys.argv[1:]
rows = list(csv.DictReader(open(raw)))
if not rows:
    sys.exit(0)
med = {}
for r in rows:
    k = (r["path"], int(r["hops"]))
    med.setdefault(k, {"t1": [], "t4": []})
    for f in ("t1", "t4"):
        try:
            med[k][f].append(float(r["tcp%s_mbps" % f[1]]))
        except ValueError:
            pass
m = lambda v: statistics.median(v) if v else float("nan")
ratio = lambda a, b: a / b if b else float("nan")
hops = sorted({h for _, h in med})
lines = []
with open(out_csv, "w") as f:
    f.write("hops,cm_tcp1_mbps,br_tcp1_mbps,tcp1_ratio,cm_tcp4_mbps,br_tcp4_mbps,tcp4_ratio\n")
    for h in hops:
        c, b = med.get(("chainmesh", h)), med.get(("bridge", h))
        if not c or not b:
            continue
        v = (h, m(c["t1"]), m(b["t1"]), ratio(m(c["t1"]), m(b["t1"])),
             m(c["t4"]), m(b["t4"]), ratio(m(c["t4"]), m(b["t4"])))
        f.write("%d,%.0f,%.0f,%.2f,%.0f,%.0f,%.2f\n" % v)
        lines.append(v)
with open(out_txt, "w") as f:
    f.write("# chain TCP: median of %s runs; iperf3 for %s s, Mbit/s received;"
            " ratio = chainmesh / bridge%s%s\n" % (runs, secs,
            "; mesh " + params if params else "",
            "; guests -cpu " + cpu if cpu else ""))
    f.write("%4s %10s %10s %7s %10s %10s %7s\n" % ("hops", "cm 1 str", "br 1 str",
            "ratio", "cm 4 str", "br 4 str", "ratio"))
    for v in lines:
        f.write("%4d %10.0f %10.0f %7.2f %10.0f %10.0f %7.2f\n" % v)
print(open(out_txt).read(), end="")
PY
