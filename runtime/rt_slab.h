// SPDX-License-Identifier: MIT
/*
 * rt_slab.h — fixed-size blocks for objects made by the million (slab.c).
 * Part of rt.h (included at its end); include rt.h, not this file.
 */
#ifndef RG_RT_SLAB_H
#define RG_RT_SLAB_H

#include "rt.h"

/* ---- fixed-size blocks (slab.c) ------------------------------------ */

/* Blocks of one size, 64-byte aligned, for objects made by the million
 * (timers): carved from 1 MiB mmap chunks, recycled through per-thread
 * caches and a global list; malloc'd one by one under ASan and TSan. */
typedef struct rg__slab {
	size_t size;                  /* block bytes (constant) */
	int id;                       /* per-thread cache index (constant) */
	rg__lock_t lock;              /* guards the rest */
	void *free;                   /* global free list */
	char *bump, *end;             /* unused part of the last chunk */
} rg__slab_t;

/* Sets s up for blocks of size bytes (at most 8 slabs per process). */
void rg__slab_init(rg__slab_t *s, size_t size) RG_HIDDEN;
/* A block, or NULL when out of memory.  Any thread; never blocks beyond
 * the slab's lock. */
void *rg__slab_alloc(rg__slab_t *s) RG_HIDDEN;
void rg__slab_free(rg__slab_t *s, void *p) RG_HIDDEN;

#endif
