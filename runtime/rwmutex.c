// SPDX-License-Identifier: MIT
/*
 * rwmutex.c — rg_rwmutex_t, Go's sync.RWMutex.
 *
 * Fields (all in rg_rwmutex_t):
 *   w             serialises writers: held from the start of a writer's
 *                 lock until its unlock, so at most one writer is pending
 *                 or active.
 *   reader_count  readers holding or waiting for a read lock; while a
 *                 writer is pending or active it is lowered by
 *                 RW_MAX_READERS, so a negative value tells arriving
 *                 readers to wait on reader_sem, and tells departing
 *                 readers that a writer may be waiting for them.
 *   reader_wait   readers that were inside when the pending writer
 *                 announced itself and have not left yet; the one that
 *                 brings it to zero releases writer_sem.
 *   writer_sem    the pending writer waits here for those readers.
 *   reader_sem    readers that arrived behind a writer wait here; its
 *                 unlock releases exactly that many tokens.
 *
 * Invariants:
 *   - reader_count >= 0: no writer; it counts the readers inside.
 *   - reader_count < 0: a writer holds w; reader_count + RW_MAX_READERS
 *     is the number of readers that arrived since (all waiting or about
 *     to wait on reader_sem), and reader_wait + those still inside from
 *     before equals what the writer waits for.
 *   - No starvation either way: a pending writer blocks new readers,
 *     and the readers it blocked are admitted (one token each) before w
 *     is released to the next writer.
 *
 * Why the semaphores count: a reader may see reader_count < 0 and be
 * about to queue on reader_sem when the writer's unlock releases its
 * token; the token must wait for it (rg__sema_t banks it).  Same for the
 * last departing reader and writer_sem.
 *
 * Rejected: a single state word with a reader count, writer bit and
 * writer-waiting bit plus one queue (glibc's rwlock style).  It is
 * denser, but needs its own careful protocol for reader batches and
 * writer preference; Go's layering over an existing mutex and two
 * semaphores reuses proven pieces and keeps each step one atomic op.
 */
#include "waitq.h"

#define RW_MAX_READERS (1 << 30)

void rg_rwmutex_rlock(rg_rwmutex_t *rw)
{
	/* Acquire: a writer's critical section (published by its unlock's
	 * release add) happens before ours. */
	if (atomic_fetch_add_explicit(&rw->reader_count, 1,
				      memory_order_acquire) + 1 < 0)
		/* A writer is pending or active: wait for its unlock. */
		rg__sema_acquire(&rw->reader_sem, RG_WAIT_RWMUTEX_R);
}

bool rg_rwmutex_tryrlock(rg_rwmutex_t *rw)
{
	int32_t c = atomic_load_explicit(&rw->reader_count, memory_order_relaxed);
	for (;;) {
		if (c < 0)
			return false;
		if (atomic_compare_exchange_weak_explicit(&rw->reader_count, &c,
				c + 1, memory_order_acquire, memory_order_relaxed))
			return true;
	}
}

static void runlock_slow(rg_rwmutex_t *rw, int32_t r)
{
	if (r + 1 == 0 || r + 1 == -RW_MAX_READERS)
		rg_panic("sync: RUnlock of unlocked RWMutex");
	/* A writer is pending.  acq_rel: our critical section happens
	 * before the writer's (release), and the last reader to leave must
	 * see the others' decrements before releasing the writer. */
	if (atomic_fetch_sub_explicit(&rw->reader_wait, 1,
				      memory_order_acq_rel) - 1 == 0)
		rg__sema_release(&rw->writer_sem);
}

void rg_rwmutex_runlock(rg_rwmutex_t *rw)
{
	/* Release: our reads happen before a later writer's writes. */
	int32_t r = atomic_fetch_sub_explicit(&rw->reader_count, 1,
					      memory_order_release) - 1;
	if (RG_UNLIKELY(r < 0))
		runlock_slow(rw, r);
}

void rg_rwmutex_lock(rg_rwmutex_t *rw)
{
	/* First, beat the other writers. */
	rg__mutex_lock_as(&rw->w, RG_WAIT_RWMUTEX_W);
	/* Announce ourselves to readers and count those inside.  acq_rel:
	 * readers that already left are ordered before us (acquire), and
	 * arriving readers see a negative count (release is for symmetry
	 * with unlock; the count itself carries no data). */
	int32_t r = atomic_fetch_add_explicit(&rw->reader_count,
					      -RW_MAX_READERS,
					      memory_order_acq_rel);
	/* Wait for the readers inside, unless they all left already
	 * (their decrements of reader_wait may precede our addition). */
	if (r != 0 && atomic_fetch_add_explicit(&rw->reader_wait, r,
				memory_order_acq_rel) + r != 0)
		rg__sema_acquire(&rw->writer_sem, RG_WAIT_RWMUTEX_W);
}

bool rg_rwmutex_trylock(rg_rwmutex_t *rw)
{
	if (!rg_mutex_trylock(&rw->w))
		return false;
	int32_t zero = 0;
	if (!atomic_compare_exchange_strong_explicit(&rw->reader_count, &zero,
			-RW_MAX_READERS, memory_order_acquire,
			memory_order_relaxed)) {
		rg_mutex_unlock(&rw->w);
		return false;
	}
	return true;
}

void rg_rwmutex_unlock(rg_rwmutex_t *rw)
{
	/* Let readers in again.  Release: our writes happen before the
	 * critical sections of readers that acquire the count after us. */
	int32_t r = atomic_fetch_add_explicit(&rw->reader_count, RW_MAX_READERS,
					      memory_order_release) + RW_MAX_READERS;
	if (RG_UNLIKELY(r >= RW_MAX_READERS))
		rg_panic("sync: Unlock of unlocked RWMutex");
	/* Admit the readers that queued behind us (the token handoff
	 * orders our writes before their reads). */
	for (int32_t i = 0; i < r; i++)
		rg__sema_release(&rw->reader_sem);
	/* Then let the next writer in. */
	rg_mutex_unlock(&rw->w);
}
