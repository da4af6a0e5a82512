# SPDX-License-Identifier: GPL-2.0
"""The lab's build: the guests' busybox initramfs (init, the exec loop, the
modules, the tools, Debian's ip and ethtool, extra files and programs)
next to the uncompressed vmlinux; build.json says what went in."""

import json
import os
import re
import shutil
import subprocess
import time

from .common import BUILD, DAEMON, REPO, LabError, log
from .cpio import Cpio
from .kernel import add_kmods, extract_vmlinux, find_kernel
from .shell import CMLAB_LOOP, CMLAB_RUN


# Debian modules always put into the initramfs (with their dependencies);
# tests can ask for more with `build --kmod NAME` or CMLAB_KMODS="a b".
# modules.dep and modules.alias come with them: modprobe by name or alias
# works in the guest, and so does the kernel's autoloading.
BASE_KMODS = []


INIT = r"""#!/bin/sh
# cmlab guest init: mounts, loopback, a shell for `cmlab exec` on ttyS1.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t debugfs debugfs /sys/kernel/debug
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
# a task stuck for 30 s shows on the console (the scan fails on it)
echo 30 >/proc/sys/kernel/hung_task_timeout_secs 2>/dev/null
name=vm
for a in $(cat /proc/cmdline); do
	case "$a" in cmlab.name=*) name="${a#cmlab.name=}" ;; esac
done
hostname "$name"
ip link set lo up
echo "cmlab: $name userspace up at $(cut -d' ' -f1 /proc/uptime)s"
tty=/dev/ttyS1
# The exec loop reads the tty itself, line by line: `cat | sh` does not do,
# as ash runs a piped line only once the next one arrives. Only
# cmlab-put/cmlab-run lines count (junk a fresh tty may hold is ignored);
# no prompt, no echo. ^C from the host ends it; it restarts.
while :; do
	setsid -c /bin/cmlab-loop <$tty >$tty 2>&1
	echo "cmlab: shell on $tty exited, restarting"
	sleep 1
done
"""


def ldd(binary):
    """Absolute paths of the shared objects binary needs (with the loader)."""
    try:
        out = subprocess.run(["ldd", binary], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    libs = []
    for line in out.splitlines():
        m = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if m:
            libs.append(m.group(1))
    return libs


def add_libs(cpio, src):
    """The shared objects src needs (ldd), where they are on this machine."""
    for lib in ldd(src):
        if lib not in cpio.ents:
            cpio.add_file(lib, os.path.realpath(lib), 0o755)


def add_program(cpio, src, dst, rc):
    """A host binary with its libraries. Debian's busybox runs its applets
    before PATH (FEATURE_SH_STANDALONE), so a function in /etc/cmlab.rc
    makes the name mean the real program in exec'd commands (names that
    are shell names: no applet has another)."""
    name = os.path.basename(dst)
    cpio.remove_basename(name)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        rc.append('%s() { %s "$@"; }\n' % (name, dst))
    cpio.add_file(dst, os.path.realpath(src), 0o755)
    add_libs(cpio, src)


def extra_specs(specs, what):
    """[(src, dst)] of SRC:DST strings; DST/ means DST/basename(SRC)."""
    out = []
    for spec in specs:
        src, sep, dst = spec.rpartition(":")
        if not sep or not src or not dst.startswith("/"):
            raise LabError("bad %s %r: want SRC:/ABSOLUTE/DST" % (what, spec))
        if dst.endswith("/"):
            dst += os.path.basename(src)
        if not os.path.isfile(src):
            raise LabError("%s %s: no such file" % (what, src))
        out.append((src, dst))
    return out


def add_extras(cpio, rc, files=(), progs=()):
    """The one way extra files get into a guest's initramfs: `build
    --file`/`--prog`, CMLAB_FILES/CMLAB_PROGS, and build-host's tools.
    Files keep their mode; programs come with their libraries."""
    for src, dst in files:
        cpio.add_file(dst, os.path.realpath(src))
    for src, dst in progs:
        add_program(cpio, src, dst, rc)
    return [dst for _, dst in list(files) + list(progs)]


def build_extras(args):
    """(files, progs) asked for on the command line and in the environment."""
    def specs(opt, env):
        return list(opt or []) + os.environ.get(env, "").split()
    return (extra_specs(specs(getattr(args, "file", None), "CMLAB_FILES"), "--file"),
            extra_specs(specs(getattr(args, "prog", None), "CMLAB_PROGS"), "--prog"))


def cmd_build(args):
    build_lab(args)
    return 0


def build_lab(args):
    """The lab's vmlinux and initramfs; returns the initramfs' contents, the
    lines of its /etc/cmlab.rc and what build.json says, for build-host."""
    t0 = time.monotonic()
    files, progs = build_extras(args)
    os.makedirs(BUILD, exist_ok=True)
    kver, vmlinuz = find_kernel()
    vmlinux = os.path.join(BUILD, "vmlinux-" + kver)
    if extract_vmlinux(vmlinuz, vmlinux):
        log("extracted %s from %s" % (vmlinux, vmlinuz))

    if os.path.exists(DAEMON + ".c"):
        r = subprocess.run(["make", "-s", "-C", os.path.dirname(DAEMON),
                            os.path.basename(DAEMON)], timeout=300)
        if r.returncode:
            raise LabError("building %s failed" % DAEMON)

    cpio = Cpio()
    for d in ("dev", "proc", "sys", "tmp", "run", "root", "etc", "lib",
              "lib64", "bin", "sbin", "usr/bin", "usr/sbin", "lib/chainmesh"):
        cpio.add_dir("/" + d)
    cpio.add_chardev("/dev/console", 5, 1)
    busybox = shutil.which("busybox", path="/bin:/usr/bin:/sbin:/usr/sbin")
    if not busybox:
        raise LabError("busybox not found: install busybox-static")
    r = subprocess.run([busybox, "--list-full"], capture_output=True,
                       text=True, timeout=30)
    cpio.add_file("/bin/busybox", busybox, 0o755)
    for applet in r.stdout.split():
        if applet in ("linuxrc", "sbin/init") or applet == "bin/busybox":
            continue
        cpio.add_symlink("/" + applet, "/bin/busybox")
    cpio.add_data("/init", INIT.encode(), 0o755)
    cpio.add_data("/bin/cmlab-loop", CMLAB_LOOP.encode(), 0o755)
    cpio.add_data("/bin/cmlab-run", CMLAB_RUN.encode(), 0o755)
    cpio.add_data("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    cpio.add_data("/etc/group", b"root:x:0:\n")

    rc = ["# sourced by every `cmlab exec` command\n",
          "export PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"]
    path = "/usr/sbin:/usr/bin:/sbin:/bin"
    for prog in ("ip", "ethtool"):
        src = shutil.which(prog, path=path)
        if not src:
            raise LabError("%s not found: install %s" %
                           (prog, "iproute2" if prog == "ip" else prog))
        add_program(cpio, src, "/sbin/" + prog, rc)

    missing = []
    cli = os.path.join(REPO, "tools", "chainmesh")
    if os.path.exists(cli):
        add_program(cpio, cli, "/usr/bin/chainmesh", rc)
    else:
        missing.append("tools/chainmesh")
    for ko in ("host/chainmesh_host.ko", "guest/chainmesh.ko"):
        src = os.path.join(REPO, ko)
        if os.path.exists(src):
            cpio.add_file("/lib/chainmesh/" + os.path.basename(ko), src, 0o644)
        else:
            missing.append(ko)

    extras = add_extras(cpio, rc, files, progs)
    cpio.add_data("/etc/cmlab.rc", "".join(rc).encode())

    kmods = list(BASE_KMODS) + list(args.kmod or [])
    kmods += re.split(r"[\s,]+", os.environ.get("CMLAB_KMODS", "").strip())
    kmods = [k for k in kmods if k]
    added = add_kmods(cpio, kver, kmods) if kmods else []

    # uncompressed: no gzip here, and each TCG guest boots about 1 s
    # sooner without gunzip (a 4-VM lab, ~20 MiB: 7.2-8.9 s -> 6.2-7.5 s)
    initrd = os.path.join(BUILD, "initramfs.cpio")
    cpio.write(initrd, compress=False)
    build = {"kver": kver, "vmlinux": vmlinux, "initrd": initrd,
             "missing": missing, "kmods": added, "files": extras}
    tmp = os.path.join(BUILD, "build.json.tmp.%d" % os.getpid())
    with open(tmp, "w") as f:
        json.dump(build, f, indent=1)
    os.replace(tmp, os.path.join(BUILD, "build.json"))
    log("built %s (%d files, %.1f MiB) for %s in %.1f s"
        % (initrd, len(cpio.ents), os.path.getsize(initrd) / 2**20, kver,
           time.monotonic() - t0))
    for m in missing:
        log("warning: %s not built yet, not in the initramfs" % m)
    if added:
        log("kernel modules: " + " ".join(os.path.basename(m) for m in added))
    if extras:
        log("extra files: " + " ".join(extras))
    return cpio, rc, build
