/*
 * The client's data on its way to the target: every byte once and in order
 * whatever the capture saw (retransmissions, overlaps, reordering, GRO
 * super-packets), held until the handshake completes, cut to the MSS, kept
 * within the target's window (zero window: probes), and the target's own
 * data acknowledged.
 */
#include "engine_harness.h"

#define CISN HARNESS_CLIENT_ISN
#define TISN HARNESS_TARGET_ISN
#define OACK (HARNESS_ONLINE_ISN + 1)

static void test_retransmissions_overlaps_reordering_give_each_byte_once(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(41000);
	uint8_t got[200] = { 0 };
	size_t high = 0;
	uint32_t last_end = 0;

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_client_bytes(&h, &k, 0, 10);
	harness_client_bytes(&h, &k, 0, 10);	/* retransmitted */
	harness_client_bytes(&h, &k, 30, 50);	/* ahead of a gap: held */
	harness_client_bytes(&h, &k, 60, 80);	/* another gap */
	harness_client_bytes(&h, &k, 5, 35);	/* overlaps both sides, fills the first gap */
	harness_client_bytes(&h, &k, 40, 70);	/* overlaps, fills the second */
	harness_client_bytes(&h, &k, 20, 25);	/* old */
	harness_client_bytes(&h, &k, 80, 100);
	/* Every segment sent is new: seqs only go up, never overlap. */
	for (size_t i = h.sent_read; i < h.sent_count; i++) {
		const struct packet *p = &h.sent[i].p;

		assert_int_equal(p->seq - (CISN + 1), last_end);
		last_end += p->payload_len;
	}
	harness_collect(&h, got, sizeof(got), &high);
	assert_int_equal(high, 100);
	assert_memory_equal(got, harness_stream(), 100);
	assert_int_equal(harness_counters(&h)->buffered_bytes, 100);
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, CISN + 101, 65535, 0);
	assert_int_equal(harness_counters(&h)->buffered_bytes, 0);
	assert_int_equal(harness_counters(&h)->bytes_replayed, 100);
	harness_expect_none(&h);
	harness_finish(&h);
}

static void test_data_held_until_handshake(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(41001);
	const struct packet *p;

	harness_init(&h);
	harness_start(&h);
	harness_client_plain(&h, &k, TCPF_SYN, CISN, 0);
	harness_expect(&h, TCPF_SYN, CISN, 0, 0);
	harness_client_plain(&h, &k, TCPF_ACK, CISN + 1, OACK);
	harness_client_bytes(&h, &k, 0, 300);
	harness_expect_none(&h);
	harness_target_plain(&h, &k, TCPF_SYN | TCPF_ACK, TISN, CISN + 1, 65535, 0);
	harness_expect(&h, TCPF_ACK, CISN + 1, TISN + 1, 0);
	p = harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 300);
	assert_memory_equal(p->payload, harness_stream(), 300);
	harness_finish(&h);
}

/* A 64 KB GRO super-packet, cut to segments of the effective MSS. */
static void split_super_packet(uint16_t clamp, bool timestamps, uint32_t expected_mss)
{
	struct harness h;
	struct session_key k = harness_key_v4(41002);
	struct harness_segment syn = { .window = 64240,
				       .opt = { .has_mss = true, .mss = 1460, .has_wscale = true,
						.wscale = 7, .has_timestamp = timestamps, .tsval = 5 } };
	struct harness_segment synack = { .window = 65535,
					  .opt = { .has_mss = true, .mss = 1460, .has_wscale = true,
						   .wscale = 7, .has_timestamp = timestamps,
						   .tsval = 6 } };
	struct harness_segment data = { .payload = harness_stream(), .payload_len = 64000,
					.opt = { .has_timestamp = timestamps, .tsval = 10 } };
	static uint8_t got[64000];
	size_t high = 0, segments = 0;

	harness_init(&h);
	h.cfg.mss_clamp = clamp;
	harness_start(&h);
	harness_client(&h, &k, TCPF_SYN, CISN, 0, &syn);
	harness_target(&h, &k, TCPF_SYN | TCPF_ACK, TISN, CISN + 1, &synack);
	harness_drain(&h);
	harness_client(&h, &k, TCPF_ACK | TCPF_PSH, CISN + 1, OACK, &data);
	for (size_t i = h.sent_read; i < h.sent_count; i++) {
		const struct packet *p = &h.sent[i].p;
		bool last = i + 1 == h.sent_count;

		if (last)
			assert_true(p->payload_len <= expected_mss);
		else
			assert_int_equal(p->payload_len, expected_mss);
		/* IP total length: headers plus one MSS at most, never 64 KB. */
		assert_true(p->ip_total_len <= 20 + 20 + (timestamps ? 12 : 0) + expected_mss);
		assert_int_equal(p->opt.has_timestamp, timestamps);
	}
	segments = harness_collect(&h, got, sizeof(got), &high);
	assert_int_equal(high, 64000);
	assert_int_equal(segments, (64000 + expected_mss - 1) / expected_mss);
	assert_memory_equal(got, harness_stream(), 64000);
	harness_finish(&h);
}

static void test_gro_super_packet_split_to_mss(void **state)
{
	split_super_packet(0, false, 1460);
}

static void test_gro_super_packet_split_to_mss_with_timestamps(void **state)
{
	split_super_packet(0, true, 1448);
}

static void test_gro_super_packet_split_to_clamp(void **state)
{
	split_super_packet(1000, false, 1000);
}

static void test_target_window_limits_data(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(41003);
	uint8_t got[10000];
	size_t high = 0;

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 3000);
	harness_client_bytes(&h, &k, 0, 10000);
	harness_collect(&h, got, sizeof(got), &high);
	assert_int_equal(high, 3000);	/* 1460 + 1460 + 80 */
	/* Acks of part of it slide the window on. */
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, CISN + 1 + 1460, 3000, 0);
	harness_collect(&h, got, sizeof(got), &high);
	assert_int_equal(high, 4460);
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, CISN + 1 + 4460, 8000, 0);
	harness_collect(&h, got, sizeof(got), &high);
	assert_int_equal(high, 10000);
	assert_memory_equal(got, harness_stream(), 10000);
	harness_finish(&h);
}

/* The target's window scale applies to every window after its SYN-ACK. */
static void test_target_window_scaled(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(41004);
	struct harness_segment syn = { .window = 64240, .opt = { .has_mss = true, .mss = 1460,
								 .has_wscale = true, .wscale = 7 } };
	struct harness_segment synack = { .window = 65535, .opt = { .has_mss = true, .mss = 1460,
								    .has_wscale = true, .wscale = 2 } };
	uint8_t got[20000];
	size_t high = 0;

	harness_init(&h);
	harness_start(&h);
	harness_client(&h, &k, TCPF_SYN, CISN, 0, &syn);
	harness_target(&h, &k, TCPF_SYN | TCPF_ACK, TISN, CISN + 1, &synack);
	harness_drain(&h);
	harness_client_plain(&h, &k, TCPF_ACK, CISN + 1, OACK);
	/* Window 1000 << 2 = 4000 bytes. */
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, CISN + 1, 1000, 0);
	harness_client_bytes(&h, &k, 0, 20000);
	harness_collect(&h, got, sizeof(got), &high);
	assert_int_equal(high, 4000);
	harness_finish(&h);
}

static void test_zero_window_probed_with_backoff_until_open(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(41005);
	uint64_t last_probe;
	const struct packet *p;

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_client_bytes(&h, &k, 0, 100);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 100);
	/* Acked, window closed: nothing in flight, so probes must reopen it. */
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, CISN + 101, 0, 0);
	harness_client_bytes(&h, &k, 100, 200);
	harness_expect_none(&h);
	last_probe = h.now;
	/* The RTT measured is 0 ms: the RTO is rto_min, then backs off. */
	for (uint64_t gap = 200; gap <= 1600; gap *= 2) {
		harness_advance(&h, gap - 1);
		harness_expect_none(&h);
		harness_advance(&h, 1);
		/* A probe: an ACK with an old seq, no data. */
		p = harness_expect(&h, TCPF_ACK, CISN + 100, TISN + 1, 0);
		assert_int_equal(h.now - last_probe, gap);
		last_probe = h.now;
		/* The target answers each probe: window still closed. */
		harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, CISN + 101, 0, 0);
		harness_expect_none(&h);
	}
	(void)p;
	assert_int_equal(harness_counters(&h)->persist_probes, 4);
	/* It opens: the data goes at once. */
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, CISN + 101, 65535, 0);
	p = harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 101, TISN + 1, 100);
	assert_memory_equal(p->payload, harness_stream() + 100, 100);
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, CISN + 201, 65535, 0);
	assert_int_equal(h.end_count, 0);
	/* Nothing more due but the idle timeout. */
	assert_int_equal(engine_next_deadline(h.engine), h.now + h.cfg.session_timeout_ms);
	harness_finish(&h);
}

static void test_target_data_acknowledged(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(41006);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_target_plain(&h, &k, TCPF_ACK | TCPF_PSH, TISN + 1, CISN + 1, 65535, 1000);
	harness_expect(&h, TCPF_ACK, CISN + 1, TISN + 1001, 0);
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1001, CISN + 1, 65535, 1448);
	harness_expect(&h, TCPF_ACK, CISN + 1, TISN + 2449, 0);
	/* A summary lost on the way: we still ack the highest end seen (we
	 * cannot get the missing bytes, and the target must not stall). */
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 4000, CISN + 1, 65535, 500);
	harness_expect(&h, TCPF_ACK, CISN + 1, TISN + 4500, 0);
	/* An old segment again (the target retransmitted): re-acked, the ack
	 * never goes back. */
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 1, CISN + 1, 65535, 1000);
	harness_expect(&h, TCPF_ACK, CISN + 1, TISN + 4500, 0);
	/* A pure ACK from the target needs no answer. */
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 4500, CISN + 1, 65535, 0);
	harness_expect_none(&h);
	/* A summary from far outside the sequence space is ignored. */
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 0x70000000u, CISN + 1, 65535, 10);
	harness_expect_none(&h);
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 4500, CISN + 1, 65535, 10);
	harness_expect(&h, TCPF_ACK, CISN + 1, TISN + 4510, 0);
	harness_finish(&h);
}

/* A summary for no session, and a captured packet cut short by snaplen. */
static void test_unmatched_and_truncated(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(41007);
	struct session_key other = harness_key_v4(41008);
	uint8_t buf[200];
	struct packet p;
	struct harness_segment seg = { .payload = harness_stream(), .payload_len = 100 };

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_target_plain(&h, &other, TCPF_ACK, 1, 1, 100, 0);
	assert_int_equal(harness_counters(&h)->summaries_unmatched, 1);
	harness_build(buf, sizeof(buf), &p, &k.client, k.client_port, &k.target, k.target_port,
		      TCPF_ACK, CISN + 1, OACK, &seg);
	p.payload_present = 40;	/* as a capture with a short snaplen leaves it */
	engine_client_packet(h.engine, h.now, &k, &p);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->client_truncated, 1);
	assert_int_equal(harness_counters(&h)->buffered_bytes, 0);
	harness_finish(&h);
}

/* What we send carries the client's latest tsval, never an older one
 * (the target's PAWS would drop it), the target's latest tsval as tsecr,
 * and the client's latest non-zero window. */
static void test_timestamps_and_window_follow_the_client(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(41009);
	struct harness_segment syn = { .window = 64240,
				       .opt = { .has_mss = true, .mss = 1460, .has_wscale = true,
						.wscale = 7, .has_timestamp = true, .tsval = 1000 } };
	struct harness_segment synack = { .window = 65535,
					  .opt = { .has_mss = true, .mss = 1460, .has_wscale = true,
						   .wscale = 7, .has_timestamp = true, .tsval = 50 } };
	struct harness_segment seg = { .window = 600, .payload_len = 10,
				       .opt = { .has_timestamp = true, .tsval = 1010 } };
	const struct packet *p;

	harness_init(&h);
	harness_start(&h);
	harness_client(&h, &k, TCPF_SYN, CISN, 0, &syn);
	harness_target(&h, &k, TCPF_SYN | TCPF_ACK, TISN, CISN + 1, &synack);
	harness_drain(&h);
	harness_client(&h, &k, TCPF_ACK | TCPF_PSH, CISN + 1, OACK, &seg);
	p = harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 10);
	assert_int_equal(p->opt.tsval, 1010);
	assert_int_equal(p->opt.tsecr, 50);
	assert_int_equal(p->window, 600);
	/* A retransmission captured late carries an older tsval: ours stays. */
	seg.opt.tsval = 1005;
	seg.window = 0;		/* a zero window is not replayed: we are a sink */
	seg.zero_window = true;
	harness_client(&h, &k, TCPF_ACK | TCPF_PSH, CISN + 1, OACK, &seg);
	synack.opt.tsval = 60;
	synack.payload_len = 5;
	harness_target(&h, &k, TCPF_ACK | TCPF_PSH, TISN + 1, CISN + 11, &synack);
	p = harness_expect(&h, TCPF_ACK, CISN + 11, TISN + 6, 0);
	assert_int_equal(p->opt.tsval, 1010);
	assert_int_equal(p->opt.tsecr, 60);
	assert_int_equal(p->window, 600);
	/* Forward in steps under 2^31, across 2^32: each counts as newer. */
	seg.opt.tsval = 1010 + 0x7fff0000u;
	harness_client(&h, &k, TCPF_ACK, CISN + 11, OACK, &(struct harness_segment){
		.window = 700, .opt = seg.opt });
	seg.opt.tsval = 1010 + 0xfff00000u;
	harness_client(&h, &k, TCPF_ACK, CISN + 11, OACK, &(struct harness_segment){
		.window = 700, .opt = seg.opt });
	seg.opt.tsval = 5;
	harness_client(&h, &k, TCPF_ACK, CISN + 11, OACK, &(struct harness_segment){
		.window = 700, .opt = seg.opt });
	harness_target(&h, &k, TCPF_ACK | TCPF_PSH, TISN + 6, CISN + 11, &synack);
	p = harness_expect(&h, TCPF_ACK, CISN + 11, TISN + 11, 0);
	assert_int_equal(p->opt.tsval, 5);
	assert_int_equal(p->window, 700);
	harness_finish(&h);
}

/* Bytes the capture lost: the segments past the hole cannot go, and the
 * session ends gap_timeout_ms after the in-order data last moved. */
static void test_capture_gap_ends_session(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(41010);
	char expected[80];

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	harness_client_bytes(&h, &k, 0, 10);
	harness_client_bytes(&h, &k, 20, 30);	/* 10..20 missing */
	harness_advance(&h, 4000);
	harness_client_bytes(&h, &k, 10, 20);	/* it came after all */
	harness_client_bytes(&h, &k, 40, 50);	/* a new hole: 30..40 */
	harness_advance(&h, 4999);
	harness_client_bytes(&h, &k, 50, 60);	/* past the hole: no progress */
	assert_int_equal(h.end_count, 0);
	harness_drain(&h);
	harness_advance(&h, 1);
	harness_expect(&h, TCPF_RST | TCPF_ACK, CISN + 31, TISN + 1, 0);
	assert_int_equal(harness_last_end(&h)->reason, END_CAPTURE_GAP);
	snprintf(expected, sizeof(expected), "client bytes from seq %u never captured", CISN + 31);
	assert_non_null(strstr(harness_last_end(&h)->detail, expected));
	assert_int_equal(harness_counters(&h)->buffered_bytes, 0);
	harness_finish(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retransmissions_overlaps_reordering_give_each_byte_once),
		cmocka_unit_test(test_data_held_until_handshake),
		cmocka_unit_test(test_gro_super_packet_split_to_mss),
		cmocka_unit_test(test_gro_super_packet_split_to_mss_with_timestamps),
		cmocka_unit_test(test_gro_super_packet_split_to_clamp),
		cmocka_unit_test(test_target_window_limits_data),
		cmocka_unit_test(test_target_window_scaled),
		cmocka_unit_test(test_zero_window_probed_with_backoff_until_open),
		cmocka_unit_test(test_target_data_acknowledged),
		cmocka_unit_test(test_unmatched_and_truncated),
		cmocka_unit_test(test_timestamps_and_window_follow_the_client),
		cmocka_unit_test(test_capture_gap_ends_session),
	};

	return cmocka_run_group_tests_name("copy_engine_data", tests, NULL, NULL);
}
