/*
 * test_copy_link_many.c — doppel-copy with several intercepts (-s a,b):
 * every route goes to every intercept; a session can start only while all
 * of them are ready; losing one is reported as a ready link lost (the
 * daemon then ends every session) while the other keeps its connection;
 * and an IPv6 route needs an intercept that announced IPv6.
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
	unsigned up[2], down[2];
	bool down_was_ready[2];
	size_t want;
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
}

static void on_summary(void *ctx, const struct packet *p)
{
}

static int setup(void **state)
{
	struct many *m = calloc(1, sizeof(*m));
	struct intercept_endpoint ends[2];
	struct intercept_link_config cfg;
	struct intercept_links_handlers handlers = {
		.ctx = m, .summary = on_summary, .event = on_event,
	};

	assert_non_null(m);
	m->loop = loop_new();
	assert_non_null(m->loop);
	memset(ends, 0, sizeof(ends));
	for (int i = 0; i < 2; i++) {
		fake_intercept_start(&m->fakes[i], m->loop);
		assert_int_equal(dp_addr_parse("127.0.0.1", &ends[i].addr), 0);
		ends[i].port = m->fakes[i].port;
	}
	intercept_link_config_defaults(&cfg);
	cfg.backoff_initial_ms = 10;
	m->links = intercept_links_new(m->loop, ends, 2, &cfg, &handlers);
	assert_non_null(m->links);
	alarm(60);
	*state = m;
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
	/* Refused until it is back ... */
	assert_int_equal(intercept_links_route_add(m->links, &a), -1);
	/* ... which the back-off brings about. */
	assert_true(fake_run_until(m->loop, all_ready, m, 5000));
	assert_int_equal(m->fakes[0].accepts, 2);
	assert_int_equal(m->fakes[1].accepts, 1);
	assert_int_equal(intercept_links_route_add(m->links, &a), 0);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
