#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run every libFuzzer target of this directory for a bounded time, as TAP:
# one test point per target, "ok" when it ran its time without a crash,
# a leak, a timeout or a broken invariant.
#
#   selftests/fuzz/run.sh            all targets, CM_FUZZ_SECONDS each
#   selftests/fuzz/run.sh fuzz_desc  some of them
#
# Each target starts from its committed seed corpus (corpus/<name>, never
# written to) and keeps what it finds in a scratch corpus of its own run.
# A failing input is kept (path printed) to replay with ./fuzz_<name> FILE.
# Knobs: CM_FUZZ_SECONDS (default 8: make check's smoke run, which
# replays the seed corpus and mutates from it; a campaign gives each target
# minutes, CM_FUZZ_SECONDS=600), CM_FUZZ_KEEP=1 (keep the scratch
# dir), CLANG (compiler, default clang). Skips everything when clang
# cannot build a libFuzzer target (Debian: clang, libclang-rt-14-dev).

set -e
cd "$(dirname "$0")"

secs=${CM_FUZZ_SECONDS:-8}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_desc fuzz_layout fuzz_flow fuzz_flowlog)

if ! out=$(make -s 2>&1); then
	if ! command -v "${CLANG:-clang}" >/dev/null ||
	   ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
	     "${CLANG:-clang}" -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
		echo "1..0 # SKIP no clang with libFuzzer (install clang libclang-rt-14-dev)"
		exit 0
	fi
	sed "s/^/# /" <<<"$out"
	echo "Bail out! building the fuzz targets failed"
	exit 1
fi

work=$(mktemp -d /tmp/cm-fuzz-XXXXXX)
fail=0
n=0
echo "1..${#targets[@]}"
for t in "${targets[@]}"; do
	n=$((n + 1))
	name=${t#fuzz_}
	mkdir -p "$work/$name"
	log=$work/$name.log
	# -timeout: one input may not take a second; -rss_limit_mb: no
	# runaway allocation; the outer timeout bounds a fuzzer that hangs.
	if timeout -k 5 $((secs + 30)) "./$t" -max_total_time="$secs" \
		-timeout=1 -rss_limit_mb=1024 -print_final_stats=1 \
		-artifact_prefix="$work/$name-" "$work/$name" "corpus/$name" \
		>"$log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
		echo "ok $n - $t: ${secs} s, ${execs:-?} runs, ${cov:-cov ?}, no crash"
	else
		fail=1
		echo "not ok $n - $t"
		grep -E 'ERROR|invariant|SUMMARY|Test unit written|artifact' "$log" |
			head -n 20 | sed 's/^/# /'
		echo "# full log: $log (replay: selftests/fuzz/$t <the artifact>)"
		CM_FUZZ_KEEP=1
	fi
done
if [ -n "$CM_FUZZ_KEEP" ]; then
	echo "# fuzz scratch kept in $work"
else
	rm -rf "$work"
fi
exit $fail
