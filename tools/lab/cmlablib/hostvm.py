# SPDX-License-Identifier: GPL-2.0
"""The real host backing in a VM: build-host and start-host.

One VM without an ivshmem device (so that chainmesh_host.ko binds nothing
and only serves the meshes `chainmesh mesh add` makes), whose initramfs
also holds the ivshmem daemon and cm-peer; with --nested also QEMU, and
the lab kernel and initramfs, so that the VM boots lab guests of its own
(cm-vm-start, cm-vm-exec).

The initramfs is the lab's with these as extra files (add_extras, as
`build --file/--prog`), written uncompressed: 100+ MiB of QEMU,
libraries and kernel unpack much faster in a TCG guest that way.
"""

import argparse
import gzip
import json
import os
import shutil
import subprocess
import time

from .common import (BUILD, QEMU, REPO, LabError, Terminated, log, tail_log,
                     terminate_on_signals)
from .initramfs import add_extras, build_lab
from .procs import alive
from .qemu import KERNEL_ARGS, qemu_cmd, qemu_ref, spawn_vm, teardown
from .shell import shell_fifos, wait_shell
from .state import claim_lab_dir, clear_lab_dir, save_state


HOST_TOOLS = ("chainmesh-ivshmemd", "cm-peer")

# What qemu-system-x86_64 -M q35 -kernel vmlinux (PVH) opens besides its
# libraries (strace): the TCG module, SeaBIOS, the PVH and vapic ROMs.
NESTED_QEMU_FILES = (
    "/usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so",
    "/usr/share/seabios/bios-256k.bin",
    "/usr/share/qemu/bios-256k.bin",
    "/usr/share/qemu/pvh.bin",
    "/usr/share/qemu/kvmvapic.bin",
    "/usr/share/qemu/linuxboot_dma.bin",
)


NESTED_DIR = "/nested"


# cm-vm-start NAME [QEMU OPTION...]: a lab guest inside the host VM.
CM_VM_START = r"""#!/bin/sh
# cm-vm-start NAME [QEMU OPTION...]: boot lab guest NAME (the lab's kernel
# and initramfs under @DIR@) under TCG, in the background; CMVM_MEM MiB
# (default 256), CMVM_LIFETIME s at most (default 1200). In $CMVM_DIR
# (default /tmp/vms): NAME.console.log (ttyS0), the lab shell's fifos
# NAME.shell.in/.out (ttyS1, for cm-vm-exec), NAME.qemu.log, NAME.pid.
# Add the mesh's options: $(chainmesh mesh qemu-args MESH node N).
d=${CMVM_DIR:-/tmp/vms}
name=$1
[ -n "$name" ] || { echo "usage: cm-vm-start NAME [QEMU OPTION...]" >&2; exit 2; }
shift
mkdir -p "$d"
rm -f "$d/$name.shell.in" "$d/$name.shell.out" "$d/$name.pid"
mkfifo "$d/$name.shell.in" "$d/$name.shell.out" || exit 1
khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
setsid timeout -k 5 "${CMVM_LIFETIME:-1200}" qemu-system-x86_64 \
	-accel tcg -M q35 -cpu max -smp 1 -m "${CMVM_MEM:-256}" -name "$name" \
	-nodefaults -no-user-config -display none -no-reboot -net none \
	-pidfile "$d/$name.pid" \
	-kernel @DIR@/vmlinux -initrd @DIR@/initramfs.cpio \
	-append "@ARGS@ tsc_early_khz=$khz cmlab.name=$name" \
	-chardev "file,id=con,path=$d/$name.console.log" -serial chardev:con \
	-chardev "pipe,id=sh,path=$d/$name.shell" -serial chardev:sh \
	"$@" </dev/null >"$d/$name.qemu.log" 2>&1 &
n=0
until [ -s "$d/$name.pid" ]; do
	kill -0 $! 2>/dev/null || { cat "$d/$name.qemu.log" >&2; exit 1; }
	[ $n -ge 300 ] && { echo "cm-vm-start: $name: no pid" >&2; exit 1; }
	n=$((n + 1)); usleep 100000
done
echo "cm-vm-start: $name pid $(cat "$d/$name.pid")"
"""


# cm-vm-exec NAME SECS CMD: `cmlab exec` for a guest inside the host VM.
CM_VM_EXEC = r"""#!/bin/sh
# cm-vm-exec NAME SECS CMD: run CMD in lab guest NAME's shell (cmlab's
# exec protocol on its ttyS1 fifos), bounded by SECS; print its output and
# exit with its status (124: no answer in time).
d=${CMVM_DIR:-/tmp/vms}
name=$1 secs=$2
[ $# -ge 3 ] || { echo "usage: cm-vm-exec NAME SECS CMD" >&2; exit 2; }
shift 2
in=$d/$name.shell.in out=$d/$name.shell.out
[ -p "$in" ] && [ -p "$out" ] || { echo "cm-vm-exec: no guest $name" >&2; exit 125; }
m=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
{
	echo
	{ printf '%s' "$*" | base64 | tr -d '\n' | fold -w 1024; echo; } |
		while read -r c; do [ -z "$c" ] || echo "cmlab-put $m $c"; done
	echo "cmlab-run $m $secs"
} >"$in"
timeout $((secs + 10)) awk -v m="$m" '
	{ sub(/\r$/, "") }
	index($0, "CMLAB-" m "-END ") == 1 {
		if (n && prev != "")
			print prev
		rc = $2; found = 1; exit
	}
	on { if (n++) print prev; prev = $0 }
	$0 == "CMLAB-" m "-BEGIN" { on = 1 }
	END { exit found ? rc : 124 }' <"$out"
rc=$?
[ $rc -ge 128 ] && rc=124	# timeout(1) ended awk
exit $rc
"""


def host_build_json(nested):
    return os.path.join(BUILD, "nested.json" if nested else "host.json")


def cmd_build_host(args):
    """The lab build, then the host VM's initramfs: the lab's and more."""
    cpio, rc, build = build_lab(args)
    t0 = time.monotonic()
    progs, files = [], []
    for tool in HOST_TOOLS:
        src = os.path.join(REPO, "tools", tool)
        r = subprocess.run(["make", "-s", "-C", os.path.dirname(src), tool],
                           timeout=300)
        if r.returncode or not os.access(src, os.X_OK):
            raise LabError("%s not built: make -C tools %s" % (src, tool))
        progs.append((src, "/usr/bin/" + tool))
    if args.nested:
        qemu = shutil.which(QEMU)
        if not qemu:
            raise LabError("%s not found: install qemu-system-x86" % QEMU)
        progs.append((qemu, "/usr/bin/qemu-system-x86_64"))
        for src in NESTED_QEMU_FILES:
            if os.path.exists(src):
                # the TCG module needs its libraries too
                (progs if src.endswith(".so") else files).append((src, src))
        files.append((build["vmlinux"], NESTED_DIR + "/vmlinux"))
    add_extras(cpio, rc, files, progs)
    if args.nested:
        # the lab's initramfs as built above, uncompressed (gunzip takes
        # the nested guest 10 s); a gzip'd one of an older build unpacked
        with open(build["initrd"], "rb") as f:
            data = f.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        cpio.add_data(NESTED_DIR + "/initramfs.cpio", data, 0o644)
        args_s = KERNEL_ARGS + (" " + args.append if args.append else "")
        for name, text in (("cm-vm-start", CM_VM_START), ("cm-vm-exec", CM_VM_EXEC)):
            text = text.replace("@DIR@", NESTED_DIR).replace("@ARGS@", args_s)
            cpio.add_data("/usr/bin/" + name, text.encode(), 0o755)
    cpio.add_data("/etc/cmlab.rc", "".join(rc).encode())
    name = "nested" if args.nested else "host"
    initrd = os.path.join(BUILD, name + "-initramfs.cpio")
    cpio.write(initrd, compress=False)
    out = dict(build, initrd=initrd, base_initrd=build["initrd"],
               nested=bool(args.nested))
    tmp = host_build_json(args.nested) + ".tmp.%d" % os.getpid()
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
    os.replace(tmp, host_build_json(args.nested))
    log("built %s (%d files, %.1f MiB) in %.1f s"
        % (initrd, len(cpio.ents), os.path.getsize(initrd) / 2**20,
           time.monotonic() - t0))
    return 0


def cmd_start_host(args):
    """One VM (vm0), no ivshmem device: `exec 0`, `stop`, `status` work on it."""
    d = claim_lab_dir("vm0.console.sock")
    try:
        with open(host_build_json(args.nested)) as f:
            build = json.load(f)
    except OSError:
        raise LabError("no host VM build in %s: run cmlab build-host%s"
                       % (BUILD, " --nested" if args.nested else ""))
    for k in ("vmlinux", "initrd"):
        if not os.path.exists(build[k]):
            raise LabError("%s missing: run cmlab build-host" % build[k])
    clear_lab_dir(d)
    st = {"dir": d, "n": 1, "vms": [], "daemon": None, "started": time.time(),
          "machine": args.machine, "mem": args.mem, "append": args.append,
          "vectors": 1, "lifetime": args.lifetime,
          "host_vm": "nested" if args.nested else "host"}
    argv = qemu_cmd(d, 0, build, argparse.Namespace(
        machine=args.machine, mem=args.mem, append=args.append, vectors=1))
    # the same VM as the lab's vm0, less its ivshmem device, with -smp
    for i in range(len(argv) - 1):
        if argv[i] == "-chardev" and argv[i + 1].startswith("socket,id=ivs,"):
            del argv[i:i + 2]
            break
    for i in range(len(argv) - 1):
        if argv[i] == "-device" and argv[i + 1].startswith("ivshmem"):
            del argv[i:i + 2]
            break
    argv[argv.index("-smp") + 1] = str(args.smp)
    with open(os.path.join(d, "vm0.cmdline"), "w") as f:
        f.write(" ".join(argv) + "\n")
    shell_fifos(d, "vm0")
    with terminate_on_signals():
        try:
            t0 = time.monotonic()
            vm = {"name": "vm0", "t0": t0, "peer": None,
                  "wrapper": spawn_vm(d, "vm0", argv, args.lifetime)}
            st["vms"].append(vm)
            save_state(st)
            ref = qemu_ref(d, "vm0", 20)
            if ref:
                vm["qemu"] = ref
            save_state(st)
            # QEMU writes its pidfile before it opens the shell's fifos
            deadline = time.monotonic() + args.boot_timeout
            while True:
                try:
                    up = wait_shell(d, 0, deadline)
                    break
                except LabError:
                    if time.monotonic() > deadline or not alive(vm.get("qemu")):
                        raise
                    time.sleep(0.1)
            if not up:
                raise LabError("vm0: no shell within %d s; console: %s" % (
                    args.boot_timeout, os.path.join(d, "vm0.console.log")))
            vm["boot_s"] = st["boot_wall_s"] = round(time.monotonic() - t0, 2)
            save_state(st)
            log("host VM vm0 (%s, %d vCPUs, %d MiB): shell up %.2f s after QEMU"
                " start (state in %s)" % (st["host_vm"], args.smp, args.mem,
                                          vm["boot_s"], d))
            return 0
        except (LabError, Terminated, OSError, subprocess.SubprocessError) as e:
            log("start-host failed: %s" % e)
            tail_log(os.path.join(d, "vm0.console.log"), 15)
            teardown(st)
            return 1
