# SPDX-License-Identifier: GPL-2.0
"""The lab's state: $CMLAB_DIR/lab.json (the VMs, the daemon, the cm-peers)."""

import json
import os
import re
import time

from .common import LabError
from .procs import alive


def lab_dir():
    d = os.environ.get("CMLAB_DIR")
    if not d:
        d = "/tmp/lab-cmlab-%d" % os.getuid()
    return os.path.abspath(d)


def state_path():
    return os.path.join(lab_dir(), "lab.json")


def load_state():
    try:
        with open(state_path()) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except ValueError as e:
        raise LabError("%s: %s" % (state_path(), e))


def save_state(st):
    tmp = state_path() + ".tmp"
    with open(tmp, "w") as f:
        json.dump(st, f, indent=1)
    os.replace(tmp, state_path())


def vm_index(name, st):
    m = re.fullmatch(r"(?:vm)?(\d+)", name, re.I)
    if not m:
        raise LabError("bad VM name %r (want vmN or N)" % name)
    i = int(m.group(1))
    if not st or i >= len(st.get("vms", [])):
        raise LabError("vm%d is not part of the lab in %s" % (i, lab_dir()))
    return i


def running_lab():
    st = load_state()
    if not st or st.get("stopped"):
        raise LabError("no running lab in %s" % lab_dir())
    return st


def all_refs(st):
    refs = []
    for p in st.get("peers", []):
        refs += [r for r in (p.get("proc"),) if r]
    for v in st.get("vms", []):
        refs += [r for r in (v.get("qemu"), v.get("wrapper")) if r]
    dmn = st.get("daemon") or {}
    refs += [r for r in (dmn.get("proc"), dmn.get("wrapper")) if r]
    return refs


def lifetime_left(st, floor):
    """Seconds left of the lab's --lifetime, at least floor: the bound of a
    process started into a running lab."""
    return max(floor, int(st.get("lifetime", 3600) -
                          (time.time() - st.get("started", time.time()))))


def claim_lab_dir(sock_name):
    """$CMLAB_DIR, made if need be, for a new lab: none may run there, and
    its longest socket path (sock_name) must fit a sockaddr_un."""
    d = lab_dir()
    os.makedirs(d, exist_ok=True)
    st = load_state()
    if st and any(alive(r) for r in all_refs(st)):
        raise LabError("a lab is already running in %s: cmlab stop first" % d)
    if len(os.path.join(d, sock_name)) > 100:
        raise LabError("CMLAB_DIR path too long for unix sockets: %s" % d)
    return d


def clear_lab_dir(d):
    """The files of the last lab in d (VM logs, the daemon's, the peers')."""
    for f in os.listdir(d):
        if re.fullmatch(r"(vm\d+\..*|ivshmem.*|lab\.json.*|peer\d+\.log)", f):
            os.unlink(os.path.join(d, f))
