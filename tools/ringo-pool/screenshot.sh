#!/bin/sh
# SPDX-License-Identifier: MIT
# tools/ringo-pool/screenshot.sh [BUILD] [OUT.png]
#
# Makes the README's picture of ringo-pool's status page: starts the
# server on a free port with small limits, puts load on it (wrk: health
# checks, hash and sleep jobs, some that the queue turns away), and has
# headless Chromium screenshot / while the load runs.  Defaults:
# BUILD=build, OUT=tools/ringo-pool/status.png.  Needs chromium, wrk and
# curl (scripts/deps.sh).
set -eu
B=${1:-build}
OUT=${2:-tools/ringo-pool/status.png}
PORT=${PORT:-18099}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ringo-pool-shot.XXXXXX")
SPID=""
cleanup() {
	[ -n "$SPID" ] && kill -TERM "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	for p in $LOADS; do kill "$p" 2>/dev/null || true; done
	rm -rf "$TMP"
}
LOADS=""
trap cleanup EXIT

"$B/ringo-pool" --addr 127.0.0.1:$PORT --workers 8 --queue 16 --rate 400 --burst 100 \
	--root . >"$TMP/server.log" 2>&1 &
SPID=$!
i=0
until curl -s -o /dev/null http://127.0.0.1:$PORT/healthz; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat "$TMP/server.log"; exit 1; }
	sleep 0.05
done

cat >"$TMP/hash.lua" <<'EOF'
wrk.method = "POST"
wrk.body = string.rep("x", 512)
EOF
U=http://127.0.0.1:$PORT
wrk -t1 -c4 -d20s "$U/healthz" >/dev/null 2>&1 & LOADS="$LOADS $!"
wrk -t1 -c4 -d20s -s "$TMP/hash.lua" "$U/v1/hash?rounds=20000" >/dev/null 2>&1 & LOADS="$LOADS $!"
wrk -t1 -c14 -d20s "$U/v1/sleep?ms=200" >/dev/null 2>&1 & LOADS="$LOADS $!"
( for _ in $(seq 40); do curl -s -o /dev/null "$U/v1/files/README.md"; curl -s -o /dev/null "$U/v1/files/..%2fetc%2fpasswd"; sleep 0.1; done ) & LOADS="$LOADS $!"
sleep 3

chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
	--disable-component-update --disable-sync --disable-dev-shm-usage --hide-scrollbars \
	--user-data-dir="$TMP/profile" --window-size=1100,820 --virtual-time-budget=60000 \
	--screenshot="$TMP/shot.png" "$U/" >"$TMP/chromium.log" 2>&1 || {
	echo "screenshot.sh: chromium failed:" >&2; tail -5 "$TMP/chromium.log" >&2; exit 1; }
cp "$TMP/shot.png" "$OUT"
echo "wrote $OUT"
