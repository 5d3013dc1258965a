/*
 * test_intercept_router.c — the route table: add, update, move between
 * owners, delete (own and stale), an owner's close, the target check on
 * lookup, IPv6, probe chains under forced collisions (every key in one
 * chain, deletions from its middle), a random workload checked against a
 * plain model, and a million routes. Routes keyed by the whole 4-tuple
 * (ROUTE_4TUPLE): two targets for one client address and port, deletes of
 * the exact 4-tuple only, and 4-tuple and 2-tuple routes side by side.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "intercept/router.h"

static struct dp_addr v4(uint32_t host_order)
{
	struct dp_addr a;

	dp_addr_from_v4(&a, htonl(host_order));
	return a;
}

static struct dp_addr v6(uint16_t last)
{
	uint8_t bytes[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	struct dp_addr a;

	bytes[14] = (uint8_t)(last >> 8);
	bytes[15] = (uint8_t)last;
	dp_addr_from_v6(&a, bytes);
	return a;
}

#define CLIENT(i) v4(0xc6120000u + (i))	/* 198.18.x.y */
static const uint16_t TARGET_PORT = 80;

static struct dp_addr target(void)
{
	return v4(0xc6130001u);	/* 198.19.0.1 */
}

static struct router_owner *lookup(struct router *r, uint32_t client, uint16_t port)
{
	struct dp_addr c = CLIENT(client), t = target();

	return router_lookup(r, &c, port, &t, TARGET_PORT);
}

static enum router_add_result add(struct router *r, struct router_owner *o, uint32_t client,
				  uint16_t port)
{
	struct dp_addr c = CLIENT(client), t = target();

	return router_add(r, o, &c, port, &t, TARGET_PORT);
}

static int del(struct router *r, struct router_owner *o, uint32_t client, uint16_t port)
{
	struct dp_addr c = CLIENT(client);

	return router_del(r, o, &c, port);
}

static void test_add_lookup_delete(void **state)
{
	struct router r;
	struct router_owner a, b;

	router_owner_init(&a);
	router_owner_init(&b);
	assert_int_equal(router_init(&r), 0);
	assert_null(lookup(&r, 1, 40000));
	assert_int_equal(add(&r, &a, 1, 40000), ROUTER_ADDED);
	assert_int_equal(add(&r, &b, 1, 40001), ROUTER_ADDED);
	assert_ptr_equal(lookup(&r, 1, 40000), &a);
	assert_ptr_equal(lookup(&r, 1, 40001), &b);
	assert_null(lookup(&r, 2, 40000));	/* other address */
	assert_null(lookup(&r, 1, 40002));	/* other port */
	assert_int_equal(r.count, 2);
	assert_int_equal(a.count, 1);

	/* b may not delete a's route: a stale delete changes nothing */
	assert_int_equal(del(&r, &b, 1, 40000), 0);
	assert_ptr_equal(lookup(&r, 1, 40000), &a);
	assert_int_equal(del(&r, &a, 1, 40000), 1);
	assert_null(lookup(&r, 1, 40000));
	assert_int_equal(del(&r, &a, 1, 40000), 0);	/* already gone */
	assert_int_equal(r.count, 1);
	assert_int_equal(a.count, 0);
	assert_ptr_equal(lookup(&r, 1, 40001), &b);
	router_free(&r);
}

/* A response is routed only when it comes from the route's target. */
static void test_lookup_checks_target(void **state)
{
	struct router r;
	struct router_owner a;
	struct dp_addr c = CLIENT(7), t = target(), other = v4(0xc6130002u), any = { 0 };

	router_owner_init(&a);
	assert_int_equal(router_init(&r), 0);
	assert_int_equal(router_add(&r, &a, &c, 1234, &t, 8080), ROUTER_ADDED);
	assert_ptr_equal(router_lookup(&r, &c, 1234, &t, 8080), &a);
	assert_null(router_lookup(&r, &c, 1234, &t, 8081));
	assert_null(router_lookup(&r, &c, 1234, &other, 8080));
	/* a route without a target takes responses from anywhere */
	assert_int_equal(router_add(&r, &a, &c, 1234, &any, 0), ROUTER_UPDATED);
	assert_ptr_equal(router_lookup(&r, &c, 1234, &other, 9), &a);
	router_free(&r);
}

/* The same key again: updated for its owner, moved for another. */
static void test_replace_and_move(void **state)
{
	struct router r;
	struct router_owner a, b;
	struct dp_addr c = CLIENT(3), t1 = target(), t2 = v4(0xc6130009u);

	router_owner_init(&a);
	router_owner_init(&b);
	assert_int_equal(router_init(&r), 0);
	assert_int_equal(router_add(&r, &a, &c, 5000, &t1, 80), ROUTER_ADDED);
	assert_int_equal(router_add(&r, &a, &c, 5000, &t2, 81), ROUTER_UPDATED);
	assert_null(router_lookup(&r, &c, 5000, &t1, 80));
	assert_ptr_equal(router_lookup(&r, &c, 5000, &t2, 81), &a);
	assert_int_equal(router_add(&r, &b, &c, 5000, &t2, 81), ROUTER_MOVED);
	assert_ptr_equal(router_lookup(&r, &c, 5000, &t2, 81), &b);
	assert_int_equal(a.count, 0);
	assert_int_equal(b.count, 1);
	assert_int_equal(r.count, 1);
	/* the old owner closing takes nothing of b's with it */
	assert_int_equal(router_del_owner(&r, &a), 0);
	assert_ptr_equal(router_lookup(&r, &c, 5000, &t2, 81), &b);
	router_free(&r);
}

static void test_owner_close_removes_only_its_routes(void **state)
{
	struct router r;
	struct router_owner a, b;

	router_owner_init(&a);
	router_owner_init(&b);
	assert_int_equal(router_init(&r), 0);
	for (uint32_t i = 0; i < 1000; i++)
		assert_int_equal(add(&r, i % 2 ? &b : &a, i, (uint16_t)(1024 + i)), ROUTER_ADDED);
	/* remove some of a's first, so its chain has holes */
	for (uint32_t i = 0; i < 100; i += 2)
		assert_int_equal(del(&r, &a, i, (uint16_t)(1024 + i)), 1);
	assert_int_equal(a.count, 450);
	assert_int_equal(router_del_owner(&r, &a), 450);
	assert_int_equal(a.count, 0);
	assert_int_equal(a.first, 0);
	assert_int_equal(r.count, 500);
	for (uint32_t i = 0; i < 1000; i++)
		assert_ptr_equal(lookup(&r, i, (uint16_t)(1024 + i)), i % 2 ? &b : NULL);
	router_free(&r);
}

static void test_ipv6_and_ipv4_keys_differ(void **state)
{
	struct router r;
	struct router_owner a, b;
	struct dp_addr c6 = v6(1), t6 = v6(2), c4 = v4(1), t4 = v4(2);

	router_owner_init(&a);
	router_owner_init(&b);
	assert_int_equal(router_init(&r), 0);
	assert_int_equal(router_add(&r, &a, &c6, 443, &t6, 8443), ROUTER_ADDED);
	/* 0.0.0.1 and 2001:db8::1 share no key, even with equal low bytes */
	assert_int_equal(router_add(&r, &b, &c4, 443, &t4, 8443), ROUTER_ADDED);
	assert_ptr_equal(router_lookup(&r, &c6, 443, &t6, 8443), &a);
	assert_ptr_equal(router_lookup(&r, &c4, 443, &t4, 8443), &b);
	assert_null(router_lookup(&r, &c6, 443, &t4, 8443));
	router_free(&r);
}

static uint64_t constant_hash(const struct router_key *key, uint64_t seed)
{
	return 7;
}

/* Every key in one probe chain (wrapping around the table's end from slot
 * 7 on): deleting from the front, the middle and the end must keep every
 * other key reachable, which is what backward-shift deletion is for. */
static void test_collisions(void **state)
{
	struct router r;
	struct router_owner a;
	const uint32_t n = 400;

	router_owner_init(&a);
	assert_int_equal(router_init_with_hash(&r, 1, constant_hash), 0);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(add(&r, &a, i, 1000), ROUTER_ADDED);
	for (uint32_t i = 0; i < n; i++)
		assert_ptr_equal(lookup(&r, i, 1000), &a);
	/* delete every third, starting with the chain's head */
	for (uint32_t i = 0; i < n; i += 3)
		assert_int_equal(del(&r, &a, i, 1000), 1);
	for (uint32_t i = 0; i < n; i++)
		assert_ptr_equal(lookup(&r, i, 1000), i % 3 ? &a : NULL);
	/* re-adding reuses freed entries and still finds everything */
	for (uint32_t i = 0; i < n; i += 3)
		assert_int_equal(add(&r, &a, i, 1000), ROUTER_ADDED);
	for (uint32_t i = 0; i < n; i++)
		assert_ptr_equal(lookup(&r, i, 1000), &a);
	assert_int_equal(router_del_owner(&r, &a), n);
	for (size_t i = 0; i < r.slot_count; i++)
		assert_int_equal(r.slots[i], 0);
	router_free(&r);
}

/* Keys whose home slots cluster near the end of the table, so probe runs
 * wrap around to slot 0: deletion must honour the wrap. */
static uint64_t end_of_table_hash(const struct router_key *key, uint64_t seed)
{
	return 1020 + key->client_port % 4;	/* the first table has 1024 slots */
}

static void test_collisions_wrapping(void **state)
{
	enum { PORTS = 40 };

	/* Many deletion orders: the broken cases need a deletion at the end
	 * of the table with a key past the wrap whose home lies after it. */
	for (unsigned round = 0; round < 50; round++) {
		struct router r;
		struct router_owner a;
		bool present[PORTS + 1];
		uint16_t order[PORTS];

		router_owner_init(&a);
		assert_int_equal(router_init_with_hash(&r, 1, end_of_table_hash), 0);
		for (uint16_t port = 1; port <= PORTS; port++) {
			assert_int_equal(add(&r, &a, 9, port), ROUTER_ADDED);
			present[port] = true;
			order[port - 1] = port;
		}
		srandom(round);
		for (int i = PORTS - 1; i > 0; i--) {
			int k = (int)(random() % (i + 1));
			uint16_t swap = order[i];
			order[i] = order[k];
			order[k] = swap;
		}
		for (int d = 0; d < PORTS / 2; d++) {
			assert_int_equal(del(&r, &a, 9, order[d]), 1);
			present[order[d]] = false;
			for (uint16_t port = 1; port <= PORTS; port++)
				assert_ptr_equal(lookup(&r, 9, port), present[port] ? &a : NULL);
		}
		router_free(&r);
	}
}

/* Random adds, deletes and owner closes, checked against an array that
 * says who owns each of a small key space. */
static void test_random_against_model(void **state)
{
	enum { KEYS = 4096, OWNERS = 4, STEPS = 200000 };
	static struct router_owner *model[KEYS];
	struct router_owner owners[OWNERS];
	struct router r;
	size_t live = 0;

	memset(model, 0, sizeof(model));
	for (int i = 0; i < OWNERS; i++)
		router_owner_init(&owners[i]);
	assert_int_equal(router_init_with_hash(&r, 42, NULL), 0);
	srandom(1234);
	for (int step = 0; step < STEPS; step++) {
		uint32_t key = (uint32_t)random() % KEYS;
		struct router_owner *o = &owners[random() % OWNERS];
		int action = (int)(random() % 100);
		if (action < 55) {
			enum router_add_result res = add(&r, o, key / 16, (uint16_t)(1 + key % 16));
			assert_int_equal(res, !model[key] ? ROUTER_ADDED :
					 model[key] == o ? ROUTER_UPDATED : ROUTER_MOVED);
			live += !model[key];
			model[key] = o;
		} else if (action < 99) {
			int removed = del(&r, o, key / 16, (uint16_t)(1 + key % 16));
			assert_int_equal(removed, model[key] == o);
			if (removed) {
				model[key] = NULL;
				live--;
			}
		} else {
			size_t owned = o->count;
			assert_int_equal(router_del_owner(&r, o), owned);
			for (int k = 0; k < KEYS; k++)
				if (model[k] == o)
					model[k] = NULL;
			live -= owned;
		}
		assert_int_equal(r.count, live);
	}
	for (uint32_t k = 0; k < KEYS; k++)
		assert_ptr_equal(lookup(&r, k / 16, (uint16_t)(1 + k % 16)), model[k]);
	router_free(&r);
}

/* The size the router is built for: a million routes from 64 owners,
 * all found, a quarter deleted one by one, then the owners closed. */
static void test_million_routes(void **state)
{
	enum { ROUTES = 1000000, OWNERS = 64 };
	struct router_owner *owners = calloc(OWNERS, sizeof(*owners));
	struct router r;

	assert_non_null(owners);
	assert_int_equal(router_init(&r), 0);
	for (uint32_t i = 0; i < ROUTES; i++) {
		/* 16 ports per address: 62,500 client addresses */
		assert_int_equal(add(&r, &owners[i % OWNERS], i / 16, (uint16_t)(30000 + i % 16)),
				 ROUTER_ADDED);
	}
	assert_int_equal(r.count, ROUTES);
	assert_true(r.slot_count >= 2 * (size_t)ROUTES);	/* load at most one half */
	for (uint32_t i = 0; i < ROUTES; i++)
		assert_ptr_equal(lookup(&r, i / 16, (uint16_t)(30000 + i % 16)), &owners[i % OWNERS]);
	for (uint32_t i = 0; i < ROUTES; i += 4)
		assert_int_equal(del(&r, &owners[i % OWNERS], i / 16, (uint16_t)(30000 + i % 16)), 1);
	assert_int_equal(r.count, ROUTES - ROUTES / 4);
	for (uint32_t i = 0; i < ROUTES; i++)
		assert_ptr_equal(lookup(&r, i / 16, (uint16_t)(30000 + i % 16)),
				 i % 4 ? &owners[i % OWNERS] : NULL);
	size_t removed = 0;
	for (int o = 0; o < OWNERS; o++)
		removed += router_del_owner(&r, &owners[o]);
	assert_int_equal(removed, ROUTES - ROUTES / 4);
	assert_int_equal(r.count, 0);
	router_free(&r);
	free(owners);
}

/* ROUTE_4TUPLE: one client address and port replayed to two targets by two
 * owners; each target's answers go to its own owner, a delete removes only
 * its own 4-tuple, and a route to a third target is no answer to either. */
static void test_4tuple_two_targets_coexist(void **state)
{
	struct router r;
	struct router_owner a, b;
	struct dp_addr c = CLIENT(1), t1 = v4(0xc6130001u), t2 = v4(0xc6130002u),
		       t3 = v4(0xc6130003u);

	router_owner_init(&a);
	router_owner_init(&b);
	assert_int_equal(router_init(&r), 0);
	assert_int_equal(router_add_4tuple(&r, &a, &c, 4000, &t1, 80), ROUTER_ADDED);
	assert_int_equal(router_add_4tuple(&r, &b, &c, 4000, &t2, 80), ROUTER_ADDED);
	/* the same 4-tuple again from a: an update; from b: a move */
	assert_int_equal(router_add_4tuple(&r, &a, &c, 4000, &t1, 80), ROUTER_UPDATED);
	assert_int_equal(r.count, 2);
	assert_int_equal(r.count_4tuple, 2);
	assert_ptr_equal(router_lookup(&r, &c, 4000, &t1, 80), &a);
	assert_ptr_equal(router_lookup(&r, &c, 4000, &t2, 80), &b);
	assert_null(router_lookup(&r, &c, 4000, &t3, 80));
	assert_null(router_lookup(&r, &c, 4000, &t1, 81));	/* another port of t1 */
	assert_null(router_lookup(&r, &c, 4001, &t1, 80));
	/* a's delete of b's 4-tuple is stale; of its own, done */
	assert_int_equal(router_del_4tuple(&r, &a, &c, 4000, &t2, 80), 0);
	assert_int_equal(router_del_4tuple(&r, &a, &c, 4000, &t1, 81), 0);
	assert_int_equal(router_del(&r, &a, &c, 4000), 0);	/* not a 2-tuple route */
	assert_int_equal(router_del_4tuple(&r, &a, &c, 4000, &t1, 80), 1);
	assert_null(router_lookup(&r, &c, 4000, &t1, 80));
	assert_ptr_equal(router_lookup(&r, &c, 4000, &t2, 80), &b);
	assert_int_equal(router_add_4tuple(&r, &a, &c, 4000, &t2, 80), ROUTER_MOVED);
	assert_ptr_equal(router_lookup(&r, &c, 4000, &t2, 80), &a);
	assert_int_equal(b.count, 0);
	/* a target of another family or port 0 is no 4-tuple */
	struct dp_addr t6 = v6(2);
	assert_int_equal(router_add_4tuple(&r, &a, &c, 4000, &t6, 80), ROUTER_FULL);
	assert_int_equal(router_add_4tuple(&r, &a, &c, 4000, &t1, 0), ROUTER_FULL);
	assert_int_equal(router_del_owner(&r, &a), 1);
	assert_int_equal(r.count, 0);
	assert_int_equal(r.count_4tuple, 0);
	router_free(&r);
}

/* An old copy daemon (2-tuple key) and a new one (4-tuple) on one
 * intercept: the 4-tuple route wins for its target, the 2-tuple route
 * still serves its own, and removing either leaves the other. */
static void test_4tuple_and_2tuple_side_by_side(void **state)
{
	struct router r;
	struct router_owner old, new;
	struct dp_addr c6 = v6(1), t6a = v6(0x100), t6b = v6(0x200);

	router_owner_init(&old);
	router_owner_init(&new);
	assert_int_equal(router_init(&r), 0);
	assert_int_equal(router_add(&r, &old, &c6, 5555, &t6a, 443), ROUTER_ADDED);
	assert_int_equal(router_add_4tuple(&r, &new, &c6, 5555, &t6b, 443), ROUTER_ADDED);
	assert_ptr_equal(router_lookup(&r, &c6, 5555, &t6a, 443), &old);
	assert_ptr_equal(router_lookup(&r, &c6, 5555, &t6b, 443), &new);
	/* the 4-tuple for the old one's own target too: more specific, wins */
	assert_int_equal(router_add_4tuple(&r, &new, &c6, 5555, &t6a, 443), ROUTER_ADDED);
	assert_ptr_equal(router_lookup(&r, &c6, 5555, &t6a, 443), &new);
	assert_int_equal(router_del_4tuple(&r, &new, &c6, 5555, &t6a, 443), 1);
	assert_ptr_equal(router_lookup(&r, &c6, 5555, &t6a, 443), &old);
	assert_int_equal(router_del(&r, &old, &c6, 5555), 1);
	assert_null(router_lookup(&r, &c6, 5555, &t6a, 443));
	assert_ptr_equal(router_lookup(&r, &c6, 5555, &t6b, 443), &new);
	assert_int_equal(r.count, 1);
	assert_int_equal(r.count_4tuple, 1);
	router_free(&r);
}

/* 4-tuple keys that differ only in the target, all in one probe chain:
 * each is found, and deletes from the chain's middle keep the rest. */
static void test_4tuple_collisions(void **state)
{
	enum { N = 300 };
	struct router r;
	struct router_owner a;
	struct dp_addr c = CLIENT(7);

	router_owner_init(&a);
	assert_int_equal(router_init_with_hash(&r, 0, constant_hash), 0);
	for (uint32_t i = 0; i < N; i++) {
		struct dp_addr t = v4(0xc6130000u + i);
		assert_int_equal(router_add_4tuple(&r, &a, &c, 9000, &t, (uint16_t)(80 + i % 3)),
				 ROUTER_ADDED);
	}
	for (uint32_t i = 0; i < N; i += 2) {
		struct dp_addr t = v4(0xc6130000u + i);
		assert_int_equal(router_del_4tuple(&r, &a, &c, 9000, &t, (uint16_t)(80 + i % 3)), 1);
	}
	for (uint32_t i = 0; i < N; i++) {
		struct dp_addr t = v4(0xc6130000u + i);
		assert_ptr_equal(router_lookup(&r, &c, 9000, &t, (uint16_t)(80 + i % 3)),
				 i % 2 ? &a : NULL);
	}
	assert_int_equal(router_del_owner(&r, &a), N / 2);
	router_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_lookup_delete),
		cmocka_unit_test(test_lookup_checks_target),
		cmocka_unit_test(test_replace_and_move),
		cmocka_unit_test(test_owner_close_removes_only_its_routes),
		cmocka_unit_test(test_ipv6_and_ipv4_keys_differ),
		cmocka_unit_test(test_collisions),
		cmocka_unit_test(test_collisions_wrapping),
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_million_routes),
		cmocka_unit_test(test_4tuple_two_targets_coexist),
		cmocka_unit_test(test_4tuple_and_2tuple_side_by_side),
		cmocka_unit_test(test_4tuple_collisions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
