# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers of the datapath VM tests (xdp.sh, forward.sh, classify.sh,
# flood.sh, tcp.sh), in a directory of its own so that selftests/run does
# not take it for a test. Source after lib.sh. The common topology, 4 VMs:
#
#   VM0 node 0 chainmesh_host.ko (region, flows)
#   VM1 node 1 cm0 10.0.0.1  fd00::1     VM2 node 2 cm0 10.0.0.2  fd00::2
#   VM3 node 3 cm0 10.0.0.3  fd00::3
#
# The guests get, besides what `cmlab build` puts in: nft and tc (in
# /usr/sbin) with their libraries, cmudp and xsk_rx (/usr/bin), and the
# XDP programs of progs/ (/lib/cmtest).
# cmlab has a hook for kernel modules only (CMLAB_KMODS), so these travel
# as a second cpio archive appended to the lab's initramfs (the kernel
# unpacks concatenated archives), in a private CMLAB_BUILD whose
# build.json points at the lab's kernel and that initramfs.

CM_DP_PROGS=$CM_ROOT/selftests/vm/progs
# Loaded with modprobe by the tests: the initramfs has modules.dep, not
# modules.alias, so nothing autoloads (crc32c_generic: for libcrc32c).
CM_DP_KMODS=${CM_DP_KMODS:-"crc32c_generic nf_tables nft_chain_nat nft_nat nf_nat nf_conntrack 8021q veth"}

# dp_require [PROG...]: skip the whole test (TAP) without the build tools
# of progs/ or without PROG on this machine.
dp_require()
{
	local p

	for p in clang cc cpio "$@"; do
		command -v "$p" >/dev/null 2>&1 ||
			[ -x "/usr/sbin/$p" ] ||
			tap_skip_all "$p not installed"
	done
	[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/libc.a ] ||
		tap_skip_all "no static libc (libc6-dev) for progs/"
}

# dp_extras DIR: stage the extra files under DIR/root, pack DIR/extra.cpio.gz
dp_extras()
{
	local dir=$1 root=$1/root f lib

	make -s -C "$CM_DP_PROGS" ${CM_IFINDEX:+CM_IFINDEX=$CM_IFINDEX} >&2 || return 1
	rm -rf "$root"
	mkdir -p "$root/lib/cmtest" "$root/usr/bin" "$root/usr/sbin"
	cp "$CM_DP_PROGS"/*.o "$root/lib/cmtest/"
	cp "$CM_DP_PROGS/cmudp" "$CM_DP_PROGS/xsk_rx" "$root/usr/bin/"
	# Debian's nft and tc (busybox's tc cannot show statistics); call
	# them by path in the guests: busybox runs its own applets first.
	for f in /usr/sbin/nft /sbin/tc; do
		[ -x "$f" ] || continue
		cp -L "$f" "$root/usr/sbin/"
		for lib in $(ldd "$f" | grep -o '/[^ ]*'); do
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done
	done
	(cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) \
		>"$dir/extra.cpio.gz"
}

# dp_lab_start N: like lab_start, with the extras and CM_DP_KMODS.
dp_lab_start()
{
	local n=$1 shared priv

	if [ -z "$CMLAB_DIR" ]; then
		CMLAB_DIR=$(mktemp -d /tmp/lab-XXXXXX)
		# shellcheck disable=SC2034 # for lab_cleanup in lib.sh
		cm_lab_owns_dir=1
	fi
	export CMLAB_DIR
	mkdir -p "$CMLAB_DIR"
	trap lab_cleanup EXIT
	trap 'exit 130' INT TERM HUP
	if ! CM_OUT=$(CMLAB_KMODS="$CMLAB_KMODS $CM_DP_KMODS" "$CMLAB" build 2>&1); then
		echo "$CM_OUT" >&2
		return 1
	fi
	shared=${CMLAB_BUILD:-$CM_ROOT/build/lab}
	priv=$CMLAB_DIR/build
	mkdir -p "$priv"
	dp_extras "$priv" || return 1
	cat "$shared/initramfs.cpio.gz" "$priv/extra.cpio.gz" >"$priv/initramfs.cpio.gz"
	python3 - "$shared/build.json" "$priv" <<'PY' || return 1
import json, os, sys
b = json.load(open(sys.argv[1]))
b["initrd"] = os.path.join(sys.argv[2], "initramfs.cpio.gz")
json.dump(b, open(os.path.join(sys.argv[2], "build.json"), "w"), indent=1)
PY
	export CMLAB_BUILD=$priv
	# shellcheck disable=SC2034 # for lab_cleanup in lib.sh
	cm_lab_started=1
	CM_OUT=$("$CMLAB" start "$n" --lifetime "${CMLAB_LIFETIME:-900}" 2>&1)
}

# dp_host_load [PARAMS]: the host module in VM0.
dp_host_load()
{
	vm_exec vm0 "insmod $CM_HOST_KO $*"
}

# dp_guest_up VM N [PARAMS]: chainmesh.ko, cm0 10.0.0.N/24 and fd00::N/64.
dp_guest_up()
{
	local vm=$1 n=$2

	shift 2
	vm_exec "$vm" "insmod $CM_GUEST_KO hop_log=1 $*" &&
	vm_wait_for "$vm" "[ -e /sys/class/net/cm0 ]" 20 &&
	vm_exec "$vm" "ip addr add 10.0.0.$n/24 dev cm0 &&
		       ip -6 addr add fd00::$n/64 dev cm0 nodad &&
		       ip link set cm0 up"
}

# dp_nodes_up N...: VM0 sees each node up, each guest VM has carrier.
dp_nodes_up()
{
	local n

	for n in "$@"; do
		vm_wait_for vm0 "chainmesh node show | grep -q '^node $n state up'" 30 ||
			return 1
	done
	for n in "$@"; do
		vm_wait_for "vm$n" "grep -q 1 /sys/class/net/cm0/carrier" 20 ||
			return 1
	done
}

# dp_stat VM NAME: an `ethtool -S cm0` counter of VM.
dp_stat()
{
	vm_exec "$1" "ethtool -S cm0" || return 1
	awk -v k="$2:" '$1 == k { print $2; exit }' <<<"$CM_OUT"
}

# dp_stats VM: the nonzero `ethtool -S cm0` counters (for diagnostics).
dp_stats()
{
	vm_exec "$1" "ethtool -S cm0 | grep -v ': 0\$'; ip -s link show cm0"
}

# dp_cmudp_recv VM PORT IDLE_MS MAX_S OUT: cmudp recv in the background;
# its result in OUT inside the VM.
dp_cmudp_recv()
{
	vm_exec "$1" "rm -f $5; (cmudp recv $2 $3 $4 > $5 2>&1 &) ;
		      n=0; until grep -q listening $5 2>/dev/null; do
			[ \$n -ge 50 ] && exit 1; n=\$((n + 1)); usleep 100000
		      done"
}

# dp_cmudp_result VM OUT TIMEOUT: the count cmudp recv printed.
dp_cmudp_result()
{
	vm_wait_for "$1" "grep -q received $2" "$3" || return 1
	vm_exec "$1" "cat $2" || return 1
	sed -n 's/^received \([0-9]*\) .*/\1/p' <<<"$CM_OUT"
}

# cm_step DESC FATAL CMD...: one TAP line per step (as in ping.sh).
cm_step()
{
	local desc=$1 fatal=$2

	shift 2
	CM_OUT=
	if "$@"; then
		ok "$desc"
		[ -z "$CM_VERBOSE" ] || [ -z "$CM_OUT" ] || tap_diag "$CM_OUT"
	else
		not_ok "$desc"
		[ -z "$CM_OUT" ] || tap_diag "$CM_OUT"
		if [ "$fatal" = fatal ]; then
			echo "Bail out! $desc"
			exit 1
		fi
	fi
}

# dp_unload VM...: rmmod chainmesh in each guest, chainmesh_host in vm0.
dp_unload()
{
	local vm

	for vm in "$@"; do
		vm_exec "$vm" "rmmod chainmesh" || return 1
	done
	vm_exec vm0 "rmmod chainmesh_host"
}
