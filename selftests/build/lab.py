#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Checks of the lab's Python package (tools/lab/cmlablib) that boot no VM.

  lab.py NAME    run check NAME: exit 0 if it holds, else say why, exit 1
  lab.py         list the checks

selftests/build/lab.sh runs each as one TAP point.
"""

import gzip
import lzma
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.realpath(__file__))))
LAB = os.path.join(ROOT, "tools", "lab")
sys.path.insert(0, LAB)

COMMANDS = ("build", "start", "exec", "stop", "status", "kill", "pause",
            "resume", "restart", "peer", "peer-wait", "peer-stop",
            "build-host", "start-host")


class Fail(Exception):
    pass


def expect(what, got, want):
    if got != want:
        raise Fail("%s: got %r, want %r" % (what, got, want))


def check_compile():
    """tools/lab/cmlab and every module of cmlablib byte-compile."""
    pkg = os.path.join(LAB, "cmlablib")
    srcs = [os.path.join(LAB, "cmlab")] + sorted(
        os.path.join(pkg, f) for f in os.listdir(pkg) if f.endswith(".py"))
    if len(srcs) < 3:
        raise Fail("no modules in %s" % pkg)
    with tempfile.TemporaryDirectory() as tmp:
        for i, src in enumerate(srcs):
            py_compile.compile(src, cfile=os.path.join(tmp, "%d.pyc" % i),
                               doraise=True)


def check_layers():
    """cmlablib's modules are the ones its docstring lists, and each
    imports only modules listed above it (no cycles, cli on top)."""
    import ast
    import cmlablib

    order = [line.split()[0] for line in cmlablib.__doc__.splitlines()
             if line.startswith("  ") and not line.startswith("   ")]
    pkg = os.path.dirname(cmlablib.__file__)
    mods = sorted(f[:-3] for f in os.listdir(pkg)
                  if f.endswith(".py") and f != "__init__.py")
    expect("modules listed in cmlablib/__init__.py", sorted(order), mods)
    for i, m in enumerate(order):
        with open(os.path.join(pkg, m + ".py")) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                if node.module not in order[:i]:
                    raise Fail("%s imports %s, not above it" % (m, node.module))
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(
                    node, ast.Import) else [node.module]
                for n in names:
                    if n.split(".")[0] not in sys.stdlib_module_names:
                        raise Fail("%s imports %s: not the standard library"
                                   % (m, n))


def check_help():
    """`tools/lab/cmlab -h` exits 0 and names every command."""
    r = subprocess.run([os.path.join(LAB, "cmlab"), "-h"],
                       capture_output=True, text=True, timeout=30)
    expect("cmlab -h exit status", r.returncode, 0)
    usage = r.stdout.split("\n\n")[0]
    for c in COMMANDS:
        if c not in usage.replace("{", ",").replace("}", ",").split(","):
            raise Fail("cmlab -h usage lacks %s: %r" % (c, usage))


def check_cpio():
    """The newc writer: cpio(1) lists, describes and extracts what went in,
    gzip'd or raw."""
    from cmlablib.cpio import Cpio

    data = bytes(range(256)) * 3 + b"odd"       # not a multiple of 4
    c = Cpio()
    c.add_dir("/etc")
    c.add_data("/usr/lib/x/data.bin", data, 0o640)  # parents made
    c.add_symlink("/bin/sh", "/bin/busybox")
    c.add_chardev("/dev/console", 5, 1)
    c.add_data("/init", b"#!/bin/sh\n", 0o755)
    c.add_data("/old/gone", b"x")
    c.remove_basename("gone")
    expect("size", c.size(), len(data) + len(b"#!/bin/sh\n") +
           len(b"/bin/busybox"))
    with tempfile.TemporaryDirectory() as tmp:
        raw, gz = os.path.join(tmp, "a.cpio"), os.path.join(tmp, "a.cpio.gz")
        c.write(raw, compress=False)
        c.write(gz)
        with open(raw, "rb") as f:
            rawb = f.read()
        with open(gz, "rb") as f:
            expect("gunzip'd archive == raw archive",
                   gzip.decompress(f.read()) == rawb, True)
        expect("leftover temporary files", sorted(os.listdir(tmp)),
               ["a.cpio", "a.cpio.gz"])

        def cpio(*args):
            r = subprocess.run(["cpio", "--quiet"] + list(args), input=rawb,
                               capture_output=True, timeout=30)
            if r.returncode:
                raise Fail("cpio %s: %s" % (" ".join(args), r.stderr))
            return r.stdout

        expect("cpio -t", cpio("-it").decode().split(), [
            "bin", "bin/sh", "dev", "dev/console", "etc", "init", "old",
            "usr", "usr/lib", "usr/lib/x", "usr/lib/x/data.bin"])
        ls = {}
        for line in cpio("-itv").decode().splitlines():
            f = line.split()
            ls[f[-3] if "->" in f else f[-1]] = f
        expect("mode of etc", ls["etc"][0], "drwxr-xr-x")
        expect("mode of usr/lib (made)", ls["usr/lib"][0], "drwxr-xr-x")
        expect("mode of init", ls["init"][0], "-rwxr-xr-x")
        expect("mode of data.bin", ls["usr/lib/x/data.bin"][0], "-rw-r-----")
        expect("size of data.bin", ls["usr/lib/x/data.bin"][4], str(len(data)))
        expect("owner of data.bin", ls["usr/lib/x/data.bin"][2:4],
               ["root", "root"])
        expect("symlink", (ls["bin/sh"][0], ls["bin/sh"][-1]),
               ("lrwxrwxrwx", "/bin/busybox"))
        expect("chardev", (ls["dev/console"][0], ls["dev/console"][4:6]),
               ("crw-------", ["5,", "1"]))
        expect("data.bin extracted", cpio("-i", "--to-stdout",
                                          "usr/lib/x/data.bin"), data)


def check_vmlinux():
    """extract_vmlinux finds the ELF among the image's xz streams, keeps a
    stamp, and does nothing while the image is unchanged."""
    from cmlablib.common import LabError
    from cmlablib.kernel import extract_vmlinux

    elf = b"\x7fELF" + os.urandom(5000)
    with tempfile.TemporaryDirectory() as tmp:
        img = os.path.join(tmp, "vmlinuz")
        with open(img, "wb") as f:
            f.write(b"MZ setup " * 100 + lzma.compress(b"not a kernel") +
                    b"\xfd7zXZ\x00 truncated" + lzma.compress(elf) + b"tail")
        out = os.path.join(tmp, "vmlinux-test")
        expect("first extraction", extract_vmlinux(img, out), True)
        with open(out, "rb") as f:
            expect("vmlinux is the ELF", f.read() == elf, True)
        expect("second extraction (fresh)", extract_vmlinux(img, out), False)
        bad = os.path.join(tmp, "bad")
        with open(bad, "wb") as f:
            f.write(b"MZ" + lzma.compress(b"no elf here"))
        try:
            extract_vmlinux(bad, os.path.join(tmp, "vmlinux-bad"))
        except LabError:
            pass
        else:
            raise Fail("an image without an ELF kernel was accepted")


def check_specs():
    """--file/--prog SRC:DST parsing and module names."""
    from cmlablib.common import LabError
    from cmlablib.initramfs import extra_specs
    from cmlablib.kernel import modname

    me = os.path.realpath(__file__)
    expect("DST/", extra_specs([me + ":/usr/bin/"], "--file"),
           [(me, "/usr/bin/lab.py")])
    expect("DST", extra_specs([me + ":/x/y"], "--prog"), [(me, "/x/y")])
    for bad in (me + ":relative", "/no/such/file:/x", "nocolon"):
        try:
            extra_specs([bad], "--file")
        except LabError:
            continue
        raise Fail("bad spec %r accepted" % bad)
    for path, want in (("kernel/drivers/net/veth.ko.xz", "veth"),
                       ("nf-conntrack.ko", "nf_conntrack"),
                       ("a/b/dummy.ko.zst", "dummy")):
        expect("modname(%s)" % path, modname(path), want)


def check_exec():
    """The exec protocol end to end over a pair of fifos, as QEMU's pipe
    chardev holds them: the host side (cmlablib.shell) talks to the guest
    side (the loop and run scripts the initramfs carries, their paths
    moved into a scratch directory) run by busybox sh as in the guests."""
    from cmlablib import shell

    sh = shutil.which("busybox")
    sh = [sh, "sh"] if sh else ["sh"]
    with tempfile.TemporaryDirectory() as d:
        def guest(text):
            return (text.replace("/bin/cmlab-run", d + "/cmlab-run")
                    .replace("/etc/cmlab.rc", d + "/cmlab.rc")
                    .replace("/tmp/.cmlab-", d + "/.cmlab-"))
        for name, text in (("cmlab-loop", shell.CMLAB_LOOP),
                           ("cmlab-run", shell.CMLAB_RUN),
                           ("cmlab.rc", 'greet() { echo "hello $1"; }\n')):
            with open(os.path.join(d, name), "w") as f:
                f.write(guest(text))
            os.chmod(os.path.join(d, name), 0o755)
        shell.shell_fifos(d, "vm0")
        fin = os.open(os.path.join(d, "vm0.shell.in"), os.O_RDWR)
        fout = os.open(os.path.join(d, "vm0.shell.out"), os.O_RDWR)
        p = subprocess.Popen(sh + [os.path.join(d, "cmlab-loop")],
                             stdin=fin, stdout=fout, stderr=fout)
        try:
            if not shell.wait_shell(d, 0, time.monotonic() + 20):
                raise Fail("the shell never answered")
            expect("command, rc.d function, exit status",
                   shell.shell_exec(d, 0, "greet world; echo two; exit 3", 20),
                   (3, b"hello world\ntwo\n", None))
            expect("output exactly as printed",
                   shell.shell_exec(d, 0, "printf 'no newline'", 20),
                   (0, b"no newline", None))
            long = "x" * 3000       # base64 spans three cmlab-put lines
            expect("long command", shell.shell_exec(d, 0, "echo " + long, 20),
                   (0, long.encode() + b"\n", None))
            expect("quotes and newlines",
                   shell.shell_exec(d, 0, "printf '%s\\n' \"a'b\" 'c\"d'\n"
                                    "echo CMLAB-x-END 5", 20),
                   (0, b"a'b\nc\"d\nCMLAB-x-END 5\n", None))
            t0 = time.monotonic()
            rc, _, _ = shell.shell_exec(d, 0, "sleep 30", 1)
            if rc not in (124, 137) or time.monotonic() - t0 > 10:
                raise Fail("a command past its time: rc %d after %.1f s"
                           % (rc, time.monotonic() - t0))
            expect("the shell after a timeout",
                   shell.shell_exec(d, 0, "echo still", 20), (0, b"still\n", None))
        finally:
            p.kill()
            p.wait()
            os.close(fin)
            os.close(fout)


CHECKS = {"compile": check_compile, "layers": check_layers, "help": check_help, "cpio": check_cpio,
          "vmlinux": check_vmlinux, "specs": check_specs, "exec": check_exec}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CHECKS:
        for name, fn in CHECKS.items():
            print("%-8s %s" % (name, fn.__doc__.splitlines()[0]))
        return 2
    try:
        CHECKS[sys.argv[1]]()
    except Fail as e:
        print("lab.py %s: %s" % (sys.argv[1], e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
