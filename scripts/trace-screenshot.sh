#!/bin/sh
# SPDX-License-Identifier: MIT
# scripts/trace-screenshot.sh [BUILD] — the pictures in the README's
# ringo-trace section, made from the echo server under load:
#   docs/img/ringo-trace-top.png          `ringo-trace top` in a terminal
#                                         (tmux, captured with its colours
#                                         and drawn as SVG, then PNG)
#   docs/img/ringo-trace-echo-flame.svg   `ringo-trace profile --svg`
# Needs root (BPF), tmux, python3 and rsvg-convert (librsvg2-bin: installed
# here if missing).  Only these two files are committed.
set -eu
B=${1:-build}
PORT=7050
OUT=docs/img
mkdir -p "$OUT"
for t in "$B/ringo-trace" "$B/ringo-echo" "$B/ringo-load"; do
	[ -x "$t" ] || { echo "trace-screenshot: build first ($t missing)" >&2; exit 1; }
done
command -v rsvg-convert >/dev/null 2>&1 ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends librsvg2-bin >&2
command -v tmux >/dev/null 2>&1 ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tmux >&2

TMP=$(mktemp -d)
SPID=""; LPID=""
cleanup() {
	tmux kill-session -t ringo-trace-shot 2>/dev/null || true
	[ -z "$LPID" ] || kill "$LPID" 2>/dev/null || true
	[ -z "$SPID" ] || kill "$SPID" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

"$B/ringo-echo" --addr 127.0.0.1:$PORT >/dev/null 2>&1 &
SPID=$!
i=0
until "$B/ringo-load" -a 127.0.0.1:$PORT -c 1 -d 0.05 --warmup 0 -q >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "echo server did not start" >&2; exit 1; }
done
"$B/ringo-load" -a 127.0.0.1:$PORT -c 64 -s 64 -d 40 --warmup 0 -q >/dev/null 2>&1 &
LPID=$!

# The flame graph first (5 s of samples at 499 Hz).
"$B/ringo-trace" profile -p $SPID -d 5 -F 499 --svg "$OUT/ringo-trace-echo-flame.svg" >/dev/null

# top in a 100x34 terminal; capture after a few intervals.
tmux new-session -d -s ringo-trace-shot -x 100 -y 34 "$B/ringo-trace top -p $SPID -i 1"
sleep 4.5
tmux capture-pane -t ringo-trace-shot -e -p >"$TMP/top.ansi"
tmux kill-session -t ringo-trace-shot

# ANSI (SGR colours, bold, reverse) -> SVG text on a dark terminal.
python3 - "$TMP/top.ansi" "$TMP/top.svg" <<'PY'
import re, sys, html
lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().rstrip("\n").split("\n")
cw, lh, pad = 8.4, 18, 12
cols = max(100, max((len(re.sub(r"\x1b\[[0-9;]*m", "", l)) for l in lines), default=0))
pal = {30: "#2e3436", 31: "#ef2929", 32: "#8ae234", 33: "#fce94f", 34: "#729fcf",
       35: "#ad7fa8", 36: "#34e2e2", 37: "#eeeeec"}
fg0, bg0 = "#d3d7cf", "#1e1e1e"
out = []
w, h = cols * cw + 2 * pad, len(lines) * lh + 2 * pad + 24
out.append(f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}">')
out.append(f'<rect width="100%" height="100%" rx="8" fill="{bg0}"/>')
for i, c in enumerate(("#ff5f56", "#ffbd2e", "#27c93f")):
    out.append(f'<circle cx="{pad + 8 + i * 20}" cy="{pad}" r="6" fill="{c}"/>')
for row, line in enumerate(lines):
    y = pad + 24 + row * lh
    col, bold, rev, fg = 0, False, False, None
    for part in re.split(r"(\x1b\[[0-9;]*m)", line):
        m = re.match(r"\x1b\[([0-9;]*)m", part)
        if m:
            for code in [int(x) if x else 0 for x in m.group(1).split(";")]:
                if code == 0: bold, rev, fg = False, False, None
                elif code == 1: bold = True
                elif code == 7: rev = True
                elif code == 27: rev = False
                elif code in pal: fg = pal[code]
                elif code == 39: fg = None
            continue
        if not part:
            continue
        x = pad + col * cw
        f = fg or fg0
        if rev:
            out.append(f'<rect x="{x:.1f}" y="{y - lh + 5}" width="{len(part) * cw:.1f}" height="{lh}" fill="{f}"/>')
            f = bg0
        wt = ' font-weight="bold"' if bold else ""
        out.append(f'<text x="{x:.1f}" y="{y}" fill="{f}"{wt} xml:space="preserve">{html.escape(part)}</text>')
        col += len(part)
out.append("</svg>")
svg = "\n".join(out).replace("<svg ", '<svg font-family="DejaVu Sans Mono, monospace" font-size="14" ', 1)
open(sys.argv[2], "w").write(svg)
PY
rsvg-convert "$TMP/top.svg" -o "$OUT/ringo-trace-top.png"
echo "wrote $OUT/ringo-trace-top.png and $OUT/ringo-trace-echo-flame.svg"
