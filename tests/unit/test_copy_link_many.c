/*
 * test_copy_link_many.c — doppel-copy with several intercepts (-s a,b):
 * every route goes to every intercept that serves it (all of them, unless
 * -s names what each serves); a session can start only while they are
 * ready (or lost within their grace); losing one is reported as a ready
 * link lost while the other keeps its connection, and its routes are
 * registered again when it is back; an IPv6 route needs an intercept that
 * announced IPv6. With -C, the sessions spread over an intercept's
 * connections by a hash of the 4-tuple and losing one touches only its
 * share.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_intercept.h"
#include "copy/link/intercept_link.h"
#include "lib/wire/wire.h"

struct many {
	struct loop *loop;
	struct fake_intercept fakes[2];
	struct intercept_links *links;
	unsigned up[2], down[2], expired[2];
	bool down_was_ready[2];
	size_t want;
	struct intercept_endpoint ends[2];
	struct intercept_link_config cfg;
};

static void on_event(void *ctx, size_t index, const char *name, enum intercept_link_event ev,
		     bool was_ready, const char *reason)
{
	struct many *m = ctx;

	assert_true(index < 2);
	if (ev == LINK_EVENT_UP)
		m->up[index]++;
	if (ev == LINK_EVENT_DOWN) {
		m->down[index]++;
		m->down_was_ready[index] = was_ready;
	}
	if (ev == LINK_EVENT_EXPIRED)
		m->expired[index]++;
}

static void on_summary(void *ctx, const struct packet *p)
{
}

/* Two fakes; the links are made by make_links() once the test has set
 * m->ends and m->cfg (setup: two intercepts serving everything). */
static int setup_fakes(void **state)
{
	struct many *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	m->loop = loop_new();
	assert_non_null(m->loop);
	memset(m->ends, 0, sizeof(m->ends));
	for (int i = 0; i < 2; i++) {
		fake_intercept_start(&m->fakes[i], m->loop);
		assert_int_equal(dp_addr_parse("127.0.0.1", &m->ends[i].addr), 0);
		m->ends[i].port = m->fakes[i].port;
	}
	intercept_link_config_defaults(&m->cfg);
	m->cfg.backoff_initial_ms = 10;
	alarm(60);
	*state = m;
	return 0;
}

static void make_links(struct many *m, size_t ends)
{
	struct intercept_links_handlers handlers = {
		.ctx = m, .summary = on_summary, .event = on_event,
	};

	m->links = intercept_links_new(m->loop, m->ends, ends, &m->cfg, &handlers);
	assert_non_null(m->links);
}

static int setup(void **state)
{
	setup_fakes(state);
	make_links(*state, 2);
	return 0;
}

static int teardown(void **state)
{
	struct many *m = *state;

	intercept_links_free(m->links);
	for (int i = 0; i < 2; i++)
		fake_intercept_stop(&m->fakes[i]);
	loop_free(m->loop);
	free(m);
	alarm(0);
	return 0;
}

static bool all_ready(void *arg)
{
	struct many *m = arg;

	return intercept_links_ready(m->links) == 2;
}

/* The first is ready, the second has our HELLO and has not answered. */
static bool half_ready(void *arg)
{
	struct many *m = arg;

	return intercept_links_ready(m->links) == 1 && m->fakes[1].frame_count >= 1;
}

static bool both_got_routes(void *arg)
{
	struct many *m = arg;

	return m->fakes[0].route_count >= m->want && m->fakes[1].route_count >= m->want;
}

static bool any_down(void *arg)
{
	struct many *m = arg;

	return m->down[0] + m->down[1] >= 1;
}

static bool first_down(void *arg)
{
	struct many *m = arg;

	return m->down[0] >= 1;
}

static struct session_key key(const char *client, const char *target, uint16_t port)
{
	struct session_key k;

	memset(&k, 0, sizeof(k));
	assert_int_equal(dp_addr_parse(client, &k.client), 0);
	assert_int_equal(dp_addr_parse(target, &k.target), 0);
	k.client_port = port;
	k.target_port = 80;
	return k;
}

static void test_routes_go_to_every_intercept(void **state)
{
	struct many *m = *state;
	struct session_key a = key("198.18.0.1", "198.18.0.3", 40000);
	struct session_key b = key("198.18.0.1", "198.18.0.30", 40001);

	m->fakes[1].answer_hello = false;
	intercept_links_start(m->links);
	/* One ready, one not: no session may start. */
	assert_true(fake_run_until(m->loop, half_ready, m, 5000));
	assert_int_equal(intercept_links_route_add(m->links, &a), -1);
	fake_intercept_send_hello(&m->fakes[1]);
	assert_true(fake_run_until(m->loop, all_ready, m, 5000));

	/* Two targets, maybe behind two intercepts: each route goes to both. */
	assert_int_equal(intercept_links_route_add(m->links, &a), 0);
	assert_int_equal(intercept_links_route_add(m->links, &b), 0);
	intercept_links_route_del(m->links, &a);
	intercept_links_flush(m->links);
	m->want = 3;
	assert_true(fake_run_until(m->loop, both_got_routes, m, 5000));
	for (int i = 0; i < 2; i++) {
		assert_true(m->fakes[i].added[0] && m->fakes[i].added[1] && !m->fakes[i].added[2]);
		assert_int_equal(m->fakes[i].routes[1].client_port, 40001);
	}
}

static void test_losing_one_intercept(void **state)
{
	struct many *m = *state;
	struct session_key a = key("198.18.0.1", "198.18.0.3", 40000);

	intercept_links_start(m->links);
	assert_true(fake_run_until(m->loop, all_ready, m, 5000));
	fake_intercept_drop(&m->fakes[0]);
	assert_true(fake_run_until(m->loop, first_down, m, 5000));
	assert_true(m->down_was_ready[0]);
	assert_int_equal(m->down[1], 0);
	/* Lost within its grace: a session may start; the one that is up
	 * gets its route now, the lost one when it is back ... */
	assert_int_equal(intercept_links_route_add(m->links, &a), 0);
	intercept_links_flush(m->links);
	/* ... which the back-off brings about. */
	assert_true(fake_run_until(m->loop, all_ready, m, 5000));
	m->want = 1;
	assert_true(fake_run_until(m->loop, both_got_routes, m, 5000));
	assert_int_equal(m->fakes[0].accepts, 2);
	assert_int_equal(m->fakes[1].accepts, 1);
	assert_int_equal(m->fakes[0].routes[0].client_port, 40000);
	assert_int_equal(m->fakes[1].routes[0].client_port, 40000);
	struct intercept_link_counters counters;
	intercept_links_counters(m->links, &counters);
	assert_int_equal(counters.routes_restored, 1);
}

static bool first_expired(void *arg)
{
	struct many *m = arg;

	return m->expired[0] >= 1;
}

static void count_key(void *ctx, const struct session_key *k)
{
	(*(size_t *)ctx)++;
}

/* -s A=198.18.0.3,B=198.18.0.30:80+198.18.5.0/24: each route goes only to
 * the intercept that serves it; a session no intercept serves is refused;
 * losing A for longer than its grace touches only A's sessions. */
static void test_intercepts_serve_their_targets(void **state)
{
	struct many *m = *state;
	struct session_key a = key("198.18.0.1", "198.18.0.3", 40000);
	struct session_key b = key("198.18.0.1", "198.18.0.30", 40000);
	struct session_key b_other_port = key("198.18.0.1", "198.18.0.30", 40001);
	struct session_key c = key("198.18.5.7", "198.18.0.99", 40000);
	struct session_key none = key("198.18.6.7", "198.18.0.99", 40000);

	m->ends[0].serve_count = 1;
	assert_int_equal(dp_addr_parse("198.18.0.3", &m->ends[0].serves[0].addr), 0);
	m->ends[1].serve_count = 1;
	assert_int_equal(dp_addr_parse("198.18.0.30", &m->ends[1].serves[0].addr), 0);
	m->ends[1].serves[0].port = 80;
	b_other_port.target_port = 81;
	m->cfg.outage_grace_ms = 300;
	m->cfg.heartbeat_idle_ms = 100;
	make_links(m, 2);
	assert_true(intercept_serves(&m->ends[0], &a));
	assert_false(intercept_serves(&m->ends[1], &a));
	assert_true(intercept_serves(&m->ends[1], &b));
	assert_false(intercept_serves(&m->ends[1], &b_other_port));
	/* a client range, and a target with it: a session must match both kinds */
	struct intercept_endpoint ranged = m->ends[1];
	ranged.serves[1].client_range = true;
	ranged.serves[1].prefix_len = 23;
	assert_int_equal(dp_addr_parse("198.18.4.0", &ranged.serves[1].addr), 0);
	ranged.serve_count = 2;
	assert_false(intercept_serves(&ranged, &b));
	assert_false(intercept_serves(&ranged, &c));
	c.target = b.target;
	assert_true(intercept_serves(&ranged, &c));	/* 198.18.5.7 in 198.18.4.0/23 */
	ranged.serves[0] = ranged.serves[1];
	ranged.serve_count = 1;
	assert_true(intercept_serves(&ranged, &c));
	assert_false(intercept_serves(&ranged, &none));	/* 198.18.6.7 */

	intercept_links_start(m->links);
	assert_true(fake_run_until(m->loop, all_ready, m, 5000));
	assert_int_equal(intercept_links_route_add(m->links, &a), 0);
	assert_int_equal(intercept_links_route_add(m->links, &b), 0);
	assert_int_equal(intercept_links_route_add(m->links, &none), -1);
	assert_int_equal(intercept_links_route_add(m->links, &b_other_port), -1);
	intercept_links_flush(m->links);
	m->want = 1;
	assert_true(fake_run_until(m->loop, both_got_routes, m, 5000));
	assert_int_equal(m->fakes[0].route_count, 1);
	assert_int_equal(m->fakes[1].route_count, 1);
	char addr[INET6_ADDRSTRLEN];
	assert_string_equal(dp_addr_str(&m->fakes[0].routes[0].target, addr, sizeof(addr)),
			    "198.18.0.3");
	assert_string_equal(dp_addr_str(&m->fakes[1].routes[0].target, addr, sizeof(addr)),
			    "198.18.0.30");

	/* A goes away for good: only its session is to end, B's go on */
	fake_intercept_stop(&m->fakes[0]);
	assert_true(fake_run_until(m->loop, first_expired, m, 5000));
	assert_int_equal(m->expired[1], 0);
	assert_int_equal(m->down[1], 0);
	size_t of_a = 0, of_b = 0;
	assert_int_equal(intercept_links_routes_of(m->links, 0, count_key, &of_a), 1);
	assert_int_equal(intercept_links_routes_of(m->links, 1, count_key, &of_b), 1);
	assert_int_equal(of_a + of_b, 2);
	struct session_key a2 = key("198.18.0.1", "198.18.0.3", 40002);
	struct session_key b2 = key("198.18.0.1", "198.18.0.30", 40002);
	assert_int_equal(intercept_links_route_add(m->links, &a2), -1);
	assert_int_equal(intercept_links_route_add(m->links, &b2), 0);
}

static bool conns_ready(void *arg)
{
	struct many *m = arg;

	return intercept_links_ready(m->links) == intercept_links_count(m->links);
}

static bool routes_total(void *arg)
{
	struct many *m = arg;
	struct fake_intercept *extra = m->fakes[0].next;

	return m->fakes[0].route_count + extra->route_count >= m->want;
}

/* -C 2 to one intercept: two connections, the sessions spread over them by
 * a hash of the 4-tuple (each route on exactly one); one connection lost
 * leaves the other's sessions and new sessions on it untouched. */
static void test_conns_share_the_sessions(void **state)
{
	enum { N = 64 };
	struct many *m = *state;
	struct fake_intercept extra;
	size_t shares[2] = { 0, 0 };

	fake_intercept_chain(&m->fakes[0], &extra);
	m->cfg.conns = 2;
	make_links(m, 1);
	assert_int_equal(intercept_links_count(m->links), 2);
	intercept_links_start(m->links);
	assert_true(fake_run_until(m->loop, conns_ready, m, 5000));
	for (uint16_t i = 0; i < N; i++) {
		struct session_key k = key("198.18.0.1", "198.18.0.3", (uint16_t)(30000 + i));
		assert_int_equal(intercept_links_route_add(m->links, &k), 0);
	}
	intercept_links_flush(m->links);
	m->want = N;
	assert_true(fake_run_until(m->loop, routes_total, m, 5000));
	assert_int_equal(m->fakes[0].route_count + extra.route_count, N);
	/* both carry some: the hash spreads them */
	assert_true(m->fakes[0].route_count > N / 8 && extra.route_count > N / 8);
	for (size_t i = 0; i < 2; i++)
		intercept_links_routes_of(m->links, i, count_key, &shares[i]);
	assert_int_equal(shares[0] + shares[1], N);

	/* One connection is lost (which link the extra fake holds depends on
	 * the order of accepts): the other keeps its connection. */
	size_t first_had = m->fakes[0].route_count, extra_had = extra.route_count;
	fake_intercept_drop(&extra);
	assert_true(fake_run_until(m->loop, any_down, m, 5000));
	size_t lost = m->down[0] ? 0 : 1;
	assert_int_equal(m->down[1 - lost], 0);
	assert_int_equal(extra_had, shares[lost]);
	/* back: its share, and only it, registered again on the fake now free */
	assert_true(fake_run_until(m->loop, conns_ready, m, 5000));
	m->want = N + shares[lost];
	assert_true(fake_run_until(m->loop, routes_total, m, 5000));
	assert_int_equal(m->fakes[0].route_count, first_had);
	assert_int_equal(extra.route_count, 2 * shares[lost]);
	struct intercept_link_counters counters;
	intercept_links_counters(m->links, &counters);
	assert_int_equal(counters.routes_restored, shares[lost]);
	fake_intercept_stop(&extra);
}


/* The fakes announce IPV6; one that does not gets no IPv6 route. */
static void test_ipv6_needs_the_feature(void **state)
{
	struct many *m = *state;
	struct session_key v6 = key("2001:db8::1", "2001:db8::3", 40000);
	struct session_key v4 = key("198.18.0.1", "198.18.0.3", 40000);

	m->fakes[1].answer_hello = false;
	intercept_links_start(m->links);
	assert_true(fake_run_until(m->loop, half_ready, m, 5000));
	{
		struct wire_hello hello = {
			.version = WIRE_VERSION, .role = WIRE_ROLE_INTERCEPT,
			.features = 0, .max_body = WIRE_MAX_BODY,
		};
		uint8_t frame[WIRE_HEADER_LEN + WIRE_HELLO_LEN];
		size_t len = wire_encode_hello(frame, sizeof(frame), &hello);

		fake_intercept_send(&m->fakes[1], frame, len);
	}
	assert_true(fake_run_until(m->loop, all_ready, m, 5000));
	assert_int_equal(intercept_links_route_add(m->links, &v6), -1);
	assert_int_equal(intercept_links_route_add(m->links, &v4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_routes_go_to_every_intercept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_losing_one_intercept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_needs_the_feature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intercepts_serve_their_targets, setup_fakes,
						teardown),
		cmocka_unit_test_setup_teardown(test_conns_share_the_sessions, setup_fakes, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
