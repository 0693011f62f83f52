#!/bin/sh
# SPDX-License-Identifier: MIT
# The fuzz smoke of `make check`: every kept input of each harness
# (tests/fuzz/corpus/HARNESS/) once through BUILD/fuzz/replay_HARNESS
# (the harness linked with tests/fuzz/replay.c, no libFuzzer), on each
# I/O backend; with FUZZ_ALARM=1 once more with SIGALRM every millisecond
# (replay.c's ALARM_US: libFuzzer's -timeout interrupts the process so,
# and a harness or runtime wait that takes EINTR for an answer fails
# there).  Not by default: pool_http failed that pass once in a loaded
# ASan run (the server closed a connection without an answer) and in
# none of 80 runs after, so it would make `make check` flaky until found.
# Seconds, not minutes: make fuzz is the real search.
# Usage: smoke.sh BUILD HARNESS...
set -u
B=$1
shift
n=0
for h in "$@"; do
	runs="uring epoll"
	[ "${FUZZ_ALARM:-}" = 1 ] && runs="$runs uring-alarm"
	for run in $runs; do
		be=${run%-alarm}
		alarm=
		[ "$run" = "$be" ] || alarm=1000
		out=$(ALARM_US=$alarm RINGO_BACKEND=$be timeout -k 5 120 "$B/fuzz/replay_$h" 1 "tests/fuzz/corpus/$h" 2>&1)
		rc=$?
		if [ "$rc" -ne 0 ]; then
			printf '%s\n' "$out" | tail -n 30
			echo "fuzz smoke: $h ($run) FAILED, exit $rc"
			exit 1
		fi
		n=$((n + 1))
	done
done
echo "fuzz smoke: $n runs ok ($*; $runs)"
