/*
 * A client reusing its ports while the old connection's replay is still
 * going on (session_successor.c): the new connection waits as the key's
 * successor, the old one finishes, then the new one starts from its held
 * packets; the target never sees the new SYN while the old connection is
 * live on the same 4-tuple.
 */
#include "engine_harness.h"

#define CISN HARNESS_CLIENT_ISN
#define TISN HARNESS_TARGET_ISN
#define OACK (HARNESS_ONLINE_ISN + 1)
#define NISN (CISN + 500000)		/* the second connection's ISN (higher, as Linux) */
#define N2ISN (CISN + 900000)		/* a third connection's */
#define NTISN (TISN + 700000)		/* the target's ISN for the second */
#define N2TISN (TISN + 900000)		/* and the third */
#define NOACK (HARNESS_ONLINE_ISN + 40001)	/* online server's, second connection */

static const char OLD_REQUEST[] = "GET /old HTTP/1.1\r\nHost: a\r\n\r\n";
static const char NEW_REQUEST[] = "GET /new HTTP/1.1\r\nHost: a\r\n\r\n";
static const char THIRD_REQUEST[] = "GET /third HTTP/1.1\r\n\r\n";
#define OLD_LEN (sizeof(OLD_REQUEST) - 1)
#define NEW_LEN (sizeof(NEW_REQUEST) - 1)
#define THIRD_LEN (sizeof(THIRD_REQUEST) - 1)

/* Every SYN the target gets for a later connection comes after the
 * previous connection on the key ended (its route removed). */
static void check_syn_order(struct harness *h, const struct harness_packet *sp)
{
	if (!(sp->p.flags & TCPF_SYN))
		return;
	if (sp->p.seq == NISN)
		assert_true(h->routes_deleted >= 1 && h->routes_added == h->routes_deleted + 1);
	if (sp->p.seq == N2ISN)
		assert_true(h->routes_deleted >= 2 && h->routes_added == h->routes_deleted + 1);
}

/* The old session's RST: at snd_nxt, and at snd_una when some of its
 * data was never acknowledged (session_send_reset). */
static void expect_reset(struct harness *h)
{
	const struct packet *p = harness_next(h);

	assert_int_equal(p->flags, TCPF_RST | TCPF_ACK);
	assert_int_equal(p->ack, TISN + 1);
	if (p->seq == CISN + 1)
		return;
	p = harness_next(h);
	assert_int_equal(p->flags, TCPF_RST | TCPF_ACK);
	assert_int_equal(p->seq, CISN + 1);
}

static void start(struct harness *h)
{
	harness_init(h);
	h->on_send = check_syn_order;
}

/* The old connection: its request sent to the target (not yet acked) and
 * the client's FIN captured and sent. */
static void old_request_and_fin(struct harness *h, const struct session_key *k)
{
	harness_establish(h, k, 65535);
	harness_client_data(h, k, CISN + 1, OACK, OLD_REQUEST, OLD_LEN);
	harness_expect(h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, OLD_LEN);
	harness_client_plain(h, k, TCPF_FIN | TCPF_ACK, CISN + 1 + OLD_LEN, OACK);
	harness_expect(h, TCPF_FIN | TCPF_ACK, CISN + 1 + OLD_LEN, TISN + 1, 0);
}

/* The target acknowledges the old request and FIN and closes; its FIN
 * is acked. */
static void target_closes_old(struct harness *h, const struct session_key *k)
{
	harness_target_plain(h, k, TCPF_ACK, TISN + 1, CISN + 2 + OLD_LEN, 65535, 0);
	harness_target_plain(h, k, TCPF_FIN | TCPF_ACK, TISN + 1, CISN + 2 + OLD_LEN, 65535, 0);
	harness_expect(h, TCPF_ACK, CISN + 2 + OLD_LEN, TISN + 2, 0);
}

/* A whole captured connection: SYN, ACK, request, FIN. */
static void capture_connection(struct harness *h, const struct session_key *k, uint32_t isn,
			       uint32_t online_ack, const char *request, size_t len)
{
	struct harness_segment syn = { .window = 64240, .opt = { .has_mss = true, .mss = 1460 } };

	harness_client(h, k, TCPF_SYN, isn, 0, &syn);
	harness_client_plain(h, k, TCPF_ACK, isn + 1, online_ack);
	harness_client_data(h, k, isn + 1, online_ack, request, len);
	harness_client_plain(h, k, TCPF_FIN | TCPF_ACK, isn + 1 + (uint32_t)len, online_ack);
}

/* The target answers a started connection and takes its request and FIN;
 * returns with the target's FIN acked. */
static void replay_connection(struct harness *h, const struct session_key *k, uint32_t isn,
			      uint32_t tisn, const char *request, size_t len)
{
	const struct packet *p;
	uint32_t end = isn + 1 + (uint32_t)len;

	harness_target_plain(h, k, TCPF_SYN | TCPF_ACK, tisn, isn + 1, 65535, 0);
	harness_expect(h, TCPF_ACK, isn + 1, tisn + 1, 0);
	p = harness_next(h);
	assert_int_equal(p->flags & ~TCPF_FIN, TCPF_ACK | TCPF_PSH);
	assert_int_equal(p->seq, isn + 1);
	assert_int_equal(p->ack, tisn + 1);
	assert_int_equal(p->payload_len, len);
	assert_memory_equal(p->payload, request, len);
	if (!(p->flags & TCPF_FIN))	/* the FIN alone, or with the data */
		harness_expect(h, TCPF_FIN | TCPF_ACK, end, tisn + 1, 0);
	harness_target_plain(h, k, TCPF_ACK, tisn + 1, end + 1, 65535, 0);
	harness_target_plain(h, k, TCPF_FIN | TCPF_ACK, tisn + 1, end + 1, 65535, 0);
	harness_expect(h, TCPF_ACK, end + 1, tisn + 2, 0);
}

/* The old request not yet delivered when the client reuses the port: the
 * old session completes, then the new one starts and delivers its request
 * once, in order; the linger does not hold the successor back. */
static void test_reuse_waits_for_the_old_session(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(41000);
	uint64_t target_fin_at;

	start(&h);
	harness_start(&h);
	old_request_and_fin(&h, &k);
	capture_connection(&h, &k, NISN, NOACK, NEW_REQUEST, NEW_LEN);
	harness_expect_none(&h);	/* no SYN while the old one is live */
	assert_int_equal(harness_counters(&h)->sessions_queued_successor, 1);
	assert_int_equal(harness_counters(&h)->buffered_bytes, OLD_LEN + NEW_LEN);
	assert_int_equal(h.end_count, 0);

	/* The target takes the old request and FIN, answers and closes. */
	harness_advance(&h, 5);
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, CISN + 2 + OLD_LEN, 65535, 0);
	harness_expect_none(&h);
	harness_target_plain(&h, &k, TCPF_ACK | TCPF_PSH, TISN + 1, CISN + 2 + OLD_LEN, 65535, 200);
	harness_expect(&h, TCPF_ACK, CISN + 2 + OLD_LEN, TISN + 201, 0);
	harness_target_plain(&h, &k, TCPF_FIN | TCPF_ACK, TISN + 201, CISN + 2 + OLD_LEN, 65535, 0);
	target_fin_at = h.now;
	harness_expect(&h, TCPF_ACK, CISN + 2 + OLD_LEN, TISN + 202, 0);
	/* Old closed at once (no linger with a successor), then the new SYN. */
	assert_int_equal(h.end_count, 1);
	assert_int_equal(h.ends[0].reason, END_CLOSED);
	assert_int_equal(h.ends[0].at, target_fin_at);
	harness_expect(&h, TCPF_SYN, NISN, 0, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->buffered_bytes, NEW_LEN);

	replay_connection(&h, &k, NISN, NTISN, NEW_REQUEST, NEW_LEN);
	harness_advance(&h, h.cfg.linger_ms);
	harness_expect_none(&h);
	assert_int_equal(h.end_count, 2);
	assert_int_equal(h.ends[1].reason, END_CLOSED);
	assert_int_equal(harness_counters(&h)->sessions_started, 2);
	assert_int_equal(harness_counters(&h)->sessions_completed, 2);
	assert_int_equal(harness_counters(&h)->ended[END_SUPERSEDED], 0);
	assert_int_equal(harness_counters(&h)->bytes_replayed, OLD_LEN + NEW_LEN);
	assert_int_equal(harness_counters(&h)->buffered_bytes, 0);
	assert_int_equal(harness_counters(&h)->sessions_active, 0);
	harness_finish(&h);
}

/* The old session lingers (all delivered, FINs exchanged): the new
 * connection starts at once and the old one counts as closed. */
static void test_reuse_during_linger_starts_at_once(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(41001);

	start(&h);
	harness_start(&h);
	old_request_and_fin(&h, &k);
	target_closes_old(&h, &k);
	assert_int_equal(h.end_count, 0);	/* lingering */
	capture_connection(&h, &k, NISN, NOACK, NEW_REQUEST, NEW_LEN);
	assert_int_equal(h.end_count, 1);
	assert_int_equal(h.ends[0].reason, END_CLOSED);
	harness_expect(&h, TCPF_SYN, NISN, 0, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->sessions_queued_successor, 0);
	replay_connection(&h, &k, NISN, NTISN, NEW_REQUEST, NEW_LEN);
	assert_int_equal(harness_counters(&h)->bytes_replayed, OLD_LEN + NEW_LEN);
	harness_finish(&h);
}

/* A third connection while the second waits: held behind it. The old
 * session completes, then the second, then the third; no request is lost
 * and nothing is superseded. */
static void test_second_reuse_while_one_waits(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(41002);

	start(&h);
	harness_start(&h);
	old_request_and_fin(&h, &k);
	capture_connection(&h, &k, NISN, NOACK, NEW_REQUEST, NEW_LEN);
	harness_expect_none(&h);
	capture_connection(&h, &k, N2ISN, NOACK + 5000, THIRD_REQUEST, THIRD_LEN);
	harness_expect_none(&h);	/* no RST, no SYN: the old one goes on */
	assert_int_equal(h.end_count, 0);
	assert_int_equal(harness_counters(&h)->sessions_queued_successor, 1);
	assert_int_equal(harness_counters(&h)->buffered_bytes, OLD_LEN + NEW_LEN + THIRD_LEN);

	target_closes_old(&h, &k);
	assert_int_equal(h.end_count, 1);
	assert_int_equal(h.ends[0].reason, END_CLOSED);
	harness_expect(&h, TCPF_SYN, NISN, 0, 0);
	harness_expect_none(&h);
	/* The third met the second live: it waits for it in turn. */
	assert_int_equal(harness_counters(&h)->sessions_queued_successor, 2);
	replay_connection(&h, &k, NISN, NTISN, NEW_REQUEST, NEW_LEN);
	assert_int_equal(h.end_count, 2);
	assert_int_equal(h.ends[1].reason, END_CLOSED);
	harness_expect(&h, TCPF_SYN, N2ISN, 0, 0);
	replay_connection(&h, &k, N2ISN, N2TISN, THIRD_REQUEST, THIRD_LEN);
	harness_advance(&h, h.cfg.linger_ms);
	assert_int_equal(h.end_count, 3);
	assert_int_equal(harness_counters(&h)->ended[END_SUPERSEDED], 0);
	assert_int_equal(harness_counters(&h)->sessions_completed, 3);
	assert_int_equal(harness_counters(&h)->bytes_replayed, OLD_LEN + NEW_LEN + THIRD_LEN);
	assert_int_equal(harness_counters(&h)->buffered_bytes, 0);
	harness_finish(&h);
}

/* The successor's payload counts in the cap: past it the new connection
 * is refused (counted once), its bytes freed, and nothing starts when the
 * old session ends. */
static void test_successor_counted_in_the_cap(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(41003);
	struct harness_segment syn = { .window = 64240 };

	start(&h);
	h.cfg.max_buffered_bytes = OLD_LEN + 100;
	harness_start(&h);
	old_request_and_fin(&h, &k);
	harness_client(&h, &k, TCPF_SYN, NISN, 0, &syn);
	harness_client_data(&h, &k, NISN + 1, NOACK, NULL, 60);
	assert_int_equal(harness_counters(&h)->buffered_bytes, OLD_LEN + 60);
	harness_client_data(&h, &k, NISN + 61, NOACK, NULL, 60);	/* passes the cap */
	assert_int_equal(harness_counters(&h)->buffered_bytes, OLD_LEN);
	assert_int_equal(harness_counters(&h)->sessions_refused_memory, 1);
	harness_client_data(&h, &k, NISN + 121, NOACK, NULL, 10);	/* still refused */
	assert_int_equal(harness_counters(&h)->sessions_refused_memory, 1);
	assert_int_equal(harness_counters(&h)->buffered_bytes, OLD_LEN);
	harness_expect_none(&h);

	target_closes_old(&h, &k);
	harness_advance(&h, h.cfg.linger_ms);
	harness_expect_none(&h);
	assert_int_equal(h.end_count, 1);
	assert_int_equal(harness_counters(&h)->sessions_started, 1);
	assert_int_equal(harness_counters(&h)->buffered_bytes, 0);
	harness_finish(&h);
}

/* Aborting the old session drops its successor (nothing is sent for it);
 * a successor still pending when the engine is freed is freed too (ASan). */
static void test_successor_freed_on_abort_and_engine_free(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(41004), k2 = harness_key_v4(41005);

	start(&h);
	harness_start(&h);
	old_request_and_fin(&h, &k);
	capture_connection(&h, &k, NISN, NOACK, NEW_REQUEST, NEW_LEN);
	engine_abort(h.engine, h.now, &k, "test abort");
	expect_reset(&h);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->buffered_bytes, 0);
	assert_int_equal(harness_counters(&h)->sessions_active, 0);

	old_request_and_fin(&h, &k2);
	capture_connection(&h, &k2, NISN, NOACK, NEW_REQUEST, NEW_LEN);
	assert_int_equal(harness_counters(&h)->buffered_bytes, OLD_LEN + NEW_LEN);
	harness_finish(&h);	/* engine_free with the successor pending */
}

/* The old session gives up (the target silent: its retransmission limit;
 * -t waits while it retransmits): the successor still starts, right after
 * the old one's RST, and delivers its request. */
static void test_successor_starts_after_old_times_out(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(41006);
	const struct packet *p;

	start(&h);
	h.cfg.session_timeout_ms = 5000;
	h.cfg.data_retries = 3;	/* 0.2 + 0.4 + 0.8 + 1.6 s */
	harness_start(&h);
	old_request_and_fin(&h, &k);
	capture_connection(&h, &k, NISN, NOACK, NEW_REQUEST, NEW_LEN);
	while (!h.end_count && h.now < 1000000 + 10000)
		harness_advance(&h, 100);	/* less than the new SYN's RTO */
	assert_int_equal(h.end_count, 1);
	assert_int_equal(h.ends[0].reason, END_RETRANSMIT_LIMIT);
	/* Retransmissions of the old request and FIN, then its RST, then the SYN. */
	while ((p = &h.sent[h.sent_read].p)->flags != (TCPF_RST | TCPF_ACK)) {
		assert_true(p->seq != NISN);
		harness_next(&h);
	}
	expect_reset(&h);
	harness_expect(&h, TCPF_SYN, NISN, 0, 0);
	replay_connection(&h, &k, NISN, NTISN, NEW_REQUEST, NEW_LEN);
	assert_int_equal(harness_counters(&h)->bytes_replayed, NEW_LEN);
	harness_finish(&h);
}

/* While the successor waits, the old connection's own late packets (a
 * retransmitted FIN, its SYN again) still go to the old session, not to
 * the successor. */
static void test_old_late_packets_stay_with_old(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(41007);

	start(&h);
	harness_start(&h);
	old_request_and_fin(&h, &k);
	capture_connection(&h, &k, NISN, NOACK, NEW_REQUEST, NEW_LEN);
	harness_client_plain(&h, &k, TCPF_FIN | TCPF_ACK, CISN + 1 + OLD_LEN, OACK);
	harness_client_plain(&h, &k, TCPF_SYN, CISN, 0);
	harness_expect_none(&h);
	assert_int_equal(h.end_count, 0);
	assert_int_equal(harness_counters(&h)->buffered_bytes, OLD_LEN + NEW_LEN);
	target_closes_old(&h, &k);
	harness_expect(&h, TCPF_SYN, NISN, 0, 0);
	replay_connection(&h, &k, NISN, NTISN, NEW_REQUEST, NEW_LEN);
	assert_int_equal(harness_counters(&h)->ended[END_SUPERSEDED], 0);
	harness_finish(&h);
}

/* A new connection whose SYN the capture missed: its data lies far from
 * the old connection's stream (a random ISN), so it is a new connection,
 * not the old one's data. */
#define FISN (CISN + 0x40000000u)

static void missed_syn_data(struct harness *h, const struct session_key *k)
{
	harness_client_data(h, k, FISN + 1, NOACK, NEW_REQUEST, NEW_LEN);
}

/* The target answers the made-up SYN (seq - 1) and gets the request. */
static void replay_missed_start(struct harness *h, const struct session_key *k)
{
	const struct packet *p;

	harness_expect(h, TCPF_SYN, FISN, 0, 0);
	harness_expect_none(h);
	harness_target_plain(h, k, TCPF_SYN | TCPF_ACK, NTISN, FISN + 1, 65535, 0);
	harness_expect(h, TCPF_ACK, FISN + 1, NTISN + 1, 0);
	p = harness_next(h);
	assert_int_equal(p->flags & ~TCPF_FIN, TCPF_ACK | TCPF_PSH);	/* the FIN may ride on it */
	assert_int_equal(p->seq, FISN + 1);
	assert_int_equal(p->payload_len, NEW_LEN);
	assert_memory_equal(p->payload, NEW_REQUEST, NEW_LEN);
}

/* The old connection's data all delivered, its end never captured: it
 * gives way (RST) and the new one starts from its data. */
static void test_missed_syn_reuse_supersedes_done_session(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(41008);

	start(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_client_data(&h, &k, CISN + 1, OACK, OLD_REQUEST, OLD_LEN);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, OLD_LEN);
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, CISN + 1 + OLD_LEN, 65535, 0);
	missed_syn_data(&h, &k);
	assert_int_equal(h.end_count, 1);
	assert_int_equal(h.ends[0].reason, END_SUPERSEDED);
	harness_expect(&h, TCPF_RST | TCPF_ACK, CISN + 1 + OLD_LEN, TISN + 1, 0);
	replay_missed_start(&h, &k);
	assert_int_equal(harness_counters(&h)->sessions_missed_reuse, 1);
	assert_int_equal(harness_counters(&h)->sessions_missed_start, 1);
	assert_int_equal(harness_counters(&h)->sessions_started, 2);
	/* Its next packets, near its own seq, stay with it. */
	harness_client_plain(&h, &k, TCPF_FIN | TCPF_ACK, FISN + 1 + NEW_LEN, NOACK);
	harness_expect(&h, TCPF_FIN | TCPF_ACK, FISN + 1 + NEW_LEN, NTISN + 1, 0);
	assert_int_equal(h.end_count, 1);
	assert_int_equal(harness_counters(&h)->sessions_missed_reuse, 1);
	harness_finish(&h);
}

/* The old connection still replaying (its FIN not yet acknowledged): the
 * new one's data waits as the successor, and starts when the old ends. */
static void test_missed_syn_reuse_waits_as_successor(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(41009);

	start(&h);
	harness_start(&h);
	old_request_and_fin(&h, &k);
	missed_syn_data(&h, &k);
	harness_client_plain(&h, &k, TCPF_FIN | TCPF_ACK, FISN + 1 + NEW_LEN, NOACK);
	harness_expect_none(&h);
	assert_int_equal(h.end_count, 0);
	assert_int_equal(harness_counters(&h)->sessions_queued_successor, 1);
	assert_int_equal(harness_counters(&h)->buffered_bytes, OLD_LEN + NEW_LEN);
	target_closes_old(&h, &k);
	assert_int_equal(h.end_count, 1);
	assert_int_equal(h.ends[0].reason, END_CLOSED);
	replay_missed_start(&h, &k);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->sessions_missed_reuse, 1);
	assert_int_equal(harness_counters(&h)->ended[END_SUPERSEDED], 0);
	harness_finish(&h);
}

/* Data near the old stream (a retransmission, data captured out of order)
 * is the old connection's; a far RST with nothing waiting is ignored. */
static void test_near_data_stays_far_rst_ignored(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(41010);

	start(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_client_data(&h, &k, CISN + 1, OACK, OLD_REQUEST, OLD_LEN);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, OLD_LEN);
	harness_client_data(&h, &k, CISN + 1, OACK, OLD_REQUEST, OLD_LEN);
	harness_client_plain(&h, &k, TCPF_RST | TCPF_ACK, FISN + 1, NOACK);
	harness_expect_none(&h);
	assert_int_equal(h.end_count, 0);
	/* Ahead by less than the distance: held past a hole, not a new
	 * connection. */
	harness_client_data(&h, &k, CISN + 1 + OLD_LEN + (1u << 20), OACK, NEW_REQUEST, NEW_LEN);
	harness_expect_none(&h);
	assert_int_equal(h.end_count, 0);
	assert_int_equal(harness_counters(&h)->sessions_missed_reuse, 0);
	assert_int_equal(harness_counters(&h)->sessions_started, 1);
	harness_finish(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reuse_waits_for_the_old_session),
		cmocka_unit_test(test_reuse_during_linger_starts_at_once),
		cmocka_unit_test(test_second_reuse_while_one_waits),
		cmocka_unit_test(test_successor_counted_in_the_cap),
		cmocka_unit_test(test_successor_freed_on_abort_and_engine_free),
		cmocka_unit_test(test_successor_starts_after_old_times_out),
		cmocka_unit_test(test_old_late_packets_stay_with_old),
		cmocka_unit_test(test_missed_syn_reuse_supersedes_done_session),
		cmocka_unit_test(test_missed_syn_reuse_waits_as_successor),
		cmocka_unit_test(test_near_data_stays_far_rst_ignored),
	};

	return cmocka_run_group_tests_name("copy_engine_reuse", tests, NULL, NULL);
}
