// SPDX-License-Identifier: MIT
/*
 * probes.c — the USDT semaphores, one per probe of RG_PROBE_LIST
 * (probes.h).
 *
 * Each is a 16-bit counter in section .probes, the section systemtap's
 * and libbpf's tools expect; the note of every site of a probe points at
 * its semaphore.  The kernel adds one while a uprobe with that
 * ref_ctr_offset is attached in this process and subtracts it on detach;
 * no code of ours ever writes them.  Hidden: they are not API, and the
 * tools find them through the notes, not the dynamic symbol table.
 */
#include "probes.h"

#if RG_PROBES_ENABLED
/* The hot block first, in assembly: the gates of probes.h read 8 or 16
 * bytes across it, so its order and alignment are fixed here, not left to the
 * compiler.  chan_send_block's label sits on chan_send's counter and
 * chan_recv_block's on chan_recv's: a send or receive gate covers the
 * channel's blocking probe too (so attaching chan_send also computes
 * chan_send_block's arguments, and `ringo-trace list` shows both
 * attached). */
#define RG_SEM_SYM_(name) "ringo_" #name "_semaphore"
#define RG_SEM_LABEL_(name)                                                  \
	".globl " RG_SEM_SYM_(name) "\n"                                   \
	".hidden " RG_SEM_SYM_(name) "\n"                                  \
	".type " RG_SEM_SYM_(name) ", STT_OBJECT\n"                        \
	".size " RG_SEM_SYM_(name) ", 2\n"                                 \
	RG_SEM_SYM_(name) ":\n"
__asm__(".pushsection .probes, \"aw\"\n"
	".balign 16\n"
	".globl rg__probe_hot\n"
	".hidden rg__probe_hot\n"
	".type rg__probe_hot, STT_OBJECT\n"
	".size rg__probe_hot, 16\n"
	"rg__probe_hot:\n"
	RG_SEM_LABEL_(chan_send_block) RG_SEM_LABEL_(chan_send) ".2byte 0\n"
	RG_SEM_LABEL_(go_park) ".2byte 0\n"
	RG_SEM_LABEL_(go_resume) ".2byte 0\n"
	RG_SEM_LABEL_(go_ready) ".2byte 0\n"
	RG_SEM_LABEL_(chan_recv_block) RG_SEM_LABEL_(chan_recv) ".2byte 0\n"
	RG_SEM_LABEL_(io_submit) ".2byte 0\n"
	RG_SEM_LABEL_(io_complete) ".2byte 0\n"
	RG_SEM_LABEL_(io_wait_fd) ".2byte 0\n"
	".popsection\n");

/* The rest in C, in any order. */
#define RG_HOT_chan_send x,
#define RG_HOT_chan_send_block x,
#define RG_HOT_go_park x,
#define RG_HOT_go_resume x,
#define RG_HOT_go_ready x,
#define RG_HOT_chan_recv x,
#define RG_HOT_chan_recv_block x,
#define RG_HOT_io_submit x,
#define RG_HOT_io_complete x,
#define RG_HOT_io_wait_fd x,
#define RG_ARG2_(a, b, ...) b
#define RG_ARG2_X_(...) RG_ARG2_(__VA_ARGS__)
#define RG_IS_HOT_(name) RG_ARG2_X_(RG_HOT_##name 1, 0, ~)
#define RG_CAT_(a, b) a##b
#define RG_CAT_X_(a, b) RG_CAT_(a, b)
#define RG_SEM_DEF_0(name)                            \
	volatile unsigned short ringo_##name##_semaphore \
		__attribute__((section(".probes"), used));
#define RG_SEM_DEF_1(name)
#define RG_PROBE_SEM_DEF_(name, args) RG_CAT_X_(RG_SEM_DEF_, RG_IS_HOT_(name))(name)
RG_PROBE_LIST(RG_PROBE_SEM_DEF_)
#else
typedef int rg__probes_disabled; /* not an empty translation unit */
#endif
