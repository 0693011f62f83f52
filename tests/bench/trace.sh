#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/bench/trace.sh BUILD — what tracing costs (issue 11).
#
#  1. Probes compiled in but not attached, against a build without them
#     (-DRINGO_NO_PROBES, made here in BUILD-noprobes): pingpong ns/op and
#     echo requests/s, runs alternating, medians.  Target: within 1%.
#  2. Attached: the same workloads while ringo-trace top, block and
#     record watch them; the throughput lost against the untraced run.
#     Target: echo loses <= 10% under top.
#  3. The cost of one uprobe hit on this kernel: bench_switch (two
#     goroutines yielding on one P: exactly one go_yield and one go_resume
#     hit per switch) under `ringo-trace runqlat`, which attaches both:
#     (ns/switch traced - ns/switch untraced) / 2.
#
# (Shell functions share variables: loop counters in functions are w, k;
# the main loops use i.)
#
# Writes BUILD/bench/trace.tsv (what, build, view, value, unit) and prints
# a table.  Environment: TRACE_RUNS (default 3), TRACE_ECHO_SECS (default
# 3), TRACE_PP_N (pingpong round trips, default 2000000).
#
# The load generator, the server, the tracer and (on this shared machine)
# everyone else share the same CPUs: ratios measured in one run are what
# counts, absolute figures are not.  Wrap in `flock /tmp/ringo-bench.lock`.
set -u
LC_ALL=C
export LC_ALL

B=${1:-build}
NB=$B-noprobes
RUNS=${TRACE_RUNS:-3}
SECS=${TRACE_ECHO_SECS:-3}
PPN=${TRACE_PP_N:-2000000}
TOOL=$B/ringo-trace
OUT=$B/bench/trace.tsv
PORT=7040

if [ ! -x "$TOOL" ]; then
	echo "trace.sh: $TOOL not built (make trace); skipped" >&2
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "trace.sh: needs root for BPF; skipped" >&2
	exit 0
fi
echo "trace.sh: building the -DRINGO_NO_PROBES variant in $NB" >&2
make -s --no-print-directory B="$NB" CFLAGS="-O2 -g -Wall -Wextra -DRINGO_NO_PROBES" \
	"$NB/bench/bench_pingpong" "$NB/bench/bench_switch" "$NB/ringo-echo" >&2 || exit 1

mkdir -p "$B/bench"
printf 'what\tbuild\tview\tvalue\tunit\n' >"$OUT"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ringo-tracebench.XXXXXX") || exit 1
SPID=""
TPID=""
cleanup() {
	[ -z "$TPID" ] || kill "$TPID" 2>/dev/null
	[ -z "$SPID" ] || kill "$SPID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

value() { awk '/^RESULT / { for (i = 2; i <= NF; i++) if ($i ~ /^value=/) { sub(/value=/, "", $i); print $i } }'; }
rps() { awk '/^RESULT / { for (i = 2; i <= NF; i++) if ($i ~ /^rps=/) { sub(/rps=/, "", $i); print $i } }'; }
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
row() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$OUT"; }

# pingpong BUILD VIEW -> ns/op (VIEW: none, top, block, record)
pingpong() {
	bin=$1/bench/bench_pingpong
	case $2 in
	none) "$bin" -n "$PPN" | value ;;
	top) "$TOOL" top -c "$bin -n $PPN" -i 0.2 --json 2>/dev/null | value ;;
	record) "$TOOL" record -c "$bin -n $((PPN / 20))" -o "$TMP/r.json" 2>/dev/null | value ;;
	*) "$TOOL" "$2" -c "$bin -n $((PPN / 20))" 2>/dev/null | value ;;
	esac
}

# echo BUILD VIEW -> requests/s (c=64, 64 bytes)
echo_rps() {
	"$1/ringo-echo" --addr 127.0.0.1:$PORT >/dev/null 2>&1 &
	SPID=$!
	w=0
	while ! "$B/ringo-load" -a 127.0.0.1:$PORT -c 1 -d 0.05 --warmup 0 -q >/dev/null 2>&1; do
		w=$((w + 1)); [ $w -lt 100 ] || break
	done
	case $2 in
	none) ;;
	top) "$TOOL" top -p $SPID -i 0.5 --json >/dev/null 2>&1 & TPID=$! ;;
	record) "$TOOL" record -p $SPID -d "$((SECS + 2))" -o "$TMP/e.json" >/dev/null 2>&1 & TPID=$! ;;
	*) "$TOOL" "$2" -p $SPID -d "$((SECS + 2))" >/dev/null 2>&1 & TPID=$! ;;
	esac
	# wait until the tracer is attached: its probes' semaphores are up
	if [ "$2" != none ] && [ "$2" != top ]; then
		w=0
		while [ $w -lt 200 ] && ! "$TOOL" list $SPID 2>/dev/null | awk 'NR > 2 && $3 > 0 { f = 1 } END { exit !f }'; do
			w=$((w + 1)); sleep 0.05
		done
	fi
	"$B/ringo-load" -a 127.0.0.1:$PORT -c 64 -s 64 -d "$SECS" --warmup 0.5 -q | rps
	# top's own CPU time (ticks of 10 ms) while it watched
	[ "$2" != top ] || awk '{ print $14 + $15 }' /proc/$TPID/stat >>"$TMP/topcpu" 2>/dev/null
	[ -z "$TPID" ] || { kill -INT $TPID 2>/dev/null; wait $TPID 2>/dev/null; TPID=""; }
	kill $SPID 2>/dev/null; wait $SPID 2>/dev/null; SPID=""
}

# switch BUILD [runqlat] -> ns/switch
switch_ns() {
	if [ "${2:-}" = runqlat ]; then
		RINGO_PROCS=1 "$TOOL" runqlat -c "$1/bench/bench_switch -n 200000" 2>/dev/null | value
	else
		RINGO_PROCS=1 "$1/bench/bench_switch" -n 2000000 | value
	fi
}

echo "machine: $(nproc) CPUs, Linux $(uname -r); runs per point: $RUNS (median)"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)"

# ---- 1. unattached, probes vs none -------------------------------------
for w in pingpong echo; do
	for b in "$B" "$NB"; do : >"$TMP/$w.$(basename "$b")"; done
	i=0
	while [ $i -lt "$RUNS" ]; do
		for b in "$B" "$NB"; do
			if [ $w = pingpong ]; then v=$(pingpong "$b" none); else v=$(echo_rps "$b" none); fi
			echo "$v" >>"$TMP/$w.$(basename "$b")"
			echo "unattached $w $(basename "$b") run $((i + 1)): $v" >&2
		done
		i=$((i + 1))
	done
	for b in "$B" "$NB"; do
		m=$(median <"$TMP/$w.$(basename "$b")")
		u=ns/op; [ $w = echo ] && u=req/s
		row "$w" "$(basename "$b")" none "$m" $u
	done
done

# ---- 1b. unattached, in instructions (valgrind's callgrind) -------------
# Wall time on a shared 2-core machine moves by tens of percent between
# runs; the instructions of a pingpong round trip do not.  Slope between
# two run lengths, so that start-up cancels out.
if command -v valgrind >/dev/null 2>&1; then
	for b in "$B" "$NB"; do
		i1=$(RINGO_PROCS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
			"$b/bench/bench_pingpong" -n 20000 2>&1 | awk '/Collected/ { print $4 }')
		i2=$(RINGO_PROCS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
			"$b/bench/bench_pingpong" -n 60000 2>&1 | awk '/Collected/ { print $4 }')
		row pingpong-instr "$(basename "$b")" none "$(( (i2 - i1) / 40000 ))" instr/op
	done
fi

# ---- 2. attached --------------------------------------------------------
# Each run measures the untraced baseline and every view back to back, so
# that they share the machine's load of the moment.
VIEWS="none top block record"
for view in $VIEWS; do : >"$TMP/pp.$view"; : >"$TMP/echo.$view"; done
i=0
while [ $i -lt "$RUNS" ]; do
	for view in $VIEWS; do
		pingpong "$B" $view >>"$TMP/pp.$view"
		echo_rps "$B" $view >>"$TMP/echo.$view"
		echo "attached $view run $((i + 1)): pingpong $(tail -n 1 "$TMP/pp.$view") ns/op, echo $(tail -n 1 "$TMP/echo.$view") req/s" >&2
	done
	i=$((i + 1))
done
for view in $VIEWS; do
	row pingpong "$(basename "$B")" "attached-$view" "$(median <"$TMP/pp.$view")" ns/op
	row echo "$(basename "$B")" "attached-$view" "$(median <"$TMP/echo.$view")" req/s
done

[ -s "$TMP/topcpu" ] && row top-cpu "$(basename "$B")" top \
	"$(median <"$TMP/topcpu" | awk -v s="$SECS" '{ printf "%.2f", $1 / (s + 0.5) }')" "%cpu"

# ---- 3. one uprobe hit --------------------------------------------------
: >"$TMP/sw.none"; : >"$TMP/sw.rq"
i=0
while [ $i -lt "$RUNS" ]; do
	switch_ns "$B" >>"$TMP/sw.none"
	switch_ns "$B" runqlat >>"$TMP/sw.rq"
	i=$((i + 1))
done
row switch "$(basename "$B")" none "$(median <"$TMP/sw.none")" ns/op
row switch "$(basename "$B")" runqlat "$(median <"$TMP/sw.rq")" ns/op

# ---- table ----------------------------------------------------------------
awk -F'\t' -v pb="$(basename "$B")" -v nb="$(basename "$NB")" '
NR > 1 { v[$1, $2, $3] = $4 }
function pct(a, b) { return (b > 0) ? sprintf("%+.1f%%", 100 * (a - b) / b) : "-" }
END {
	pp = v["pingpong", pb, "none"]; ppn = v["pingpong", nb, "none"]
	e = v["echo", pb, "none"]; en = v["echo", nb, "none"]
	app = v["pingpong", pb, "attached-none"]; ae = v["echo", pb, "attached-none"]
	printf "\nunattached (probes compiled in vs -DRINGO_NO_PROBES; target within 1%%):\n"
	printf "  pingpong  %8.1f ns/op vs %8.1f ns/op   %s\n", pp, ppn, pct(pp, ppn)
	printf "  echo c=64 %8.0f req/s vs %8.0f req/s   %s\n", e, en, pct(e, en)
	ip = v["pingpong-instr", pb, "none"]; ipn = v["pingpong-instr", nb, "none"]
	if (ip != "")
		printf "  pingpong  %8d instructions/op vs %8d   %s (callgrind, RINGO_PROCS=1)\n", ip, ipn, pct(ip, ipn)
	printf "\nattached (throughput lost against the untraced run; target: echo <= 10%% under top):\n"
	printf "  %-8s %14s %8s %14s %8s\n", "view", "pingpong ns/op", "lost", "echo req/s", "lost"
	n = split("none top block record", vs, " ")
	for (i = 1; i <= n; i++) {
		a = v["pingpong", pb, "attached-" vs[i]]; r = v["echo", pb, "attached-" vs[i]]
		lp = (a > 0) ? sprintf("%.1f%%", 100 * (1 - app / a)) : "-"
		le = (ae > 0) ? sprintf("%.1f%%", 100 * (1 - r / ae)) : "-"
		printf "  %-8s %14.1f %8s %14.0f %8s\n", vs[i], a, lp, r, le
	}
	if (v["top-cpu", pb, "top"] != "")
		printf "  (ringo-trace top itself used %.1f%% of one CPU while watching echo)\n", v["top-cpu", pb, "top"]
	s0 = v["switch", pb, "none"]; s1 = v["switch", pb, "runqlat"]
	printf "\nuprobe hit: switch %.1f ns untraced, %.1f ns with go_yield+go_resume attached: %.0f ns per hit\n", s0, s1, (s1 - s0) / 2
}' "$OUT"
echo
echo "wrote $OUT"
