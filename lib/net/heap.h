/*
 * heap.h — one binary min-heap for the whole tree: the engine's session
 * deadlines (copy/engine/) and the event loop's timers (lib/runtime/loop.c)
 * both use it.
 *
 * A pure container: no I/O, no clock, only memory. It lives in lib/net/ so
 * the pure engine may include it (the engine may include only copy/engine/
 * and lib/net/).
 *
 * Intrusive: each entry is a struct heap_node embedded in its owner, which
 * finds its owner again with container_of-style pointer arithmetic. The node
 * remembers its place in the heap, so it can be moved or removed in
 * O(log n). Nodes are ordered by key, then by tie (smaller first): the loop
 * puts a creation counter in tie so equal deadlines come out FIFO; the
 * engine leaves it 0.
 */
#ifndef DOPPEL_HEAP_H
#define DOPPEL_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEAP_NOT_QUEUED UINT32_MAX

struct heap_node {
	uint64_t key;		/* the engine: a deadline, UINT64_MAX for none */
	uint64_t tie;		/* orders equal keys */
	uint32_t index;		/* place in items[], HEAP_NOT_QUEUED when out */
};

struct heap {
	struct heap_node **items;
	uint32_t count;
	uint32_t capacity;
};

void heap_init(struct heap *h);
void heap_free(struct heap *h);
/* Add n, ordered by its key and tie. 0, or -1 when the array cannot grow
 * (n is then not in the heap). */
int heap_push(struct heap *h, struct heap_node *n);
/* Take n (in the heap) out; n->index becomes HEAP_NOT_QUEUED. */
void heap_remove(struct heap *h, struct heap_node *n);
/* Give n (in the heap) a new key and restore the heap order. */
void heap_update(struct heap *h, struct heap_node *n, uint64_t key);

static inline bool heap_queued(const struct heap_node *n)
{
	return n->index != HEAP_NOT_QUEUED;
}

/* The first node (smallest key, then tie), or NULL when empty. */
static inline struct heap_node *heap_top(const struct heap *h)
{
	return h->count ? h->items[0] : NULL;
}

/* Point the heap at nodes that moved: every item p becomes
 * p - old_base + new_base (byte offsets). For an owner that keeps its
 * nodes in one array and grows it by copying: call this with the old
 * array's address before freeing it. */
void heap_rebase(struct heap *h, const void *old_base, void *new_base);

#endif
