#!/bin/sh
# SPDX-License-Identifier: MIT
# Spawn and wait (issue 10): ringo's rg_command against Go's os/exec and
# a raw C loop, appended as rows to run.sh's results table.
#
#   tests/bench/exec.sh BUILD TSV RUNS
#
# BUILD/bench/bench_exec (tests/bench/bench_exec.c) and
# BUILD/bench/go_exec (tests/bench/go/exec.go) take the workload first:
#   seq        /bin/true spawned and waited for, one after the other
#   par16      the same from 16 goroutines at once
#   seq_1g     seq with 1 GiB resident in the parent (fork would copy its
#   par16_1g   page tables; clone3(CLONE_VM) copies nothing)
#   many       1,000 cat children alive at once, each waited for by its
#              own goroutine, until all are reaped (ms, lower is better)
# and bench_exec raw / raw_1g is the floor: vfork + execve + waitpid on
# one thread.  Each side runs RUNS times, alternating; rows show the
# medians, ratio = ringo / go, and for seq and seq_1g a second row
# ratio = ringo / raw.  Targets from the issue: seq >= 1.0 of Go and
# >= 0.9 of raw, par16 >= 1.5 of Go.
# Environment: EXEC="seq par16" runs only those; BENCH_TIMEOUT (120 s).
# Run under `flock /tmp/ringo-bench.lock` on a shared machine.

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

LIST=${EXEC:-seq par16 seq_1g par16_1g many}

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

target() {
	case $1 in
	seq | seq_1g) echo ">=1.0" ;;
	par16 | par16_1g) echo ">=1.5" ;;
	raw*) echo ">=0.9" ;;
	*) echo "-" ;;
	esac
}

rbin=$B/bench_exec
gbin=$B/go_exec
failed=0
[ -x "$rbin" ] || { echo "exec.sh: no $rbin" >&2; exit 1; }
[ -x "$gbin" ] || { echo "exec.sh: no $gbin" >&2; exit 1; }
[ -f "$TSV" ] || printf 'workload\tunit\tringo\tgo\tratio\tbetter\ttarget\tmet\truns\n' >"$TSV"

# row NAME UNIT RINGO OTHER TARGET: one TSV row (higher is better unless
# the unit is ms).
row() {
	awk -v w="$1" -v u="${2:--}" -v r="$3" -v g="$4" -v t="$5" -v n="$RUNS" 'BEGIN {
		better = (u == "ms") ? "lower" : "higher"
		ratio = "-"; met = "-"
		if (r != "" && g != "" && g + 0 != 0) {
			ratio = sprintf("%.3g", r / g)
			if (t != "-") {
				lim = substr(t, 3) + 0
				met = (substr(t, 1, 2) == "<=") ? (r / g <= lim ? "yes" : "no") : (r / g >= lim ? "yes" : "no")
			}
		}
		printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", w, u,
			(r == "" ? "FAIL" : r), (g == "" ? "FAIL" : g), ratio, better, t, met, n
	}' >>"$TSV"
}

for w in $LIST; do
	rv=""; gv=""; cv=""; unit=""
	sides="ringo go"
	case $w in seq | seq_1g) sides="ringo go raw" ;; esac
	i=1
	while [ "$i" -le "$RUNS" ]; do
		for side in $sides; do
			case $side in
			ringo) set -- "$rbin" "$w" ;;
			go) set -- "$gbin" "$w" ;;
			raw) set -- "$rbin" "raw${w#seq}" ;;
			esac
			log=$LOGS/exec.$w.$side.$i.txt
			timeout "$TIMEOUT" "$@" >"$log" 2>&1 || echo "exit status $?" >>"$log"
			res=$(value "$log")
			if [ -z "$res" ]; then
				echo "exec $w: $side run $i FAILED (see $log)" >&2
				failed=1
				continue
			fi
			# shellcheck disable=SC2086
			set -- $res
			unit=$2
			case $side in
			ringo) rv="$rv $1" ;;
			go) gv="$gv $1" ;;
			raw) cv="$cv $1" ;;
			esac
			printf 'exec %s: run %d/%d %s %s %s\n' "$w" "$i" "$RUNS" $side "$1" "$2" >&2
		done
		i=$((i + 1))
	done
	# shellcheck disable=SC2086
	rm=$(printf '%s\n' $rv | grep . | median)
	# shellcheck disable=SC2086
	gm=$(printf '%s\n' $gv | grep . | median)
	row "exec $w" "$unit" "$rm" "$gm" "$(target "$w")"
	if [ -n "$cv" ]; then
		# shellcheck disable=SC2086
		cm=$(printf '%s\n' $cv | grep . | median)
		# The "go" column holds the raw C loop here.
		row "exec $w vs raw vfork (C)" "$unit" "$rm" "$cm" "$(target raw)"
	fi
done
exit $failed
