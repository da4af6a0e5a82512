#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build and run the userspace benchmarks; write bench/results/:
#
#   ring.csv ring.txt       ring_bench: our SPSC ring vs DPDK rte_ring
#   hop.csv hop.txt         hop_bench: ns per packet of a hop, lookups
#   update.csv              hop_bench: ns per change of a node's flow table
#   traffic.csv traffic.txt hop_bench -T: lookups per second while the
#                           table is republished at given rates
#   flowlog.csv flowlog.txt flowlog_bench: single-flow changes, the flow
#                           log against whole-table republishing
#   flowlog.png             node cost per change and staleness (gnuplot)
#   callgrind.csv           instructions per packet (valgrind, repeatable)
#   ring.png                throughput by batch size (gnuplot)
#   flows.png               lookup and update cost by table size (gnuplot)
#   chain.csv chain.txt     chain.sh: guests chained over chainmesh and
#                           over virtio-net + bridge, in the lab
#   chain.png               chain packet rate by hop count (gnuplot)
#   chain_tcp.csv chain_tcp.txt  chain.sh: TCP (iperf3) through the same chains
#   chain_tcp.png           chain TCP throughput by hop count (gnuplot)
#   queues.csv queues.txt   queues.sh: 64-byte UDP pps over meshes of 1, 2
#                           and 4 queues, 2-vCPU guests, in the lab
#   memif.csv memif.txt     memif.sh: a chain of libchainmesh processes vs
#                           dpdk-testpmd over net_memif (and over
#                           net_chainmesh), on the machine's own cores
#   performance.rst.inc     the tables, for Documentation/
#
# Environment: RESULTS (directory), RUNS (runs per point, median taken),
# RING_ITEMS (items per ring run), RING_CPUS (two CPUs, "0,1"), RING_PNG_URI
# (how the rst fragment names the plot), TRAFFIC_RUNS and TRAFFIC_MS
# (runs and length of each lookups-under-updates point, default 3 and
# 1000), TRAFFIC_RATES (publishes per second, "0,10,100,1000"),
# TRAFFIC_CPUS (reader, writer and builder CPUs, default RING_CPUS), MEMIF=0
# (skip memif.sh; MEMIF_RUNS its runs, default 5; memif.sh's own knobs:
# MEMIF_SECS, MEMIF_WARMUP, MEMIF_SYSTEMS), CALLGRIND_MAX_FLOWS (count
# instructions only at table sizes up to this, default all), FLOWLOG_RUNS and
# FLOWLOG_SECS (flowlog_bench: runs and seconds of each point, default 21
# and 0.2), CHAIN=0
# (skip the lab chain benchmark; chain.sh's own knobs: CHAIN_RUNS, SECS,
# PINGS, HOPS), QUEUES_BENCH=0 (skip queues.sh, which CHAIN=0 skips too;
# QUEUES_RUNS its runs, default 3), BENCH_DOC (an .rst file: the text between its
# ".. bench-results-begin" and ".. bench-results-end" lines becomes the
# tables, and the plots are copied to bench/ next to it; `make bench` sets
# it to Documentation/performance.rst, with RING_PNG_URI=bench/ring.png).
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
TRAFFIC_RUNS=${TRAFFIC_RUNS:-3}
TRAFFIC_MS=${TRAFFIC_MS:-1000}
TRAFFIC_RATES=${TRAFFIC_RATES:-0,10,100,1000}
TRAFFIC_CPUS=${TRAFFIC_CPUS:-$RING_CPUS}
FLOWLOG_RUNS=${FLOWLOG_RUNS:-21}
FLOWLOG_SECS=${FLOWLOG_SECS:-0.2}

mkdir -p "$RESULTS"
rm -f "$RESULTS"/{ring,hop,update,traffic,callgrind,chain,chain_tcp,flowlog,queues}.{csv,txt} \
	"$RESULTS"/{ring,chain,chain_tcp,flows,flowlog}.png \
	"$RESULTS"/memif.{csv,txt} \
	"$RESULTS"/chain.raw.csv "$RESULTS"/chain_tcp.raw.csv "$RESULTS"/performance.rst.inc "$RESULTS"/callgrind.out.*
make -s

log() { echo "bench: $*" >&2; }

# png_plot NAME [SIZE]: gnuplot, its script on stdin, into $RESULTS/NAME
# (pngcairo, SIZE default 800,500).
png_plot()
{
	{
		echo "set terminal pngcairo size ${2:-800,500} font \",10\""
		echo "set output \"$RESULTS/$1\""
		cat
	} | gnuplot
	log "wrote $RESULTS/$1"
}

# rst_table HEADER...: the head of a list-table, a header row of HEADERs.
rst_table()
{
	local h

	echo ".. list-table::"
	echo "   :header-rows: 1"
	echo
	echo "   * - $1"
	shift
	for h; do
		echo "     - $h"
	done
}

# rst_rows CSV FORMATS EXPRS: a list-table row for each line of CSV after
# its header: its cells awk's printf of FORMATS ("|" between cells) with
# EXPRS (awk's, of the line's fields).
rst_rows()
{
	local cells f fmt=

	IFS='|' read -ra cells <<<"$2"
	for f in "${cells[@]}"; do
		fmt="$fmt${fmt:+\\n     - }$f"
	done
	awk -F, "NR > 1 { printf \"   * - $fmt\\n\", $3 }" "$1"
}

# rst_image PNG ALT [URI]: the plot PNG, if there is one, by URI (default:
# where RING_PNG_URI puts ring.png).
rst_image()
{
	[ -s "$RESULTS/$1" ] || return 0
	echo ".. image:: ${3:-${RING_PNG_URI%ring.png}$1}"
	echo "   :alt: $2"
	echo
}

# 1. Ring throughput, both rings in one program and run.
if [ -x ring_bench ] && [ "$(nproc)" -ge 2 ]; then
	log "ring_bench: $RUNS runs of $RING_ITEMS items per point, CPUs $RING_CPUS"
	./ring_bench -r "$RUNS" -n "$RING_ITEMS" -c "$RING_CPUS" \
		-o "$RESULTS/ring.csv" | tee "$RESULTS/ring.txt"
else
	log "ring_bench skipped (needs libdpdk-dev and two CPUs)"
fi

# 2. Per-packet cost of a hop and of lookups, in ns; the cost of a table
#    update; lookups while the table is republished.
log "hop_bench: $RUNS runs per point"
./hop_bench -r "$RUNS" -o "$RESULTS/hop.csv" -u "$RESULTS/update.csv" |
	tee "$RESULTS/hop.txt"
if [ "$(nproc)" -ge 2 ]; then
	log "hop_bench -T: lookups under updates, $TRAFFIC_RUNS runs of $TRAFFIC_MS ms, CPUs $TRAFFIC_CPUS"
	./hop_bench -T "$RESULTS/traffic.csv" -r "$TRAFFIC_RUNS" -d "$TRAFFIC_MS" \
		-R "$TRAFFIC_RATES" -c "$TRAFFIC_CPUS" | tee "$RESULTS/traffic.txt"
else
	log "hop_bench -T skipped (needs two CPUs)"
fi

# 2b. Single-flow changes: the flow log against the whole table.
log "flowlog_bench: $FLOWLOG_RUNS runs of $FLOWLOG_SECS s per point"
./flowlog_bench -r "$FLOWLOG_RUNS" -d "$FLOWLOG_SECS" -o "$RESULTS/flowlog.csv" \
	2>&1 | tee "$RESULTS/flowlog.txt"

# 3. Instructions per packet under callgrind, only the hop (or the scan)
#    counted: test flows burst packets.
if command -v valgrind >/dev/null 2>&1; then
	log "callgrind"
	echo "test,flows,burst,packets,ir_per_pkt" > "$RESULTS/callgrind.csv"
	while read -r test flows burst packets masks; do
		[ "$flows" -le "${CALLGRIND_MAX_FLOWS:-100000}" ] || continue
		fn=cm_bench_hop_burst
		[ "$test" = scan ] && fn=cm_bench_scan
		[ "$test" = lookup ] && fn=cm_bench_lookup
		[ "$test" = update ] && fn=cm_bench_update
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
	hop 10000 32 32768 1
	hop 100000 32 32768 1
	lookup 1 1 32768 1
	lookup 1024 1 32768 1
	lookup 10000 1 32768 1
	lookup 100000 1 32768 1
	lookup 1024 1 32768 4
	lookup 1024 1 32768 16
	lookup 1024 1 32768 64
	lookup 100000 1 32768 16
	scan 1 1 32768 1
	scan 1024 1 256 1
	scan 10000 1 32 1
	scan 100000 1 8 1
	update 1 1 4096 1
	update 1024 1 256 1
	update 10000 1 32 1
	update 100000 1 4 1
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

# 4a. Packets per second against the mesh's queues, in the lab (a lab
#     benchmark: CHAIN=0 skips it too).
if [ "${CHAIN:-1}" != 0 ] && [ "${QUEUES_BENCH:-1}" != 0 ]; then
	log "queues.sh: 64-byte UDP over meshes of 1, 2 and 4 queues"
	RESULTS=$RESULTS RUNS=${QUEUES_RUNS:-3} ./queues.sh ||
		log "queues.sh failed: no queues results"
fi

# 4b. Userspace chains on the machine's cores: libchainmesh vs DPDK memif.
if [ "${MEMIF:-1}" != 0 ]; then
	log "memif.sh: libchainmesh chain vs testpmd over net_memif"
	RESULTS=$RESULTS RUNS=${MEMIF_RUNS:-5} ./memif.sh ||
		log "memif.sh failed: no memif results"
fi

# 5. Plots.
if [ -s "$RESULTS/ring.csv" ] && command -v gnuplot >/dev/null 2>&1; then
	png_plot ring.png <<-EOF
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
	     "" every ::1 using 1:10 with linespoints lw 1 dt 2 pt 6 title "chainmesh ring, consumer polling without saying so"
	EOF
fi
if [ -s "$RESULTS/chain.csv" ] && command -v gnuplot >/dev/null 2>&1; then
	png_plot chain.png <<-EOF
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
fi

if [ -s "$RESULTS/chain_tcp.csv" ] && command -v gnuplot >/dev/null 2>&1; then
	png_plot chain_tcp.png <<-EOF
	set datafile separator ","
	set title "TCP (iperf3) through a chain of QEMU TCG guests (median Mbit/s)"
	set xlabel "hops"
	set ylabel "Mbit/s received"
	set xtics 1
	set yrange [0:*]
	set key top right
	set grid
	plot "$RESULTS/chain_tcp.csv" every ::1 using 1:2 with linespoints lw 2 pt 7 title "chainmesh, 1 stream", \
	     "" every ::1 using 1:3 with linespoints lw 2 pt 5 title "bridge, 1 stream", \
	     "" every ::1 using 1:5 with linespoints lw 1 dt 2 pt 7 title "chainmesh, 4 streams", \
	     "" every ::1 using 1:6 with linespoints lw 1 dt 2 pt 5 title "bridge, 4 streams"
	EOF
fi

if [ -s "$RESULTS/update.csv" ] && command -v gnuplot >/dev/null 2>&1; then
	# flows, lookup ns (index, 1 mask), lookup ns (scan), update ns
	awk -F, '
		FILENAME ~ /update/ { if (FNR > 1) up[$1] = $8; next }
		FNR > 1 && $1 == "lookup" { ix[$2] = $6 }
		FNR > 1 && $1 == "scan" { sc[$2] = $6 }
		END {
			for (f in up)
				printf "%s %s %s %s\n", f, (f in ix ? ix[f] : "?"),
					(f in sc ? sc[f] : "?"), up[f]
		}' "$RESULTS/hop.csv" "$RESULTS/update.csv" | sort -n > "$RESULTS/flows.dat"
	png_plot flows.png <<-EOF
	set title "Flow table scaling (median of $RUNS runs, in cache)"
	set xlabel "flows in the node's table"
	set ylabel "ns (log scale)"
	set logscale xy 10
	set xrange [0.7:200000]
	set datafile missing "?"
	set format y "10^{%L}"
	set key top left box opaque
	set grid
	plot "$RESULTS/flows.dat" using 1:2 with linespoints lw 2 pt 7 title "lookup, hash index (1 mask)", \
	     "" using 1:3 with linespoints lw 2 pt 5 title "lookup, linear scan", \
	     "" using 1:4 with linespoints lw 2 pt 9 title "table update: publish + snapshot + index"
	EOF
fi

if [ -s "$RESULTS/flowlog.csv" ] && command -v gnuplot >/dev/null 2>&1; then
	# flows, node ns per change (log, whole), p99 staleness ms at
	# 10000 changes/s (log, whole), lookup ratio at 10000/s (log, whole)
	awk -F, 'FNR > 1 && $3 == 10000 {
			ns[$2, $1] = $4; st[$2, $1] = $11; lr[$2, $1] = $8; f[$2] = 1
		}
		END {
			for (n in f)
				printf "%s %s %s %s %s %s %s\n", n, ns[n, "log"],
					ns[n, "whole"], st[n, "log"], st[n, "whole"],
					lr[n, "log"], lr[n, "whole"]
		}' "$RESULTS/flowlog.csv" | sort -n > "$RESULTS/flowlog.dat"
	png_plot flowlog.png 1000,420 <<-EOF
	set multiplot layout 1,2 title "Single-flow changes: flow log vs whole-table republishing (median of $FLOWLOG_RUNS runs)"
	set logscale xy 10
	set xrange [700:150000]
	set format y "10^{%L}"
	set grid
	set key top left box opaque
	set xlabel "flows in the node's table"
	set ylabel "node's ns per change"
	plot "$RESULTS/flowlog.dat" using 1:2 with linespoints lw 2 pt 7 title "flow log (apply)", \
	     "" using 1:3 with linespoints lw 2 pt 5 title "whole table (snapshot)"
	set ylabel "staleness, 99th percentile, ms"
	set title "at 10 000 changes a second"
	plot "$RESULTS/flowlog.dat" using 1:4 with linespoints lw 2 pt 7 title "flow log", \
	     "" using 1:5 with linespoints lw 2 pt 5 title "whole table"
	unset multiplot
	EOF
fi

# 6. The tables as reStructuredText.
rst="$RESULTS/performance.rst.inc"
{
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	echo ".. Generated by bench/run.sh on $(date -u +%Y-%m-%d); do not edit."
	echo
	echo "Written by \`\`bench/run.sh\`\` on $(date -u +%Y-%m-%d), after $((SECONDS / 60)) min $((SECONDS % 60)) s"
	echo "of benchmarks."
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
		echo "elements. Ratio is our throughput over DPDK's (above 1: ours is faster),"
		echo "the median of the per-run ratios (each run times both rings in turn),"
		echo "with their min and max. Our consumer busy polls and says so"
		echo "(want_kick POLLING, include/chainmesh/ring.h [K3], as a libchainmesh"
		echo "node with CML_F_BUSY_POLL): the producer's doorbell decision is one"
		echo "load. \"Not saying so\" is the consumer polling as NAPI does"
		echo "(want_kick NONE): every publish then pays the full barrier of [K1]."
		echo
		rst_table "batch" "chainmesh Mitems/s" "chainmesh ns/item" \
			"DPDK Mitems/s" "DPDK ns/item" "ratio (min-max)" \
			"not saying so, ns/item"
		rst_rows "$RESULTS/ring.csv" '%s|%.1f|%.2f|%.1f|%.2f|%.2f (%.2f-%.2f)|%.2f' \
			'$1, $5, $6, $7, $8, $9, $12, $13, $11'
		echo
		rst_image ring.png "ring throughput by batch size, chainmesh and DPDK" "$RING_PNG_URI"
	fi
	echo "Per-packet cost of a hop: one NAPI poll of dp.h's node loop"
	echo "forwarding a burst as XDP_TX does (descriptor and context checks,"
	echo "parse of a UDP/IPv4 frame, flow lookup with the match last,"
	echo "counters, route, push, publish and kick decision), bursts of 32, in"
	echo "cache, for node tables of 1 to 100 000 flows. The lookup rows time"
	echo "cm_flow_lookup() alone on an indexed table, its flows over 1 to 64"
	echo "masks (one hash probe per mask); the scan rows the linear scan it"
	echo "replaced."
	echo
	rst_table "work" "flows" "ns/packet" "instructions/packet"
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
	if [ -s "$RESULTS/update.csv" ]; then
		echo "Cost of one change of a node's table (µs, median of $RUNS runs):"
		echo "the host compiles the table from its logical flows (in table"
		echo "order: one pass) and publishes it under the sequence counter;"
		echo "the node sees the counter move, copies and validates the table"
		echo "and rebuilds its index (snapshot, the index build alone in the"
		echo "next column). Update is publish plus snapshot; instructions per"
		echo "update under callgrind (memcpy's rep movs counts as few)."
		echo
		rst_table "flows" "compile µs" "publish µs" "snapshot µs" \
			"of which index µs" "update µs" "instructions/update"
		awk -F, '
			FILENAME ~ /callgrind/ { if (FNR > 1 && $1 == "update") ir[$2] = $5; next }
			FNR > 1 {
				printf "   * - %s\n     - %.1f\n     - %.1f\n     - %.1f\n     - %.1f\n     - %.1f\n     - %s\n",
					$1, $4 / 1e3, $5 / 1e3, $6 / 1e3, $7 / 1e3, $8 / 1e3,
					($1 in ir ? sprintf("%.0f", ir[$1]) : "-")
			}' $( [ -s "$RESULTS/callgrind.csv" ] && echo "$RESULTS/callgrind.csv") \
			"$RESULTS/update.csv"
		echo
		rst_image flows.png "lookup and update cost by number of flows"
	fi
	if [ -s "$RESULTS/traffic.csv" ]; then
		echo "Lookups while the table changes: a writer thread publishes the"
		echo "table at the given rate while a reader thread classifies as a guest"
		echo "does, checking the sequence every 32 lookups. Shared (the guest"
		echo "now): the reader wakes a builder thread and keeps its table; the"
		echo "builder snapshots, swaps the pointer and reuses the old table once"
		echo "the reader finished a burst. Inline (the guest before): the reader"
		echo "snapshots and swaps itself. CPUs $TRAFFIC_CPUS (reader, writer,"
		echo "builder; the builder with the writer when only two are named),"
		echo "median of $TRAFFIC_RUNS runs of $TRAFFIC_MS ms. Torn: copies made in"
		echo "vain (the host wrote meanwhile)."
		echo
		rst_table "flows" "model" "updates/s asked" "updates/s done" \
			"Mlookups/s" "vs no updates" "snapshots/s" "torn/s"
		rst_rows "$RESULTS/traffic.csv" '%s|%s|%s|%.0f|%.1f|%.2f|%.0f|%.0f' \
			'$1, $10, $2, $8, $5, $9, $6, $7'
		echo
	fi
	if [ -s "$RESULTS/flowlog.csv" ]; then
		echo "Single-flow changes (\`\`bench/flowlog_bench\`\`, userspace, the"
		echo "nodes' shared code): the flow log (increments applied to the"
		echo "table and its index, \`\`cm_flog_sync()\`\`) against whole-table"
		echo "republishing (publish, then the node's snapshot), in the same run."
		echo "Node ns/change: the node's cost of one change (log: fetch, validate"
		echo "and apply; whole: copy, validate and index the table), and the"
		echo "changes a second that makes. Under changes: the node looks up 64"
		echo "flows between polls while the host makes the given changes a"
		echo "second; lookups/s are the node's own, per second of its CPU time"
		echo "(median of $FLOWLOG_RUNS runs of $FLOWLOG_SECS s), \"vs none\" the"
		echo "median of each run's ratio to the run without changes of the same"
		echo "round (every rate and model takes its turn in each round), changes/s"
		echo "per second of the node's CPU time too (above the nominal rate when"
		echo "the machine preempted the node: the host's schedule follows the"
		echo "clock); stale is from the host's change to the end of the poll that"
		echo "made it visible, over all runs; polls: the share of the node's time"
		echo "spent in them, what changes take from lookups."
		echo
		rst_table "flows" "model" "node ns/change" "keeps up with /s" \
			"changes/s" "Mlookups/s" "vs none" "stale p50 ms" \
			"stale p99 ms" "stale max ms" "checkpoints" \
			"polls % of time"
		rst_rows "$RESULTS/flowlog.csv" '%s|%s|%.0f|%.0f|%.0f|%.2f|%.2f|%.3f|%.3f|%.3f|%s|%.2f' \
			'$2, $1, $4, $5, $3, $7 / 1e6, $8, $10, $11, $12, $13, $14 * 100'
		echo
		rst_image flowlog.png "node cost per change and staleness, flow log and whole table"
	fi
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
		rst_table "hops" "chainmesh pps" "bridge pps" "pps ratio" \
			"chainmesh RTT ms" "bridge RTT ms" "RTT ratio"
		rst_rows "$RESULTS/chain.csv" '%s|%s|%s|%s|%.2f|%.2f|%s' \
			'$1, $2, $3, $4, $5, $6, $7'
		echo
		rst_image chain.png "chain packet rate by hop count, chainmesh and bridge"
	fi
	if [ -s "$RESULTS/chain_tcp.csv" ]; then
		echo "TCP through the same chains (bench/chain.sh): iperf3 from VM1 to the"
		echo "far end, one stream and four (-P 4), Mbit/s received; each side with"
		echo "its offloads on (virtio-net's as QEMU offers them; cm0's checksum"
		echo "offload and TSO/GSO as frames of several buffers),"
		echo "$(head -n 1 "$RESULTS/chain_tcp.txt" | sed 's/^# chain TCP: //')."
		echo
		rst_table "hops" "chainmesh 1 stream" "bridge 1 stream" \
			"ratio" "chainmesh 4 streams" "bridge 4 streams" \
			"ratio"
		rst_rows "$RESULTS/chain_tcp.csv" '%s|%s|%s|%s|%s|%s|%s' \
			'$1, $2, $3, $4, $5, $6, $7'
		echo
		rst_image chain_tcp.png "TCP throughput by hop count, chainmesh and bridge"
	fi
	if [ -s "$RESULTS/queues.csv" ]; then
		echo "Queues (bench/queues.sh): VM1 sends 64-byte UDP datagrams on"
		echo "several flows at once to VM2, one hop, over meshes of 1, 2 and 4"
		echo "queues in one lab (node 0 reloaded for each; the guests rejoin),"
		echo "each guest with 2 vCPUs and a doorbell vector per queue; the"
		echo "receivers' pps summed, $(head -n 1 "$RESULTS/queues.txt" | sed 's/^# queues: //')."
		echo "lanes: VM2's lanes that received. On this 2-core machine the"
		echo "three VMs' six TCG vCPU threads share two cores with everything"
		echo "else: a second queue can only use what time a second vCPU gets."
		echo
		rst_table "queues" "rx pps" "tx pps" "vs 1 queue" "lanes"
		rst_rows "$RESULTS/queues.csv" '%s|%s|%s|%s|%s' \
			'$1, $2, $3, $4, $5'
		echo
	fi
	if [ -s "$RESULTS/memif.txt" ]; then
		echo "A chain on the machine's own cores, no VM (bench/memif.sh): 64-byte"
		echo "frames from a generator through 1 or 2 forwarding processes to a"
		echo "sink, every process busy polling and pinned. chainmesh: libchainmesh"
		echo "processes (bench/cmlfwd.c) on a region of chainmesh-ivshmemd and"
		echo "chainmesh-mesh, forwarding zero copy; memif: dpdk-testpmd instances"
		echo "(txonly, io, rxonly) linked by net_memif, --no-huge; pmd: testpmd io"
		echo "on net_chainmesh as the forwarders. Links of 1024 frames on both."
		echo "Rates are the sink's (median of its per-second counts), then the"
		echo "median, min and max over the runs, interleaved; ratios per run."
		echo "With two CPUs the generator and the sink share one, the forwarders"
		echo "the other: what moves is what a time slice lets through, for every"
		echo "system alike."
		echo
		echo "::"
		echo
		sed 's/^/   /' "$RESULTS/memif.txt"
		echo
	fi
} > "$rst"
log "wrote $rst"

# 7. Into the documentation.
if [ -n "${BENCH_DOC:-}" ]; then
	grep -qx '.. bench-results-begin' "$BENCH_DOC" &&
		grep -qx '.. bench-results-end' "$BENCH_DOC" || {
		log "$BENCH_DOC has no bench-results-begin/-end lines"
		exit 1
	}
	awk -v inc="$rst" '
		$0 == ".. bench-results-end" { skip = 0 }
		!skip { print }
		$0 == ".. bench-results-begin" {
			print ""
			while ((getline line < inc) > 0)
				print line
			skip = 1
		}' "$BENCH_DOC" > "$BENCH_DOC.new"
	mv "$BENCH_DOC.new" "$BENCH_DOC"
	mkdir -p "$(dirname "$BENCH_DOC")/bench"
	for png in "$RESULTS"/*.png; do
		[ -e "$png" ] && cp "$png" "$(dirname "$BENCH_DOC")/bench/"
	done
	log "wrote the tables into $BENCH_DOC"
fi
