# SPDX-License-Identifier: GPL-2.0
"""walk: the command blocks of a walk-through (Documentation/operations.rst)
for the test that runs them, so that the guide and the test cannot drift.

Every literal block of the guide is preceded by a comment that says where
it runs, which the reader of the rendered page does not see:

    .. walk: PLACE

    Some paragraph::

       command
       command

PLACE is one of PLACES. `text` blocks (diagrams, output, a file's
contents shown for reading) are not run; every other block is run, as a
whole, by `bash -e -o pipefail`. A literal block without a marker, a
marker without a block, or an unknown place is an error: the guide cannot
gain a command that no test runs.

  python3 walk.py split FILE DIR   one file per block, DIR/NNN.PLACE, and
                                   DIR/index: "NNN PLACE LINE ID" a line
  python3 walk.py ids FILE PLACE   the IDs of PLACE's blocks

A block's ID is a hash of its place and text: whoever runs it records the
ID, and the test compares what ran with what the guide holds.
"""

import hashlib
import os
import re
import sys

# image: by tools/lab/cmlab-distro build, into the Debian image (make in
#        this repository with DESTDIR=the image, anything else chrooted in
#        it); host: in the Debian guest, as a host's root; guest: in the
#        Debian guest, as a guest's root; text: not run
PLACES = ("image", "host", "guest", "text")

MARK = re.compile(r"^\s*\.\. walk: *([a-z]+) *$")


class WalkError(Exception):
    pass


def block_id(place, text):
    return hashlib.sha256((place + "\0" + text).encode()).hexdigest()[:12]


def blocks(path):
    """[(place, line, text, id)] in the order of the file."""
    with open(path) as f:
        lines = f.read().split("\n")
    out = []
    pending = None          # (place, line) of a marker not yet used
    i = 0
    while i < len(lines):
        line = lines[i]
        m = MARK.match(line)
        if m:
            if pending:
                raise WalkError("%s:%d: marker without a literal block" %
                                (path, pending[1]))
            if m.group(1) not in PLACES:
                raise WalkError("%s:%d: unknown place %r (want one of %s)" %
                                (path, i + 1, m.group(1), ", ".join(PLACES)))
            pending = (m.group(1), i + 1)
            i += 1
            continue
        if line.rstrip().endswith("::") and not line.startswith(".."):
            start = i + 1
            j = start
            while j < len(lines) and not lines[j].strip():
                j += 1
            body = []
            # the block: what is indented more than the paragraph
            para = len(line) - len(line.lstrip())
            while j < len(lines) and (not lines[j].strip() or
                                      len(lines[j]) - len(lines[j].lstrip()) > para):
                body.append(lines[j])
                j += 1
            while body and not body[-1].strip():
                body.pop()
            if not body:
                i += 1
                continue
            if not pending:
                raise WalkError("%s:%d: literal block without '.. walk: PLACE'" %
                                (path, start))
            indent = min(len(b) - len(b.lstrip()) for b in body if b.strip())
            text = "\n".join(b[indent:] for b in body) + "\n"
            out.append((pending[0], start, text, block_id(pending[0], text)))
            pending = None
            i = j
            continue
        i += 1
    if pending:
        raise WalkError("%s:%d: marker without a literal block" % (path, pending[1]))
    return out


def main(argv):
    if len(argv) == 4 and argv[1] == "split":
        bl = blocks(argv[2])
        os.makedirs(argv[3], exist_ok=True)
        with open(os.path.join(argv[3], "index"), "w") as idx:
            for n, (place, line, text, bid) in enumerate(bl):
                with open(os.path.join(argv[3], "%03d.%s" % (n, place)), "w") as f:
                    f.write(text)
                idx.write("%03d %s %d %s\n" % (n, place, line, bid))
        return 0
    if len(argv) == 4 and argv[1] == "ids":
        for place, _, _, bid in blocks(argv[2]):
            if place == argv[3]:
                print(bid)
        return 0
    print(__doc__.split("\n\n")[3], file=sys.stderr)
    return 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except WalkError as e:
        print("walk: %s" % e, file=sys.stderr)
        sys.exit(1)
