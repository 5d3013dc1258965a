/*
 * test_intercept_tcpcopy.c — doppel-intercept serving a stock TCPCopy 1.0
 * tcpcopy (docs/protocol.md section 15) over a real TCP socket: it is told
 * apart by its first 8 bytes and gets no HELLO; its 14-byte messages add
 * and delete routes keyed by the 4-tuple; the answers come back as
 * combined batches (u16 count, at most 16 records of 64 bytes each); a
 * bad message closes only it. A doppel copy daemon on the same intercept
 * still gets its HELLO once it sent its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "lib/wire/tcpcopy1.h"
#include "server_fixture.h"
#include "wire_client.h"

#define STAT(f, name) ((f)->stats.values[ISTAT_##name])

struct raw_reader {
	struct wire_client *client;
	uint8_t buf[8192];
	size_t len, want;
};

/* Read what is there without blocking; done once want bytes came. */
static bool raw_received(struct server_fixture *f, void *arg)
{
	struct raw_reader *r = arg;

	for (;;) {
		ssize_t n = recv(r->client->fd, r->buf + r->len, sizeof(r->buf) - r->len,
				 MSG_DONTWAIT);
		if (n <= 0)
			break;
		r->len += (size_t)n;
	}
	return r->len >= r->want;
}

static void send_msg(struct wire_client *c, const char *client, uint16_t client_port,
		     uint16_t type, const char *target, uint16_t target_port)
{
	struct tc1_client_msg m = { .client_port = client_port, .type = type,
				    .target_port = target_port };
	uint8_t out[TC1_CLIENT_MSG_LEN];

	assert_int_equal(inet_pton(AF_INET, client, &m.client_addr), 1);
	assert_int_equal(inet_pton(AF_INET, target, &m.target_addr), 1);
	tc1_encode_client(out, &m);
	wire_client_send(c, out, sizeof(out));
}

static void test_tcpcopy_served_in_its_dialect(void **state)
{
	struct server_fixture f;
	struct wire_client tc;
	struct raw_reader r = { &tc, { 0 }, 0, 0 };
	uint8_t version[TC1_CLIENT_MSG_LEN], expect[256];
	struct packet p;

	fixture_server_init(&f);
	fixture_server_start(&f);
	wire_client_connect(&tc, f.loop, server_port(f.server), false, false);
	tc1_encode_version(version, TC1_VERSION_DEFAULT);
	/* the version message in two pieces: 5 bytes, then the rest */
	wire_client_send(&tc, version, 5);
	wire_client_send(&tc, version + 5, sizeof(version) - 5);
	send_msg(&tc, "198.18.0.1", 40000, TC1_CLIENT_ADD, "198.19.0.1", 80);
	send_msg(&tc, "198.18.0.1", 40000, TC1_CLIENT_ADD, "198.19.0.2", 80);
	struct stat_wait added = { ISTAT_ROUTES_ADDED, 2 };
	fixture_run_until(&f, fixture_stat_reached, &added);
	assert_int_equal(STAT(&f, CONNECTIONS_TCPCOPY), 1);
	assert_true(fixture_logged(&f, "TCPCopy 1.0 tcpcopy (version 5, advanced)", NULL));
	/* keyed by the 4-tuple: one client port, two targets */
	assert_int_equal(server_route_count(f.server), 2);

	/* 20 answers: a batch of 16, then one of 4 */
	for (int i = 0; i < 20; i++)
		fixture_deliver(&f, i % 2 ? "198.19.0.2" : "198.19.0.1", 80, "198.18.0.1", 40000,
				(size_t)i);
	fixture_deliver(&f, "198.19.0.3", 80, "198.18.0.1", 40000, 1);	/* no route */
	r.want = 2 + 16 * 64 + 2 + 4 * 64;
	fixture_run_until(&f, raw_received, &r);
	assert_int_equal(r.len, r.want);	/* no HELLO, nothing else */
	assert_int_equal(r.buf[0], 0);
	assert_int_equal(r.buf[1], 16);
	assert_int_equal(r.buf[2 + 16 * 64], 0);
	assert_int_equal(r.buf[2 + 16 * 64 + 1], 4);
	/* record 3 is the 4th answer, byte for byte: its 40 header bytes then
	 * 24 zeros */
	fixture_response(expect, sizeof(expect), &p, "198.19.0.2", 80, "198.18.0.1", 40000, 3);
	assert_memory_equal(r.buf + 2 + 3 * 64, expect, 40);
	static const uint8_t zeros[24];
	assert_memory_equal(r.buf + 2 + 3 * 64 + 40, zeros, 24);
	assert_int_equal(STAT(&f, SUMMARIES_UNROUTED), 1);

	/* a delete removes its 4-tuple only */
	send_msg(&tc, "198.18.0.1", 40000, TC1_CLIENT_DEL, "198.19.0.1", 80);
	struct stat_wait deleted = { ISTAT_ROUTES_DELETED, 1 };
	fixture_run_until(&f, fixture_stat_reached, &deleted);
	assert_int_equal(server_route_count(f.server), 1);

	/* a message of another type: closed, its routes gone */
	send_msg(&tc, "198.18.0.1", 40001, 7, "198.19.0.1", 80);
	size_t none = 0;
	struct stat_wait closed = { ISTAT_CONNECTIONS_CLOSED_MALFORMED, 1 };
	fixture_run_until(&f, fixture_stat_reached, &closed);
	assert_int_equal(server_route_count(f.server), none);
	assert_true(fixture_logged(&f, "malformed TCPCopy message", "type"));
	wire_client_close(&tc);
	fixture_server_stop(&f);
}

static bool got_hello(struct server_fixture *f, void *arg)
{
	return ((struct wire_client *)arg)->frames[WIRE_HELLO] == 1;
}

/* Our HELLO waits for the peer's first 8 bytes; a doppel peer that sent
 * its HELLO gets ours, and routes as before. */
static void test_doppel_peer_gets_hello_after_its_own(void **state)
{
	struct server_fixture f;
	struct wire_client c;
	struct raw_reader r = { &c, { 0 }, 0, 1 };

	fixture_server_init(&f);
	fixture_server_start(&f);
	wire_client_connect(&c, f.loop, server_port(f.server), false, false);
	/* nothing sent yet: nothing comes (run the loop a moment) */
	struct stat_wait accepted = { ISTAT_CONNECTIONS_ACCEPTED, 1 };
	fixture_run_until(&f, fixture_stat_reached, &accepted);
	assert_false(raw_received(&f, &r));
	wire_client_watch(&c);
	wire_client_send_hello(&c, WIRE_FEAT_IPV6);
	fixture_run_until(&f, got_hello, &c);
	assert_int_equal(c.hello.role, WIRE_ROLE_INTERCEPT);
	assert_int_equal(STAT(&f, CONNECTIONS_TCPCOPY), 0);
	wire_client_close(&c);
	fixture_server_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcpcopy_served_in_its_dialect),
		cmocka_unit_test(test_doppel_peer_gets_hello_after_its_own),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
