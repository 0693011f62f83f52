#!/bin/sh
# SPDX-License-Identifier: MIT
# The public API, the symbol map and the library agree (make check).
#
#   declared   every function declared extern in include/ (the compiler
#              lists them: gcc -aux-info), read through <ringo.h>
#   exported   every symbol libringo.so exports, with its version node
#   map        the nodes of runtime/ringo.map
#
# Fails when a declared function is not exported (missing from the map,
# or not RG_API), when the library exports a symbol no public header
# declares, when a public function is not named rg_*, when an exported
# symbol has no version node, or when the newest node is not the one of
# include/ringo/version.h (RINGO_<MAJOR>.<MINOR>).
# Usage: symbols.sh BUILD
set -eu
B=${1:-build}
lib=$B/libringo.so
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "symbols: $*"; fail=1; }

echo "== symbols ($lib)"
[ -e "$lib" ] || { echo "symbols: $lib not built"; exit 1; }

# Declared: "/* include/ringo/chan.h:34:NC */ extern rg_chan_t *rg_chan_make (size_t, size_t);"
echo '#include <ringo.h>' > "$tmp/all.c"
gcc -std=gnu11 -D_GNU_SOURCE -Iinclude -aux-info "$tmp/aux" -fsyntax-only "$tmp/all.c"
grep '^/\* include/' "$tmp/aux" | grep ' \*/ extern ' |
	sed 's/ (.*//; s/.*[ *]//' | sort -u > "$tmp/declared"
grep -v '^rg_' "$tmp/declared" | while read -r s; do
	echo "symbols: $s: a public function must be named rg_*"
done | grep . && fail=1

# Exported, with versions: "000000000000fd00 T rg_accept@@RINGO_0.1"
nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' | sort > "$tmp/exported_v"
sed 's/@.*//' "$tmp/exported_v" | sort -u > "$tmp/exported"
grep -v '@@\?RINGO_' "$tmp/exported_v" | while read -r s; do
	echo "symbols: $s is exported without a RINGO_ version node"
done | grep . && fail=1

comm -23 "$tmp/declared" "$tmp/exported" > "$tmp/missing"
comm -13 "$tmp/declared" "$tmp/exported" > "$tmp/extra"
while read -r s; do
	bad "$s is declared in include/ but not exported: add it to the newest node of runtime/ringo.map (and declare it RG_API)"
done < "$tmp/missing"
while read -r s; do
	bad "$s is exported but declared in no public header: make it static or rg__ (hidden), or declare it in include/"
done < "$tmp/extra"

# The map: node names in order, and the newest must be the version's.
nodes=$(sed 's|/\*.*\*/||' runtime/ringo.map | sed -n 's/^\(RINGO_[0-9.]*\) *{.*/\1/p')
newest=$(echo "$nodes" | tail -n 1)
major=$(sed -n 's/^#define RINGO_VERSION_MAJOR *\([0-9]*\)$/\1/p' include/ringo/version.h)
minor=$(sed -n 's/^#define RINGO_VERSION_MINOR *\([0-9]*\)$/\1/p' include/ringo/version.h)
[ "$newest" = "RINGO_$major.$minor" ] ||
	bad "the newest node of runtime/ringo.map is '$newest', the version is $major.$minor (want RINGO_$major.$minor)"
dups=$(sed 's|/\*.*\*/||' runtime/ringo.map | grep -o '^[[:space:]]*rg_[a-z0-9_]*;' | tr -d ' \t;' | sort | uniq -d)
[ -z "$dups" ] || bad "listed twice in runtime/ringo.map: $dups"

n=$(wc -l < "$tmp/declared")
if [ "$fail" -eq 0 ]; then
	echo "[  PASSED  ] symbols: $n public functions, all exported, nodes: $(echo $nodes)"
else
	echo "[  FAILED  ] symbols"
fi
exit "$fail"
