/*
 * Bounded memory and scale: the session cap and the buffered-bytes cap
 * (new sessions refused and counted; a session whose data would pass the
 * cap ends with its own reason), the out-of-order cap (a capture gap), the
 * byte cap past a hole (the memory limit), the size of an idle
 * session, and 100,000 sessions created and timed out through the timer
 * heap with exact counters.
 */
#include "engine_harness.h"
#include "copy/engine/engine_session.h"

#define CISN HARNESS_CLIENT_ISN
#define TISN HARNESS_TARGET_ISN
#define OACK (HARNESS_ONLINE_ISN + 1)

static void test_session_cap_refuses_new_sessions(void **state)
{
	struct harness h;

	harness_init(&h);
	h.cfg.max_sessions = 3;
	harness_start(&h);
	/* Sessions that have shown data (bare SYNs would make room for the
	 * new one: test_copy_engine_evict.c). */
	for (uint16_t port = 45000; port < 45003; port++) {
		struct session_key k = harness_key_v4(port);

		harness_client_plain(&h, &k, TCPF_SYN, CISN, 0);
		harness_client_data(&h, &k, CISN + 1, OACK, NULL, 10);
	}
	harness_drain(&h);
	{
		struct session_key k = harness_key_v4(45003);

		harness_client_plain(&h, &k, TCPF_SYN, CISN, 0);
		harness_expect_none(&h);
		/* Its data later: still refused, never a missed start. */
		harness_client_data(&h, &k, CISN + 1, OACK, NULL, 100);
		harness_expect_none(&h);
	}
	/* One session refused, at its SYN and again at its data: counted
	 * once (refused_keys.h). */
	assert_int_equal(harness_counters(&h)->sessions_refused_memory, 1);
	assert_int_equal(harness_counters(&h)->sessions_active, 3);
	assert_int_equal(h.routes_added, 3);
	/* One ends: room again. */
	{
		struct session_key k = harness_key_v4(45000), k2 = harness_key_v4(45004);

		engine_abort(h.engine, h.now, &k, "test abort");
		harness_drain(&h);
		harness_client_plain(&h, &k2, TCPF_SYN, CISN, 0);
		harness_expect(&h, TCPF_SYN, CISN, 0, 0);
	}
	assert_int_equal(harness_counters(&h)->sessions_active, 3);
	harness_finish(&h);
}

static void test_byte_cap_ends_the_session_that_passes_it(void **state)
{
	struct harness h;
	struct session_key a = harness_key_v4(45100), b = harness_key_v4(45101);
	struct session_key c = harness_key_v4(45102), d = harness_key_v4(45103);

	harness_init(&h);
	h.cfg.max_buffered_bytes = 5000;
	harness_start(&h);
	harness_establish(&h, &a, 65535);
	harness_client_data(&h, &a, CISN + 1, OACK, NULL, 4000);	/* unacknowledged: held */
	harness_drain(&h);
	assert_int_equal(harness_counters(&h)->buffered_bytes, 4000);
	harness_establish(&h, &b, 65535);
	harness_client_data(&h, &b, CISN + 1, OACK, NULL, 1001);
	/* b's data would pass the cap: b ends, with an RST, a is untouched. */
	harness_expect(&h, TCPF_RST | TCPF_ACK, CISN + 1, TISN + 1, 0);
	assert_int_equal(harness_last_end(&h)->reason, END_MEMORY_LIMIT);
	assert_memory_equal(&harness_last_end(&h)->key, &b, sizeof(b));
	assert_non_null(strstr(harness_last_end(&h)->detail, "5000-byte cap"));
	assert_int_equal(harness_counters(&h)->buffered_bytes, 4000);
	assert_int_equal(harness_counters(&h)->ended[END_MEMORY_LIMIT], 1);
	/* Exactly up to the cap is fine. */
	harness_establish(&h, &c, 65535);
	harness_client_data(&h, &c, CISN + 1, OACK, NULL, 1000);
	harness_drain(&h);
	assert_int_equal(harness_counters(&h)->buffered_bytes, 5000);
	assert_int_equal(harness_counters(&h)->sessions_active, 2);
	/* At the cap, new sessions are refused. */
	harness_client_plain(&h, &d, TCPF_SYN, CISN, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->sessions_refused_memory, 1);
	/* Acks free the bytes. */
	harness_target_plain(&h, &a, TCPF_ACK, TISN + 1, CISN + 4001, 65535, 0);
	assert_int_equal(harness_counters(&h)->buffered_bytes, 1000);
	harness_client_plain(&h, &d, TCPF_SYN, CISN, 0);
	harness_expect(&h, TCPF_SYN, CISN, 0, 0);
	harness_finish(&h);
}

static void test_too_many_out_of_order_segments(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(45200);
	char expected[96];

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	/* A gap at the start, then many separate pieces past it. */
	for (uint32_t i = 0; i < STREAM_MAX_PENDING; i++)
		harness_client_data(&h, &k, CISN + 1 + 100 + i * 20, OACK, NULL, 10);
	assert_int_equal(h.end_count, 0);
	assert_int_equal(harness_counters(&h)->buffered_bytes, STREAM_MAX_PENDING * 10);
	harness_client_data(&h, &k, CISN + 1 + 100 + STREAM_MAX_PENDING * 20, OACK, NULL, 10);
	/* The capture lost the hole's bytes: a capture gap, not the memory
	 * cap; the target gets an RST at the hole's start. */
	harness_expect(&h, TCPF_RST | TCPF_ACK, CISN + 1, TISN + 1, 0);
	assert_int_equal(harness_last_end(&h)->reason, END_CAPTURE_GAP);
	snprintf(expected, sizeof(expected),
		 "client bytes from seq %u never captured (more than %u segments", CISN + 1,
		 STREAM_MAX_PENDING);
	assert_non_null(strstr(harness_last_end(&h)->detail, expected));
	assert_int_equal(harness_counters(&h)->ended[END_MEMORY_LIMIT], 0);
	assert_int_equal(harness_counters(&h)->buffered_bytes, 0);
	harness_finish(&h);
}

/* Pieces past a hole that pass the byte cap: that is the memory cap's,
 * END_MEMORY_LIMIT, before STREAM_MAX_PENDING is reached. */
static void test_byte_cap_past_a_hole_is_memory_limit(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(45210);

	harness_init(&h);
	h.cfg.max_buffered_bytes = 1000;
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	for (uint32_t i = 0; i < 10; i++)
		harness_client_data(&h, &k, CISN + 1 + 100 + i * 200, OACK, NULL, 100);
	assert_int_equal(h.end_count, 0);
	assert_int_equal(harness_counters(&h)->buffered_bytes, 1000);
	harness_client_data(&h, &k, CISN + 1 + 100 + 10 * 200, OACK, NULL, 100);
	assert_int_equal(harness_last_end(&h)->reason, END_MEMORY_LIMIT);
	assert_non_null(strstr(harness_last_end(&h)->detail, "1000-byte cap"));
	assert_int_equal(harness_counters(&h)->ended[END_CAPTURE_GAP], 0);
	assert_int_equal(harness_counters(&h)->buffered_bytes, 0);
	harness_finish(&h);
}

/* An idle session costs its struct, a heap slot and a bucket: no buffer. */
static void test_idle_session_is_small(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(45300), nk;
	struct session *s;

	assert_true(sizeof(struct session) < 512);
	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_client_data(&h, &k, CISN + 1, OACK, NULL, 3000);
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, CISN + 3001, 65535, 0);
	session_key_normalize(&nk, &k);
	s = session_table_find(&h.engine->table, &nk);
	assert_non_null(s);
	assert_null(s->stream);	/* all acknowledged: the buffer is gone */
	print_message("struct session: %zu bytes; stream when data is held: %zu + data\n",
		      sizeof(struct session), sizeof(struct session_stream));
	harness_finish(&h);
}

/* A connection that has carried 3 GB: the ISN is more than 2^31 behind,
 * so nothing may compare a seq with it (the state is set by hand: pushing
 * 3 GB through ASan would take minutes; an -O2 run did it for real). */
static void test_stream_far_past_the_isn(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(45400), nk;
	struct harness_segment fin = { .payload_len = 10 };
	struct session *s;

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	session_key_normalize(&nk, &k);
	s = session_table_find(&h.engine->table, &nk);
	assert_non_null(s);
	s->isn -= 0xc0000000u;
	harness_client_data(&h, &k, CISN + 1, OACK, NULL, 100);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 100);
	harness_client_data(&h, &k, CISN + 1, OACK, NULL, 100);	/* captured twice */
	harness_expect_none(&h);
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, CISN + 101, 65535, 0);
	assert_int_equal(harness_counters(&h)->bytes_replayed, 100);
	harness_client(&h, &k, TCPF_ACK | TCPF_FIN, CISN + 101, OACK, &fin);
	harness_expect(&h, TCPF_ACK | TCPF_FIN | TCPF_PSH, CISN + 101, TISN + 1, 10);
	harness_target_plain(&h, &k, TCPF_ACK | TCPF_FIN, TISN + 1, CISN + 112, 65535, 0);
	harness_expect(&h, TCPF_ACK, CISN + 112, TISN + 2, 0);
	assert_int_equal(harness_counters(&h)->bytes_replayed, 110);
	harness_advance(&h, h.cfg.linger_ms);
	assert_int_equal(harness_last_end(&h)->reason, END_CLOSED);
	harness_finish(&h);
}

#define MANY 100000u

static struct session_key many_key(uint32_t i)
{
	struct session_key k = harness_key_v4(0);

	/* 198.18.x.y clients, ports spread: all different keys. */
	k.client.bytes[2] = (uint8_t)(i >> 14);
	k.client.bytes[3] = (uint8_t)(i >> 6);
	k.client_port = (uint16_t)(10000 + (i & 63));
	return k;
}

/* Every third session's SYN is answered; all sessions are spread over
 * 5 s (before the first SYN timeout). Answered ones end on -t, the others
 * on the SYN timeout, each at exactly its own deadline. */
static void test_many_sessions_timed_out(void **state)
{
	struct harness h;
	uint64_t start;
	uint32_t answered = 0;

	harness_init(&h);
	h.record = false;
	h.cfg.session_timeout_ms = 30000;
	h.cfg.syn_retries = 3;	/* 1 + 2 + 4 s */
	harness_start(&h);
	start = h.now;
	for (uint32_t i = 0; i < MANY; i++) {
		struct session_key k = many_key(i);

		if (i % 1000 == 0)
			harness_run_until(&h, start + i / 20);
		harness_client_plain(&h, &k, TCPF_SYN, CISN + i, 0);
		if (i % 3 == 0) {
			harness_target_plain(&h, &k, TCPF_SYN | TCPF_ACK, TISN, CISN + i + 1, 65535, 0);
			answered++;
		}
	}
	assert_int_equal(harness_counters(&h)->sessions_started, MANY);
	assert_int_equal(harness_counters(&h)->sessions_active, MANY);
	assert_int_equal(h.engine->table.count, MANY);
	assert_int_equal(h.engine->timers.count, MANY);
	harness_run_until(&h, start + 5000 + 31000);
	assert_int_equal(harness_counters(&h)->sessions_active, 0);
	assert_int_equal(harness_counters(&h)->ended[END_SESSION_TIMEOUT], answered);
	assert_int_equal(harness_counters(&h)->ended[END_SYN_TIMEOUT], MANY - answered);
	assert_int_equal(harness_counters(&h)->sessions_failed, MANY);
	assert_int_equal(h.end_count, MANY);
	for (size_t i = 0; i < h.end_count; i++) {
		const struct harness_end *end = &h.ends[i];
		uint64_t born = start + ((end->key.client.bytes[2] << 14 |
					  end->key.client.bytes[3] << 6 |
					  (end->key.client_port - 10000)) / 1000) * 50;

		/* SYN timeout: 7 s after the SYN; -t: 30 s after the SYN-ACK. */
		if (end->reason == END_SYN_TIMEOUT)
			assert_int_equal(end->at - born, 7000);
		else
			assert_int_equal(end->at - born, 30000);
	}
	/* SYNs: 3 each unanswered; + the RST each time out sends. */
	assert_int_equal(h.sent_total, (MANY - answered) * 3 + answered * 2 + MANY);
	assert_int_equal(engine_next_deadline(h.engine), UINT64_MAX);
	assert_int_equal(h.engine->timers.count, 0);
	assert_int_equal(h.engine->table.count, 0);
	harness_finish(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_cap_refuses_new_sessions),
		cmocka_unit_test(test_byte_cap_ends_the_session_that_passes_it),
		cmocka_unit_test(test_too_many_out_of_order_segments),
		cmocka_unit_test(test_byte_cap_past_a_hole_is_memory_limit),
		cmocka_unit_test(test_idle_session_is_small),
		cmocka_unit_test(test_stream_far_past_the_isn),
		cmocka_unit_test(test_many_sessions_timed_out),
	};

	return cmocka_run_group_tests_name("copy_engine_limits", tests, NULL, NULL);
}
