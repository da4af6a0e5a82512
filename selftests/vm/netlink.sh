#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Attribute validation of the "chainmesh" generic netlink family, and the
# CLI's flow set, against the host module in a VM.
#
#   +-----------------------------------------------------+
#   | VM0  node 0  chainmesh_host.ko, mesh "lab" (8 nodes) |
#   |      nltest (selftests/vm/nltest.c + tools/cli/nl.c) |
#   |      chainmesh CLI                                  |
#   +--------------------------+--------------------------+
#                              | ivshmem-doorbell, peer 0
#   chainmesh-ivshmemd ==== the region (no guests needed) ====
#
# The CLI as an operator uses it: exit statuses as ip(8), -p JSON that
# python3's parser reads, abbreviations, -n NETNS, and `chainmesh save`
# round-tripping a configuration of 10 000 flows through a reload of the
# module (save, rmmod, insmod, -batch, save again: the same file).
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

# nl_lab_start: lab_start 1 with nltest (built here, with the CLI's
# netlink helpers, tools/cli/nl.c) and its libraries in the initramfs.
nl_lab_start()
{
	local mnl

	lab_dir_init
	mnl=$(pkg-config --cflags --libs libmnl 2>/dev/null || echo -lmnl)
	# shellcheck disable=SC2086 # $mnl: several words
	CM_OUT=$(${CC:-cc} -O2 -Wall -Wextra -I"$CM_ROOT/include" \
		-I"$CM_ROOT/include/uapi" -I"$CM_ROOT/tools/cli" \
		-o "$CMLAB_DIR/nltest" "$CM_ROOT/selftests/vm/nltest.c" \
		"$CM_ROOT/tools/cli/nl.c" $mnl 2>&1) || return 1
	CM_LAB_LIFETIME=600
	lab_start 1 --prog "$CMLAB_DIR/nltest:/usr/bin/nltest"
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

# exit 2 (as ip(8)) and the extack message for a refused set; exit 1 for
# a command line the CLI cannot parse
cli_refusals()
{
	local rc=0

	vm_exec vm0 "chainmesh flow set 9 chain 1" || rc=$?
	[ "$rc" = 2 ] && grep -q 'no such flow' <<<"$CM_OUT" || return 1
	rc=0
	vm_exec vm0 "chainmesh flow set 1 chain 77" || rc=$?
	[ "$rc" = 2 ] && grep -q 'no such chain' <<<"$CM_OUT" || return 1
	rc=0
	vm_exec vm0 "chainmesh chain add 3 hops 1 2 1" || rc=$?
	[ "$rc" = 2 ] && grep -q 'twice' <<<"$CM_OUT" || return 1
	rc=0
	vm_exec vm0 "chainmesh flow set 1" || rc=$?
	[ "$rc" = 1 ]
}

# chainmesh -batch: runs of flow lines are one request each, all or none;
# a failure names its lines and stops the batch with the status it has.
cli_batch()
{
	local rc=0

	# line 5's chain does not exist: lines 2 to 6, one request, all refused
	vm_exec vm0 "printf 'chain add 5 hops 1 2\nflow add 10 chain 5 # comment\n\nflow add 11 chain 5 dst 10.0.0.9/32\nflow add 12 chain 77\nflow add 13 chain 5\n' > /tmp/b1 &&
		     chainmesh -batch /tmp/b1" || rc=$?
	[ "$rc" = 2 ] && grep -q 'lines 2-6: flow add of 4 flows: no such chain' <<<"$CM_OUT" ||
		return 1
	vm_exec vm0 "chainmesh chain show | grep -c '^chain 5 ';
		     chainmesh flow show | grep -c '^flow 1[0-3] '; true" || return 1
	[ "$CM_OUT" = "1
0" ] || return 1
	# a line the CLI cannot parse ends the batch before its request goes
	vm_exec vm0 "printf 'flow add 10 chain 5\nflow add xx chain 5\n' | chainmesh -batch -;
		     echo rc \$?; chainmesh flow show | grep -c '^flow 10 '; true" || return 1
	grep -q 'line 2: ' <<<"$CM_OUT" && grep -q '^rc 1$' <<<"$CM_OUT" &&
		[ "$(tail -n 1 <<<"$CM_OUT")" = 0 ] || return 1
	vm_exec vm0 "printf 'flow add 10 chain 5\nflow add 11 chain 5 prio 3\nflow show\nflow del 10\nflow del 11\nchain del 5\nchain show\n' |
		     chainmesh -batch -" || return 1
	grep -q '^flow 11 chain 5 prio 3$' <<<"$CM_OUT" && ! grep -q '^chain 5 ' <<<"$CM_OUT"
}

# -p (pretty JSON) of every show, read by python3's parser: keys absent
# rather than placeholders, the values the text output shows.
cli_json()
{
	vm_exec vm0 "chainmesh chain add 4 hops 1 2 policy bypass &&
		     chainmesh flow add 20 chain 4 proto tcp dst 10.1.0.0/16 dport 80 vlan 7 &&
		     chainmesh flow add 21 chain 4 family inet6 &&
		     for o in mesh node chain flow; do chainmesh -p \$o show; done" || return 1
	python3 -c '
import json, sys
text = sys.stdin.read()
dec = json.JSONDecoder()
docs, i = [], 0
while i < len(text):
    if text[i].isspace():
        i += 1
        continue
    v, i = dec.raw_decode(text, i)
    docs.append(v)
assert len(docs) == 4, len(docs)
assert "\n    " in text, "not indented"
mesh, nodes, chains, flows = docs
m = [x for x in mesh if x["name"] == "lab"][0]
assert m["nodes"] == 8 and m["backing"] == "ivshmem", m
for x in mesh + nodes + chains + flows:
    for k, v in x.items():
        assert v not in ("unknown", "-", "any", ""), (k, x)
assert sorted(n["id"] for n in nodes) == list(range(m["nodes"])), nodes
assert all("state" in n for n in nodes), nodes
c = [x for x in chains if x["id"] == 4][0]
assert c["hops"] == [1, 2] and c["policy"] == "bypass", c
f = {x["id"]: x for x in flows}
assert f[20]["proto"] == 6 and f[20]["dst"] == "10.1.0.0/16", f[20]
assert f[20]["dport"] == 80 and f[20]["vlan"] == 7, f[20]
assert "family" not in f[20] or f[20]["family"] == "inet", f[20]
assert f[21]["family"] == "inet6" and "src" not in f[21], f[21]
' <<<"$CM_OUT"
}

# Keywords and commands abbreviate as in ip(8).
cli_abbrev()
{
	vm_exec vm0 "chainmesh fl a 22 ch 4 pr 3 d 10.2.0.0/16 && chainmesh f s m lab" &&
		grep -q '^flow 22 chain 4 prio 3 dst 10.2.0.0/16$' <<<"$CM_OUT"
}

# -n NETNS: the family lives in the initial namespace, so the CLI keeps
# its socket there and looks interface names up in NETNS; only `mesh
# show` prints one (node 0's cmh-lab, not in cmt: "dev -"). Any other
# command refuses -n (exit 1); a namespace that does not exist is a
# refusal (exit 2).
cli_netns()
{
	local rc=0

	vm_exec vm0 "mkdir -p /run/netns && touch /run/netns/cmt &&
		     unshare --net=/run/netns/cmt true &&
		     chainmesh mesh show lab | grep ' dev cmh-lab\$' &&
		     chainmesh -n cmt mesh show lab | grep ' dev -\$'" || return 1
	vm_exec vm0 "chainmesh -n cmt flow show" || rc=$?
	[ "$rc" = 1 ] && grep -q "goes with 'mesh show' only" <<<"$CM_OUT" || return 1
	rc=0
	vm_exec vm0 "chainmesh -n nosuchns mesh show" || rc=$?
	[ "$rc" = 2 ] && grep -q 'cannot open network namespace "nosuchns"' <<<"$CM_OUT"
}

# save, rmmod, insmod, -batch, save: the same configuration, 10 000 flows
# on a mesh of the host's memory besides chains and flows on mesh lab (of
# the BAR, which insmod lab_ivshmem=1 brings back by itself).
SAVE_FLOWS=10000
cli_save_restore()
{
	vm_exec vm0 "chainmesh mesh add s2 nodes 3 ring-slots 64 buf-size 2048 bufs-per-node 64 max-flows 10240 &&
		     chainmesh chain add 1 hops 1 2 mesh s2 &&
		     chainmesh chain add 2 hops 2 policy bypass mesh s2 &&
		     awk 'BEGIN {
			for (i = 0; i < $SAVE_FLOWS; i++) {
				if (i % 2)
					a = sprintf(\"src fd00:%x::/64 dst fd01::%x/128\", i, i)
				else
					a = sprintf(\"src 10.%d.%d.0/24 dst 10.200.%d.%d\", int(i / 256), i % 256, int(i / 256), i % 256)
				printf \"flow add %d chain %d prio %d proto %s %s sport %d/0xfff0 dport %d vlan %d mesh s2\\n\",
					i, 1 + i % 2, i % 7, (i % 3) ? \"udp\" : \"tcp\", a,
					(i * 16) % 65536, i % 65536, i % 4095
			}
		     }' > /tmp/flows && chainmesh -batch /tmp/flows &&
		     chainmesh save > /tmp/save1 && grep -c '^flow add .* mesh s2\$' /tmp/save1" 600 || return 1
	[ "$CM_OUT" = "$SAVE_FLOWS" ] || return 1
	vm_exec vm0 "rmmod chainmesh_host && insmod $CM_HOST_KO $CM_HOST_LAB &&
		     n=0; until chainmesh mesh show lab >/dev/null 2>&1; do
			n=\$((n + 1)); [ \$n -lt 50 ] || exit 1; sleep 0.2; done &&
		     ! chainmesh mesh show s2 2>/dev/null &&
		     ! chainmesh save | grep -q '^flow' &&
		     chainmesh -batch /tmp/save1 && chainmesh save > /tmp/save2 &&
		     cmp /tmp/save1 /tmp/save2 && wc -l < /tmp/save2 &&
		     grep '^mesh add\|^# mesh\|^chain' /tmp/save2 &&
		     chainmesh flow show mesh s2 | grep -c '^flow '" 600 || return 1
	tap_diag "$CM_OUT"
	grep -q '^mesh add s2 nodes 3 ring-slots 64 buf-size 2048 bufs-per-node 64 max-flows 10240 queues 1$' <<<"$CM_OUT" &&
		grep -q '^# mesh lab nodes 8 ' <<<"$CM_OUT" &&
		grep -q '^chain add 4 hops 1 2 policy bypass mesh lab$' <<<"$CM_OUT" &&
		grep -q '^chain add 2 hops 2 policy bypass mesh s2$' <<<"$CM_OUT" &&
		[ "$(tail -n 1 <<<"$CM_OUT")" = "$SAVE_FLOWS" ]
}

# A saved file with a refused line restores the rest under -force.
cli_save_force()
{
	local rc=0

	vm_exec vm0 "chainmesh mesh del s2 && chainmesh flow del 20 && chainmesh flow del 21 &&
		     chainmesh flow del 22 && chainmesh chain del 4 &&
		     printf 'chain add 4 hops 1 2 policy bypass mesh lab\nchain add 5 hops 1 1\nflow add 20 chain 4 mesh lab\n' > /tmp/sf &&
		     chainmesh -force -batch /tmp/sf" || rc=$?
	[ "$rc" = 2 ] && grep -q 'line 2: chain add:' <<<"$CM_OUT" || return 1
	vm_exec vm0 "chainmesh save" &&
		grep -q '^flow add 20 chain 4 prio 0 mesh lab$' <<<"$CM_OUT" &&
		vm_exec vm0 "chainmesh flow del 20 && chainmesh chain del 4"
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
cm_step "cli: refused set/add exit 2 with the kernel's message, syntax errors 1" - cli_refusals
cm_step "cli: -batch: flow lines in one request, all or none; errors name lines" - cli_batch
cm_step "cli: flow help documents flow set" - cli_help
cm_step "cli: -p JSON of mesh, node, chain, flow show parses, no placeholders" - cli_json
cm_step "cli: keywords and commands abbreviate" - cli_abbrev
cm_step "cli: -n NETNS: mesh show names interfaces there, other commands refuse it" - cli_netns
cm_step "cli: save, reload the module, -batch: the same $SAVE_FLOWS-flow configuration" - cli_save_restore
cm_step "cli: -force -batch goes on past a refused line, exits 2" - cli_save_force
cm_step "cli: flows and chains deleted, tables empty" - cli_cleanup
cm_step "vm0: rmmod chainmesh_host, nothing left" - unload
cm_step "console: no Oops, BUG, WARNING, Call Trace, panic" - lab_stop
tap_done
