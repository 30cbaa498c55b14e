// SPDX-License-Identifier: GPL-2.0
/*
 * The scheduling queue: a binary min-heap of pod entries on (due_ms,
 * pending_since_ms, key), each entry knowing its index so that a pod can
 * be moved (due now, after a node changed) or taken out (bound, deleted)
 * in O(log n).  New pods are due when they arrive, so among due pods the
 * oldest goes first, as the seed's queue did.
 */
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "sched.h"

static bool before(const struct pod_ent *a, const struct pod_ent *b)
{
	if (a->due_ms != b->due_ms)
		return a->due_ms < b->due_ms;
	if (a->pending_since_ms != b->pending_since_ms)
		return a->pending_since_ms < b->pending_since_ms;
	return strcmp(a->key, b->key) < 0;
}

static void place(struct scheduler *s, int i, struct pod_ent *p)
{
	s->heap[i] = p;
	p->heap_idx = i;
}

static void sift_up(struct scheduler *s, int i)
{
	struct pod_ent *p = s->heap[i];

	while (i > 0) {
		int parent = (i - 1) / 2;

		if (!before(p, s->heap[parent]))
			break;
		place(s, i, s->heap[parent]);
		i = parent;
	}
	place(s, i, p);
}

static void sift_down(struct scheduler *s, int i)
{
	struct pod_ent *p = s->heap[i];

	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = i;
		struct pod_ent *best = p;

		if (l < s->nheap && before(s->heap[l], best)) {
			m = l;
			best = s->heap[l];
		}
		if (r < s->nheap && before(s->heap[r], best)) {
			m = r;
			best = s->heap[r];
		}
		if (m == i)
			break;
		place(s, i, best);
		i = m;
	}
	place(s, i, p);
}

void sched_queue_remove(struct scheduler *s, struct pod_ent *p)
{
	int i = p->heap_idx;
	struct pod_ent *last;

	if (i < 0)
		return;
	p->heap_idx = -1;
	last = s->heap[--s->nheap];
	if (i == s->nheap)
		return;
	place(s, i, last);
	sift_down(s, i);
	sift_up(s, last->heap_idx);
}

void sched_queue_put(struct scheduler *s, struct pod_ent *p, long long due_ms)
{
	if (p->heap_idx >= 0) {
		p->due_ms = due_ms;
		sift_down(s, p->heap_idx);
		sift_up(s, p->heap_idx);
		return;
	}
	if (s->nheap == s->heap_cap) {
		int cap = s->heap_cap ? 2 * s->heap_cap : 256;
		struct pod_ent **h = realloc(s->heap, (size_t)cap * sizeof(*h));

		if (!h) {
			/* the pod stays out of the queue until a resync puts it back */
			ks_err("out of memory", "what=queue pod=%s", p->key);
			return;
		}
		s->heap = h;
		s->heap_cap = cap;
	}
	p->due_ms = due_ms;
	place(s, s->nheap++, p);
	sift_up(s, p->heap_idx);
}

struct pod_ent *sched_queue_top(const struct scheduler *s)
{
	return s->nheap ? s->heap[0] : NULL;
}

long long sched_next_due(const struct scheduler *s)
{
	return s->nheap ? s->heap[0]->due_ms : -1;
}
