/*
 * deadline_heap.c — binary min-heap of intrusive deadline nodes.
 */
#include "copy/engine/deadline_heap.h"

#include <stdlib.h>

void deadline_heap_init(struct deadline_heap *h)
{
	h->items = NULL;
	h->count = 0;
	h->capacity = 0;
}

void deadline_heap_free(struct deadline_heap *h)
{
	free(h->items);
	deadline_heap_init(h);
}

static void place(struct deadline_heap *h, uint32_t i, struct deadline_node *n)
{
	h->items[i] = n;
	n->index = i;
}

/* Move n up from slot i while it is earlier than its parent. */
static void sift_up(struct deadline_heap *h, uint32_t i, struct deadline_node *n)
{
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (h->items[parent]->when <= n->when)
			break;
		place(h, i, h->items[parent]);
		i = parent;
	}
	place(h, i, n);
}

/* Move n down from slot i while a child is earlier. */
static void sift_down(struct deadline_heap *h, uint32_t i, struct deadline_node *n)
{
	for (;;) {
		uint32_t child = 2 * i + 1;

		if (child >= h->count)
			break;
		if (child + 1 < h->count && h->items[child + 1]->when < h->items[child]->when)
			child++;
		if (n->when <= h->items[child]->when)
			break;
		place(h, i, h->items[child]);
		i = child;
	}
	place(h, i, n);
}

int deadline_heap_push(struct deadline_heap *h, struct deadline_node *n)
{
	if (h->count == h->capacity) {
		uint32_t capacity = h->capacity ? h->capacity * 2 : 64;
		struct deadline_node **items;

		if (capacity < h->capacity)
			return -1;
		items = realloc(h->items, (size_t)capacity * sizeof(*items));
		if (!items)
			return -1;
		h->items = items;
		h->capacity = capacity;
	}
	sift_up(h, h->count++, n);
	return 0;
}

void deadline_heap_remove(struct deadline_heap *h, struct deadline_node *n)
{
	uint32_t i = n->index;
	struct deadline_node *last = h->items[--h->count];

	if (i == h->count)
		return;
	/* The last node fills the hole; it may belong above or below it. */
	if (i > 0 && last->when < h->items[(i - 1) / 2]->when)
		sift_up(h, i, last);
	else
		sift_down(h, i, last);
}

void deadline_heap_update(struct deadline_heap *h, struct deadline_node *n, uint64_t when)
{
	uint64_t old = n->when;

	n->when = when;
	if (when < old)
		sift_up(h, n->index, n);
	else if (when > old)
		sift_down(h, n->index, n);
}
