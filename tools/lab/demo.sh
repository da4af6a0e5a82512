#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: boot the lab (VM0 host, VM1 and VM2 guests sharing one
# ivshmem region), route 10.0.0.1 <-> 10.0.0.2 through chainmesh chains,
# ping, and show the counters. Same scenario as selftests/vm/ping.sh.
# Exits 0 only if every step passed and every ping was answered.

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/../../selftests/vm/lib.sh"

demo_t0=$SECONDS
demo_failed=0
demo_start=$(date +%s.%N)

demo_elapsed()
{
	awk -v a="$demo_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%6.1fs", b - a }'
}

demo_indent()
{
	local line

	while IFS= read -r line; do
		echo "    $line"
	done <<<"$1"
}

cm_step()
{
	local desc=$1 fatal=$2

	shift 2
	CM_OUT=
	printf '[%s] %s ... ' "$(demo_elapsed)" "$desc"
	if "$@"; then
		echo "ok"
	else
		echo "FAILED"
		demo_failed=$((demo_failed + 1))
		[ -z "$CM_OUT" ] || demo_indent "$CM_OUT"
		if [ "$fatal" = fatal ]; then
			echo "demo: giving up; console logs in $CMLAB_DIR"
			CMLAB_KEEP=1
			exit 1
		fi
	fi
	case "$1" in
	cm_ping_run)
		demo_indent "$(sed -n '/packets transmitted/,$p' <<<"$CM_PING_OUT")"
		;;
	cm_ping_show)
		demo_indent "$CM_OUT"
		;;
	esac
}

echo "chainmesh demo: 3 QEMU guests (TCG), VM1 pings VM2 through the mesh"
cm_ping_scenario
echo
echo "ping: ${CM_PING_RECEIVED:-0}/$CM_PING_COUNT answered; $demo_failed step(s) failed; total $((SECONDS - demo_t0)) s"
if [ "$demo_failed" -ne 0 ] || [ "$CM_PING_RECEIVED" != "$CM_PING_COUNT" ]; then
	CMLAB_KEEP=1
	exit 1
fi
echo "demo: PASS"
