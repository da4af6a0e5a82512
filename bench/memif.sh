#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A chain forwarding 64-byte frames on the machine's own cores, no VM:
#
#   chainmesh   cmlfwd gen -> cmlfwd fwd [-> cmlfwd fwd] -> cmlfwd sink
#               libchainmesh processes on one region (chainmesh-ivshmemd
#               and chainmesh-mesh, no kernel module); the forwarders pass
#               the same buffer on (zero copy)
#   memif       dpdk-testpmd txonly -> testpmd io [-> testpmd io] ->
#               testpmd rxonly, each link a net_memif pair (Debian's
#               librte-net-memif23, copy mode: its default), --no-huge
#   pmd         cmlfwd gen -> dpdk-testpmd io on net_chainmesh [-> another]
#               -> cmlfwd sink: DPDK's forwarding loop on our driver
#
# for 1 and 2 forwarding hops, RUNS times in turn (the systems interleaved,
# so that the machine's load hits them alike). Every process busy polls,
# pinned: the generator and the sink share CPU A, the forwarders CPU B
# (with 2 hops the two forwarders share it). On a 2-core machine that is
# 3 or 4 spinning processes on 2 cores: the numbers are what the
# scheduler's time slices let through, the same for every system.
#
# The rate is the sink's: frames per second that went through every hop
# (each forwarder forwards all of them), the median of its per-second
# counts after WARMUP s, per run; we report the median of the runs and
# their min and max, and chainmesh / memif per run.
#
# Also the instructions per frame of a libchainmesh forwarding hop under
# callgrind, bursts of 32 (see below), next to hop_bench's kernel-loop
# hop, in the same run.
#
# Environment: RESULTS (default results), RUNS (3), MEMIF_SECS (measured
# s a point, 6), MEMIF_WARMUP (2), MEMIF_CPUS ("A,B", default "0,1"),
# MEMIF_SYSTEMS ("chainmesh memif pmd"), MEMIF_HOPS ("1 2"), CALLGRIND=0
# skips the instruction count, KEEP=1 keeps the logs.
# Writes RESULTS/memif.csv (system,hops,run,pps), memif.txt.
set -euo pipefail

cd "$(dirname "$0")"
RESULTS=${RESULTS:-results}
RUNS=${RUNS:-3}
SECS=${MEMIF_SECS:-6}
WARMUP=${MEMIF_WARMUP:-2}
CPUS=${MEMIF_CPUS:-0,1}
SYSTEMS=${MEMIF_SYSTEMS:-chainmesh memif pmd}
HOPS=${MEMIF_HOPS:-1 2}
# Both systems' links hold 1024 frames (chainmesh's ring slots, memif's
# ring), and a chainmesh node has as many buffers as a testpmd has mbufs
# (8192): with processes sharing a core, what a link holds is what moves
# per time slice. Zero copy, the generator's pool holds every frame of
# the chain in flight (half of it: peer_share), where each testpmd copies
# into its own.
SLOTS=1024
RSIZE=10
BUFS=8192
CPU_A=${CPUS%%,*}
CPU_B=${CPUS##*,}
ROOT=$(cd .. && pwd)
PMD=$ROOT/drivers/dpdk/librte_net_chainmesh.so
DAEMON=$ROOT/tools/chainmesh-ivshmemd
MESH=$ROOT/tools/chainmesh-mesh

log() { echo "memif: $*" >&2; }

make -s cmlfwd
make -s -C "$ROOT/tools" chainmesh-ivshmemd chainmesh-mesh
if ! command -v dpdk-testpmd >/dev/null 2>&1; then
	log "no dpdk-testpmd (dpdk-dev): chainmesh alone"
	SYSTEMS=chainmesh
fi
if [[ " $SYSTEMS " == *" pmd "* ]] && [ ! -e "$PMD" ]; then
	make -s -C "$ROOT/drivers/dpdk" >&2 || true
	[ -e "$PMD" ] || { log "no $PMD: pmd skipped"; SYSTEMS=${SYSTEMS/pmd/}; }
fi

# shellcheck source=scripts/dpdk-plugin.sh
. "$ROOT/scripts/dpdk-plugin.sh"
[ ! -e "$PMD" ] || cm_pmd_trusted
tmp=$(mktemp -d /tmp/cm-memif.XXXXXX)
pids=()
cleanup()
{
	local p

	cm_pmd_untrust

	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ -n "${KEEP:-}" ]; then log "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

mkdir -p "$RESULTS"
echo "system,hops,run,pps" > "$RESULTS/memif.csv"

# until FILE PATTERN: wait (10 s at most) for PATTERN in FILE.
until_line()
{
	local i

	for i in $(seq 100); do
		grep -aq "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	log "no '$2' in $1:"
	tail -n 5 "$1" >&2
	return 1
}

# The mesh: chain 1 = 1 2 3 (one forwarder), chain 2 = 1 2 3 4 (two).
mesh_start()
{
	printf 'chain add 1 hops 1 2 3\nchain add 2 hops 1 2 3 4\n' >"$tmp/batch"
	rm -f "$tmp/cm.sock"
	"$DAEMON" -S "$tmp/cm.sock" -m 128M -l "$tmp/daemon.log" -p "$tmp/daemon.pid" &
	pids+=($!)
	for _ in $(seq 50); do [ -S "$tmp/cm.sock" ] && break; sleep 0.1; done
	"$MESH" -S "$tmp/cm.sock" -b "$tmp/batch" -n 5 -r "$SLOTS" -c "$BUFS" \
		>"$tmp/mesh.log" 2>&1 &
	pids+=($!)
	until_line "$tmp/mesh.log" ready
}

# cml CPU LOG ARGS...: a cmlfwd pinned to CPU; waits until it joined.
cml()
{
	local cpu=$1 log=$2

	shift 2
	taskset -c "$cpu" ./cmlfwd -S "$tmp/cm.sock" "$@" >"$log" 2>&1 &
	last=$!
	pids+=("$last")
	until_line "$log" joined
}

# testpmd CPU LOG EAL-ARGS... -- APP-ARGS...: main and forwarding lcore
# both on CPU (the main one sleeps); stdin held open.
testpmd()
{
	local cpu=$1 log=$2

	shift 2
	timeout -k 5 $((WARMUP + SECS + 60)) stdbuf -oL dpdk-testpmd \
		--lcores="0@$cpu,1@$cpu" --no-huge -m 256 --no-pci \
		--file-prefix="cmb$$$RANDOM" "$@" --total-num-mbufs=8192 -a \
		>"$log" 2>&1 < <(sleep $((WARMUP + SECS + 60))) &
	last=$!
	pids+=("$last")
	until_line "$log" "Press enter to exit\|testpmd> \|Port statistics"
}

# stop_all: every process of the point, and the mesh.
stop_all()
{
	local p

	for p in "${pids[@]}"; do
		kill -INT "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	pids=()
}

# The sink's rate: median of cmlfwd's per-second counts.
cml_rate()
{
	sed -n 's/^cmlfwd: median-pps \([0-9]*\)/\1/p' "$1"
}

run_chainmesh()
{
	local hops=$1 i s

	mesh_start || return 1
	cml "$CPU_A" "$tmp/gen.log" gen -c "$hops" -d $((WARMUP + SECS + 5)) || return 1
	for i in $(seq "$hops"); do
		cml "$CPU_B" "$tmp/fwd$i.log" fwd -d $((WARMUP + SECS + 5)) || return 1
	done
	cml "$CPU_A" "$tmp/sink.log" sink -d $((WARMUP + SECS)) -w "$WARMUP" || return 1
	s=$last
	wait "$s" || true
	RATE=$(cml_rate "$tmp/sink.log")
	stop_all
}

run_pmd()
{
	local hops=$1 i s

	mesh_start || return 1
	cml "$CPU_A" "$tmp/gen.log" gen -c "$hops" -d $((WARMUP + SECS + 5)) || return 1
	for i in $(seq "$hops"); do
		testpmd "$CPU_B" "$tmp/tp$i.log" -d "$PMD" \
			--vdev="net_chainmesh0,socket=$tmp/cm.sock,node=$((i + 1))" -- \
			--forward-mode=io --port-topology=loop || return 1
	done
	cml "$CPU_A" "$tmp/sink.log" sink -d $((WARMUP + SECS)) -w "$WARMUP" || return 1
	s=$last
	wait "$s" || true
	RATE=$(cml_rate "$tmp/sink.log")
	stop_all
}

memif_vdev()
{
	echo "net_memif$1,role=$2,id=0,socket=$tmp/m$3.sock,socket-abstract=no,rsize=$RSIZE"
}

run_memif()
{
	local hops=$1 i

	rm -f "$tmp"/m*.sock
	testpmd "$CPU_A" "$tmp/mgen.log" --vdev="$(memif_vdev 0 server 0)" -- \
		--forward-mode=txonly --txpkts=64 || return 1
	for i in $(seq "$hops"); do
		testpmd "$CPU_B" "$tmp/mfwd$i.log" \
			--vdev="$(memif_vdev 0 client $((i - 1)))" \
			--vdev="$(memif_vdev 1 server "$i")" -- \
			--forward-mode=io --port-topology=paired || return 1
	done
	testpmd "$CPU_A" "$tmp/msink.log" --vdev="$(memif_vdev 0 client "$hops")" -- \
		--forward-mode=rxonly --stats-period=1 || return 1
	sleep $((WARMUP + SECS + 1))
	# testpmd's Rx-pps of each second after the warmup, the median
	RATE=$(grep -a 'Rx-pps:' "$tmp/msink.log" | awk '{ print $2 }' |
	       tail -n +$((WARMUP + 2)) | python3 -c '
import statistics, sys
v = [float(x) for x in sys.stdin]
print("%.0f" % statistics.median(v) if v else "")')
	stop_all
}

for run in $(seq "$RUNS"); do
	for hops in $HOPS; do
		for sys in $SYSTEMS; do
			RATE=
			"run_$sys" "$hops" || { stop_all; log "$sys, $hops hops, run $run failed"; }
			log "run $run, $hops hop(s), $sys: ${RATE:-?} pps"
			[ -n "$RATE" ] && echo "$sys,$hops,$run,$RATE" >> "$RESULTS/memif.csv"
		done
	done
done

# Per system and hops: median, min, max; chainmesh / memif per run.
summary()
{
	python3 - "$RESULTS/memif.csv" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
r = {(x["system"], int(x["hops"]), x["run"]): float(x["pps"]) for x in rows}
order = ["chainmesh", "memif", "pmd"]
systems = sorted({k[0] for k in r}, key=order.index)
hops = sorted({k[1] for k in r})
print("%-10s %4s %12s %12s %12s %5s"
      % ("system", "hops", "median pps", "min", "max", "runs"))
for s in systems:
    for h in hops:
        v = [p for (a, b, _), p in r.items() if a == s and b == h]
        if v:
            print("%-10s %4d %12.0f %12.0f %12.0f %5d"
                  % (s, h, statistics.median(v), min(v), max(v), len(v)))
for s in systems:
    if s == "memif":
        continue
    for h in hops:
        q = [p / r[("memif", h, run)] for (a, b, run), p in r.items()
             if a == s and b == h and r.get(("memif", h, run), 0) > 0]
        if q:
            print("%s / memif, %d hop(s): median %.2f (min %.2f, max %.2f, %d runs)"
                  % (s, h, statistics.median(q), min(q), max(q), len(q)))
EOF
}

{
	echo "64-byte frames through a chain of busy-polling processes, no VM;"
	echo "generator and sink pinned to CPU $CPU_A, forwarders to CPU $CPU_B ($(nproc) CPUs)"
	summary
} | tee "$RESULTS/memif.txt"

# Instructions per frame of a libchainmesh forwarding hop: generator,
# forwarder and sink as three nodes of one cmlfwd ("hop"), in turn, so
# that each of the forwarder's polls (cmlfwd_hop(): rx_burst, forward,
# flush) moves a burst of 32, as hop_bench's kernel loop does.
if [ "${CALLGRIND:-1}" != 0 ] && command -v valgrind >/dev/null 2>&1; then
	mesh_start
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" \
		--toggle-collect=cmlfwd_hop ./cmlfwd -S "$tmp/cm.sock" hop \
		-n 32768 >"$tmp/cghop.log" 2>&1 || true
	stop_all
	ir=$(awk '/^totals:/ { print $2; exit }' "$tmp/cg.out" 2>/dev/null)
	# the kernel-loop hop in the same run (as run.sh counts it)
	make -s hop_bench
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.hop" \
		--toggle-collect=cm_bench_hop_burst ./hop_bench -C hop -f 1 \
		-n 32768 -b 32 -m 1 >/dev/null 2>&1
	kern=$(awk '/^totals:/ { printf "%.1f", $2 / 32768; exit }' "$tmp/cg.hop")
	if grep -q "^cmlfwd: hop 32768 frames" "$tmp/cghop.log" && [ -n "$ir" ]; then
		awk -v ir="$ir" -v k="${kern:-?}" 'BEGIN {
			printf "instructions per frame, libchainmesh forwarding hop (cmlfwd hop, busy polling, bursts of 32): %.1f\n", ir / 32768
			printf "instructions per frame, kernel-loop hop (hop_bench -C hop, 1 flow, bursts of 32): %s\n", k
		}' | tee -a "$RESULTS/memif.txt"
	else
		log "callgrind: no count ($(tail -n 2 "$tmp/cghop.log"))"
	fi
fi
