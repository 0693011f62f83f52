#!/bin/sh
# SPDX-License-Identifier: MIT
# Draws the ratios of a results table as a horizontal bar chart in SVG.
#
#   tests/bench/chart.sh BUILD/bench/results.tsv BUILD/bench/results.svg
#
# Input: the TSV that run.sh writes, with a header line and the columns
#   workload unit ringo go ratio better target met runs
# ("-" where a field has no value; target like "<=0.2" or ">=1.5").
# One bar per workload, length = ratio (ringo / Go), green when the target
# is met, red when it is not, grey when there is none. A vertical line marks
# 1.0 (parity with Go) across the chart; a short dark line across each bar's
# row marks that workload's target. Bars past the right edge are cut and
# carry their value. Workloads without a ratio are listed, greyed.
set -eu
LC_ALL=C
export LC_ALL

if [ $# -ne 2 ]; then
	echo "usage: $0 RESULTS.tsv OUT.svg" >&2
	exit 2
fi
[ -r "$1" ] || { echo "chart.sh: cannot read $1" >&2; exit 2; }

awk -F'\t' '
function esc(s) {
	gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s)
	return s
}
function x(v) { return L + PW * (v > XMAX ? XMAX : v) / XMAX }
function tgtxt(t) { return (substr(t, 1, 2) == "<=" ? "\342\211\244 " : "\342\211\245 ") substr(t, 3) }
NR == 1 { next }
$1 != "" {
	n++
	name[n] = $1; unit[n] = $2; r[n] = $3; g[n] = $4; ratio[n] = $5
	better[n] = $6; tgt[n] = $7; met[n] = $8
	if (runs == "") runs = $9
	if (ratio[n] != "-" && ratio[n] + 0 > maxv) maxv = ratio[n] + 0
	if (tgt[n] != "-" && substr(tgt[n], 3) + 0 > maxv) maxv = substr(tgt[n], 3) + 0
}
END {
	if (maxv < 1) maxv = 1
	top = maxv * 1.12
	# The scale stops at 4, or just past the largest target if that is
	# higher: one very slow workload must not flatten all the others.
	cap = 4
	for (i = 1; i <= n; i++)
		if (tgt[i] != "-" && substr(tgt[i], 3) * 1.12 > cap) cap = substr(tgt[i], 3) * 1.12
	if (top > cap) top = cap
	# Tick step: the smallest "nice" step giving at most 8 intervals.
	split("0.1 0.2 0.25 0.5 1 2 5 10", steps, " ")
	for (s = 1; s <= 8; s++) { step = steps[s] + 0; if (top / step <= 8) break }
	XMAX = step * int(top / step + 0.999)

	W = 830; L = 150; PW = 420; RH = 38; TOP = 78
	H = TOP + (n > 0 ? n : 1) * RH + 70
	font = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\""

	printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" %s font-size=\"13\">\n", W, H, W, H, font
	printf "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
	printf "<text x=\"20\" y=\"26\" font-size=\"17\" font-weight=\"bold\" fill=\"#222\">ringo vs Go: ratio ringo / Go, same machine, same run</text>\n"
	printf "<text x=\"20\" y=\"46\" font-size=\"12\" fill=\"#555\">median of %s runs per side; lower is better (time, memory) except where marked \342\206\221 (throughput)</text>\n", (runs == "" ? "?" : runs)

	y0 = TOP; y1 = TOP + (n > 0 ? n : 1) * RH
	# grid and axis labels
	for (v = 0; v <= XMAX + step / 2; v += step) {
		gx = x(v)
		printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e6e6e6\"/>\n", gx, y0, gx, y1
		printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\" fill=\"#666\">%g</text>\n", gx, y1 + 16, v
	}
	printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>\n", L, y0, L, y1
	printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\" fill=\"#666\">ringo / Go</text>\n", L + PW / 2, y1 + 32

	for (i = 1; i <= n; i++) {
		yt = TOP + (i - 1) * RH
		by = yt + 12; bh = RH - 18
		cy = by + bh / 2 + 4
		label = esc(name[i]) (better[i] == "higher" ? " \342\206\221" : "")
		printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#222\">%s</text>\n", L - 10, cy, label
		printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\" fill=\"#888\">%s</text>\n", L - 10, cy + 12, esc(unit[i])
		if (ratio[i] == "-") {
			why = (r[i] == "FAIL") ? "ringo failed" : (g[i] == "FAIL") ? "Go peer failed" : \
			      (r[i] == "-") ? "ringo missing" : (g[i] == "-") ? "Go peer missing" : "no ratio"
			printf "<text x=\"%d\" y=\"%.1f\" font-style=\"italic\" fill=\"#999\">%s</text>\n", L + PW + 12, cy, why
		} else {
			v = ratio[i] + 0
			col = (met[i] == "yes") ? "#2e8b57" : (met[i] == "no") ? "#d0453f" : "#7f8fa6"
			bw = x(v) - L; if (bw < 1) bw = 1
			printf "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" rx=\"2\" fill=\"%s\"/>\n", L, by, bw, bh, col
			txt = "<tspan font-weight=\"bold\">" ratio[i] (v > XMAX ? " \342\206\222" : "") "</tspan>"
			if (tgt[i] != "-")
				txt = txt "<tspan dx=\"8\" fill=\"#666\">\302\267 target " tgtxt(tgt[i]) ": " (met[i] == "yes" ? "met" : "missed") "</tspan>"
			printf "<text x=\"%d\" y=\"%.1f\" fill=\"#222\">%s</text>\n", L + PW + 12, cy, txt
		}
		# the target, over the bar
		if (tgt[i] != "-") {
			tx = x(substr(tgt[i], 3) + 0)
			printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#111\" stroke-width=\"2.5\"/>\n", tx, by - 5, tx, by + bh + 3
			printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"9\" fill=\"#111\">%s</text>\n", tx, by - 6, tgtxt(tgt[i])
		}
	}
	if (n == 0)
		printf "<text x=\"%d\" y=\"%d\" fill=\"#999\">no results</text>\n", L + 8, TOP + 22

	# parity line, drawn last so that it stays visible over the bars
	px = x(1)
	printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333\" stroke-width=\"1.5\" stroke-dasharray=\"5,3\"/>\n", px, y0 - 8, px, y1
	printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\" fill=\"#333\">1.0 = Go</text>\n", px, y0 - 12

	# legend
	ly = H - 16
	printf "<rect x=\"20\" y=\"%d\" width=\"12\" height=\"12\" fill=\"#2e8b57\"/><text x=\"38\" y=\"%d\" font-size=\"11\" fill=\"#444\">target met</text>\n", ly - 10, ly
	printf "<rect x=\"120\" y=\"%d\" width=\"12\" height=\"12\" fill=\"#d0453f\"/><text x=\"138\" y=\"%d\" font-size=\"11\" fill=\"#444\">target missed</text>\n", ly - 10, ly
	printf "<rect x=\"235\" y=\"%d\" width=\"12\" height=\"12\" fill=\"#7f8fa6\"/><text x=\"253\" y=\"%d\" font-size=\"11\" fill=\"#444\">no target</text>\n", ly - 10, ly
	printf "<line x1=\"330\" y1=\"%d\" x2=\"330\" y2=\"%d\" stroke=\"#111\" stroke-width=\"2.5\"/><text x=\"338\" y=\"%d\" font-size=\"11\" fill=\"#444\">target (design/BENCH.md)</text>\n", ly - 11, ly + 2, ly
	printf "<line x1=\"500\" y1=\"%d\" x2=\"500\" y2=\"%d\" stroke=\"#333\" stroke-width=\"1.5\" stroke-dasharray=\"5,3\"/><text x=\"508\" y=\"%d\" font-size=\"11\" fill=\"#444\">parity with Go</text>\n", ly - 11, ly + 2, ly
	printf "</svg>\n"
}' "$1" >"$2.tmp"
mv "$2.tmp" "$2"
