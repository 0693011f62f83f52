#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages ringo needs to build, test and benchmark.
# Idempotent: it asks apt only for what is missing, and runs
# 'apt-get update' at most once per call.  Needs root (or sudo) on Debian 12.
# `deps.sh soak` also installs what only `make soak` needs (gnuplot).
set -eu

# package -> a file that proves it is installed
need="
liburing-dev:/usr/include/liburing.h
libcmocka-dev:/usr/include/cmocka.h
systemtap-sdt-dev:/usr/include/x86_64-linux-gnu/sys/sdt.h
libbpf-dev:/usr/include/bpf/libbpf.h
libelf-dev:/usr/include/gelf.h
libdw-dev:/usr/include/elfutils/libdwfl.h
zlib1g-dev:/usr/include/zlib.h
bpftool:/usr/sbin/bpftool
clang:/usr/bin/clang
libclang-rt-14-dev:/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a
llvm:/usr/bin/llvm-strip
golang-go:/usr/bin/go
make:/usr/bin/make
gcc:/usr/bin/gcc
g++:/usr/bin/g++
groff-base:/usr/bin/groff
pkg-config:/usr/bin/pkg-config
netcat-openbsd:/bin/nc.openbsd
uthash-dev:/usr/include/uthash.h
libxxhash-dev:/usr/include/xxhash.h
golang-golang-x-time-dev:/usr/share/gocode/src/golang.org/x/time/rate/rate.go
golang-golang-x-sync-dev:/usr/share/gocode/src/golang.org/x/sync/errgroup/errgroup.go
libhttp-parser-dev:/usr/include/http_parser.h
libssl-dev:/usr/include/openssl/evp.h
wrk:/usr/bin/wrk
chromium:/usr/bin/chromium
curl:/usr/bin/curl
"
if [ "${1:-}" = soak ]; then
	need="$need gnuplot-nox:/usr/bin/gnuplot python3:/usr/bin/python3"
fi

missing=""
for entry in $need; do
	pkg=${entry%%:*}
	file=${entry#*:}
	# sdt.h lives in a multiarch or plain include dir depending on the arch
	if [ "$pkg" = systemtap-sdt-dev ] && [ -e /usr/include/sys/sdt.h ]; then
		continue
	fi
	[ -e "$file" ] || missing="$missing $pkg"
done

[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
