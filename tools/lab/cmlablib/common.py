# SPDX-License-Identifier: GPL-2.0
"""What every part of the lab shares: where things are, errors, logging,
and turning SIGTERM/SIGINT/SIGHUP into an exception while a lab starts."""

import contextlib
import os
import signal
import sys

# tools/lab/cmlablib/common.py -> the repository
REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.realpath(__file__)))))
SHARED_BUILD = os.path.join(REPO, "build", "lab")
BUILD = os.environ.get("CMLAB_BUILD") or SHARED_BUILD
DAEMON = os.path.join(REPO, "tools", "chainmesh-ivshmemd")
PEER = os.path.join(REPO, "tools", "cm-peer")
QEMU = os.environ.get("CMLAB_QEMU", "qemu-system-x86_64")


class LabError(Exception):
    pass


class Terminated(Exception):
    pass


def on_signal(signum, frame):
    raise Terminated("signal %d" % signum)


@contextlib.contextmanager
def terminate_on_signals():
    """SIGTERM, SIGINT and SIGHUP raise Terminated inside the block (so a
    start that is interrupted tears down what it started); the previous
    handlers come back after it."""
    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM,
                                                     signal.SIGINT,
                                                     signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def log(msg):
    print("cmlab: " + msg, file=sys.stderr, flush=True)


def tail_log(path, n):
    try:
        with open(path, errors="replace") as f:
            lines = f.readlines()[-n:]
    except OSError:
        return
    log("--- last lines of %s" % path)
    for line in lines:
        print("    " + line.rstrip(), file=sys.stderr)
