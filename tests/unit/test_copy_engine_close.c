/*
 * How sessions end: FIN from either side and half-close in either order,
 * the linger that re-acks a retransmitted FIN, RST both ways, the -t and -k
 * timeouts (each ending with an RST to the target), and engine_abort.
 */
#include "engine_harness.h"

#define CISN HARNESS_CLIENT_ISN
#define TISN HARNESS_TARGET_ISN
#define OACK (HARNESS_ONLINE_ISN + 1)

static void data(struct harness *h, const struct session_key *k, uint32_t off, size_t len)
{
	harness_client_data(h, k, CISN + 1 + off, OACK, NULL, len);
}

static void client_fin(struct harness *h, const struct session_key *k, uint32_t off, uint32_t ack)
{
	harness_client_plain(h, k, TCPF_FIN | TCPF_ACK, CISN + 1 + off, ack);
}

static void test_client_closes_first_then_target_with_linger(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(43000);
	uint64_t linger_start;

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	data(&h, &k, 0, 100);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 100);
	client_fin(&h, &k, 100, OACK);
	harness_expect(&h, TCPF_FIN | TCPF_ACK, CISN + 101, TISN + 1, 0);
	client_fin(&h, &k, 100, OACK);	/* captured twice: nothing more */
	harness_expect_none(&h);
	/* The target acks data and FIN; half-closed, it may still send. */
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, CISN + 102, 65535, 0);
	harness_target_plain(&h, &k, TCPF_ACK | TCPF_PSH, TISN + 1, CISN + 102, 65535, 300);
	harness_expect(&h, TCPF_ACK, CISN + 102, TISN + 301, 0);
	harness_target_plain(&h, &k, TCPF_FIN | TCPF_ACK, TISN + 301, CISN + 102, 65535, 0);
	harness_expect(&h, TCPF_ACK, CISN + 102, TISN + 302, 0);
	assert_int_equal(h.end_count, 0);
	linger_start = h.now;
	/* Our ack was lost: the target's FIN again, acked again, linger restarts. */
	harness_advance(&h, 1500);
	harness_target_plain(&h, &k, TCPF_FIN | TCPF_ACK, TISN + 301, CISN + 102, 65535, 0);
	harness_expect(&h, TCPF_ACK, CISN + 102, TISN + 302, 0);
	harness_advance(&h, 1999);
	assert_int_equal(h.end_count, 0);
	harness_advance(&h, 1);
	assert_int_equal(h.end_count, 1);
	assert_int_equal(h.ends[0].reason, END_CLOSED);
	assert_int_equal(h.ends[0].at - linger_start, 3500);
	harness_expect_none(&h);	/* a clean close sends no RST */
	assert_int_equal(harness_counters(&h)->sessions_completed, 1);
	assert_int_equal(harness_counters(&h)->ended[END_CLOSED], 1);
	assert_int_equal(harness_counters(&h)->bytes_replayed, 100);
	assert_int_equal(h.routes_deleted, 1);
	harness_finish(&h);
}

static void test_target_closes_first(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(43001);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	data(&h, &k, 0, 50);
	harness_drain(&h);
	harness_target_plain(&h, &k, TCPF_ACK | TCPF_PSH, TISN + 1, CISN + 51, 65535, 200);
	harness_expect(&h, TCPF_ACK, CISN + 51, TISN + 201, 0);
	harness_target_plain(&h, &k, TCPF_FIN | TCPF_ACK, TISN + 201, CISN + 51, 65535, 0);
	harness_expect(&h, TCPF_ACK, CISN + 51, TISN + 202, 0);
	/* Half-closed by the target: the client's data still goes. */
	harness_client_data(&h, &k, CISN + 51, OACK, NULL, 20);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 51, TISN + 202, 20);
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 202, CISN + 71, 65535, 0);
	/* The client's FIN acks the online server's answer and FIN: the
	 * target answered too (its FIN), so it goes at once. */
	client_fin(&h, &k, 70, OACK + 201);
	harness_expect(&h, TCPF_FIN | TCPF_ACK, CISN + 71, TISN + 202, 0);
	assert_int_equal(h.end_count, 0);
	/* The ack of our FIN ends it at once: the target is in TIME_WAIT. */
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 202, CISN + 72, 65535, 0);
	assert_int_equal(harness_last_end(&h)->reason, END_CLOSED);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->bytes_replayed, 70);
	harness_finish(&h);
}

/* The target closed first and had all our data; our FIN, sent late (or its
 * acks lost), is answered by an RST: the target forgot the connection after
 * its FIN_WAIT_2. A close, not a failure. An RST while our data is still
 * unacknowledged is a failure, whatever the state. */
static void test_target_rst_after_both_fins(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(43014), k2 = harness_key_v4(43015);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	data(&h, &k, 0, 50);
	harness_drain(&h);
	harness_target_plain(&h, &k, TCPF_ACK | TCPF_PSH | TCPF_FIN, TISN + 1, CISN + 51, 65535, 200);
	harness_expect(&h, TCPF_ACK, CISN + 51, TISN + 202, 0);
	client_fin(&h, &k, 50, OACK + 201);
	harness_expect(&h, TCPF_FIN | TCPF_ACK, CISN + 51, TISN + 202, 0);
	harness_advance(&h, 200);
	harness_expect(&h, TCPF_FIN | TCPF_ACK, CISN + 51, TISN + 202, 0);
	harness_target_plain(&h, &k, TCPF_RST, TISN + 202, 0, 0, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_last_end(&h)->reason, END_CLOSED);
	assert_int_equal(harness_counters(&h)->sessions_failed, 0);

	harness_establish(&h, &k2, 65535);
	data(&h, &k2, 0, 50);
	harness_drain(&h);
	harness_target_plain(&h, &k2, TCPF_ACK | TCPF_FIN, TISN + 1, CISN + 1, 65535, 0);
	harness_drain(&h);
	client_fin(&h, &k2, 50, OACK);
	harness_drain(&h);
	harness_target_plain(&h, &k2, TCPF_RST, TISN + 2, 0, 0, 0);
	assert_int_equal(harness_last_end(&h)->reason, END_TARGET_RESET);
	assert_non_null(strstr(harness_last_end(&h)->detail, "LAST_ACK; client bytes sent 52, acked 1"));
	assert_int_equal(harness_counters(&h)->sessions_failed, 1);
	harness_finish(&h);
}

static void test_fin_rides_on_last_data(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(43002);
	struct harness_segment seg = { .payload_len = 10 };

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_client(&h, &k, TCPF_FIN | TCPF_ACK | TCPF_PSH, CISN + 1, OACK, &seg);
	harness_expect(&h, TCPF_FIN | TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 10);
	/* Lost: the retransmission carries data and FIN again. */
	harness_advance(&h, 200);
	harness_expect(&h, TCPF_FIN | TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 10);
	harness_target_plain(&h, &k, TCPF_ACK | TCPF_FIN, TISN + 1, CISN + 12, 65535, 0);
	harness_expect(&h, TCPF_ACK, CISN + 12, TISN + 2, 0);
	assert_int_equal(harness_counters(&h)->bytes_replayed, 10);
	harness_advance(&h, h.cfg.linger_ms);
	assert_int_equal(harness_last_end(&h)->reason, END_CLOSED);
	harness_finish(&h);
}

/* Both FINs cross: ours unacknowledged when the target's arrives. */
static void test_simultaneous_close(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(43003);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	client_fin(&h, &k, 0, OACK);
	harness_expect(&h, TCPF_FIN | TCPF_ACK, CISN + 1, TISN + 1, 0);
	harness_target_plain(&h, &k, TCPF_FIN | TCPF_ACK, TISN + 1, CISN + 1, 65535, 0);
	harness_expect(&h, TCPF_ACK, CISN + 2, TISN + 2, 0);
	/* Our FIN lost: resent. */
	harness_advance(&h, 200);
	harness_expect(&h, TCPF_FIN | TCPF_ACK, CISN + 1, TISN + 2, 0);
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 2, CISN + 2, 65535, 0);
	assert_int_equal(h.end_count, 0);	/* lingering */
	harness_advance(&h, h.cfg.linger_ms);
	assert_int_equal(harness_last_end(&h)->reason, END_CLOSED);
	harness_finish(&h);
}

/* The client connects and closes before the target has answered. */
static void test_fin_before_handshake_completes(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(43004);

	harness_init(&h);
	harness_start(&h);
	harness_client_plain(&h, &k, TCPF_SYN, CISN, 0);
	harness_client_plain(&h, &k, TCPF_ACK, CISN + 1, OACK);
	client_fin(&h, &k, 0, OACK);
	harness_expect(&h, TCPF_SYN, CISN, 0, 0);
	harness_expect_none(&h);
	harness_target_plain(&h, &k, TCPF_SYN | TCPF_ACK, TISN, CISN + 1, 65535, 0);
	harness_expect(&h, TCPF_ACK, CISN + 1, TISN + 1, 0);
	harness_expect(&h, TCPF_FIN | TCPF_ACK, CISN + 1, TISN + 1, 0);
	harness_finish(&h);
}

static void test_client_rst_replayed_after_its_data(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(43005);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	data(&h, &k, 0, 100);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 100);
	/* The RST waits until the target has the data the online server got. */
	harness_client_plain(&h, &k, TCPF_RST | TCPF_ACK, CISN + 101, OACK);
	harness_expect_none(&h);
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, CISN + 101, 65535, 0);
	harness_expect(&h, TCPF_RST | TCPF_ACK, CISN + 101, TISN + 1, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_last_end(&h)->reason, END_CLOSED);
	assert_string_equal(harness_last_end(&h)->detail, "client reset the connection");
	harness_finish(&h);
}

/* The client half-closed right after its request (its FIN went at once),
 * then reset: the RST still waits until the target has the request. Found
 * in loss-high-rate at the end of a wrk run: the request was lost on the
 * way, the RST went with the FIN, and the request never arrived. */
static void test_client_rst_after_fin_waits_for_data(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(43015);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	data(&h, &k, 0, 61);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 61);
	harness_client_plain(&h, &k, TCPF_FIN | TCPF_ACK, CISN + 62, OACK);
	harness_expect(&h, TCPF_FIN | TCPF_ACK, CISN + 62, TISN + 1, 0);
	harness_client_plain(&h, &k, TCPF_RST | TCPF_ACK, CISN + 63, OACK);
	harness_expect_none(&h);
	/* The request was lost: the target acks nothing, we retransmit. */
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, CISN + 1, 65535, 0);
	while (!harness_unread(&h)) {
		assert_true(h.now < 10000000);
		harness_advance(&h, 10);
	}
	harness_expect(&h, TCPF_ACK | TCPF_PSH | TCPF_FIN, CISN + 1, TISN + 1, 61);
	harness_expect_none(&h);
	assert_int_equal(h.end_count, 0);
	/* It arrives: now the RST. */
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, CISN + 63, 65535, 0);
	harness_expect(&h, TCPF_RST | TCPF_ACK, CISN + 63, TISN + 1, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_last_end(&h)->reason, END_CLOSED);
	assert_string_equal(harness_last_end(&h)->detail, "client reset the connection");
	harness_finish(&h);
}

static void test_client_rst_at_once_when_nothing_pending(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(43006);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_client_plain(&h, &k, TCPF_RST, CISN + 1, 0);
	harness_expect(&h, TCPF_RST | TCPF_ACK, CISN + 1, TISN + 1, 0);
	assert_int_equal(harness_last_end(&h)->reason, END_CLOSED);
	assert_int_equal(harness_counters(&h)->sessions_completed, 1);
	harness_finish(&h);
}

static void test_target_rst_ends_session(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(43007);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	/* Far outside our window: an old RST, not believed. */
	harness_target_plain(&h, &k, TCPF_RST, TISN + 1 + 0x40000000u, 0, 0, 0);
	assert_int_equal(h.end_count, 0);
	harness_target_plain(&h, &k, TCPF_RST, TISN + 1, 0, 0, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_last_end(&h)->reason, END_TARGET_RESET);
	assert_non_null(strstr(harness_last_end(&h)->detail, "ESTABLISHED"));
	assert_int_equal(harness_counters(&h)->ended[END_TARGET_RESET], 1);
	assert_int_equal(harness_counters(&h)->sessions_failed, 1);
	harness_finish(&h);
}

static void test_session_timeout_resets_target(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(43008);
	uint64_t last;

	harness_init(&h);
	h.cfg.session_timeout_ms = 10000;
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	/* Activity from either side pushes the timeout back. */
	harness_advance(&h, 6000);
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, CISN + 1, 65535, 0);
	harness_advance(&h, 6000);
	harness_client_plain(&h, &k, TCPF_ACK, CISN + 1, OACK);
	last = h.now;
	harness_advance(&h, 9999);
	assert_int_equal(h.end_count, 0);
	harness_advance(&h, 1);
	harness_expect(&h, TCPF_RST | TCPF_ACK, CISN + 1, TISN + 1, 0);
	assert_int_equal(harness_last_end(&h)->reason, END_SESSION_TIMEOUT);
	assert_int_equal(harness_last_end(&h)->at - last, 10000);
	assert_int_equal(harness_counters(&h)->ended[END_SESSION_TIMEOUT], 1);
	harness_finish(&h);
}

/* -k: the client silent, whatever the target does. */
static void test_keepalive_timeout_resets_target(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(43009);
	uint64_t last_client;

	harness_init(&h);
	h.cfg.keepalive_timeout_ms = 5000;
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	last_client = h.now;
	for (int i = 0; i < 4; i++) {
		harness_advance(&h, 1000);
		harness_target_plain(&h, &k, TCPF_ACK | TCPF_PSH, TISN + 1 + i * 10, CISN + 1, 65535, 10);
	}
	harness_drain(&h);
	harness_advance(&h, 999);
	assert_int_equal(h.end_count, 0);
	harness_advance(&h, 1);
	harness_expect(&h, TCPF_RST | TCPF_ACK, CISN + 1, TISN + 41, 0);
	assert_int_equal(harness_last_end(&h)->reason, END_KEEPALIVE_TIMEOUT);
	assert_int_equal(harness_last_end(&h)->at - last_client, 5000);
	/* Once the client has closed, its silence is expected: -k waits. */
	{
		struct session_key k2 = harness_key_v4(43013);

		harness_establish(&h, &k2, 65535);
		client_fin(&h, &k2, 0, OACK);
		harness_target_plain(&h, &k2, TCPF_ACK, TISN + 1, CISN + 2, 65535, 0);
		harness_advance(&h, 20000);
		assert_int_equal(h.end_count, 1);
		harness_advance(&h, h.cfg.session_timeout_ms);
		assert_int_equal(harness_last_end(&h)->reason, END_SESSION_TIMEOUT);
	}
	harness_finish(&h);
}

struct described {
	unsigned calls;
	char where[256];
};

static void note_described(void *ctx, const struct session_key *k, const char *where)
{
	struct described *d = ctx;

	(void)k;
	d->calls++;
	snprintf(d->where, sizeof(d->where), "%s", where);
}

/* SIGUSR2's list: where each live session stands, at most max of them. */
static void test_describe_sessions(void **state)
{
	struct harness h;
	struct session_key k1 = harness_key_v4(43016), k2 = harness_key_v4(43017);
	struct described d = { 0 };

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k1, 65535);
	data(&h, &k1, 0, 40);
	harness_drain(&h);
	harness_client_plain(&h, &k2, TCPF_SYN, CISN, 0);
	assert_int_equal(engine_describe_sessions(h.engine, 1, note_described, &d), 2);
	assert_int_equal(d.calls, 1);
	d.calls = 0;
	assert_int_equal(engine_describe_sessions(h.engine, 10, note_described, &d), 2);
	assert_int_equal(d.calls, 2);
	harness_target_plain(&h, &k1, TCPF_ACK, TISN + 1, CISN + 41, 65535, 0);
	engine_abort(h.engine, h.now, &k2, "test abort");
	harness_drain(&h);
	d.calls = 0;
	assert_int_equal(engine_describe_sessions(h.engine, 10, note_described, &d), 1);
	assert_non_null(strstr(d.where, "ESTABLISHED; client bytes sent 41, acked 41, "
			       "captured 41; target bytes 1; flags "));
	assert_non_null(strstr(d.where, "; retries 0; restarts 0; timers none; successor none"));
	harness_finish(&h);
}

static void test_abort_and_abort_all(void **state)
{
	struct harness h;
	struct session_key k1 = harness_key_v4(43010), k2 = harness_key_v4(43011);
	struct session_key k3 = harness_key_v4(43012);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k1, 65535);
	harness_establish(&h, &k2, 65535);
	harness_client_plain(&h, &k3, TCPF_SYN, CISN, 0);
	harness_drain(&h);
	engine_abort(h.engine, h.now, &k1, "intercept 198.18.3.1 went away");
	harness_expect(&h, TCPF_RST | TCPF_ACK, CISN + 1, TISN + 1, 0);
	assert_int_equal(harness_last_end(&h)->reason, END_ABORTED);
	assert_string_equal(harness_last_end(&h)->detail, "intercept 198.18.3.1 went away");
	/* Aborting what does not exist does nothing. */
	engine_abort(h.engine, h.now, &k1, "again");
	assert_int_equal(h.end_count, 1);
	engine_abort_all(h.engine, h.now, "shutting down");
	assert_int_equal(h.end_count, 3);
	/* One RST each: the established session's and the SYN_SENT one's. */
	assert_int_equal(harness_unread(&h), 2);
	assert_int_equal(harness_counters(&h)->ended[END_ABORTED], 3);
	assert_int_equal(harness_counters(&h)->sessions_active, 0);
	assert_int_equal(h.routes_deleted, 3);
	assert_int_equal(engine_next_deadline(h.engine), UINT64_MAX);
	harness_finish(&h);
}

/* linger_ms = 0: no TIME_WAIT, but our ack of the target's FIN still goes
 * before the session ends, whether the target's FIN comes after its ack of
 * ours (FIN_WAIT_2) or with it. */
static void test_no_linger_acks_target_fin_first(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(43010), k2 = harness_key_v4(43011);

	harness_init(&h);
	h.cfg.linger_ms = 0;
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	data(&h, &k, 0, 100);
	client_fin(&h, &k, 100, OACK);
	harness_drain(&h);
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, CISN + 102, 65535, 0);
	harness_target_plain(&h, &k, TCPF_FIN | TCPF_ACK, TISN + 1, CISN + 102, 65535, 0);
	harness_expect(&h, TCPF_ACK, CISN + 102, TISN + 2, 0);
	harness_expect_none(&h);
	assert_int_equal(h.end_count, 1);
	assert_int_equal(h.ends[0].reason, END_CLOSED);

	harness_establish(&h, &k2, 65535);
	client_fin(&h, &k2, 0, OACK);
	harness_expect(&h, TCPF_FIN | TCPF_ACK, CISN + 1, TISN + 1, 0);
	harness_target_plain(&h, &k2, TCPF_FIN | TCPF_ACK, TISN + 1, CISN + 2, 65535, 0);
	harness_expect(&h, TCPF_ACK, CISN + 2, TISN + 2, 0);
	harness_expect_none(&h);
	assert_int_equal(h.end_count, 2);
	assert_int_equal(h.ends[1].reason, END_CLOSED);
	harness_finish(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_closes_first_then_target_with_linger),
		cmocka_unit_test(test_no_linger_acks_target_fin_first),
		cmocka_unit_test(test_target_closes_first),
		cmocka_unit_test(test_fin_rides_on_last_data),
		cmocka_unit_test(test_simultaneous_close),
		cmocka_unit_test(test_fin_before_handshake_completes),
		cmocka_unit_test(test_client_rst_replayed_after_its_data),
		cmocka_unit_test(test_client_rst_after_fin_waits_for_data),
		cmocka_unit_test(test_client_rst_at_once_when_nothing_pending),
		cmocka_unit_test(test_target_rst_ends_session),
		cmocka_unit_test(test_target_rst_after_both_fins),
		cmocka_unit_test(test_session_timeout_resets_target),
		cmocka_unit_test(test_keepalive_timeout_resets_target),
		cmocka_unit_test(test_abort_and_abort_all),
		cmocka_unit_test(test_describe_sessions),
	};

	return cmocka_run_group_tests_name("copy_engine_close", tests, NULL, NULL);
}
