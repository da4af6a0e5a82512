#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A mesh with no kernel module and no VM: chainmesh-ivshmemd (plain, a
# memfd), chainmesh-mesh (lays the region out, node 0, chains and flows
# from a -batch file) and libchainmesh nodes (selftests/build/cml-node.c,
# built against the library as `make install` installs it, through its
# pkg-config file).
#
# - the install: shared library with its versioned soname, static
#   library, header (compiles alone, C99 -pedantic), libchainmesh.pc;
# - chain 1 = nodes 1 -> 2 -> 3: node 1 sends frames classified by its
#   flow table (the flow sends them along chain 1), node 2 forwards them
#   zero copy (cml_forward()), node 3 receives them: all delivered, in
#   order, payload intact, every buffer from node 1's pool, the same
#   sequence of buffer offsets at nodes 2 and 3 (zero copy), counters
#   (tx, rx, forwarded, no drops, no bad input) and every buffer of every
#   pool home at the end; again with the chain context given by the
#   sender (cml_send() with a context) instead of the flow table;
# - a chain whose next hop is not running: the source's frames are
#   refused (-EHOSTDOWN) and counted, none lost in flight;
# - `cm-peer chaos` attacks a libchainmesh node (bad_limit 0, as
#   selftests/vm/chaos.sh sets on its kernel victims): the node lives
#   through it, counts the rejected input per reason as the kernel node
#   does (rx_bad_addr, align, owner, len, index, chain, return), and has
#   all its buffers home afterwards; with the default policy it judges the
#   attacker broken, as the kernel node does (selftests/vm/misbehave.sh).
#
# CM_KEEP=1 keeps the logs. Prints TAP.

set -e
. "$(dirname "$(readlink -f "$0")")/lib.sh"
cd "$(dirname "$0")/../.."

cm_scratch userspace

CC=${CC:-cc}
dest=$tmp/dest
sock=$tmp/ivshmem.sock
export PKG_CONFIG_PATH=$dest/usr/lib/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$dest

# field LOG NAME: the value after NAME on the "cml-node: stats" line.
field()
{
	sed -n "s/^cml-node: stats .* $2 \([0-9]*\).*/\1/p" "$1" | tail -n 1
}

offsets()
{
	sed -n 's/^cml-node: offsets \([0-9a-f]*\).*/\1/p' "$1"
}

# expect LOG NAME=VALUE...: each field has that value.
expect()
{
	local log=$1 kv v

	shift
	for kv in "$@"; do
		v=$(field "$log" "${kv%%=*}")
		if [ "$v" != "${kv#*=}" ]; then
			echo "# $log: ${kv%%=*} is '$v', expected ${kv#*=}" >&2
			return 1
		fi
	done
}

# atleast LOG NAME...: each field is >= 1.
atleast()
{
	local log=$1 k v

	shift
	for k in "$@"; do
		v=$(field "$log" "$k")
		if [ -z "$v" ] || [ "$v" -lt 1 ]; then
			echo "# $log: $k is '$v', expected >= 1" >&2
			return 1
		fi
	done
}

# joined LOG: wait until the node said it joined.
joined()
{
	local i

	for i in $(seq 100); do
		grep -q "joined" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

start_mesh()
{
	./tools/chainmesh-ivshmemd -S "$sock" -m 16M -l "$tmp/daemon.log" \
		-p "$tmp/daemon.pid" &
	pids+=($!)
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	./tools/chainmesh-mesh -S "$sock" -b "$tmp/batch" -n 5 >"$tmp/mesh.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do
		grep -q ready "$tmp/mesh.log" && return 0
		sleep 0.1
	done
	return 1
}

# node LOG ARGS...: a cml-node in the background; waits until it joined.
node()
{
	local log=$1

	shift
	"$tmp/cml-node" -S "$sock" "$@" >"$log" 2>&1 &
	last=$!
	joined "$log"
}

# chain PREFIX COUNT [SOURCE ARGS]: source (node 1), forward (2), sink (3).
run_chain()
{
	local p=$1 count=$2 s f k

	shift 2
	node "$tmp/$p.1" source --count "$count" --wait 2,3 --duration 60 "$@" || return 1
	s=$last
	node "$tmp/$p.2" forward --count "$count" --owner 1 --duration 60 || return 1
	f=$last
	node "$tmp/$p.3" sink --count "$count" --owner 1 --duration 60 || return 1
	k=$last
	wait "$s" && wait "$f" && wait "$k"
}

chain_ok()
{
	local p=$1 count=$2

	expect "$tmp/$p.1" tx="$count" tx_drops=0 bad=0 pool_free=512 &&
	expect "$tmp/$p.2" rx="$count" fwd="$count" fwd_drops=0 bad=0 \
		order_errors=0 payload_errors=0 owner_errors=0 pool_free=512 &&
	expect "$tmp/$p.3" rx="$count" bad=0 order_errors=0 payload_errors=0 \
		owner_errors=0 pool_free=512
}

same_offsets()
{
	local a b

	a=$(offsets "$tmp/$1.2")
	b=$(offsets "$tmp/$1.3")
	[ -n "$a" ] && [ "$a" = "$b" ]
}

echo "1..20"

check "make install DESTDIR=... PREFIX=/usr: libchainmesh, header, .pc" \
	make -s install-lib DESTDIR="$dest" PREFIX=/usr
check "shared library with soname libchainmesh.so.0, static library" \
	bash -c "readelf -d '$dest/usr/lib/libchainmesh.so' | grep -q 'SONAME.*\[libchainmesh.so.0\]' &&
		 test -L '$dest/usr/lib/libchainmesh.so.0' &&
		 nm '$dest/usr/lib/libchainmesh.a' | grep -q ' T cml_rx_burst' &&
		 ! nm -D --defined-only '$dest/usr/lib/libchainmesh.so' | grep -v ' cml_' | grep -q ' T '"
check "pkg-config libchainmesh: version, flags; the header compiles alone (C99, pedantic)" \
	bash -c "pkg-config --modversion libchainmesh | grep -qx '0.1.0' &&
		 echo '#include <chainmesh/libchainmesh.h>' |
		 $CC -std=c99 -pedantic-errors -Wall -Wextra -Werror \$(pkg-config --cflags libchainmesh) -fsyntax-only -x c -"
check "cml-node builds against the installed library (pkg-config), warning-free" \
	bash -c "$CC -O2 -g -Wall -Wextra -Werror \$(pkg-config --cflags libchainmesh) \
		 -o '$tmp/cml-node' selftests/build/cml-node.c \
		 \$(pkg-config --libs libchainmesh) -Wl,-rpath,'$dest/usr/lib' &&
		 ldd '$tmp/cml-node' | grep -q '$dest/usr/lib/libchainmesh.so.0'"

cat >"$tmp/batch" <<'EOF'
# chain 1: node 1 -> node 2 -> node 3; chain 2 ends at node 4, never up
chain add 1 hops 1 2 3
chain add 2 hops 1 4 policy drop
flow add 1 chain 1 proto udp dst 10.0.0.2/32 dport 1234
EOF
check "chainmesh-ivshmemd and chainmesh-mesh: region laid out, chains and flows loaded" \
	start_mesh

check "chain 1 -> 2 -> 3, 20000 frames classified by node 1's flow table: all delivered" \
	run_chain a 20000
check "in order, intact, from node 1's pool; tx, rx, forwarded counted; no drops, no bad input; every buffer home" \
	chain_ok a 20000
check "zero copy: the same buffer offsets, in the same order, at nodes 2 and 3" \
	same_offsets a
ctx_chain()
{
	run_chain b 3000 --chain 1 && chain_ok b 3000 && same_offsets b
}

# Node 4 never joins: chain 2 (drop policy) ends at node 1 for now.
dead_hop()
{
	! "$tmp/cml-node" -S "$sock" source --count 10 --chain 2 --duration 2 \
		>"$tmp/c.1" 2>&1 &&
	expect "$tmp/c.1" tx=0 pool_free=512 && atleast "$tmp/c.1" tx_drops
}

check "again with the chain context given by the sender (cml_send() with chain 1, hop 0)" \
	ctx_chain
check "chain 2's next hop (node 4) never joined: node 1's frames dropped and counted, no buffer lost" \
	dead_hop

# dpdk-testpmd with net_chainmesh (drivers/dpdk) as node 2: io forwarding,
# one port looped onto itself, --no-huge.
PMD=drivers/dpdk/librte_net_chainmesh.so
# shellcheck source=scripts/dpdk-plugin.sh
. scripts/dpdk-plugin.sh
pmd_skip=
if ! command -v dpdk-testpmd >/dev/null 2>&1; then
	pmd_skip=" # SKIP no dpdk-testpmd (dpdk-dev)"
else
	[ -e "$PMD" ] || make -s -C drivers/dpdk >/dev/null 2>&1 || true
	[ -e "$PMD" ] || pmd_skip=" # SKIP no $PMD (libdpdk-dev, scripts/dpdk-sdk.sh)"
	[ -n "$pmd_skip" ] || cm_pmd_trusted
fi

testpmd_chain()
{
	local tp s i

	[ -z "$pmd_skip" ] || return 0
	# the daemon hands out the lowest free id: node 1, then testpmd
	node "$tmp/p.1" source --count 20000 --wait 2,3 --duration 60 || return 1
	s=$last
	timeout -k 5 120 stdbuf -oL dpdk-testpmd -l 0-1 --no-huge -m 256 --no-pci \
		--file-prefix="cmus$$" -d "$PMD" \
		--vdev="net_chainmesh0,socket=$sock,node=2" -- \
		--forward-mode=io --port-topology=loop -a \
		--total-num-mbufs=2048 >"$tmp/testpmd.log" 2>&1 < <(sleep 130) &
	tp=$!
	pids+=("$tp")
	for i in $(seq 100); do
		grep -q "is node 2 of" "$tmp/testpmd.log" && break
		[ "$i" -lt 100 ] || return 1
		sleep 0.1
	done
	node "$tmp/p.3" sink --count 20000 --owner 1 --duration 60 || return 1
	wait "$s" && wait "$last" || return 1
	# SIGINT (stdin is held open: at EOF testpmd would quit at once):
	# testpmd stops forwarding, prints its statistics, closes the port
	# (the node leaves)
	kill -INT "$tp" && wait "$tp"
}

# testpmd's "Forward statistics for port 0" and "NIC statistics" lines.
testpmd_stats()
{
	[ -z "$pmd_skip" ] || return 0
	grep -Eq 'RX-packets: 20000 +RX-dropped: 0' "$tmp/testpmd.log" &&
		grep -Eq 'TX-packets: 20000 +TX-dropped: 0' "$tmp/testpmd.log"
}

check "dpdk-testpmd -d librte_net_chainmesh.so as node 2 of chain 1: 20000 frames delivered$pmd_skip" \
	testpmd_chain
testpmd_hop_ok()
{
	[ -z "$pmd_skip" ] || return 0
	expect "$tmp/p.1" tx=20000 tx_drops=0 pool_free=512 &&
	expect "$tmp/p.3" rx=20000 bad=0 order_errors=0 payload_errors=0 \
		owner_errors=0 pool_free=512
}

check "testpmd's hop: in order, intact, node 1's buffers (zero copy), every buffer home$pmd_skip" \
	testpmd_hop_ok
check "testpmd's port statistics: 20000 received, 20000 sent, none dropped$pmd_skip" \
	testpmd_stats
check "testpmd quit: node 2 left (absent), not judged down$pmd_skip" \
	eval "[ -n '$pmd_skip' ] || ! grep -q 'node 2 down' '$tmp/mesh.log'"

chaos()
{
	local judge=$1 v

	shift
	# shellcheck disable=SC2086
	node "$tmp/d.$judge" sink --count 0 --duration 8 $judge || return 1
	v=$last
	./tools/cm-peer -S "$sock" -q chaos --seed 42 --duration 4 --targets 1 \
		--kinds "$@" >"$tmp/chaos.$judge" 2>&1 || return 1
	wait "$v"
}

kinds=desc_addr,desc_align,desc_owner,desc_len_huge,desc_off,desc_chain,frame_garbage,frame_trunc,head_random,head_back,tail,kickflag,ret_unknown,ret_dup,ret_bad,doorbell
check "cm-peer chaos (16 kinds) against a libchainmesh node: it lives through it" \
	chaos --no-judge "$kinds"
check "it counted the rejected input per reason: addr align owner len index chain return" \
	atleast "$tmp/d.--no-judge" bad_addr bad_align bad_owner bad_len bad_index bad_chain bad_return
check "after the attack every buffer of its pool is home" \
	expect "$tmp/d.--no-judge" pool_free=512
judge()
{
	chaos "" desc_addr,desc_len_huge && atleast "$tmp/d." judged bad_addr
}

check "with the default policy it judges the attacker broken, as the kernel node does" \
	judge
check "chainmesh-mesh saw every node come and go, and nodes 1..3 left cleanly" \
	bash -c "grep -q 'node 3 up' '$tmp/mesh.log' && ! grep -q 'node [1-3] down' '$tmp/mesh.log'"
stop_mesh()
{
	kill "${pids[1]}" && wait "${pids[1]}" && grep -q done "$tmp/mesh.log" &&
		kill "${pids[0]}" && wait "${pids[0]}"
}

check "chainmesh-mesh and the daemon exit cleanly on SIGTERM" \
	stop_mesh
exit $cm_check_fail
