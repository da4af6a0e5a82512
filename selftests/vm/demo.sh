#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo` as a test: tools/lab/demo.sh boots the host VM and three
# guests and runs the service chain (firewall -> XDP -> NAT) described
# at its top, then a replica group of two guests and a failover. It must pass, and say so, and every step it prints must be
# ok; its own output fits a screen (at most 50 lines: the steps, the
# per-hop table, PASS, the time) and names the log file that holds the
# details (each hop's counters, flow show). Prints TAP.

set -e
cd "$(dirname "$0")/../.."

out=$(mktemp /tmp/cm-demo.XXXXXX)
log=$(mktemp /tmp/cm-demo-log.XXXXXX)
cleanup() { rm -f "$out" "$log"; }
trap cleanup EXIT

echo "1..5"
rc=0
DEMO_LOG=$log timeout -k 10 600 tools/lab/demo.sh >"$out" 2>&1 || rc=$?
sed 's/^/# /' "$out"
if [ "$rc" -eq 0 ]; then echo "ok 1 - demo.sh exits 0"; else echo "not ok 1 - demo.sh exits 0 (rc $rc)"; fi
if grep -q '^demo: PASS$' "$out"; then echo "ok 2 - demo says PASS"; else echo "not ok 2 - demo says PASS"; fi
if grep -q '^0 step(s) failed' "$out" && ! grep -q ' \.\.\. FAILED$' "$out"; then
	echo "ok 3 - no step failed"
else
	echo "not ok 3 - no step failed"
fi
lines=$(wc -l <"$out")
if [ "$lines" -le 50 ] && grep -q '^What each hop did:$' "$out" &&
   grep -q '^  1 (0 1 2 3) client -> server ' "$out" &&
   grep -q '^  vm1|vm2 .*replica group' "$out" && grep -q 'total [0-9]* s' "$out"; then
	echo "ok 4 - one screen: $lines lines with the per-hop table and the time"
else
	echo "not ok 4 - one screen: $lines lines with the per-hop table and the time"
fi
# the details are in the file it names, not on the screen
if grep -qF "details in $log" "$out" && grep -q '^    flow 1 chain 1 ' "$log" &&
   grep -q 'udp dport 9999 counter packets' "$log" && ! grep -q 'udp dport 9999 counter packets' "$out"; then
	echo "ok 5 - the details (flow show, nft counters) in the log it names"
else
	echo "not ok 5 - the details (flow show, nft counters) in the log it names"
	sed 's/^/# log: /' "$log" | tail -n 40
fi
