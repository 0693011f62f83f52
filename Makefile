# SPDX-License-Identifier: MIT
# ringo — build, test, benchmark.
#
#   make            libringo.a, libringo.so, tests, benchmarks, tools
#   make run        installs what is missing, builds, runs ringo-pool (HTTP)
#   make run-echo   the same for the echo server
#   make test       installs what is missing, builds, runs the whole suite
#                   (plain build, then again under AddressSanitizer)
#   make check      the suite once, in the current build (SAN=... to pick),
#                   and the examples against their expected output
#   make check-aarch64  proc/spawn.c's aarch64 trampoline under qemu-user
#   make examples   the seed's programs in examples/ (build/examples/NAME)
#   make bench      benchmarks against Go and hand-written C (ratios)
#   make fuzz       libFuzzer harnesses, FUZZ_SECONDS each (fuzz.mk)
#   make soak       the servers under hostile load, SOAK_SECONDS (docs/soak.md)
#   make install    headers, libringo.a/.so, ringo.pc, tools, man pages,
#                   LICENSE and CHANGES
#                   (PREFIX=/usr/local, DESTDIR= for staging; LIBDIR=...)
#   make uninstall  removes what make install put there
#   SAN=address|undefined|thread   sanitizer build (in build-$(SAN)/)
#   V=1             show full commands
#
# Layout: runtime/, uring/ and proc/ make the library, tools/ the programs,
# examples/ the seed's programs, tests/ the cmocka suite, tests/bench/ the
# benchmarks and their Go peers.

CC      ?= cc
CXX     ?= g++
CFLAGS  ?= -O2 -g -Wall -Wextra
CXXFLAGS ?= -O2 -g -Wall -Wextra
LDFLAGS ?=
SAN     ?=
GO      ?= go

ifeq ($(SAN),)
B := build
else
B := build-$(SAN)
override CFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer
override CXXFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer
override LDFLAGS += -fsanitize=$(SAN)
endif

# The version, read from include/ringo/version.h (the one place it is
# written): the soname carries the major, the file name all three.
version_part = $(shell sed -n 's/^.define RINGO_VERSION_$(1) *\([0-9]*\)$$/\1/p' include/ringo/version.h)
VERSION := $(call version_part,MAJOR).$(call version_part,MINOR).$(call version_part,PATCH)
SONAME  := libringo.so.$(call version_part,MAJOR)
SOFILE  := libringo.so.$(VERSION)

override CFLAGS += -std=gnu11 -D_GNU_SOURCE -Iinclude -Iruntime -Iuring -Iproc \
	-fno-omit-frame-pointer -MMD -MP
LIBCFLAGS := -fPIC -fvisibility=hidden
LIBS := -luring -lpthread

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-7s %s\n' $(1) $(2);
endif

LIB_SRC := $(wildcard runtime/*.c) $(wildcard uring/*.c) $(wildcard proc/*.c)
LIB_ASM := $(wildcard runtime/*.S)
LIB_OBJ := $(LIB_SRC:%.c=$(B)/obj/%.o) $(LIB_ASM:%.S=$(B)/obj/%.o)

TEST_SRC  := $(wildcard tests/test_*.c)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(B)/tests/%)
TESTXX_SRC := $(wildcard tests/test_*.cc)
TEST_BIN  += $(TESTXX_SRC:tests/%.cc=$(B)/tests/%)
TEST_HELP := $(wildcard tests/helpers/*.c)
TEST_HOBJ := $(TEST_HELP:%.c=$(B)/obj/%.o)
TRACE_WORKLOADS := $(B)/tests/trace-workload $(B)/tests/trace-workload-so

BENCH_SRC := $(wildcard tests/bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(B)/bench/%)
PEER_SRC  := $(wildcard tests/bench/peers/*.c)
PEER_BIN  := $(PEER_SRC:tests/bench/peers/%.c=$(B)/bench/%)
GO_SRC    := $(wildcard tests/bench/go/*.go)
GO_BIN    := $(GO_SRC:tests/bench/go/%.go=$(B)/bench/go_%)

# examples/: the seed's programs against the public API only (no
# -Iruntime -Iuring), one program each; make check runs them and
# compares their stdout with examples/expected/NAME.out.
EXAMPLE_SRC := $(wildcard examples/*.c)
EXAMPLE_BIN := $(EXAMPLE_SRC:examples/%.c=$(B)/examples/%)
EXAMPLE_CFLAGS = $(filter-out -Iruntime -Iuring,$(CFLAGS))

TOOL_SRC  := $(wildcard tools/*.c)
TOOL_BIN  := $(TOOL_SRC:tools/%.c=$(B)/%)

# ringo-pool has a directory of its own and links libhttp_parser and
# libcrypto.  POOL_HAVE tells it which parts of ringo that are still
# landing (separate ctx release) the public headers declare.
POOL_SRC  := $(wildcard tools/ringo-pool/*.c)
POOL_OBJ  := $(POOL_SRC:%.c=$(B)/obj/%.o) $(B)/obj/tools/ringo-pool/status.o
POOL_LIBS := -lhttp_parser -lcrypto -lm
pool_have = $(if $(shell grep -ls '$(1)' include/ringo.h include/ringo/*.h),-DRINGO_POOL_HAVE_$(2)=1)
POOL_HAVE := \
	$(call pool_have,cancelling and freeing are two separate acts,CTX_RELEASE)
TOOL_BIN  += $(B)/ringo-pool

# ringo-trace (tools/ringo-trace, BPF programs in bpf/): built when the
# toolchain is there (clang, bpftool, libbpf, libdw, a kernel with BTF);
# `make trace` says what is missing.
CLANG     ?= clang
BPFTOOL   ?= $(firstword $(wildcard /usr/sbin/bpftool /usr/bin/bpftool) bpftool)
TRACE_SRC := $(wildcard tools/ringo-trace/*.c)
TRACE_OBJ := $(TRACE_SRC:%.c=$(B)/obj/%.o)
BPF_SRC   := $(wildcard bpf/*.bpf.c)
BPF_SKEL  := $(BPF_SRC:bpf/%.bpf.c=$(B)/bpf/%.skel.h)
BPF_ARCH  := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
TRACE_MISSING := $(strip \
	$(if $(shell command -v $(CLANG) 2>/dev/null),,clang) \
	$(if $(wildcard $(BPFTOOL)),,bpftool) \
	$(if $(wildcard /usr/include/bpf/libbpf.h),,libbpf-dev) \
	$(if $(wildcard /usr/include/elfutils/libdwfl.h),,libdw-dev) \
	$(if $(wildcard /usr/include/zlib.h),,zlib1g-dev) \
	$(if $(wildcard /sys/kernel/btf/vmlinux),,/sys/kernel/btf/vmlinux))
ifeq ($(TRACE_MISSING),)
TOOL_BIN  += $(B)/ringo-trace
endif

.PHONY: all lib tests benches gobenches tools examples deps run run-echo test check bench clean \
	trace install uninstall
all: lib tests benches tools examples

lib: $(B)/libringo.a $(B)/libringo.so
tests: $(TEST_BIN) $(TRACE_WORKLOADS)
benches: $(BENCH_BIN) $(PEER_BIN)
tools: $(TOOL_BIN)
examples: $(EXAMPLE_BIN)
gobenches: $(GO_BIN)

deps:
	@sh scripts/deps.sh

# The main job: the worker-pool HTTP server on 127.0.0.1:8080 until
# Ctrl+C, serving this repository at /v1/files/ and two commands at
# /v1/exec/ (ARGS="--addr 127.0.0.1:9000 --workers 8" to change it).
# run-echo: the echo server on 127.0.0.1:7000.
run: deps
	@$(MAKE) --no-print-directory tools
	./$(B)/ringo-pool --root . --allow wc=/usr/bin/wc --allow sort=/usr/bin/sort $(ARGS)

run-echo: deps
	@$(MAKE) --no-print-directory tools
	./$(B)/ringo-echo $(ARGS)

test: deps
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory check SAN=address

# The packaging checks (exported symbols, make install, pkg-config,
# static and shared linking) are about the build's artefacts, not the
# runtime's behaviour: they run in the plain build only.
check: lib tests tools examples
	@sh scripts/run-tests.sh $(B)
	@sh tests/fuzz/smoke.sh $(B) $(FUZZ_HARNESSES)
	@sh scripts/run-examples.sh $(B)
ifeq ($(SAN),)
	@sh tests/pkg/symbols.sh $(B)
	@MAKE="$(MAKE)" CC="$(CC)" sh tests/pkg/install.sh $(B)
endif

# The soak (not part of test): ringo-echo and ringo-pool under hostile,
# changing load for SOAK_SECONDS, sampled every second; writes
# docs/soak.png and docs/soak.md (tests/soak/soak.py).
SOAK_SECONDS ?= 600
.PHONY: soak
soak:
	@sh scripts/deps.sh soak
	@$(MAKE) --no-print-directory tools
	python3 tests/soak/soak.py --build $(B) --seconds $(SOAK_SECONDS) --out $(B)/soak --docs docs

bench: deps
	@$(MAKE) --no-print-directory SAN= lib benches gobenches tools
	@sh tests/bench/run.sh build

# The aarch64 clone trampoline (proc/spawn.c) cross-built statically
# and run under qemu-user (scripts/cross-aarch64.sh; Kbuild-notes.md
# says what it showed).  Skips, saying what is missing, without the
# cross compiler or qemu; not part of check or test.
.PHONY: check-aarch64
check-aarch64:
	@sh scripts/cross-aarch64.sh $(B)

# The probes' cost while nothing is attached (issue 11: within 1%):
# callgrind instructions per pingpong round trip and per echo request,
# this build against one with -DRINGO_NO_PROBES (tests/bench/probecost.sh;
# make bench runs it too).
.PHONY: bench-probes
bench-probes:
	@sh tests/bench/probecost.sh build

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) $(LIBCFLAGS) -c -o $@ $<

$(B)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(call msg,AS,$<)
	$(Q)$(CC) $(CFLAGS) $(LIBCFLAGS) -c -o $@ $<

$(B)/libringo.a: $(LIB_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# libringo.so -> libringo.so.MAJOR (the soname) -> libringo.so.M.m.p.
# -z defs: every symbol the library uses is in it or in $(LIBS)
# (sanitizer builds leave theirs to the program).
$(B)/$(SOFILE): $(LIB_OBJ) runtime/ringo.map include/ringo/version.h
	$(call msg,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=runtime/ringo.map \
		-Wl,--no-undefined-version $(if $(SAN),,-Wl,-z,defs) $(LDFLAGS) \
		-o $@ $(LIB_OBJ) $(LIBS)

$(B)/libringo.so: $(B)/$(SOFILE)
	$(Q)ln -sf $(SOFILE) $(B)/$(SONAME) && ln -sf $(SONAME) $@

# Tests and programs link the static library and export their symbols so
# that backtraces in panic reports name functions.
$(B)/tests/%: tests/%.c $(TEST_HOBJ) $(B)/libringo.a
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) -Itests -rdynamic -o $@ $< $(TEST_HOBJ) $(B)/libringo.a \
		$(LDFLAGS) $(TEST_LDFLAGS) -lcmocka $(LIBS)

# test_api fails the library's callocs on demand (constructors out of memory).
$(B)/tests/test_api: TEST_LDFLAGS := -Wl,--wrap=calloc

$(B)/tests/%: tests/%.cc $(TEST_HOBJ) $(B)/libringo.a
	@mkdir -p $(dir $@)
	$(call msg,CXX,$<)
	$(Q)$(CXX) -std=c++11 -pedantic-errors $(CXXFLAGS) -Iinclude -Itests -MMD -MP -rdynamic -o $@ $< $(TEST_HOBJ) \
		$(B)/libringo.a $(LDFLAGS) -lcmocka $(LIBS)

# test_probes reads the USDT notes with libelf.
$(B)/tests/test_probes: LIBS += -lelf

# What test_trace traces: one workload linked statically, one with
# libringo.so (found through its rpath).
$(B)/tests/trace-workload: tests/trace_workload.c $(B)/libringo.a
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) -rdynamic -o $@ $< $(B)/libringo.a $(LDFLAGS) $(LIBS)

$(B)/tests/trace-workload-so: tests/trace_workload.c $(B)/libringo.so
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) -o $@ $< -L$(B) -Wl,-rpath,'$$ORIGIN/..' -lringo $(LDFLAGS) -lpthread

# An example is built as a user would build it: ringo.h and the library.
$(B)/examples/%: examples/%.c $(B)/libringo.a
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(EXAMPLE_CFLAGS) -rdynamic -o $@ $< $(B)/libringo.a $(LDFLAGS) $(LIBS)

$(B)/bench/%: tests/bench/%.c $(B)/libringo.a
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) -rdynamic -o $@ $< $(B)/libringo.a $(LDFLAGS) $(LIBS)

$(B)/bench/%: tests/bench/peers/%.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) $(LIBS)

# GOPATH mode finds Debian's golang.org/x/{time,sync} (deps.sh installs
# them) under /usr/share/gocode; the peers use nothing else.
$(B)/bench/go_%: tests/bench/go/%.go
	@mkdir -p $(dir $@)
	$(call msg,GO,$<)
	$(Q)GOCACHE=$(CURDIR)/$(B)/gocache GO111MODULE=off GOFLAGS= \
		GOPATH=/usr/share/gocode $(GO) build -o $@ $<

$(B)/%: tools/%.c $(B)/libringo.a
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) -rdynamic -o $@ $< $(B)/libringo.a $(LDFLAGS) $(LIBS)

$(B)/obj/tools/ringo-pool/%.o: tools/ringo-pool/%.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) $(POOL_HAVE) -c -o $@ $<

$(B)/obj/tools/ringo-pool/status.o: tools/ringo-pool/status.S tools/ringo-pool/status.html
	@mkdir -p $(dir $@)
	$(call msg,AS,$<)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(B)/ringo-pool: $(POOL_OBJ) $(B)/libringo.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -rdynamic -o $@ $(POOL_OBJ) $(B)/libringo.a $(LDFLAGS) \
		$(POOL_LIBS) $(LIBS)

# Fuzzing (libFuzzer harnesses, make fuzz, the corpus smoke in make
# check): fuzz.mk.
include fuzz.mk

# ---- ringo-trace ------------------------------------------------------
trace:
ifeq ($(TRACE_MISSING),)
	@$(MAKE) --no-print-directory $(B)/ringo-trace
else
	@echo "ringo-trace not built: missing $(TRACE_MISSING) (scripts/deps.sh installs the packages)"; exit 1
endif

$(B)/bpf/vmlinux.h:
	@mkdir -p $(dir $@)
	$(call msg,BTF,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

# Static pattern rules: the objects and skeletons are explicit targets,
# never intermediates that make might skip or delete.
BPF_OBJ   := $(BPF_SRC:bpf/%.bpf.c=$(B)/bpf/%.bpf.o)
$(BPF_OBJ): $(B)/bpf/%.bpf.o: bpf/%.bpf.c bpf/common.bpf.h bpf/ringo_trace.h $(B)/bpf/vmlinux.h
	$(call msg,BPF,$<)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -I$(B)/bpf -Ibpf \
		-I/usr/include/$(shell $(CC) -dumpmachine) -c $< -o $@

$(BPF_SKEL): $(B)/bpf/%.skel.h: $(B)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

$(TRACE_OBJ): $(B)/obj/tools/ringo-trace/%.o: tools/ringo-trace/%.c $(BPF_SKEL)
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) -I$(B)/bpf -Ibpf -c -o $@ $<

$(B)/ringo-trace: $(TRACE_OBJ)
	$(call msg,LD,$@)
	$(Q)$(CC) -o $@ $(TRACE_OBJ) $(LDFLAGS) -lbpf -lelf -ldw -lz

clean:
	rm -rf build build-*

# ---- install ----------------------------------------------------------
#
# make install PREFIX=/usr/local DESTDIR=/tmp/stage: DESTDIR is prepended
# to every path (staging for a package), PREFIX is what ringo.pc says.
# What is installed is found, not listed: every header in include/, every
# man page in docs/man/ (docs/man/NAME.SECTION goes to manSECTION/), and
# every program in TOOL_BIN but the demos in NOINST_TOOLS (a tool built
# by its own rule joins by adding its binary to TOOL_BIN).

PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/ringo
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL    ?= install

NOINST_TOOLS := $(B)/ringo-demo
INSTALL_TOOLS = $(filter-out $(NOINST_TOOLS),$(TOOL_BIN))
INSTALL_HEADERS := $(wildcard include/ringo/*.h)
MAN_PAGES := $(wildcard docs/man/*.[1-8])

# ringo.pc names its directories through ${prefix} where they lie under
# it, so that pkg-config --define-prefix can relocate an unpacked tree.
pc_dir = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

install: lib tools
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -d $(DESTDIR)$(INCLUDEDIR)/ringo $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(BINDIR)
	$(Q)$(INSTALL) -m 644 include/ringo.h $(DESTDIR)$(INCLUDEDIR)/
	$(Q)$(INSTALL) -m 644 $(INSTALL_HEADERS) $(DESTDIR)$(INCLUDEDIR)/ringo/
	$(Q)$(INSTALL) -m 644 $(B)/libringo.a $(DESTDIR)$(LIBDIR)/
	$(Q)$(INSTALL) -m 755 $(B)/$(SOFILE) $(DESTDIR)$(LIBDIR)/
	$(Q)ln -sf $(SOFILE) $(DESTDIR)$(LIBDIR)/$(SONAME)
	$(Q)ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libringo.so
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(call pc_dir,$(LIBDIR))|' \
		-e 's|@INCLUDEDIR@|$(call pc_dir,$(INCLUDEDIR))|' -e 's|@VERSION@|$(VERSION)|' \
		ringo.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/ringo.pc
	$(Q)$(INSTALL) -m 755 $(INSTALL_TOOLS) $(DESTDIR)$(BINDIR)/
	$(Q)$(INSTALL) -d $(DESTDIR)$(DOCDIR)
	$(Q)$(INSTALL) -m 644 LICENSE CHANGES README.md $(DESTDIR)$(DOCDIR)/
	$(Q)for page in $(MAN_PAGES); do \
		dir=$(DESTDIR)$(MANDIR)/man$${page##*.}; \
		$(INSTALL) -d $$dir && sed 's/@VERSION@/$(VERSION)/g' $$page > $$dir/$${page##*/} || exit 1; \
	done

uninstall:
	$(call msg,RM,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(DESTDIR)$(INCLUDEDIR)/ringo.h \
		$(addprefix $(DESTDIR)$(INCLUDEDIR)/ringo/,$(notdir $(INSTALL_HEADERS))) \
		$(addprefix $(DESTDIR)$(LIBDIR)/,libringo.a libringo.so $(SONAME) $(SOFILE)) \
		$(DESTDIR)$(PKGCONFIGDIR)/ringo.pc \
		$(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(INSTALL_TOOLS))) \
		$(addprefix $(DESTDIR)$(DOCDIR)/,LICENSE CHANGES README.md)
	$(Q)for page in $(notdir $(MAN_PAGES)); do \
		rm -f $(DESTDIR)$(MANDIR)/man$${page##*.}/$$page; \
	done
	$(Q)rmdir $(DESTDIR)$(INCLUDEDIR)/ringo $(DESTDIR)$(DOCDIR) 2>/dev/null || true

-include $(shell find $(B) -name '*.d' 2>/dev/null)
