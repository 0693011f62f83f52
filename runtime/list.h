// SPDX-License-Identifier: MIT
/*
 * list.h — the runtime's one intrusive doubly linked list.
 *
 * A record that can be queued embeds an rg__link_t; a list is a head
 * and a tail pointer, both NULL when empty, so a zeroed rg__list_t is
 * an empty list (the sync values are ready when zeroed, and their wait
 * queues are lists: rg__list_t is the public header's rg__waitq_t, whose
 * fields are private).  Every operation is O(1) and none allocates; the
 * caller holds whatever lock guards the list.
 *
 *     typedef struct { rg__link_t link; int v; } item_t;
 *     rg__list_t q = {0};
 *     rg__list_push_back(&q, &it->link);
 *     item_t *first = RG__LIST_ENTRY(rg__list_pop_front(&q), item_t, link);
 *
 * The ends are NULL-terminated, not a ring through a sentinel: a ring
 * would need an initialised head, and the heads live in zeroed user
 * structs.  rg__list_take_all moves a whole list out in O(1): wakers
 * take the waiters out under the lock and wake them after dropping it,
 * walking through next and reading a link's next before waking its
 * owner (whose stack frame, holding the link, may die at once).
 *
 * Users: the sync wait queues (waitq.h), the channels' sender and
 * receiver queues (chan_impl.h), contexts' children and cancellation
 * callbacks (ctx.c, ctx_cb.h).
 */
#ifndef RG_LIST_H
#define RG_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include <ringo.h>

/* A link, embedded in the record it queues. */
typedef struct rg__link {
	struct rg__link *next, *prev;
} rg__link_t;

/* A list: { head, tail }, zero when empty (sync.h's rg__waitq_t). */
typedef struct rg__waitq rg__list_t;

/* The record holding link l (of type T, member m); NULL for NULL. */
#define RG__LIST_ENTRY(l, T, m) \
	((T *)rg__list_entry_((l), offsetof(T, m)))

static inline void *rg__list_entry_(rg__link_t *l, size_t off)
{
	return l ? (void *)((char *)l - off) : NULL;
}

static inline bool rg__list_empty(const rg__list_t *q)
{
	return q->head == NULL;
}

static inline rg__link_t *rg__list_first(const rg__list_t *q)
{
	return q->head;
}

/* Appends n. */
static inline void rg__list_push_back(rg__list_t *q, rg__link_t *n)
{
	rg__link_t *tail = q->tail;
	n->next = NULL;
	n->prev = tail;
	if (tail)
		tail->next = n;
	else
		q->head = n;
	q->tail = n;
}

/* Puts n first. */
static inline void rg__list_push_front(rg__list_t *q, rg__link_t *n)
{
	rg__link_t *head = q->head;
	n->prev = NULL;
	n->next = head;
	if (head)
		head->prev = n;
	else
		q->tail = n;
	q->head = n;
}

/* Unlinks n, which must be in q; its links are cleared. */
static inline void rg__list_remove(rg__list_t *q, rg__link_t *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		q->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		q->tail = n->prev;
	n->next = n->prev = NULL;
}

/* Removes and returns the first link, NULL if q is empty. */
static inline rg__link_t *rg__list_pop_front(rg__list_t *q)
{
	rg__link_t *n = q->head;
	if (n)
		rg__list_remove(q, n);
	return n;
}

/* Moves every link of q, in order, into the list returned; q is left
 * empty.  O(1). */
static inline rg__list_t rg__list_take_all(rg__list_t *q)
{
	rg__list_t all = *q;
	q->head = q->tail = NULL;
	return all;
}

/* for (each link l of q, first to last); l must not be removed by the
 * body unless the loop then stops. */
#define RG__LIST_FOR_EACH(l, q) \
	for (rg__link_t *l = (q)->head; l; l = l->next)

#endif
