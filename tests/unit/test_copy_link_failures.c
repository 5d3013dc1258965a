/*
 * test_copy_link_failures.c — the intercept link when things go wrong, with
 * a fake intercept on 127.0.0.1 (fake_intercept.c): the peer closing (the
 * link reports it lost, then reconnects and counts it), the back-off
 * schedule on refused connections and its reset, a malformed frame (the
 * link closes with a reason and tells the peer), a silent peer before and
 * after HELLO, an ERROR from the peer, a peer closing inside a frame, and
 * our own orderly shutdown.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_intercept.h"
#include "copy/link/intercept_link.h"
#include "link_fixture.h"
#include "lib/wire/wire.h"

static bool link_ready(void *arg)
{
	struct link_fixture *fx = arg;

	return intercept_links_ready(fx->links) == 1;
}

static bool went_down(void *arg)
{
	struct link_fixture *fx = arg;

	return fx->down_count >= fx->want;
}

static bool fake_saw_close(void *arg)
{
	struct link_fixture *fx = arg;

	return fx->fake.closes >= fx->want;
}

static void connect_ready(struct link_fixture *fx)
{
	link_fixture_connect(fx);
	assert_true(fake_run_until(fx->loop, link_ready, fx, 5000));
}

static void test_backoff_schedule(void **state)
{
	struct intercept_link_config c;

	intercept_link_config_defaults(&c);
	assert_int_equal(intercept_link_backoff_ms(&c, 0), 250);
	assert_int_equal(intercept_link_backoff_ms(&c, 1), 500);
	assert_int_equal(intercept_link_backoff_ms(&c, 2), 1000);
	assert_int_equal(intercept_link_backoff_ms(&c, 6), 16000);
	assert_int_equal(intercept_link_backoff_ms(&c, 7), 30000);
	assert_int_equal(intercept_link_backoff_ms(&c, 1000), 30000);
	c.backoff_initial_ms = 0;	/* never 0: that would be a busy loop */
	assert_int_equal(intercept_link_backoff_ms(&c, 0), 1);
}

static bool two_routes(void *arg)
{
	struct link_fixture *fx = arg;

	return fx->fake.route_count >= 2;
}

static bool expired(void *arg)
{
	struct link_fixture *fx = arg;

	return fx->expired_count >= 1;
}

static void test_peer_closes_then_reconnect(void **state)
{
	struct link_fixture *fx = *state;
	struct intercept_link_counters counters;
	struct session_key k = link_fixture_key("198.18.0.1", 40000);

	fx->cfg.backoff_initial_ms = 10;
	connect_ready(fx);
	assert_int_equal(intercept_links_route_add(fx->links, &k), 0);
	fake_intercept_drop(&fx->fake);
	fx->want = 1;
	assert_true(fake_run_until(fx->loop, went_down, fx, 5000));
	assert_true(fx->last_down_was_ready);
	assert_string_equal(fx->last_reason, "the intercept closed the connection");
	assert_int_equal(fx->delays[0], 10);
	/* Down, within its grace: a new session may start; its route and the
	 * first one's are registered when the link is back. */
	struct session_key k2 = link_fixture_key("198.18.0.1", 40001);
	assert_int_equal(intercept_links_route_add(fx->links, &k2), 0);

	assert_true(fake_run_until(fx->loop, link_ready, fx, 5000));
	assert_int_equal(fx->fake.accepts, 2);
	assert_int_equal(fx->up_count, 2);
	assert_true(fake_run_until(fx->loop, two_routes, fx, 5000));
	assert_true(fx->fake.added[0] && fx->fake.added[1]);
	assert_int_equal(fx->fake.routes[0].client_port + fx->fake.routes[1].client_port,
			 40000 + 40001);
	intercept_links_counters(fx->links, &counters);
	assert_int_equal(counters.established, 2);
	assert_int_equal(counters.reconnects, 1);
	assert_int_equal(counters.lost, 1);
	assert_int_equal(counters.routes_added, 2);
	assert_int_equal(counters.routes_restored, 2);
	/* deleted: not registered again after the next loss */
	intercept_links_route_del(fx->links, &k);
	assert_int_equal(intercept_links_routes_of(fx->links, 0, link_fixture_no_key, NULL), 1);
}

/* Lost for longer than its grace: reported once, and new sessions are
 * refused until it is back. */
static void test_lost_link_expires(void **state)
{
	struct link_fixture *fx = *state;
	struct session_key k = link_fixture_key("198.18.0.1", 40000);

	fx->cfg.backoff_initial_ms = 10;
	fx->cfg.outage_grace_ms = 300;
	fx->cfg.heartbeat_idle_ms = 100;	/* ticks every 25 ms */
	connect_ready(fx);
	assert_int_equal(intercept_links_route_add(fx->links, &k), 0);
	fake_intercept_stop(&fx->fake);	/* and it does not come back */
	assert_true(fake_run_until(fx->loop, expired, fx, 5000));
	assert_int_equal(fx->expired_count, 1);
	assert_int_equal(intercept_links_routes_of(fx->links, 0, link_fixture_no_key, NULL), 1);
	struct session_key k2 = link_fixture_key("198.18.0.1", 40001);
	assert_int_equal(intercept_links_route_add(fx->links, &k2), -1);
}

static void test_backoff_on_refused_connections(void **state)
{
	struct link_fixture *fx = *state;
	struct intercept_link_status status;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t closed_port;

	/* A port nobody listens on: bound once, then closed. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	closed_port = ntohs(sin.sin_port);
	close(fd);

	fx->cfg.backoff_initial_ms = 5;
	fx->cfg.backoff_max_ms = 20;
	link_fixture_connect_to(fx, closed_port);
	fx->want = 5;
	assert_true(fake_run_until(fx->loop, went_down, fx, 5000));
	assert_false(fx->last_down_was_ready);
	assert_non_null(strstr(fx->last_reason, "Connection refused"));
	/* Doubling from 5 ms, at most 20 ms. */
	assert_int_equal(fx->delays[0], 5);
	assert_int_equal(fx->delays[1], 10);
	assert_int_equal(fx->delays[2], 20);
	assert_int_equal(fx->delays[3], 20);
	assert_int_equal(fx->delays[4], 20);
	intercept_links_status(fx->links, 0, &status);
	assert_true(status.failures >= 5);
	assert_int_equal(fx->up_count, 0);
}

static void test_backoff_resets_after_hello(void **state)
{
	struct link_fixture *fx = *state;
	struct intercept_link_status status;

	fx->cfg.backoff_initial_ms = 5;
	connect_ready(fx);
	fake_intercept_drop(&fx->fake);
	fx->want = 1;
	assert_true(fake_run_until(fx->loop, went_down, fx, 5000));
	assert_true(fake_run_until(fx->loop, link_ready, fx, 5000));
	intercept_links_status(fx->links, 0, &status);
	assert_int_equal(status.failures, 0);
	fake_intercept_drop(&fx->fake);
	fx->want = 2;
	assert_true(fake_run_until(fx->loop, went_down, fx, 5000));
	assert_int_equal(fx->delays[1], 5);
}

static void test_malformed_frame_closes_the_link(void **state)
{
	struct link_fixture *fx = *state;
	/* Type 99 does not exist. */
	static const uint8_t bad[8] = { 0, 0, 0, 0, 99, 0, 0, 0 };

	connect_ready(fx);
	fake_intercept_send(&fx->fake, bad, sizeof(bad));
	fx->want = 1;
	assert_true(fake_run_until(fx->loop, went_down, fx, 5000));
	assert_true(fx->last_down_was_ready);
	assert_non_null(strstr(fx->last_reason, "malformed frame from the intercept: "));
	assert_non_null(strstr(fx->last_reason, "99"));
	/* The peer was told why before the connection closed. */
	assert_true(fake_run_until(fx->loop, fake_saw_close, fx, 5000));
	assert_int_equal(fx->fake.error_code, WIRE_ERR_MALFORMED);
}

static void test_silent_peer_before_hello(void **state)
{
	struct link_fixture *fx = *state;

	fx->fake.answer_hello = false;
	fx->cfg.peer_dead_ms = 100;
	fx->cfg.backoff_initial_ms = 10000;
	link_fixture_connect(fx);
	fx->want = 1;
	assert_true(fake_run_until(fx->loop, went_down, fx, 5000));
	assert_false(fx->last_down_was_ready);
	assert_string_equal(fx->last_reason, "nothing received for 100 ms (no HELLO)");
	assert_true(fake_run_until(fx->loop, fake_saw_close, fx, 5000));
	assert_int_equal(fx->fake.error_code, WIRE_ERR_TIMEOUT);
	assert_int_equal(fx->up_count, 0);
}

static void test_silent_peer_after_hello(void **state)
{
	struct link_fixture *fx = *state;

	fx->cfg.peer_dead_ms = 100;
	fx->cfg.backoff_initial_ms = 10000;
	connect_ready(fx);
	fx->want = 1;
	assert_true(fake_run_until(fx->loop, went_down, fx, 5000));
	assert_true(fx->last_down_was_ready);
	assert_string_equal(fx->last_reason, "nothing received for 100 ms");
}

static void test_peer_error_frame(void **state)
{
	struct link_fixture *fx = *state;
	uint8_t frame[64];
	size_t len = wire_encode_error(frame, sizeof(frame), WIRE_ERR_SHUTDOWN, "bye");

	connect_ready(fx);
	fake_intercept_send(&fx->fake, frame, len);
	fx->want = 1;
	assert_true(fake_run_until(fx->loop, went_down, fx, 5000));
	assert_non_null(strstr(fx->last_reason, "the intercept sent ERROR"));
	assert_non_null(strstr(fx->last_reason, ": bye"));
}

static void test_peer_closes_inside_a_frame(void **state)
{
	struct link_fixture *fx = *state;
	static const uint8_t half[5] = { 0, 0, 0, 8, WIRE_HEARTBEAT };

	connect_ready(fx);
	fake_intercept_send(&fx->fake, half, sizeof(half));
	fake_intercept_drop(&fx->fake);
	fx->want = 1;
	assert_true(fake_run_until(fx->loop, went_down, fx, 5000));
	assert_string_equal(fx->last_reason, "the intercept closed the connection in the middle of "
			    "a frame (5 bytes left)");
}

static void test_shutdown_sends_routes_and_error(void **state)
{
	struct link_fixture *fx = *state;
	struct session_key k = link_fixture_key("198.18.0.1", 40000);

	connect_ready(fx);
	assert_int_equal(intercept_links_route_add(fx->links, &k), 0);
	intercept_links_route_del(fx->links, &k);
	intercept_links_shutdown(fx->links);
	fx->want = 1;
	assert_true(fake_run_until(fx->loop, fake_saw_close, fx, 5000));
	assert_int_equal(fx->fake.route_count, 2);
	assert_int_equal(fx->fake.error_code, WIRE_ERR_SHUTDOWN);
	assert_int_equal(fx->down_count, 0);
	assert_int_equal(intercept_links_ready(fx->links), 0);
}

/* Random bytes after the HELLOs, connection after connection: each time
 * the link closes with a reason (or waits for more bytes, then the peer
 * closes), reconnects, and nothing crashes. */
static void test_garbage_from_the_peer(void **state)
{
	struct link_fixture *fx = *state;
	unsigned seed = 12345;

	fx->cfg.backoff_initial_ms = 1;
	fx->cfg.backoff_max_ms = 2;
	link_fixture_connect(fx);
	for (unsigned round = 1; round <= 20; round++) {
		uint8_t junk[256];

		assert_true(fake_run_until(fx->loop, link_ready, fx, 5000));
		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)rand_r(&seed);
		fake_intercept_send(&fx->fake, junk, sizeof(junk));
		/* Garbage that happens to wait for more (a long length) ends
		 * with the peer's close instead. */
		fx->want = round;
		if (!fake_run_until(fx->loop, went_down, fx, 200))
			fake_intercept_drop(&fx->fake);
		assert_true(fake_run_until(fx->loop, went_down, fx, 5000));
		assert_true(fx->last_down_was_ready);
		assert_true(fx->last_reason[0] != '\0');
	}
	assert_int_equal(fx->fake.accepts, 20);
}

#define LINK_TEST(name) \
	cmocka_unit_test_setup_teardown(name, link_fixture_setup, link_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_schedule),
		LINK_TEST(test_peer_closes_then_reconnect),
		LINK_TEST(test_lost_link_expires),
		LINK_TEST(test_backoff_on_refused_connections),
		LINK_TEST(test_backoff_resets_after_hello),
		LINK_TEST(test_malformed_frame_closes_the_link),
		LINK_TEST(test_silent_peer_before_hello),
		LINK_TEST(test_silent_peer_after_hello),
		LINK_TEST(test_peer_error_frame),
		LINK_TEST(test_peer_closes_inside_a_frame),
		LINK_TEST(test_shutdown_sends_routes_and_error),
		LINK_TEST(test_garbage_from_the_peer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
