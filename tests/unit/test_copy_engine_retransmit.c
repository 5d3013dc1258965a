/*
 * Getting data to a target on a lossy path: RTO retransmission with
 * back-off and its limit, RTT measurement, fast retransmit and recovery of
 * several holes, harmless stale summaries, and what each send result does.
 */
#include "engine_harness.h"

#define CISN HARNESS_CLIENT_ISN
#define TISN HARNESS_TARGET_ISN
#define OACK (HARNESS_ONLINE_ISN + 1)

static void ack_to(struct harness *h, const struct session_key *k, uint32_t offset)
{
	harness_target_plain(h, k, TCPF_ACK, TISN + 1, CISN + 1 + offset, 65535, 0);
}

static void test_lost_segment_retransmitted_with_backoff(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(42000);
	const struct packet *p;
	uint64_t sent_at;

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);	/* RTT 0 ms: the RTO is rto_min, 200 ms */
	harness_client_bytes(&h, &k, 0, 500);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 500);
	sent_at = h.now;
	for (uint64_t gap = 200, total = 200; gap <= 3200; gap *= 2, total += gap) {
		harness_run_until(&h, sent_at + total - 1);
		harness_expect_none(&h);
		harness_advance(&h, 1);
		p = harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 500);
		assert_memory_equal(p->payload, harness_stream(), 500);
	}
	assert_int_equal(harness_counters(&h)->retransmissions, 5);
	/* The ack finally comes: back-off undone, nothing more resent. */
	ack_to(&h, &k, 500);
	assert_int_equal(harness_counters(&h)->bytes_replayed, 500);
	harness_advance(&h, 60000);
	harness_expect_none(&h);
	/* New data gets the un-backed-off RTO again. */
	harness_client_bytes(&h, &k, 500, 600);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 501, TISN + 1, 100);
	harness_advance(&h, 200);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 501, TISN + 1, 100);
	harness_finish(&h);
}

static void test_retransmit_limit_resets_target(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(42001);

	harness_init(&h);
	h.cfg.data_retries = 3;
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_client_bytes(&h, &k, 0, 100);
	harness_advance(&h, 200 + 400 + 800);
	assert_int_equal(harness_counters(&h)->retransmissions, 3);
	assert_int_equal(h.end_count, 0);
	harness_drain(&h);
	harness_advance(&h, 1600);
	/* Given up: an RST at snd_nxt and one at snd_una, whichever the target
	 * is waiting for. */
	harness_expect(&h, TCPF_RST | TCPF_ACK, CISN + 101, TISN + 1, 0);
	harness_expect(&h, TCPF_RST | TCPF_ACK, CISN + 1, TISN + 1, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_last_end(&h)->reason, END_RETRANSMIT_LIMIT);
	assert_non_null(strstr(harness_last_end(&h)->detail, "after 3 retransmissions"));
	assert_int_equal(harness_counters(&h)->ended[END_RETRANSMIT_LIMIT], 1);
	assert_int_equal(harness_counters(&h)->buffered_bytes, 0);
	harness_finish(&h);
}

/* RFC 6298: RTO = SRTT + 4 RTTVAR, SRTT and RTTVAR from acks of segments
 * sent once. */
/* A request the target does not take for longer than -t (its accept queue
 * full, say) is still being sent: -t waits, the retransmissions go on, and
 * the request arrives when the target takes it. */
static void test_session_timeout_waits_for_retransmission(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(42002);
	uint64_t deadline;

	harness_init(&h);
	h.cfg.session_timeout_ms = 10000;
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_client_bytes(&h, &k, 0, 100);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 100);
	/* Retransmissions at 0.2, 0.6, 1.4, ... 25.4 s, then at 51 s: far
	 * past -t, and the session is still there to send the eighth. */
	deadline = h.now + 51000;
	harness_run_until(&h, deadline - 1);
	harness_drain(&h);
	assert_int_equal(h.end_count, 0);
	assert_int_equal(harness_counters(&h)->retransmissions, 7);
	harness_advance(&h, 1);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 100);
	assert_int_equal(harness_counters(&h)->retransmissions, 8);
	ack_to(&h, &k, 100);
	assert_int_equal(harness_counters(&h)->bytes_replayed, 100);
	assert_int_equal(h.end_count, 0);
	/* Nothing outstanding any more: silence is idleness again, and -t
	 * counts from the target's ack. */
	harness_advance(&h, 9999);
	assert_int_equal(h.end_count, 0);
	harness_advance(&h, 1);
	assert_int_equal(harness_last_end(&h)->reason, END_SESSION_TIMEOUT);
	/* The end says where the session stood. */
	assert_non_null(strstr(harness_last_end(&h)->detail,
			       "(ESTABLISHED; client bytes sent 101, acked 101, captured 101; "
			       "target bytes 1;"));
	assert_non_null(strstr(harness_last_end(&h)->detail, "timers none; successor none)"));
	harness_finish(&h);
}

static void test_rto_follows_measured_rtt(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(42002);
	uint64_t sent_at;

	harness_init(&h);
	harness_start(&h);
	harness_client_plain(&h, &k, TCPF_SYN, CISN, 0);
	harness_advance(&h, 100);
	harness_target_plain(&h, &k, TCPF_SYN | TCPF_ACK, TISN, CISN + 1, 65535, 0);
	harness_client_plain(&h, &k, TCPF_ACK, CISN + 1, OACK);
	harness_drain(&h);
	/* First sample 100 ms: SRTT 100, RTTVAR 50, RTO 300. */
	harness_client_bytes(&h, &k, 0, 100);
	harness_drain(&h);
	sent_at = h.now;
	harness_advance(&h, 299);
	harness_expect_none(&h);
	harness_advance(&h, 1);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 100);
	/* The ack of a retransmitted segment gives no sample (Karn). */
	harness_advance(&h, 500);
	ack_to(&h, &k, 100);
	harness_client_bytes(&h, &k, 100, 200);
	harness_drain(&h);
	sent_at = h.now;
	harness_advance(&h, 299);
	harness_expect_none(&h);
	harness_advance(&h, 1);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 101, TISN + 1, 100);
	(void)sent_at;
	harness_finish(&h);
}

static void test_fast_retransmit_and_partial_acks(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(42003);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_client_bytes(&h, &k, 0, 1460 * 6);
	assert_int_equal(harness_unread(&h), 6);
	harness_drain(&h);
	/* Segments 2 and 4 were lost: the target acks 1, then dup-acks. */
	ack_to(&h, &k, 1460);
	ack_to(&h, &k, 1460);
	ack_to(&h, &k, 1460);
	harness_expect_none(&h);
	ack_to(&h, &k, 1460);	/* third duplicate */
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1 + 1460, TISN + 1, 1460);
	assert_int_equal(harness_counters(&h)->fast_retransmits, 1);
	/* More duplicates in recovery send nothing more. */
	ack_to(&h, &k, 1460);
	harness_expect_none(&h);
	/* A partial ack up to the next hole: it is resent at once. */
	ack_to(&h, &k, 1460 * 3);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1 + 1460 * 3, TISN + 1, 1460);
	ack_to(&h, &k, 1460 * 6);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->retransmissions, 2);
	assert_int_equal(harness_counters(&h)->bytes_replayed, 1460 * 6);
	assert_int_equal(harness_counters(&h)->buffered_bytes, 0);
	harness_advance(&h, 10000);
	harness_expect_none(&h);
	harness_finish(&h);
}

/* Reordered, duplicated and stale summaries change nothing. */
static void test_stale_summaries_are_harmless(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(42004);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_client_bytes(&h, &k, 0, 3000);
	harness_drain(&h);
	ack_to(&h, &k, 3000);
	/* An old ack, an ack of data never sent, a SYN-ACK of another ISN. */
	ack_to(&h, &k, 1460);
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, CISN + 1 + 9000, 65535, 0);
	harness_target_plain(&h, &k, TCPF_SYN | TCPF_ACK, TISN + 77, CISN + 1, 65535, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->bytes_replayed, 3000);
	harness_client_bytes(&h, &k, 3000, 3100);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 3001, TISN + 1, 100);
	assert_int_equal(harness_counters(&h)->retransmissions, 0);
	harness_finish(&h);
}

/* ENOBUFS and the like: the packet counts as lost, the timer resends it. */
static void test_send_retry_keeps_data_for_the_timer(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(42005);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_script(&h, ENGINE_SEND_RETRY, 1);
	harness_client_bytes(&h, &k, 0, 100);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 100);
	assert_int_equal(harness_counters(&h)->send_errors, 1);
	harness_advance(&h, 200);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 100);
	ack_to(&h, &k, 100);
	assert_int_equal(harness_counters(&h)->bytes_replayed, 100);
	assert_int_equal(h.end_count, 0);
	harness_finish(&h);
}

/* EMSGSIZE: the MSS drops to the next MTU plateau and the data goes
 * again, smaller, at once. */
static void test_send_too_big_lowers_mss(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(42006);
	uint8_t got[4000];
	size_t high = 0;

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_script(&h, ENGINE_SEND_TOO_BIG, 1);
	harness_client_bytes(&h, &k, 0, 4000);
	/* 1500-byte packet refused; next plateau 1492: 1452 bytes of data. */
	harness_expect(&h, TCPF_ACK, CISN + 1, TISN + 1, 1460);
	for (size_t i = h.sent_read; i < h.sent_count; i++) {
		assert_true(h.sent[i].p.payload_len <= 1452);
		assert_true(h.sent[i].p.ip_total_len <= 1492);
	}
	harness_collect(&h, got, sizeof(got), &high);
	assert_int_equal(high, 4000);
	assert_memory_equal(got, harness_stream(), 4000);
	assert_int_equal(h.end_count, 0);
	harness_finish(&h);
}

static void test_send_failed_ends_session(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(42007);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_script(&h, ENGINE_SEND_FAILED, 1);
	harness_client_bytes(&h, &k, 0, 100);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 100);
	harness_expect_none(&h);	/* no RST: the send path refuses us */
	assert_int_equal(harness_last_end(&h)->reason, END_SEND_FAILED);
	assert_non_null(strstr(harness_last_end(&h)->detail, "send refused"));
	assert_int_equal(harness_counters(&h)->sessions_active, 0);
	assert_int_equal(h.routes_deleted, 1);
	/* The engine goes on: the next session works. */
	{
		struct session_key k2 = harness_key_v4(42008);

		harness_establish(&h, &k2, 65535);
		assert_int_equal(harness_counters(&h)->sessions_active, 1);
	}
	harness_finish(&h);
}

/* A SYN refused as too big cannot get smaller: the session ends. */
static void test_syn_too_big_fails(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(42009);

	harness_init(&h);
	harness_start(&h);
	harness_script(&h, ENGINE_SEND_TOO_BIG, 1);
	harness_client_plain(&h, &k, TCPF_SYN, CISN, 0);
	harness_expect(&h, TCPF_SYN, CISN, 0, 0);
	assert_int_equal(harness_last_end(&h)->reason, END_SEND_FAILED);
	assert_non_null(strstr(harness_last_end(&h)->detail, "too big"));
	assert_int_equal(engine_next_deadline(h.engine), UINT64_MAX);
	harness_finish(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lost_segment_retransmitted_with_backoff),
		cmocka_unit_test(test_retransmit_limit_resets_target),
		cmocka_unit_test(test_session_timeout_waits_for_retransmission),
		cmocka_unit_test(test_rto_follows_measured_rtt),
		cmocka_unit_test(test_fast_retransmit_and_partial_acks),
		cmocka_unit_test(test_stale_summaries_are_harmless),
		cmocka_unit_test(test_send_retry_keeps_data_for_the_timer),
		cmocka_unit_test(test_send_too_big_lowers_mss),
		cmocka_unit_test(test_send_failed_ends_session),
		cmocka_unit_test(test_syn_too_big_fails),
	};

	return cmocka_run_group_tests_name("copy_engine_retransmit", tests, NULL, NULL);
}
