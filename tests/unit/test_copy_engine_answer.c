/*
 * Pacing by the answer (session_pacing.h): a client packet goes no earlier
 * than the target's answer to what came before is as long as the online
 * answer the client had received (its ack), each answer counted alone. A FIN after
 * a 4 MiB download waits for the whole download; so does the next request
 * of a kept-alive connection; a half-close right after the request goes at
 * once; a shorter answer releases the packet after the quiet period, which
 * scales with the session's measured RTT (longer for the FIN); a longer one
 * is acknowledged to its end, its surplus does not let later requests go
 * early, and the FIN waits for its end; the target's FIN ends its answer.
 */
#include "engine_harness.h"

#define CISN HARNESS_CLIENT_ISN
#define TISN HARNESS_TARGET_ISN
#define OACK (HARNESS_ONLINE_ISN + 1)
#define CHUNK 60000u

static void request(struct harness *h, const struct session_key *k, uint32_t off, size_t len,
		    uint32_t ack)
{
	harness_client_data(h, k, CISN + 1 + off, ack, NULL, len);
}

static void client_fin(struct harness *h, const struct session_key *k, uint32_t off, uint32_t ack)
{
	harness_client_plain(h, k, TCPF_FIN | TCPF_ACK, CISN + 1 + off, ack);
}

/* The target sends its answer bytes [from, to) in CHUNK-sized segments,
 * acking our data up to off; each is acknowledged at once, to its end,
 * with the client's window open, and nothing else goes. */
static void target_stream(struct harness *h, const struct session_key *k, uint32_t from,
			  uint32_t to, uint32_t off)
{
	while (from < to) {
		uint32_t len = to - from < CHUNK ? to - from : CHUNK;
		const struct packet *p;

		harness_target_plain(h, k, TCPF_ACK, TISN + 1 + from, CISN + 1 + off, 65535, len);
		from += len;
		p = harness_expect(h, TCPF_ACK, CISN + 1 + off, TISN + 1 + from, 0);
		assert_true(p->window > 0);
		harness_expect_none(h);
	}
}

/* Bring a session up with every round trip to the target rtt ms long: the
 * SYN-ACK comes rtt ms after our SYN. */
static void establish_with_rtt(struct harness *h, const struct session_key *k, uint64_t rtt)
{
	struct harness_segment syn = { .window = 64240, .opt = { .has_mss = true, .mss = 1460 } };
	struct harness_segment synack = { .window = 65535, .opt = { .has_mss = true, .mss = 1460 } };

	harness_client(h, k, TCPF_SYN, CISN, 0, &syn);
	harness_expect(h, TCPF_SYN, CISN, 0, 0);
	harness_advance(h, rtt);
	harness_target(h, k, TCPF_SYN | TCPF_ACK, TISN, CISN + 1, &synack);
	harness_expect(h, TCPF_ACK, CISN + 1, TISN + 1, 0);
	harness_client_plain(h, k, TCPF_ACK, CISN + 1, OACK);
	harness_expect_none(h);
}

/* After a quiet period the engine acks all it saw again (an ack of ours
 * may have been lost: the target then waits with the rest of its answer)
 * and asks the target whether it sent more (a keep-alive probe: one byte
 * again, one behind ours, our data acked up to off, its ack the seen bytes); the
 * target answers with its snd_nxt, sent bytes from its ISN. */
static void expect_probe(struct harness *h, uint32_t off, uint32_t seen)
{
	harness_expect(h, TCPF_ACK, CISN + 1 + off, TISN + 1 + seen, 0);
	harness_expect(h, TCPF_ACK, CISN + off, TISN + 1 + seen, 1);
}

static void answer_probe(struct harness *h, const struct session_key *k, uint32_t off,
			 uint32_t seen, uint32_t sent)
{
	expect_probe(h, off, seen);
	harness_expect_none(h);
	harness_target_plain(h, k, TCPF_ACK, TISN + 1 + sent, CISN + 1 + off, 65535, 0);
}

/* The download: the online client closed only after the whole
 * 4 MiB; a FIN sent earlier makes nginx stop sending. */
static void test_fin_after_4mib_answer_waits_for_it(void **state)
{
	const uint32_t size = 4u << 20;
	struct harness h;
	struct session_key k = harness_key_v4(45000);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	request(&h, &k, 0, 80, OACK);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 80);
	/* Captured at once (the online side is ahead of the replay). */
	client_fin(&h, &k, 80, OACK + size);
	harness_expect_none(&h);
	target_stream(&h, &k, 0, size - 1, 80);
	assert_int_equal(harness_counters(&h)->pace_waiting, 1);
	/* The last byte: the FIN goes with its ack. */
	harness_target_plain(&h, &k, TCPF_ACK | TCPF_PSH, TISN + size, CISN + 81, 65535, 1);
	harness_expect(&h, TCPF_FIN | TCPF_ACK, CISN + 81, TISN + 1 + size, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->pace_waits, 1);
	assert_int_equal(harness_counters(&h)->pace_waiting, 0);
	assert_int_equal(harness_counters(&h)->pace_timeouts, 0);
	harness_finish(&h);
}

/* Kept alive: the next request was sent after a 1 MiB answer. */
static void test_next_request_after_long_answer_waits(void **state)
{
	const uint32_t size = 1u << 20;
	struct harness h;
	struct session_key k = harness_key_v4(45001);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	request(&h, &k, 0, 80, OACK);
	harness_drain(&h);
	request(&h, &k, 80, 90, OACK + size);
	harness_expect_none(&h);
	target_stream(&h, &k, 0, 700000, 80);
	/* A pause in mid-answer shorter than the quiet period (200 ms here)
	 * is not the answer's end. */
	harness_advance(&h, 150);
	harness_expect_none(&h);
	target_stream(&h, &k, 700000, size - 1, 80);
	harness_target_plain(&h, &k, TCPF_ACK | TCPF_PSH, TISN + size, CISN + 81, 65535, 1);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 81, TISN + 1 + size, 90);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->pace_timeouts, 0);
	assert_true(harness_counters(&h)->pace_wait_ms >= 150);
	harness_finish(&h);
}

/* Pipelined: sent before the answers came (acks not covering them), so
 * nothing waits, even while a long answer is on its way, and even when
 * that answer is longer than the online one. */
static void test_pipelined_requests_not_delayed(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(45002);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	request(&h, &k, 0, 30, OACK);
	request(&h, &k, 30, 30, OACK);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 30);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 31, TISN + 1, 30);
	target_stream(&h, &k, 0, 1000, 60);
	/* The third was sent having read both answers (1000 bytes): the
	 * target sent as much, so it goes at once; the fourth, pipelined
	 * behind it, too. */
	request(&h, &k, 60, 30, OACK + 1000);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 61, TISN + 1001, 30);
	request(&h, &k, 90, 30, OACK + 1000);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 91, TISN + 1001, 30);
	harness_expect_none(&h);
	/* Their answers stream, longer than online's (the client will say
	 * what it read with its next request); more pipelined requests,
	 * sent before it read any of them, still go at once. */
	target_stream(&h, &k, 1000, 200000, 120);
	request(&h, &k, 120, 30, OACK + 1000);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 121, TISN + 200001, 30);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->pace_waits, 0);
	harness_finish(&h);
}

/* The target's answer is shorter than the online one: the FIN goes once
 * the target sent nothing new for the quiet period (here the floor,
 * pace_quiet_min_ms: the harness's round trips take no time), counted
 * from its last byte. It costs that one quiet period: the next answer is
 * counted alone, from where the short one ended (once the target acked
 * the request that was let go). */
static void test_shorter_answer_goes_after_quiet_period(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(45003);
	uint64_t last_byte;

	harness_init(&h);
	h.cfg.pace_quiet_min_ms = 300;
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	request(&h, &k, 0, 80, OACK);
	harness_drain(&h);
	request(&h, &k, 80, 80, OACK + 5000);
	target_stream(&h, &k, 0, 2000, 80);
	harness_advance(&h, 100);
	target_stream(&h, &k, 2000, 3000, 80);
	last_byte = h.now;
	harness_advance(&h, 299);
	harness_expect_none(&h);
	harness_advance(&h, 1);
	answer_probe(&h, &k, 80, 3000, 3000);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 81, TISN + 3001, 80);
	assert_int_equal(harness_counters(&h)->pace_probes, 1);
	assert_int_equal(h.now - last_byte, 300);
	assert_int_equal(harness_counters(&h)->pace_timeouts, 1);
	assert_int_equal(harness_counters(&h)->pace_wait_ms, 400);
	/* The next one read another 4000 online; the target's 4000 are
	 * the same answer (its total stays 2000 short of the online one's). */
	request(&h, &k, 160, 80, OACK + 9000);
	target_stream(&h, &k, 3000, 6999, 160);
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 7000, CISN + 161, 65535, 1);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 161, TISN + 7001, 80);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->pace_timeouts, 1);
	harness_finish(&h);
}

/* Longer than the online answer: acknowledged to its end (target_stream
 * checks each ack and the window); the next request goes once the target
 * has sent the online answer's length (it is then only pipelined behind
 * the rest). The surplus is not carried over: the answer after it is
 * counted alone, from where the request went, so the third request waits
 * for all of its own answer, and the rest of the longer one counts in it
 * (counting from the ISNs, the target's 300000 bytes would have let it go
 * at once, and every later one too). */
static void test_longer_answer_surplus_not_carried_over(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(45004);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	request(&h, &k, 0, 80, OACK);
	harness_drain(&h);
	request(&h, &k, 80, 80, OACK + 100000);
	target_stream(&h, &k, 0, 60000, 80);
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 60001, CISN + 81, 65535, 60000);
	/* 120000 of 100000: the request goes with the ack of all of it. */
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 81, TISN + 120001, 80);
	harness_expect_none(&h);
	/* The rest of the longer answer, then the second answer. */
	target_stream(&h, &k, 120000, 300000, 160);
	/* The third read 500 more online: 180000 already came since the
	 * second went, more than 500, so it goes at once, pipelined... */
	request(&h, &k, 160, 80, OACK + 100500);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 161, TISN + 300001, 80);
	/* ...but the fourth, 500 more again, waits for 500 bytes of the
	 * answer after the third: nothing carried over. */
	request(&h, &k, 240, 80, OACK + 101000);
	harness_expect_none(&h);
	target_stream(&h, &k, 300000, 300499, 240);
	harness_target_plain(&h, &k, TCPF_ACK | TCPF_PSH, TISN + 300500, CISN + 241, 65535, 1);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 241, TISN + 300501, 80);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->pace_timeouts, 0);
	assert_int_equal(h.end_count, 0);
	harness_finish(&h);
}

/* The FIN after a longer answer waits for it to stop, with the FIN's
 * longer quiet period: sent as soon as the target had sent the online
 * answer's length, it would cut the rest of the target's answer. */
static void test_fin_after_longer_answer_waits_for_its_end(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(45009);
	uint64_t last_byte;

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	request(&h, &k, 0, 80, OACK);
	harness_drain(&h);
	client_fin(&h, &k, 80, OACK + 100000);
	target_stream(&h, &k, 0, 300000, 80);
	last_byte = h.now;
	harness_advance(&h, h.cfg.pace_timeout_ms - 1);
	harness_expect_none(&h);
	harness_advance(&h, 1);
	answer_probe(&h, &k, 80, 300000, 300000);
	harness_expect(&h, TCPF_FIN | TCPF_ACK, CISN + 81, TISN + 300001, 0);
	harness_expect_none(&h);
	assert_int_equal(h.now - last_byte, h.cfg.pace_timeout_ms);
	assert_int_equal(harness_counters(&h)->pace_timeouts, 1);
	harness_finish(&h);
}

/* A client that half-closes right after its request (its FIN acks nothing
 * of the answer): the FIN goes at once, as the online client's did. */
static void test_half_close_after_request_goes_at_once(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(45005);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	request(&h, &k, 0, 80, OACK);
	client_fin(&h, &k, 80, OACK);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 80);
	harness_expect(&h, TCPF_FIN | TCPF_ACK, CISN + 81, TISN + 1, 0);
	harness_expect_none(&h);
	/* And the answer that follows is still taken in and acknowledged. */
	target_stream(&h, &k, 0, 200000, 81);
	assert_int_equal(harness_counters(&h)->pace_waits, 0);
	harness_finish(&h);
}

/* The target closes after a short answer (HTTP/1.0, an error): its FIN
 * ends the answer, no quiet period. */
static void test_target_fin_ends_the_answer(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(45006);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	request(&h, &k, 0, 80, OACK);
	harness_drain(&h);
	client_fin(&h, &k, 80, OACK + 50000);
	target_stream(&h, &k, 0, 300, 80);
	harness_target_plain(&h, &k, TCPF_ACK | TCPF_FIN, TISN + 301, CISN + 81, 65535, 0);
	harness_expect(&h, TCPF_FIN | TCPF_ACK, CISN + 81, TISN + 302, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->pace_timeouts, 0);
	harness_finish(&h);
}

/* The quiet period let a request go while the target had only paused:
 * what it sends before it acknowledges that request is still the first
 * answer, not credited to the next one, so the FIN after the second answer
 * waits for all of it (it went as soon as the paused answer resumed when
 * the shortfall was credited at once). */
static void test_pause_mid_answer_not_credited(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(45007);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	request(&h, &k, 0, 80, OACK);
	harness_drain(&h);
	request(&h, &k, 80, 80, OACK + 5000);
	client_fin(&h, &k, 160, OACK + 6000);
	target_stream(&h, &k, 0, 3000, 80);
	harness_advance(&h, h.cfg.pace_quiet_min_ms);
	answer_probe(&h, &k, 80, 3000, 3000);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 81, TISN + 3001, 80);
	assert_int_equal(harness_counters(&h)->pace_timeouts, 1);
	/* The first answer goes on, acking only the first request. */
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 3001, CISN + 81, 65535, 2000);
	harness_expect(&h, TCPF_ACK, CISN + 161, TISN + 5001, 0);
	harness_expect_none(&h);
	/* Then the second answer, acking the second request. */
	target_stream(&h, &k, 5000, 5999, 160);
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 6000, CISN + 161, 65535, 1);
	harness_expect(&h, TCPF_FIN | TCPF_ACK, CISN + 161, TISN + 6001, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->pace_timeouts, 1);
	harness_finish(&h);
}

/* Silence in the summaries may be a stall on our side: the probe's answer
 * says the target sent more than we saw, so the packet waits; when the
 * rest arrives, the quiet period counts again; and a target that answers
 * no probe at all gets the packet after 3 of them. */
static void test_probe_finds_more_on_its_way(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(45008);
	const struct packet *p;

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k, 65535);
	request(&h, &k, 0, 80, OACK);
	harness_drain(&h);
	request(&h, &k, 80, 80, OACK + 5000);
	target_stream(&h, &k, 0, 3000, 80);
	harness_advance(&h, h.cfg.pace_quiet_min_ms);
	/* The target's snd_nxt is 4000: 1000 bytes still on their way. */
	answer_probe(&h, &k, 80, 3000, 4000);
	harness_expect_none(&h);
	harness_advance(&h, h.cfg.pace_quiet_min_ms - 1);
	harness_expect_none(&h);
	target_stream(&h, &k, 3000, 4000, 80);
	harness_advance(&h, h.cfg.pace_quiet_min_ms - 1);
	harness_expect_none(&h);
	harness_advance(&h, 1);
	/* Asked again; no answer to 3 probes: the request goes. */
	for (int i = 0; i < 3; i++) {
		expect_probe(&h, 80, 4000);
		harness_expect_none(&h);
		/* Each awaited a quiet period (or an RTO when longer): the
		 * probe is a byte again, which Linux answers without the
		 * rate limit on answers to out-of-window segments. */
		harness_advance(&h, h.cfg.pace_quiet_min_ms - 1);
		harness_expect_none(&h);
		harness_advance(&h, 1);
	}
	p = harness_next(&h);
	assert_int_equal(p->seq, CISN + 81);
	assert_int_equal(p->payload_len, 80);
	assert_int_equal(harness_counters(&h)->pace_probes, 4);
	assert_int_equal(harness_counters(&h)->pace_timeouts, 1);
	harness_finish(&h);
}

/* The quiet period is pace_quiet_rtts smoothed round trips when that is
 * more than the floor: with every round trip taking rtt ms, the request
 * that followed a short answer goes 8 * rtt after the target's last byte
 * (fin: the client's FIN instead, whose floor is pace_timeout_ms). */
static uint64_t quiet_for_rtt(uint64_t rtt, uint16_t port, bool fin)
{
	struct harness h;
	struct session_key k = harness_key_v4(port);
	uint64_t last_byte, quiet;

	harness_init(&h);
	harness_start(&h);
	establish_with_rtt(&h, &k, rtt);
	request(&h, &k, 0, 80, OACK);
	harness_drain(&h);
	if (fin)
		client_fin(&h, &k, 80, OACK + 9000);
	else
		request(&h, &k, 80, 80, OACK + 9000);
	harness_advance(&h, rtt);
	target_stream(&h, &k, 0, 1000, 80);
	last_byte = h.now;
	while (!harness_unread(&h)) {
		assert_true(h.now - last_byte < 60000);
		harness_advance(&h, 1);
	}
	answer_probe(&h, &k, 80, 1000, 1000);
	if (fin)
		harness_expect(&h, TCPF_FIN | TCPF_ACK, CISN + 81, TISN + 1001, 0);
	else
		harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 81, TISN + 1001, 80);
	quiet = h.now - last_byte;
	assert_int_equal(harness_counters(&h)->pace_timeouts, 1);
	harness_finish(&h);
	return quiet;
}

static void test_quiet_period_scales_with_rtt(void **state)
{
	struct engine_config defaults;

	engine_config_defaults(&defaults);
	assert_int_equal(defaults.pace_quiet_rtts, 8);
	/* Below the floor: the floor. */
	assert_int_equal(quiet_for_rtt(1, 45010, false), defaults.pace_quiet_min_ms);
	assert_int_equal(quiet_for_rtt(50, 45011, false), 400);
	assert_int_equal(quiet_for_rtt(100, 45012, false), 800);
	assert_int_equal(quiet_for_rtt(300, 45013, false), 2400);
}

/* The client's FIN after a short answer waits at least pace_timeout_ms of
 * the target's silence: a FIN that comes early cuts the answer. */
static void test_fin_quiet_period_is_longer(void **state)
{
	struct engine_config defaults;

	engine_config_defaults(&defaults);
	assert_int_equal(quiet_for_rtt(1, 45020, true), defaults.pace_timeout_ms);
	assert_int_equal(quiet_for_rtt(100, 45021, true), defaults.pace_timeout_ms);
	assert_int_equal(quiet_for_rtt(300, 45022, true), 2400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fin_after_4mib_answer_waits_for_it),
		cmocka_unit_test(test_next_request_after_long_answer_waits),
		cmocka_unit_test(test_pipelined_requests_not_delayed),
		cmocka_unit_test(test_shorter_answer_goes_after_quiet_period),
		cmocka_unit_test(test_longer_answer_surplus_not_carried_over),
		cmocka_unit_test(test_fin_after_longer_answer_waits_for_its_end),
		cmocka_unit_test(test_half_close_after_request_goes_at_once),
		cmocka_unit_test(test_target_fin_ends_the_answer),
		cmocka_unit_test(test_pause_mid_answer_not_credited),
		cmocka_unit_test(test_probe_finds_more_on_its_way),
		cmocka_unit_test(test_quiet_period_scales_with_rtt),
		cmocka_unit_test(test_fin_quiet_period_is_longer),
	};

	return cmocka_run_group_tests_name("copy_engine_answer", tests, NULL, NULL);
}
