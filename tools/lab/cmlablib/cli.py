# SPDX-License-Identifier: GPL-2.0
"""cmlab: the chainmesh VM lab (QEMU TCG guests sharing one ivshmem region).

  cmlab build [--kmod NAME ...] [--file SRC:DST ...] [--prog SRC:DST ...]
                                       vmlinux + initramfs into the build dir
  cmlab start N [options]              daemon + VM0..VM(N-1), wait for shells
                                       (--vm0-netdev: VM0 linked to another lab)
  cmlab exec VM CMD [--timeout S]      run CMD in VM's shell, exit with its rc
  cmlab stop                           kill everything, scan consoles for oopses
  cmlab status                         what runs, peer ids, boot times
  cmlab kill VM                        SIGKILL the VM's QEMU (a crash)
  cmlab pause VM / cmlab resume VM     SIGSTOP / SIGCONT its QEMU (a stall)
  cmlab restart VM [--boot-timeout S]  boot a VM again (killed or not), same id
  cmlab peer ARGS...                   run tools/cm-peer ARGS in the background
  cmlab peer-wait P [--timeout S]      wait for cm-peer P to end, its log, its rc
  cmlab peer-stop P [--kill]           SIGTERM (or SIGKILL) cm-peer P
  cmlab build-host [--nested]          initramfs of a real-host VM (+ QEMU, guests)
  cmlab start-host [--nested] [--smp N] [--mem M]
                                       boot it as vm0, no ivshmem device

Lab state (sockets, pids, logs) lives in $CMLAB_DIR; build outputs in
$CMLAB_BUILD (default <repo>/build/lab). Extra files for the guests:
`build --file SRC:DST` (as is), `--prog SRC:DST` (a program: with its
shared libraries, and its name means it in exec'd commands), or the same
as whitespace-separated SRC:DST lists in $CMLAB_FILES and $CMLAB_PROGS; a
DST ending in / is a directory. A test that adds files builds into a
CMLAB_BUILD of its own (the vmlinux is linked from the shared build).

Each VM has two serial ports: ttyS0 is the kernel console (socket
vmN.console.sock, log vmN.console.log, scanned by `stop`) and a second
serial port, ttyS1, carries the lab shell
used by `exec` (fifos vmN.shell.in/.out, log vmN.shell.log), so command
output is never interleaved with printk. VM i is started only after the
daemon logged the join of the previous one, so VM i is ivshmem peer (=
chainmesh node) i. Every process runs under timeout(1) (--lifetime), so
even a lab nobody stops goes away.

Peer ids after a VM left: the daemon gives every new connection the
LOWEST free id. `restart VM` makes VM i get id i again: if a lower id is
free it holds placeholder connections on those ids while QEMU connects
(and drops them once VM i joined); it refuses when id i is taken by
someone else (a cm-peer that connected after the VM left). A cm-peer
started with `peer` gets the lowest free id too (node 3 next to a lab of
3 VMs); `peer` prints it. Its output goes to $CMLAB_DIR/peerP.log, ending
with "cmlab-peer-exit RC"; `stop` ends every cm-peer before the VMs.
"""

import argparse
import os

from .common import LabError, log
from .hostvm import cmd_build_host, cmd_start_host
from .initramfs import cmd_build
from .peers import cmd_peer, cmd_peer_stop, cmd_peer_wait
from .qemu import (cmd_kill, cmd_pause, cmd_restart, cmd_start, cmd_status,
                   cmd_stop)
from .shell import cmd_exec


def add_build_options(b):
    b.add_argument("--kmod", action="append",
                   help="Debian kernel module to add (with deps); repeatable")
    b.add_argument("--file", action="append", metavar="SRC:DST",
                   help="a file for the guests, as is (DST/: into that "
                   "directory); repeatable; also $CMLAB_FILES")
    b.add_argument("--prog", action="append", metavar="SRC:DST",
                   help="a program for the guests, with its shared "
                   "libraries; repeatable; also $CMLAB_PROGS")


def add_vm_options(s, lifetime_help):
    """The options of start and start-host that the VMs share."""
    s.add_argument("--machine", default="q35")
    s.add_argument("--append", default="", help="extra kernel arguments")
    s.add_argument("--boot-timeout", type=int, default=120)
    s.add_argument("--lifetime", type=int,
                   default=int(os.environ.get("CMLAB_LIFETIME", "3600")),
                   help=lifetime_help)


def add_host_parsers(sub):
    b = sub.add_parser("build-host", help="initramfs of a real-host VM "
                       "(daemon, cm-peer; --nested: QEMU and lab guests)")
    b.add_argument("--nested", action="store_true",
                   help="add QEMU, the lab kernel and initramfs, cm-vm-start/exec")
    add_build_options(b)
    b.add_argument("--append", default="loglevel=5",
                   help="extra kernel arguments of the nested guests (default "
                   "loglevel=5: every character on a nested console is slow)")
    s = sub.add_parser("start-host", help="boot one real-host VM as vm0 "
                       "(no ivshmem device)")
    s.add_argument("--nested", action="store_true",
                   help="the build-host --nested initramfs")
    s.add_argument("--smp", type=int, default=1)
    s.add_argument("--mem", type=int, default=512, help="MiB")
    add_vm_options(s, "hard limit (s) for the VM")


COMMANDS = {"build": cmd_build, "start": cmd_start, "exec": cmd_exec,
            "stop": cmd_stop, "status": cmd_status, "kill": cmd_kill,
            "pause": cmd_pause, "resume": cmd_pause,
            "restart": cmd_restart, "peer": cmd_peer,
            "peer-wait": cmd_peer_wait, "peer-stop": cmd_peer_stop,
            "build-host": cmd_build_host, "start-host": cmd_start_host}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="cmlab", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="sub", required=True)
    b = sub.add_parser("build", help="vmlinux + initramfs")
    add_build_options(b)
    s = sub.add_parser("start", help="start the daemon and N VMs")
    s.add_argument("n", type=int)
    s.add_argument("--mem", type=int, default=512, help="MiB per VM")
    s.add_argument("--region", default="16M", help="ivshmem region size")
    s.add_argument("--vectors", type=int, default=1,
                   help="doorbell vectors per VM (one per queue)")
    s.add_argument("--smp", type=int, default=1, help="vCPUs per VM")
    s.add_argument("--vm0-netdev", metavar="SPEC",
                   help="a virtio-net link for VM0: the rest of a QEMU "
                   "'-netdev socket,...' (udp=HOST:PORT,localaddr=HOST:PORT "
                   "to another lab's VM0)")
    add_vm_options(s, "hard limit (s) for every lab process")
    e = sub.add_parser("exec", help="run a command in a VM")
    e.add_argument("vm")
    e.add_argument("cmd")
    e.add_argument("--timeout", type=int, default=60)
    sub.add_parser("stop", help="stop the lab, scan consoles")
    sub.add_parser("status", help="show the lab")
    k = sub.add_parser("kill", help="SIGKILL a VM's QEMU (a crash)")
    k.add_argument("vm")
    for name, what in (("pause", "SIGSTOP a VM's QEMU (a guest that stalls)"),
                       ("resume", "SIGCONT a VM's QEMU paused by 'pause'")):
        pa = sub.add_parser(name, help=what)
        pa.add_argument("vm")
    r = sub.add_parser("restart", help="boot a VM again; it gets its peer id back")
    r.add_argument("vm")
    r.add_argument("--boot-timeout", type=int, default=120)
    p = sub.add_parser("peer", help="run tools/cm-peer ARGS against the lab")
    p.add_argument("--timeout", type=int, default=20,
                   help="seconds to wait for it to connect")
    p.add_argument("args", nargs=argparse.REMAINDER)
    pw = sub.add_parser("peer-wait", help="wait for a cm-peer, print its log")
    pw.add_argument("p")
    pw.add_argument("--timeout", type=int, default=60)
    ps = sub.add_parser("peer-stop", help="SIGTERM (--kill: SIGKILL) a cm-peer")
    ps.add_argument("p")
    ps.add_argument("--kill", action="store_true")
    add_host_parsers(sub)
    args = ap.parse_args(argv)
    if args.sub == "start" and not 1 <= args.n <= 64:
        ap.error("N must be 1..64")
    try:
        return COMMANDS[args.sub](args)
    except LabError as e:
        log(str(e))
        return 1
