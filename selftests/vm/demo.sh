#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo` as a test: tools/lab/demo.sh boots the host VM and three
# guests and runs the service chain (firewall -> XDP -> NAT) described
# at its top. It must pass, and say so, and every step it prints must be
# ok. Prints TAP.

set -e
cd "$(dirname "$0")/../.."

out=$(mktemp /tmp/cm-demo.XXXXXX)
cleanup() { rm -f "$out"; }
trap cleanup EXIT

echo "1..3"
rc=0
timeout -k 10 600 tools/lab/demo.sh >"$out" 2>&1 || rc=$?
sed 's/^/# /' "$out"
if [ "$rc" -eq 0 ]; then echo "ok 1 - demo.sh exits 0"; else echo "not ok 1 - demo.sh exits 0 (rc $rc)"; fi
if grep -q '^demo: PASS$' "$out"; then echo "ok 2 - demo says PASS"; else echo "not ok 2 - demo says PASS"; fi
if grep -q '^0 step(s) failed' "$out" && ! grep -q ' \.\.\. FAILED$' "$out"; then
	echo "ok 3 - no step failed"
else
	echo "not ok 3 - no step failed"
fi
