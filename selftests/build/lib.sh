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
