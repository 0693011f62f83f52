// SPDX-License-Identifier: MIT
/*
 * rt_fault.h — fault injection (fault.c): named places in the runtime
 * that can be told to fail as the kernel would, so that tests reach the
 * error paths that real limits reach only sometimes.
 *
 * Compiled into every build, armed only on request: by the environment
 * (RINGO_FAULT, read once by rg_main/rg_init) or by a test linked with
 * libringo.a (rg__fault_arm).  Unarmed, a site costs one relaxed load of
 * a global flag on a path that is already a syscall or a chunk of
 * address space; no hot path has a site.  Injection can only make calls
 * fail the way the kernel may make them fail, so arming it grants
 * nothing that setrlimit would not.
 *
 *   RINGO_FAULT=SITE[=ERRNO][@SKIP][*TIMES][,SITE...]
 *
 * SITE fails TIMES times (default 1; -1: every time) after SKIP calls
 * that go through (default 0), with ERRNO (a name such as EMFILE, or a
 * number; default the site's usual one).  The sites:
 *
 *   stack_mmap  mmap of a chunk of goroutine stacks (ENOMEM): rg_go
 *               returns -ENOMEM, rg_main -ENOMEM for the main goroutine
 *   ring_init   io_uring setup of one P's ring (ENOMEM): the rings made
 *               so far are closed and the runtime runs on epoll
 *   accept      the kernel's answer to an accept in rg_accept (EMFILE),
 *               no connection taken; ECONNABORTED is taken for a client
 *               gone before its accept, and rg_accept waits for the next
 *   ring_submit the kernel's answer to one io_uring submission (EAGAIN:
 *               no memory for requests; EBUSY, before 5.19, a CQ backlog),
 *               nothing submitted: uring/ring.c tries again until the SQ
 *               is empty
 *   reaper_thread  pthread_create of proc/'s orphan reaper (EAGAIN): the
 *               orphans wait for the next rg_command, start, wait or
 *               free, which reaps them and tries the thread again
 *
 * A malformed RINGO_FAULT is reported on stderr once and ignored.
 */
#ifndef RG_RT_FAULT_H
#define RG_RT_FAULT_H

#include <stdatomic.h>
#include <stdbool.h>

#include "rt.h"

enum rg_fault_site {
	RG_FAULT_STACK_MMAP,
	RG_FAULT_RING_INIT,
	RG_FAULT_ACCEPT,
	RG_FAULT_RING_SUBMIT,
	RG_FAULT_REAPER_THREAD,
	RG_FAULT_NSITES,
};

/* True while any site is armed. */
extern _Atomic bool rg__fault_on RG_HIDDEN;

/* The -errno a site must fail with now, or 0 to go on (taking one of
 * the SKIP or TIMES it was armed with). */
int rg__fault_take(int site) RG_HIDDEN;

static inline int rg__fault(int site)
{
	if (RG_LIKELY(!atomic_load_explicit(&rg__fault_on, memory_order_relaxed)))
		return 0;
	return rg__fault_take(site);
}

/* Arms site: after `skip` calls through, `times` failures (-1: all) with
 * -err (err > 0; 0: the site's default).  times 0 disarms it. */
void rg__fault_arm(int site, int err, int skip, int times) RG_HIDDEN;

/* Disarms every site and zeroes the counts. */
void rg__fault_reset(void) RG_HIDDEN;

/* How many failures site has injected since it was armed. */
int rg__fault_hits(int site) RG_HIDDEN;

/* Arms what RINGO_FAULT says (rg_main and rg_init call it). */
void rg__fault_env(void) RG_HIDDEN;

#endif
