#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the ringo benchmarks against their Go peers and prints the ratios.
#
#   tests/bench/run.sh [BUILD]        (BUILD defaults to "build")
#
# For every workload with both BUILD/bench/bench_<name> (ringo) and
# BUILD/bench/go_<name> (Go), each side runs BENCH_RUNS times (default 5),
# alternating ringo, go, ringo, go, ...; the table shows the median of each
# side and ratio = ringo / go. A workload with one side only is still run
# and shown, with the other side marked missing.
#
# Every benchmark program prints exactly one line
#     RESULT name=<workload> impl=<ringo|go> value=<number> unit=<unit>
# Units ending in "/s" are throughputs (higher is better); all others
# (ns/op, bytes/g, ns/sleep) are costs (lower is better).
#
# Environment:
#   BENCH_RUNS=5            runs per side
#   BENCH_WORKLOADS="..."   which workloads (default: all, as listed below)
#   BENCH_TIMEOUT=120       seconds before a single run is killed
#   BENCH_ECHO=0            skip the echo benchmark (tests/bench/echo.sh)
#   BENCH_PROCS=0           skip the 1-P and 4-P rows (tests/bench/procs.sh)
#   BENCH_PROBECOST=0       skip tests/bench/probecost.sh (unattached probes)
#   BENCH_ARGS_<name>=...   extra arguments for both sides of one workload,
#                           e.g. BENCH_ARGS_parked="-n 100000"
#   GO=go                   Go toolchain, only to print its version
#
# Writes BUILD/bench/results.md, results.tsv, results.svg (via chart.sh) and
# the output of every run under BUILD/bench/logs/.
#
# Hook: if tests/bench/echo.sh exists (and BENCH_ECHO is not 0) it runs as
# `sh tests/bench/echo.sh BUILD` after the other workloads; its output is
# printed and appended to results.md, and the 64-byte rows of the
# BUILD/bench/echo.tsv it writes join the table and chart as "echo c=N"
# (requests/s, ratio ringo/Go, target >= 1.5).
#
# Exit status: 0, or 1 if any run failed (the tables are written anyway).

set -u
set -f  # no globbing: word lists below are split on purpose
LC_ALL=C
export LC_ALL

BUILD=${1:-build}
B=$BUILD/bench
RUNS=${BENCH_RUNS:-5}
TIMEOUT=${BENCH_TIMEOUT:-120}
HERE=$(cd "$(dirname "$0")" && pwd)
LOGS=$B/logs
TSV=$B/results.tsv
MD=$B/results.md
SVG=$B/results.svg

WORKLOADS=${BENCH_WORKLOADS:-"spawn switch pingpong buffered select mutex workerpool parked timers fileio fileio_kept"}

# The binaries of a workload: bench_X and go_X.  fileio_kept is fileio
# with glibc's malloc told to keep freed memory (see wl_env).
bin_of() {
	case $1 in
	fileio_kept) echo fileio ;;
	*) echo "$1" ;;
	esac
}

# Target for ringo/go from shared/design/BENCH.md ("-": none set).
target() {
	case $1 in
	spawn | pingpong) echo "<=0.2" ;;
	buffered | select | workerpool) echo "<=0.5" ;;
	mutex) echo "<=0.7" ;;
	parked) echo "<=1.6" ;;
	echo) echo ">=1.5" ;;
	*) echo "-" ;;
	esac
}

# Environment both sides of a workload run under.
wl_env() {
	case $1 in
	switch) echo "RINGO_PROCS=1 GOMAXPROCS=1" ;;
	mutex) echo "RINGO_PROCS=2 GOMAXPROCS=2" ;;
	# Each file read allocates its 256 KiB buffer (rg_read_file, Go's
	# os.ReadFile).  glibc serves that size with mmap(2), or trims it off
	# an arena when freed, so the next read faults in zeroed pages again:
	# perf puts a third of fileio's time in page faults and munmap.
	# Go's heap keeps its memory.  This row tells ringo's I/O from
	# glibc's allocator; Go's static binary ignores the tunables.
	fileio_kept) echo "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4194304:glibc.malloc.trim_threshold=67108864" ;;
	*) echo "" ;;
	esac
}

case $RUNS in
'' | *[!0-9]* | 0) echo "run.sh: BENCH_RUNS must be a positive integer" >&2; exit 2 ;;
esac
if [ ! -d "$B" ]; then
	echo "run.sh: no $B directory; build first (make bench)" >&2
	exit 2
fi
mkdir -p "$LOGS"

if command -v timeout >/dev/null 2>&1; then
	TIMEOUT_CMD="timeout $TIMEOUT"
else
	TIMEOUT_CMD=
fi

# ---- machine ----------------------------------------------------------
ncpu=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
kernel=$(uname -r)
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
[ -n "$cpu" ] || cpu=$(awk -F': *' '/^(Hardware|CPU part|cpu model)/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
[ -n "$cpu" ] || cpu=$(uname -m)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null)
gover=$(${GO:-go} version 2>/dev/null | sed 's/^go version //')
[ -n "$gover" ] || gover="(go not found)"
ccver=$(${CC:-cc} --version 2>/dev/null | head -n 1)
rev=$(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo "-")
when=$(date -u '+%Y-%m-%d %H:%M UTC')

echo "machine: $ncpu CPUs, $cpu, $mem, Linux $kernel"
echo "go: $gover; cc: $ccver; ringo: $rev; $when"
echo "runs per side: $RUNS (median shown), alternating ringo/go; ratio = ringo/go"
echo

# ---- running ----------------------------------------------------------
failed=0

# run_one BIN LOG ENV ARGS: prints "value unit", or nothing on failure.
run_one() {
	# shellcheck disable=SC2086  # ENV and ARGS are word lists on purpose
	env $3 $TIMEOUT_CMD "$1" $4 >"$2" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "exit status $rc" >>"$2"
		return
	fi
	awk '/^RESULT / {
		v = ""; u = ""
		for (i = 2; i <= NF; i++) {
			k = $i; sub(/=.*/, "", k)
			x = $i; sub(/^[^=]*=/, "", x)
			if (k == "value") v = x
			if (k == "unit") u = x
		}
		if (v != "" && u != "") print v, u
		exit
	}' "$2"
}

# median of the numbers on stdin (one per line); nothing if none.
median() {
	sort -n | awk '{ a[NR] = $1 }
		END { if (NR == 0) exit
		      if (NR % 2) print a[(NR + 1) / 2]
		      else printf "%.6g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

printf 'workload\tunit\tringo\tgo\tratio\tbetter\ttarget\tmet\truns\n' >"$TSV"
notes=""

for w in $WORKLOADS; do
	rbin=$B/bench_$(bin_of "$w")
	gbin=$B/go_$(bin_of "$w")
	[ -x "$rbin" ] || rbin=
	[ -x "$gbin" ] || gbin=
	if [ -z "$rbin" ] && [ -z "$gbin" ]; then
		notes="$notes
- $w: skipped, neither bench_$(bin_of "$w") nor go_$(bin_of "$w") is built"
		echo "$w: skipped (no binaries)" >&2
		continue
	fi
	envs=$(wl_env "$w")
	args=""
	eval "args=\${BENCH_ARGS_$w:-}"
	rvals=""; gvals=""; runit=""; gunit=""; rfail=0; gfail=0
	i=1
	while [ "$i" -le "$RUNS" ]; do
		for side in ringo go; do
			if [ $side = ringo ]; then bin=$rbin; else bin=$gbin; fi
			[ -n "$bin" ] || continue
			log=$LOGS/$w.$side.$i.txt
			res=$(run_one "$bin" "$log" "$envs" "$args")
			if [ -z "$res" ]; then
				echo "$w: $side run $i FAILED (see $log):" >&2
				tail -n 5 "$log" | sed 's/^/    /' >&2
				if [ $side = ringo ]; then rfail=$((rfail + 1)); else gfail=$((gfail + 1)); fi
				failed=1
				continue
			fi
			# shellcheck disable=SC2086
			set -- $res
			if [ $side = ringo ]; then rvals="$rvals $1"; runit=$2
			else gvals="$gvals $1"; gunit=$2; fi
			printf '%s: run %d/%d %s %s %s\n' "$w" "$i" "$RUNS" $side "$1" "$2" >&2
		done
		i=$((i + 1))
	done
	# shellcheck disable=SC2086
	rmed=$(printf '%s\n' $rvals | grep . | median)
	# shellcheck disable=SC2086
	gmed=$(printf '%s\n' $gvals | grep . | median)
	unit=${gunit:-$runit}
	if [ -n "$runit" ] && [ -n "$gunit" ] && [ "$runit" != "$gunit" ]; then
		notes="$notes
- $w: units differ (ringo $runit, go $gunit); no ratio"
		rmed_r=""
	else
		rmed_r=$rmed
	fi
	case $unit in */s) better=higher ;; *) better=lower ;; esac
	tgt=$(target "$w")
	[ -n "$rbin" ] || notes="$notes
- $w: ringo missing (no $B/bench_$(bin_of "$w"))"
	[ -n "$gbin" ] || notes="$notes
- $w: Go peer missing (no $B/go_$(bin_of "$w"))"
	[ $rfail -eq 0 ] || notes="$notes
- $w: ringo failed $rfail of $RUNS runs (logs in $LOGS)"
	[ $gfail -eq 0 ] || notes="$notes
- $w: go failed $gfail of $RUNS runs (logs in $LOGS)"
	# A side that was built but never produced a figure shows as FAIL.
	rshow=${rmed:--}; gshow=${gmed:--}
	[ -z "$rbin" ] || [ -n "$rmed" ] || rshow=FAIL
	[ -z "$gbin" ] || [ -n "$gmed" ] || gshow=FAIL
	awk -v w="$w" -v u="${unit:--}" -v r="$rmed_r" -v g="$gmed" \
	    -v rr="$rshow" -v gg="$gshow" -v b="$better" -v t="$tgt" -v n="$RUNS" 'BEGIN {
		ratio = "-"; met = "-"
		if (r != "" && g != "" && g + 0 != 0) {
			ratio = sprintf("%.3g", r / g)
			if (t != "-") {
				op = substr(t, 1, 2); lim = substr(t, 3) + 0
				if (op == "<=") met = (r / g <= lim) ? "yes" : "no"
				else met = (r / g >= lim) ? "yes" : "no"
			}
		}
		printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", w, u, rr, gg,
			ratio, b, t, met, n
	}' >>"$TSV"
done

# Timers, limiters, pools (tests/bench/patterns.sh): rows appended to $TSV.
if [ -f "$HERE/patterns.sh" ]; then sh "$HERE/patterns.sh" "$BUILD" "$TSV" "$RUNS" || failed=1; fi
# Spawn and wait against os/exec and a raw vfork loop (tests/bench/exec.sh).
if [ -f "$HERE/exec.sh" ]; then sh "$HERE/exec.sh" "$BUILD" "$TSV" "$RUNS" || failed=1; fi

# The scheduler and channel workloads at 1 and 4 Ps (tests/bench/procs.sh):
# rows "buffered P=4" appended to $TSV.  BENCH_PROCS=0 skips them.
if [ "${BENCH_PROCS:-1}" != 0 ] && [ -f "$HERE/procs.sh" ]; then
	sh "$HERE/procs.sh" "$BUILD" "$TSV" "$RUNS" "1 4" >/dev/null || failed=1
fi

# ---- echo hook --------------------------------------------------------
# tests/bench/echo.sh (another script, another owner) measures the TCP echo
# servers and writes BUILD/bench/echo.tsv:
#   server conns size rps p50_us p99_us errors cpu_us_req cs_req
# Its output is kept as it is; its 64-byte rows become "echo c=N" rows here,
# ratio ringo/Go in requests/s (higher is better).
echo_out=""
if [ -f "$HERE/echo.sh" ] && [ "${BENCH_ECHO:-1}" != 0 ]; then
	echo "echo: running tests/bench/echo.sh $BUILD" >&2
	rm -f "$B/echo.tsv"  # echo.sh writes it anew; a stale one must not count
	sh "$HERE/echo.sh" "$BUILD" >"$LOGS/echo.txt" 2>&1 || {
		echo "echo.sh: exit status $?" >>"$LOGS/echo.txt"
		failed=1
	}
	echo_out=$(cat "$LOGS/echo.txt")
	if [ -f "$B/echo.tsv" ]; then
		awk -F'\t' -v t="$(target echo)" -v n="${ECHO_RUNS:-1}" '
		NR > 1 && $3 == 64 { rps[$1, $2] = $4; if (!($2 in seen)) { seen[$2] = 1; c[++nc] = $2 } }
		END {
			for (i = 1; i <= nc; i++) {
				r = rps["ringo", c[i]]; g = rps["go", c[i]]
				ratio = "-"; met = "-"
				if (r != "" && g != "" && g + 0 > 0) {
					ratio = sprintf("%.3g", r / g)
					met = (r / g >= substr(t, 3) + 0) ? "yes" : "no"
				}
				printf "echo c=%s\treq/s\t%s\t%s\t%s\thigher\t%s\t%s\t%s\n", c[i],
					(r == "" ? "-" : r), (g == "" ? "-" : g), ratio, t, met, n
			}
		}' "$B/echo.tsv" >>"$TSV"
	else
		echo "echo: echo.sh wrote no $B/echo.tsv; echo rows left out" >&2
	fi
fi

# The probes' cost while unattached (issue 11), in callgrind instructions:
# two lines, printed and in logs/probecost.txt.
if [ "${BENCH_PROBECOST:-1}" != 0 ]; then
	sh "$HERE/probecost.sh" "$BUILD" >"$LOGS/probecost.txt" 2>&1
	rc=$?
	grep '^probecost' "$LOGS/probecost.txt"
	[ $rc = 0 ] || [ $rc = 2 ] || failed=1
fi

# The tracer's cost (issue 11): its own script, output in logs/trace.txt.
[ "${BENCH_TRACE:-1}" = 0 ] || sh "$HERE/trace.sh" "$BUILD" >"$LOGS/trace.txt" 2>&1 || failed=1

# ---- tables -----------------------------------------------------------
# Plain-text table on stdout.
awk -F'\t' -v OFS='' '
function num(v) {
	if (v == "-") return "missing"
	if (v !~ /^[-+.0-9eE]+$/) return v
	if (v + 0 >= 1000) return sprintf("%.0f", v)
	return sprintf("%.1f", v)
}
function tg(t) { if (t == "-") return "-"; return substr(t, 1, 2) " " substr(t, 3) }
NR == 1 {
	printf "%-11s %10s %10s  %-9s %7s  %-7s %-7s %s\n", "workload", "ringo",
		"go", "unit", "ratio", "better", "target", "met?"
	printf "%-11s %10s %10s  %-9s %7s  %-7s %-7s %s\n", "--------", "-----",
		"--", "----", "-----", "------", "------", "----"
	next
}
{
	printf "%-11s %10s %10s  %-9s %7s  %-7s %-7s %s\n", $1, num($3), num($4),
		$2, $5, $6, tg($7), $8
}' "$TSV"
[ -z "$notes" ] || printf '\nnotes:%s\n' "$notes"
if [ -n "$echo_out" ]; then
	printf '\necho (tests/bench/echo.sh):\n%s\n' "$echo_out"
fi

# Markdown.
{
	echo "# ringo benchmark results"
	echo
	echo "Machine: $ncpu CPUs, $cpu, $mem, Linux $kernel."
	echo "Go: $gover. C compiler: $ccver. ringo: $rev. $when."
	echo
	echo "Median of $RUNS runs per side, ringo and Go runs alternating in one"
	echo "session on the same machine. ratio = ringo / Go: for ns/op, ns/sleep"
	echo "and bytes/g lower is better; for req/s higher is better. Targets are"
	echo "from design/BENCH.md."
	echo
	awk -F'\t' '
	function num(v) {
		if (v == "-") return "missing"
		if (v !~ /^[-+.0-9eE]+$/) return v
		if (v + 0 >= 1000) return sprintf("%.0f", v)
		return sprintf("%.1f", v)
	}
	function tg(t) {
		if (t == "-") return "-"
		return (substr(t, 1, 2) == "<=" ? "≤ " : "≥ ") substr(t, 3)
	}
	NR == 1 {
		print "| workload | ringo | Go | unit | ratio (ringo/Go) | better | target | met? |"
		print "|---|---:|---:|---|---:|---|---|---|"
		next
	}
	{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, num($3),
		num($4), $2, $5, $6, tg($7), $8 }' "$TSV"
	echo
	echo "![ratio per workload](results.svg)"
	if [ -n "$notes" ]; then
		echo
		echo "Notes:$notes"
	fi
	if [ -n "$echo_out" ]; then
		echo
		echo "## echo"
		echo
		echo '```'
		printf '%s\n' "$echo_out"
		echo '```'
	fi
} >"$MD"

[ "${BENCH_POOL:-1}" = 0 ] || { sh "$HERE/pool.sh" "$BUILD" && cat "$B/pool.md" >>"$MD"; } || failed=1 # ringo-pool vs net/http (wrk)
if sh "$HERE/chart.sh" "$TSV" "$SVG"; then
	echo
	echo "wrote $MD, $TSV, $SVG"
else
	echo "run.sh: chart.sh failed" >&2
	failed=1
	echo
	echo "wrote $MD, $TSV"
fi
exit $failed
