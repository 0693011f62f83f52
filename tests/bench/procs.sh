#!/bin/sh
# SPDX-License-Identifier: MIT
# The scheduler and channel workloads at several P counts: RINGO_PROCS=N
# against GOMAXPROCS=N, ringo and Go alternating in one run, one row per
# workload and P count ("buffered P=4"), appended to run.sh's table.
#
#   tests/bench/procs.sh BUILD TSV RUNS [PROCS]
#
# PROCS (default "1 4"; run.sh's own rows are the machine's default, 2
# here) is a list of P counts; 4 on a 2-core machine is oversubscribed,
# as in a container, and shows whether a design only works while
# Ps <= cores.  Environment: PROCS_WORKLOADS (default: spawn pingpong
# buffered select mutex workerpool), BENCH_TIMEOUT (default 120 s).
# A table of the rows written is printed on stdout.  Run under
# `flock /tmp/ringo-bench.lock` on a shared machine.
#
# To compare before/after at 2 Ps in one run:
#   flock /tmp/ringo-bench.lock sh tests/bench/procs.sh build /tmp/p.tsv 5 "2"

set -u
set -f
LC_ALL=C
export LC_ALL

BUILD=${1:-build}
TSV=${2:-$BUILD/bench/results.tsv}
RUNS=${3:-5}
PROCS=${4:-1 4}
B=$BUILD/bench
LOGS=$B/logs
TIMEOUT=${BENCH_TIMEOUT:-120}
LIST=${PROCS_WORKLOADS:-spawn pingpong buffered select mutex workerpool}
mkdir -p "$LOGS"
[ -f "$TSV" ] || printf 'workload\tunit\tringo\tgo\tratio\tbetter\ttarget\tmet\truns\n' >"$TSV"
start=$(wc -l <"$TSV")

value() {  # value LOG: the RESULT value and unit
	awk '/^RESULT / { v = ""; u = ""
		for (i = 2; i <= NF; i++) {
			k = $i; sub(/=.*/, "", k)
			x = $i; sub(/^[^=]*=/, "", x)
			if (k == "value") v = x
			if (k == "unit") u = x
		}
		if (v != "") print v, u; exit }' "$1"
}

median() {
	sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) exit
		if (NR % 2) print a[(NR + 1) / 2]; else printf "%.6g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

failed=0
for p in $PROCS; do
	for w in $LIST; do
		rbin=$B/bench_$w
		gbin=$B/go_$w
		if [ ! -x "$rbin" ] || [ ! -x "$gbin" ]; then
			echo "procs $w: skipped (no $rbin or $gbin)" >&2
			continue
		fi
		rv=""; gv=""; unit=""
		i=1
		while [ "$i" -le "$RUNS" ]; do
			for side in ringo go; do
				if [ $side = ringo ]; then bin=$rbin; else bin=$gbin; fi
				log=$LOGS/procs.$w.p$p.$side.$i.txt
				RINGO_PROCS=$p GOMAXPROCS=$p timeout "$TIMEOUT" "$bin" >"$log" 2>&1 ||
					echo "exit status $?" >>"$log"
				res=$(value "$log")
				if [ -z "$res" ]; then
					echo "procs $w P=$p: $side run $i FAILED (see $log)" >&2
					failed=1
					continue
				fi
				# shellcheck disable=SC2086
				set -- $res
				unit=$2
				if [ $side = ringo ]; then rv="$rv $1"; else gv="$gv $1"; fi
				printf 'procs %s P=%s: run %d/%d %s %s %s\n' "$w" "$p" "$i" "$RUNS" $side "$1" "$2" >&2
			done
			i=$((i + 1))
		done
		# shellcheck disable=SC2086
		rm=$(printf '%s\n' $rv | grep . | median)
		# shellcheck disable=SC2086
		gm=$(printf '%s\n' $gv | grep . | median)
		awk -v w="$w P=$p" -v u="${unit:--}" -v r="$rm" -v g="$gm" -v n="$RUNS" 'BEGIN {
			ratio = "-"
			if (r != "" && g != "" && g + 0 != 0) ratio = sprintf("%.3g", r / g)
			printf "%s\t%s\t%s\t%s\t%s\tlower\t-\t-\t%s\n", w, u,
				(r == "" ? "FAIL" : r), (g == "" ? "FAIL" : g), ratio, n
		}' >>"$TSV"
	done
done

awk -F'\t' -v s="$start" 'NR > s { printf "%-16s %10s %10s  %-6s %6s\n", $1, $3, $4, $2, $5 }' "$TSV"
exit $failed
