#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Attribute validation of the "chainmesh" generic netlink family, and the
# CLI's flow set, against the host module in a VM.
#
#   +-----------------------------------------------------+
#   | VM0  node 0  chainmesh_host.ko, mesh "lab" (8 nodes) |
#   |      nltest (selftests/vm/nltest.c, static)         |
#   |      chainmesh CLI                                  |
#   +--------------------------+--------------------------+
#                              | ivshmem-doorbell, peer 0
#   chainmesh-ivshmemd ==== the region (no guests needed) ====
#
# nltest sends every malformed or refused request it knows (wrong type
# and length, out of range, missing, unknown, bad nests, oversized
# strings, duplicate hops, unknown mesh, no CAP_NET_ADMIN as nobody) and
# checks each for its errno, an extack message and identical mesh, chain
# and flow dumps before and after. Its TAP lines are this test's, after
# the lab's own. Prints TAP (the plan at the end).

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"

# nl_lab_start: lab_start 1 with nltest (built here, static) in the
# initramfs.
nl_lab_start()
{
	lab_dir_init
	CM_OUT=$(${CC:-cc} -O2 -Wall -Wextra -static -I"$CM_ROOT/include" \
		-I"$CM_ROOT/include/uapi" -o "$CMLAB_DIR/nltest" \
		"$CM_ROOT/selftests/vm/nltest.c" 2>&1) || return 1
	CM_LAB_LIFETIME=600
	lab_start 1 --file "$CMLAB_DIR/nltest:/usr/bin/nltest"
}

host_load()
{
	vm_exec vm0 "insmod $CM_HOST_KO $CM_HOST_LAB" &&
		vm_wait_for vm0 "chainmesh mesh show | grep -q '^mesh lab '" 10
}

# nltest's TAP lines, renumbered as ours; its diagnostics passed on.
run_nltest()
{
	local line rc=0

	vm_exec vm0 "nltest lab" 300 || rc=$?
	while IFS= read -r line; do
		case "$line" in
		"ok "*) ok "nltest: ${line#ok * - }" ;;
		"not ok "*) not_ok "nltest: ${line#not ok * - }" ;;
		"#"*) echo "$line" ;;
		"1..0"*) not_ok "nltest: skipped: $line" ;;
		esac
	done <<<"$CM_OUT"
	[ "$rc" -eq 0 ] || [ "$cm_tap_fail" -gt 0 ] ||
		not_ok "nltest exited with $rc"
}

# The CLI: flow set moves a flow, keeps its id; refusals exit 1 with the
# kernel's words.
cli_flow_set()
{
	vm_exec vm0 "chainmesh chain add 1 hops 1 2 3 &&
		     chainmesh chain add 2 hops 1 3 policy bypass &&
		     chainmesh flow add 1 chain 1 src 10.0.0.1/32 dst 10.0.0.3/32 &&
		     chainmesh flow set 1 chain 2 prio 5 proto udp dport 7000 &&
		     chainmesh flow show" || return 1
	grep -q '^flow 1 chain 2 prio 5 proto udp dport 7000$' <<<"$CM_OUT"
}

cli_flow_change()
{
	vm_exec vm0 "chainmesh flow change 1 chain 1 src 10.0.0.1/32 dst 10.0.0.3/32 &&
		     chainmesh -j flow show" || return 1
	python3 -c '
import json, sys
f = json.load(sys.stdin)
assert len(f) == 1 and f[0]["id"] == 1 and f[0]["chain"] == 1, f
assert f[0]["src"] == "10.0.0.1/32" and f[0]["dst"] == "10.0.0.3/32", f
assert "dport" not in f[0], f' <<<"$CM_OUT"
}

# exit 1 and the extack message for a refused set
cli_refusals()
{
	local rc=0

	vm_exec vm0 "chainmesh flow set 9 chain 1" || rc=$?
	[ "$rc" = 1 ] && grep -q 'no such flow' <<<"$CM_OUT" || return 1
	rc=0
	vm_exec vm0 "chainmesh flow set 1 chain 77" || rc=$?
	[ "$rc" = 1 ] && grep -q 'no such chain' <<<"$CM_OUT" || return 1
	rc=0
	vm_exec vm0 "chainmesh chain add 3 hops 1 2 1" || rc=$?
	[ "$rc" = 1 ] && grep -q 'twice' <<<"$CM_OUT" || return 1
	rc=0
	vm_exec vm0 "chainmesh flow set 1" || rc=$?
	[ "$rc" = 2 ]
}

# chainmesh -batch: runs of flow lines are one request each, all or none;
# a failure names its lines and stops the batch with the status it has.
cli_batch()
{
	local rc=0

	# line 5's chain does not exist: lines 2 to 6, one request, all refused
	vm_exec vm0 "printf 'chain add 5 hops 1 2\nflow add 10 chain 5 # comment\n\nflow add 11 chain 5 dst 10.0.0.9/32\nflow add 12 chain 77\nflow add 13 chain 5\n' > /tmp/b1 &&
		     chainmesh -batch /tmp/b1" || rc=$?
	[ "$rc" = 1 ] && grep -q 'lines 2-6: flow add of 4 flows: no such chain' <<<"$CM_OUT" ||
		return 1
	vm_exec vm0 "chainmesh chain show | grep -c '^chain 5 ';
		     chainmesh flow show | grep -c '^flow 1[0-3] '; true" || return 1
	[ "$CM_OUT" = "1
0" ] || return 1
	# a line the CLI cannot parse ends the batch before its request goes
	vm_exec vm0 "printf 'flow add 10 chain 5\nflow add xx chain 5\n' | chainmesh -batch -;
		     echo rc \$?; chainmesh flow show | grep -c '^flow 10 '; true" || return 1
	grep -q 'line 2: ' <<<"$CM_OUT" && grep -q '^rc 2$' <<<"$CM_OUT" &&
		[ "$(tail -n 1 <<<"$CM_OUT")" = 0 ] || return 1
	vm_exec vm0 "printf 'flow add 10 chain 5\nflow add 11 chain 5 prio 3\nflow show\nflow del 10\nflow del 11\nchain del 5\nchain show\n' |
		     chainmesh -batch -" || return 1
	grep -q '^flow 11 chain 5 prio 3$' <<<"$CM_OUT" && ! grep -q '^chain 5 ' <<<"$CM_OUT"
}

cli_help()
{
	vm_exec vm0 "chainmesh flow help" &&
		grep -q 'chainmesh flow set ID chain CID' <<<"$CM_OUT"
}

cli_cleanup()
{
	vm_exec vm0 "chainmesh flow del 1 && chainmesh chain del 1 &&
		     chainmesh chain del 2 && chainmesh flow show && chainmesh chain show" &&
		[ -z "$CM_OUT" ]
}

unload()
{
	vm_exec vm0 "rmmod chainmesh_host" &&
		vm_exec vm0 "! grep -q chainmesh /proc/modules"
}

tap_plan_late
cm_step "lab: daemon and VM0 up, nltest in the initramfs" fatal nl_lab_start
cm_step "vm0: insmod chainmesh_host.ko, mesh lab" fatal host_load
run_nltest
cm_step "cli: flow set 1 chain 2 ... replaces the flow" - cli_flow_set
cm_step "cli: flow change 1 chain 1 ... (json): back, dport gone" - cli_flow_change
cm_step "cli: refused set/add exit 1 with the kernel's message" - cli_refusals
cm_step "cli: -batch: flow lines in one request, all or none; errors name lines" - cli_batch
cm_step "cli: flow help documents flow set" - cli_help
cm_step "cli: flows and chains deleted, tables empty" - cli_cleanup
cm_step "vm0: rmmod chainmesh_host, nothing left" - unload
cm_step "console: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
tap_done
