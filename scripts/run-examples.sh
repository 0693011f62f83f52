#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs every program of BUILD/examples and compares its stdout with
# examples/expected/NAME.out.  stderr is kept aside and shown only when
# an example fails (some examples log there what varies from run to run,
# such as which worker took which job).  Usage: run-examples.sh BUILD [pattern]
set -u
B=${1:-build}
pat=${2:-}
limit=${RINGO_EXAMPLE_TIMEOUT:-120}
pass=0; fail=0; failed=""
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for x in "$B"/examples/*; do
	[ -x "$x" ] || continue
	case "$x" in *.d|*.o) continue;; esac
	name=$(basename "$x")
	[ -n "$pat" ] && case "$name" in *$pat*) ;; *) continue;; esac
	want=examples/expected/$name.out
	if [ ! -f "$want" ]; then
		echo "== example $name: no $want"
		fail=$((fail + 1)); failed="$failed $name"; continue
	fi
	timeout -k 10 "$limit" "$x" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	if [ "$rc" -eq 0 ] && cmp -s "$want" "$tmp/out"; then
		pass=$((pass + 1))
		continue
	fi
	echo "== example $name ($B): exit status $rc"
	diff -u "$want" "$tmp/out" | sed 's/^/   /'
	sed 's/^/   stderr: /' "$tmp/err"
	fail=$((fail + 1)); failed="$failed $name"
done
[ -n "$failed" ] && echo "failing examples:$failed"
echo "examples: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
