/*
 * heap.c — the binary min-heap of heap.h: intrusive nodes ordered by
 * (key, tie). A pure container (memory only).
 */
#include "lib/net/heap.h"

#include <stdlib.h>

void heap_init(struct heap *h)
{
	h->items = NULL;
	h->count = 0;
	h->capacity = 0;
}

void heap_free(struct heap *h)
{
	free(h->items);
	heap_init(h);
}

static inline bool before(const struct heap_node *a, const struct heap_node *b)
{
	return a->key < b->key || (a->key == b->key && a->tie < b->tie);
}

static inline void place(struct heap *h, uint32_t i, struct heap_node *n)
{
	h->items[i] = n;
	n->index = i;
}

/* Move n up from slot i while it comes before its parent. */
static void sift_up(struct heap *h, uint32_t i, struct heap_node *n)
{
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (!before(n, h->items[parent]))
			break;
		place(h, i, h->items[parent]);
		i = parent;
	}
	place(h, i, n);
}

/* Move n down from slot i while a child comes before it. */
static void sift_down(struct heap *h, uint32_t i, struct heap_node *n)
{
	for (;;) {
		uint32_t child = 2 * i + 1;

		if (child >= h->count)
			break;
		if (child + 1 < h->count && before(h->items[child + 1], h->items[child]))
			child++;
		if (!before(h->items[child], n))
			break;
		place(h, i, h->items[child]);
		i = child;
	}
	place(h, i, n);
}

int heap_push(struct heap *h, struct heap_node *n)
{
	if (h->count == h->capacity) {
		uint32_t capacity = h->capacity ? h->capacity * 2 : 64;
		struct heap_node **items;

		if (capacity < h->capacity || capacity == HEAP_NOT_QUEUED)
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

void heap_remove(struct heap *h, struct heap_node *n)
{
	uint32_t i = n->index;
	struct heap_node *last = h->items[--h->count];

	n->index = HEAP_NOT_QUEUED;
	if (i == h->count)
		return;
	/* The last node fills the hole; it may belong above or below it. */
	if (i > 0 && before(last, h->items[(i - 1) / 2]))
		sift_up(h, i, last);
	else
		sift_down(h, i, last);
}

void heap_update(struct heap *h, struct heap_node *n, uint64_t key)
{
	uint64_t old = n->key;

	n->key = key;
	if (key < old)
		sift_up(h, n->index, n);
	else if (key > old)
		sift_down(h, n->index, n);
}

void heap_rebase(struct heap *h, const void *old_base, void *new_base)
{
	for (uint32_t i = 0; i < h->count; i++) {
		size_t offset = (size_t)((const char *)h->items[i] - (const char *)old_base);

		h->items[i] = (struct heap_node *)((char *)new_base + offset);
	}
}
