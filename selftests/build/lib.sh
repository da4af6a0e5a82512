# SPDX-License-Identifier: GPL-2.0
# Sourced by the build tests: TAP without a lab.

CM_ROOT=${CM_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cm_check_n=0
cm_check_fail=0

# check DESC CMD...: one TAP point, ok when CMD exits 0.
check()
{
	local desc=$1

	shift
	cm_check_n=$((cm_check_n + 1))
	if "$@" >/dev/null 2>&1; then
		echo "ok $cm_check_n - $desc"
	else
		echo "not ok $cm_check_n - $desc"
		cm_check_fail=1
	fi
}

# cm_scratch NAME: a scratch directory $tmp (/tmp/cm-NAME.XXXXXX) and a
# list $pids of the processes the test starts; at exit every one is
# killed and reaped (those it can: a detached daemon is no child) and
# $tmp removed, or kept with CM_KEEP=1.
cm_scratch()
{
	tmp=$(mktemp -d "/tmp/cm-$1.XXXXXX")
	pids=()
	trap cm_scratch_cleanup EXIT
}

cm_scratch_cleanup()
{
	local p

	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if command -v cm_pmd_untrust >/dev/null; then
		cm_pmd_untrust
	fi
	if [ -n "${CM_KEEP:-}" ]; then
		echo "# logs kept in $tmp"
	else
		rm -rf "$tmp"
	fi
}

# cm_wait_line FILE PATTERN: wait (10 s at most) for PATTERN in FILE; on
# a timeout FILE's tail goes to stderr.
cm_wait_line()
{
	local i

	for i in $(seq 100); do
		grep -aq "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "# no '$2' in $1:" >&2
	tail -n 5 "$1" >&2
	return 1
}

# cm_userspace_mesh SOCK SIZE BATCH [ARGS...]: a mesh with no kernel
# module: chainmesh-ivshmemd serving a SIZE region on SOCK, laid out by
# chainmesh-mesh (ARGS) with BATCH's chains and flows; both in $pids,
# their logs in $tmp. Returns once the mesh is ready.
cm_userspace_mesh()
{
	local sock=$1 size=$2 batch=$3

	shift 3
	rm -f "$sock"
	"$CM_ROOT/tools/chainmesh-ivshmemd" -S "$sock" -m "$size" \
		-l "$tmp/daemon.log" -p "$tmp/daemon.pid" &
	pids+=($!)
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	"$CM_ROOT/tools/chainmesh-mesh" -S "$sock" -b "$batch" "$@" \
		>"$tmp/mesh.log" 2>&1 &
	pids+=($!)
	cm_wait_line "$tmp/mesh.log" ready
}
