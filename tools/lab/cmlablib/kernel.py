# SPDX-License-Identifier: GPL-2.0
"""Debian's kernel for the guests: the image (uncompressed into a vmlinux
that boots via PVH) and its modules (with their dependencies)."""

import gzip
import json
import lzma
import os
import re
import shutil

from .common import SHARED_BUILD, LabError


def vkey(s):
    return [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", s)]


def find_kernel():
    """Newest Debian 6.1 amd64 kernel with both an image and modules."""
    kver = os.environ.get("KVER")
    if kver:
        cands = [kver]
    else:
        cands = [d for d in os.listdir("/lib/modules")
                 if re.fullmatch(r"6\.1\.\d+-\d+-amd64", d)]
        cands.sort(key=vkey, reverse=True)
    for k in cands:
        if os.path.exists("/boot/vmlinuz-" + k):
            return k, "/boot/vmlinuz-" + k
    raise LabError("no /boot/vmlinuz-6.1.*-amd64 with /lib/modules: "
                   "install linux-image-amd64 (scripts/deps.sh)")


def vmlinux_fresh(out, stamp):
    try:
        with open(out + ".stamp") as f:
            return json.load(f) == stamp and os.path.exists(out)
    except (OSError, ValueError):
        return False


def extract_vmlinux(vmlinuz, out):
    """The bzImage holds an xz stream; the ELF inside boots via PVH. A
    private build links the shared build's copy when that one is fresh."""
    st = os.stat(vmlinuz)
    stamp = {"src": vmlinuz, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if vmlinux_fresh(out, stamp):
        return False
    shared = os.path.join(SHARED_BUILD, os.path.basename(out))
    tmp = "%s.tmp.%d" % (out, os.getpid())
    if shared != out and vmlinux_fresh(shared, stamp):
        try:
            os.link(shared, tmp)
        except OSError:
            shutil.copyfile(shared, tmp)
    else:
        with open(vmlinuz, "rb") as f:
            data = f.read()
        magic = b"\xfd7zXZ\x00"
        off = data.find(magic)
        while off >= 0:
            try:
                elf = lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(data[off:])
            except lzma.LZMAError:
                elf = b""
            if elf[:4] == b"\x7fELF":
                break
            off = data.find(magic, off + 1)
        else:
            raise LabError("%s: no xz stream holding an ELF kernel" % vmlinuz)
        with open(tmp, "wb") as f:
            f.write(elf)
    os.replace(tmp, out)
    with open(out + ".stamp", "w") as f:
        json.dump(stamp, f)
    return True


def modname(mod):
    """A module's name from its path (or name): no dir, no .ko*, - is _."""
    base = re.sub(r"\.ko(\.xz|\.zst|\.gz)?$", "", os.path.basename(mod))
    return base.replace("-", "_")


def add_kmods(cpio, kver, names):
    """Debian modules and their dependencies, with a matching modules.dep."""
    moddir = "/lib/modules/" + kver
    deps = {}
    with open(moddir + "/modules.dep") as f:
        for line in f:
            mod, _, rest = line.partition(":")
            deps[mod] = rest.split()
    byname = {modname(mod): mod for mod in deps}
    todo = []
    for n in names:
        mod = byname.get(n.replace("-", "_"))
        if not mod:
            raise LabError("kernel module %s not in %s/modules.dep" % (n, moddir))
        todo.append(mod)
    done = set()
    while todo:
        mod = todo.pop()
        if mod in done:
            continue
        done.add(mod)
        todo.extend(deps[mod])

    def plain(mod):
        return re.sub(r"\.ko\.(xz|zst|gz)$", ".ko", mod)

    lines = []
    for mod in sorted(done):
        src = os.path.join(moddir, mod)
        with open(src, "rb") as f:
            data = f.read()
        if mod.endswith(".xz"):
            data = lzma.decompress(data)
        elif mod.endswith(".gz"):
            data = gzip.decompress(data)
        elif mod.endswith(".zst"):
            raise LabError("%s: zstd modules not supported" % mod)
        cpio.add_data(os.path.join(moddir, plain(mod)), data)
        lines.append("%s: %s\n" % (plain(mod), " ".join(plain(d) for d in deps[mod])))
    if lines:
        cpio.add_data(moddir + "/modules.dep", "".join(lines).encode())
        # Debian's aliases of what is in: `modprobe ALIAS` and the
        # kernel's request_module() (rtnl-link-veth, crypto-crc32c, ...)
        names = {modname(m) for m in done}
        for f in ("modules.alias", "modules.symbols"):
            try:
                with open(os.path.join(moddir, f)) as fh:
                    keep = [line for line in fh
                            if line.startswith("alias ") and
                            len(line.split()) == 3 and
                            modname(line.split()[2]) in names]
            except OSError:
                continue
            cpio.add_data(os.path.join(moddir, f), "".join(keep).encode())
    return sorted(done)
