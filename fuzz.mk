# SPDX-License-Identifier: MIT
# fuzz.mk — fuzzing, included by the Makefile.
#
#   make fuzz [FUZZ_SECONDS=30] [FUZZ_HARNESSES="addr echo pool_http"]
#       each harness under libFuzzer for FUZZ_SECONDS, built with clang
#       (-fsanitize=fuzzer,address,undefined, UBSan findings fatal) in
#       build-fuzz/: gcc's and clang's sanitizer runtimes do not mix, so
#       the library and the objects a harness links are rebuilt there.
#       New inputs go to build-fuzz/corpus/<harness>/, crashes to
#       build-fuzz/crash-<harness>-*; tests/fuzz/corpus/<harness>/ is the
#       kept corpus (seeds, and every input that once crashed).
#   make fuzz-replay    the harnesses linked with tests/fuzz/replay.c
#       instead of libFuzzer, in the current build ($(B)/fuzz/replay_*,
#       any compiler, any SAN=): `make check` runs the kept corpora
#       through them once on each backend (tests/fuzz/smoke.sh).
#   make fuzz-pool, fuzz-pool-replay: the pool_http harness alone.
#
# Harnesses (tests/fuzz/fuzz_<name>.c):
#   addr       rg__addr_resolve, the address strings of rg_listen/rg_dial
#   echo       ringo-echo's connection handling, a client's script over TCP
#   pool_http  ringo-pool's request handling, bytes in and out

FUZZ_HARNESSES ?= addr echo pool_http
FUZZ_SECONDS   ?= $(or $(FUZZ_SECS),30)
FUZZ_B         := build-fuzz
FUZZ_CFLAGS    := -O1 -g -fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined

# Per harness: what it links besides the library, its compile flags,
# its libFuzzer options.
FUZZ_POOL := $(filter-out %/main.o,$(POOL_OBJ))
fuzz_obj_pool_http   := $(FUZZ_POOL)
fuzz_flags_pool_http := $(POOL_HAVE) -Itools/ringo-pool
fuzz_libs_pool_http  := $(POOL_LIBS)
fuzz_args_pool_http  := -timeout=20 -max_len=8192 -dict=tests/fuzz/pool_http.dict
fuzz_flags_echo      := -Wno-unused-function
fuzz_args_echo       := -timeout=30 -max_len=4096
fuzz_args_addr       := -timeout=10 -max_len=600

FUZZ_REPLAY := $(FUZZ_HARNESSES:%=$(B)/fuzz/replay_%)
tests: $(FUZZ_REPLAY)

define fuzz_rules
$(B)/fuzz/replay_$(1): tests/fuzz/replay.c tests/fuzz/fuzz_$(1).c $$(fuzz_obj_$(1)) $(B)/libringo.a
	@mkdir -p $$(dir $$@)
	$$(call msg,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS) $$(fuzz_flags_$(1)) -rdynamic -o $$@ tests/fuzz/replay.c \
		tests/fuzz/fuzz_$(1).c $$(fuzz_obj_$(1)) $(B)/libringo.a $$(LDFLAGS) \
		$$(fuzz_libs_$(1)) $$(LIBS)

$(B)/fuzz/fuzz_$(1): tests/fuzz/fuzz_$(1).c $$(fuzz_obj_$(1)) $(B)/libringo.a
	@mkdir -p $$(dir $$@)
	$$(call msg,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS) $$(fuzz_flags_$(1)) -fsanitize=fuzzer -rdynamic -o $$@ $$< \
		$$(fuzz_obj_$(1)) $(B)/libringo.a $$(LDFLAGS) $$(fuzz_libs_$(1)) $$(LIBS)
endef
$(foreach h,addr echo pool_http,$(eval $(call fuzz_rules,$(h))))

.PHONY: fuzz fuzz-replay fuzz-pool fuzz-pool-replay
fuzz:
	@command -v clang >/dev/null && test -n "$$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a | grep /)" \
		|| { echo "make fuzz: needs clang and libclang-rt-dev (scripts/deps.sh installs them)"; exit 1; }
	@$(MAKE) --no-print-directory CC=clang SAN=address,undefined B=$(FUZZ_B) \
		CFLAGS="$(FUZZ_CFLAGS)" $(FUZZ_HARNESSES:%=$(FUZZ_B)/fuzz/fuzz_%)
	@FUZZ_B=$(FUZZ_B) FUZZ_SECONDS=$(FUZZ_SECONDS) \
		FUZZ_ARGS_addr="$(fuzz_args_addr)" FUZZ_ARGS_echo="$(fuzz_args_echo)" \
		FUZZ_ARGS_pool_http="$(fuzz_args_pool_http)" sh tests/fuzz/run.sh $(FUZZ_HARNESSES)

fuzz-replay: $(FUZZ_REPLAY)

fuzz-pool:
	@$(MAKE) --no-print-directory fuzz FUZZ_HARNESSES=pool_http

fuzz-pool-replay: $(B)/fuzz/replay_pool_http
