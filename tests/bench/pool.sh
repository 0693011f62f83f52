#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/bench/pool.sh BUILD — ringo-pool against Go's net/http, under wrk.
#
# Both servers get the same limits (flags below), one at a time, on
# 127.0.0.1; wrk drives each point for POOL_SECS after POOL_WARMUP, the
# sides alternating (ringo, go, ringo, go, ...) POOL_RUNS times; the
# table shows medians of requests/s, of p99 latency (wrk --latency) and
# of the server's CPU time per request (utime+stime from /proc/PID/stat:
# the figure that noise from other processes disturbs least), and of
# wrk's own CPU time per request (the shell's children's times around
# the measured run): the two share the cores, so a server that makes
# its client work harder per request (one wake-up per response instead
# of one per batch) loses requests/s that its own figure does not show.
#
#   point          request                          connections
#   healthz c=64   GET /healthz                     64
#   healthz c=1000 GET /healthz                     1000
#   hash c=64      POST /v1/hash?rounds=100 (256 B)  64
#   sleep c=1000   GET /v1/sleep?ms=10              1000
#
# Limits on both: 1024 workers, queue 4096 (so that 1000 sleeps run at
# once and nothing is refused), 30 s timeout, a rate limit so high it
# never refuses (but every request still goes through the limiter),
# 20000 connections.  Targets (design/BENCH.md): requests/s >= 1.5x Go,
# p99 <= Go.
#
# Environment: POOL_SECS (default 4), POOL_WARMUP (1), POOL_RUNS (3),
# POOL_THREADS (wrk threads, 2), POOL_POINTS (names to run, default all),
# POOL_PROCS (ringo-pool --procs; default CPU count = Go's GOMAXPROCS).
#
# Writes BUILD/bench/pool.tsv and BUILD/bench/pool.md.  Exit status 0, or
# 1 if a server failed to start or a run had errors (the table is printed
# either way), 2 if wrk or a server binary is missing.
#
# wrk and the servers share this machine's CPUs: say so beside figures.

set -u
LC_ALL=C
export LC_ALL

B=${1:-build}
SECS=${POOL_SECS:-4}
WARMUP=${POOL_WARMUP:-1}
RUNS=${POOL_RUNS:-3}
THREADS=${POOL_THREADS:-2}
POINTS=${POOL_POINTS:-"healthz-64 healthz-1000 hash-64 sleep-1000"}
NCPU=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
PROCS=${POOL_PROCS:-$NCPU}
HOST=127.0.0.1
RPORT=18090
GPORT=18091
OUT=$B/bench
TSV=$OUT/pool.tsv
MD=$OUT/pool.md
RBIN=$B/ringo-pool
GBIN=$B/bench/go_pool
CLK=$(getconf CLK_TCK 2>/dev/null || echo 100)

command -v wrk >/dev/null 2>&1 || { echo "pool.sh: wrk not installed (scripts/deps.sh)" >&2; exit 2; }
for b in "$RBIN" "$GBIN"; do
	[ -x "$b" ] || { echo "pool.sh: $b not built (make bench)" >&2; exit 2; }
done
mkdir -p "$OUT" || exit 2
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ringo-pool-bench.XXXXXX") || exit 2
SPID=""
cleanup() {
	[ -n "$SPID" ] && kill -KILL "$SPID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cat >"$TMP/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = string.rep("ringo-pool benchmark body ", 10) .. "......"
wrk.headers["Content-Type"] = "application/octet-stream"
EOF

RFLAGS="--workers 1024 --queue 4096 --timeout 30s --rate 1000000000 --burst 1000000000 --max-conns 20000"
GFLAGS="-workers 1024 -queue 4096 -timeout 30s -rate 1000000000 -burst 1000000000 -max-conns 20000"

# cpu_ticks PID: utime + stime
cpu_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# child_ticks: cutime + cstime of this shell (its waited-for children)
child_ticks() {
	awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$$/stat" 2>/dev/null || echo 0
}

wait_up() {
	i=0
	while [ $i -lt 100 ]; do
		curl -s -o /dev/null "http://$HOST:$1/healthz" && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

start_server() { # side
	if [ "$1" = ringo ]; then
		# shellcheck disable=SC2086
		"$RBIN" --addr "$HOST:$RPORT" --procs "$PROCS" $RFLAGS >"$TMP/server.log" 2>&1 </dev/null &
		SPID=$!
		port=$RPORT
	else
		# shellcheck disable=SC2086
		"$GBIN" -addr "$HOST:$GPORT" $GFLAGS >"$TMP/server.log" 2>&1 </dev/null &
		SPID=$!
		port=$GPORT
	fi
	wait_up "$port"
}

stop_server() {
	[ -n "$SPID" ] || return 0
	kill -TERM "$SPID" 2>/dev/null
	( sleep 5; kill -KILL "$SPID" 2>/dev/null ) &
	w=$!
	wait "$SPID" 2>/dev/null
	kill "$w" 2>/dev/null
	wait "$w" 2>/dev/null
	SPID=""
}

# to_us VALUE: wrk's "1.23ms" / "456.78us" / "1.02s" -> microseconds
to_us() {
	echo "$1" | awk '{ v = $1 + 0
		if ($1 ~ /us$/) print v; else if ($1 ~ /ms$/) print v * 1000
		else if ($1 ~ /m$/) print v * 60e6; else if ($1 ~ /s$/) print v * 1e6; else print v }'
}

echo "pool benchmark: $NCPU CPUs, $(uname -sr); wrk -t$THREADS shares these CPUs with the server"
echo "  ${SECS}s measured after ${WARMUP}s warm-up per point, $RUNS run(s) per side, median shown"
RAW=$TMP/raw
: >"$RAW"
status=0

run_point() { # side point
	side=$1
	name=${2%-*}
	conns=${2##*-}
	case $name in
	healthz) path=/healthz; script="" ;;
	hash) path="/v1/hash?rounds=100"; script="-s $TMP/post.lua" ;;
	sleep) path="/v1/sleep?ms=10"; script="" ;;
	*) echo "pool.sh: unknown point $2" >&2; return 1 ;;
	esac
	if ! start_server "$side"; then
		echo "pool.sh: $side did not start:" >&2
		tail -n 5 "$TMP/server.log" >&2
		stop_server
		status=1
		return 1
	fi
	if [ "$side" = ringo ] && [ "$name" != healthz ] && grep -q 'no job pool' "$TMP/server.log"; then
		echo "  ringo $2: skipped (this ringo-pool was built without rg_pool: jobs answer 501)"
		stop_server
		return 0
	fi
	url="http://$HOST:$port$path"
	th=$THREADS
	[ "$th" -gt "$conns" ] && th=$conns
	# shellcheck disable=SC2086
	[ "$WARMUP" != 0 ] && wrk -t"$th" -c"$conns" -d"${WARMUP}s" $script "$url" >/dev/null 2>&1
	t0=$(cpu_ticks "$SPID")
	c0=$(child_ticks)
	# shellcheck disable=SC2086
	wrk -t"$th" -c"$conns" -d"${SECS}s" --timeout 10s --latency $script "$url" >"$TMP/wrk.out" 2>&1
	c1=$(child_ticks)
	t1=$(cpu_ticks "$SPID")
	stop_server
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$TMP/wrk.out")
	p99=$(awk '$1 == "99%" { print $2 }' "$TMP/wrk.out")
	n=$(awk '/requests in/ { print $1 }' "$TMP/wrk.out")
	non2xx=$(awk '/Non-2xx/ { print $NF }' "$TMP/wrk.out")
	sockerr=$(awk '/Socket errors/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$TMP/wrk.out")
	if [ -z "$rps" ] || [ -z "$p99" ]; then
		echo "pool.sh: no result from wrk for $side $2:" >&2
		tail -n 5 "$TMP/wrk.out" >&2
		status=1
		return 1
	fi
	errs=$(( ${non2xx:-0} + ${sockerr:-0} ))
	[ "$errs" -gt 0 ] && status=1
	per_req='BEGIN { if (n > 0) printf "%.2f", (b - a) / c * 1e6 / n; else print "-" }'
	cpu=$(awk -v a="$t0" -v b="$t1" -v n="${n:-0}" -v c="$CLK" "$per_req")
	wcpu=$(awk -v a="$c0" -v b="$c1" -v n="${n:-0}" -v c="$CLK" "$per_req")
	p99us=$(to_us "$p99")
	printf '  %-5s %-13s %10s req/s  p99 %9s us  cpu %6s us/req  wrk %6s us/req  errors %s\n' \
		"$side" "$2" "$rps" "$p99us" "$cpu" "$wcpu" "$errs"
	echo "$2 $side $rps $p99us $cpu $errs $wcpu" >>"$RAW"
}

r=1
while [ "$r" -le "$RUNS" ]; do
	for p in $POINTS; do
		run_point ringo "$p"
		run_point go "$p"
	done
	r=$((r + 1))
done

awk '
function med(s,   a, n, i, j, t) {
	n = split(s, a, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	k = $1 SUBSEP $2
	if (!($1 in seen)) { seen[$1] = 1; pts[++np] = $1 }
	rps[k] = rps[k] " " $3; p99[k] = p99[k] " " $4; cpu[k] = cpu[k] " " $5; err[k] += $6
	wcpu[k] = wcpu[k] " " $7
}
END {
	print "point\tside\trps\tp99_us\tcpu_us_per_req\terrors\twrk_cpu_us_per_req"
	for (i = 1; i <= np; i++)
		for (s = 0; s < 2; s++) {
			side = s ? "go" : "ringo"; k = pts[i] SUBSEP side
			if (!(k in rps)) continue
			printf "%s\t%s\t%.0f\t%.0f\t%s\t%d\t%s\n", pts[i], side, med(rps[k]), med(p99[k]),
				(cpu[k] ~ /-/ ? "-" : sprintf("%.2f", med(cpu[k]))), err[k],
				(wcpu[k] ~ /-/ ? "-" : sprintf("%.2f", med(wcpu[k])))
		}
}' "$RAW" >"$TSV"

{
	echo
	printf '%-14s %11s %11s %6s  %10s %10s %6s  %9s %9s  %9s %9s  %s\n' point "ringo req/s" \
		"go req/s" ratio "ringo p99" "go p99" "p99 ok" "ringo cpu" "go cpu" "wrk(ringo)" \
		"wrk(go)" "targets met"
	awk -F'\t' 'NR > 1 { v[$1, $2, "r"] = $3; v[$1, $2, "p"] = $4; v[$1, $2, "c"] = $5
			v[$1, $2, "w"] = $7
			if (!($1 in seen)) { seen[$1] = 1; pts[++n] = $1 } }
	END {
		for (i = 1; i <= n; i++) {
			p = pts[i]; rr = v[p, "ringo", "r"]; gr = v[p, "go", "r"]
			rp = v[p, "ringo", "p"]; gp = v[p, "go", "p"]
			sub(/-/, " c=", p)
			if (rr == "" || gr == "") {
				printf "%-14s %11s %11s %6s  %8s us %8s us %6s  %6s us %6s us  %6s us %6s us  %s\n",
					p, (rr == "" ? "-" : rr), (gr == "" ? "-" : gr), "-", (rp == "" ? "-" : rp),
					(gp == "" ? "-" : gp), "-", v[pts[i], "ringo", "c"], v[pts[i], "go", "c"],
					v[pts[i], "ringo", "w"], v[pts[i], "go", "w"], "no figure"
				continue
			}
			ratio = (gr > 0) ? rr / gr : 0
			pok = (rp + 0 <= gp + 0) ? "yes" : "no"
			met = (ratio >= 1.5 && pok == "yes") ? "yes" : "no"
			printf "%-14s %11s %11s %6.2f  %8s us %8s us %6s  %6s us %6s us  %6s us %6s us  %s\n",
				p, rr, gr, ratio, rp, gp, pok, v[pts[i], "ringo", "c"], v[pts[i], "go", "c"],
				v[pts[i], "ringo", "w"], v[pts[i], "go", "w"], met
		}
	}' "$TSV"
	echo "(cpu: the server process's user+system CPU time per request; wrk(side): wrk's own,"
	echo " against that side: the client shares the cores, so its cost per request counts too)"
} | tee "$MD.tmp"
{
	echo "## ringo-pool vs Go net/http (tests/bench/pool.sh)"
	echo
	echo '```'
	cat "$MD.tmp"
	echo '```'
} >"$MD"
rm -f "$MD.tmp"
echo "results: $TSV"
exit $status
