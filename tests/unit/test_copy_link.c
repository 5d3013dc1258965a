/*
 * test_copy_link.c — doppel-copy's intercept link against a fake intercept
 * listening on 127.0.0.1 in the test's own loop (fake_intercept.c): the
 * HELLO exchange, routes refused before it and batched in order after it,
 * summaries delivered (and a record that is not IP + TCP dropped), and
 * heartbeats when idle; routes written early from inside the engine, a
 * failure there reported only at the next flush. Failures and
 * reconnection: test_copy_link_failures.c.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "fake_intercept.h"
#include "copy/link/intercept_link.h"
#include "link_fixture.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"
#include "lib/wire/wire.h"

static bool link_ready(void *arg)
{
	struct link_fixture *fx = arg;

	return intercept_links_ready(fx->links) == 1;
}

static bool got_routes(void *arg)
{
	struct link_fixture *fx = arg;

	return fx->fake.route_count >= fx->want;
}

static bool got_summaries(void *arg)
{
	struct link_fixture *fx = arg;

	return fx->summary_count + fx->dropped_count >= fx->want;
}

static bool got_heartbeats(void *arg)
{
	struct link_fixture *fx = arg;

	return fake_intercept_frames(&fx->fake, WIRE_HEARTBEAT) >= fx->want;
}

static void test_hello_exchange(void **state)
{
	struct link_fixture *fx = *state;
	struct intercept_link_status status;

	link_fixture_connect(fx);
	assert_true(fake_run_until(fx->loop, link_ready, fx, 5000));
	/* Our HELLO, as docs/protocol.md section 6 has it. */
	assert_int_equal(fx->fake.frame_types[0], WIRE_HELLO);
	assert_int_equal(fx->fake.hello.version, WIRE_VERSION);
	assert_int_equal(fx->fake.hello.role, WIRE_ROLE_COPY);
	assert_int_equal(fx->fake.hello.max_body, WIRE_MAX_BODY);
	assert_true(fx->fake.hello.features & WIRE_FEAT_IPV6);
	assert_true(fx->fake.hello.features & WIRE_FEAT_ROUTE_4TUPLE);
	assert_int_equal(fx->up_count, 1);
	intercept_links_status(fx->links, 0, &status);
	assert_int_equal(status.state, LINK_READY);
	assert_int_equal(status.failures, 0);
}

static void test_routes_need_a_ready_link(void **state)
{
	struct link_fixture *fx = *state;
	struct session_key k = link_fixture_key("198.18.0.1", 40000);

	fx->fake.answer_hello = false;
	link_fixture_connect(fx);
	assert_int_equal(intercept_links_route_add(fx->links, &k), -1);
	/* Connected, our HELLO sent, the peer's not yet: still refused. */
	assert_true(fake_run_until(fx->loop, link_fixture_hello_sent, fx, 5000));
	assert_int_equal(intercept_links_route_add(fx->links, &k), -1);
	fake_intercept_send_hello(&fx->fake);
	assert_true(fake_run_until(fx->loop, link_ready, fx, 5000));
	assert_int_equal(intercept_links_route_add(fx->links, &k), 0);
}

static void test_routes_batched_in_order(void **state)
{
	struct link_fixture *fx = *state;
	struct session_key a = link_fixture_key("198.18.0.1", 40000);
	struct session_key b = link_fixture_key("198.18.0.2", 40001);
	struct intercept_link_counters counters;
	char addr[INET6_ADDRSTRLEN];

	link_fixture_connect(fx);
	assert_true(fake_run_until(fx->loop, link_ready, fx, 5000));
	assert_int_equal(intercept_links_route_add(fx->links, &a), 0);
	assert_int_equal(intercept_links_route_add(fx->links, &b), 0);
	intercept_links_route_del(fx->links, &a);
	/* A new session on a's ports right after: its add must follow the del. */
	assert_int_equal(intercept_links_route_add(fx->links, &a), 0);
	intercept_links_flush(fx->links);
	fx->want = 4;
	assert_true(fake_run_until(fx->loop, got_routes, fx, 5000));

	/* Three frames: ADD(a, b), DEL(a), ADD(a). */
	assert_int_equal(fake_intercept_frames(&fx->fake, WIRE_ROUTE_ADD), 2);
	assert_int_equal(fake_intercept_frames(&fx->fake, WIRE_ROUTE_DEL), 1);
	assert_true(fx->fake.added[0] && fx->fake.added[1] && !fx->fake.added[2] &&
		    fx->fake.added[3]);
	assert_string_equal(dp_addr_str(&fx->fake.routes[0].client, addr, sizeof(addr)),
			    "198.18.0.1");
	assert_int_equal(fx->fake.routes[0].client_port, 40000);
	assert_string_equal(dp_addr_str(&fx->fake.routes[0].target, addr, sizeof(addr)),
			    "198.18.0.3");
	assert_int_equal(fx->fake.routes[0].target_port, 80);
	assert_int_equal(fx->fake.routes[1].client_port, 40001);
	assert_int_equal(fx->fake.routes[2].client_port, 40000);
	intercept_links_counters(fx->links, &counters);
	assert_int_equal(counters.routes_added, 3);
	assert_int_equal(counters.routes_deleted, 1);
}

static void test_many_routes_split_to_max_body(void **state)
{
	struct link_fixture *fx = *state;
	const size_t total = 250;	/* 102 routes fit a 4096-byte body */

	fx->fake.max_body = WIRE_MIN_MAX_BODY;
	link_fixture_connect(fx);
	assert_true(fake_run_until(fx->loop, link_ready, fx, 5000));
	for (size_t i = 0; i < total; i++) {
		struct session_key k = link_fixture_key("198.18.0.1", (uint16_t)(1000 + i));

		assert_int_equal(intercept_links_route_add(fx->links, &k), 0);
	}
	intercept_links_flush(fx->links);
	fx->want = total;
	assert_true(fake_run_until(fx->loop, got_routes, fx, 5000));
	assert_int_equal(fake_intercept_frames(&fx->fake, WIRE_ROUTE_ADD), 3);
	for (size_t i = 0; i < total; i++)
		assert_int_equal(fx->fake.routes[i].client_port, 1000 + i);
}

static void test_summaries_delivered(void **state)
{
	struct link_fixture *fx = *state;
	uint8_t frame[1024], synack[64], garbage[40];
	struct wire_batch batch;
	size_t synack_len, len;
	struct intercept_link_counters counters;

	link_fixture_connect(fx);
	assert_true(fake_run_until(fx->loop, link_ready, fx, 5000));
	synack_len = link_fixture_synack(synack, sizeof(synack));
	/* An IPv4 header claiming 60 bytes of options: not IP + TCP. */
	memset(garbage, 0, sizeof(garbage));
	garbage[0] = 0x4f;
	wire_batch_init(&batch, frame, sizeof(frame));
	assert_int_equal(wire_batch_add(&batch, 0, 0, synack, synack_len), 0);
	assert_int_equal(wire_batch_add(&batch, 0, 0, garbage, sizeof(garbage)), 0);
	/* A data segment summarised without its 1000 bytes of payload. */
	assert_int_equal(wire_batch_add(&batch, 0, 1000, synack, synack_len), 0);
	len = wire_batch_finish(&batch);
	fake_intercept_send(&fx->fake, frame, len);
	fx->want = 3;
	assert_true(fake_run_until(fx->loop, got_summaries, fx, 5000));

	assert_int_equal(fx->summary_count, 2);
	assert_int_equal(fx->dropped_count, 1);
	assert_int_equal(fx->summaries[0].flags, TCPF_SYN | TCPF_ACK);
	assert_int_equal(fx->summaries[0].sport, 80);
	assert_int_equal(fx->summaries[0].dport, 40000);
	assert_int_equal(fx->summaries[0].payload_len, 0);
	assert_int_equal(fx->summaries[1].payload_len, 1000);
	assert_int_equal(fx->summaries[1].payload_present, 0);
	intercept_links_counters(fx->links, &counters);
	assert_int_equal(counters.summaries_in, 3);
	assert_int_equal(counters.summaries_dropped, 1);
	/* A dropped record is not a reason to close the link. */
	assert_int_equal(intercept_links_ready(fx->links), 1);
	assert_int_equal(fx->down_count, 0);
}

static void test_heartbeat_when_idle(void **state)
{
	struct link_fixture *fx = *state;
	struct intercept_link_counters counters;

	fx->cfg.heartbeat_idle_ms = 20;
	link_fixture_connect(fx);
	assert_true(fake_run_until(fx->loop, link_ready, fx, 5000));
	/* The peer keeps talking (heartbeats of its own) so it stays alive;
	 * we send nothing but heartbeats. */
	fx->want = 3;
	assert_true(fake_run_until(fx->loop, got_heartbeats, fx, 5000));
	intercept_links_counters(fx->links, &counters);
	assert_true(counters.heartbeats_sent >= 3);
	assert_int_equal(fx->down_count, 0);
}

/* From inside the engine (before a SYN): the routes go at once. */
static void test_flush_routes_early(void **state)
{
	struct link_fixture *fx = *state;
	struct session_key k = link_fixture_key("198.18.0.1", 40000);

	link_fixture_connect(fx);
	assert_true(fake_run_until(fx->loop, link_ready, fx, 5000));
	assert_int_equal(intercept_links_route_add(fx->links, &k), 0);
	intercept_links_flush_routes(fx->links);
	fx->want = 1;
	assert_true(fake_run_until(fx->loop, got_routes, fx, 5000));
	assert_true(fx->fake.added[0]);
}

/* A failure there is not reported from inside the engine: the link stops
 * taking routes at once and is closed, and reported, by the next flush. */
static void test_flush_routes_failure_deferred(void **state)
{
	struct link_fixture *fx = *state;
	struct session_key a = link_fixture_key("198.18.0.1", 40000);
	struct session_key b = link_fixture_key("198.18.0.1", 40001);

	/* Room for one 48-byte route frame, not for a frame of two. */
	fx->cfg.max_output_bytes = 60;
	link_fixture_connect(fx);
	assert_true(fake_run_until(fx->loop, link_ready, fx, 5000));
	assert_int_equal(intercept_links_route_add(fx->links, &a), 0);
	assert_int_equal(intercept_links_route_add(fx->links, &b), 0);
	intercept_links_flush_routes(fx->links);
	assert_int_equal(fx->down_count, 0);
	assert_int_equal(intercept_links_ready(fx->links), 0);
	/* A session may still start: the link is lost within its grace, and
	 * the route goes out when it is back. */
	struct session_key c = link_fixture_key("198.18.0.1", 40002);
	assert_int_equal(intercept_links_route_add(fx->links, &c), 0);
	assert_int_equal(intercept_links_routes_of(fx->links, 0, NULL, NULL), 3);
	intercept_links_flush(fx->links);
	assert_int_equal(fx->down_count, 1);
	assert_true(fx->last_down_was_ready);
	assert_non_null(strstr(fx->last_reason, "the intercept is not reading"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hello_exchange, link_fixture_setup,
						link_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_routes_need_a_ready_link, link_fixture_setup,
						link_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_routes_batched_in_order, link_fixture_setup,
						link_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_many_routes_split_to_max_body,
						link_fixture_setup, link_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_summaries_delivered, link_fixture_setup,
						link_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_heartbeat_when_idle, link_fixture_setup,
						link_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_flush_routes_early, link_fixture_setup,
						link_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_flush_routes_failure_deferred,
						link_fixture_setup, link_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
