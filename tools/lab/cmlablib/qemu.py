# SPDX-License-Identifier: GPL-2.0
"""The VMs and the ivshmem daemon: QEMU's command line, start (the daemon,
then VM0..VM(N-1) one at a time), stop and its console scan, status, and
the failures a test injects (kill, pause/resume, restart with the same
peer id)."""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import zlib

from .common import (BUILD, DAEMON, QEMU, LabError, Terminated, log,
                     tail_log, terminate_on_signals)
from .procs import (alive, kill_wait, log_size, proc_ref, read_pidfile,
                    spawn, wait_file_line, wait_gone)
from .shell import shell_fifos, wait_shell
from .state import (claim_lab_dir, clear_lab_dir, lab_dir, lifetime_left,
                    load_state, running_lab, save_state, vm_index)


# Boot options per LAB-FACTS.md; 8250.nr_uarts=2 for the shell on ttyS1.
KERNEL_ARGS = ("console=ttyS0 8250.nr_uarts=2 mitigations=off nokaslr "
               "tsc=reliable no_timer_check cryptomgr.notests panic=-1")


def tsc_khz():
    """The host CPU's clock, so that guests skip TSC calibration: under TCG
    on a loaded machine calibration goes wrong and guest clocks run fast,
    which shrinks every timeout in the guest (heartbeats included)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return int(float(line.split(":")[1]) * 1000)
    except (OSError, ValueError):
        pass
    return 0


# "BUG:" covers soft lockups and scheduling while atomic; the others are
# the RCU stall and hung task detectors (the lab's init shortens the
# latter's timeout).
BAD_PATTERNS = ("Oops", "BUG:", "WARNING:", "Call Trace", "Kernel panic",
                "kernel BUG at", "general protection fault", "UBSAN:",
                "KASAN:", "soft lockup", "detected stall",
                "blocked for more than", "hard LOCKUP")


def qemu_cmd(d, i, build, args):
    name = "vm%d" % i
    j = lambda s: os.path.join(d, s)
    return [
        QEMU, "-accel", "tcg", "-M", args.machine, "-cpu", "max",
        "-smp", str(getattr(args, "smp", 1)), "-m", str(args.mem), "-name", name,
        "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
        "-net", "none", "-pidfile", j(name + ".qemu.pid"),
        "-kernel", build["vmlinux"], "-initrd", build["initrd"],
        "-append", "%s%s cmlab.name=%s %s" % (
            KERNEL_ARGS,
            " tsc_early_khz=%d" % tsc_khz() if tsc_khz() else "",
            name, args.append),
        "-chardev", "socket,id=con,path=%s,server=on,wait=off,logfile=%s,logappend=on"
        % (j(name + ".console.sock"), j(name + ".console.log")),
        "-serial", "chardev:con",
        "-chardev", "pipe,id=sh,path=%s,logfile=%s,logappend=on"
        % (j(name + ".shell"), j(name + ".shell.log")),
        "-serial", "chardev:sh",
        "-chardev", "socket,id=ivs,path=%s" % j("ivshmem.sock"),
        "-device", "ivshmem-doorbell,chardev=ivs,vectors=%d" % args.vectors,
    ] + vm0_link(i, getattr(args, "vm0_netdev", None))


def vm0_link(i, netdev):
    """VM0's virtio-net link to another lab's VM0 (--vm0-netdev: the rest
    of a QEMU '-netdev socket,...' spec, e.g. udp=H:P,localaddr=H:P), its
    MAC from the ports so that the two ends differ."""
    if i != 0 or not netdev:
        return []
    mac = "52:54:00:cb:%02x:%02x" % divmod(zlib.crc32(netdev.encode()) & 0xffff, 256)
    return ["-netdev", "socket,id=link0," + netdev,
            "-device", "virtio-net-pci,netdev=link0,mac=" + mac]


def spawn_vm(d, name, argv, lifetime):
    """Start VM name's QEMU (argv) under timeout(1), its output appended to
    name.qemu.log; returns the timeout wrapper's process reference."""
    w = spawn(argv, os.path.join(d, name + ".qemu.log"), lifetime)
    return dict(proc_ref(w.pid), what="%s (QEMU)" % name)


def qemu_ref(d, name, secs):
    """QEMU's own process once it wrote name.qemu.pid (None: not in secs)."""
    pid = read_pidfile(os.path.join(d, name + ".qemu.pid"),
                       time.monotonic() + secs)
    return dict(proc_ref(pid), what="%s (QEMU)" % name) if pid else None


def start_daemon(d, st, args):
    """The ivshmem daemon on d/ivshmem.sock, in st once it listens; returns
    its log, where it says who joined and left."""
    sock = os.path.join(d, "ivshmem.sock")
    dlog = os.path.join(d, "ivshmemd.log")
    dpid = os.path.join(d, "ivshmemd.pid")
    w = spawn([DAEMON, "-S", sock, "-m", args.region, "-n",
               str(args.vectors), "-l", dlog, "-p", dpid],
              os.path.join(d, "ivshmemd.out"), args.lifetime)
    st["daemon"] = {"wrapper": dict(proc_ref(w.pid), what="daemon")}
    save_state(st)
    pid = read_pidfile(dpid, time.monotonic() + 10)
    if not pid:
        raise LabError("daemon did not start: see %s" % dlog)
    st["daemon"]["proc"] = dict(proc_ref(pid), what="daemon")
    save_state(st)
    if not wait_file_line(dlog, r"listening on", time.monotonic() + 10):
        raise LabError("daemon not listening: see %s" % dlog)
    return dlog


def start_vm(d, st, i, build, args, dlog):
    """VM i's QEMU, in st once the daemon logged its join as peer i."""
    name = "vm%d" % i
    argv = qemu_cmd(d, i, build, args)
    with open(os.path.join(d, name + ".cmdline"), "w") as f:
        f.write(" ".join(argv) + "\n")
    shell_fifos(d, name)
    t0 = time.monotonic()
    vm = {"name": name, "t0": t0,
          "wrapper": spawn_vm(d, name, argv, args.lifetime)}
    st["vms"].append(vm)
    save_state(st)
    m = wait_file_line(dlog, r"peer (\d+) joined \((%d) connected" % (i + 1),
                       time.monotonic() + 20,
                       [vm["wrapper"], st["daemon"]["proc"]])
    if not m:
        raise LabError("%s never joined the ivshmem daemon: see %s"
                       % (name, os.path.join(d, name + ".qemu.log")))
    vm["peer"] = int(m.group(1))
    if vm["peer"] != i:
        raise LabError("%s got peer id %d, expected %d"
                       % (name, vm["peer"], i))
    ref = qemu_ref(d, name, 10)
    if ref:
        vm["qemu"] = ref
    save_state(st)


def wait_shells(d, st, boot_timeout):
    """Every VM's shell, probed in parallel (the guests boot in parallel);
    each VM's boot_s is timed from its QEMU start."""
    deadline = time.monotonic() + boot_timeout
    res = {}

    def waiter(i):
        try:
            res[i] = (wait_shell(d, i, deadline), time.monotonic())
        except LabError as e:
            res[i] = (e, time.monotonic())

    ths = [threading.Thread(target=waiter, args=(i,), daemon=True)
           for i in range(len(st["vms"]))]
    for t in ths:
        t.start()
    for t in ths:
        while t.is_alive():
            t.join(0.2)
    for i, vm in enumerate(st["vms"]):
        ok, t1 = res.get(i, (False, 0))
        if ok is not True:
            why = str(ok) if isinstance(ok, LabError) else \
                "no shell within %d s" % boot_timeout
            raise LabError("%s: %s; console: %s" % (
                vm["name"], why,
                os.path.join(d, vm["name"] + ".console.log")))
        vm["boot_s"] = round(t1 - vm["t0"], 2)


def cmd_start(args):
    d = claim_lab_dir("vm00.console.sock")
    try:
        with open(os.path.join(BUILD, "build.json")) as f:
            build = json.load(f)
    except OSError:
        raise LabError("no lab build in %s: run cmlab build" % BUILD)
    for k in ("vmlinux", "initrd"):
        if not os.path.exists(build[k]):
            raise LabError("%s missing: run cmlab build" % build[k])
    if not os.access(DAEMON, os.X_OK):
        raise LabError("%s missing: run cmlab build (or make -C tools)" % DAEMON)
    if shutil.which(QEMU) is None:
        raise LabError("%s not found: install qemu-system-x86" % QEMU)

    clear_lab_dir(d)

    st = {"dir": d, "n": args.n, "vms": [], "daemon": None,
          "started": time.time(), "machine": args.machine, "mem": args.mem,
          "append": args.append, "vectors": args.vectors,
          "smp": args.smp, "lifetime": args.lifetime,
          "vm0_netdev": args.vm0_netdev}
    with terminate_on_signals():
        try:
            t_all = time.monotonic()
            dlog = start_daemon(d, st, args)
            for i in range(args.n):
                start_vm(d, st, i, build, args, dlog)
            wait_shells(d, st, args.boot_timeout)
            st["boot_wall_s"] = round(time.monotonic() - t_all, 2)
            save_state(st)
            for vm in st["vms"]:
                log("%s: peer %d, shell up %.2f s after QEMU start"
                    % (vm["name"], vm["peer"], vm["boot_s"]))
            log("lab of %d VMs up in %.2f s (state in %s)"
                % (args.n, st["boot_wall_s"], d))
            return 0
        except (LabError, Terminated, OSError, subprocess.SubprocessError) as e:
            log("start failed: %s" % e)
            for vm in st["vms"]:
                tail_log(os.path.join(d, vm["name"] + ".console.log"), 15)
            teardown(st)
            return 1


def teardown(st):
    """Kill VMs first (they are the daemon's clients), then the daemon."""
    d = st["dir"]
    left = kill_wait([p["proc"] for p in st.get("peers", []) if p.get("proc")])
    vm_refs = []
    for v in st.get("vms", []):
        vm_refs += [r for r in (v.get("qemu"), v.get("wrapper")) if r]
    left += kill_wait(vm_refs)
    dmn = st.get("daemon") or {}
    left += kill_wait([r for r in (dmn.get("proc"), dmn.get("wrapper")) if r])
    for f in os.listdir(d):
        if f.endswith((".sock", ".pid", ".lock", ".shell.in", ".shell.out")):
            try:
                os.unlink(os.path.join(d, f))
            except OSError:
                pass
    st["stopped"] = time.time()
    save_state(st)
    for r in left:
        log("could not kill pid %d (%s)" % (r["pid"], r.get("what")))
    return not left


def scan_consoles(d, st):
    bad = []
    for v in st.get("vms", []):
        path = os.path.join(d, v["name"] + ".console.log")
        try:
            with open(path, errors="replace") as f:
                for n, line in enumerate(f, 1):
                    if any(p in line for p in BAD_PATTERNS):
                        bad.append("%s:%d: %s" % (path, n, line.rstrip()))
        except FileNotFoundError:
            pass
    return bad


def cmd_stop(args):
    st = load_state()
    if not st:
        log("no lab in %s" % lab_dir())
        return 0
    d = st["dir"]
    dead = [v["name"] for v in st.get("vms", [])
            if not st.get("stopped") and v.get("qemu") and not alive(v["qemu"])
            and not v.get("killed")]
    ok = teardown(st)
    for name in dead:
        log("warning: %s had already exited before stop" % name)
    bad = scan_consoles(d, st)
    for line in bad:
        print(line)
    if bad:
        log("%d suspicious console line(s): Oops/BUG/WARNING/Call Trace/panic/lockup/stall"
            % len(bad))
    log("lab stopped; logs in %s" % d)
    return 0 if ok and not bad else 1


def cmd_status(args):
    st = load_state()
    if not st:
        print("no lab in %s" % lab_dir())
        return 1
    dmn = st.get("daemon") or {}
    p = dmn.get("proc")
    print("lab %s: %s" % (st["dir"], "stopped" if st.get("stopped") else "started"))
    print("daemon pid %s %s" % (p and p["pid"], "running" if alive(p) else "not running"))
    running = 0
    for v in st.get("vms", []):
        q = v.get("qemu")
        up = alive(q)
        running += up
        print("%s peer %s pid %s %s boot %ss" % (
            v["name"], v.get("peer"), q and q["pid"],
            "running" if up else "not running", v.get("boot_s")))
    return 0 if running == len(st.get("vms", [])) and alive(p) else 1


def daemon_ids(dlog):
    """Peer ids in use, from the daemon's log of joins and leaves."""
    used = set()
    rx = re.compile(r"peer (\d+) (joined|left)")
    try:
        with open(dlog, errors="replace") as f:
            for line in f:
                m = rx.search(line)
                if m:
                    (used.add if m.group(2) == "joined" else used.discard)(
                        int(m.group(1)))
    except FileNotFoundError:
        pass
    return used


def running_qemu(name):
    """(the lab's state, VM name, its QEMU process) if that QEMU runs."""
    st = running_lab()
    vm = st["vms"][vm_index(name, st)]
    q = vm.get("qemu")
    if not alive(q):
        raise LabError("%s is not running" % vm["name"])
    return st, vm, q


def cmd_kill(args):
    st, vm, q = running_qemu(args.vm)
    os.kill(q["pid"], signal.SIGKILL)
    if not wait_gone(q, 10):
        raise LabError("%s: QEMU pid %d survived SIGKILL" % (vm["name"], q["pid"]))
    vm["killed"] = time.time()
    save_state(st)
    log("%s: QEMU pid %d killed" % (vm["name"], q["pid"]))
    return 0


def cmd_pause(args):
    """SIGSTOP (or, resuming, SIGCONT) a VM's QEMU: a guest that stalls."""
    st, vm, q = running_qemu(args.vm)
    resume = args.sub == "resume"
    os.kill(q["pid"], signal.SIGCONT if resume else signal.SIGSTOP)
    log("%s: QEMU pid %d %s" % (vm["name"], q["pid"],
                                 "resumed" if resume else "stopped"))
    return 0


def hold_ids_below(sock, i, used, holds):
    """Hold every free peer id below i (connections to the daemon, appended
    to holds), so that the daemon's "lowest free id" is i."""
    for _ in [k for k in range(i) if k not in used]:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(sock)
        hdr = s.recv(16, socket.MSG_WAITALL)
        holds.append(s)
        got = int.from_bytes(hdr[8:16], "little", signed=True) \
            if len(hdr) == 16 else -1
        if got >= i or got < 0:
            raise LabError("placeholder got peer id %d, wanted < %d" % (got, i))


def cmd_restart(args):
    st = running_lab()
    d = st["dir"]
    i = vm_index(args.vm, st)
    vm = st["vms"][i]
    name = vm["name"]
    dlog = os.path.join(d, "ivshmemd.log")
    sock = os.path.join(d, "ivshmem.sock")
    if not alive((st.get("daemon") or {}).get("proc")):
        raise LabError("the daemon is not running")
    if alive(vm.get("qemu")) or alive(vm.get("wrapper")):
        left = kill_wait([r for r in (vm.get("qemu"), vm.get("wrapper")) if r])
        if left:
            raise LabError("%s: could not stop QEMU" % name)
    # the daemon notices the hangup; wait until it freed the id
    deadline = time.monotonic() + 10
    while vm.get("peer") in daemon_ids(dlog) and time.monotonic() < deadline:
        time.sleep(0.02)
    used = daemon_ids(dlog)
    if i in used:
        raise LabError("peer id %d is taken (a cm-peer?): %s cannot get it back"
                       % (i, name))
    with open(os.path.join(BUILD, "build.json")) as f:
        build = json.load(f)

    holds = []
    try:
        hold_ids_below(sock, i, used, holds)
        # the console socket of the last life; the logs are appended to
        try:
            os.unlink(os.path.join(d, name + ".console.sock"))
        except FileNotFoundError:
            pass
        shell_fifos(d, name)
        with open(os.path.join(d, name + ".console.log"), "a") as f:
            f.write("\n=== cmlab: %s restarted at %.3f ===\n" % (name, time.time()))
        off = log_size(dlog)
        a = argparse.Namespace(machine=st.get("machine", "q35"),
                               mem=st.get("mem", 512), append=st.get("append", ""),
                               vectors=st.get("vectors", 1),
                               smp=st.get("smp", 1),
                               vm0_netdev=st.get("vm0_netdev"))
        argv = qemu_cmd(d, i, build, a)
        t0 = time.monotonic()
        vm.update({"t0": t0,
                   "wrapper": spawn_vm(d, name, argv, lifetime_left(st, 60)),
                   "qemu": None, "restarts": vm.get("restarts", 0) + 1})
        vm.pop("killed", None)
        save_state(st)
        m = wait_file_line(dlog, r"peer (\d+) joined", time.monotonic() + 20,
                           [vm["wrapper"]], offset=off)
        if not m:
            raise LabError("%s never joined the daemon again" % name)
        vm["peer"] = int(m.group(1))
        ref = qemu_ref(d, name, 10)
        if ref:
            vm["qemu"] = ref
        save_state(st)
        if vm["peer"] != i:
            raise LabError("%s got peer id %d, expected %d" % (name, vm["peer"], i))
    finally:
        for s in holds:
            s.close()
    if not wait_shell(d, i, time.monotonic() + args.boot_timeout):
        raise LabError("%s: no shell within %d s after restart" % (name, args.boot_timeout))
    vm["boot_s"] = round(time.monotonic() - t0, 2)
    save_state(st)
    log("%s: restarted, peer %d, shell up %.2f s after QEMU start"
        % (name, vm["peer"], vm["boot_s"]))
    return 0
