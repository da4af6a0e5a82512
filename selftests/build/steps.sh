#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/step.sh, the quiet steps of `make check` and `make demo`: a step
# that works prints one line (its name, ok, its time) and its output goes
# to the log only; one that fails prints the log's tail and passes on its
# exit status; V=1 shows the output. And the Makefile runs its
# preparations through it.
#
# Prints TAP.

set -e
. "$(dirname "$(readlink -f "$0")")/lib.sh"
cd "$(dirname "$0")/../.."

tmp=$(mktemp -d /tmp/cm-steps.XXXXXX)
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
export CM_STEP_LOG=$tmp/steps.log

ok_step()
{
	scripts/step.sh "the good step" sh -c 'for i in $(seq 500); do echo noise $i; done' \
		>"$tmp/out" 2>&1 &&
		[ "$(wc -l < "$tmp/out")" = 1 ] &&
		grep -Eq '^the good step +ok +[0-9]+ s$' "$tmp/out" &&
		grep -q '^noise 500$' "$CM_STEP_LOG"
}

bad_step()
{
	local rc=0

	scripts/step.sh "the bad step" sh -c 'for i in $(seq 100); do echo line $i; done; echo the cause >&2; exit 7' \
		>"$tmp/out" 2>&1 || rc=$?
	[ "$rc" = 7 ] && grep -q '^the bad step .*FAILED (exit 7' "$tmp/out" &&
		grep -qx 'the cause' "$tmp/out" && grep -qx 'line 99' "$tmp/out" &&
		! grep -qx 'line 1' "$tmp/out"
}

verbose_step()
{
	V=1 scripts/step.sh "loud" sh -c 'echo visible' >"$tmp/out" 2>&1 &&
		grep -qx visible "$tmp/out"
}

echo "1..4"
check "a step that works: one line, the output in the log" ok_step
check "a step that fails: its exit status, the log's tail with the cause" bad_step
check "V=1: the output shows" verbose_step
check "make check and make demo run deps and the build as steps" \
	bash -c "make --no-print-directory -n check | grep -q 'scripts/step.sh \"packages (scripts/deps.sh)\" ./scripts/deps.sh' &&
		 make --no-print-directory -n check | grep -q 'scripts/step.sh \"build: modules and tools\"' &&
		 make --no-print-directory -n demo | grep -q 'scripts/step.sh \"packages (scripts/deps.sh)\"' &&
		 make --no-print-directory -n check | tail -n 1 | grep -q selftests/run"
exit $cm_check_fail
