/*
 * test_intercept_server_output.c — what the intercept server sends, over
 * loopback TCP: summaries to a copy daemon that stops reading are dropped
 * in whole frames and counted while its queue stays bounded; the payload
 * prefix only to peers that asked for it; heartbeats when idle; ERROR
 * TIMEOUT to a silent peer; ERROR SHUTDOWN when the server stops; and the
 * log lines for a peer's ERROR and for a stream cut in the middle of a
 * frame; and a listener out of descriptors pausing rather than spinning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "server_fixture.h"
#include "intercept/server_internal.h"
#include "wire_client.h"

#define STAT(f, name) ((f)->stats.values[ISTAT_##name])

static bool got_hello(struct server_fixture *f, void *arg)
{
	return ((struct wire_client *)arg)->frames[WIRE_HELLO] == 1;
}

/* HELLO with these features and one route per port; wait till they are in. */
static void hello_and_routes(struct server_fixture *f, struct wire_client *c, uint32_t features,
			     const uint16_t *ports, size_t n, bool watch, bool small_buffer)
{
	struct stat_wait routes = { ISTAT_ROUTES_ADDED, STAT(f, ROUTES_ADDED) + n };
	struct stat_wait hello = { ISTAT_CONNECTIONS_ACTIVE, server_connection_count(f->server) + 1 };

	wire_client_connect(c, f->loop, server_port(f->server), watch, small_buffer);
	wire_client_send_hello(c, features);
	for (size_t i = 0; i < n; i++)
		wire_client_send_route(c, WIRE_ROUTE_ADD, "198.18.0.1", ports[i], "198.19.0.1", 80);
	fixture_run_until(f, fixture_stat_reached, &hello);
	fixture_run_until(f, fixture_stat_reached, &routes);
	if (watch)
		fixture_run_until(f, got_hello, c);
}

static bool everything_accounted(struct server_fixture *f, void *arg)
{
	struct wire_client *c = arg;

	return c->record_count + STAT(f, SUMMARIES_DROPPED) == STAT(f, SUMMARIES_ROUTED);
}

static void test_slow_reader_gets_whole_frames_dropped(void **state)
{
	static const uint16_t ports[] = { 7000 };
	struct server_fixture f;
	struct wire_client c;
	const size_t limit = 64 * 1024;

	fixture_server_init(&f);
	f.cfg.output_limit = limit;
	fixture_server_start(&f);
	hello_and_routes(&f, &c, 0, ports, 1, false, true);

	/* Rounds of 200 summaries (a 9,604-byte frame each), flushed as the
	 * loop would: the socket buffers fill, then the 64 KiB queue, then
	 * frames are dropped. 400 rounds are far more than the ~4 MiB of
	 * kernel buffers loopback can hold. */
	int round;
	for (round = 0; round < 400 && STAT(&f, SUMMARIES_DROPPED) == 0; round++) {
		for (int i = 0; i < 200; i++)
			fixture_deliver(&f, "198.19.0.1", 80, "198.18.0.1", 7000, 0);
		server_flush(f.server);
		struct connection *conn = f.server->connections;
		assert_non_null(conn);
		assert_true(wire_output_queued(&conn->out) <= limit);
	}
	assert_true(STAT(&f, SUMMARIES_DROPPED) > 0);
	/* whole frames only: the drops are a multiple of the frame's records */
	assert_int_equal(STAT(&f, SUMMARIES_DROPPED) % 200, 0);
	assert_int_equal(STAT(&f, SUMMARIES_ROUTED), (uint64_t)round * 200);

	/* Now the copy daemon reads: everything not dropped arrives, whole. */
	wire_client_watch(&c);
	fixture_run_until(&f, everything_accounted, &c);
	assert_false(c.decode_failed);
	assert_false(c.closed);
	assert_int_equal(c.record_count % 200, 0);
	wire_client_close(&c);
	fixture_server_stop(&f);
}

static bool records_at_least(struct server_fixture *f, void *arg)
{
	struct wire_client *c = arg;

	return c->record_count >= 2;
}

static void test_payload_prefix_only_when_both_ask(void **state)
{
	static const uint16_t port_a[] = { 8000 }, port_b[] = { 8001 };
	struct server_fixture f;
	struct wire_client a, b;

	fixture_server_init(&f);
	f.cfg.payload_prefix = 4;
	fixture_server_start(&f);
	hello_and_routes(&f, &a, WIRE_FEAT_IPV6 | WIRE_FEAT_PAYLOAD_PREFIX, port_a, 1, true, false);
	hello_and_routes(&f, &b, WIRE_FEAT_IPV6, port_b, 1, true, false);
	assert_true(a.hello.features & WIRE_FEAT_PAYLOAD_PREFIX);
	/* 10 bytes of payload: 4 forwarded; 2 bytes: both forwarded */
	fixture_deliver(&f, "198.19.0.1", 80, "198.18.0.1", 8000, 10);
	fixture_deliver(&f, "198.19.0.1", 80, "198.18.0.1", 8000, 2);
	fixture_deliver(&f, "198.19.0.1", 80, "198.18.0.1", 8001, 10);
	fixture_deliver(&f, "198.19.0.1", 80, "198.18.0.1", 8001, 0);
	fixture_run_until(&f, records_at_least, &a);
	fixture_run_until(&f, records_at_least, &b);
	assert_int_equal(a.records[0].flags, WIRE_SUMMARY_PREFIX);
	assert_int_equal(a.records[0].data_len, 44);
	assert_int_equal(a.records[0].payload_len, 10);
	assert_int_equal(a.records[1].data_len, 42);
	assert_int_equal(b.records[0].flags, 0);
	assert_int_equal(b.records[0].data_len, 40);
	assert_int_equal(b.records[0].payload_len, 10);
	assert_int_equal(b.records[1].flags, 0);	/* no payload: no prefix flag */
	wire_client_close(&a);
	wire_client_close(&b);
	fixture_server_stop(&f);
}

static bool heartbeat_seen(struct server_fixture *f, void *arg)
{
	return ((struct wire_client *)arg)->frames[WIRE_HEARTBEAT] > 0;
}

/* Idle after 1 ms: the next tick sends a HEARTBEAT. */
static void test_heartbeat_when_idle(void **state)
{
	struct server_fixture f;
	struct wire_client c;

	fixture_server_init(&f);
	f.cfg.heartbeat_idle_ms = 1;
	fixture_server_start(&f);
	hello_and_routes(&f, &c, 0, NULL, 0, true, false);
	fixture_run_until(&f, heartbeat_seen, &c);
	assert_false(c.closed);
	wire_client_close(&c);
	fixture_server_stop(&f);
}

/* Nothing received for peer_dead_ms: ERROR TIMEOUT, routes removed. */
static void test_silent_peer_times_out(void **state)
{
	static const uint16_t ports[] = { 9000, 9001 };
	struct server_fixture f;
	struct wire_client c;

	fixture_server_init(&f);
	f.cfg.peer_dead_ms = 1;
	f.cfg.heartbeat_idle_ms = 60000;
	fixture_server_start(&f);
	hello_and_routes(&f, &c, 0, ports, 2, true, false);
	fixture_run_until(&f, fixture_client_closed, &c);
	assert_int_equal(c.error_code, WIRE_ERR_TIMEOUT);
	assert_int_equal(STAT(&f, CONNECTIONS_CLOSED_TIMEOUT), 1);
	assert_int_equal(server_route_count(f.server), 0);
	assert_true(fixture_logged(&f, "nothing received for", "2 routes removed"));
	wire_client_close(&c);
	fixture_server_stop(&f);
}

static void test_shutdown_says_so(void **state)
{
	struct server_fixture f;
	struct wire_client c;

	fixture_server_init(&f);
	fixture_server_start(&f);
	hello_and_routes(&f, &c, 0, NULL, 0, true, false);
	server_free(f.server);
	f.server = NULL;
	fixture_run_until(&f, fixture_client_closed, &c);
	assert_int_equal(c.frames[WIRE_ERROR], 1);
	assert_int_equal(c.error_code, WIRE_ERR_SHUTDOWN);
	wire_client_close(&c);
	fixture_server_stop(&f);
}

static bool paused(struct server_fixture *f, void *arg)
{
	return f->server->listen_paused;
}

static bool no_connections(struct server_fixture *f, void *arg)
{
	return server_connection_count(f->server) == 0;
}

static void test_peer_error_and_cut_frame_are_logged(void **state)
{
	static const uint8_t half_header[5] = { 0, 0, 0, 8, WIRE_HEARTBEAT };
	uint8_t error[64];
	struct server_fixture f;
	struct wire_client a, b;

	fixture_server_init(&f);
	fixture_server_start(&f);
	hello_and_routes(&f, &a, 0, NULL, 0, true, false);
	hello_and_routes(&f, &b, 0, NULL, 0, true, false);
	wire_client_send(&a, error, wire_encode_error(error, sizeof(error), WIRE_ERR_SHUTDOWN,
						      "copy stopping"));
	/* half a header, then FIN (a close with unread bytes would reset) */
	wire_client_send(&b, half_header, sizeof(half_header));
	assert_int_equal(shutdown(b.fd, SHUT_WR), 0);
	fixture_run_until(&f, no_connections, NULL);
	assert_true(fixture_logged(&f, "peer sent ERROR 5", "copy stopping"));
	assert_true(fixture_logged(&f, "in the middle of a frame", "5 bytes left over"));
	assert_int_equal(STAT(&f, CONNECTIONS_CLOSED_MALFORMED), 0);
	wire_client_close(&a);
	wire_client_close(&b);
	fixture_server_stop(&f);
}

/* Out of descriptors: the listener pauses instead of spinning on a
 * connection it cannot accept, and accepts it once descriptors are back. */
static void test_out_of_descriptors_pauses_accepting(void **state)
{
	struct server_fixture f;
	struct wire_client a, b;
	struct rlimit saved, tight;

	fixture_server_init(&f);
	fixture_server_start(&f);
	wire_client_connect(&a, f.loop, server_port(f.server), true, false);
	wire_client_connect(&b, f.loop, server_port(f.server), true, false);
	/* room for exactly one more descriptor: a's accept */
	int probe = dup(0);
	assert_true(probe >= 0);
	close(probe);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	tight = saved;
	tight.rlim_cur = (rlim_t)probe + 1;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
	struct stat_wait one = { ISTAT_CONNECTIONS_ACCEPTED, 1 };
	fixture_run_until(&f, fixture_stat_reached, &one);
	fixture_run_until(&f, paused, NULL);
	assert_true(fixture_logged(&f, "accept: Too many open files", "not accepting"));
	assert_int_equal(server_connection_count(f.server), 1);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	struct stat_wait two = { ISTAT_CONNECTIONS_ACCEPTED, 2 };
	fixture_run_until(&f, fixture_stat_reached, &two);
	assert_false(f.server->listen_paused);
	wire_client_close(&a);
	wire_client_close(&b);
	fixture_server_stop(&f);
}

/* A copy daemon that vanished (reset) while summaries for it keep coming:
 * the write error is met inside the batch, with frames filling; the
 * connection is closed once the batches are flushed, and nothing touches
 * it after (ASan watches). */
static void test_reset_peer_while_frames_fill(void **state)
{
	static const uint16_t ports[] = { 7100 };
	struct linger hard = { .l_onoff = 1, .l_linger = 0 };
	struct server_fixture f;
	struct wire_client c;

	fixture_server_init(&f);
	fixture_server_start(&f);
	hello_and_routes(&f, &c, 0, ports, 1, true, false);
	fixture_deliver(&f, "198.19.0.1", 80, "198.18.0.1", 7100, 0);
	server_flush(f.server);
	assert_int_equal(setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard)), 0);
	wire_client_close(&c);	/* unread data and linger 0: a reset */
	/* 5000 summaries of 48 bytes: several full 64 KiB frames, each sent
	 * from inside batch_add when the next record does not fit */
	for (int i = 0; i < 5000; i++)
		fixture_deliver(&f, "198.19.0.1", 80, "198.18.0.1", 7100, 0);
	server_flush(f.server);
	assert_int_equal(server_connection_count(f.server), 0);
	assert_int_equal(server_route_count(f.server), 0);
	assert_true(fixture_logged(&f, "closed: write failed", NULL));
	fixture_server_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slow_reader_gets_whole_frames_dropped),
		cmocka_unit_test(test_payload_prefix_only_when_both_ask),
		cmocka_unit_test(test_heartbeat_when_idle),
		cmocka_unit_test(test_silent_peer_times_out),
		cmocka_unit_test(test_shutdown_says_so),
		cmocka_unit_test(test_peer_error_and_cut_frame_are_logged),
		cmocka_unit_test(test_out_of_descriptors_pauses_accepting),
		cmocka_unit_test(test_reset_peer_while_frames_fill),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
