#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The uAPI headers and the netlink spec, on the build machine:
#
# - include/uapi/linux/chainmesh_region.h (the region's layout) and
#   chainmesh.h (the netlink family, the ioctls) each compile alone as C90
#   with -pedantic-errors, use fixed-width types only, and neither pulls in
#   the other; the ioctl structs keep their size; include/chainmesh/abi.h
#   holds against the region header and refuses one whose layout moved;
# - scripts/ynl-check.py finds Documentation/netlink/specs/chainmesh.yaml,
#   the header and host/netlink.c's policies in agreement;
# - and fails, naming the culprit, on copies of them with one deliberate
#   mistake each (a renamed attribute, a changed enum value, a changed
#   range, ...), so that a checker that stopped looking cannot pass.
#
# Prints TAP.

set -e
. "$(dirname "$(readlink -f "$0")")/lib.sh"
cd "$(dirname "$0")/../.."

tmp=$(mktemp -d /tmp/cm-uapi.XXXXXX)
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

CC=${CC:-cc}
C90="-std=c90 -pedantic-errors -Wall -Wextra -Werror -Iinclude/uapi"

# c90 HEADER [EXTRA C]: a C90 translation unit of HEADER alone, plus EXTRA.
c90()
{
	printf '#include <linux/%s>\n%s\n' "$1" "$2" > "$tmp/tu.c"
	$CC $C90 -c -o "$tmp/tu.o" "$tmp/tu.c"
}

# only_fixed_width HEADER: no int, long, short, bool, size_t, float or
# pointer members outside comments.
only_fixed_width()
{
	$CC -fpreprocessed -dD -E -P -x c "include/uapi/linux/$1" |
		grep -E '\b(int|long|short|unsigned|signed|bool|size_t|float|double)\b|\*' &&
		return 1
	return 0
}

# defines HEADER MACRO: whether a TU of HEADER alone defines MACRO.
defines()
{
	printf '#include <linux/%s>\n' "$1" |
		$CC -std=c90 -Iinclude/uapi -E -dM -x c - | grep -q "define $2 "
}

# abi UAPIDIR: include/chainmesh/abi.h (C11) against the uAPI headers
# under UAPIDIR.
abi()
{
	printf '#include <chainmesh/abi.h>\n' |
		$CC -std=gnu11 -Wall -Werror -Iinclude -I"$1" -fsyntax-only -x c -
}

# abi_refuses SED: abi.h must not compile against a region header edited
# by SED (which must change it).
abi_refuses()
{
	rm -rf "$tmp/a"
	mkdir -p "$tmp/a/linux"
	cp include/uapi/linux/chainmesh_region.h "$tmp/a/linux/"
	sed -i -e "$1" "$tmp/a/linux/chainmesh_region.h"
	cmp -s "$tmp/a/linux/chainmesh_region.h" \
		include/uapi/linux/chainmesh_region.h && return 1
	! abi "$tmp/a" 2>/dev/null
}

# A scratch copy of what the checker reads.
fresh()
{
	rm -rf "$tmp/t"
	mkdir -p "$tmp/t/uapi/linux" "$tmp/t/spec"
	cp include/uapi/linux/*.h "$tmp/t/uapi/linux/"
	cp Documentation/netlink/specs/chainmesh.yaml "$tmp/t/spec/"
	cp host/netlink.c "$tmp/t/"
}

ynl_check()
{
	python3 scripts/ynl-check.py --spec "$tmp/t/spec/chainmesh.yaml" \
		--uapi "$tmp/t/uapi" --policy "$tmp/t/netlink.c" \
		-I include/chainmesh -I host
}

# mutant FILE SED EXPECT: FILE (of the scratch copy) edited by SED must
# differ from the original, and the checker must then exit 1 with a
# message that names EXPECT.
mutant()
{
	local rc=0

	fresh
	sed -i -e "$2" "$tmp/t/$1"
	if cmp -s "$tmp/t/$1" "$tmp/t.orig/$1"; then
		echo "# mutant: '$2' changed nothing in $1" >&3
		return 1
	fi
	ynl_check 2> "$tmp/err" >/dev/null || rc=$?
	if [ "$rc" -ne 1 ]; then
		echo "# mutant '$2' of $1: exit $rc, not 1" >&3
		sed 's/^/# /' "$tmp/err" >&3
		return 1
	fi
	grep -q -- "$3" "$tmp/err" || {
		echo "# mutant '$2' of $1: no mention of $3" >&3
		sed 's/^/# /' "$tmp/err" >&3
		return 1
	}
}

# check() silences what it runs; diagnostics go to fd 3, our stdout.
exec 3>&1
fresh
cp -r "$tmp/t" "$tmp/t.orig"

spec=spec/chainmesh.yaml
hdr=uapi/linux/chainmesh.h
region=uapi/linux/chainmesh_region.h
pol=netlink.c

echo "1..28"
check "chainmesh_region.h compiles alone as C90, -pedantic-errors" \
	c90 chainmesh_region.h
check "chainmesh.h compiles alone as C90, -pedantic-errors" \
	c90 chainmesh.h
check "both together, in either order" \
	bash -c "printf '#include <linux/chainmesh.h>\n#include <linux/chainmesh_region.h>\n#include <linux/chainmesh.h>\n' |
		 $CC $C90 -fsyntax-only -x c -"
check "chainmesh_region.h and chainmesh.h: fixed-width types only" \
	bash -c "$(declare -f only_fixed_width); CC=$CC; only_fixed_width chainmesh_region.h &&
		 only_fixed_width chainmesh.h"
check "chainmesh.h does not pull in the region layout, nor it the family" \
	bash -c "$(declare -f defines); CC=$CC; ! defines chainmesh.h CHAINMESH_MAGIC &&
		 ! defines chainmesh_region.h CHAINMESH_GENL_NAME &&
		 defines chainmesh_region.h CHAINMESH_MAGIC"
check "ioctl structs: chainmesh_ioc_region and _doorbell are 32 bytes" \
	c90 chainmesh.h "typedef char r32[sizeof(struct chainmesh_ioc_region) == 32 ? 1 : -1];
typedef char d32[sizeof(struct chainmesh_ioc_doorbell) == 32 ? 1 : -1];"
check "chainmesh/abi.h: the layout's sizes and offsets hold" \
	abi include/uapi
check "chainmesh/abi.h refuses a descriptor with a field inserted" \
	abi_refuses 's/__le16 data_off;/__le16 csum;\n\t__le16 data_off;/'
check "chainmesh/abi.h refuses a node entry with fields swapped" \
	abi_refuses '/__le32 features;/{h;d};/__le32 host_state;/G'

check "ynl-check: the spec, the header and host/netlink.c agree" \
	python3 scripts/ynl-check.py
check "ynl-check: so do the scratch copies the mutants start from" \
	ynl_check

# The header.
check "mutant: an attribute renamed in the header" \
	mutant $hdr 's/CHAINMESH_FLOW_A_DPORT,/CHAINMESH_FLOW_A_DSTPORT,/' \
	CHAINMESH_FLOW_A_DSTPORT
check "mutant: an enum value changed in the header" \
	mutant $hdr 's/CHAINMESH_BACKING_SHMEM/CHAINMESH_BACKING_SHMEM = 2/' \
	CHAINMESH_BACKING_SHMEM
check "mutant: two attributes swapped in the header" \
	mutant $hdr '/CHAINMESH_NODE_A_RX_PACKETS,/{h;d};/CHAINMESH_NODE_A_RX_BYTES,/G' \
	CHAINMESH_NODE_A_RX_
check "mutant: a command id changed in the header" \
	mutant $hdr 's/CHAINMESH_CMD_FLOW_SET,/CHAINMESH_CMD_FLOW_SET = 20,/' \
	CHAINMESH_CMD_FLOW_SET
check "mutant: an attribute max define off by one" \
	mutant $hdr 's/(__CHAINMESH_FLOW_A_LAST - 1)/(__CHAINMESH_FLOW_A_LAST - 2)/' \
	CHAINMESH_FLOW_A_MAX
check "mutant: the multicast group renamed in the header" \
	mutant $hdr 's/"monitor"/"monitoring"/' CHAINMESH_MCGRP_MONITOR
check "mutant: the family version changed in the header" \
	mutant $hdr 's/\(#define CHAINMESH_GENL_VERSION[[:space:]]*\)1/\12/' \
	CHAINMESH_GENL_VERSION
check "mutant: a node state added to the region header" \
	mutant $region 's/CHAINMESH_NODE_UP,/CHAINMESH_NODE_UP,\n\tCHAINMESH_NODE_LEAVING,/' \
	CHAINMESH_NODE_LEAVING
check "mutant: a region const changed (max chains)" \
	mutant $region 's/\(#define CHAINMESH_MAX_CHAINS[[:space:]]*\)256/\1128/' \
	CHAINMESH_MAX_CHAINS

# The spec.
check "mutant: an attribute renamed in the spec" \
	mutant $spec 's/name: sport-mask/name: sport-bits/' CHAINMESH_FLOW_A_SPORT_BITS
check "mutant: an enum value changed in the spec" \
	mutant $spec 's/entries: \[ drop, bypass, failover \]/entries: [ drop, skip, bypass, failover ]/' \
	CHAINMESH_POLICY_
check "mutant: a range changed in the spec" \
	mutant $spec 's/max: 4095/max: 4094/' CHAINMESH_FLOW_A_VLAN
check "mutant: a length check changed in the spec" \
	mutant $spec 's/max-len: name-len - 1/max-len: name-len/' CHAINMESH_A_MESH_NAME
check "mutant: an operation's permission dropped in the spec" \
	mutant $spec '/name: chain-del$/,/flags:/{/flags: \[ admin-perm \]/d}' \
	CHAINMESH_CMD_CHAIN_DEL

# The policies.
check "mutant: a range changed in host/netlink.c" \
	mutant $pol 's/NLA_POLICY_MAX(NLA_U8, 128)/NLA_POLICY_MAX(NLA_U8, 127)/' \
	CHAINMESH_FLOW_A_SRC_PREFIX
check "mutant: a range bound changed in host/netlink.c" \
	mutant $pol 's/\.min = 1, \.max = CM_MAX_BUFS_PER_NODE/.min = 2, .max = CM_MAX_BUFS_PER_NODE/' \
	CHAINMESH_A_MESH_BUFS_PER_NODE
check "mutant: a policy type changed in host/netlink.c" \
	mutant $pol 's/\[CHAINMESH_FLOW_A_PROTO\] = { .type = NLA_U8 }/[CHAINMESH_FLOW_A_PROTO] = { .type = NLA_U16 }/' \
	CHAINMESH_FLOW_A_PROTO
exit $cm_check_fail
