# SPDX-License-Identifier: GPL-2.0
"""The initramfs archive: an in-memory newc cpio, written gzip'd or raw."""

import gzip
import os
import stat


class Cpio:
    """An in-memory newc archive: everything root-owned, no root needed."""

    def __init__(self):
        self.ents = {}

    def _parents(self, path):
        d = os.path.dirname(path)
        while d not in ("", "/") and d not in self.ents:
            self.ents[d] = (stat.S_IFDIR | 0o755, b"", 0)
            d = os.path.dirname(d)

    def add_dir(self, path, mode=0o755):
        self._parents(path)
        self.ents[path] = (stat.S_IFDIR | mode, b"", 0)

    def add_data(self, path, data, mode=0o644):
        self._parents(path)
        self.ents[path] = (stat.S_IFREG | mode, data, 0)

    def add_file(self, path, src, mode=None):
        with open(src, "rb") as f:
            data = f.read()
        if mode is None:
            mode = stat.S_IMODE(os.stat(src).st_mode)
        self.add_data(path, data, mode)

    def add_symlink(self, path, target):
        self._parents(path)
        self.ents[path] = (stat.S_IFLNK | 0o777, target.encode(), 0)

    def add_chardev(self, path, major, minor, mode=0o600):
        self._parents(path)
        self.ents[path] = (stat.S_IFCHR | mode, b"", os.makedev(major, minor))

    def remove_basename(self, name):
        for p in [p for p in self.ents if os.path.basename(p) == name]:
            del self.ents[p]

    def size(self):
        return sum(len(e[1]) for e in self.ents.values())

    def chunks(self):
        """The newc archive, piece by piece."""
        def rec(ino, name, mode, data, rdev):
            nm = name.encode() + b"\0"
            hdr = "070701" + "".join("%08x" % v for v in (
                ino, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0,
                len(data), 0, 0, os.major(rdev), os.minor(rdev), len(nm), 0))
            yield hdr.encode() + nm
            yield b"\0" * (-(110 + len(nm)) % 4)
            yield data
            yield b"\0" * (-len(data) % 4)

        for ino, path in enumerate(sorted(self.ents), 1):
            mode, data, rdev = self.ents[path]
            yield from rec(ino, path.lstrip("/"), mode, data, rdev)
        yield from rec(0, "TRAILER!!!", 0, b"", 0)

    def write(self, out, compress=True):
        """gzip'd, or not: a TCG guest unpacks 100+ MiB much faster raw."""
        tmp = "%s.tmp.%d" % (out, os.getpid())
        with open(tmp, "wb") as raw:
            if compress:
                with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6,
                                   mtime=0) as gz:
                    for c in self.chunks():
                        gz.write(c)
            else:
                for c in self.chunks():
                    raw.write(c)
        os.replace(tmp, out)
