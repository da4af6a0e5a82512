# SPDX-License-Identifier: GPL-2.0
"""cm-peer (tools/cm-peer, a chainmesh node in userspace) run against the
lab's ivshmem socket in the background: peer, peer-wait, peer-stop."""

import os
import re
import signal
import subprocess
import sys
import time

from .common import PEER, LabError, log, tail_log
from .procs import alive, proc_ref, wait_file_line, wait_gone
from .state import lifetime_left, running_lab, save_state


def peer_index(name, st):
    m = re.fullmatch(r"(?:peer)?(\d+)", name)
    peers = st.get("peers", [])
    if not m or int(m.group(1)) >= len(peers):
        raise LabError("no cm-peer %r in this lab" % name)
    return int(m.group(1))


def cmd_peer(args):
    st = running_lab()
    d = st["dir"]
    if not os.access(PEER, os.X_OK):
        r = subprocess.run(["make", "-s", "-C", os.path.dirname(PEER),
                            os.path.basename(PEER)], timeout=300)
        if r.returncode or not os.access(PEER, os.X_OK):
            raise LabError("%s missing: make -C tools" % PEER)
    argv = list(args.args)
    if argv and argv[0] == "--":
        argv = argv[1:]
    k = len(st.setdefault("peers", []))
    name = "peer%d" % k
    logp = os.path.join(d, name + ".log")
    sock = os.path.join(d, "ivshmem.sock")
    # the shell outlives a SIGTERM to the group (cm-peer handles it and
    # leaves the mesh) to log cm-peer's exit status
    script = 'trap "" TERM INT; "$0" "$@"; echo "cmlab-peer-exit $?"'
    lifetime = lifetime_left(st, 10)
    with open(logp, "wb") as lf:
        p = subprocess.Popen(["timeout", "-k", "5", str(lifetime), "sh", "-c",
                              script, PEER, "-S", sock] + argv,
                             stdin=subprocess.DEVNULL, stdout=lf, stderr=lf,
                             start_new_session=True, close_fds=True)
    ent = {"name": name, "argv": argv, "log": logp,
           "proc": dict(proc_ref(p.pid), what=name + " (cm-peer)")}
    st["peers"].append(ent)
    save_state(st)
    m = wait_file_line(logp, r"cm-peer: peer id (\d+)|cmlab-peer-exit (\d+)",
                       time.monotonic() + args.timeout)
    if not m or m.group(2) is not None:
        tail_log(logp, 20)
        raise LabError("%s did not connect (log %s)" % (name, logp))
    ent["peer"] = int(m.group(1))
    save_state(st)
    print("%s peer %d pid %d log %s" % (name, ent["peer"], p.pid, logp))
    return 0


def cmd_peer_wait(args):
    st = running_lab()
    i = peer_index(args.p, st)
    ent = st["peers"][i]
    deadline = time.monotonic() + args.timeout
    m = None
    while time.monotonic() < deadline:
        m = wait_file_line(ent["log"], r"cmlab-peer-exit (\d+)",
                           min(deadline, time.monotonic() + 0.5))
        if m or not alive(ent.get("proc")):
            break
    m = m or wait_file_line(ent["log"], r"cmlab-peer-exit (\d+)",
                            time.monotonic() + 0.2)
    with open(ent["log"], errors="replace") as f:
        sys.stdout.write(f.read())
    sys.stdout.flush()
    if m:
        return int(m.group(1))
    if not alive(ent.get("proc")):
        log("%s was killed" % ent["name"])
        return 137
    log("%s still running after %d s" % (ent["name"], args.timeout))
    return 124


def cmd_peer_stop(args):
    st = running_lab()
    i = peer_index(args.p, st)
    ent = st["peers"][i]
    r = ent.get("proc")
    if not alive(r):
        return 0
    # the shell wrapper's child is cm-peer itself: signal the whole group
    try:
        os.killpg(r["pid"], signal.SIGKILL if args.kill else signal.SIGTERM)
    except ProcessLookupError:
        pass
    return 0 if wait_gone(r, 10) else 1
