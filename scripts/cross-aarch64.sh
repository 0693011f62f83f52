#!/bin/sh
# SPDX-License-Identifier: MIT
# The aarch64 clone trampoline of proc/spawn.c, built and run on another
# architecture: tests/cross/spawn_trampoline.c linked statically with
# proc/spawn.c by a cross compiler and run under qemu-user.  The rest of
# the library needs liburing (and the suite cmocka) for the target,
# which Debian's cross packages do not give; spawn.c needs libc only.
#
#   scripts/cross-aarch64.sh [BUILD]     (make check-aarch64)
#   scripts/cross-aarch64.sh -n [BUILD]  the same test, native
#
# Tools (Debian: apt-get install gcc-aarch64-linux-gnu
# libc6-dev-arm64-cross qemu-user-static): CROSS_CC
# (aarch64-linux-gnu-gcc), QEMU (qemu-aarch64-static, else qemu-aarch64).
# Missing tools: says which and exits 0 (a skip, not a failure).
#
# Emulators differ in what they give the trampoline: qemu 7.2 (Debian
# 12) answers clone3 with ENOSYS and clone(2) with CLONE_PIDFD with
# EINVAL, so spawn.c falls back to posix_spawn there and the trampoline
# does not run (the test says which way each spawn went); newer ones
# take CLONE_PIDFD.  qemu-user always emulates CLONE_VFORK | CLONE_VM by
# a fork, so the checks that need the shared memory are skipped there.
# CROSS_REQUIRE=clone (or clone3) fails the run unless that trampoline
# ran at least once.
set -u
native=0
if [ "${1:-}" = "-n" ]; then
	native=1
	shift
fi
B=${1:-build}
out=$B/cross
mkdir -p "$out"
src="tests/cross/spawn_trampoline.c proc/spawn.c"
flags="-O2 -g -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -Iinclude -Iruntime -Iuring -Iproc"

if [ "$native" = 1 ]; then
	# shellcheck disable=SC2086
	${CC:-cc} $flags -o "$out/spawn_trampoline" $src -lpthread || exit 1
	RINGO_SPAWN_REQUIRE=${CROSS_REQUIRE:-} "$out/spawn_trampoline"
	exit $?
fi

CROSS_CC=${CROSS_CC:-aarch64-linux-gnu-gcc}
if [ -z "${QEMU:-}" ]; then
	QEMU=qemu-aarch64-static
	command -v "$QEMU" >/dev/null 2>&1 || QEMU=qemu-aarch64
fi
missing=""
command -v "$CROSS_CC" >/dev/null 2>&1 || missing="$missing $CROSS_CC (gcc-aarch64-linux-gnu)"
command -v "$QEMU" >/dev/null 2>&1 || missing="$missing $QEMU (qemu-user-static)"
if [ -z "$missing" ] && ! printf '#include <stdio.h>\nint main(void){return 0;}\n' |
	"$CROSS_CC" -static -x c -o "$out/.probe" - 2>/dev/null; then
	missing="$missing a static aarch64 libc (libc6-dev-arm64-cross)"
fi
rm -f "$out/.probe"
if [ -n "$missing" ]; then
	echo "check-aarch64: SKIPPED, missing:$missing"
	echo "  (Debian: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static)"
	exit 0
fi

bin=$out/spawn_trampoline-aarch64
# shellcheck disable=SC2086
"$CROSS_CC" -static $flags -o "$bin" $src -lpthread || exit 1
echo "== $bin under $("$QEMU" --version | head -n 1)"
RINGO_SPAWN_REQUIRE=${CROSS_REQUIRE:-} timeout -k 10 120 "$QEMU" "$bin"
