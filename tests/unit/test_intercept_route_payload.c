/*
 * test_intercept_route_payload.c — feature ROUTE_PAYLOAD at the intercept
 * server (docs/protocol.md sections 6-7): offered when --route-payload is
 * set, each route's summaries carry as many payload bytes as it asked
 * (PREFIX flag), a later ROUTE_ADD changes it, fewer bytes than wanted are
 * counted, and a copy that did not announce the feature may not ask.
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
#include "wire_streams.h"

#define STAT(f, name) ((f)->stats.values[ISTAT_##name])

static void send_route(struct wire_client *c, uint16_t port, uint16_t wanted)
{
	struct wire_route r = test_route("198.18.0.1", port, "198.18.0.3", 5432);
	uint8_t frame[WIRE_HEADER_LEN + WIRE_ROUTE_LEN];

	r.payload_wanted = wanted;
	assert_int_equal(wire_encode_routes(frame, sizeof(frame), WIRE_ROUTE_ADD, &r, 1),
			 sizeof(frame));
	wire_client_send(c, frame, sizeof(frame));
}

struct want {
	struct wire_client *c;
	size_t records;
	uint64_t routes;
};

static bool arrived(struct server_fixture *f, void *arg)
{
	struct want *w = arg;

	return w->c->frames[WIRE_HELLO] == 1 && w->c->record_count >= w->records &&
	       STAT(f, ROUTES_ADDED) >= w->routes;
}

static bool closed(struct server_fixture *f, void *arg)
{
	return ((struct wire_client *)arg)->closed;
}

static void payload_per_route(uint32_t more_features)
{
	struct server_fixture f;
	struct wire_client c;
	struct want w = { &c, 0, 3 };
	uint8_t buf[256];
	struct packet p;

	fixture_server_init(&f);
	f.cfg.route_payload = 256;
	fixture_server_start(&f);
	wire_client_connect(&c, f.loop, server_port(f.server), true, false);
	wire_client_send_hello(&c, WIRE_FEAT_IPV6 | WIRE_FEAT_ROUTE_PAYLOAD | more_features);
	send_route(&c, 40000, 16);
	send_route(&c, 40001, 0);
	send_route(&c, 40002, WIRE_PAYLOAD_ALL);
	fixture_run_until(&f, arrived, &w);
	assert_true(c.hello.features & WIRE_FEAT_ROUTE_PAYLOAD);

	fixture_deliver(&f, "198.18.0.3", 5432, "198.18.0.1", 40000, 30);
	fixture_deliver(&f, "198.18.0.3", 5432, "198.18.0.1", 40001, 30);
	fixture_deliver(&f, "198.18.0.3", 5432, "198.18.0.1", 40002, 30);
	fixture_deliver(&f, "198.18.0.3", 5432, "198.18.0.1", 40000, 0);
	/* a source that copied 4 bytes of 30: delivered, counted short */
	fixture_response(buf, sizeof(buf), &p, "198.18.0.3", 5432, "198.18.0.1", 40000, 30);
	p.payload_present = 4;
	server_deliver(f.server, &p);
	w.records = 5;
	fixture_run_until(&f, arrived, &w);
	assert_int_equal(c.record_count, 5);
	assert_int_equal(c.records[0].flags, WIRE_SUMMARY_PREFIX);
	assert_int_equal(c.records[0].data_len, 40 + 16);
	assert_int_equal(c.records[0].payload_len, 30);
	assert_int_equal(c.records[1].flags, 0);
	assert_int_equal(c.records[1].data_len, 40);
	assert_int_equal(c.records[2].flags, WIRE_SUMMARY_PREFIX);
	assert_int_equal(c.records[2].data_len, 40 + 30);
	assert_int_equal(c.records[3].flags, 0);	/* no payload, no prefix */
	assert_int_equal(c.records[3].data_len, 40);
	assert_int_equal(c.records[4].data_len, 40 + 4);
	assert_int_equal(STAT(&f, PAYLOAD_SHORT), 1);

	/* Asking again with 0: headers only from now on. */
	send_route(&c, 40000, 0);
	w.records = 6;
	w.routes = 3;
	fixture_deliver(&f, "198.18.0.3", 5432, "198.18.0.1", 40002, 1);
	fixture_run_until(&f, arrived, &w);
	fixture_deliver(&f, "198.18.0.3", 5432, "198.18.0.1", 40000, 30);
	w.records = 7;
	fixture_run_until(&f, arrived, &w);
	assert_int_equal(c.records[6].flags, 0);
	assert_int_equal(c.records[6].data_len, 40);
	assert_false(c.decode_failed);
	wire_client_close(&c);
	fixture_server_stop(&f);
}

static void test_payload_per_route(void **state)
{
	(void)state;
	payload_per_route(0);
}

/* The same with routes keyed by the 4-tuple. */
static void test_payload_per_route_4tuple(void **state)
{
	(void)state;
	payload_per_route(WIRE_FEAT_ROUTE_4TUPLE);
}

/* One response of payload_len bytes (IPv4), from 5432 to client_port. */
static void deliver_big(struct server_fixture *f, uint16_t client_port, size_t payload_len)
{
	static uint8_t payload[65535 - 40], buf[65535];
	struct packet_spec spec;
	struct packet p;
	const char *why;

	memset(&spec, 0, sizeof(spec));
	assert_int_equal(dp_addr_parse("198.18.0.3", &spec.src), 0);
	assert_int_equal(dp_addr_parse("198.18.0.1", &spec.dst), 0);
	spec.sport = 5432;
	spec.dport = client_port;
	spec.flags = TCPF_ACK | TCPF_PSH;
	spec.payload = payload;
	spec.payload_len = payload_len;
	size_t len = packet_build(buf, sizeof(buf), &spec);

	assert_int_equal(len, 40 + payload_len);
	assert_int_equal(packet_parse(buf, len, 0, &p, &why), 0);
	server_deliver(f->server, &p);
}

/* --route-payload 65535: a GRO/TSO packet's payload comes whole (the
 * comparison reads every byte of the answers); one too large for a record
 * of the copy's max body (65536) is cut to what fits, counted short. */
static void test_whole_gro_packets(void **state)
{
	struct server_fixture f;
	struct wire_client c;
	struct want w = { &c, 0, 1 };
	const size_t fits = WIRE_MAX_BODY - WIRE_SUMMARIES_HEADER_LEN - WIRE_SUMMARY_HEADER_LEN;

	(void)state;
	fixture_server_init(&f);
	f.cfg.route_payload = 65535;
	fixture_server_start(&f);
	wire_client_connect(&c, f.loop, server_port(f.server), true, false);
	wire_client_send_hello(&c, WIRE_FEAT_IPV6 | WIRE_FEAT_ROUTE_PAYLOAD);
	send_route(&c, 40000, WIRE_PAYLOAD_ALL);
	fixture_run_until(&f, arrived, &w);
	deliver_big(&f, 40000, 45 * 1448);	/* a 64 KiB TSO packet, MSS 1448 */
	w.records = 1;
	fixture_run_until(&f, arrived, &w);
	assert_int_equal(c.records[0].flags, WIRE_SUMMARY_PREFIX);
	assert_int_equal(c.records[0].data_len, 40 + 45 * 1448);
	assert_int_equal(c.records[0].payload_len, 45 * 1448);
	assert_int_equal(STAT(&f, PAYLOAD_SHORT), 0);
	deliver_big(&f, 40000, 65535 - 40);	/* the largest IPv4 packet */
	w.records = 2;
	fixture_run_until(&f, arrived, &w);
	assert_int_equal(c.records[1].data_len, fits);
	assert_int_equal(c.records[1].payload_len, 65535 - 40);
	assert_int_equal(STAT(&f, PAYLOAD_SHORT), 1);
	assert_int_equal(STAT(&f, SUMMARIES_DROPPED), 0);
	assert_false(c.decode_failed);
	wire_client_close(&c);
	fixture_server_stop(&f);
}

/* The copy did not announce ROUTE_PAYLOAD (or the intercept does not
 * offer it): a route that asks is malformed and closes the connection. */
static void test_not_negotiated(void **state)
{
	const uint16_t offered[] = { 256, 0 };
	const uint32_t features[] = { WIRE_FEAT_IPV6, WIRE_FEAT_IPV6 | WIRE_FEAT_ROUTE_PAYLOAD };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct server_fixture f;
		struct wire_client c;

		fixture_server_init(&f);
		f.cfg.route_payload = offered[i];
		fixture_server_start(&f);
		wire_client_connect(&c, f.loop, server_port(f.server), true, false);
		wire_client_send_hello(&c, features[i]);
		send_route(&c, 40000, 16);
		fixture_run_until(&f, closed, &c);
		assert_int_equal(c.error_code, WIRE_ERR_MALFORMED);
		assert_non_null(strstr(c.error_message, "ROUTE_PAYLOAD"));
		assert_int_equal(STAT(&f, CONNECTIONS_CLOSED_MALFORMED), 1);
		assert_int_equal(!!(c.hello.features & WIRE_FEAT_ROUTE_PAYLOAD), i == 0);
		wire_client_close(&c);
		fixture_server_stop(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payload_per_route),
		cmocka_unit_test(test_payload_per_route_4tuple),
		cmocka_unit_test(test_not_negotiated),
		cmocka_unit_test(test_whole_gro_packets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
