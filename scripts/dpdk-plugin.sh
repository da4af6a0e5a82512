# SPDX-License-Identifier: GPL-2.0
# Sourced by what runs dpdk-testpmd -d drivers/dpdk/librte_net_chainmesh.so
# (selftests/build/userspace.sh, selftests/vm/dpdk.sh, bench/memif.sh).
#
# DPDK's EAL loads a -d plugin only from a directory none of whose
# ancestors is world-writable (eal_common_options.c, verify_perms()): a
# checkout under /tmp fails that ("directory path /tmp is world-writable
# and insecure"). cm_pmd_trusted makes $PMD such a path: itself, or a copy
# in a fresh directory under /run, $cm_pmd_dir, which cm_pmd_untrust
# removes (call it where the caller cleans up).

cm_pmd_dir=

cm_pmd_trusted()
{
	local d

	d=$(dirname "$(readlink -f "$PMD")")
	while [ -z "$(find "$d" -maxdepth 0 -perm -o+w)" ]; do
		[ "$d" = / ] && return 0
		d=$(dirname "$d")
	done
	cm_pmd_dir=$(mktemp -d /run/cm-pmd.XXXXXX)
	cp "$PMD" "$cm_pmd_dir/"
	PMD=$cm_pmd_dir/$(basename "$PMD")
}

cm_pmd_untrust()
{
	[ -z "$cm_pmd_dir" ] || rm -rf "$cm_pmd_dir"
	cm_pmd_dir=
}
