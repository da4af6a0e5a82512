# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers of the datapath VM tests (xdp.sh, forward.sh (classification too),
# flood.sh, tcp.sh), in a directory of its own so that selftests/run does
# not take it for a test. Source after lib.sh. The common topology, 4 VMs:
#
#   VM0 node 0 chainmesh_host.ko (region, flows)
#   VM1 node 1 cm0 10.0.0.1  fd00::1     VM2 node 2 cm0 10.0.0.2  fd00::2
#   VM3 node 3 cm0 10.0.0.3  fd00::3
#
# The guests get, besides what `cmlab build` puts in: nft and tc (in
# /usr/sbin) with their libraries, cmudp and xsk_rx (/usr/bin), the XDP
# programs of progs/ (/lib/cmtest) and the kernel modules of CM_DP_KMODS;
# all through `cmlab build --prog/--file/--kmod`, in this lab's own build.

CM_DP_PROGS=$CM_ROOT/selftests/vm/progs
# In the initramfs with modules.dep and modules.alias: the guests' kernels
# load them on demand (crc32c_generic: for libcrc32c, by crypto alias).
CM_DP_KMODS=${CM_DP_KMODS:-"crc32c_generic nf_tables nft_chain_nat nft_nat nf_nat nf_conntrack 8021q veth"}

# dp_require [PROG...]: skip the whole test (TAP) without the build tools
# of progs/ or without PROG on this machine.
dp_require()
{
	local p

	for p in clang cc "$@"; do
		command -v "$p" >/dev/null 2>&1 ||
			[ -x "/usr/sbin/$p" ] ||
			tap_skip_all "$p not installed"
	done
	[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/libc.a ] ||
		tap_skip_all "no static libc (libc6-dev) for progs/"
}

# dp_build_options: the `cmlab build` options for the guests' extras,
# one per line (progs/ built first).
dp_build_options()
{
	local f

	make -s -C "$CM_DP_PROGS" ${CM_IFINDEX:+CM_IFINDEX=$CM_IFINDEX} >&2 || return 1
	for f in "$CM_DP_PROGS"/*.o; do
		printf -- '--file\n%s:/lib/cmtest/\n' "$f"
	done
	for f in cmudp xsk_rx cmflows; do
		printf -- '--file\n%s:/usr/bin/\n' "$CM_DP_PROGS/$f"
	done
	# Debian's nft and tc (busybox's tc cannot show statistics); the
	# tests call them by path: busybox runs its own applets first.
	for f in /usr/sbin/nft /sbin/tc; do
		[ -x "$f" ] && printf -- '--prog\n%s:/usr/sbin/\n' "$f"
	done
	# CMLAB_KMODS: a test may add to it without exporting it
	for f in $CMLAB_KMODS $CM_DP_KMODS; do
		printf -- '--kmod\n%s\n' "$f"
	done
}

# dp_lab_start N: like lab_start, with the extras and CM_DP_KMODS.
dp_lab_start()
{
	local opts

	opts=$(dp_build_options) || return 1
	# shellcheck disable=SC2034 # for lab_start in lib.sh
	CM_LAB_LIFETIME=900
	mapfile -t opts <<<"$opts"
	lab_start "$1" "${opts[@]}"
}

# dp_setup_steps [HOST PARAMS]: the common topology, as the first six
# (fatal) steps of a test: the lab, the host module, the three guests up,
# every node up with carrier.
dp_setup_steps()
{
	local n

	cm_step "lab: daemon and 4 VMs up" fatal dp_lab_start 4
	cm_step "vm0: insmod chainmesh_host.ko${*:+ $*}" fatal dp_host_load "$@"
	for n in 1 2 3; do
		cm_step "vm$n: chainmesh.ko, cm0 10.0.0.$n fd00::$n up" fatal \
			dp_guest_up "vm$n" "$n"
	done
	cm_step "nodes 1 2 3 up, carrier on" fatal dp_nodes_up 1 2 3
}

# dp_host_load [PARAMS]: the host module in VM0.
dp_host_load()
{
	vm_exec vm0 "insmod $CM_HOST_KO $CM_HOST_LAB $*"
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
	cm_ethtool_stat "$@"
}

# dp_sum_stats VM NAME...: the sum of those `ethtool -S cm0` counters.
dp_sum_stats()
{
	local vm=$1

	shift
	vm_exec "$vm" "ethtool -S cm0" || return 1
	awk -v names="$*" 'BEGIN { n = split(names, a, " "); for (i = 1; i <= n; i++) want[a[i] ":"] = 1 }
		$1 in want { s += $2 } END { print s + 0 }' <<<"$CM_OUT"
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

# dp_unload VM...: rmmod chainmesh in each guest, chainmesh_host in vm0.
dp_unload()
{
	local vm

	for vm in "$@"; do
		vm_exec "$vm" "rmmod chainmesh" || return 1
	done
	vm_exec vm0 "rmmod chainmesh_host"
}

# dp_chain_flows [REPLY_DST]: chain 1 = hops 1 2 3 with flow 1 10.0.0.1 ->
# 10.0.0.3, chain 2 = hops 3 2 1 with flow 2 10.0.0.3 -> REPLY_DST
# (default 10.0.0.1/32).
dp_chain_flows()
{
	vm_exec vm0 "chainmesh chain add 1 hops 1 2 3 &&
		     chainmesh chain add 2 hops 3 2 1 &&
		     chainmesh flow add 1 chain 1 src 10.0.0.1/32 dst 10.0.0.3/32 &&
		     chainmesh flow add 2 chain 2 src 10.0.0.3/32 dst ${1:-10.0.0.1/32}"
}

# dp_ip_forward VM: VM's stack forwards (no redirects: the chain decides).
dp_ip_forward()
{
	vm_exec "$1" "sysctl -qw net.ipv4.ip_forward=1 &&
		      sysctl -qw net.ipv4.conf.all.send_redirects=0 &&
		      sysctl -qw net.ipv4.conf.cm0.send_redirects=0"
}

# dp_xdp_attach OBJ: the XDP program /lib/cmtest/OBJ on VM2's cm0.
dp_xdp_attach()
{
	vm_exec vm2 "ip link set cm0 xdp obj /lib/cmtest/$1 sec xdp &&
		     ip link show cm0 | grep -q 'prog/xdp'"
}

# dp_udp_batch PORT N IDLE_MS MAX_S WAIT_S: VM3 counts what VM1's N
# datagrams to 10.0.0.3:PORT delivered (dp_cmudp_recv, dp_cmudp_result).
dp_udp_batch()
{
	local port=$1 n=$2

	dp_cmudp_recv vm3 "$port" "$3" "$4" "/tmp/recv.$port" || return 1
	vm_exec vm1 "cmudp send 10.0.0.3 $port $n" || return 1
	dp_cmudp_result vm3 "/tmp/recv.$port" "$5"
}

# dp_pools_full VM...: every buffer of each VM is back in its pool.
dp_pools_full()
{
	local vm free size

	for vm in "$@"; do
		free=$(dp_stat "$vm" pool_free) && size=$(dp_stat "$vm" pool_size) || return 1
		CM_OUT="$vm pool $free/$size"
		[ "$free" = "$size" ] || return 1
	done
}

# dp_mkfile MIB [VM]: /tmp/src in VM (default vm1), MIB MiB of random
# data; its md5sum in DP_SUM, its size in DP_SIZE.
dp_mkfile()
{
	vm_exec "${2:-vm1}" "dd if=/dev/urandom of=/tmp/src bs=64k count=$(($1 * 16)) 2>/dev/null &&
		     md5sum /tmp/src"
	DP_SUM=$(cut -d' ' -f1 <<<"$CM_OUT")
	DP_SIZE=$(($1 * 1048576))
	[ -n "$DP_SUM" ]
}

# dp_tcp_copy FROM TO ADDR PORT: dp_mkfile's file from FROM to ADDR:PORT,
# received at TO, over TCP (busybox nc), checksums compared at both ends.
# FROM, TO: VM or VM:NETNS (nc runs in NETNS); TO in the lab of
# $DP_RX_LAB (a CMLAB_DIR, default this lab's).
dp_tcp_copy()
{
	local tx=${1%%:*} rx=${2%%:*} addr=$3 port=$4 txns= rxns= got
	local rxlab=${DP_RX_LAB:-$CMLAB_DIR}

	[[ $1 != *:* ]] || txns="ip netns exec ${1#*:} "
	[[ $2 != *:* ]] || rxns="ip netns exec ${2#*:} "
	CMLAB_DIR=$rxlab vm_exec "$rx" "rm -f /tmp/dst; (sleep 170 | ${rxns}nc -l -p $port > /tmp/dst &)" ||
		return 1
	sleep 1
	vm_exec "$tx" "${txns}nc $addr $port < /tmp/src" 150 || return 1
	CMLAB_DIR=$rxlab vm_wait_for "$rx" "[ \$(stat -c %s /tmp/dst) = $DP_SIZE ]" 30 || {
		CMLAB_DIR=$rxlab vm_exec "$rx" "ls -l /tmp/dst"
		return 1
	}
	CMLAB_DIR=$rxlab vm_exec "$rx" "md5sum /tmp/dst" || return 1
	got=$(cut -d' ' -f1 <<<"$CM_OUT")
	CM_OUT="sent $DP_SUM, received $got"
	[ "$got" = "$DP_SUM" ]
}

# dp_transfer PORT: dp_mkfile's file from VM1 to VM3 (10.0.0.3)
# (dp_tcp_copy). VM1's TCP builds GSO frames of at least 44 segments
# (tcp_min_tso_segs): 64 KiB once its window allows, whatever the pacing
# rate a TCG guest reaches.
dp_transfer()
{
	vm_exec vm1 "sysctl -qw net.ipv4.tcp_min_tso_segs=44" || return 1
	dp_tcp_copy vm1 vm3 10.0.0.3 "$1"
}

# dp_gso_frames VM MIN: VM received frames of several buffers or with
# offloads (GSO frames not segmented on the way), the largest at least
# MIN bytes.
dp_gso_frames()
{
	local n max

	n=$(dp_stat "$1" rx_frames) && max=$(dp_stat "$1" rx_frame_max) || return 1
	CM_OUT="$1: rx_frames $n rx_frame_max $max"
	ge "$n" 1 && ge "$max" "$2"
}

# dp_no_bad VM...: nothing refused for its format, no frame of offloads
# dropped.
dp_no_bad()
{
	local vm n

	for vm in "$@"; do
		n=$(dp_sum_stats "$vm" rx_bad_addr rx_bad_align rx_bad_owner \
			rx_bad_len rx_bad_index rx_bad_chain rx_bad_return \
			rx_bad_frame_len rx_bad_frame_loop rx_bad_frame_owner \
			rx_bad_frame_cut rx_bad_offload rx_drop_offload) || return 1
		CM_OUT="$vm: $n bad or dropped"
		[ "$n" = 0 ] || return 1
	done
}
