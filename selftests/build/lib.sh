# SPDX-License-Identifier: GPL-2.0
# Sourced by the build tests: TAP without a lab.

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
	if [ -n "$CM_KEEP" ]; then
		echo "# logs kept in $tmp"
	else
		rm -rf "$tmp"
	fi
}
