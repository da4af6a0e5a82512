#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The VM lab's Python package (tools/lab/cmlablib) without a VM: it
# compiles, its modules are layered, the CLI names every command, the
# cpio writer's archives read back with cpio(1), the vmlinux extractor
# finds the kernel among xz streams, SRC:DST specs parse, and the exec
# protocol runs commands over a pair of fifos (host side and guest side,
# busybox sh). One TAP point per check of selftests/build/lab.py;
# `python3 selftests/build/lab.py NAME` says why one fails.

set -e
. "$(dirname "$(readlink -f "$0")")/lib.sh"
cd "$(dirname "$0")/../.."

lab=selftests/build/lab.py

echo "1..7"
check "tools/lab/cmlab and every cmlablib module compile" python3 $lab compile
check "cmlablib: modules import only those listed before them, and the stdlib" \
	python3 $lab layers
check "cmlab -h exits 0 and names every command" python3 $lab help
check "Cpio archives (raw and gzip) list, describe and extract with cpio(1)" \
	python3 $lab cpio
check "extract_vmlinux finds the ELF among xz streams, stamps it" \
	python3 $lab vmlinux
check "--file/--prog SRC:DST specs and module names" python3 $lab specs
check "exec protocol over fifos: output, status, long commands, timeout" \
	timeout 120 python3 $lab exec
exit $cm_check_fail
