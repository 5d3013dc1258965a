/*
 * test_intercept_holding_server.c — the intercept server holding responses
 * that come before their route (--hold-unrouted), with real TCP clients on
 * 127.0.0.1: a response held, then delivered when its ROUTE_ADD arrives,
 * ahead of the newer ones; one from another target left to expire,
 * counted unrouted at expiry by the hold timer; a closed connection's
 * routes, whose later responses wait for the next owner; the payload
 * prefix kept; holding off (0) dropping at once; the statistics' keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server_fixture.h"
#include "unit_files.h"
#include "wire_client.h"

#define STAT(f, name) ((f)->stats.values[ISTAT_##name])
#define TARGET "198.19.0.1"
#define CLIENT "198.18.0.1"

/* Long enough that nothing expires while a loaded machine runs a test,
 * where expiry is not what the test is about. */
#define LONG_HOLD_MS 30000

static bool routes_reach(struct server_fixture *f, void *arg)
{
	return STAT(f, ROUTES_ACTIVE) >= *(uint64_t *)arg;
}

struct record_wait {
	struct wire_client *client;
	size_t want;
};

static bool records_reach(struct server_fixture *f, void *arg)
{
	struct record_wait *w = arg;

	return w->client->record_count >= w->want;
}

/* Run until c has received want records. */
static void wait_records(struct server_fixture *f, struct wire_client *c, size_t want)
{
	struct record_wait w = { c, want };

	fixture_run_until(f, records_reach, &w);
}

static void connect_client(struct server_fixture *f, struct wire_client *c, uint32_t features)
{
	wire_client_connect(c, f->loop, server_port(f->server), true, false);
	wire_client_send_hello(c, WIRE_FEAT_IPV6 | features);
}

static void add_route(struct server_fixture *f, struct wire_client *c, uint16_t client_port)
{
	uint64_t want = STAT(f, ROUTES_ACTIVE) + 1;

	wire_client_send_route(c, WIRE_ROUTE_ADD, CLIENT, client_port, TARGET, 80);
	fixture_run_until(f, routes_reach, &want);
}

static void test_held_response_delivered_when_route_comes(void **state)
{
	struct server_fixture f;
	struct wire_client c;

	fixture_server_init(&f);
	f.cfg.hold_unrouted_ms = LONG_HOLD_MS;
	fixture_server_start(&f);
	/* The SYN-ACK (payload 0) and a data segment (5) beat the route; one
	 * from the target's other port (81) is no answer for this route. */
	fixture_deliver(&f, TARGET, 80, CLIENT, 40000, 0);
	fixture_deliver(&f, TARGET, 81, CLIENT, 40000, 9);
	fixture_deliver(&f, TARGET, 80, CLIENT, 40000, 5);
	assert_int_equal(server_held_count(f.server), 3);
	assert_int_equal(STAT(&f, SUMMARIES_HELD), 3);
	assert_int_equal(STAT(&f, SUMMARIES_UNROUTED), 0);
	assert_int_equal(STAT(&f, SUMMARIES_ROUTED), 0);

	connect_client(&f, &c, 0);
	add_route(&f, &c, 40000);
	/* Delivered at the ROUTE_ADD, in their order; the stranger stays. */
	assert_int_equal(STAT(&f, SUMMARIES_HELD_DELIVERED), 2);
	assert_int_equal(server_held_count(f.server), 1);
	fixture_deliver(&f, TARGET, 80, CLIENT, 40000, 7);	/* newer: after them */
	wait_records(&f, &c, 3);
	assert_int_equal(c.record_count, 3);
	assert_int_equal(c.records[0].payload_len, 0);
	assert_int_equal(c.records[1].payload_len, 5);
	assert_int_equal(c.records[2].payload_len, 7);
	assert_int_equal(c.records[0].source_port, 80);
	assert_int_equal(c.records[0].destination_port, 40000);
	assert_int_equal(c.records[0].data_len, 40);
	assert_int_equal(STAT(&f, SUMMARIES_ROUTED), 3);
	assert_int_equal(STAT(&f, SUMMARIES_IN), 4);
	assert_int_equal(STAT(&f, SUMMARIES_UNROUTED), 0);
	assert_false(c.decode_failed);
	wire_client_close(&c);
	/* Still one held: server_free frees it (ASan checks the leak) and
	 * counts it unrouted, so that the counts add up at exit. */
	fixture_server_stop(&f);
	assert_int_equal(STAT(&f, SUMMARIES_UNROUTED), 1);
	assert_int_equal(STAT(&f, SUMMARIES_IN),
			 STAT(&f, SUMMARIES_ROUTED) + STAT(&f, SUMMARIES_UNROUTED));
}

static bool unrouted_reach(struct server_fixture *f, void *arg)
{
	return STAT(f, SUMMARIES_UNROUTED) >= *(uint64_t *)arg;
}

/* Nobody claims them: the hold timer expires them, and only then are they
 * counted unrouted. A route that comes later finds nothing. */
static void test_unclaimed_responses_expire(void **state)
{
	struct server_fixture f;
	struct wire_client c;
	uint64_t want = 2;

	fixture_server_init(&f);
	f.cfg.hold_unrouted_ms = 20;
	fixture_server_start(&f);
	fixture_deliver(&f, TARGET, 80, CLIENT, 41000, 0);
	fixture_deliver(&f, TARGET, 80, CLIENT, 41001, 0);
	assert_int_equal(STAT(&f, SUMMARIES_UNROUTED), 0);
	fixture_run_until(&f, unrouted_reach, &want);
	assert_int_equal(STAT(&f, SUMMARIES_UNROUTED), 2);
	assert_int_equal(STAT(&f, SUMMARIES_HELD), 2);
	assert_int_equal(server_held_count(f.server), 0);
	connect_client(&f, &c, 0);
	add_route(&f, &c, 41000);
	assert_int_equal(STAT(&f, SUMMARIES_HELD_DELIVERED), 0);
	assert_int_equal(c.record_count, 0);
	wire_client_close(&c);
	fixture_server_stop(&f);
}

static bool connections_are(struct server_fixture *f, void *arg)
{
	return server_connection_count(f->server) == *(size_t *)arg;
}

/* A closed connection's routes are gone: a response to one of them is
 * held, not sent to anyone, and goes to the connection that takes the
 * route next. */
static void test_closed_connection_routes(void **state)
{
	struct server_fixture f;
	struct wire_client a, b;
	size_t one = 1;

	fixture_server_init(&f);
	f.cfg.hold_unrouted_ms = LONG_HOLD_MS;
	fixture_server_start(&f);
	connect_client(&f, &a, 0);
	add_route(&f, &a, 42000);
	connect_client(&f, &b, 0);
	add_route(&f, &b, 42001);
	wire_client_close(&a);
	fixture_run_until(&f, connections_are, &one);
	assert_int_equal(server_route_count(f.server), 1);

	fixture_deliver(&f, TARGET, 80, CLIENT, 42000, 3);
	assert_int_equal(server_held_count(f.server), 1);
	fixture_deliver(&f, TARGET, 80, CLIENT, 42001, 4);	/* b's: routed at once */
	wait_records(&f, &b, 1);
	assert_int_equal(b.records[0].payload_len, 4);
	add_route(&f, &b, 42000);
	wait_records(&f, &b, 2);
	assert_int_equal(b.records[1].destination_port, 42000);
	assert_int_equal(b.records[1].payload_len, 3);
	assert_int_equal(STAT(&f, SUMMARIES_HELD_DELIVERED), 1);
	assert_int_equal(server_held_count(f.server), 0);
	wire_client_close(&b);
	fixture_server_stop(&f);
}

/* The payload prefix is kept while held, for a copy daemon that asked. */
static void test_prefix_kept(void **state)
{
	struct server_fixture f;
	struct wire_client c;

	fixture_server_init(&f);
	f.cfg.hold_unrouted_ms = LONG_HOLD_MS;
	f.cfg.payload_prefix = 16;
	fixture_server_start(&f);
	fixture_deliver(&f, TARGET, 80, CLIENT, 43000, 30);
	connect_client(&f, &c, WIRE_FEAT_PAYLOAD_PREFIX);
	add_route(&f, &c, 43000);
	wait_records(&f, &c, 1);
	assert_int_equal(c.records[0].flags, WIRE_SUMMARY_PREFIX);
	assert_int_equal(c.records[0].data_len, 40 + 16);
	assert_int_equal(c.records[0].payload_len, 30);
	wire_client_close(&c);
	fixture_server_stop(&f);
}

/* --hold-unrouted 0: dropped and counted at once, as before. */
static void test_holding_off(void **state)
{
	struct server_fixture f;
	struct wire_client c;

	fixture_server_init(&f);
	f.cfg.hold_unrouted_ms = 0;
	fixture_server_start(&f);
	fixture_deliver(&f, TARGET, 80, CLIENT, 44000, 0);
	assert_int_equal(STAT(&f, SUMMARIES_UNROUTED), 1);
	assert_int_equal(STAT(&f, SUMMARIES_HELD), 0);
	assert_int_equal(server_held_count(f.server), 0);
	connect_client(&f, &c, 0);
	add_route(&f, &c, 44000);
	fixture_deliver(&f, TARGET, 80, CLIENT, 44000, 2);
	wait_records(&f, &c, 1);
	assert_int_equal(c.record_count, 1);
	assert_int_equal(c.records[0].payload_len, 2);
	wire_client_close(&c);
	fixture_server_stop(&f);
}

/* Bounded: a holding of 4 entries keeps the 4 newest of 6, and the two
 * pushed out are counted unrouted at once. */
static void test_full_holding_drops_oldest(void **state)
{
	struct server_fixture f;
	struct wire_client c;

	fixture_server_init(&f);
	f.cfg.hold_unrouted_ms = LONG_HOLD_MS;
	f.cfg.hold_max_entries = 4;
	fixture_server_start(&f);
	for (size_t i = 0; i < 6; i++)
		fixture_deliver(&f, TARGET, 80, CLIENT, 45000, i);
	assert_int_equal(server_held_count(f.server), 4);
	assert_int_equal(STAT(&f, SUMMARIES_UNROUTED), 2);
	connect_client(&f, &c, 0);
	add_route(&f, &c, 45000);
	wait_records(&f, &c, 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(c.records[i].payload_len, i + 2);
	wire_client_close(&c);
	fixture_server_stop(&f);
}

static void test_stats_keys(void **state)
{
	struct intercept_stats s;
	char dir[] = "/tmp/doppel-hold-XXXXXX", path[64], json[4096];

	intercept_stats_init(&s);
	s.values[ISTAT_SUMMARIES_HELD] = 12;
	s.values[ISTAT_SUMMARIES_HELD_DELIVERED] = 11;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/stats.json", dir);
	assert_int_equal(intercept_stats_write(&s, path), 0);
	unit_read_file(path, json, sizeof(json));
	assert_non_null(strstr(json, "\"summaries_held\": 12"));
	assert_non_null(strstr(json, "\"summaries_held_delivered\": 11"));
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_held_response_delivered_when_route_comes),
		cmocka_unit_test(test_unclaimed_responses_expire),
		cmocka_unit_test(test_closed_connection_routes),
		cmocka_unit_test(test_prefix_kept),
		cmocka_unit_test(test_holding_off),
		cmocka_unit_test(test_full_holding_drops_oldest),
		cmocka_unit_test(test_stats_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
