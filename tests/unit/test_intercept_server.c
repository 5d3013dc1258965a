/*
 * test_intercept_server.c — the intercept server with real TCP clients on
 * 127.0.0.1 speaking lib/wire: the HELLO exchange, routes, summaries
 * routed to the owning connection only, unrouted responses counted, a
 * malformed frame closing only its own connection (ERROR and a log line),
 * ROUTE_DEL and stale deletes, a closed connection's routes removed, IPv6, the
 * -x allowlist, and ROUTE_4TUPLE (routes keyed by the 4-tuple with peers
 * that announce it, by client address and port with those that do not).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server_fixture.h"
#include "wire_client.h"

#define STAT(f, name) ((f)->stats.values[ISTAT_##name])

/* A client and the number of routes the table should hold once its
 * HELLO and ROUTE_ADDs were read. */
struct routed_client {
	struct wire_client client;
	uint64_t routes_expected;
};

static bool hello_and_routes(struct server_fixture *f, void *arg)
{
	struct routed_client *rc = arg;

	return rc->client.frames[WIRE_HELLO] == 1 && STAT(f, ROUTES_ACTIVE) >= rc->routes_expected;
}

static void connect_with_routes(struct server_fixture *f, struct routed_client *rc,
				const char *client_addr, const uint16_t *ports, size_t n)
{
	wire_client_connect(&rc->client, f->loop, server_port(f->server), true, false);
	wire_client_send_hello(&rc->client, WIRE_FEAT_IPV6);
	for (size_t i = 0; i < n; i++)
		wire_client_send_route(&rc->client, WIRE_ROUTE_ADD, client_addr, ports[i],
				       "198.19.0.1", 80);
	rc->routes_expected = STAT(f, ROUTES_ACTIVE) + n;
	fixture_run_until(f, hello_and_routes, rc);
}

static void test_hello_exchange(void **state)
{
	struct server_fixture f;
	struct routed_client rc;

	fixture_server_init(&f);
	fixture_server_start(&f);
	connect_with_routes(&f, &rc, "198.18.0.1", NULL, 0);
	assert_int_equal(rc.client.hello.version, WIRE_VERSION);
	assert_int_equal(rc.client.hello.role, WIRE_ROLE_INTERCEPT);
	assert_true(rc.client.hello.features & WIRE_FEAT_IPV6);
	assert_true(rc.client.hello.features & WIRE_FEAT_ROUTE_4TUPLE);
	/* no payload prefix configured: the feature is not offered */
	assert_false(rc.client.hello.features & WIRE_FEAT_PAYLOAD_PREFIX);
	assert_int_equal(rc.client.hello.max_body, WIRE_MAX_BODY);
	assert_int_equal(server_connection_count(f.server), 1);
	assert_int_equal(STAT(&f, CONNECTIONS_ACCEPTED), 1);
	assert_int_equal(STAT(&f, CONNECTIONS_ACTIVE), 1);
	assert_true(fixture_logged(&f, "127.0.0.1", "connected"));
	wire_client_close(&rc.client);
	fixture_server_stop(&f);
}

struct two_counts {
	struct wire_client *a, *b;
	size_t want_a, want_b;
};

static bool records_arrived(struct server_fixture *f, void *arg)
{
	struct two_counts *t = arg;

	return t->a->record_count >= t->want_a && (!t->b || t->b->record_count >= t->want_b);
}

static void test_summaries_go_to_their_owner_only(void **state)
{
	static const uint16_t ports_a[] = { 40000, 40001 }, ports_b[] = { 40000 };
	struct server_fixture f;
	struct routed_client a, b;

	fixture_server_init(&f);
	fixture_server_start(&f);
	connect_with_routes(&f, &a, "198.18.0.1", ports_a, 2);
	connect_with_routes(&f, &b, "198.18.0.2", ports_b, 1);
	assert_int_equal(server_route_count(f.server), 3);
	assert_int_equal(STAT(&f, ROUTES_ADDED), 3);

	/* Expected: a gets 3 (two to 40000, one to 40001), b gets 1; a
	 * response to a port nobody registered and one from another target
	 * port are counted unrouted. */
	fixture_deliver(&f, "198.19.0.1", 80, "198.18.0.1", 40000, 0);
	fixture_deliver(&f, "198.19.0.1", 80, "198.18.0.2", 40000, 10);
	fixture_deliver(&f, "198.19.0.1", 80, "198.18.0.1", 40001, 20);
	fixture_deliver(&f, "198.19.0.1", 80, "198.18.0.1", 40000, 30);
	fixture_deliver(&f, "198.19.0.1", 80, "198.18.0.1", 40002, 0);
	fixture_deliver(&f, "198.19.0.1", 81, "198.18.0.1", 40000, 0);
	struct two_counts want = { &a.client, &b.client, 3, 1 };
	fixture_run_until(&f, records_arrived, &want);

	assert_int_equal(a.client.record_count, 3);
	assert_int_equal(b.client.record_count, 1);
	/* one frame each: the four summaries of one iteration coalesced */
	assert_int_equal(a.client.frames[WIRE_SUMMARIES], 1);
	assert_int_equal(b.client.frames[WIRE_SUMMARIES], 1);
	assert_int_equal(a.client.records[0].destination_port, 40000);
	assert_int_equal(a.client.records[0].payload_len, 0);
	assert_int_equal(a.client.records[1].destination_port, 40001);
	assert_int_equal(a.client.records[1].payload_len, 20);
	assert_int_equal(a.client.records[2].payload_len, 30);
	assert_int_equal(b.client.records[0].destination_port, 40000);
	assert_int_equal(b.client.records[0].payload_len, 10);
	/* headers only: 20 IPv4 + 20 TCP, no PREFIX flag */
	assert_int_equal(a.client.records[1].data_len, 40);
	assert_int_equal(a.client.records[1].flags, 0);
	assert_int_equal(STAT(&f, SUMMARIES_IN), 6);
	assert_int_equal(STAT(&f, SUMMARIES_ROUTED), 4);
	assert_int_equal(STAT(&f, SUMMARIES_UNROUTED), 2);
	assert_int_equal(STAT(&f, FRAMES_OUT), 2);
	assert_false(a.client.decode_failed || b.client.decode_failed);
	wire_client_close(&a.client);
	wire_client_close(&b.client);
	fixture_server_stop(&f);
}

static void test_malformed_frame_closes_only_that_connection(void **state)
{
	static const uint16_t ports_a[] = { 1111 }, ports_b[] = { 2222 };
	static const uint8_t unknown_type[8] = { 0, 0, 0, 0, 9, 0, 0, 0 };
	struct server_fixture f;
	struct routed_client a, b;

	fixture_server_init(&f);
	fixture_server_start(&f);
	connect_with_routes(&f, &a, "198.18.0.1", ports_a, 1);
	connect_with_routes(&f, &b, "198.18.0.1", ports_b, 1);
	/* 300 kB after the bad frame stay unread, so the close resets the
	 * connection: the ERROR queued before must still arrive */
	static uint8_t after[300000];
	wire_client_send(&a.client, unknown_type, sizeof(unknown_type));
	wire_client_send(&a.client, after, sizeof(after));
	fixture_run_until(&f, fixture_client_closed, &a.client);

	assert_int_equal(a.client.frames[WIRE_ERROR], 1);
	assert_int_equal(a.client.error_code, WIRE_ERR_MALFORMED);
	assert_non_null(strstr(a.client.error_message, "unknown frame type 9"));
	assert_true(fixture_logged(&f, "malformed frame", "unknown frame type 9"));
	assert_int_equal(STAT(&f, CONNECTIONS_CLOSED_MALFORMED), 1);
	assert_int_equal(server_connection_count(f.server), 1);
	/* a's route went with it; b's stayed and still works */
	assert_int_equal(server_route_count(f.server), 1);
	fixture_deliver(&f, "198.19.0.1", 80, "198.18.0.1", 1111, 0);
	fixture_deliver(&f, "198.19.0.1", 80, "198.18.0.1", 2222, 0);
	struct two_counts want = { &b.client, NULL, 1, 0 };
	fixture_run_until(&f, records_arrived, &want);
	assert_int_equal(b.client.record_count, 1);
	assert_int_equal(b.client.records[0].destination_port, 2222);
	assert_int_equal(STAT(&f, SUMMARIES_UNROUTED), 1);
	assert_false(b.client.closed);
	wire_client_close(&a.client);
	wire_client_close(&b.client);
	fixture_server_stop(&f);
}

/* A copy daemon's HELLO with another version is answered with VERSION. */
static void test_version_mismatch(void **state)
{
	struct server_fixture f;
	struct wire_client c;
	uint8_t hello[24] = {
		0, 0, 0, 16, WIRE_HELLO, 0, 0, 0,
		0x44, 0x50, 0x50, 0x4c, 0, 2, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0,
	};

	fixture_server_init(&f);
	fixture_server_start(&f);
	wire_client_connect(&c, f.loop, server_port(f.server), true, false);
	wire_client_send(&c, hello, sizeof(hello));
	fixture_run_until(&f, fixture_client_closed, &c);
	assert_int_equal(c.frames[WIRE_HELLO], 1);	/* ours went first */
	assert_int_equal(c.error_code, WIRE_ERR_VERSION);
	assert_int_equal(server_connection_count(f.server), 0);
	wire_client_close(&c);
	fixture_server_stop(&f);
}

static bool route_count_is(struct server_fixture *f, void *arg)
{
	return server_route_count(f->server) == *(size_t *)arg;
}

static void test_route_delete_stale_delete_and_close(void **state)
{
	static const uint16_t ports_a[] = { 5000, 5001, 5002 }, ports_b[] = { 6000 };
	struct server_fixture f;
	struct routed_client a, b;
	size_t want;

	fixture_server_init(&f);
	fixture_server_start(&f);
	connect_with_routes(&f, &a, "198.18.0.1", ports_a, 3);
	connect_with_routes(&f, &b, "198.18.0.1", ports_b, 1);
	/* a deletes its own 5000 (done) and b's 6000 (stale: not a's) */
	wire_client_send_route(&a.client, WIRE_ROUTE_DEL, "198.18.0.1", 5000, "198.19.0.1", 80);
	wire_client_send_route(&a.client, WIRE_ROUTE_DEL, "198.18.0.1", 6000, "198.19.0.1", 80);
	struct stat_wait stale = { ISTAT_ROUTES_STALE_DELETES, 1 };
	fixture_run_until(&f, fixture_stat_reached, &stale);
	assert_int_equal(STAT(&f, ROUTES_DELETED), 1);
	assert_int_equal(server_route_count(f.server), 3);
	/* b takes over a's 5001: moved, counted */
	wire_client_send_route(&b.client, WIRE_ROUTE_ADD, "198.18.0.1", 5001, "198.19.0.1", 80);
	struct stat_wait moved = { ISTAT_ROUTES_MOVED, 1 };
	fixture_run_until(&f, fixture_stat_reached, &moved);
	assert_int_equal(server_route_count(f.server), 3);
	/* a closing removes its one remaining route (5002), not 5001 */
	wire_client_close(&a.client);
	want = 2;
	fixture_run_until(&f, route_count_is, &want);
	assert_true(fixture_logged(&f, "closed", "1 routes removed"));
	fixture_deliver(&f, "198.19.0.1", 80, "198.18.0.1", 5001, 0);
	struct two_counts records = { &b.client, NULL, 1, 0 };
	fixture_run_until(&f, records_arrived, &records);
	assert_int_equal(b.client.records[0].destination_port, 5001);
	assert_int_equal(STAT(&f, ROUTES_ACTIVE), 2);
	wire_client_close(&b.client);
	fixture_server_stop(&f);
}

static bool refused(struct server_fixture *f, void *arg)
{
	return STAT(f, CONNECTIONS_REFUSED) == 1 && ((struct wire_client *)arg)->closed;
}

static void test_allowlist_refuses_others(void **state)
{
	struct server_fixture f;
	struct wire_client c;

	fixture_server_init(&f);
	assert_int_equal(dp_addr_parse("198.18.0.99", &f.cfg.allow[0]), 0);
	f.cfg.allow_count = 1;
	fixture_server_start(&f);
	wire_client_connect(&c, f.loop, server_port(f.server), true, false);
	fixture_run_until(&f, refused, &c);
	assert_int_equal(c.frames[WIRE_HELLO], 0);	/* closed without a word */
	assert_int_equal(STAT(&f, CONNECTIONS_ACCEPTED), 0);
	assert_int_equal(server_connection_count(f.server), 0);
	assert_true(fixture_logged(&f, "127.0.0.1", "not in the allowlist"));
	wire_client_close(&c);
	fixture_server_stop(&f);
}

/* 127.0.0.1 in the list: accepted, although the dual-stack listener sees
 * it as ::ffff:127.0.0.1. */
static void test_allowlist_admits_listed(void **state)
{
	struct server_fixture f;
	struct routed_client rc;

	fixture_server_init(&f);
	assert_int_equal(dp_addr_parse("198.18.0.99", &f.cfg.allow[0]), 0);
	assert_int_equal(dp_addr_parse("127.0.0.1", &f.cfg.allow[1]), 0);
	f.cfg.allow_count = 2;
	fixture_server_start(&f);
	connect_with_routes(&f, &rc, "198.18.0.1", NULL, 0);
	assert_int_equal(STAT(&f, CONNECTIONS_REFUSED), 0);
	assert_int_equal(server_connection_count(f.server), 1);
	wire_client_close(&rc.client);
	fixture_server_stop(&f);
}

/* IPv6 routes and responses: the record carries the 40-byte IPv6 header. */
static void test_ipv6_route_and_summary(void **state)
{
	struct server_fixture f;
	struct wire_client c;
	struct stat_wait routed = { ISTAT_ROUTES_ACTIVE, 1 };

	fixture_server_init(&f);
	fixture_server_start(&f);
	wire_client_connect(&c, f.loop, server_port(f.server), true, false);
	wire_client_send_hello(&c, WIRE_FEAT_IPV6);
	wire_client_send_route(&c, WIRE_ROUTE_ADD, "2001:db8::1", 40000, "2001:db8::2", 443);
	fixture_run_until(&f, fixture_stat_reached, &routed);
	fixture_deliver(&f, "2001:db8::2", 443, "2001:db8::1", 40000, 7);
	fixture_deliver(&f, "2001:db8::3", 443, "2001:db8::1", 40000, 7);	/* other target */
	struct two_counts want = { &c, NULL, 1, 0 };
	fixture_run_until(&f, records_arrived, &want);
	assert_int_equal(c.record_count, 1);
	assert_int_equal(c.records[0].data_len, 60);
	assert_int_equal(c.records[0].source_port, 443);
	assert_int_equal(c.records[0].destination_port, 40000);
	assert_int_equal(c.records[0].payload_len, 7);
	assert_int_equal(STAT(&f, SUMMARIES_UNROUTED), 1);
	wire_client_close(&c);
	fixture_server_stop(&f);
}

static bool routes_and_hellos(struct server_fixture *f, void *arg)
{
	struct two_counts *t = arg;

	return t->a->frames[WIRE_HELLO] && t->b->frames[WIRE_HELLO] &&
	       STAT(f, ROUTES_ACTIVE) + STAT(f, ROUTES_MOVED) >= t->want_a;
}

/* Two copy daemons that announce ROUTE_4TUPLE replay one client address
 * and port to two targets: both routes stand and each gets its target's
 * answers. Two that do not announce it: the second ROUTE_ADD moves the
 * route (the 2-tuple key of version 1 peers), and its deletes by another
 * target still remove it. */
static void test_4tuple_routes_only_when_announced(void **state)
{
	struct server_fixture f;
	struct wire_client a, b;

	for (int announce = 1; announce >= 0; announce--) {
		uint32_t feat = WIRE_FEAT_IPV6 | (announce ? WIRE_FEAT_ROUTE_4TUPLE : 0);

		fixture_server_init(&f);
		fixture_server_start(&f);
		wire_client_connect(&a, f.loop, server_port(f.server), true, false);
		wire_client_connect(&b, f.loop, server_port(f.server), true, false);
		wire_client_send_hello(&a, feat);
		wire_client_send_hello(&b, feat);
		wire_client_send_route(&a, WIRE_ROUTE_ADD, "198.18.0.1", 40000, "198.19.0.1", 80);
		struct stat_wait first = { ISTAT_ROUTES_ADDED, 1 };
		fixture_run_until(&f, fixture_stat_reached, &first);
		wire_client_send_route(&b, WIRE_ROUTE_ADD, "198.18.0.1", 40000, "198.19.0.2", 80);
		struct two_counts in = { &a, &b, 2, 0 };
		fixture_run_until(&f, routes_and_hellos, &in);
		fixture_deliver(&f, "198.19.0.1", 80, "198.18.0.1", 40000, 11);
		fixture_deliver(&f, "198.19.0.2", 80, "198.18.0.1", 40000, 22);
		if (announce) {
			assert_int_equal(server_route_count(f.server), 2);
			assert_int_equal(STAT(&f, ROUTES_MOVED), 0);
			struct two_counts want = { &a, &b, 1, 1 };
			fixture_run_until(&f, records_arrived, &want);
			assert_int_equal(a.records[0].payload_len, 11);
			assert_int_equal(b.records[0].payload_len, 22);
			assert_int_equal(STAT(&f, SUMMARIES_UNROUTED), 0);
			/* a ROUTE_DEL names its 4-tuple: b's delete of a's target is stale */
			wire_client_send_route(&b, WIRE_ROUTE_DEL, "198.18.0.1", 40000,
					       "198.19.0.1", 80);
			struct stat_wait stale = { ISTAT_ROUTES_STALE_DELETES, 1 };
			fixture_run_until(&f, fixture_stat_reached, &stale);
			assert_int_equal(server_route_count(f.server), 2);
		} else {
			assert_int_equal(server_route_count(f.server), 1);
			assert_int_equal(STAT(&f, ROUTES_MOVED), 1);
			struct two_counts want = { &b, NULL, 1, 0 };
			fixture_run_until(&f, records_arrived, &want);
			assert_int_equal(b.records[0].payload_len, 22);
			assert_int_equal(a.record_count, 0);
			/* the old target now answers for nobody */
			assert_int_equal(STAT(&f, SUMMARIES_UNROUTED), 1);
			wire_client_send_route(&b, WIRE_ROUTE_DEL, "198.18.0.1", 40000,
					       "198.19.0.9", 80);
			size_t none = 0;
			fixture_run_until(&f, route_count_is, &none);
		}
		assert_true(fixture_logged(&f, "hello", announce ? "features 0x9" : "features 0x1"));
		wire_client_close(&a);
		wire_client_close(&b);
		fixture_server_stop(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_exchange),
		cmocka_unit_test(test_summaries_go_to_their_owner_only),
		cmocka_unit_test(test_malformed_frame_closes_only_that_connection),
		cmocka_unit_test(test_version_mismatch),
		cmocka_unit_test(test_route_delete_stale_delete_and_close),
		cmocka_unit_test(test_allowlist_refuses_others),
		cmocka_unit_test(test_allowlist_admits_listed),
		cmocka_unit_test(test_ipv6_route_and_summary),
		cmocka_unit_test(test_4tuple_routes_only_when_announced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
