# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# What the lab benchmarks (bench/chain.sh, bench/queues.sh) share: their
# paths and results directory, the prerequisites without which they say
# why and exit 0, the lab's directory and cleanup, guest commands that
# must succeed, a lab build of their own with cmblast, and the lab start.
# Source it from bench/ after setting CM_BENCH (the name in log lines);
# the caller uses `set -e`. It sources selftests/vm/lib.sh (vm_exec,
# vm_wait_for, $CMLAB, CM_HOST_KO ...).

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
RESULTS=${RESULTS:-results}
case $RESULTS in /*) ;; *) RESULTS=$BENCH/$RESULTS ;; esac

log() { echo "$CM_BENCH: $*" >&2; }
skip() { log "skipped: $*"; exit 0; }

# shellcheck source=../selftests/vm/lib.sh
. "$ROOT/selftests/vm/lib.sh"

# cm_bench_require WHY [CHECK]: skip without root (WHY: what for, e.g.
# "needs root"), QEMU, python3, CHECK's programs (a function that skips)
# or the built modules and tools.
cm_bench_require()
{
	local f

	[ "$(id -u)" -eq 0 ] || skip "$1"
	command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64"
	command -v python3 >/dev/null || skip "no python3"
	[ -z "$2" ] || "$2"
	for f in host/chainmesh_host.ko guest/chainmesh.ko tools/chainmesh \
		 tools/chainmesh-ivshmemd; do
		[ -e "$ROOT/$f" ] || skip "$f not built (make)"
	done
}

# The network namespace cleanup deletes (chain.sh's), if any.
cm_bench_netns=

cm_bench_cleanup()
{
	local rc=$?

	set +e
	if [ -n "$cm_lab_started" ]; then
		"$CMLAB" stop >"$CMLAB_DIR/stop.out" 2>&1 || {
			log "lab stop reported problems:"
			sed 's/^/    /' "$CMLAB_DIR/stop.out" >&2
		}
	fi
	[ -z "$cm_bench_netns" ] || ip netns del "$cm_bench_netns" 2>/dev/null
	if [ "$rc" -eq 0 ] && [ -z "$CMLAB_KEEP" ]; then
		rm -rf "$CMLAB_DIR"
	else
		log "lab logs kept in $CMLAB_DIR"
	fi
	exit "$rc"
}

# cm_bench_dir PREFIX: a fresh $CMLAB_DIR (/tmp/PREFIX-XXXXXX), removed on
# a clean exit, the lab stopped on any; $RESULTS made.
cm_bench_dir()
{
	CMLAB_DIR=$(mktemp -d "/tmp/$1-XXXXXX")
	export CMLAB_DIR
	mkdir -p "$RESULTS"
	trap cm_bench_cleanup EXIT
	trap 'exit 130' INT TERM HUP
}

must()
{
	vm_exec "$@" || {
		log "$1: '$2' failed: $CM_OUT"
		return 1
	}
}

# cm_bench_lab_build: the lab's initramfs plus cmblast (and what
# CMLAB_PROGS, CMLAB_KMODS add), in a build of our own (other labs may be
# rebuilding the shared one), through cmlab's extra files hook.
cm_bench_lab_build()
{
	local priv=$CMLAB_DIR/lab extra=$CMLAB_DIR/extra

	mkdir -p "$extra"
	gcc -static -O2 -Wall -o "$extra/cmblast" "$BENCH/cmblast.c"
	CMLAB_BUILD=$priv CMLAB_FILES="$extra/cmblast:/usr/bin/cmblast" \
		"$CMLAB" build >"$CMLAB_DIR/build.out" 2>&1 || {
		cat "$CMLAB_DIR/build.out" >&2
		return 1
	}
	export CMLAB_BUILD=$priv
}

# cm_bench_lab_start N OPTION...: `cmlab start N OPTION...`; exits if it
# fails, with what it said.
cm_bench_lab_start()
{
	cm_lab_started=1
	"$CMLAB" start "$@" >"$CMLAB_DIR/start.out" 2>&1 || {
		cat "$CMLAB_DIR/start.out" >&2
		exit 1
	}
}
