#!/bin/sh
# SPDX-License-Identifier: MIT
# The installed library works as a user meets it (make check).
#
#   1. make install PREFIX=<a temporary prefix>; the files are where the
#      GNU layout puts them, the shared library carries its soname and
#      its symlink chain, the demos stay out;
#   2. tests/pkg/hello.c is built with $(pkg-config --cflags --libs ringo)
#      against the shared library and, with --static, as a static
#      program; both run and print their line; the shared one resolves
#      libringo.so.0 from the prefix, the static one needs no libringo;
#   3. the installed headers compile as strict C11 and C++11;
#   4. the installed man pages format without a warning (groff);
#   5. make install DESTDIR=... PREFIX=/usr/local stages the same tree
#      under DESTDIR with ringo.pc saying /usr/local;
#   6. make uninstall leaves no file behind, in both.
# Usage: install.sh BUILD   (MAKE and CC from the environment)
set -eu
B=${1:-build}
MAKE=${MAKE:-make}
CC=${CC:-cc}
CXX=${CXX:-g++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "install: $*"; fail=1; }
have() { [ -e "$1" ] || [ -L "$1" ] || bad "missing $1"; }

echo "== install ($B)"
major=$(sed -n 's/^#define RINGO_VERSION_MAJOR *\([0-9]*\)$/\1/p' include/ringo/version.h)
minor=$(sed -n 's/^#define RINGO_VERSION_MINOR *\([0-9]*\)$/\1/p' include/ringo/version.h)
patch=$(sed -n 's/^#define RINGO_VERSION_PATCH *\([0-9]*\)$/\1/p' include/ringo/version.h)
version=$major.$minor.$patch

# ---- 1. install into a prefix -------------------------------------------
p=$tmp/prefix
if ! $MAKE -s --no-print-directory install PREFIX="$p" > "$tmp/log" 2>&1; then
	cat "$tmp/log"
	echo "[  FAILED  ] install: make install failed"
	exit 1
fi
have "$p/include/ringo.h"
for h in include/ringo/*.h; do
	cmp -s "$h" "$p/$h" || bad "$p/$h differs from $h or is missing"
done
have "$p/lib/libringo.a"
[ "$(readlink "$p/lib/libringo.so")" = "libringo.so.$major" ] ||
	bad "libringo.so should link to libringo.so.$major"
[ "$(readlink "$p/lib/libringo.so.$major")" = "libringo.so.$version" ] ||
	bad "libringo.so.$major should link to libringo.so.$version"
[ -f "$p/lib/libringo.so.$version" ] && [ ! -L "$p/lib/libringo.so.$version" ] ||
	bad "libringo.so.$version should be the file"
readelf -d "$p/lib/libringo.so.$version" | grep -q "Library soname: \[libringo.so.$major\]" ||
	bad "the library's soname is not libringo.so.$major"
have "$p/lib/pkgconfig/ringo.pc"
# Every tool the build made (ringo-echo, ringo-load, ringo-trace when
# its toolchain is there, ...), the demo excepted.
for t in "$B"/ringo-*; do
	case "$t" in *.d|*/ringo-demo) continue;; esac
	[ -x "$t" ] || continue
	[ -x "$p/bin/${t##*/}" ] || bad "tool ${t##*/} not installed"
done
[ -x "$p/bin/ringo-echo" ] || bad "ringo-echo not installed"
[ ! -e "$p/bin/ringo-demo" ] || bad "the demo should not be installed"
for page in docs/man/*.[1-8]; do
	sec=${page##*.}
	have "$p/share/man/man$sec/${page##*/}"
done
grep -q "@VERSION@" "$p"/share/man/man*/* && bad "a man page still says @VERSION@"
for f in LICENSE CHANGES; do
	cmp -s "$f" "$p/share/doc/ringo/$f" || bad "$f not installed in share/doc/ringo"
done

# ---- 2. build and run against it, shared and static ----------------------
export PKG_CONFIG_PATH="$p/lib/pkgconfig"
[ "$(pkg-config --modversion ringo)" = "$version" ] || bad "pkg-config --modversion is not $version"
want="hello from ringo $version on "
# shellcheck disable=SC2046
if $CC -o "$tmp/hello-shared" tests/pkg/hello.c $(pkg-config --cflags --libs ringo); then
	readelf -d "$tmp/hello-shared" | grep -q "Shared library: \[libringo.so.$major\]" ||
		bad "hello-shared does not need libringo.so.$major"
	LD_LIBRARY_PATH="$p/lib" ldd "$tmp/hello-shared" | grep -q "libringo.so.$major => $p/lib/" ||
		bad "hello-shared does not find libringo in the prefix"
	out=$(LD_LIBRARY_PATH="$p/lib" "$tmp/hello-shared") || bad "hello-shared failed (status $?)"
	case "$out" in "$want"*) ;; *) bad "hello-shared printed '$out'";; esac
else
	bad "hello-shared did not build"
fi
# shellcheck disable=SC2046
if $CC -static -o "$tmp/hello-static" tests/pkg/hello.c \
	$(pkg-config --cflags --libs --static ringo) 2> "$tmp/static.log"; then
	readelf -d "$tmp/hello-static" | grep -q "libringo" && bad "hello-static needs a shared libringo"
	out=$("$tmp/hello-static") || bad "hello-static failed (status $?)"
	case "$out" in "$want"*) ;; *) bad "hello-static printed '$out'";; esac
else
	cat "$tmp/static.log"
	bad "hello-static did not build"
fi

# ---- 3. the installed headers as strict C11 and C++11 --------------------
cat > "$tmp/strict.c" <<'STRICT'
#include <ringo.h>
static int use(rg_chan_t *c)
{
	int v = 0;
	rg_case_t cs[] = {RG_SEND(c, &v), RG_RECV(c, &v), RG_RECV(c, NULL)};
	RG_RANGE(c, v) { break; }
	return rg_select(cs, 3, false) + (int)RG_SECOND;
}
int main(void) { return use(RG_CHAN(int, 1)) && rg_version() > 0; }
STRICT
cp "$tmp/strict.c" "$tmp/strict.cc"
strict() { # compiler standard file
	# shellcheck disable=SC2046
	"$1" -std="$2" -pedantic-errors -Wall -Wextra -Werror -fsyntax-only \
		$(pkg-config --cflags ringo) "$3" > "$tmp/strict.log" 2>&1 && return 0
	head -n 20 "$tmp/strict.log"
	bad "ringo.h is not strict $2"
}
strict "$CC" c11 "$tmp/strict.c"
strict "$CXX" c++11 "$tmp/strict.cc"

# ---- 4. man pages ---------------------------------------------------------
if command -v groff > /dev/null; then
	for page in "$p"/share/man/man*/*; do
		w=$(groff -man -ww -z "$page" 2>&1) || bad "groff failed on $page"
		[ -z "$w" ] || bad "groff warns on $page: $w"
	done
else
	bad "groff is missing (scripts/deps.sh installs groff-base)"
fi

# ---- 5. a staged install ---------------------------------------------------
d=$tmp/stage
$MAKE -s --no-print-directory install DESTDIR="$d" PREFIX=/usr/local > "$tmp/log" 2>&1 ||
	{ cat "$tmp/log"; bad "make install DESTDIR= failed"; }
have "$d/usr/local/include/ringo.h"
have "$d/usr/local/lib/libringo.so.$major"
grep -qx 'prefix=/usr/local' "$d/usr/local/lib/pkgconfig/ringo.pc" 2>/dev/null ||
	bad "the staged ringo.pc does not say prefix=/usr/local"

# ---- 6. uninstall ------------------------------------------------------------
$MAKE -s --no-print-directory uninstall PREFIX="$p" > "$tmp/log" 2>&1 || { cat "$tmp/log"; bad "make uninstall failed"; }
$MAKE -s --no-print-directory uninstall DESTDIR="$d" PREFIX=/usr/local > "$tmp/log" 2>&1 ||
	{ cat "$tmp/log"; bad "make uninstall DESTDIR= failed"; }
left=$(find "$p" "$d" ! -type d)
[ -z "$left" ] || bad "make uninstall left: $left"

if [ "$fail" -eq 0 ]; then
	echo "[  PASSED  ] install: $version, shared and static, C11 and C++11 headers, uninstall"
else
	echo "[  FAILED  ] install"
fi
exit "$fail"
