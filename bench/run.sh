#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build and run the userspace benchmarks; write bench/results/:
#
#   ring.csv ring.txt       ring_bench: our SPSC ring vs DPDK rte_ring
#   hop.csv hop.txt         hop_bench: ns per packet of a hop, lookups
#   callgrind.csv           instructions per packet (valgrind, repeatable)
#   ring.png                throughput by batch size (gnuplot)
#   chain.csv chain.txt     chain.sh: guests chained over chainmesh and
#                           over virtio-net + bridge, in the lab
#   chain.png               chain packet rate by hop count (gnuplot)
#   performance.rst.inc     the tables, for Documentation/
#
# Environment: RESULTS (directory), RUNS (runs per point, median taken),
# RING_ITEMS (items per ring run), RING_CPUS (two CPUs, "0,1"), RING_PNG_URI
# (how the rst fragment names the plot), CHAIN=0 (skip the lab chain
# benchmark; chain.sh's own knobs: CHAIN_RUNS, SECS, PINGS, HOPS).
# Missing optional tools (DPDK, valgrind, gnuplot; see
# scripts/deps-bench.sh) skip their part; chain.sh skips itself without
# root, QEMU or the built modules.
set -euo pipefail

cd "$(dirname "$0")"
RESULTS=${RESULTS:-results}
RUNS=${RUNS:-5}
RING_ITEMS=${RING_ITEMS:-16777216}
RING_CPUS=${RING_CPUS:-0,1}
RING_PNG_URI=${RING_PNG_URI:-../bench/results/ring.png}

mkdir -p "$RESULTS"
rm -f "$RESULTS"/{ring,hop,callgrind,chain}.{csv,txt} "$RESULTS"/{ring,chain}.png \
	"$RESULTS"/chain.raw.csv "$RESULTS"/performance.rst.inc "$RESULTS"/callgrind.out.*
make -s

log() { echo "bench: $*" >&2; }

# 1. Ring throughput, both rings in one program and run.
if [ -x ring_bench ] && [ "$(nproc)" -ge 2 ]; then
	log "ring_bench: $RUNS runs of $RING_ITEMS items per point, CPUs $RING_CPUS"
	./ring_bench -r "$RUNS" -n "$RING_ITEMS" -c "$RING_CPUS" \
		-o "$RESULTS/ring.csv" | tee "$RESULTS/ring.txt"
else
	log "ring_bench skipped (needs libdpdk-dev and two CPUs)"
fi

# 2. Per-packet cost of a hop, in ns.
log "hop_bench: $RUNS runs per point"
./hop_bench -r "$RUNS" -o "$RESULTS/hop.csv" | tee "$RESULTS/hop.txt"

# 3. Instructions per packet under callgrind, only the hop (or the scan)
#    counted: test flows burst packets.
if command -v valgrind >/dev/null 2>&1; then
	log "callgrind"
	echo "test,flows,burst,packets,ir_per_pkt" > "$RESULTS/callgrind.csv"
	while read -r test flows burst packets masks; do
		fn=cm_bench_hop_burst
		[ "$test" = scan ] && fn=cm_bench_scan
		[ "$test" = lookup ] && fn=cm_bench_lookup
		[ "$masks" -gt 1 ] && test=$test-${masks}m
		out="$RESULTS/callgrind.out.$test.$flows"
		valgrind --tool=callgrind --callgrind-out-file="$out" \
			--toggle-collect="$fn" ./hop_bench -C "${test%%-*}" \
			-f "$flows" -n "$packets" -b "$burst" -m "$masks" \
			>/dev/null 2>&1
		ir=$(awk '/^totals:/ { print $2; exit }' "$out")
		[ -n "$ir" ] || { log "callgrind: no totals in $out"; exit 1; }
		awk -v t="$test" -v f="$flows" -v b="$burst" -v p="$packets" \
			-v ir="$ir" 'BEGIN { printf "%s,%s,%s,%s,%.1f\n",
				t, f, (t == "hop" ? b : 0), p, ir / p }' \
			>> "$RESULTS/callgrind.csv"
	done <<-EOF
	hop 1 32 32768 1
	hop 1024 32 32768 1
	lookup 1 1 32768 1
	lookup 1024 1 32768 1
	lookup 1024 1 32768 4
	lookup 1024 1 32768 16
	lookup 1024 1 32768 64
	scan 1 1 32768 1
	scan 1024 1 256 1
	scan 100000 1 8 1
	EOF
	column -s, -t "$RESULTS/callgrind.csv"
else
	log "valgrind not installed: no instruction counts"
fi

# 4. Chain throughput and latency in the lab (skips itself without
#    root, QEMU or the built modules).
if [ "${CHAIN:-1}" != 0 ]; then
	log "chain.sh: guests chained over chainmesh and over virtio-net + bridge"
	RESULTS=$RESULTS RUNS=${CHAIN_RUNS:-3} ./chain.sh ||
		log "chain.sh failed: no chain results"
fi

# 5. Plots.
if [ -s "$RESULTS/ring.csv" ] && command -v gnuplot >/dev/null 2>&1; then
	gnuplot <<-EOF
	set terminal pngcairo size 800,500 font ",10"
	set output "$RESULTS/ring.png"
	set datafile separator ","
	set title "SPSC ring, 16-byte items, two threads on two CPUs (median of $RUNS runs)"
	set xlabel "batch size (items per publish)"
	set ylabel "million items per second"
	set logscale x 2
	set xtics (1, 8, 32, 256)
	set xrange [0.8:320]
	set key top left
	set grid
	plot "$RESULTS/ring.csv" every ::1 using 1:5 with linespoints lw 2 pt 7 title "chainmesh ring", \
	     "" every ::1 using 1:7 with linespoints lw 2 pt 5 title "DPDK rte\\\\_ring (SP/SC, elem 16)", \\
	     "" every ::1 using 1:10 with linespoints lw 1 dt 2 pt 6 title "chainmesh ring without kick check (diagnostic)"
	EOF
	log "wrote $RESULTS/ring.png"
fi
if [ -s "$RESULTS/chain.csv" ] && command -v gnuplot >/dev/null 2>&1; then
	gnuplot <<-EOF
	set terminal pngcairo size 800,500 font ",10"
	set output "$RESULTS/chain.png"
	set datafile separator ","
	set title "UDP packets per second through a chain of QEMU TCG guests (median)"
	set xlabel "hops"
	set ylabel "received packets per second"
	set xtics 1
	set yrange [0:*]
	set key top right
	set grid
	plot "$RESULTS/chain.csv" every ::1 using 1:2 with linespoints lw 2 pt 7 title "chainmesh rings", \
	     "" every ::1 using 1:3 with linespoints lw 2 pt 5 title "virtio-net + tap + Linux bridge"
	EOF
	log "wrote $RESULTS/chain.png"
fi

# 6. The tables as reStructuredText.
rst="$RESULTS/performance.rst.inc"
{
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	echo ".. Generated by bench/run.sh on $(date -u +%Y-%m-%d); do not edit."
	echo
	echo "Measured on ${cpu:-unknown CPU}, $(nproc) CPUs, Linux $(uname -r),"
	echo "$(${CC:-cc} --version | head -n 1), -O2; the median of $RUNS runs;"
	echo "load average $(cut -d" " -f1-3 /proc/loadavg) when the tables were written."
	echo
	if [ -s "$RESULTS/ring.csv" ]; then
		dpdk=$(pkg-config --modversion libdpdk 2>/dev/null || echo "?")
		echo "Ring throughput: 16-byte items from one thread to another on"
		echo "CPUs $RING_CPUS, $(awk -F, 'NR == 2 { print $2 }' "$RESULTS/ring.csv") items a run,"
		echo "$(awk -F, 'NR == 2 { print $4 }' "$RESULTS/ring.csv") slots; DPDK $dpdk rte_ring, SP/SC, 16-byte"
		echo "elements. Ratio is our throughput over DPDK's (above 1: ours is faster)."
		echo "\"No kick\" is a diagnostic, not an API: our ring published with the"
		echo "store-release alone, without the full barrier and want_kick load of"
		echo "kick suppression, which DPDK, having no doorbell, does not pay."
		echo
		echo ".. list-table::"
		echo "   :header-rows: 1"
		echo
		echo "   * - batch"
		echo "     - chainmesh Mitems/s"
		echo "     - chainmesh ns/item"
		echo "     - DPDK Mitems/s"
		echo "     - DPDK ns/item"
		echo "     - ratio"
		echo "     - no kick ns/item"
		awk -F, 'NR > 1 { printf "   * - %s\n     - %.1f\n     - %.2f\n     - %.1f\n     - %.2f\n     - %.2f\n     - %.2f\n", $1, $5, $6, $7, $8, $9, $11 }' \
			"$RESULTS/ring.csv"
		echo
		if [ -s "$RESULTS/ring.png" ]; then
			echo ".. image:: $RING_PNG_URI"
			echo "   :alt: ring throughput by batch size, chainmesh and DPDK"
			echo
		fi
	fi
	echo "Per-packet cost of a hop (burst pop, descriptor check, parse of a"
	echo "UDP/IPv4 frame, flow lookup with the match last, counters, burst"
	echo "push, publish and kick decision), bursts of 32, in cache. The"
	echo "lookup rows time cm_flow_lookup() alone on an indexed table, its"
	echo "flows over 1 to 64 masks (one hash probe per mask); the scan rows"
	echo "the linear scan it replaced, also beyond the"
	echo "$(awk -F, '$1 == "hop" { f = $2 } END { print f }' "$RESULTS/hop.csv") entries a node's table can hold."
	echo
	echo ".. list-table::"
	echo "   :header-rows: 1"
	echo
	echo "   * - work"
	echo "     - flows"
	echo "     - ns/packet"
	echo "     - instructions/packet"
	awk -F, '
		FILENAME ~ /callgrind/ && FNR > 1 { ir[$1 "," $2] = $5; next }
		FNR > 1 {
			i = ($1 "," $2) in ir ? sprintf("%.0f", ir[$1 "," $2]) : "-"
			w = $1
			if (w == "scan")
				w = "lookup, linear scan"
			else if (w ~ /^lookup/) {
				m = w; sub(/^lookup-?/, "", m); sub(/m$/, "", m)
				w = "lookup, hash index, " (m == "" ? 1 : m) " mask" (m == "" ? "" : "s")
			}
			printf "   * - %s\n     - %s\n     - %.1f\n     - %s\n",
				w, $2, $6, i
		}' $( [ -s "$RESULTS/callgrind.csv" ] && echo "$RESULTS/callgrind.csv") \
		"$RESULTS/hop.csv"
	echo
	if [ -s "$RESULTS/chain.csv" ]; then
		echo "Chain through QEMU TCG guests in the lab (bench/chain.sh): VM1 sends"
		echo "64-byte UDP datagrams as fast as it can to the end of an h-hop chain,"
		echo "which counts what arrives; latency is busybox ping every 20 ms."
		echo "chainmesh: the guests' cm0 over the shared rings; bridge: the same"
		echo "guests' virtio-net NICs on taps through one Linux bridge per link in"
		echo "a network namespace, the middle guests routing. Both in one lab,"
		echo "interleaved, $(head -n 1 "$RESULTS/chain.txt" | sed 's/^# chain: //')."
		echo "Ratios above 1 favour chainmesh."
		echo
		echo ".. list-table::"
		echo "   :header-rows: 1"
		echo
		echo "   * - hops"
		echo "     - chainmesh pps"
		echo "     - bridge pps"
		echo "     - pps ratio"
		echo "     - chainmesh RTT ms"
		echo "     - bridge RTT ms"
		echo "     - RTT ratio"
		awk -F, 'NR > 1 { printf "   * - %s\n     - %s\n     - %s\n     - %s\n     - %.2f\n     - %.2f\n     - %s\n", $1, $2, $3, $4, $5, $6, $7 }' \
			"$RESULTS/chain.csv"
		echo
		if [ -s "$RESULTS/chain.png" ]; then
			echo ".. image:: ${RING_PNG_URI%ring.png}chain.png"
			echo "   :alt: chain packet rate by hop count, chainmesh and bridge"
			echo
		fi
	fi
} > "$rst"
log "wrote $rst"
