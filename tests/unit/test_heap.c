/*
 * test_heap.c — lib/net/heap.h, the one binary heap (the engine's session
 * deadlines and the event loop's timers): against a brute-force model
 * through random push/remove/update, FIFO among equal keys by tie, the
 * queued mark, and heap_rebase after the owner's nodes move.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/net/heap.h"

#define NODES 2000

/* The index of the smallest (key, tie) among the nodes in the heap. */
static size_t model_first(const struct heap_node *nodes, const bool *in, size_t n)
{
	size_t best = n;

	for (size_t i = 0; i < n; i++) {
		if (!in[i])
			continue;
		if (best == n || nodes[i].key < nodes[best].key ||
		    (nodes[i].key == nodes[best].key && nodes[i].tie < nodes[best].tie))
			best = i;
	}
	return best;
}

static void test_heap_matches_model(void **state)
{
	static struct heap_node nodes[NODES];
	static bool in[NODES];
	struct heap h;
	unsigned seed = 12345;
	uint64_t tie = 0;

	(void)state;
	heap_init(&h);
	for (int step = 0; step < 50000; step++) {
		size_t i = (size_t)rand_r(&seed) % NODES;
		/* Few distinct keys, so ties are common and tie decides. */
		uint64_t key = (uint64_t)rand_r(&seed) % 500;

		if (!in[i]) {
			nodes[i].key = key;
			nodes[i].tie = tie++;
			assert_int_equal(heap_push(&h, &nodes[i]), 0);
			assert_true(heap_queued(&nodes[i]));
			in[i] = true;
		} else if (rand_r(&seed) % 3 == 0) {
			heap_remove(&h, &nodes[i]);
			assert_false(heap_queued(&nodes[i]));
			in[i] = false;
		} else {
			heap_update(&h, &nodes[i], key);
		}
		if (h.count)
			assert_ptr_equal(heap_top(&h), &nodes[model_first(nodes, in, NODES)]);
		else
			assert_null(heap_top(&h));
	}
	/* Popping gives (key, tie) in strictly increasing order. */
	{
		const struct heap_node *last = NULL;

		while (h.count) {
			struct heap_node *n = heap_top(&h);

			if (last)
				assert_true(n->key > last->key ||
					    (n->key == last->key && n->tie > last->tie));
			last = n;
			heap_remove(&h, n);
		}
	}
	heap_free(&h);
}

/* Equal keys come out in tie order whatever the push order. */
static void test_heap_ties_fifo(void **state)
{
	struct heap_node nodes[100];
	struct heap h;

	(void)state;
	heap_init(&h);
	for (int i = 99; i >= 0; i--) {
		nodes[i] = (struct heap_node){ .key = 7, .tie = (uint64_t)i };
		assert_int_equal(heap_push(&h, &nodes[i]), 0);
	}
	for (int i = 0; i < 100; i++) {
		assert_ptr_equal(heap_top(&h), &nodes[i]);
		heap_remove(&h, heap_top(&h));
	}
	assert_null(heap_top(&h));
	heap_free(&h);
}

/* An owner that copies its node array to grow it points the heap at the
 * copy; the order is kept and the old array is not used again. */
static void test_heap_rebase(void **state)
{
	struct heap_node *old = calloc(64, sizeof(*old)), *moved;
	struct heap h;

	(void)state;
	assert_non_null(old);
	heap_init(&h);
	for (int i = 0; i < 64; i++) {
		old[i].key = (uint64_t)((i * 37) % 64);
		assert_int_equal(heap_push(&h, &old[i]), 0);
	}
	moved = malloc(64 * sizeof(*moved));
	assert_non_null(moved);
	memcpy(moved, old, 64 * sizeof(*moved));
	heap_rebase(&h, old, moved);
	free(old);
	for (uint64_t k = 0; k < 64; k++) {
		struct heap_node *n = heap_top(&h);

		assert_true(n >= moved && n < moved + 64);
		assert_int_equal(n->key, k);
		heap_remove(&h, n);
	}
	heap_free(&h);
	free(moved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_matches_model),
		cmocka_unit_test(test_heap_ties_fifo),
		cmocka_unit_test(test_heap_rebase),
	};

	return cmocka_run_group_tests_name("heap", tests, NULL, NULL);
}
