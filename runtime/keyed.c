// SPDX-License-Identifier: MIT
/*
 * keyed.c — a token bucket per key (a client address, a user id) with
 * bounded memory: the limiter a server needs per client, where Go
 * programs grow a map[string]*rate.Limiter until memory runs out.
 *
 * Layout: the keys are spread over shards by a 64-bit hash (XXH3, from
 * Debian's libxxhash-dev, used header-only: no library to link).  Each
 * shard has its own rg_mutex_t (it spins, then parks the goroutine), a
 * hash table (uthash, Debian's uthash-dev: intrusive, keyed by bytes,
 * one allocation per entry holding the handle, the bucket and the key;
 * 1024 buckets to start with, so chains stay short without expansions)
 * and a CLOCK hand over the table's entries.  One shard until max_keys
 * reaches 4096, then 64, each allowed max_keys / 64 entries (the
 * remainder spread over the first ones), so the total never exceeds
 * max_keys.
 *
 * A bucket is x/time/rate's for AllowN(now, 1), with the arithmetic of
 * bucket.h (so a key answers as a rate.Limiter of its own would).
 *
 * Forgetting keys (CLOCK, the second-chance approximation of LRU): a use
 * sets the entry's ref bit, nothing else moves.  The hand walks the
 * shard's entries in insertion order (uthash's own list); at a step it
 * drops an entry whose bucket has refilled to burst (idle: it behaves
 * exactly as a new key, which starts full, so dropping it changes no
 * answer), clears a set ref bit, or, when room is needed, evicts an
 * entry whose bit is clear (not used since the hand last passed).  Each
 * new key moves the hand two steps, plus as many as it takes to make
 * room in a full shard (at most one turn).  An evicted key that comes
 * back starts full: the price of bounded memory, paid by the least
 * active clients.
 *
 * Rejected designs:
 *   - One global table and LRU under one lock: every request on every
 *     core would serialise on it (a server calls this per request).
 *   - An exact LRU list per shard (it was the first version): every use
 *     unlinks the entry between two others, two more cache misses per
 *     call on a large key set, where CLOCK writes one bit of a line the
 *     lookup already read.
 *   - A sweeper goroutine expiring idle keys on a ticker: a timer and a
 *     goroutine per limiter, and a sweep over all keys under the locks;
 *     the tail check amortises the same work into the calls.
 *   - An open-addressing table of our own: uthash is packaged, well
 *     known and fast enough here; the hash and the LRU links dominate.
 *   - Exact global LRU over shards: it needs a global list, i.e. the
 *     global lock again; the per-shard clock evicts a key that is among
 *     the least recently used of its 1/64 of the keys.
 */
#include "bucket.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* uthash's own allocations (bucket arrays) may fail: recover, and say
 * so through oom_hit, instead of its default exit(). */
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(e) do { oom_hit = true; } while (0)
#include <uthash.h>
/* A larger first bucket array (uthash defines these without #ifndef;
 * they are read where the macros expand, so redefining here works). */
#undef HASH_INITIAL_NUM_BUCKETS
#undef HASH_INITIAL_NUM_BUCKETS_LOG2
#define HASH_INITIAL_NUM_BUCKETS 1024U
#define HASH_INITIAL_NUM_BUCKETS_LOG2 10U

#define SHARDS_MAX 64
#define SHARD_MIN_KEYS 4096
#define SWEEP 2

struct kentry {
	UT_hash_handle hh;           /* uthash (shard lock) */
	double tokens;
	int64_t last;                /* last update of tokens */
	uint32_t len;
	uint8_t ref;                 /* used since the hand passed */
	unsigned char key[];
};

struct shard {
	rg_mutex_t lock;             /* guards the rest */
	struct kentry *table;        /* uthash head */
	struct kentry *hand;         /* CLOCK hand; NULL: the first entry */
	size_t n, max;
} __attribute__((aligned(RG_CACHELINE)));

struct rg_keyed_limiter {
	double limit;                /* constant */
	int burst;                   /* constant */
	int shift;                   /* shard = hash >> shift; 64: one shard */
	int nshards;
	struct shard shards[];
};

static __thread bool oom_hit;

rg_keyed_limiter_t *rg_keyed_limiter_new(double rate, int burst, size_t max_keys)
{
	if (bad_rate(rate) || burst < 0 || max_keys == 0) {
		errno = EINVAL;
		return NULL;
	}
	int nshards = max_keys >= SHARD_MIN_KEYS ? SHARDS_MAX : 1;
	void *mem;
	if (posix_memalign(&mem, RG_CACHELINE,
			   sizeof(rg_keyed_limiter_t) + (size_t)nshards * sizeof(struct shard))) {
		errno = ENOMEM;
		return NULL;
	}
	rg_keyed_limiter_t *k = mem;
	memset(k, 0, sizeof(*k) + (size_t)nshards * sizeof(struct shard));
	k->limit = rate;
	k->burst = burst;
	k->nshards = nshards;
	k->shift = nshards == 1 ? 64 : 64 - __builtin_ctz((unsigned)nshards);
	for (int i = 0; i < nshards; i++)
		k->shards[i].max = max_keys / (size_t)nshards +
				   ((size_t)i < max_keys % (size_t)nshards ? 1 : 0);
	return k;
}

/* ---- the clock (shard lock) ----------------------------------------- */

static struct kentry *next_of(struct kentry *e)
{
	return e->hh.next;
}

static void drop(struct shard *s, struct kentry *e)
{
	if (s->hand == e)
		s->hand = next_of(e);
	HASH_DELETE(hh, s->table, e);
	s->n--;
	free(e);
}

/* Would e's bucket be full at now (so that dropping it changes
 * nothing)?  A rate of 0 never refills: never. */
static bool refilled(const rg_keyed_limiter_t *k, const struct kentry *e, int64_t now)
{
	if (k->limit <= 0)
		return false;
	int64_t last = e->last < now ? e->last : now;
	return rg__bucket_advance(e->tokens, k->limit, k->burst, sub_sat(now, last)) >=
	       (double)k->burst;
}

/* Before a new key joins s: moves the hand SWEEP steps (dropping idle
 * entries, clearing ref bits), then on until there is room. */
static void sweep(rg_keyed_limiter_t *k, struct shard *s, int64_t now)
{
	for (int step = 0; s->table && (step < SWEEP || s->n >= s->max); step++) {
		struct kentry *e = s->hand ? s->hand : s->table;
		s->hand = next_of(e);
		if (refilled(k, e, now) || (s->n >= s->max && !e->ref))
			drop(s, e);
		else
			e->ref = 0;
	}
}

/* ---- the API --------------------------------------------------------- */

bool rg_keyed_allow(rg_keyed_limiter_t *k, const void *key, size_t len, int64_t now)
{
	if (is_inf(k->limit))
		return true;
	static const unsigned char empty[1];
	if (RG_UNLIKELY(len > UINT32_MAX || (!key && len)))
		return false;
	if (!key)
		key = empty;  /* len is 0 (uthash and XXH3 want a pointer) */
	uint64_t h = XXH3_64bits(key, len);
	struct shard *s = &k->shards[k->shift == 64 ? 0 : h >> k->shift];
	struct kentry *e;

	rg_mutex_lock(&s->lock);
	HASH_FIND_BYHASHVALUE(hh, s->table, key, len, (unsigned)h, e);
	if (e) {
		e->ref = 1;
	} else {
		sweep(k, s, now);
		e = malloc(sizeof(*e) + len);
		if (!e) {
			rg_mutex_unlock(&s->lock);
			return false;
		}
		memcpy(e->key, key, len);
		e->len = (uint32_t)len;
		e->ref = 0;                        /* seen once: first to go */
		e->tokens = (double)k->burst;      /* a new key starts full */
		e->last = now;
		oom_hit = false;
		HASH_ADD_KEYPTR_BYHASHVALUE(hh, s->table, e->key, len, (unsigned)h, e);
		if (oom_hit) {
			rg_mutex_unlock(&s->lock);
			free(e);
			return false;
		}
		s->n++;
	}

	/* x/time/rate's reserveN(now, 1, 0). */
	bool ok;
	if (k->limit == 0) {
		/* Go's zero rate spends burst itself: per key, its tokens. */
		ok = e->tokens >= 1;
		if (ok)
			e->tokens -= 1;
	} else {
		int64_t last = e->last < now ? e->last : now;
		double tokens = rg__bucket_advance(e->tokens, k->limit, k->burst,
						   sub_sat(now, last)) - 1;
		int64_t wait = tokens < 0 ? duration_from_tokens(k->limit, -tokens) : 0;
		ok = k->burst >= 1 && wait <= 0;
		if (ok) {
			e->tokens = tokens;
			e->last = now;
		}
	}
	rg_mutex_unlock(&s->lock);
	return ok;
}

size_t rg_keyed_len(rg_keyed_limiter_t *k)
{
	size_t n = 0;
	for (int i = 0; i < k->nshards; i++) {
		rg_mutex_lock(&k->shards[i].lock);
		n += k->shards[i].n;
		rg_mutex_unlock(&k->shards[i].lock);
	}
	return n;
}

void rg_keyed_limiter_free(rg_keyed_limiter_t *k)
{
	if (!k)
		return;
	for (int i = 0; i < k->nshards; i++) {
		struct shard *s = &k->shards[i];
		struct kentry *e, *tmp;
		HASH_ITER(hh, s->table, e, tmp) {
			HASH_DELETE(hh, s->table, e);
			free(e);
		}
	}
	free(k);
}
