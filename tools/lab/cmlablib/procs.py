# SPDX-License-Identifier: GPL-2.0
"""The lab's processes: started under timeout(1) in sessions of their own,
known by pid and start time (so a recycled pid is never signalled), and
waited for through their pidfiles and logs."""

import os
import re
import signal
import subprocess
import time

from .common import LabError


def proc_starttime(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] == "Z":
        return None
    return fields[19]


def alive(p):
    return bool(p and p.get("pid") and
                proc_starttime(p["pid"]) == p.get("start"))


def proc_ref(pid):
    return {"pid": pid, "start": proc_starttime(pid)}


def kill_wait(refs, timeout=5.0):
    """TERM, wait, KILL, wait: only processes that are still the ones we
    started (pid + start time), so a recycled pid is never hit."""
    refs = [r for r in refs if alive(r)]
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        for r in refs:
            if alive(r):
                try:
                    os.kill(r["pid"], sig)
                    # a paused VM handles its SIGTERM only once resumed
                    os.kill(r["pid"], signal.SIGCONT)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(alive(r) for r in refs):
            time.sleep(0.05)
        refs = [r for r in refs if alive(r)]
        if not refs:
            return []
    return refs


def spawn(argv, logpath, lifetime):
    """Run argv bounded by timeout(1) in its own session, output to logpath."""
    with open(logpath, "ab") as lf:
        p = subprocess.Popen(["timeout", "-k", "5", str(lifetime)] + argv,
                             stdin=subprocess.DEVNULL, stdout=lf, stderr=lf,
                             start_new_session=True, close_fds=True)
    return p


def read_pidfile(path, deadline):
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                pid = int(f.read().strip() or 0)
            if pid:
                return pid
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    return None


def log_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def wait_file_line(path, regex, deadline, procs=(), offset=0):
    """The first match of regex in a line of path (of what follows the
    first @offset bytes), polled until deadline: None if none by then;
    LabError if one of procs exits first."""
    rx = re.compile(regex)
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                for line in f.read().decode(errors="replace").splitlines():
                    m = rx.search(line)
                    if m:
                        return m
        except FileNotFoundError:
            pass
        for p in procs:
            if not alive(p):
                raise LabError("%s exited early" % p.get("what", "process"))
        time.sleep(0.02)
    return None


def wait_gone(ref, secs):
    """Poll until process ref is gone, for secs at most: whether it is."""
    deadline = time.monotonic() + secs
    while alive(ref) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not alive(ref)
