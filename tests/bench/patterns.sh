#!/bin/sh
# SPDX-License-Identifier: MIT
# The time, limiter and pool workloads (issue "timers, tickers, rate
# limiters, semaphores, errgroup and worker pools"), ringo against Go in
# one run, appended as rows to run.sh's results table.
#
#   tests/bench/patterns.sh BUILD TSV RUNS
#
# BUILD/bench/bench_patterns (tests/bench/bench_patterns.c) and
# BUILD/bench/go_patterns (tests/bench/go/patterns.go, x/time and x/sync
# from Debian) each take the workload as their first argument; each side
# runs RUNS times, alternating, and the row shows the medians and
# ratio = ringo / go.  Rows use run.sh's TSV columns:
#   workload unit ringo go ratio better target met runs
# Logs go to BUILD/bench/logs/patterns.<workload>.<side>.<i>.txt.
#
# Then tests/bench/ratediff.sh checks the token bucket's answers against
# x/time/rate's on 11,804 random calls (stderr).
# Environment: PATTERNS="timer_stop pool" runs only those workloads;
# BENCH_TIMEOUT (default 120 s per run).  Run under
# `flock /tmp/ringo-bench.lock` on a shared machine (make bench does not
# take the lock itself).

set -u
LC_ALL=C
export LC_ALL

BUILD=${1:-build}
TSV=${2:-$BUILD/bench/results.tsv}
RUNS=${3:-5}
B=$BUILD/bench
LOGS=$B/logs
TIMEOUT=${BENCH_TIMEOUT:-120}
mkdir -p "$LOGS"

ALL="timer_stop timer_fire limiter limiter_4g keyed_100k sema errgroup pool ticker_p99"
LIST=${PATTERNS:-$ALL}

# Targets (ringo/go) from the issue; "-": none.
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

target() {
	case $1 in
	timer_stop | timer_fire | limiter | limiter_4g | sema | errgroup | pool) echo "<=0.5" ;;
	*) echo "-" ;;
	esac
}

rbin=$B/bench_patterns
gbin=$B/go_patterns
failed=0
[ -x "$rbin" ] || { echo "patterns.sh: no $rbin" >&2; exit 1; }
[ -x "$gbin" ] || { echo "patterns.sh: no $gbin" >&2; exit 1; }
[ -f "$TSV" ] || printf 'workload\tunit\tringo\tgo\tratio\tbetter\ttarget\tmet\truns\n' >"$TSV"

for w in $LIST; do
	rv=""; gv=""; unit=""
	i=1
	while [ "$i" -le "$RUNS" ]; do
		for side in ringo go; do
			if [ $side = ringo ]; then bin=$rbin; else bin=$gbin; fi
			log=$LOGS/patterns.$w.$side.$i.txt
			timeout "$TIMEOUT" "$bin" "$w" >"$log" 2>&1 || echo "exit status $?" >>"$log"
			res=$(value "$log")
			if [ -z "$res" ]; then
				echo "patterns $w: $side run $i FAILED (see $log)" >&2
				failed=1
				continue
			fi
			# shellcheck disable=SC2086
			set -- $res
			unit=$2
			if [ $side = ringo ]; then rv="$rv $1"; else gv="$gv $1"; fi
			printf 'patterns %s: run %d/%d %s %s %s\n' "$w" "$i" "$RUNS" $side "$1" "$2" >&2
		done
		i=$((i + 1))
	done
	# shellcheck disable=SC2086
	rm=$(printf '%s\n' $rv | grep . | median)
	# shellcheck disable=SC2086
	gm=$(printf '%s\n' $gv | grep . | median)
	awk -v w="$w" -v u="${unit:--}" -v r="$rm" -v g="$gm" -v t="$(target "$w")" -v n="$RUNS" 'BEGIN {
		ratio = "-"; met = "-"
		if (r != "" && g != "" && g + 0 != 0) {
			ratio = sprintf("%.3g", r / g)
			if (t != "-") met = (r / g <= substr(t, 3) + 0) ? "yes" : "no"
		}
		printf "%s\t%s\t%s\t%s\t%s\tlower\t%s\t%s\t%s\n", w, u,
			(r == "" ? "FAIL" : r), (g == "" ? "FAIL" : g), ratio, t, met, n
	}' >>"$TSV"
done

# The token bucket against x/time/rate, answer for answer (not a timing).
sh "$(dirname "$0")/ratediff.sh" "$BUILD" >&2 || failed=1
exit $failed
