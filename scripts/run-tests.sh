#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs every test binary in BUILD/tests under a timeout and totals the
# cmocka results.  Usage: run-tests.sh BUILD [test-name-pattern]
set -u
B=${1:-build}
pat=${2:-}
limit=${RINGO_TEST_TIMEOUT:-300}
pass=0; fail=0; failed=""
for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *.d|*.o) continue;; esac
	name=$(basename "$t")
	[ -n "$pat" ] && case "$name" in *$pat*) ;; *) continue;; esac
	echo "== $name ($B)"
	out=$(mktemp)
	timeout -k 10 "$limit" "$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$out" | awk '{s+=$4} END {print s+0}')
	f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$out" | awk '{s+=$4} END {print s+0}')
	rm -f "$out"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "== $name exited with status $rc"
		f=1
	fi
	pass=$((pass + p)); fail=$((fail + f))
	[ "$f" -ne 0 ] && failed="$failed $name"
done
echo
[ -n "$failed" ] && echo "failing:$failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
