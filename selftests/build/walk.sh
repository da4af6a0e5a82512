#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The operations guide's walk-through extractor (tools/lab/cmlablib/
# walk.py), which selftests/vm/distro.sh runs the guide with: it finds
# the guide's blocks where they run (an image block, guest and host
# blocks), and it refuses what would let a command escape the test: a
# literal block with no marker, a marker with no block, an unknown place.
# A block's ID changes with its text, so a block edited after the image
# was built is not taken for one that ran. Prints TAP.

set -e
. "$(dirname "$(readlink -f "$0")")/lib.sh"
cd "$(dirname "$0")/../.."

cm_scratch walk
walk=tools/lab/cmlablib/walk.py
guide=Documentation/operations.rst

# split_fails FILE TEXT: splitting FILE fails, saying TEXT
split_fails()
{
	! python3 "$walk" split "$1" "$tmp/out.$$" 2>"$tmp/err" && grep -qF -- "$2" "$tmp/err"
}

python3 "$walk" split "$guide" "$tmp/guide"
awk '{ print $2 }' "$tmp/guide/index" | sort | uniq -c >"$tmp/places"

# a copy of the guide with a literal block whose marker is gone
awk '/^\.\. walk: host$/ && !done { done = 1; next } { print }' "$guide" >"$tmp/nomark.rst"
printf 'Intro\n\n.. walk: host\n\nNo block follows.\n' >"$tmp/orphan.rst"
printf 'Intro\n\n.. walk: hots\n\n::\n\n   true\n' >"$tmp/place.rst"
sed '0,/^   chainmesh mesh add m nodes 3/s//   chainmesh mesh add m nodes 4/' "$guide" >"$tmp/edited.rst"

echo "1..6"
check "the guide splits: an image block, guest and host blocks, text blocks" \
	bash -c "grep -q ' 1 image$' '$tmp/places' && grep -Eq ' [2-9] guest$' '$tmp/places' &&
		 grep -Eq ' [1-9][0-9] host$' '$tmp/places' && grep -q ' text$' '$tmp/places'"
check "the host blocks hold the walk-through's commands" \
	bash -c "cat '$tmp'/guide/*.host | grep -q '^systemctl enable --now chainmesh-ivshmemd@m$' &&
		 cat '$tmp'/guide/*.host | grep -q '^chainmesh mesh libvirt-xml m node 1' &&
		 cat '$tmp'/guide/*.host | grep -q '^chainmesh save | diff /etc/chainmesh/chainmesh.conf -$' &&
		 cat '$tmp'/guide/*.guest | grep -q '^networkctl reload$'"
check "a literal block without a marker is refused" \
	split_fails "$tmp/nomark.rst" "literal block without '.. walk: PLACE'"
check "a marker without a block is refused" \
	split_fails "$tmp/orphan.rst" "orphan.rst:3: marker without a literal block"
check "an unknown place is refused" \
	split_fails "$tmp/place.rst" "unknown place 'hots'"
check "a block's ID changes with its text, the others' do not" \
	bash -c "python3 '$walk' ids '$guide' host > '$tmp/a' && python3 '$walk' ids '$tmp/edited.rst' host > '$tmp/b' &&
		 [ \$(diff '$tmp/a' '$tmp/b' | grep -c '^[<>]') = 2 ] && [ \$(wc -l < '$tmp/a') = \$(wc -l < '$tmp/b') ]"
exit $cm_check_fail
