#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The man pages keep step with the programs: every command of 'chainmesh
# help' (OBJECT and its COMMAND) and every option of it is in chainmesh(8)
# and every one there is in the help; the same for the options of
# 'chainmesh-ivshmemd -h' and chainmesh-ivshmemd(8); and bash completion
# offers every object and command of the help. A copy of a man page with
# one command dropped must fail the comparison, so that a comparison that
# stopped looking cannot pass.
#
# Prints TAP.

set -e
. "$(dirname "$(readlink -f "$0")")/lib.sh"
cd "$(dirname "$0")/../.."

tmp=$(mktemp -d /tmp/cm-docs.XXXXXX)
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

make -s -C tools chainmesh chainmesh-ivshmemd >/dev/null

# The commands and options, one a line, sorted: from the help text (-)
# or from a man page rendered as text (FILE).
cat > "$tmp/cmds.py" <<'PY'
import re, sys
what, src = sys.argv[1], sys.argv[2]
text = open(src, errors="replace").read()
out = set()
if what == "help":
    for m in re.finditer(r"^  chainmesh (?:\[-j\] )?([a-z-]+)(?: ([a-z][a-z-]*))?", text, re.M):
        out.add(" ".join(x for x in m.groups() if x))
    for m in re.finditer(r"^  (-[A-Za-z]), (-[a-z]+|-[A-Z][a-z]+)\b", text, re.M):
        out.update(m.groups())
elif what == "man":
    sect = re.split(r"^(?=[A-Z][A-Z ]+$)", text, flags=re.M)
    for s in sect:
        if s.startswith("COMMANDS"):
            for m in re.finditer(r"^ {7}chainmesh ([a-z-]+)(?: ([a-z][a-z-]*))?", s, re.M):
                out.add(" ".join(x for x in m.groups() if x))
        if s.startswith("OPTIONS"):
            for m in re.finditer(r"^ {7}(-[A-Za-z]), (-[A-Za-z]+)", s, re.M):
                out.update(m.groups())
elif what == "dhelp":
    out.update(re.findall(r"^  (-[A-Za-z]) ", text, re.M))
elif what == "dman":
    s = re.split(r"^(?=[A-Z][A-Z ]+$)", text, flags=re.M)
    s = [x for x in s if x.startswith("OPTIONS")][0]
    out.update(re.findall(r"^ {7}(-[A-Za-z])\b", s, re.M))
print("\n".join(sorted(out)))
PY

man_text() { MANWIDTH=200 LC_ALL=C.UTF-8 man -l "$1" 2>/dev/null | col -b; }

tools/chainmesh help > "$tmp/help"
tools/chainmesh-ivshmemd -h > "$tmp/dhelp"
man_text Documentation/man/chainmesh.8 > "$tmp/man"
man_text Documentation/man/chainmesh-ivshmemd.8 > "$tmp/dman"
python3 "$tmp/cmds.py" help "$tmp/help" > "$tmp/help.cmds"
python3 "$tmp/cmds.py" man "$tmp/man" > "$tmp/man.cmds"
python3 "$tmp/cmds.py" dhelp "$tmp/dhelp" > "$tmp/dhelp.opts"
python3 "$tmp/cmds.py" dman "$tmp/dman" > "$tmp/dman.opts"
# the check of the check: chainmesh(8) without 'flow del'
sed '/^\.B chainmesh flow del/,+3d' Documentation/man/chainmesh.8 > "$tmp/broken.8"
man_text "$tmp/broken.8" > "$tmp/broken"
python3 "$tmp/cmds.py" man "$tmp/broken" > "$tmp/broken.cmds"

same() { diff -u "$1" "$2" >&2; }

echo "1..6"
check "the parser finds the commands and options of the help" \
	bash -c "[ \$(grep -c ' ' '$tmp/help.cmds') -ge 12 ] && grep -qx 'flow set' '$tmp/help.cmds' && grep -qx 'mesh libvirt-xml' '$tmp/help.cmds' &&
		 grep -qx 'monitor' '$tmp/help.cmds' && grep -qx -- -netns '$tmp/help.cmds' &&
		 [ \$(wc -l < '$tmp/help.cmds') -ge 26 ]"
check "chainmesh(8) has every command and option of 'chainmesh help', and no other" \
	same "$tmp/help.cmds" "$tmp/man.cmds"
check "the comparison fails on a chainmesh(8) without 'flow del'" \
	bash -c "! diff -q '$tmp/help.cmds' '$tmp/broken.cmds' && ! grep -qx 'flow del' '$tmp/broken.cmds'"
check "chainmesh-ivshmemd(8) has every option of -h, and no other" \
	bash -c "[ \$(wc -l < '$tmp/dhelp.opts') -ge 10 ] && diff -u '$tmp/dhelp.opts' '$tmp/dman.opts' >&2"
check "bash completion offers every object and command of the help" \
	bash -c "for c in \$(grep ' ' '$tmp/help.cmds' | tr ' ' :); do
			o=\${c%%:*} v=\${c#*:}
			grep -q \"^		\$o) COMPREPLY=(\\\$(compgen -W \\\".*\\<\$v\\>\" tools/dist/chainmesh.bash || exit 1
		 done &&
		 for o in \$(grep -v ' ' '$tmp/help.cmds' | grep -v '^-'); do
			grep -q \"compgen -W \\\"mesh node chain flow remote rchain monitor save help\\\"\" tools/dist/chainmesh.bash &&
			grep -q \"\\<\$o\\>\" <<< 'mesh node chain flow remote rchain monitor save help' || exit 1
		 done"
check "the man pages' versions are dkms.conf's" \
	bash -c ". ./dkms.conf && grep -q \"^.TH .* \\\"chainmesh \$PACKAGE_VERSION\\\"\" Documentation/man/chainmesh.8 &&
		 grep -q \"^.TH .* \\\"chainmesh \$PACKAGE_VERSION\\\"\" Documentation/man/chainmesh-ivshmemd.8"
exit $cm_check_fail
