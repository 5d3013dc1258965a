/*
 * Pacing, the basics: a request the client sent only after reading the
 * online server's answer (its ack advanced) waits until the target has sent
 * as much of its answer; the same request continuing, or pipelined
 * requests, go at once; a target that never answers is given
 * pace_timeout_ms; -W sends at once; the FIN is paced like data; a
 * server-speaks-first protocol waits for the greeting.
 * test_copy_engine_answer.c: long answers, answers shorter or longer than
 * the online ones, the quiet period.
 */
#include "engine_harness.h"

#define CISN HARNESS_CLIENT_ISN
#define TISN HARNESS_TARGET_ISN
#define OACK (HARNESS_ONLINE_ISN + 1)

/* Client data at stream offset off, acking the online server up to ack. */
static void request(struct harness *h, const struct session_key *k, uint32_t off, size_t len,
		    uint32_t ack)
{
	harness_client_data(h, k, CISN + 1 + off, ack, NULL, len);
}

static void target_ack(struct harness *h, const struct session_key *k, uint32_t target_off,
		       uint32_t off)
{
	harness_target_plain(h, k, TCPF_ACK, TISN + 1 + target_off, CISN + 1 + off, 65535, 0);
}

static void target_answer(struct harness *h, const struct session_key *k, uint32_t target_off,
			  uint32_t off, size_t len)
{
	harness_target_plain(h, k, TCPF_ACK | TCPF_PSH, TISN + 1 + target_off, CISN + 1 + off,
			     65535, len);
}

static void test_next_request_waits_for_target_answer(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(44000);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	request(&h, &k, 0, 100, OACK);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 100);
	/* The client got the online answer (500 bytes), then asked again. */
	request(&h, &k, 100, 80, OACK + 500);
	harness_expect_none(&h);
	/* Acknowledging the request is not answering it. */
	target_ack(&h, &k, 0, 100);
	harness_expect_none(&h);
	/* The answer: the next request goes, carrying the ack of the answer. */
	target_answer(&h, &k, 0, 100, 500);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 101, TISN + 501, 80);
	harness_expect_none(&h);
	/* The rest of the same request (ack unchanged) follows at once. */
	request(&h, &k, 180, 20, OACK + 500);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 181, TISN + 501, 20);
	assert_int_equal(harness_counters(&h)->pace_timeouts, 0);
	harness_finish(&h);
}

/* What counts is how much of its answer the target sent, acknowledged
 * or not: an answer implies the request arrived. */
static void test_answer_bytes_count_not_acks(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(44001);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	request(&h, &k, 0, 100, OACK);
	harness_drain(&h);
	request(&h, &k, 100, 50, OACK + 10);
	target_answer(&h, &k, 0, 0, 9);
	harness_expect(&h, TCPF_ACK, CISN + 101, TISN + 10, 0);	/* ack only: 9 < 10 */
	target_answer(&h, &k, 9, 0, 1);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 101, TISN + 11, 50);
	assert_int_equal(harness_counters(&h)->pace_waits, 1);
	assert_int_equal(harness_counters(&h)->pace_waiting, 0);
	harness_finish(&h);
}

static void test_pipelined_requests_go_at_once(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(44002);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	/* Each request leaves as it is captured (none waits for the one
	 * before to be answered): in order, each at its own sequence number. */
	request(&h, &k, 0, 100, OACK);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 100);
	harness_expect_none(&h);
	request(&h, &k, 100, 100, OACK);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 101, TISN + 1, 100);
	harness_expect_none(&h);
	request(&h, &k, 200, 100, OACK);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 201, TISN + 1, 100);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->pace_timeouts, 0);
	harness_finish(&h);
}

/* A target that acknowledges but never answers gets pace_timeout_ms,
 * counted from when all our data was acknowledged. */
static void test_pacing_fallback_releases_after_timeout(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(44003);
	uint64_t acked_at;

	harness_init(&h);
	h.cfg.pace_timeout_ms = 1500;
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	request(&h, &k, 0, 100, OACK);
	request(&h, &k, 100, 100, OACK + 300);
	harness_drain(&h);
	harness_advance(&h, 700);	/* retransmissions before the ack */
	harness_drain(&h);
	target_ack(&h, &k, 0, 100);
	acked_at = h.now;
	harness_advance(&h, 1499);
	harness_expect_none(&h);
	harness_advance(&h, 1);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 101, TISN + 1, 100);
	assert_int_equal(h.now - acked_at, 1500);
	assert_int_equal(harness_counters(&h)->pace_timeouts, 1);
	assert_int_equal(h.end_count, 0);
	harness_finish(&h);
}

static void test_send_at_once_ignores_answers(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(44004);

	harness_init(&h);
	h.cfg.send_at_once = true;
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	request(&h, &k, 0, 100, OACK);
	request(&h, &k, 100, 100, OACK + 300);
	request(&h, &k, 200, 100, OACK + 600);
	harness_client_plain(&h, &k, TCPF_FIN | TCPF_ACK, CISN + 301, OACK + 900);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 100);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 101, TISN + 1, 100);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 201, TISN + 1, 100);
	harness_expect(&h, TCPF_FIN | TCPF_ACK, CISN + 301, TISN + 1, 0);
	harness_finish(&h);
}

/* Several requests captured while the target is slow: one per answer. */
static void test_queued_requests_released_one_per_answer(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(44005);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	request(&h, &k, 0, 10, OACK);
	request(&h, &k, 10, 10, OACK + 100);
	request(&h, &k, 20, 10, OACK + 200);
	request(&h, &k, 30, 10, OACK + 300);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 10);
	harness_expect_none(&h);
	for (uint32_t i = 1; i <= 3; i++) {
		target_answer(&h, &k, (i - 1) * 100, i * 10, 99);
		harness_expect(&h, TCPF_ACK, CISN + 1 + i * 10, TISN + (i - 1) * 100 + 100, 0);
		harness_expect_none(&h);
		target_answer(&h, &k, (i - 1) * 100 + 99, i * 10, 1);
		harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1 + i * 10, TISN + 1 + i * 100, 10);
		harness_expect_none(&h);
	}
	assert_int_equal(harness_counters(&h)->pace_timeouts, 0);
	harness_finish(&h);
}

/* The client closed after reading the answer: the FIN waits for ours. */
static void test_fin_paced_like_data(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(44006);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	request(&h, &k, 0, 100, OACK);
	harness_drain(&h);
	harness_client_plain(&h, &k, TCPF_FIN | TCPF_ACK, CISN + 101, OACK + 400);
	target_ack(&h, &k, 0, 100);
	harness_expect_none(&h);
	target_answer(&h, &k, 0, 100, 400);
	harness_expect(&h, TCPF_FIN | TCPF_ACK, CISN + 101, TISN + 401, 0);
	harness_expect_none(&h);
	harness_finish(&h);
}

/* Server speaks first (SMTP, MySQL...): the client's first data acks the
 * greeting, so it waits for the target's. */
static void test_server_first_protocol_waits_for_greeting(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(44007);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);	/* the client's ACK acked OACK */
	harness_client_plain(&h, &k, TCPF_ACK, CISN + 1, OACK + 30);	/* acks the greeting */
	request(&h, &k, 0, 12, OACK + 30);
	harness_expect_none(&h);
	target_answer(&h, &k, 0, 0, 20);
	harness_expect(&h, TCPF_ACK, CISN + 1, TISN + 21, 0);
	target_answer(&h, &k, 20, 0, 10);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 31, 12);
	harness_finish(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_request_waits_for_target_answer),
		cmocka_unit_test(test_answer_bytes_count_not_acks),
		cmocka_unit_test(test_pipelined_requests_go_at_once),
		cmocka_unit_test(test_pacing_fallback_releases_after_timeout),
		cmocka_unit_test(test_send_at_once_ignores_answers),
		cmocka_unit_test(test_queued_requests_released_one_per_answer),
		cmocka_unit_test(test_fin_paced_like_data),
		cmocka_unit_test(test_server_first_protocol_waits_for_greeting),
	};

	return cmocka_run_group_tests_name("copy_engine_pacing", tests, NULL, NULL);
}
