#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/bench/echo.sh BUILD — the echo benchmark, side by side.
#
# Starts each echo server it finds in BUILD (default: build), one at a time,
# on 127.0.0.1, drives it with BUILD/ringo-load (closed loop) for every
# connection count and message size below, stops it, and prints a table
# with req/s, p50, p99, the server's CPU time and context switches per
# request, and ringo's ratios to Go and to hand-written epoll.  Also writes
# BUILD/bench/echo.tsv (one row per server, conns and size).
#
# CPU per request is the server's user + system time (/proc/PID/stat) over
# the point, warmup included, divided by req/s x (ECHO_SECS + ECHO_WARMUP):
# the warmup runs at about the measured rate.  Context switches are the
# voluntary and involuntary ones of every server thread
# (/proc/PID/task/*/status), counted the same way: a server that wakes a
# second thread for every few requests shows it here.
#
#   server   binary                    port
#   ringo    BUILD/ringo-echo          7000   (--addr, --procs ECHO_PROCS)
#   epoll    BUILD/bench/echo_epoll    7001
#   uring    BUILD/bench/echo_uring    7002   (--addr, then ECHO_URING_ARGS)
#   go       BUILD/bench/go_echo       7003
#
# Environment:
#   ECHO_SECS          measured seconds per point (default 3; fractions ok)
#   ECHO_WARMUP        unmeasured seconds before each point (default 0.5)
#   ECHO_RUNS          runs per point; the table shows medians (default 1)
#   ECHO_CONNS         connection counts (default "1 64 512")
#   ECHO_SIZES         message sizes in bytes (default "64 4096")
#   ECHO_LOAD_THREADS  ringo-load threads (default 1)
#   ECHO_PROCS         ringo-echo --procs (default: the number of CPUs,
#                      which is also what Go's GOMAXPROCS defaults to)
#   ECHO_URING_ARGS    extra echo_uring options, split on blanks, e.g.
#                      "--recv single --setup coop" (default: none, the
#                      peer's own defaults; echo_uring --help lists them)
#
# Exit status: 0 if every server found ran clean; 1 if one failed to start
# or any run reported errors (the table is printed either way); 2 if the
# load generator is missing.
#
# POSIX sh + awk.  Servers are always stopped (trap), even on ^C.

set -u

B=${1:-build}
SECS=${ECHO_SECS:-3}
WARMUP=${ECHO_WARMUP:-0.5}
RUNS=${ECHO_RUNS:-1}
CONNS=${ECHO_CONNS:-"1 64 512"}
SIZES=${ECHO_SIZES:-"64 4096"}
LTHREADS=${ECHO_LOAD_THREADS:-1}
NCPU=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
PROCS=${ECHO_PROCS:-$NCPU}
HOST=127.0.0.1

LOAD=$B/ringo-load
OUT=$B/bench
TSV=$OUT/echo.tsv

if [ ! -x "$LOAD" ]; then
	echo "echo.sh: $LOAD not found: build the tools first (make tools)" >&2
	exit 2
fi
mkdir -p "$OUT" || exit 2

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ringo-echo.XXXXXX") || exit 2
SPID=""
WPID=""
LPID=""

stop_server() {
	[ -n "$SPID" ] || return 0
	kill -TERM "$SPID" 2>/dev/null
	# a watchdog for a server that ignores SIGTERM; it is itself killed
	# as soon as the server has been reaped
	( sleep 3; kill -KILL "$SPID" 2>/dev/null ) &
	WPID=$!
	wait "$SPID" 2>/dev/null
	kill "$WPID" 2>/dev/null
	wait "$WPID" 2>/dev/null
	SPID=""
	WPID=""
}

cleanup() {
	if [ -n "$LPID" ]; then
		kill -TERM "$LPID" 2>/dev/null
		wait "$LPID" 2>/dev/null
	fi
	stop_server
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# cpu_ticks PID: user + system time of the process, in clock ticks
cpu_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# ctx_switches PID: voluntary + involuntary switches of all its threads
ctx_switches() {
	cat /proc/"$1"/task/*/status 2>/dev/null |
		awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s + 0 }'
}

# probe PORT: 0 if something there accepts a connection (ringo-load exits
# 2 only when it cannot connect at all)
probe() {
	"$LOAD" --addr "$HOST:$1" -c 1 -d 0.05 --warmup 0 -q >/dev/null 2>&1
	[ $? -ne 2 ]
}

# wait_port PORT: up to 5 s for the server to accept
wait_port() {
	i=0
	while [ $i -lt 100 ]; do
		probe "$1" && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# server_def NAME: sets bin and port for that server
server_def() {
	case $1 in
	ringo)	bin=$B/ringo-echo;       port=7000 ;;
	epoll)	bin=$B/bench/echo_epoll; port=7001 ;;
	uring)	bin=$B/bench/echo_uring; port=7002 ;;
	go)	bin=$B/bench/go_echo;    port=7003 ;;
	esac
}

echo "echo benchmark: $NCPU CPUs, $(uname -sr)"
echo "  ringo-load ($LTHREADS thread) and each server share these CPUs;"
echo "  ${SECS}s measured after ${WARMUP}s warmup per point, $RUNS run(s), median shown"

RAW=$TMP/raw            # server conns size rps p50 p99 errors, one per run
: >"$RAW"
status=0
found=""

for name in ringo epoll uring go; do
	server_def "$name"
	case $name in
	ringo)	set -- --addr "$HOST:$port" --procs "$PROCS" ;;
	go)	set -- -addr "$HOST:$port" ;;
	# shellcheck disable=SC2086 # split on blanks on purpose
	uring)	set -- --addr "$HOST:$port" ${ECHO_URING_ARGS:-} ;;
	*)	set -- --addr "$HOST:$port" ;;
	esac
	if [ ! -x "$bin" ]; then
		if [ "$name" = ringo ]; then
			echo "echo.sh: $bin not built yet: running the peers only" >&2
		else
			echo "echo.sh: $bin not found, skipping $name" >&2
		fi
		continue
	fi
	if probe "$port"; then
		echo "echo.sh: something already listens on $HOST:$port, skipping $name" >&2
		status=1
		continue
	fi
	log=$OUT/echo-$name.log
	"$bin" "$@" >"$log" 2>&1 </dev/null &
	SPID=$!
	if ! wait_port "$port"; then
		echo "echo.sh: $name did not accept on $HOST:$port within 5 s; its log:" >&2
		tail -n 5 "$log" >&2
		stop_server
		status=1
		continue
	fi
	found="$found $name"
	r=1
	while [ "$r" -le "$RUNS" ]; do
		for c in $CONNS; do
			for s in $SIZES; do
				# in the background so that a signal interrupts
				# the wait at once (the trap then stops both)
				"$LOAD" --addr "$HOST:$port" -c "$c" -s "$s" \
					-d "$SECS" --warmup "$WARMUP" -t "$LTHREADS" \
					-l "$name" >"$TMP/out" 2>"$TMP/err" </dev/null &
				LPID=$!
				t0=$(cpu_ticks "$SPID"); x0=$(ctx_switches "$SPID")
				wait "$LPID"
				rc=$?
				LPID=""
				t1=$(cpu_ticks "$SPID"); x1=$(ctx_switches "$SPID")
				grep -v '^RESULT ' "$TMP/out" | sed 's/^/  /'
				sed 's/^/  /' "$TMP/err" >&2
				[ "$rc" -ne 0 ] && status=1
				line=$(grep '^RESULT ' "$TMP/out")
				if [ -z "$line" ]; then
					echo "echo.sh: no result from ringo-load (exit $rc)" >&2
					continue
				fi
				echo "$line" | awk -v n="$name" -v dt=$((t1 - t0)) -v dx=$((x1 - x0)) \
					-v tck="$TCK" -v secs="$SECS" -v warm="$WARMUP" '{
					for (i = 2; i <= NF; i++) {
						k = $i; sub(/=.*/, "", k)
						v = $i; sub(/^[^=]*=/, "", v)
						f[k] = v
					}
					req = f["rps"] * (secs + warm)
					cpu = req > 0 ? dt / tck * 1e6 / req : 0
					cs = req > 0 ? dx / req : 0
					print n, f["conns"], f["size"], f["rps"], \
					      f["p50_us"], f["p99_us"], f["errors"], cpu, cs
				}' >>"$RAW"
			done
		done
		r=$((r + 1))
	done
	stop_server
done

if [ -z "$found" ]; then
	echo "echo.sh: no echo server found in $B" >&2
	exit 1
fi

# Medians over runs (errors summed), in a fixed order: conns, size, server.
sort -k1,1 -k2,2n -k3,3n "$RAW" | awk '
	function med(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 2; i <= n; i++)        # insertion sort: n is tiny
			for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{
		k = $1 " " $2 " " $3
		if (!(k in rps)) { keys[++nk] = k }
		rps[k] = rps[k] " " $4; p50[k] = p50[k] " " $5
		p99[k] = p99[k] " " $6; err[k] += $7
		cpu[k] = cpu[k] " " $8; cs[k] = cs[k] " " $9
	}
	END {
		print "server\tconns\tsize\trps\tp50_us\tp99_us\terrors\tcpu_us_req\tcs_req"
		for (i = 1; i <= nk; i++) {
			k = keys[i]; split(k, f, " ")
			printf "%s\t%s\t%s\t%.0f\t%.1f\t%.1f\t%d\t%.2f\t%.3f\n", f[1], f[2], f[3],
			       med(rps[k]), med(p50[k]), med(p99[k]), err[k], med(cpu[k]), med(cs[k])
		}
	}' >"$TSV"

echo
awk -F '\t' '
	BEGIN { order["ringo"] = 1; order["epoll"] = 2; order["uring"] = 3; order["go"] = 4 }
	NR == 1 { next }
	{
		n++; srv[n] = $1; c[n] = $2; s[n] = $3; r[n] = $4
		p50[n] = $5; p99[n] = $6; e[n] = $7; cpu[n] = $8; csw[n] = $9
		rps[$1, $2, $3] = $4
		if (!(($2, $3) in seen)) { seen[$2, $3] = 1; grp[++ng] = $2 SUBSEP $3 }
	}
	function ratio(a, b) {
		return (a == "" || b == "" || b + 0 == 0) ? "-" : sprintf("%.2f", a / b)
	}
	END {
		fmt = "%-6s %6s %6s %10s %10s %10s %11s %7s %9s %12s\n"
		printf fmt, "server", "conns", "size", "req/s", "p50 us", "p99 us", \
		       "cpu us/req", "cs/req", "ringo/go", "ringo/epoll"
		for (g = 1; g <= ng; g++) {
			split(grp[g], cs, SUBSEP)
			for (o = 1; o <= 4; o++)
				for (i = 1; i <= n; i++) {
					if (c[i] != cs[1] || s[i] != cs[2] || order[srv[i]] != o)
						continue
					rg = re = "-"
					if (srv[i] == "ringo") {
						rg = ratio(r[i], rps["go", c[i], s[i]])
						re = ratio(r[i], rps["epoll", c[i], s[i]])
					}
					printf fmt, srv[i], c[i], s[i], r[i], p50[i], p99[i], \
					       cpu[i], csw[i], rg, re
					if (e[i] > 0)
						printf "       ^ %d errors in this point\n", e[i]
				}
		}
	}' "$TSV"

case "$found " in
*" ringo "*) ;;
*) echo "(build/ringo-echo missing: peers only, no ringo ratios)" ;;
esac
echo "results: $TSV"
exit $status
