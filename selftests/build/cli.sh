#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The chainmesh CLI's conventions that need no kernel, on the build
# machine (the VM tests, selftests/vm/netlink.sh, check them against the
# host module):
#
# - exit status as ip(8): 1 for a command line it cannot parse, 2 when the
#   system refuses (here: no chainmesh_host, so no netlink family);
# - -V prints dkms.conf's version; options abbreviate (-js, --json);
# - -batch splits words as sh(1) does ('...', "...", backslash, '#');
#   -force goes on after a failing line and still exits non-zero;
# - -n NETNS only with 'mesh show' (exit 1 otherwise), a missing one exit 2;
# - the JSON writer (tools/cli/json.c) gives what python3's json module
#   parses, in both layouts, whatever bytes a string holds: control
#   characters escaped, invalid UTF-8 replaced by U+FFFD.
#
# Prints TAP.

set -e
. "$(dirname "$(readlink -f "$0")")/lib.sh"
cd "$(dirname "$0")/../.."

tmp=$(mktemp -d /tmp/cm-cli.XXXXXX)
ns=cm-cli-$$
cleanup() { rm -rf "$tmp"; ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$ns"

make -s -C tools chainmesh >/dev/null
cm=$PWD/tools/chainmesh
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)

# status WANT CMD...: CMD exits WANT (its stderr into $tmp/err)
status()
{
	local want=$1 rc=0

	shift
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	[ "$rc" = "$want" ]
}

# batch_says TEXT LINE...: a batch of the LINEs fails, saying TEXT
batch_says()
{
	local text=$1

	shift
	printf '%s\n' "$@" >"$tmp/batch"
	status 1 "$cm" -batch "$tmp/batch" && grep -qF -- "$text" "$tmp/err"
}

echo "1..21"
check "unknown object: exit 1" status 1 "$cm" nosuchobject
check "bad number: exit 1" status 1 "$cm" flow add xx chain 1
check "unknown option: exit 1" status 1 "$cm" -Q mesh show
check "no host module: exit 2 (refused by the system)" \
	bash -c "! grep -q '^chainmesh_host ' /proc/modules &&
		 { '$cm' mesh show; [ \$? = 2 ]; }"
check "-V and -Version print version $version" \
	bash -c "'$cm' -V | grep -qx 'chainmesh $version (generic netlink family chainmesh version [0-9]*)' &&
		 '$cm' -Version | grep -q '^chainmesh $version '"
check "options abbreviate: -js, --json, -he" \
	bash -c "'$cm' -he | grep -q '^Usage' &&
		 { '$cm' -js -p --json nosuch 2>&1; true; } | grep -q \"unknown object 'nosuch'\""
check "batch: a double-quoted word stays one word" \
	batch_says "unexpected argument 'two words'" 'flow add 1 chain 1 "two words"'
check "batch: single quotes, '\\'' and '#' inside quotes" \
	batch_says "unexpected argument 'it's #1'" "flow add 1 chain 1 'it'\\''s #1'"
check "batch: backslash escapes a blank; \\\" inside \"...\"" \
	batch_says "unexpected argument 'a b\"c'" 'flow add 1 chain 1 a\ b"\"c"'
check "batch: '#' at a word's start comments out the rest" \
	batch_says "line 2: unexpected argument 'x#y'" '# all comment' 'flow add 1 chain 1 x#y # z'
check "batch: an unterminated quote is a syntax error naming its line" \
	batch_says "line 1: unterminated \"" 'flow add 1 chain "1'
check "batch without -force stops at the first failure" \
	bash -c "printf 'nosuch1\nnosuch2\nnosuch3\n' > '$tmp/f' &&
		 { '$cm' -batch '$tmp/f' 2> '$tmp/e'; [ \$? = 1 ]; } &&
		 [ \$(grep -c 'unknown object' '$tmp/e') = 1 ]"
check "batch -force reports every failure and exits with the last one's status" \
	bash -c "printf 'nosuch1\nflow add 1 chain xx\nmesh show\n' > '$tmp/f' &&
		 { '$cm' -batch '$tmp/f' -force 2> '$tmp/e'; [ \$? = 2 ]; } &&
		 grep -q \"line 1: unknown object 'nosuch1'\" '$tmp/e' &&
		 grep -q 'line 2: chain:' '$tmp/e' &&
		 grep -q 'line 3: generic netlink family' '$tmp/e'"
check "-force without -batch: exit 1" status 1 "$cm" -force mesh show
# -n: the family is in the initial namespace; only 'mesh show' names an
# interface that may live in another one.
check "-n NETNS with another command than 'mesh show': exit 1, says so" \
	bash -c "{ '$cm' -n '$ns' flow show 2> '$tmp/e'; [ \$? = 1 ]; } &&
		 grep -q \"goes with 'mesh show' only\" '$tmp/e' &&
		 { '$cm' -n '$ns' mesh qemu-args m node 1 2> '$tmp/e'; [ \$? = 1 ]; } &&
		 grep -q \"goes with 'mesh show' only\" '$tmp/e'"
check "-n NETNS with -batch: exit 1" status 1 "$cm" -n "$ns" -batch /dev/null
check "-n NETNS mesh show: accepted, on to the family (no module: exit 2)" \
	bash -c "{ '$cm' -n '$ns' mesh show 2> '$tmp/e'; [ \$? = 2 ]; } &&
		 grep -q \"family 'chainmesh' not found\" '$tmp/e'"
check "-n with a namespace that does not exist: exit 2" \
	bash -c "{ '$cm' -n cm-no-such-ns mesh show 2> '$tmp/e'; [ \$? = 2 ]; } &&
		 grep -q 'cannot open network namespace \"cm-no-such-ns\"' '$tmp/e'"

# The JSON writer against python3's parser.
cat > "$tmp/jt.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "json.h"
int main(int argc, char **argv __attribute__((unused)))
{
	static const char *s[] = {
		"plain", "quote \" backslash \\ slash /", "ctl \x01\x1f\t\n\x7f end",
		"bad \xff\xfe byte", "overlong \xc0\xaf", "surrogate \xed\xa0\x80",
		"cut \xe2\x82", "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "",
	};
	unsigned int i;

	json_pretty = argc > 1;
	j_open(NULL, '[');
	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		j_open(NULL, '{');
		j_uint("i", i);
		j_str("s\x02", s[i]);
		j_open("empty", '[');
		j_close(']');
		j_close('}');
	}
	j_close(']');
	return 0;
}
C
cat > "$tmp/jt.py" <<'PY'
import json, sys
raw = sys.stdin.buffer.read()
raw.decode("utf-8", "strict")          # valid UTF-8, or this raises
v = json.loads(raw)
want = ["plain", "quote \" backslash \\ slash /", "ctl \x01\x1f\t\n\x7f end",
        "bad \ufffd\ufffd byte", "overlong \ufffd\ufffd",
        "surrogate \ufffd\ufffd\ufffd", "cut \ufffd\ufffd",
        "ok \u00e9 \u20ac \U0001f600", ""]
got = [o["s\x02"] for o in v]
assert got == want, (got, want)
assert all(o["empty"] == [] for o in v)
# no raw control character but the newlines of the layout
assert not any(b < 0x20 and b != 0x0a for b in raw), raw
lines = raw.decode().splitlines()
assert (len(lines) > 1) == (sys.argv[1] == "pretty"), lines[:3]
PY
check "JSON writer: builds" \
	cc -Wall -Wextra -Werror -Itools/cli -o "$tmp/jt" "$tmp/jt.c" tools/cli/json.c
check "JSON writer: python3 parses it, control chars escaped, bad UTF-8 replaced" \
	bash -c "'$tmp/jt' | python3 '$tmp/jt.py' compact"
check "JSON writer -p: indented, one member a line, same values" \
	bash -c "'$tmp/jt' pretty | python3 '$tmp/jt.py' pretty"
exit $cm_check_fail
