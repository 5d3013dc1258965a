/*
 * Refused sessions are counted once each (refused_keys.h): a session
 * refused at its SYN is tried again at each data packet (a missed start,
 * in case the intercept came back) and refused again, and the counter
 * says sessions, not packets. A key is forgotten at the client's FIN or
 * RST, when its session starts after all, and after REFUSED_KEYS_TTL_MS of
 * silence; the set stays bounded however many sessions are refused.
 */
#include "engine_harness.h"
#include "copy/engine/engine_session.h"

#define CISN HARNESS_CLIENT_ISN
#define OACK (HARNESS_ONLINE_ISN + 1)

/* A session's SYN, its retransmission, then three data packets, all
 * refused: one session, nothing sent, no route left. */
static void refuse_whole_session(struct harness *h, const struct session_key *k)
{
	harness_client_plain(h, k, TCPF_SYN, CISN, 0);
	harness_advance(h, 1000);
	harness_client_plain(h, k, TCPF_SYN, CISN, 0);
	harness_client_plain(h, k, TCPF_ACK, CISN + 1, OACK);
	for (uint32_t i = 0; i < 3; i++)
		harness_client_data(h, k, CISN + 1 + i * 100, OACK, NULL, 100);
	harness_expect_none(h);
}

static void test_route_refused_counted_once_per_session(void **state)
{
	struct harness h;
	struct session_key a = harness_key_v4(46000), b = harness_key_v4(46001);

	harness_init(&h);
	harness_start(&h);
	h.route_add_result = -1;
	refuse_whole_session(&h, &a);
	assert_int_equal(harness_counters(&h)->sessions_refused_route, 1);
	refuse_whole_session(&h, &b);
	assert_int_equal(harness_counters(&h)->sessions_refused_route, 2);
	assert_int_equal(harness_counters(&h)->sessions_started, 0);
	assert_int_equal(harness_counters(&h)->sessions_missed_start, 0);
	assert_int_equal(h.routes_added, 0);
	harness_finish(&h);
}

/* After the client's FIN (or RST) the key is free: a new connection on
 * the same ports is another session. */
static void test_fin_or_rst_ends_a_refused_session(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(46100);

	harness_init(&h);
	harness_start(&h);
	h.route_add_result = -1;
	refuse_whole_session(&h, &k);
	harness_client_plain(&h, &k, TCPF_FIN | TCPF_ACK, CISN + 301, OACK);
	refuse_whole_session(&h, &k);
	assert_int_equal(harness_counters(&h)->sessions_refused_route, 2);
	harness_client_plain(&h, &k, TCPF_RST, CISN + 301, 0);
	refuse_whole_session(&h, &k);
	assert_int_equal(harness_counters(&h)->sessions_refused_route, 3);
	/* Data with FIN, refused: counted, then forgotten. */
	harness_client_data(&h, &k, CISN + 1, OACK, NULL, 100);
	assert_int_equal(harness_counters(&h)->sessions_refused_route, 3);
	harness_client(&h, &k, TCPF_FIN | TCPF_ACK, CISN + 101, OACK,
		       &(struct harness_segment){ .payload_len = 50 });
	assert_int_equal(harness_counters(&h)->sessions_refused_route, 3);
	harness_client_plain(&h, &k, TCPF_SYN, CISN + 5000, 0);
	assert_int_equal(harness_counters(&h)->sessions_refused_route, 4);
	harness_finish(&h);
}

/* The intercept comes back while a refused session still sends: its next
 * data starts it (a missed start, as before). Counted refused once and
 * started once; once it ended, a refusal of its key is a new session. */
static void test_refused_then_started_from_data(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(46200);

	harness_init(&h);
	harness_start(&h);
	h.route_add_result = -1;
	harness_client_plain(&h, &k, TCPF_SYN, CISN, 0);
	harness_client_data(&h, &k, CISN + 1, OACK, NULL, 100);
	h.route_add_result = 0;
	harness_client_data(&h, &k, CISN + 101, OACK, NULL, 100);
	harness_expect(&h, TCPF_SYN, CISN + 100, 0, 0);
	assert_int_equal(harness_counters(&h)->sessions_refused_route, 1);
	assert_int_equal(harness_counters(&h)->sessions_started, 1);
	assert_int_equal(harness_counters(&h)->sessions_missed_start, 1);
	engine_abort(h.engine, h.now, &k, "test abort");
	harness_drain(&h);
	h.route_add_result = -1;
	harness_client_data(&h, &k, CISN + 201, OACK, NULL, 100);
	assert_int_equal(harness_counters(&h)->sessions_refused_route, 2);
	harness_finish(&h);
}

/* A key silent for REFUSED_KEYS_TTL_MS is forgotten; one that keeps
 * sending is remembered as long as it does. */
static void test_refused_key_expires_after_silence(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(46300), quiet = harness_key_v4(46301);

	harness_init(&h);
	harness_start(&h);
	h.route_add_result = -1;
	harness_client_plain(&h, &k, TCPF_SYN, CISN, 0);
	harness_client_plain(&h, &quiet, TCPF_SYN, CISN, 0);
	for (uint32_t i = 0; i < 4; i++) {
		h.now += REFUSED_KEYS_TTL_MS - 1;
		harness_client_data(&h, &k, CISN + 1 + i * 100, OACK, NULL, 100);
	}
	assert_int_equal(harness_counters(&h)->sessions_refused_route, 2);
	harness_client_data(&h, &quiet, CISN + 1, OACK, NULL, 100);
	assert_int_equal(harness_counters(&h)->sessions_refused_route, 3);
	harness_finish(&h);
}

/* Far more refused sessions than the set holds: each is counted once when
 * its packets come together, and the set never grows past its slots. A
 * session pushed out and heard from again may be counted again, never
 * not at all. */
static void test_refused_set_is_bounded(void **state)
{
	const uint32_t sessions = 3 * REFUSED_KEYS_SETS * REFUSED_KEYS_WAYS;
	struct harness h;
	uint64_t first_pass;

	harness_init(&h);
	h.record = false;
	harness_start(&h);
	h.route_add_result = -1;
	for (uint32_t i = 0; i < sessions; i++) {
		struct session_key k = harness_key_v4((uint16_t)(1024 + i % 60000));

		k.client.bytes[3] = (uint8_t)(i / 60000);
		harness_client_plain(&h, &k, TCPF_SYN, CISN, 0);
		harness_client_data(&h, &k, CISN + 1, OACK, NULL, 10);
	}
	first_pass = harness_counters(&h)->sessions_refused_route;
	assert_int_equal(first_pass, sessions);
	assert_true(h.engine->refused.used <= REFUSED_KEYS_SETS * REFUSED_KEYS_WAYS);
	for (uint32_t i = 0; i < sessions; i++) {
		struct session_key k = harness_key_v4((uint16_t)(1024 + i % 60000));

		k.client.bytes[3] = (uint8_t)(i / 60000);
		harness_client_data(&h, &k, CISN + 11, OACK, NULL, 10);
	}
	assert_true(harness_counters(&h)->sessions_refused_route >= first_pass);
	assert_true(harness_counters(&h)->sessions_refused_route <= 2 * first_pass);
	assert_true(h.engine->refused.used <= REFUSED_KEYS_SETS * REFUSED_KEYS_WAYS);
	harness_finish(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_refused_counted_once_per_session),
		cmocka_unit_test(test_fin_or_rst_ends_a_refused_session),
		cmocka_unit_test(test_refused_then_started_from_data),
		cmocka_unit_test(test_refused_key_expires_after_silence),
		cmocka_unit_test(test_refused_set_is_bounded),
	};

	return cmocka_run_group_tests_name("copy_engine_refused", tests, NULL, NULL);
}
