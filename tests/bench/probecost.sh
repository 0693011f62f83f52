#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/bench/probecost.sh [BUILD] — what the USDT probes cost while no
# tracer is attached (issue 11: within 1% of a -DRINGO_NO_PROBES build).
#
# Counts instructions with valgrind's callgrind, which on this shared
# 2-core machine (no hardware counters) is the only measure steady enough
# to resolve 1%: wall time moves by more than that between runs.
#
#   pingpong: bench_pingpong at RINGO_PROCS=1, -n N1 and -n N2; the slope
#             (I(N2) - I(N1)) / (N2 - N1) is instructions per round trip,
#             start-up and teardown cancel out.
#   echo:     ringo-echo --procs 1 under callgrind, driven by a client
#             that makes exactly R round trips of 64 bytes on one
#             connection (R1 and R2: the slope again), the server's
#             instructions per request, its idle round included: at one
#             connection the server sleeps in its ring once per request
#             (the count of idle rounds, callgrind's calls to
#             rg__ring_idle_wait, is printed with each run; a slope is
#             steady to 0.1% while that count tracks R).  The median of
#             PROBECOST_ECHO_RUNS (5) slopes per build, builds
#             alternating.  (Before the ring's sleep also submitted,
#             83825dd, a request found its completion already there in a
#             varying share of the rounds, single runs moved by 4%, and
#             this script fitted the idle rounds out instead.)
#
# Builds the variant in BUILD-noprobes (CFLAGS gets -DRINGO_NO_PROBES).
# Prints one line per workload and the ratio probes / no-probes; writes
# BUILD/bench/probecost.tsv.  Exit status 0, or 2 when valgrind or
# python3 is missing (the line says which).
set -u
LC_ALL=C
export LC_ALL

B=${1:-build}
NB=$B-noprobes
N1=${PROBECOST_N1:-20000}
N2=${PROBECOST_N2:-60000}
R1=${PROBECOST_R1:-2000}
R2=${PROBECOST_R2:-6000}
PORT=${PROBECOST_PORT:-7041}
ECHO_RUNS=${PROBECOST_ECHO_RUNS:-5}

command -v valgrind >/dev/null 2>&1 || { echo "probecost.sh: no valgrind; skipped" >&2; exit 2; }
command -v python3 >/dev/null 2>&1 || { echo "probecost.sh: no python3; skipped" >&2; exit 2; }

make -s --no-print-directory B="$B" "$B/bench/bench_pingpong" "$B/ringo-echo" >&2 || exit 1
make -s --no-print-directory B="$NB" CFLAGS="-O2 -g -Wall -Wextra -DRINGO_NO_PROBES" \
	"$NB/bench/bench_pingpong" "$NB/ringo-echo" >&2 || exit 1

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ringo-probecost.XXXXXX") || exit 1
SPID=""
cleanup() {
	[ -z "$SPID" ] || kill "$SPID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

collected() { awk '/Collected/ { print $4 }' "$1"; }

pp_instr() {  # BUILD N -> instructions of the whole run
	RINGO_PROCS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		"$1/bench/bench_pingpong" -n "$2" >/dev/null 2>"$TMP/vg"
	collected "$TMP/vg"
}

# The client: one connection, R round trips of 64 bytes, checked.
cat >"$TMP/client.py" <<'EOF'
import socket, sys, time
port, rounds, NCONN = int(sys.argv[1]), int(sys.argv[2]), 1
deadline = time.time() + 120
while True:
    try:
        probe = socket.create_connection(("127.0.0.1", port)); probe.close(); break
    except OSError:
        if time.time() > deadline: sys.exit("server never listened")
        time.sleep(0.05)
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(NCONN)]
msg = bytes(range(64))
for _ in range(rounds):
    for c in conns:
        c.sendall(msg)
    for c in conns:
        got = b""
        while len(got) < 64:
            part = c.recv(64 - len(got))
            if not part: sys.exit("server closed")
            got += part
        if got != msg: sys.exit("bad echo")
for c in conns:
    c.close()
EOF

# Calls to rg__ring_idle_wait in callgrind output file $1 (the server's
# idle rounds: the backend calls it through a pointer, never inlined).
cat >"$TMP/idle.py" <<'EOF'
import re, sys
names, cur, n = {}, None, 0
for line in open(sys.argv[1]):
    m = re.match(r'c?fn=\((\d+)\)(?: (.*))?', line)
    if m:
        if m.group(2):
            names[m.group(1)] = m.group(2).strip()
        cur = names.get(m.group(1), '') if line.startswith('cfn=') else None
    elif line.startswith('calls=') and cur == 'rg__ring_idle_wait':
        n += int(line[6:].split()[0])
        cur = None
print(n)
EOF

echo_run() {  # BUILD R -> "requests instructions idle_rounds"
	valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out" \
		"$1/ringo-echo" --procs 1 --grace 0 --addr 127.0.0.1:$PORT >/dev/null 2>"$TMP/vg" &
	SPID=$!
	python3 "$TMP/client.py" $PORT "$2" || { echo "probecost.sh: echo client failed" >&2; exit 1; }
	kill -INT $SPID; wait $SPID; SPID=""
	echo "$2 $(collected "$TMP/vg") $(python3 "$TMP/idle.py" "$TMP/cg.out")"
}

slope() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.1f", (b - a) / n }'; }

mkdir -p "$B/bench"
OUT=$B/bench/probecost.tsv
printf 'workload\tprobes\tno_probes\tunit\tratio\n' >"$OUT"

for b in "$B" "$NB"; do
	a=$(pp_instr "$b" "$N1"); z=$(pp_instr "$b" "$N2")
	echo "$(slope "$a" "$z" $((N2 - N1)))" >"$TMP/pingpong.$(basename "$b")"
done
# echo: ECHO_RUNS rounds, each a run at R1 and at R2 of either build.
i=0
while [ $i -lt "$ECHO_RUNS" ]; do
	for b in "$B" "$NB"; do
		set -- $(echo_run "$b" "$R1") $(echo_run "$b" "$R2")
		echo "probecost: echo run $(basename "$b"): R $1 -> $2 instructions, $3 idle rounds; R $4 -> $5, $6" >&2
		slope "$2" "$5" $(($4 - $1)) >>"$TMP/echoruns.$(basename "$b")"
		echo >>"$TMP/echoruns.$(basename "$b")"
	done
	i=$((i + 1))
done
for b in "$B" "$NB"; do
	sort -n "$TMP/echoruns.$(basename "$b")" | awk 'NF { a[++n] = $1 } END { print (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }' \
		>"$TMP/echo.$(basename "$b")"
	echo "probecost: echo slopes $(basename "$b"): $(tr '\n' ' ' <"$TMP/echoruns.$(basename "$b")")" >&2
done

for w in pingpong echo; do
	p=$(cat "$TMP/$w.$(basename "$B")"); n=$(cat "$TMP/$w.$(basename "$NB")")
	u="instr/round-trip"; [ $w = echo ] && u="server instr/request"
	r=$(awk -v p="$p" -v n="$n" 'BEGIN { printf "%.4f", p / n }')
	printf '%s\t%s\t%s\t%s\t%s\n' $w "$p" "$n" "$u" "$r" >>"$OUT"
	printf 'probecost %-8s %9s vs %9s %s (-DRINGO_NO_PROBES): ratio %s (%+.2f%%)\n' \
		$w "$p" "$n" "$u" "$r" "$(awk -v r="$r" 'BEGIN { print 100 * (r - 1) }')"
done
