#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# step.sh NAME CMD [ARG...]: one step of `make check` / `make demo`, quiet.
# Runs CMD with its output appended to the log ($CM_STEP_LOG, default
# build/steps.log) and prints one line: the step, ok or FAILED, its time.
# When it fails, the log's last lines (CM_STEP_TAIL, default 40) follow and
# the step's exit status is ours. V=1 shows the output as it comes.

name=$1
shift
log=${CM_STEP_LOG:-build/steps.log}
mkdir -p "$(dirname "$log")"
log=$(cd "$(dirname "$log")" && pwd)/$(basename "$log")

if [ "${V:-0}" = 1 ]; then
	echo "== $name"
	exec "$@"
fi

printf '%-44s ' "$name"
{
	echo "==== $(date -u '+%F %T') $name: $*"
} >>"$log"
t0=$(date +%s)
rc=0
"$@" </dev/null >>"$log" 2>&1 || rc=$?
t=$(($(date +%s) - t0))
if [ "$rc" = 0 ]; then
	printf 'ok %4d s\n' "$t"
	exit 0
fi
printf 'FAILED (exit %d, %d s)\n' "$rc" "$t"
echo "---- the last ${CM_STEP_TAIL:-40} lines of $log:"
tail -n "${CM_STEP_TAIL:-40}" "$log"
echo "---- (the whole output: $log; V=1 shows it as it comes)"
exit "$rc"
