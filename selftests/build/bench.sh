#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, small: bench/run.sh with one run per point and few items,
# into a scratch directory, without the lab chain (CHAIN=0), instruction
# counts only up to 1024 flows (valgrind's 100 000-flow tables take half a
# minute), memif.sh without its net_chainmesh testpmd rows (dpdk.sh runs
# that PMD; nothing here asserts them). Checks that
# every table, the callgrind counts, the plot and the rst fragment that
# Documentation/performance.rst describes come out, with sane numbers.
# The real numbers come from `make bench`. Prints TAP.

set -e
. "$(dirname "$(readlink -f "$0")")/lib.sh"
cd "$(dirname "$0")/../.."

out=$(mktemp -d /tmp/cm-bench.XXXXXX)
cleanup() { rm -rf "$out"; }
trap cleanup EXIT


echo "1..11"
check "make -C bench builds ring_bench (DPDK), hop_bench and flowlog_bench" \
	bash -c "make -s -C bench && test -x bench/ring_bench -a -x bench/hop_bench -a -x bench/flowlog_bench"
check "bench/run.sh RUNS=1 CHAIN=0 exits 0" \
	bash -c "cd bench && RESULTS='$out' RUNS=1 RING_ITEMS=262144 CHAIN=0 \
		 TRAFFIC_RUNS=1 TRAFFIC_MS=200 MEMIF_RUNS=1 MEMIF_SECS=2 \
		 MEMIF_WARMUP=1 MEMIF_SYSTEMS='chainmesh memif' \
		 CALLGRIND_MAX_FLOWS=1024 FLOWLOG_RUNS=1 FLOWLOG_SECS=0.1 ./run.sh"
# ring.csv: batch,items,runs,slots,cm_mitems_s,cm_ns_item,dpdk_mitems_s,...
check "ring.csv: batches 1 8 32 256, both rings moved items" \
	bash -c "awk -F, 'NR > 1 && \$5 > 0 && \$7 > 0 { b = b \" \" \$1 }
			 END { exit b != \" 1 8 32 256\" }' '$out/ring.csv'"
check "hop.csv: per-packet times for 1, 1024 and 100000 flows" \
	bash -c "grep -q '^hop,1,' '$out/hop.csv' && grep -q '^hop,1024,' '$out/hop.csv' &&
		 grep -q '^lookup,100000,' '$out/hop.csv'"
check "update.csv: update cost for 1 to 100000 flows" \
	bash -c "awk -F, 'NR > 1 && \$8 > 0 { n++ } END { exit n != 4 }' '$out/update.csv'"
check "traffic.csv: lookups under updates, each point counted, both models" \
	bash -c "awk -F, 'NR > 1 && \$5 > 0 { n++; m[\$10] = 1 }
			 END { exit n < 3 || !m[\"shared\"] || !m[\"inline\"] }' '$out/traffic.csv'"
check "callgrind.csv: instructions per packet of a hop, 1 and 1024 flows" \
	bash -c "awk -F, '\$1 == \"hop\" && \$5 > 0 { n++ } END { exit n < 2 }' '$out/callgrind.csv'"
# flowlog.csv: model,flows,rate,node_ns_per_change,...,changes_per_s (9)
check "flowlog.csv: both models at 1000, 10000, 100000 flows, 0/1k/10k changes/s" \
	bash -c "awk -F, 'NR > 1 && \$4 > 0 && (\$3 == 0 || \$9 > 0) { n[\$1]++ }
			 END { exit n[\"log\"] != 9 || n[\"whole\"] != 9 }' '$out/flowlog.csv'"
check "ring.png, flows.png, flowlog.png and performance.rst.inc written" \
	bash -c "head -c 4 '$out/ring.png' | grep -q PNG &&
		 head -c 4 '$out/flows.png' | grep -q PNG &&
		 head -c 4 '$out/flowlog.png' | grep -q PNG &&
		 grep -q 'list-table' '$out/performance.rst.inc' &&
		 grep -q 'Lookups while the table changes' '$out/performance.rst.inc' &&
		 grep -q 'Single-flow changes' '$out/performance.rst.inc'"
# memif_rows SYSTEM: memif.csv has a rate > 0 for 1 and 2 hops of SYSTEM.
memif_rows()
{
	awk -F, -v s="$1" '$1 == s && $4 > 0 { h[$2] = 1 }
			   END { exit !(h[1] && h[2]) }' "$out/memif.csv"
}

memif_ok()
{
	memif_rows chainmesh || return 1
	command -v dpdk-testpmd >/dev/null || return 0
	memif_rows memif && grep -q 'chainmesh / memif, 2 hop' "$out/memif.txt"
}

check "memif.csv: 1 and 2 hops of libchainmesh forwarders and of testpmd over memif moved frames; ratios" \
	memif_ok
check "memif.txt: instructions per frame of a libchainmesh hop and of the kernel loop" \
	bash -c "grep -q 'instructions per frame, libchainmesh forwarding hop' '$out/memif.txt' &&
		 grep -q 'instructions per frame, kernel-loop hop' '$out/memif.txt'"
exit $cm_check_fail
