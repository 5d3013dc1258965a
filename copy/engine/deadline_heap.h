/*
 * deadline_heap.h — a binary min-heap of deadlines, intrusive: each entry is
 * a struct deadline_node embedded in its owner (a session), which remembers
 * its place in the heap so it can be moved or removed in O(log n).
 *
 * The engine keeps every live session in one heap keyed by the session's
 * earliest deadline, so engine_next_deadline() is the top (O(1)) and a timer
 * change is a sift (O(log n)), whatever the number of sessions.
 */
#ifndef DOPPEL_DEADLINE_HEAP_H
#define DOPPEL_DEADLINE_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct deadline_node {
	uint64_t when;		/* UINT64_MAX: nothing due */
	uint32_t index;		/* place in the heap's array, kept by the heap */
};

struct deadline_heap {
	struct deadline_node **items;
	uint32_t count;
	uint32_t capacity;
};

void deadline_heap_init(struct deadline_heap *h);
void deadline_heap_free(struct deadline_heap *h);
/* Add n with deadline n->when. 0, or -1 when the array cannot grow. */
int deadline_heap_push(struct deadline_heap *h, struct deadline_node *n);
/* Take n out of the heap. */
void deadline_heap_remove(struct deadline_heap *h, struct deadline_node *n);
/* Give n (in the heap) a new deadline and restore the heap order. */
void deadline_heap_update(struct deadline_heap *h, struct deadline_node *n, uint64_t when);

/* The node with the earliest deadline, or NULL when empty. */
static inline struct deadline_node *deadline_heap_top(const struct deadline_heap *h)
{
	return h->count ? h->items[0] : NULL;
}

#endif
