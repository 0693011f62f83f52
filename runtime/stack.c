/*
 * Goroutine stacks, and the G headers that live at their tops.
 *
 * Memory layout.  Stacks come in chunks of RG_CHUNK_SLOTS slots, each
 * slot stack_size bytes (RINGO_STACK_SIZE, default 256 KiB):
 *
 *     chunk: | slot 0 | slot 1 | ... | slot 63 |
 *     slot:  | guard (4 pages) | stack, grows down <-- | rg_g header |
 *            lo                                                     hi
 *
 * A chunk is one anonymous mapping reserved with MAP_NORESERVE: the
 * kernel commits a page only when the goroutine first touches it, so a
 * parked goroutine whose frames fit in the top page costs that one page
 * (the G header shares it).  Huge pages are refused for chunks, or a
 * single touch would commit 2 MiB.
 *
 * Guards.  Linux >= 6.13 installs guard regions inside a mapping with
 * madvise(MADV_GUARD_INSTALL): a fault on them raises SIGSEGV and the
 * mapping stays one VMA, so a million stacks need ~16k VMAs, far below
 * vm.max_map_count (65530).  Older kernels fall back to mprotect(PROT_NONE)
 * on each guard, which splits the mapping: two VMAs per stack, so the
 * fallback tops out near 30k live goroutines unless vm.max_map_count is
 * raised.  RINGO_GUARD=mprotect forces the fallback (the tests run both).
 *
 * Caches, warmest first:
 *   1. per-P free list of Gs (header intact, pages resident), up to
 *      RG_PCACHE; owner only, no lock;
 *   2. a global warm list, up to RG_WARM_MAX, moved in batches of
 *      RG_PCACHE/2 under stk.lock;
 *   3. cold slots: their memory given back with MADV_DONTNEED (the guard
 *      markers survive it), tracked by a per-chunk bitmap.
 * Chunks are unmapped only at teardown, like Go's stack spans are mostly
 * kept: address space is cheap, the page tables of cold slots are not
 * resident.
 *
 * Rejected: one mmap per stack (a VMA or two each, and an mmap/munmap
 * syscall pair per goroutine); malloc'd G structs (a second allocation per
 * goroutine and a second cache line to miss on every switch); segmented
 * or copied stacks (C code holds pointers into its stack).
 */
#include "rt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13 */
#endif

#include "sanitizer.h"
#ifdef RG_SAN_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define RG_CHUNK_SLOTS 64
#define RG_GUARD_PAGES 4
#define RG_PCACHE 64        /* per-P warm Gs */
#define RG_WARM_MAX 1024    /* global warm Gs beyond which memory is returned */

struct rg_chunk {
	char *base;          /* first slot */
	uint64_t cold;       /* bit i: slot i free and cold (stk.lock) */
	uint64_t used;       /* bit i: slot i ever handed out (stk.lock) */
	rg_chunk *next;      /* all chunks */
	rg_chunk *next_cold; /* chunks with cold slots (stk.lock) */
	bool on_cold_list;
};

static struct {
	rg__lock_t lock;
	size_t slot;             /* bytes per slot */
	size_t guard;            /* guard bytes at the bottom of a slot */
	size_t hdr;              /* bytes reserved for the G header */
	size_t page;
	bool use_madvise;        /* MADV_GUARD_INSTALL, else mprotect */
	rg_chunk *chunks;        /* every chunk (lock), never shrinks */
	rg_chunk *cold;          /* chunks with cold slots (lock) */
	rg_g *warm;              /* global warm list via schedlink (lock) */
	int nwarm;
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

int rg__stack_setup(size_t stack_size)
{
	const char *mode = getenv("RINGO_GUARD");

	memset(&stk, 0, sizeof(stk));
	stk.page = (size_t)sysconf(_SC_PAGESIZE);
	stk.guard = RG_GUARD_PAGES * stk.page;
	stk.hdr = round_up(sizeof(rg_g), RG_CACHELINE);
	stk.slot = round_up(stack_size, stk.page);
	if (stk.slot < stk.guard + 8 * stk.page)
		return -EINVAL;
	if (mode && strcmp(mode, "mprotect") == 0)
		stk.use_madvise = false;
	else
		stk.use_madvise = probe_guard_install();
	return 0;
}

const char *rg__stack_guard_mode(void)
{
	return stk.use_madvise ? "madvise" : "mprotect";
}

static rg_chunk *chunk_new(void)
{
	size_t len = stk.slot * RG_CHUNK_SLOTS;
	rg_chunk *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	char *base = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
			  -1, 0);
	if (base == MAP_FAILED) {
		free(c);
		return NULL;
	}
	madvise(base, len, MADV_NOHUGEPAGE);
	for (int i = 0; i < RG_CHUNK_SLOTS; i++) {
		char *g = base + (size_t)i * stk.slot;
		int r = stk.use_madvise ? madvise(g, stk.guard, MADV_GUARD_INSTALL)
					: mprotect(g, stk.guard, PROT_NONE);
		if (r != 0) {
			munmap(base, len);
			free(c);
			return NULL;
		}
	}
	c->base = base;
	c->cold = ~(uint64_t)0;
	return c;
}

static inline char *slot_base(rg_chunk *c, uint32_t i)
{
	return c->base + (size_t)i * stk.slot;
}

/* Lays out a fresh (zeroed) G header in slot i of c. */
static rg_g *slot_g(rg_chunk *c, uint32_t i)
{
	char *base = slot_base(c, i);
	rg_g *g = (rg_g *)(base + stk.slot - stk.hdr);
	g->chunk = c;
	g->slot = i;
	g->stack_lo = base + stk.guard;
	return g;
}

/* Takes a cold slot, making a chunk if needed.  stk.lock held. */
static rg_g *cold_get(void)
{
	rg_chunk *c = stk.cold;
	if (!c) {
		c = chunk_new();
		if (!c)
			return NULL;
		c->next = stk.chunks;
		stk.chunks = c;
		c->next_cold = NULL;
		c->on_cold_list = true;
		stk.cold = c;
	}
	uint32_t i = (uint32_t)__builtin_ctzll(c->cold);
	c->cold &= ~((uint64_t)1 << i);
	c->used |= (uint64_t)1 << i;
	if (!c->cold) {
		stk.cold = c->next_cold;
		c->on_cold_list = false;
	}
	return slot_g(c, i);
}

rg_g *rg__galloc(rg_p *p)
{
	rg_g *g = p ? p->gfree : NULL;

	if (g) {
		p->gfree = g->schedlink;
		p->ngfree--;
		return g;
	}
	rg__lock(&stk.lock);
	/* Refill half the P's cache from the warm list in one go. */
	while (stk.warm && p && p->ngfree < RG_PCACHE / 2) {
		rg_g *w = stk.warm;
		stk.warm = w->schedlink;
		stk.nwarm--;
		w->schedlink = p->gfree;
		p->gfree = w;
		p->ngfree++;
	}
	if (p && p->gfree) {
		g = p->gfree;
		p->gfree = g->schedlink;
		p->ngfree--;
	} else if (stk.warm) {
		g = stk.warm;
		stk.warm = g->schedlink;
		stk.nwarm--;
	} else {
		g = cold_get();
		if (g)
			g->warm = 1;
	}
	rg__unlock(&stk.lock);
	return g;
}

/* Gives a slot's memory back to the kernel and marks it cold. */
static void make_cold(rg_g *g)
{
	rg_chunk *c = g->chunk;
	uint32_t i = g->slot;
	char *base = slot_base(c, i);

	rg__san_tsan_destroy(g->tsan_fiber);
	/* Zaps the pages (the G header too: a cold header reads as FREE).
	 * Guard markers installed by MADV_GUARD_INSTALL survive this. */
	madvise(base + stk.guard, stk.slot - stk.guard, MADV_DONTNEED);
	rg__lock(&stk.lock);
	c->cold |= (uint64_t)1 << i;
	if (!c->on_cold_list) {
		c->on_cold_list = true;
		c->next_cold = stk.cold;
		stk.cold = c;
	}
	rg__unlock(&stk.lock);
}

void rg__gfree(rg_p *p, rg_g *g)
{
	atomic_store_explicit(&g->status, RG_G_FREE, memory_order_relaxed);
#ifdef RG_SAN_ASAN
	/* Frames abandoned by rg_exit leave poisoned shadow behind. */
	__asan_unpoison_memory_region(g->stack_lo, (size_t)((char *)g - g->stack_lo));
#endif
	if (p) {
		g->schedlink = p->gfree;
		p->gfree = g;
		if (++p->ngfree <= RG_PCACHE)
			return;
		/* Move half the cache to the global warm list. */
		rg_g *cold = NULL;
		rg__lock(&stk.lock);
		while (p->ngfree > RG_PCACHE / 2) {
			rg_g *x = p->gfree;
			p->gfree = x->schedlink;
			p->ngfree--;
			if (stk.nwarm < RG_WARM_MAX) {
				x->schedlink = stk.warm;
				stk.warm = x;
				stk.nwarm++;
			} else {
				x->schedlink = cold;
				cold = x;
			}
		}
		rg__unlock(&stk.lock);
		while (cold) {
			rg_g *x = cold;
			cold = x->schedlink;
			make_cold(x);
		}
		return;
	}
	rg__lock(&stk.lock);
	if (stk.nwarm < RG_WARM_MAX) {
		g->schedlink = stk.warm;
		stk.warm = g;
		stk.nwarm++;
		rg__unlock(&stk.lock);
		return;
	}
	rg__unlock(&stk.lock);
	make_cold(g);
}

void rg__for_each_g(void (*fn)(rg_g *g, void *arg), void *arg)
{
	/* Chunks are only ever prepended, and a slot never handed out has
	 * an untouched (unmapped-zero) header, so the walk needs no lock;
	 * the `used` bits save faulting in pages just to read zeros. */
	for (rg_chunk *c = stk.chunks; c; c = c->next) {
		uint64_t used = c->used;
		for (uint32_t i = 0; i < RG_CHUNK_SLOTS; i++) {
			if (!(used & ((uint64_t)1 << i)))
				continue;
			rg_g *g = (rg_g *)(slot_base(c, i) + stk.slot - stk.hdr);
			uint32_t st = atomic_load_explicit(&g->status, memory_order_acquire);
			if (st != RG_G_FREE)
				fn(g, arg);
		}
	}
}

rg_g *rg__stack_guard_owner(const void *addr)
{
	const char *a = addr;
	for (rg_chunk *c = stk.chunks; c; c = c->next) {
		if (a < c->base || a >= c->base + stk.slot * RG_CHUNK_SLOTS)
			continue;
		uint32_t i = (uint32_t)((size_t)(a - c->base) / stk.slot);
		char *base = slot_base(c, i);
		if (a >= base + stk.guard)
			return NULL; /* inside a stack, not its guard */
		return (rg_g *)(base + stk.slot - stk.hdr);
	}
	return NULL;
}

void rg__stack_teardown(void)
{
#ifdef RG_SAN_TSAN
	/* Free Gs keep their fibers too: walk every slot ever used. */
	for (rg_chunk *c = stk.chunks; c; c = c->next)
		for (uint32_t i = 0; i < RG_CHUNK_SLOTS; i++)
			if ((c->used & ((uint64_t)1 << i)) && !(c->cold & ((uint64_t)1 << i)))
				rg__san_tsan_destroy(((rg_g *)(slot_base(c, i) + stk.slot - stk.hdr))->tsan_fiber);
#endif
	rg_chunk *c = stk.chunks;
	while (c) {
		rg_chunk *next = c->next;
		munmap(c->base, stk.slot * RG_CHUNK_SLOTS);
		free(c);
		c = next;
	}
	stk.chunks = NULL;
	stk.cold = NULL;
	stk.warm = NULL;
	stk.nwarm = 0;
}
