#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# chainmesh-ivshmemd's start and signals on the build machine (plain
# memfd mode, no module, no VM; selftests/vm/host_real.sh runs it with -M
# against the host module):
#
# - -d returns only once the socket listens and the pidfile holds the
#   detached daemon's pid, and exits 1 when it cannot listen (a missing
#   directory, another server on the socket) or cannot write the pidfile;
#   then neither socket nor pidfile is left behind;
# - SIGHUP reopens the log file (as after logrotate moved it);
# - the default socket is /run/chainmesh/chainmesh-ivshmemd.sock,
#   /run/chainmesh made when missing (in a mount namespace of our own with
#   a fresh /run, so that the machine's /run is not touched).
#
# Prints TAP.

set -e
. "$(dirname "$(readlink -f "$0")")/lib.sh"
cd "$(dirname "$0")/../.."

cm_scratch daemon

make -s -C tools chainmesh-ivshmemd >/dev/null
d=$PWD/tools/chainmesh-ivshmemd

# status WANT CMD...: CMD exits WANT (its stderr into $tmp/err)
status()
{
	local want=$1 rc=0

	shift
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	[ "$rc" = "$want" ]
}

# A client's first message: the protocol version, an int64 0.
hello()
{
	python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(5)
v, = struct.unpack("<q", s.recv(8))
assert v == 0, v' "$1"
}

started()
{
	status 0 "$d" -m 1M -S "$tmp/a.sock" -l "$tmp/a.log" -p "$tmp/a.pid" -d || return 1
	pids+=("$(cat "$tmp/a.pid")")
	# no waiting: ready as -d returns
	[ -S "$tmp/a.sock" ] && kill -0 "$(cat "$tmp/a.pid")" && hello "$tmp/a.sock" &&
		grep -q "listening on $tmp/a.sock" "$tmp/a.log"
}

busy()
{
	status 1 "$d" -m 1M -S "$tmp/a.sock" -p "$tmp/b.pid" -d &&
		grep -q 'another server is listening' "$tmp/err" &&
		[ ! -e "$tmp/b.pid" ] && hello "$tmp/a.sock"
}

sighup()
{
	local pid

	pid=$(cat "$tmp/a.pid")
	mv "$tmp/a.log" "$tmp/a.log.1"
	kill -HUP "$pid"
	for _ in $(seq 50); do
		[ -s "$tmp/a.log" ] && break
		sleep 0.1
	done
	grep -q 'log reopened on SIGHUP' "$tmp/a.log" &&
		grep -q 'SIGHUP: reopening' "$tmp/a.log.1" &&
		kill -0 "$pid" && hello "$tmp/a.sock"
}

term()
{
	local pid

	pid=$(cat "$tmp/a.pid")
	kill "$pid"
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	! kill -0 "$pid" 2>/dev/null && [ ! -e "$tmp/a.sock" ] && [ ! -e "$tmp/a.pid" ]
}

# Runs $tmp/ns.sh in a mount namespace of its own with a tmpfs on /run.
in_ns()
{
	local u=

	[ "$(id -u)" = 0 ] || u=-r
	unshare $u -m --propagation private sh -c "mount -t tmpfs cmtest /run && sh '$tmp/ns.sh'"
}

default_path()
{
	cat > "$tmp/ns.sh" <<SH
set -e
[ ! -e /run/chainmesh ] || [ "\$1" = here ]
'$d' -m 1M -p '$tmp/c.pid' -d
[ -d /run/chainmesh ] && [ -S /run/chainmesh/chainmesh-ivshmemd.sock ]
python3 -c '
import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("/run/chainmesh/chainmesh-ivshmemd.sock")'
kill \$(cat '$tmp/c.pid')
n=0
while [ -e /run/chainmesh/chainmesh-ivshmemd.sock ] && [ \$n -lt 50 ]; do
	sleep 0.1; n=\$((n + 1))
done
[ ! -e /run/chainmesh/chainmesh-ivshmemd.sock ]
SH
	if unshare -m true 2>/dev/null || unshare -rm true 2>/dev/null; then
		in_ns
		return
	fi
	# No mount namespace here (a container without CAP_SYS_ADMIN): the
	# machine's own /run, as root, removing what we made.
	[ "$(id -u)" = 0 ] && [ ! -e /run/chainmesh/chainmesh-ivshmemd.sock ] || return 1
	local made=
	[ -e /run/chainmesh ] || made=1
	sh "$tmp/ns.sh" here || return 1
	[ -z "$made" ] || rmdir /run/chainmesh
}

echo "1..9"
check "-d with a missing directory: exit 1, nothing left" \
	bash -c "{ '$d' -m 1M -S '$tmp/no/such/dir.sock' -p '$tmp/x.pid' -d 2>'$tmp/e'; [ \$? = 1 ]; } &&
		 grep -q 'bind $tmp/no/such/dir.sock' '$tmp/e' && [ ! -e '$tmp/x.pid' ]"
check "-d with an unwritable pidfile: exit 1, socket removed" \
	bash -c "{ '$d' -m 1M -S '$tmp/p.sock' -p '$tmp/no/such/p.pid' -d 2>'$tmp/e'; [ \$? = 1 ]; } &&
		 [ ! -e '$tmp/p.sock' ]"
check "bad option value: exit 2" status 2 "$d" -m 3000
check "-d: listening, pidfile with the live daemon's pid when it returns" started
check "-d on a socket another daemon serves: exit 1, the other unharmed" busy
check "SIGHUP reopens the log file, the daemon serves on" sighup
check "SIGTERM: exits, socket and pidfile removed" term
check "default socket /run/chainmesh/chainmesh-ivshmemd.sock, directory created" default_path
check "-h documents the default and SIGHUP" \
	bash -c "'$d' -h | grep -q '/run/chainmesh/NAME.sock' && '$d' -h | grep -q 'SIGHUP: reopen'"
exit $cm_check_fail
