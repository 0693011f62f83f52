// SPDX-License-Identifier: MIT
/*
 * slab.c — fixed-size blocks for objects made by the million: timers
 * and their channels (time.c: 64-byte-aligned blocks of a timer, a
 * channel, or both).
 *
 * Why not malloc: goroutines run on runtime threads, and glibc gives
 * each thread's arena its own heap that grows one mprotect(2) per page
 * the first time it is used.  A burst of a million 300-byte timers was
 * 75,000 mprotect calls (most of a create+stop benchmark's CPU, and a
 * context switch each on a loaded machine), where Go's allocator maps
 * 64 MiB arenas at once.  Here blocks are carved from 1 MiB chunks
 * (one mmap each) and recycled through free lists.
 *
 * Layout: a global free list and bump chunk under one lock, plus a small
 * per-thread cache (up to CACHE blocks, moved to and from the global list
 * BATCH at a time), so that a thread making and freeing timers takes the
 * lock once per BATCH.  A block freed on another thread joins that
 * thread's cache: blocks migrate, chunks never go back to the kernel
 * (the peak number of live blocks is what a slab costs, as for Go's
 * spans before the scavenger).  A thread's cache is given back to the
 * global list when the thread exits (a pthread key destructor).
 *
 * Under AddressSanitizer and ThreadSanitizer every block is a malloc of
 * its own instead, so that a use after free is still reported (the
 * reason contexts and timers are not pooled) and races are seen.
 *
 * Rejected: a per-P cache (a field in every P, and a goroutine that
 * allocates on one P and frees on another moves blocks anyway); tuning
 * glibc (M_ARENA_MAX, M_TOP_PAD) from a library: process-wide settings
 * that are the host program's to choose, and M_TOP_PAD does not apply
 * to thread arenas.
 */
#include "rt.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "sanitizer.h"

#if defined(RG_SAN_ASAN) || defined(RG_SAN_TSAN)
#define SLAB_MALLOC 1
#endif

#define CHUNK (1u << 20)
#define CACHE 64
#define BATCH 32
#define MAX_SLABS 8

struct block {
	struct block *next;
};

struct cache {
	struct block *head;
	int n;
};

static __thread struct cache caches[MAX_SLABS];
static pthread_key_t cache_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static _Atomic int nslabs;
static rg__slab_t *slabs[MAX_SLABS];

static void flush_thread(void *arg);

static void make_key(void)
{
	pthread_key_create(&cache_key, flush_thread);
}

void rg__slab_init(rg__slab_t *s, size_t size)
{
	s->size = (size + RG_CACHELINE - 1) & ~(size_t)(RG_CACHELINE - 1);
	pthread_once(&key_once, make_key);
	s->id = atomic_fetch_add(&nslabs, 1);
	if (s->id >= MAX_SLABS)
		rg__throw("too many slabs");
	slabs[s->id] = s;
}

/* Gives a thread's cached blocks back (thread exit). */
static void flush_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < atomic_load(&nslabs); i++) {
		struct cache *c = &caches[i];
		rg__slab_t *s = slabs[i];
		while (c->head) {
			struct block *b = c->head;
			c->head = b->next;
			rg__lock(&s->lock);
			b->next = s->free;
			s->free = b;
			rg__unlock(&s->lock);
		}
		c->n = 0;
	}
}

#ifndef SLAB_MALLOC
/* Refills c with up to BATCH blocks; false when out of memory. */
static bool refill(rg__slab_t *s, struct cache *c)
{
	rg__lock(&s->lock);
	for (int i = 0; i < BATCH; i++) {
		struct block *b = s->free;
		if (b) {
			s->free = b->next;
		} else {
			if (s->bump + s->size > s->end) {
				void *m = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
					       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
				if (m == MAP_FAILED)
					break;
				s->bump = m;
				s->end = (char *)m + CHUNK;
			}
			b = (struct block *)(void *)s->bump;
			s->bump += s->size;
		}
		b->next = c->head;
		c->head = b;
		c->n++;
	}
	rg__unlock(&s->lock);
	return c->head != NULL;
}
#endif

void *rg__slab_alloc(rg__slab_t *s)
{
#ifdef SLAB_MALLOC
	void *p;
	if (posix_memalign(&p, RG_CACHELINE, s->size))
		return NULL;
	return p;
#else
	struct cache *c = &caches[s->id];
	if (RG_UNLIKELY(!c->head)) {
		static __thread bool keyed;
		if (!keyed) {
			/* Registers the destructor that flushes this thread. */
			pthread_setspecific(cache_key, (void *)1);
			keyed = true;
		}
		if (!refill(s, c))
			return NULL;
	}
	struct block *b = c->head;
	c->head = b->next;
	c->n--;
	return b;
#endif
}

void rg__slab_free(rg__slab_t *s, void *p)
{
#ifdef SLAB_MALLOC
	(void)s;
	free(p);
#else
	struct cache *c = &caches[s->id];
	struct block *b = p;
	b->next = c->head;
	c->head = b;
	if (++c->n <= CACHE)
		return;
	/* Too many here: move a batch to the global list. */
	struct block *first = c->head, *last = first;
	for (int i = 1; i < BATCH; i++)
		last = last->next;
	c->head = last->next;
	c->n -= BATCH;
	rg__lock(&s->lock);
	last->next = s->free;
	s->free = first;
	rg__unlock(&s->lock);
#endif
}
