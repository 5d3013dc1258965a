/*
 * test_copy_link_payload.c — feature ROUTE_PAYLOAD at doppel-copy's link:
 * it announces the feature, asks for payload on the routes that want it
 * (only when the intercept announced the feature too), and hands the
 * payload bytes of PREFIX summaries to the engine with the packet's whole
 * payload length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_intercept.h"
#include "copy/link/intercept_link.h"
#include "link_fixture.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"
#include "lib/net/packet_build.h"
#include "lib/wire/wire.h"

static bool link_ready(void *arg)
{
	return intercept_links_ready(((struct link_fixture *)arg)->links) == 1;
}

static bool got_routes(void *arg)
{
	struct link_fixture *fx = arg;

	return fx->fake.route_count >= fx->want;
}

static bool got_summaries(void *arg)
{
	struct link_fixture *fx = arg;

	return fx->summary_count >= fx->want;
}

static void test_route_asks_for_payload(void **state)
{
	struct link_fixture *fx = *state;
	struct session_key a = link_fixture_key("198.18.0.1", 40000);
	struct session_key b = link_fixture_key("198.18.0.1", 40001);

	fx->fake.features = WIRE_FEAT_IPV6 | WIRE_FEAT_ROUTE_PAYLOAD;
	link_fixture_connect(fx);
	assert_true(fake_run_until(fx->loop, link_ready, fx, 5000));
	assert_true(fx->fake.hello.features & WIRE_FEAT_ROUTE_PAYLOAD);
	assert_int_equal(intercept_links_route_add_payload(fx->links, &a, 256), 0);
	assert_int_equal(intercept_links_route_add(fx->links, &b), 0);
	intercept_links_flush(fx->links);
	fx->want = 2;
	assert_true(fake_run_until(fx->loop, got_routes, fx, 5000));
	assert_false(fx->fake.decode_failed);
	assert_int_equal(fx->fake.routes[0].client_port, 40000);
	assert_int_equal(fx->fake.routes[0].payload_wanted, 256);
	assert_int_equal(fx->fake.routes[1].payload_wanted, 0);
}

/* An intercept that did not announce ROUTE_PAYLOAD: a session that needs
 * answer bytes is refused (the engine counts it), others go on. */
static void test_old_intercept_refuses_payload_routes(void **state)
{
	struct link_fixture *fx = *state;
	struct session_key a = link_fixture_key("198.18.0.1", 40000);

	link_fixture_connect(fx);
	assert_true(fake_run_until(fx->loop, link_ready, fx, 5000));
	assert_int_equal(intercept_links_route_add_payload(fx->links, &a, 256), -1);
	assert_int_equal(intercept_links_route_add(fx->links, &a), 0);
}

static void test_summary_payload_reaches_the_engine(void **state)
{
	static const uint8_t challenge[] = "\x52\0\0\0\x0c\0\0\0\x05salt";
	struct link_fixture *fx = *state;
	uint8_t frame[1024], pkt[128];
	struct wire_batch batch;
	struct packet_spec s;
	size_t len;

	link_fixture_connect(fx);
	assert_true(fake_run_until(fx->loop, link_ready, fx, 5000));
	memset(&s, 0, sizeof(s));
	assert_int_equal(dp_addr_parse("198.18.0.3", &s.src), 0);
	assert_int_equal(dp_addr_parse("198.18.0.1", &s.dst), 0);
	s.sport = 5432;
	s.dport = 40000;
	s.flags = TCPF_ACK | TCPF_PSH;
	s.payload = challenge;
	s.payload_len = sizeof(challenge) - 1;
	len = packet_build(pkt, sizeof(pkt), &s);
	assert_true(len > 40);
	wire_batch_init(&batch, frame, sizeof(frame));
	/* the whole answer, then only its first 5 bytes of a 13-byte payload */
	assert_int_equal(wire_batch_add(&batch, WIRE_SUMMARY_PREFIX, s.payload_len, pkt, len), 0);
	assert_int_equal(wire_batch_add(&batch, WIRE_SUMMARY_PREFIX, s.payload_len, pkt,
					len - s.payload_len + 5), 0);
	fake_intercept_send(&fx->fake, frame, wire_batch_finish(&batch));
	fx->want = 2;
	assert_true(fake_run_until(fx->loop, got_summaries, fx, 5000));
	assert_int_equal(fx->summaries[0].payload_len, s.payload_len);
	assert_int_equal(fx->summaries[0].payload_present, s.payload_len);
	assert_memory_equal(fx->payloads[0], challenge, s.payload_len);
	assert_int_equal(fx->summaries[1].payload_len, s.payload_len);
	assert_int_equal(fx->summaries[1].payload_present, 5);
	assert_memory_equal(fx->payloads[1], challenge, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_route_asks_for_payload, link_fixture_setup,
						link_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_old_intercept_refuses_payload_routes,
						link_fixture_setup, link_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_summary_payload_reaches_the_engine,
						link_fixture_setup, link_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
