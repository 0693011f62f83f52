# SPDX-License-Identifier: MIT
# Shared by the bench scripts (sourced, not run): reading a RESULT line
# and taking a median.

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

median() {  # median < numbers, one per line
	sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) exit
		if (NR % 2) print a[(NR + 1) / 2]; else printf "%.6g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
