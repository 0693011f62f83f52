#!/bin/sh
# SPDX-License-Identifier: MIT
# Differential check of the token bucket against golang.org/x/time/rate:
# the same 12,000 random calls at explicit times on both, every answer
# compared.  Prints "ratediff: N answers identical" or the first lines
# that differ (exit 1).
#   tests/bench/ratediff.sh [BUILD]   (make SAN= benches gobenches first)
set -eu
B=${1:-build}/bench
[ -x "$B/bench_ratediff" ] && [ -x "$B/go_ratediff" ] || {
	echo "ratediff: build $B/bench_ratediff and $B/go_ratediff first (make bench)" >&2
	exit 2
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$B/go_ratediff" >"$tmp/go.txt"
"$B/bench_ratediff" >"$tmp/c.txt"
if cmp -s "$tmp/go.txt" "$tmp/c.txt"; then
	echo "ratediff: $(wc -l <"$tmp/go.txt") answers identical"
else
	diff "$tmp/go.txt" "$tmp/c.txt" | head -20
	exit 1
fi
