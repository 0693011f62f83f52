#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs libFuzzer harnesses for a bounded time each (make fuzz, fuzz.mk).
# Usage: FUZZ_B=build-fuzz FUZZ_SECONDS=30 run.sh HARNESS...
# Each harness's log is $FUZZ_B/fuzz-HARNESS.log; a crash, leak, hang or
# out-of-memory leaves $FUZZ_B/crash-HARNESS-* (libFuzzer's artifact),
# fails the run, and is replayed with: $FUZZ_B/fuzz/fuzz_HARNESS FILE.
set -u
B=${FUZZ_B:-build-fuzz}
secs=${FUZZ_SECONDS:-30}
st=0
for h in "$@"; do
	mkdir -p "$B/corpus/$h"
	rm -f "$B"/crash-"$h"-*
	eval "args=\${FUZZ_ARGS_$h:-}"
	echo "== fuzz $h ($secs s)"
	# shellcheck disable=SC2086
	"$B/fuzz/fuzz_$h" -max_total_time="$secs" $args -artifact_prefix="$B/crash-$h-" \
		-print_final_stats=1 "$B/corpus/$h" "tests/fuzz/corpus/$h" >"$B/fuzz-$h.log" 2>&1
	rc=$?
	grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$B/fuzz-$h.log"
	echo "   corpus: $(ls "$B/corpus/$h" | wc -l) found + $(ls "tests/fuzz/corpus/$h" | wc -l) kept"
	if [ "$rc" -ne 0 ] || ls "$B"/crash-"$h"-* >/dev/null 2>&1; then
		tail -n 40 "$B/fuzz-$h.log"
		echo "== fuzz $h FAILED (exit $rc): $(ls "$B"/crash-"$h"-* 2>/dev/null | tr '\n' ' ')"
		st=1
	fi
done
exit $st
