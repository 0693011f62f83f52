// SPDX-License-Identifier: MIT
/*
 * Goroutine stacks and G structs.
 *
 * Stacks come in chunks of RG_CHUNK_SLOTS slots, each slot stack_size
 * bytes (RINGO_STACK_SIZE, default 256 KiB of address space):
 *
 *     chunk: | slot 0 | slot 1 | ... | slot 63 |
 *     slot:  | guard (4 pages) | stack, grows down <-- | rg_stk |
 *            lo                                                hi
 *
 * A chunk is one anonymous mapping reserved with MAP_NORESERVE: the
 * kernel commits a page only when a goroutine first touches it, so a
 * parked goroutine whose frames fit in one page costs that page plus its
 * G.  Huge pages are refused for chunks, or one touch would commit 2 MiB.
 * The small rg_stk header at the top of each slot names the G running on
 * it (for the stack-overflow report) and links free stacks.
 *
 * Guards.  Linux >= 6.13 installs guard regions inside a mapping with
 * madvise(MADV_GUARD_INSTALL): a fault on them raises SIGSEGV and the
 * mapping stays one VMA, so a million stacks need ~16k VMAs, far below
 * vm.max_map_count (65530).  Older kernels fall back to mprotect(PROT_NONE)
 * on each guard, which splits the mapping: two VMAs per stack, so the
 * fallback tops out near 30k live goroutines unless vm.max_map_count is
 * raised.  RINGO_GUARD=mprotect forces the fallback (the tests run both).
 * MADV_GUARD_INSTALL guards are installed when a slot is first used, not
 * when its chunk is mapped (chunk_new says why); mprotect guards at map
 * time.
 *
 * Stack caches, warmest first:
 *   1. per-P free list (pages resident, likely in cache), up to RG_PCACHE;
 *      owner only, no lock; LIFO, so a burst of short goroutines keeps
 *      reusing the same hot stack;
 *   2. a global warm list, moved in batches of RG_PCACHE/2 under stk.lock;
 *      sysmon trims it towards RG_WARM_MAX (rg__stack_scavenge);
 *   3. cold slots: memory given back with MADV_DONTNEED (guard markers
 *      survive it), tracked by a per-chunk bitmap.
 * Chunks are unmapped only at teardown.
 *
 * Gs live in slabs of RG_SLAB_GS, never freed before teardown (like Go's
 * allgs), with the same per-P / global free lists.  A G takes a stack
 * only when it first runs (sched.c), so spawning does not touch a stack.
 * The global G list is a stack of batches of at most G_BATCH (chains
 * through schedlink; see gbatch), moved to and from the Ps whole: a P
 * that ran out takes a batch in O(1) under stk.lock.  It used to take
 * them one by one, and each step loaded the schedlink of a G last
 * written by the other P: a chain of dependent cache misses with
 * stk.lock held (errgroup at 2 Ps, perf: two thirds of rg__galloc, a
 * fifth of the run, and the other P's rg__gfree waiting on the lock).
 *
 * Reservation.  rg_go must say -ENOMEM when no stack can be had (mmap
 * refused: RLIMIT_AS, vm.max_map_count, the stack_mmap fault), since
 * the goroutine's first run is too late to tell anyone.  So spawning
 * reserves a slot (rg__stack_reserve) and exiting gives it back, and
 * the chunks always hold at least every reserved slot plus what the
 * per-P caches can hide (RG_PCACHE + 1 each): a stack bind then always
 * finds a warm or cold slot, and never maps (a first use may install a
 * guard, see chunk_new).  Reservations are counted
 * globally in batches of RG_RESERVE_BATCH per P (like Go's goidcache),
 * so a spawn costs no shared write but one in 16; when mmap refuses, the
 * budgets the Ps hold are taken back before rg_go gives up.
 * *
 * Spawn cost of the reservations (issue 8, bench_spawn at 2 Ps): when
 * rg_go runs ahead of the Ps, the reservations map chunks for goroutines
 * that have only queued, and mapping each chunk with its 64 guards under
 * stk.lock took the time (perf: madvise, walk_pgd_range and
 * unmap_page_range from the guard installs, the other P waiting on
 * stk.lock in rg__gfree): ~250 ns/op before reservations, ~500-1000
 * with.  Now guards wait for a slot's first use and chunks are mapped
 * several at a time.
 *
 * Rejected: one mmap per stack (a VMA or two each, and an mmap/munmap
 * pair per goroutine); the G header inside its stack (a page fault and a
 * TLB miss per spawn, and a fresh stack per not-yet-started goroutine);
 * segmented or copied stacks (C code holds pointers into its stack).
 */
#include "rt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rt_fault.h"
#include "sanitizer.h"
#ifdef RG_SAN_ASAN
#include <sanitizer/asan_interface.h>
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13 */
#endif

#define RG_CHUNK_SLOTS 64
#define RG_GUARD_PAGES 4
#define RG_PCACHE 64        /* per-P cached stacks and Gs */
#define RG_WARM_MAX 1024    /* warm stacks kept by the scavenger */
#define RG_SLAB_GS 256      /* Gs per slab */
#define RG_RESERVE_BATCH 16 /* stack reservations a P takes at once */
#define RG_MAP_MAX 64       /* chunks mapped at once, at most */

/* Header at the top of every stack slot. */
typedef struct rg_stk {
	rg_g *owner;             /* G running on it, NULL when free */
	struct rg_stk *next;     /* free list link */
	rg_chunk *chunk;
	uint32_t slot;
} rg_stk;

struct rg_chunk {
	char *base;          /* first slot */
	uint64_t cold;       /* bit i: slot i free and cold (stk.lock) */
	uint64_t guarded;    /* bit i: slot i's guard installed (stk.lock) */
	rg_chunk *next;      /* all chunks (prepended under stk.lock) */
	rg_chunk *next_cold; /* chunks with cold slots (stk.lock) */
	bool on_cold_list;
};

typedef struct rg_gslab {
	struct rg_gslab *next;
	rg_g gs[RG_SLAB_GS];
} rg_gslab;

/* Per-P caches live in the P (gfree for Gs); stacks are kept here per P
 * index, owner only. */
typedef struct rg_pstk {
	rg_stk *free;
	int n;
	_Atomic int budget;      /* reservations taken and not yet used: the
				  * owner's, but reclaimable (see reserve) */
} __attribute__((aligned(RG_CACHELINE))) rg_pstk; /* a line each: no P's
				  * spawn or exit writes another's line */

static struct {
	rg__lock_t lock;
	size_t slot;             /* bytes per slot */
	size_t guard;            /* guard bytes at the bottom of a slot */
	size_t hdr;              /* bytes reserved for rg_stk at the top */
	size_t page;
	bool use_madvise;        /* MADV_GUARD_INSTALL, else mprotect */
	rg_chunk *_Atomic chunks;/* every chunk; never shrinks until teardown */
	_Atomic long reserved;   /* live goroutines + P budgets (see top) */
	_Atomic long capacity;   /* slots in all chunks */
	rg_chunk *cold;          /* chunks with cold slots (lock) */
	rg_stk *warm;            /* global warm stacks (lock) */
	int nwarm;
	rg_gslab *_Atomic slabs; /* every G slab */
	rg_g *gfree;             /* global free G batches (lock; gbatch) */
	rg_pstk *pstk;           /* per-P stack caches, by p->id */
	int nprocs;
} stk;

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

static bool probe_guard_install(void)
{
	void *p = mmap(NULL, stk.page * 2, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return false;
	bool ok = madvise(p, stk.page, MADV_GUARD_INSTALL) == 0;
	munmap(p, stk.page * 2);
	return ok;
}

static rg_chunk *chunk_new(int k);

int rg__stack_setup(size_t stack_size)
{
	const char *mode = getenv("RINGO_GUARD");

	memset(&stk, 0, sizeof(stk));
	stk.page = (size_t)sysconf(_SC_PAGESIZE);
	stk.guard = RG_GUARD_PAGES * stk.page;
	stk.hdr = round_up(sizeof(rg_stk), RG_CACHELINE);
	/* A chunk of such stacks must fit the address space: beyond, no
	 * goroutine could ever run (RINGO_STACK_SIZE=64T, or a value whose
	 * suffix overflowed, saturated to SIZE_MAX by the caller). */
	if (stack_size > (SIZE_MAX >> 1) / RG_CHUNK_SLOTS)
		return -ENOMEM;
	stk.slot = round_up(stack_size, stk.page);
	if (stk.slot < stk.guard + 8 * stk.page)
		return -EINVAL;
	stk.nprocs = rg__sched.nprocs;
	stk.pstk = aligned_alloc(RG_CACHELINE, (size_t)stk.nprocs * sizeof(rg_pstk));
	if (!stk.pstk)
		return -ENOMEM;
	memset(stk.pstk, 0, (size_t)stk.nprocs * sizeof(rg_pstk));
	if (mode && strcmp(mode, "mprotect") == 0)
		stk.use_madvise = false;
	else
		stk.use_madvise = probe_guard_install();
	/* The first chunk now, so that a size the kernel cannot map is
	 * rg_main's -ENOMEM, not a fatal error at the first goroutine. */
	rg_chunk *c = chunk_new(1);
	if (!c) {
		free(stk.pstk);
		memset(&stk, 0, sizeof(stk));
		return -ENOMEM;
	}
	atomic_store_explicit(&stk.chunks, c, memory_order_relaxed);
	c->on_cold_list = true;
	stk.cold = c;
	atomic_store_explicit(&stk.capacity, RG_CHUNK_SLOTS, memory_order_relaxed);
	return 0;
}

const char *rg__stack_guard_mode(void)
{
	return stk.use_madvise ? "madvise" : "mprotect";
}

/* ---- Gs ------------------------------------------------------------ */

static void g_reset(rg_g *g)
{
	void *fiber = g->tsan_fiber;
	memset(g, 0, sizeof(*g));
	g->tsan_fiber = fiber;
}

/* Global free Gs, in batches: a batch is a chain of free Gs through
 * schedlink, NULL-terminated; its first G carries the next batch in
 * param and the batch's length in waitsince (fields a free G does not
 * use, and that no dump or tracer reads; g_reset clears them when the G
 * is taken).  Only the first batch
 * may be short: single Gs freed without a P join it. */
#define G_BATCH (RG_PCACHE / 2)

static inline rg_g *gbatch_next(rg_g *b)
{
	return b->param;
}

static inline uint32_t gbatch_len(rg_g *b)
{
	return (uint32_t)b->waitsince;
}

/* stk.lock held: b (n Gs chained) becomes the first batch. */
static inline void gbatch_push_locked(rg_g *b, uint32_t n)
{
	b->param = stk.gfree;
	b->waitsince = n;
	stk.gfree = b;
}

/* stk.lock held: a fresh slab's Gs as batches. */
static bool gslab_new_locked(void)
{
	rg_gslab *s = calloc(1, sizeof(*s));
	if (!s)
		return false;
	for (int i = 0; i < RG_SLAB_GS; i += G_BATCH) {
		int n = RG_SLAB_GS - i < G_BATCH ? RG_SLAB_GS - i : G_BATCH;
		for (int j = 0; j < n - 1; j++)
			s->gs[i + j].schedlink = &s->gs[i + j + 1];
		gbatch_push_locked(&s->gs[i], (uint32_t)n);
	}
	s->next = atomic_load_explicit(&stk.slabs, memory_order_relaxed);
	/* Release: the slab's contents before its publication to
	 * lock-free walkers (dumps). */
	atomic_store_explicit(&stk.slabs, s, memory_order_release);
	return true;
}

rg_g *rg__galloc(rg_p *p)
{
	rg_g *g = p ? p->gfree : NULL;
	if (g) {
		p->gfree = g->schedlink;
		p->ngfree--;
		g_reset(g);
		return g;
	}
	rg__lock(&stk.lock);
	if (!stk.gfree && !gslab_new_locked()) {
		rg__unlock(&stk.lock);
		return NULL;
	}
	/* The first batch: all of it for a P (one for us, the rest its
	 * cache, which is empty here), its first G for a thread without. */
	g = stk.gfree;
	rg_g *rest = g->schedlink;
	uint32_t n = gbatch_len(g);
	stk.gfree = gbatch_next(g);
	if (!p && rest)
		gbatch_push_locked(rest, n - 1);
	rg__unlock(&stk.lock);
	if (p) {
		p->gfree = rest;
		p->ngfree = (int)n - 1;
	}
	g_reset(g);
	return g;
}

void rg__gfree(rg_p *p, rg_g *g)
{
	atomic_store_explicit(&g->status, RG_G_FREE, memory_order_relaxed);
	if (p) {
		g->schedlink = p->gfree;
		p->gfree = g;
		if (++p->ngfree <= RG_PCACHE)
			return;
		/* Too many: the most recent G_BATCH go to the global list as
		 * one batch (cut outside the lock; these are this P's). */
		rg_g *last = g;
		for (int i = 1; i < G_BATCH; i++)
			last = last->schedlink;
		p->gfree = last->schedlink;
		p->ngfree -= G_BATCH;
		last->schedlink = NULL;
		rg__lock(&stk.lock);
		gbatch_push_locked(g, G_BATCH);
		rg__unlock(&stk.lock);
		return;
	}
	rg__lock(&stk.lock);
	rg_g *b = stk.gfree;
	if (b && gbatch_len(b) < G_BATCH) {
		/* g heads the short first batch. */
		g->schedlink = b;
		stk.gfree = gbatch_next(b);
		gbatch_push_locked(g, gbatch_len(b) + 1);
	} else {
		g->schedlink = NULL;
		gbatch_push_locked(g, 1);
	}
	rg__unlock(&stk.lock);
}

void rg__for_each_g(void (*fn)(rg_g *g, void *arg), void *arg)
{
	for (rg_gslab *s = atomic_load_explicit(&stk.slabs, memory_order_acquire); s; s = s->next)
		for (int i = 0; i < RG_SLAB_GS; i++) {
			rg_g *g = &s->gs[i];
			if (atomic_load_explicit(&g->status, memory_order_acquire) != RG_G_FREE)
				fn(g, arg);
		}
}

/* ---- stacks -------------------------------------------------------- */

static inline char *slot_base(rg_chunk *c, uint32_t i)
{
	return c->base + (size_t)i * stk.slot;
}

static inline rg_stk *slot_stk(rg_chunk *c, uint32_t i)
{
	return (rg_stk *)(slot_base(c, i) + stk.slot - stk.hdr);
}

/* Maps k chunks in one mapping (munmap takes them back one by one at
 * teardown); returns them linked through next, or NULL: mmap refused.
 * With MADV_GUARD_INSTALL the guards wait for each slot's first use
 * (guard_slot): installing them walks and fills page tables, ~1 us a
 * slot, and reservations map chunks for goroutines that have not run
 * yet (a burst of rg_go far ahead of the Ps maps thousands of chunks
 * whose slots are never used).  The mprotect fallback installs them
 * here: its guards are VMAs, the very resource the reservation is for. */
static rg_chunk *chunk_new(int k)
{
	size_t len = stk.slot * RG_CHUNK_SLOTS;
	if ((size_t)k > SIZE_MAX / len)
		return NULL;
	char *base = rg__fault(RG_FAULT_STACK_MMAP)
			     ? MAP_FAILED
			     : mmap(NULL, len * (size_t)k, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	madvise(base, len * (size_t)k, MADV_NOHUGEPAGE);
	/* No unpoisoning here (it would write the shadow of all 64 stacks,
	 * 2 MiB per chunk): a fresh mapping's shadow is clean, because
	 * whatever frames a stack still held when it was released or torn
	 * down were unpoisoned then (san_unpoison_used). */
	rg_chunk *head = NULL;
	for (int j = k - 1; j >= 0; j--) {
		char *cb = base + (size_t)j * len;
		rg_chunk *c = calloc(1, sizeof(*c));
		bool ok = c != NULL;
		for (int i = 0; ok && !stk.use_madvise && i < RG_CHUNK_SLOTS; i++)
			ok = mprotect(cb + (size_t)i * stk.slot, stk.guard, PROT_NONE) == 0;
		if (!ok) {
			free(c);
			munmap(base, len * (size_t)(j + 1));
			while (head) {
				rg_chunk *n = head->next;
				munmap(head->base, len);
				free(head);
				head = n;
			}
			return NULL;
		}
		c->base = cb;
		c->cold = ~(uint64_t)0;
		c->guarded = stk.use_madvise ? 0 : ~(uint64_t)0;
		c->next = head;
		head = c;
	}
	return head;
}

/* Installs slot i's guard on its first use (MADV_GUARD_INSTALL only,
 * see chunk_new); false: the kernel refused (no memory for page tables).
 * stk.lock held. */
static bool guard_slot(rg_chunk *c, uint32_t i)
{
	uint64_t bit = (uint64_t)1 << i;
	if (RG_LIKELY(c->guarded & bit))
		return true;
	if (madvise(slot_base(c, i), stk.guard, MADV_GUARD_INSTALL) != 0)
		return false;
	c->guarded |= bit;
	return true;
}

/* Maps chunks and puts them on the cold list; false: mmap refused.
 * Several at once as the stacks grow (an eighth of what is mapped, up
 * to RG_MAP_MAX chunks), so a burst of a million rg_go maps a few
 * hundred times, not 16k; when that much is refused (RLIMIT_AS), one.
 * stk.lock held. */
static bool chunk_add(void)
{
	long cap = atomic_load_explicit(&stk.capacity, memory_order_relaxed);
	long k = cap / RG_CHUNK_SLOTS / 8;
	k = k < 1 ? 1 : k > RG_MAP_MAX ? RG_MAP_MAX : k;
	rg_chunk *c = chunk_new((int)k);
	if (!c && k > 1)
		c = chunk_new((int)(k = 1));
	if (!c)
		return false;
	rg_chunk *last = c;
	while (last->next)
		last = last->next;
	for (rg_chunk *x = c; x; x = x->next) {
		x->on_cold_list = true;
		x->next_cold = x->next ? x->next : stk.cold;
	}
	stk.cold = c;
	last->next = atomic_load_explicit(&stk.chunks, memory_order_relaxed);
	atomic_store_explicit(&stk.chunks, c, memory_order_release);
	atomic_fetch_add_explicit(&stk.capacity, k * RG_CHUNK_SLOTS, memory_order_relaxed);
	return true;
}

/* Takes a cold slot, making a chunk if needed (never, while the
 * reservations hold).  stk.lock held. */
static rg_stk *cold_get(void)
{
	if (!stk.cold && !chunk_add())
		return NULL;
	rg_chunk *c = stk.cold;
	uint32_t i = (uint32_t)__builtin_ctzll(c->cold);
	if (!guard_slot(c, i))
		return NULL;
	c->cold &= ~((uint64_t)1 << i);
	if (!c->cold) {
		stk.cold = c->next_cold;
		c->on_cold_list = false;
	}
	rg_stk *s = slot_stk(c, i);
	s->chunk = c;
	s->slot = i;
	return s;
}

/* Reserves n slots, mapping chunks until the reservations and what the
 * per-P caches may hold fit; -ENOMEM when mmap refuses. */
static int reserve(long n)
{
	long need = atomic_fetch_add_explicit(&stk.reserved, n, memory_order_relaxed) + n +
		    (long)stk.nprocs * (RG_PCACHE + 1);
	if (RG_LIKELY(need <= atomic_load_explicit(&stk.capacity, memory_order_relaxed)))
		return 0;
	rg__lock(&stk.lock);
	while (atomic_load_explicit(&stk.capacity, memory_order_relaxed) < need) {
		if (!chunk_add()) {
			rg__unlock(&stk.lock);
			atomic_fetch_sub_explicit(&stk.reserved, n, memory_order_relaxed);
			return -ENOMEM;
		}
	}
	rg__unlock(&stk.lock);
	return 0;
}

/* Takes back the budgets every P holds (out of address space: they may
 * be the last free slots). */
static void reclaim_budgets(void)
{
	for (int i = 0; i < stk.nprocs; i++) {
		int b = atomic_exchange_explicit(&stk.pstk[i].budget, 0, memory_order_relaxed);
		if (b > 0)
			atomic_fetch_sub_explicit(&stk.reserved, b, memory_order_relaxed);
	}
}

int rg__stack_reserve(rg_p *p)
{
	rg_pstk *ps = p ? &stk.pstk[p->id] : NULL;
	if (ps) {
		/* Owner only, but a reclaim may empty it meanwhile. */
		int b = atomic_load_explicit(&ps->budget, memory_order_relaxed);
		while (b > 0)
			if (atomic_compare_exchange_weak_explicit(&ps->budget, &b, b - 1,
								  memory_order_relaxed,
								  memory_order_relaxed))
				return 0;
		if (reserve(RG_RESERVE_BATCH) == 0) {
			atomic_fetch_add_explicit(&ps->budget, RG_RESERVE_BATCH - 1,
						  memory_order_relaxed);
			return 0;
		}
	}
	if (reserve(1) == 0)
		return 0;
	reclaim_budgets();
	return reserve(1);
}

void rg__stack_unreserve(rg_p *p)
{
	rg_pstk *ps = p ? &stk.pstk[p->id] : NULL;
	if (!ps) {
		atomic_fetch_sub_explicit(&stk.reserved, 1, memory_order_relaxed);
		return;
	}
	int b = atomic_fetch_add_explicit(&ps->budget, 1, memory_order_relaxed) + 1;
	if (b > 2 * RG_RESERVE_BATCH &&
	    atomic_compare_exchange_strong_explicit(&ps->budget, &b, b - RG_RESERVE_BATCH,
						    memory_order_relaxed, memory_order_relaxed))
		atomic_fetch_sub_explicit(&stk.reserved, RG_RESERVE_BATCH, memory_order_relaxed);
}

int rg__stack_bind(rg_p *p, rg_g *g)
{
	rg_pstk *ps = p ? &stk.pstk[p->id] : NULL;
	rg_stk *s = ps ? ps->free : NULL;

	if (s) {
		ps->free = s->next;
		ps->n--;
	} else {
		rg__lock(&stk.lock);
		/* Refill half the P's cache from the warm list. */
		while (ps && stk.warm && ps->n < RG_PCACHE / 2) {
			rg_stk *w = stk.warm;
			stk.warm = w->next;
			stk.nwarm--;
			w->next = ps->free;
			ps->free = w;
			ps->n++;
		}
		if (ps && ps->free) {
			s = ps->free;
			ps->free = s->next;
			ps->n--;
		} else if (stk.warm) {
			s = stk.warm;
			stk.warm = s->next;
			stk.nwarm--;
		} else {
			s = cold_get();
		}
		rg__unlock(&stk.lock);
		if (!s)
			return -ENOMEM;
	}
	s->owner = g;
	g->stack_lo = slot_base(s->chunk, s->slot) + stk.guard;
	g->stack_hi = (char *)s;
	return 0;
}

/* Gives a slot's memory back to the kernel and marks it cold. */
static void make_cold(rg_stk *s)
{
	rg_chunk *c = s->chunk;
	uint32_t i = s->slot;

	/* Zaps the pages, the header too.  Guard markers installed by
	 * MADV_GUARD_INSTALL survive MADV_DONTNEED. */
	madvise(slot_base(c, i) + stk.guard, stk.slot - stk.guard, MADV_DONTNEED);
	rg__lock(&stk.lock);
	c->cold |= (uint64_t)1 << i;
	if (!c->on_cold_list) {
		c->on_cold_list = true;
		c->next_cold = stk.cold;
		stk.cold = c;
	}
	rg__unlock(&stk.lock);
}

/*
 * Under AddressSanitizer: clears the shadow of the part of g's stack
 * that can hold poisoned redzones, the frames still on it when it last
 * switched out (rg_exit abandons them; a goroutine left parked at
 * teardown keeps them), from its saved stack pointer to the top.  Below
 * that pointer every frame has returned and unpoisoned its own
 * redzones.  Clearing the whole stack instead would write 1/8 of its
 * size in shadow (32 KiB for 256 KiB), committing it for every
 * goroutine that ever ran: about 23 GB for a million.
 */
#define SAN_SP_SLACK 512 /* below the saved sp: the red zone, and margin */

static void san_unpoison_used(rg_g *g)
{
#ifdef RG_SAN_ASAN
	char *lo = g->stack_lo, *sp = g->sp;
	if (sp && sp - SAN_SP_SLACK > lo && sp <= g->stack_hi)
		lo = sp - SAN_SP_SLACK;
	__asan_unpoison_memory_region(lo, (size_t)(g->stack_hi - lo));
#else
	(void)g;
#endif
}

void rg__stack_release(rg_p *p, rg_g *g)
{
	rg_stk *s = (rg_stk *)g->stack_hi;
	if (!s)
		return;
	san_unpoison_used(g);
	s->owner = NULL;
	g->stack_hi = g->stack_lo = NULL;
	rg_pstk *ps = p ? &stk.pstk[p->id] : NULL;
	if (ps) {
		s->next = ps->free;
		ps->free = s;
		if (++ps->n <= RG_PCACHE)
			return;
		/* Move half the cache to the global warm list in one batch. */
		rg_stk *head = NULL, *tail = NULL;
		int n = 0;
		while (ps->n > RG_PCACHE / 2) {
			rg_stk *x = ps->free;
			ps->free = x->next;
			ps->n--;
			x->next = head;
			head = x;
			if (!tail)
				tail = x;
			n++;
		}
		rg__lock(&stk.lock);
		tail->next = stk.warm;
		stk.warm = head;
		stk.nwarm += n;
		rg__unlock(&stk.lock);
		return;
	}
	rg__lock(&stk.lock);
	s->next = stk.warm;
	stk.warm = s;
	stk.nwarm++;
	rg__unlock(&stk.lock);
}

void rg__stack_scavenge(bool all)
{
	/* Called by sysmon, off the hot paths: the warm list may grow while
	 * goroutines come and go in bursts (Go keeps its free stacks too);
	 * what stays unused is given back half at a time each second, down
	 * to RG_WARM_MAX, or all of it past that when `all`. */
	rg_stk *cold = NULL;
	rg__lock(&stk.lock);
	int n = stk.nwarm - RG_WARM_MAX;
	if (n > 0 && !all)
		n = (n + 1) / 2;
	for (int i = 0; i < n; i++) {
		rg_stk *x = stk.warm;
		stk.warm = x->next;
		stk.nwarm--;
		x->next = cold;
		cold = x;
	}
	rg__unlock(&stk.lock);
	while (cold) {
		rg_stk *x = cold;
		cold = x->next;
		make_cold(x);
	}
}

rg_g *rg__stack_guard_owner(const void *addr)
{
	const char *a = addr;
	for (rg_chunk *c = atomic_load_explicit(&stk.chunks, memory_order_acquire); c; c = c->next) {
		if (a < c->base || a >= c->base + stk.slot * RG_CHUNK_SLOTS)
			continue;
		uint32_t i = (uint32_t)((size_t)(a - c->base) / stk.slot);
		if (a >= slot_base(c, i) + stk.guard)
			return NULL; /* inside a stack, not its guard */
		return slot_stk(c, i)->owner;
	}
	return NULL;
}

void rg__stack_teardown(void)
{
	/* Goroutines abandoned with their frames: clean their shadow, or a
	 * later mapping at these addresses (a next rg_main) inherits it. */
	for (rg_gslab *s = atomic_load(&stk.slabs); s; s = s->next)
		for (int i = 0; i < RG_SLAB_GS; i++)
			if (s->gs[i].stack_hi)
				san_unpoison_used(&s->gs[i]);
	rg_chunk *c = atomic_load(&stk.chunks);
	while (c) {
		rg_chunk *next = c->next;
		munmap(c->base, stk.slot * RG_CHUNK_SLOTS);
		free(c);
		c = next;
	}
	rg_gslab *s = atomic_load(&stk.slabs);
	while (s) {
		rg_gslab *next = s->next;
		for (int i = 0; i < RG_SLAB_GS; i++)
			rg__san_tsan_destroy(s->gs[i].tsan_fiber);
		free(s);
		s = next;
	}
	free(stk.pstk);
	memset(&stk, 0, sizeof(stk));
}
