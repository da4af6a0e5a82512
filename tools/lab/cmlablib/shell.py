# SPDX-License-Identifier: GPL-2.0
"""The lab shell: `cmlab exec` over a VM's second serial port (ttyS1).

The guest side (CMLAB_LOOP, CMLAB_RUN, put into the initramfs) and the
host side (Shell) of one protocol: `cmlab-put M CHUNK` lines carry the
command in base64, `cmlab-run M SECS` runs it, and its output comes back
between CMLAB-M-BEGIN and CMLAB-M-END RC.
"""

import base64
import fcntl
import os
import re
import secrets
import select
import sys
import time

from .common import LabError, log
from .state import lab_dir, load_state, vm_index


# Protocol of the exec channel: `cmlab-put M CHUNK` appends base64 to the
# command file of marker M, `cmlab-run M SECS` runs it bounded by SECS and
# frames its output with markers that never appear in the lines sent.
CMLAB_LOOP = r"""#!/bin/sh
stty -echo -onlcr
while read -r op m arg; do
	case "$m" in *[!0-9a-f]*|"") continue ;; esac
	case "$op" in
	cmlab-put) printf '%s' "$arg" >> "/tmp/.cmlab-$m.b64" ;;
	cmlab-run) /bin/cmlab-run "$m" "$arg" ;;
	esac
done
"""


CMLAB_RUN = r"""#!/bin/sh
m=$1
{ echo ". /etc/cmlab.rc"; base64 -d "/tmp/.cmlab-$m.b64"; } > "/tmp/.cmlab-$m.sh"
rm -f "/tmp/.cmlab-$m.b64"
echo "CMLAB-$m-BEGIN"
timeout -s KILL "$2" sh "/tmp/.cmlab-$m.sh" </dev/null 2>&1
rc=$?
rm -f "/tmp/.cmlab-$m.sh"
printf '\nCMLAB-%s-END %d\n' "$m" "$rc"
"""


class Shell:
    """The VM's lab shell (ttyS1) through a pair of fifos; one user at a time.

    A QEMU pipe chardev holds both fifos open O_RDWR: no connection state
    between execs, no EOF while the VM lives, and output that no exec read
    (after a timeout) waits in the fifo, to be skipped by marker.
    """

    def __init__(self, d, i):
        self.base = os.path.join(d, "vm%d.shell" % i)
        self.lockf = open(os.path.join(d, "vm%d.lock" % i), "w")
        self.rfd = self.wfd = -1
        self.buf = b""

    def connect(self, deadline):
        while True:
            try:
                fcntl.flock(self.lockf, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LabError("%s busy (another exec?)" % self.base)
                time.sleep(0.05)
        try:
            self.rfd = os.open(self.base + ".out", os.O_RDONLY | os.O_NONBLOCK)
            self.wfd = os.open(self.base + ".in", os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            raise LabError("%s: %s (VM not running?)" % (self.base, e.strerror))

    def close(self):
        for fd in (self.rfd, self.wfd):
            if fd >= 0:
                os.close(fd)
        self.lockf.close()

    def _write(self, data):
        deadline = time.monotonic() + 10
        while data:
            if time.monotonic() > deadline:
                raise LabError("%s: the VM does not read its input" % self.base)
            select.select([], [self.wfd], [], 1.0)
            try:
                data = data[os.write(self.wfd, data):]
            except BlockingIOError:
                pass
            except OSError as e:
                raise LabError("%s: %s" % (self.base, e.strerror))

    def send_cmd(self, marker, cmd, secs):
        b64 = base64.b64encode(cmd.encode()).decode()
        # leading newline: flush any junk a fresh tty may hold
        lines = ["\n"]
        for o in range(0, len(b64), 1024):
            lines.append("cmlab-put %s %s\n" % (marker, b64[o:o + 1024]))
        lines.append("cmlab-run %s %d\n" % (marker, secs))
        self._write("".join(lines).encode())

    def interrupt(self):
        try:
            self._write(b"\x03\n")
        except LabError:
            pass

    def wait_end(self, markers, deadline):
        """Wait for the END of any marker: (marker, rc, output) or None."""
        alt = "|".join(re.escape(m) for m in markers)
        end = re.compile(("CMLAB-(%s)-END (\\d+)\r?\n" % alt).encode())
        while True:
            m = end.search(self.buf)
            if m:
                mk = m.group(1).decode()
                begin = ("CMLAB-%s-BEGIN\n" % mk).encode()
                start = self.buf.rfind(begin, 0, m.start())
                out = self.buf[start + len(begin):m.start()] if start >= 0 else b""
                self.buf = self.buf[m.end():]
                out = out.replace(b"\r\n", b"\n")
                if out.endswith(b"\n"):
                    out = out[:-1]
                return mk, int(m.group(2)), out
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not select.select([self.rfd], [], [], min(left, 0.5))[0]:
                continue
            try:
                data = os.read(self.rfd, 65536)
            except BlockingIOError:
                continue
            if not data:
                raise LabError("%s: the VM is gone" % self.base)
            self.buf += data


def shell_fifos(d, name):
    """The fifos of VM name's lab shell (QEMU's pipe chardev opens
    name.shell.in and name.shell.out), unless they are there."""
    for f in (".shell.in", ".shell.out"):
        if not os.path.exists(os.path.join(d, name + f)):
            os.mkfifo(os.path.join(d, name + f), 0o600)


def shell_exec(d, i, cmd, secs):
    sh = Shell(d, i)
    try:
        sh.connect(time.monotonic() + secs + 10)
        marker = secrets.token_hex(8)
        sh.send_cmd(marker, cmd, secs)
        r = sh.wait_end([marker], time.monotonic() + secs + 10)
        if r is None:
            sh.interrupt()
            return 124, b"", "timed out after %d s" % secs
        return r[1], r[2], None
    finally:
        sh.close()


def wait_shell(d, i, deadline):
    """Probe until the shell answers; new probe each second."""
    sh = Shell(d, i)
    try:
        sh.connect(deadline)
        markers = []
        while time.monotonic() < deadline:
            markers.append(secrets.token_hex(8))
            sh.send_cmd(markers[-1], "true", 5)
            if sh.wait_end(markers, min(deadline, time.monotonic() + 1.0)):
                return True
        return False
    finally:
        sh.close()


def cmd_exec(args):
    st = load_state()
    if not st or st.get("stopped"):
        raise LabError("no running lab in %s" % lab_dir())
    i = vm_index(args.vm, st)
    rc, out, err = shell_exec(st["dir"], i, args.cmd, args.timeout)
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    if err:
        log("%s: %s: %s" % (st["vms"][i]["name"], args.cmd, err))
    return rc
