#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Packets per second of 64-byte UDP against the mesh's queues: the same
# two guests of 2 vCPUs, one hop, over meshes of 1, 2 and 4 queues in one
# lab, interleaved:
#
#   VM0  node 0, chainmesh_host.ko queues=Q (reloaded for each Q; the
#        guests leave and join the new layout), carries no traffic
#   VM1  node 1, cm0 10.0.0.1  --ring-->  VM2  node 2, cm0 10.0.0.2
#        FLOWS cmblast senders            FLOWS cmblast receivers
#
# Each guest has 2 vCPUs and an ivshmem-doorbell device of 4 vectors (a
# vector per queue at Q = 4). FLOWS UDP flows (ports PORT..PORT+FLOWS-1)
# so that the flow hash spreads them over the lanes; the rate is the sum
# of what VM2's receivers counted. Medians over RUNS to
# $RESULTS/queues.csv and queues.txt, with the speedup over one queue.
#
# On a machine of 2 cores, shared with the host's other work, each VM's
# 2 vCPUs are QEMU TCG threads competing for them with the other VMs':
# more queues can only show what this leaves. Needs what chain.sh needs
# (root, QEMU, the built modules, gcc with a static libc); without it it
# says why and exits 0. Environment: RESULTS, RUNS (default 3), SECS (5),
# FLOWS (8), QUEUES ("1 2 4").
set -e

cd "$(dirname "$0")"
CM_BENCH=queues
# shellcheck source=bench/lib.sh
. ./lib.sh
RUNS=${RUNS:-3}
SECS=${SECS:-5}
FLOWS=${FLOWS:-8}
QUEUES=${QUEUES:-"1 2 4"}
PORT=9200

cm_bench_require "needs root"
cm_bench_dir cmbenchq
raw=$RESULTS/queues.raw.csv

# mesh Q: node 0 lays out a mesh of Q queues; both guests join it.
mesh()
{
	local n

	vm_exec vm0 "rmmod chainmesh_host" || true
	must vm0 "insmod $CM_HOST_KO $CM_HOST_LAB queues=$1"
	for n in 1 2; do
		vm_wait_for vm0 "chainmesh node show | grep -q '^node $n state up'" 60 ||
			{ log "Q=$1: node $n not up"; return 1; }
		vm_wait_for "vm$n" "ethtool -l cm0 2>/dev/null | grep -q '^Combined:.*$1\$'" 20 ||
			{ log "Q=$1: vm$n has no cm0 of $1 queues"; return 1; }
		must "vm$n" "ip addr add 10.0.0.$n/24 dev cm0 && ip link set cm0 up"
	done
	must vm0 "chainmesh chain add 1 hops 1 2 && chainmesh chain add 2 hops 2 1 &&
		  chainmesh flow add 1 chain 1 src 10.0.0.1/32 dst 10.0.0.2/32 &&
		  chainmesh flow add 2 chain 2 src 10.0.0.2/32 dst 10.0.0.1/32"
	vm_wait_for vm1 "ping -c 1 -W 2 10.0.0.2 >/dev/null" 60 ||
		{ log "Q=$1: no ping through"; return 1; }
}

# rate -> "rx_pps tx_pps lanes_used": FLOWS senders at once, the sums.
rate()
{
	local last=$((PORT + FLOWS - 1)) rx tx lanes

	must vm2 "rm -f /tmp/blast.*; for p in \$(seq $PORT $last); do
			(cmblast recv \$p $((SECS + 20)) 1000 > /tmp/blast.\$p 2>&1 &)
		  done"
	sleep 0.5
	must vm1 "for p in \$(seq $PORT $last); do
			cmblast send 10.0.0.2 \$p $SECS 64 > /tmp/send.\$p 2>&1 &
		  done; wait; cat /tmp/send.*" $((SECS + 60))
	tx=$(awk '/^sent/ { s += $8 } END { printf "%.0f", s }' <<<"$CM_OUT")
	vm_wait_for vm2 "[ \$(cat /tmp/blast.* | grep -c received) -eq $FLOWS ]" 40 || true
	must vm2 "cat /tmp/blast.*; ethtool -S cm0"
	rx=$(awk '/^received/ { s += $8 } END { printf "%.0f", s }' <<<"$CM_OUT")
	lanes=$(awk '$1 ~ /^q[0-9]+_rx_packets:$/ && $2 > 0 { n++ } END { print n + 0 }' <<<"$CM_OUT")
	echo "${rx:-0} ${tx:-0} $lanes"
}

log "building the lab initramfs (cmblast)"
cm_bench_lab_build
log "starting VM0..VM2 (TCG, 2 vCPUs, 4 doorbell vectors each)"
cm_bench_lab_start 3 --smp 2 --vectors 4 --lifetime $((600 + RUNS * 150))
for n in 1 2; do
	must "vm$n" "insmod $CM_GUEST_KO"
done

echo "run,queues,rx_pps,tx_pps,lanes_used" >"$raw"
for run in $(seq 1 "$RUNS"); do
	# alternate the order, against drift
	order=$QUEUES
	[ $((run % 2)) -eq 0 ] && order=$(tr ' ' '\n' <<<"$QUEUES" | tac | tr '\n' ' ')
	for q in $order; do
		mesh "$q"
		r=$(rate)
		echo "$run,$q,${r// /,}" >>"$raw"
		log "run $run, $q queue(s): rx/tx pps, lanes that received: $r"
	done
done

python3 - "$raw" "$RESULTS/queues.csv" "$RESULTS/queues.txt" "$RUNS" "$SECS" "$FLOWS" <<-'PY'
import csv, statistics, sys
raw, out_csv, out_txt, runs, secs, flows = sys.argv[1:]
rows = list(csv.DictReader(open(raw)))
by = {}
for r in rows:
    by.setdefault(int(r["queues"]), []).append(r)
m = lambda v: statistics.median(v) if v else float("nan")
qs = sorted(by)
base = m([float(r["rx_pps"]) for r in by[qs[0]]]) if qs else 0
lines = []
with open(out_csv, "w") as f:
    f.write("queues,rx_pps,tx_pps,speedup,lanes_used\n")
    for q in qs:
        rx = m([float(r["rx_pps"]) for r in by[q]])
        tx = m([float(r["tx_pps"]) for r in by[q]])
        lanes = min(int(r["lanes_used"]) for r in by[q])
        sp = rx / base if base else float("nan")
        f.write("%d,%.0f,%.0f,%.2f,%d\n" % (q, rx, tx, sp, lanes))
        lines.append((q, rx, tx, sp, lanes))
with open(out_txt, "w") as f:
    f.write("# queues: median of %s runs; %s UDP flows of 64-byte datagrams for %s s,"
            " VM1 -> VM2 (2 vCPUs each), one hop\n" % (runs, flows, secs))
    f.write("%6s %12s %12s %8s %6s\n" % ("queues", "rx pps", "tx pps", "vs 1", "lanes"))
    for v in lines:
        f.write("%6d %12.0f %12.0f %8.2f %6d\n" % v)
print(open(out_txt).read(), end="")
PY
