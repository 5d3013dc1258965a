/*
 * The engine's handshake with the target: our SYN with the client's ISN and
 * options, the target's own ISN learnt from its SYN-ACK, SYN retransmission
 * and give-up, refusals, bad SYN-ACKs, and sessions started mid-stream.
 */
#include "engine_harness.h"

#define CISN HARNESS_CLIENT_ISN
#define TISN HARNESS_TARGET_ISN

static void test_handshake_uses_target_isn(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(40000);
	struct harness_segment syn = {
		.window = 64240,
		.opt = { .has_mss = true, .mss = 1460, .has_wscale = true, .wscale = 7,
			 .sack_permitted = true, .has_timestamp = true, .tsval = 777, .tsecr = 0 },
	};
	struct harness_segment synack = {
		.window = 65160,
		.opt = { .has_mss = true, .mss = 1400, .has_wscale = true, .wscale = 6,
			 .has_timestamp = true, .tsval = 4242, .tsecr = 777 },
	};
	const struct packet *p;

	harness_init(&h);
	harness_start(&h);
	harness_client(&h, &k, TCPF_SYN, CISN, 0, &syn);
	assert_int_equal(h.routes_added, 1);	/* before the SYN: checked in the sink */
	p = harness_expect(&h, TCPF_SYN, CISN, 0, 0);
	assert_int_equal(p->window, 64240);
	assert_true(p->opt.has_mss);
	assert_int_equal(p->opt.mss, 1460);
	assert_true(p->opt.has_wscale);
	assert_int_equal(p->opt.wscale, 7);
	assert_false(p->opt.sack_permitted);	/* we do no SACK */
	assert_true(p->opt.has_timestamp);
	assert_int_equal(p->opt.tsval, 777);
	assert_int_equal(p->opt.tsecr, 0);

	harness_advance(&h, 3);
	harness_target(&h, &k, TCPF_SYN | TCPF_ACK, TISN, CISN + 1, &synack);
	p = harness_expect(&h, TCPF_ACK, CISN + 1, TISN + 1, 0);
	assert_true(p->opt.has_timestamp);
	assert_int_equal(p->opt.tsval, 777);
	assert_int_equal(p->opt.tsecr, 4242);
	/* The client's window after its SYN, in its scaled units. */
	assert_int_equal(p->window, 64240 >> 7);

	/* The client's own handshake ACK (acking the online server) is not
	 * replayed: it says nothing the target needs. */
	harness_client_plain(&h, &k, TCPF_ACK, CISN + 1, HARNESS_ONLINE_ISN + 1);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->sessions_started, 1);
	assert_int_equal(harness_counters(&h)->sessions_active, 1);
	assert_int_equal(harness_counters(&h)->packets_sent, 2);
	assert_int_equal(harness_counters(&h)->client_packets, 2);
	assert_int_equal(harness_counters(&h)->summaries, 1);
	harness_finish(&h);
}

static void test_syn_retransmitted_then_timeout(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(40001);
	uint64_t start;
	uint64_t expected_gap = 1000;

	harness_init(&h);
	harness_start(&h);
	start = h.now;
	harness_client_plain(&h, &k, TCPF_SYN, CISN, 0);
	harness_expect(&h, TCPF_SYN, CISN, 0, 0);
	/* Five more SYNs, each after twice the previous wait: 1, 2, 4, 8, 16 s. */
	for (int i = 0; i < 5; i++) {
		uint64_t before = h.now;

		harness_advance(&h, expected_gap - 1);
		harness_expect_none(&h);
		harness_advance(&h, 1);
		harness_expect(&h, TCPF_SYN, CISN, 0, 0);
		assert_int_equal(h.sent[h.sent_read - 1].at - before, expected_gap);
		expected_gap *= 2;
	}
	assert_int_equal(h.end_count, 0);
	/* The sixth SYN waits 32 s, then the session is given up with an RST
	 * (harmless if the target never saw a SYN, frees it if it did). */
	harness_advance(&h, expected_gap);
	harness_expect(&h, TCPF_RST, CISN + 1, 0, 0);
	harness_expect_none(&h);
	assert_int_equal(h.end_count, 1);
	assert_int_equal(h.ends[0].reason, END_SYN_TIMEOUT);
	assert_string_equal(h.ends[0].detail, "target never answered SYN after 6 tries");
	assert_int_equal(h.ends[0].at - start, 63000);
	assert_int_equal(h.routes_deleted, 1);
	assert_int_equal(harness_counters(&h)->retransmissions, 5);
	assert_int_equal(harness_counters(&h)->ended[END_SYN_TIMEOUT], 1);
	assert_int_equal(harness_counters(&h)->sessions_failed, 1);
	assert_int_equal(harness_counters(&h)->sessions_active, 0);
	assert_int_equal(engine_next_deadline(h.engine), UINT64_MAX);
	harness_finish(&h);
}

static void test_route_refused_sends_nothing(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(40002);

	harness_init(&h);
	harness_start(&h);
	h.route_add_result = -1;
	harness_client_plain(&h, &k, TCPF_SYN, CISN, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->sessions_refused_route, 1);
	assert_int_equal(harness_counters(&h)->sessions_started, 0);
	assert_int_equal(harness_counters(&h)->sessions_active, 0);
	assert_int_equal(h.end_count, 0);
	assert_int_equal(engine_next_deadline(h.engine), UINT64_MAX);
	harness_finish(&h);
}

static void test_synack_with_wrong_ack_is_reset(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(40003);

	harness_init(&h);
	harness_start(&h);
	harness_client_plain(&h, &k, TCPF_SYN, CISN, 0);
	harness_expect(&h, TCPF_SYN, CISN, 0, 0);
	/* RST <SEQ=SEG.ACK> (a stale half-open connection at the target goes),
	 * our SYN again, and the session goes on waiting. */
	harness_target_plain(&h, &k, TCPF_SYN | TCPF_ACK, TISN, CISN + 77, 0, 0);
	harness_expect(&h, TCPF_RST, CISN + 77, 0, 0);
	harness_expect(&h, TCPF_SYN, CISN, 0, 0);
	harness_expect_none(&h);
	assert_int_equal(h.end_count, 0);
	harness_target_plain(&h, &k, TCPF_SYN | TCPF_ACK, TISN, CISN + 1, 65535, 0);
	harness_expect(&h, TCPF_ACK, CISN + 1, TISN + 1, 0);
	assert_int_equal(h.end_count, 0);
	harness_finish(&h);
}

/* A host that keeps answering with the wrong ack: after syn_retries tries
 * in all the session ends, END_PROTOCOL_ERROR. */
static void test_synack_always_wrong_ends_session(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(40010);

	harness_init(&h);
	harness_start(&h);
	harness_client_plain(&h, &k, TCPF_SYN, CISN, 0);
	harness_expect(&h, TCPF_SYN, CISN, 0, 0);
	for (unsigned i = 1; i < h.cfg.syn_retries; i++) {
		harness_target_plain(&h, &k, TCPF_SYN | TCPF_ACK, TISN, CISN + 77, 0, 0);
		harness_expect(&h, TCPF_RST, CISN + 77, 0, 0);
		harness_expect(&h, TCPF_SYN, CISN, 0, 0);
	}
	assert_int_equal(h.end_count, 0);
	harness_target_plain(&h, &k, TCPF_SYN | TCPF_ACK, TISN, CISN + 77, 0, 0);
	harness_expect(&h, TCPF_RST, CISN + 77, 0, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_last_end(&h)->reason, END_PROTOCOL_ERROR);
	assert_non_null(strstr(harness_last_end(&h)->detail, "acknowledged"));
	assert_int_equal(h.routes_deleted, 1);
	harness_finish(&h);
}

static void test_target_refuses_with_rst(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(40004);

	harness_init(&h);
	harness_start(&h);
	harness_client_plain(&h, &k, TCPF_SYN, CISN, 0);
	harness_drain(&h);
	/* An RST that does not ack our SYN is not believed. */
	harness_target_plain(&h, &k, TCPF_RST | TCPF_ACK, 0, CISN + 5, 0, 0);
	assert_int_equal(h.end_count, 0);
	harness_target_plain(&h, &k, TCPF_RST | TCPF_ACK, 0, CISN + 1, 0, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_last_end(&h)->reason, END_TARGET_RESET);
	assert_int_equal(harness_counters(&h)->ended[END_TARGET_RESET], 1);
	harness_finish(&h);
}

static void test_duplicate_synack_reacked_and_client_syn_retransmission_ignored(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(40005);

	harness_init(&h);
	harness_start(&h);
	harness_client_plain(&h, &k, TCPF_SYN, CISN, 0);
	harness_expect(&h, TCPF_SYN, CISN, 0, 0);
	/* The client retransmits its SYN: our own timer does that job. */
	harness_client_plain(&h, &k, TCPF_SYN, CISN, 0);
	harness_expect_none(&h);
	harness_target_plain(&h, &k, TCPF_SYN | TCPF_ACK, TISN, CISN + 1, 0, 0);
	harness_expect(&h, TCPF_ACK, CISN + 1, TISN + 1, 0);
	/* Our ACK was lost: the target sends its SYN-ACK again. */
	harness_target_plain(&h, &k, TCPF_SYN | TCPF_ACK, TISN, CISN + 1, 0, 0);
	harness_expect(&h, TCPF_ACK, CISN + 1, TISN + 1, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->sessions_started, 1);
	harness_finish(&h);
}

static void test_mss_clamp_and_no_options(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(40006);
	struct harness_segment syn = { .window = 29200, .opt = { .has_mss = true, .mss = 1460 } };
	const struct packet *p;

	harness_init(&h);
	h.cfg.mss_clamp = 1200;
	harness_start(&h);
	harness_client(&h, &k, TCPF_SYN, CISN, 0, &syn);
	p = harness_expect(&h, TCPF_SYN, CISN, 0, 0);
	assert_int_equal(p->opt.mss, 1200);
	assert_false(p->opt.has_wscale);
	assert_false(p->opt.has_timestamp);
	/* A target offering timestamps and scaling gets neither: the client
	 * did not offer them. */
	{
		struct harness_segment synack = {
			.window = 1000,
			.opt = { .has_mss = true, .mss = 1460, .has_wscale = true, .wscale = 7,
				 .has_timestamp = true, .tsval = 1 },
		};

		harness_target(&h, &k, TCPF_SYN | TCPF_ACK, TISN, CISN + 1, &synack);
	}
	p = harness_expect(&h, TCPF_ACK, CISN + 1, TISN + 1, 0);
	assert_false(p->opt.has_timestamp);
	assert_int_equal(p->window, 29200);
	harness_finish(&h);
}

static void test_client_without_mss_gets_the_clamp(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(40007);
	const struct packet *p;

	harness_init(&h);
	h.cfg.mss_clamp = 1000;
	harness_start(&h);
	harness_client_plain(&h, &k, TCPF_SYN, CISN, 0);
	p = harness_expect(&h, TCPF_SYN, CISN, 0, 0);
	assert_true(p->opt.has_mss);
	assert_int_equal(p->opt.mss, 1000);
	harness_finish(&h);
}

/* -O (TCPCopy's "only replay full session"): data of a connection whose
 * SYN was never captured starts nothing; a captured SYN still does. */
static void test_full_sessions_only(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(40009), k2 = harness_key_v4(40010);
	struct harness_segment data = {
		.window = 501,
		.payload = (const uint8_t *)"GET / HTTP/1.1\r\n\r\n",
		.payload_len = 18,
	};

	harness_init(&h);
	h.cfg.full_sessions_only = true;
	harness_start(&h);
	harness_client(&h, &k, TCPF_ACK | TCPF_PSH, 123456789, 55, &data);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->sessions_started, 0);
	assert_int_equal(harness_counters(&h)->sessions_missed_start, 0);
	assert_int_equal(harness_counters(&h)->client_ignored, 1);
	harness_client_plain(&h, &k2, TCPF_SYN, HARNESS_CLIENT_ISN, 0);
	harness_expect(&h, TCPF_SYN, HARNESS_CLIENT_ISN, 0, 0);
	assert_int_equal(harness_counters(&h)->sessions_started, 1);
	harness_finish(&h);
}

/* Data of a connection whose SYN was never captured: a SYN is made up with
 * seq = data seq - 1, and the data follows the handshake. */
static void test_missed_start_from_data(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(40008);
	struct harness_segment data = {
		.window = 501,
		.payload = (const uint8_t *)"GET / HTTP/1.1\r\n\r\n",
		.payload_len = 18,
		.opt = { .has_timestamp = true, .tsval = 9999, .tsecr = 1 },
	};
	const struct packet *p;
	uint32_t seq = 123456789;

	harness_init(&h);
	harness_start(&h);
	/* A pure ACK of an unknown connection starts nothing. */
	harness_client_plain(&h, &k, TCPF_ACK, seq, 55);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->client_ignored, 1);

	harness_client(&h, &k, TCPF_ACK | TCPF_PSH, seq, 55, &data);
	p = harness_expect(&h, TCPF_SYN, seq - 1, 0, 0);
	assert_true(p->opt.has_mss);
	assert_int_equal(p->opt.mss, 1460);
	assert_true(p->opt.has_wscale);
	assert_true(p->opt.has_timestamp);
	assert_int_equal(p->opt.tsval, 9999);
	harness_expect_none(&h);	/* data waits for the handshake */
	assert_int_equal(harness_counters(&h)->sessions_missed_start, 1);
	assert_int_equal(harness_counters(&h)->sessions_started, 1);
	assert_int_equal(harness_counters(&h)->buffered_bytes, 18);

	{
		struct harness_segment synack = {
			.window = 65535,
			.opt = { .has_mss = true, .mss = 1460, .has_wscale = true, .wscale = 7,
				 .has_timestamp = true, .tsval = 31337 },
		};

		harness_target(&h, &k, TCPF_SYN | TCPF_ACK, TISN, seq, &synack);
	}
	harness_expect(&h, TCPF_ACK, seq, TISN + 1, 0);
	p = harness_expect(&h, TCPF_ACK | TCPF_PSH, seq, TISN + 1, 18);
	assert_memory_equal(p->payload, "GET / HTTP/1.1\r\n\r\n", 18);
	assert_int_equal(p->opt.tsecr, 31337);
	assert_int_equal(p->window, 501);
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, seq + 18, 1000, 0);
	assert_int_equal(harness_counters(&h)->bytes_replayed, 18);
	assert_int_equal(harness_counters(&h)->buffered_bytes, 0);
	harness_finish(&h);
}

/* The client reuses its ports for a new connection while the old session
 * lives with all its data delivered and no FIN or RST captured (the
 * capture missed its end): nothing of it is left to replay, so the old one
 * ends (RST to the target) and the new one starts at once. With data or
 * a FIN still to deliver the new one waits instead
 * (test_copy_engine_reuse.c). */
static void test_new_isn_supersedes_session(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(40009);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_client_plain(&h, &k, TCPF_SYN, CISN + 500000, 0);
	harness_expect(&h, TCPF_RST | TCPF_ACK, CISN + 1, TISN + 1, 0);
	harness_expect(&h, TCPF_SYN, CISN + 500000, 0, 0);
	assert_int_equal(harness_last_end(&h)->reason, END_SUPERSEDED);
	assert_int_equal(harness_counters(&h)->sessions_started, 2);
	assert_int_equal(harness_counters(&h)->sessions_active, 1);
	assert_int_equal(h.routes_added, 2);
	assert_int_equal(h.routes_deleted, 1);
	harness_finish(&h);
}

/* The target lost the connection while opening it (in the lab: our
 * handshake's ACK came late, the half-open connection was gone): its RST
 * acknowledges nothing (no ACK flag) and it took none of our data. The
 * session is opened again with the same ISN, and its request replayed, up
 * to 3 times; a fourth such RST ends it, and an RST that carries an ack (a
 * server that had the connection) ends it at once. */
static void test_target_lost_connection_opened_again(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(43400);
	uint32_t tisn = TISN;

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_client_data(&h, &k, CISN + 1, HARNESS_ONLINE_ISN + 1, NULL, 62);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 62);
	for (unsigned i = 1; i <= 3; i++) {
		harness_target_plain(&h, &k, TCPF_RST, tisn + 1, 0, 0, 0);
		harness_expect(&h, TCPF_SYN, CISN, 0, 0);
		harness_expect_none(&h);
		assert_int_equal(h.end_count, 0);
		assert_int_equal(harness_counters(&h)->sessions_restarted, i);
		tisn += 777777;
		harness_target_plain(&h, &k, TCPF_SYN | TCPF_ACK, tisn, CISN + 1, 65535, 0);
		harness_expect(&h, TCPF_ACK, CISN + 1, tisn + 1, 0);
		harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, tisn + 1, 62);
		harness_expect_none(&h);
	}
	/* Lost a fourth time: the session ends. */
	harness_target_plain(&h, &k, TCPF_RST, tisn + 1, 0, 0, 0);
	harness_expect_none(&h);
	assert_int_equal(h.end_count, 1);
	assert_int_equal(harness_last_end(&h)->reason, END_TARGET_RESET);
	assert_int_equal(harness_counters(&h)->sessions_restarted, 3);
	harness_finish(&h);

	/* An RST with an ack: the server had the connection. */
	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_client_data(&h, &k, CISN + 1, HARNESS_ONLINE_ISN + 1, NULL, 62);
	harness_drain(&h);
	harness_target_plain(&h, &k, TCPF_RST | TCPF_ACK, TISN + 1, CISN + 1, 0, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_last_end(&h)->reason, END_TARGET_RESET);
	assert_int_equal(harness_counters(&h)->sessions_restarted, 0);
	harness_finish(&h);

	/* Lost after our data was sent again and again: the new SYN goes
	 * again after the first RTO, not after the data's backed-off one. */
	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_client_data(&h, &k, CISN + 1, HARNESS_ONLINE_ISN + 1, NULL, 62);
	harness_drain(&h);
	harness_advance(&h, 200 + 400 + 800 + 1600 + 3200);
	harness_drain(&h);
	assert_int_equal(harness_counters(&h)->retransmissions, 5);
	harness_target_plain(&h, &k, TCPF_RST, TISN + 1, 0, 0, 0);
	harness_expect(&h, TCPF_SYN, CISN, 0, 0);
	harness_advance(&h, h.cfg.rto_initial_ms);
	harness_expect(&h, TCPF_SYN, CISN, 0, 0);
	harness_finish(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_uses_target_isn),
		cmocka_unit_test(test_target_lost_connection_opened_again),
		cmocka_unit_test(test_syn_retransmitted_then_timeout),
		cmocka_unit_test(test_route_refused_sends_nothing),
		cmocka_unit_test(test_synack_with_wrong_ack_is_reset),
		cmocka_unit_test(test_synack_always_wrong_ends_session),
		cmocka_unit_test(test_target_refuses_with_rst),
		cmocka_unit_test(test_duplicate_synack_reacked_and_client_syn_retransmission_ignored),
		cmocka_unit_test(test_mss_clamp_and_no_options),
		cmocka_unit_test(test_client_without_mss_gets_the_clamp),
		cmocka_unit_test(test_missed_start_from_data),
		cmocka_unit_test(test_full_sessions_only),
		cmocka_unit_test(test_new_isn_supersedes_session),
	};

	return cmocka_run_group_tests_name("copy_engine_handshake", tests, NULL, NULL);
}
