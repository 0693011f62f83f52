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
#
# The spawning workloads also get a "CPU" row: microseconds of CPU per
# spawn, user + system of the run and of everything it waited for (the
# children: exec and /bin/true's start are most of it), from this
# shell's times(1) around each run; lower is better, and for seq the raw
# loop is its floor.  On a machine with few cores par16 is CPU-bound:
# its rate is cores / (CPU per spawn) times how busy the run keeps them,
# so the CPU rows tell a cost apart from idle time and from other load.
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

# row NAME UNIT RINGO OTHER TARGET: one TSV row (higher is better for a
# unit in "/s", lower for the others: ms, us/spawn).
row() {
	awk -v w="$1" -v u="${2:--}" -v r="$3" -v g="$4" -v t="$5" -v n="$RUNS" 'BEGIN {
		better = (u ~ /\/s$/) ? "higher" : "lower"
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

# spawns WORKLOAD: the -n each side is given (the programs' defaults).
spawns() {
	case $1 in
	seq* | raw*) echo 2000 ;;
	par16*) echo 4000 ;;
	*) echo "" ;;
	esac
}

# secs FILE: user + system seconds in the second line of times(1)'s
# output, this shell's waited-for children so far.  times runs in this
# shell with its output to a file: in a $(...) it would be a subshell's.
tf=$LOGS/exec.times
secs() {
	awk 'NR == 2 { t = 0
		for (i = 1; i <= 2; i++) { split($i, a, "m"); sub(/s$/, "", a[2]); t += a[1] * 60 + a[2] }
		printf "%.6f\n", t }' "$1"
}

for w in $LIST; do
	rv=""; gv=""; cv=""; unit=""
	rc=""; gc=""; cc=""
	n=$(spawns "$w")
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
			[ -n "$n" ] && set -- "$@" -n "$n"
			log=$LOGS/exec.$w.$side.$i.txt
			times >"$tf"
			c0=$(secs "$tf")
			timeout "$TIMEOUT" "$@" >"$log" 2>&1 || echo "exit status $?" >>"$log"
			times >"$tf"
			us=$(awk -v a="$c0" -v b="$(secs "$tf")" -v n="$n" 'BEGIN { if (n > 0) printf "%.1f", (b - a) * 1e6 / n }')
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
			ringo) rv="$rv $1"; rc="$rc $us" ;;
			go) gv="$gv $1"; gc="$gc $us" ;;
			raw) cv="$cv $1"; cc="$cc $us" ;;
			esac
			printf 'exec %s: run %d/%d %s %s %s%s\n' "$w" "$i" "$RUNS" $side "$1" "$2" \
				"${us:+, $us us CPU/spawn}" >&2
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
	if [ -n "$n" ]; then
		# shellcheck disable=SC2086
		rm=$(printf '%s\n' $rc | grep . | median)
		# shellcheck disable=SC2086
		gm=$(printf '%s\n' $gc | grep . | median)
		row "exec $w CPU" "us/spawn" "$rm" "$gm" "-"
		if [ -n "$cc" ]; then
			# shellcheck disable=SC2086
			cm=$(printf '%s\n' $cc | grep . | median)
			row "exec $w CPU vs raw vfork (C)" "us/spawn" "$rm" "$cm" "-"
		fi
	fi
done
exit $failed
