/*
 * IPv6 sessions take the same paths as IPv4: keys, packets built to the
 * target's v6 address, the v6 default MSS, a missed start, and a close.
 */
#include "engine_harness.h"

#define CISN HARNESS_CLIENT_ISN
#define TISN HARNESS_TARGET_ISN
#define OACK (HARNESS_ONLINE_ISN + 1)

/* 2001:2::/48 is IPv6's benchmarking range, as 198.18.0.0/15 is IPv4's. */
static struct session_key key_v6(uint16_t port)
{
	return harness_key("2001:2::10", port, "2001:2::1:1", 8080);
}

static void test_ipv6_session_end_to_end(void **state)
{
	struct harness h;
	struct session_key k = key_v6(46000);
	struct harness_segment syn = { .window = 64800,
				       .opt = { .has_mss = true, .mss = 1440, .has_wscale = true,
						.wscale = 7, .has_timestamp = true, .tsval = 100 } };
	/* No MSS option from the target: IPv6's default of 1220 applies. */
	struct harness_segment synack = { .window = 65535,
					  .opt = { .has_wscale = true, .wscale = 7,
						   .has_timestamp = true, .tsval = 200 } };
	struct harness_segment data = { .payload_len = 3000,
					 .opt = { .has_timestamp = true, .tsval = 101 } };
	const struct packet *p;
	size_t total = 0;

	harness_init(&h);
	harness_start(&h);
	harness_client(&h, &k, TCPF_SYN, CISN, 0, &syn);
	p = harness_expect(&h, TCPF_SYN, CISN, 0, 0);
	assert_int_equal(p->family, AF_INET6);
	assert_int_equal(p->opt.mss, 1440);
	harness_target(&h, &k, TCPF_SYN | TCPF_ACK, TISN, CISN + 1, &synack);
	p = harness_expect(&h, TCPF_ACK, CISN + 1, TISN + 1, 0);
	assert_int_equal(p->opt.tsecr, 200);
	harness_client(&h, &k, TCPF_ACK | TCPF_PSH, CISN + 1, OACK, &data);
	while (harness_unread(&h)) {
		p = harness_next(&h);
		assert_int_equal(p->family, AF_INET6);
		assert_true(p->payload_len <= 1220 - 12);
		assert_int_equal(p->opt.tsval, 101);
		total += p->payload_len;
	}
	assert_int_equal(total, 3000);
	harness_target_plain(&h, &k, TCPF_ACK | TCPF_PSH, TISN + 1, CISN + 3001, 1000, 500);
	harness_expect(&h, TCPF_ACK, CISN + 3001, TISN + 501, 0);
	harness_client_plain(&h, &k, TCPF_FIN | TCPF_ACK, CISN + 3001, OACK);
	harness_expect(&h, TCPF_FIN | TCPF_ACK, CISN + 3001, TISN + 501, 0);
	harness_target_plain(&h, &k, TCPF_FIN | TCPF_ACK, TISN + 501, CISN + 3002, 1000, 0);
	harness_expect(&h, TCPF_ACK, CISN + 3002, TISN + 502, 0);
	harness_advance(&h, h.cfg.linger_ms);
	assert_int_equal(harness_last_end(&h)->reason, END_CLOSED);
	assert_int_equal(harness_last_end(&h)->key.client.family, AF_INET6);
	assert_int_equal(harness_counters(&h)->bytes_replayed, 3000);
	harness_finish(&h);
}

/* v4 and v6 sessions with the same ports are different sessions, and a
 * summary finds its own. */
static void test_ipv6_and_ipv4_keys_apart(void **state)
{
	struct harness h;
	struct session_key k6 = key_v6(46001), k4 = harness_key_v4(46001);
	const struct packet *p;

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k4, 65535);
	harness_client_data(&h, &k6, 777, OACK, NULL, 10);	/* a missed start, v6 */
	p = harness_expect(&h, TCPF_SYN, 776, 0, 0);
	assert_int_equal(p->opt.mss, 1440);
	assert_int_equal(harness_counters(&h)->sessions_active, 2);
	harness_target_plain(&h, &k6, TCPF_RST | TCPF_ACK, 0, 777, 0, 0);
	assert_int_equal(harness_last_end(&h)->reason, END_TARGET_RESET);
	assert_int_equal(harness_last_end(&h)->key.client.family, AF_INET6);
	assert_int_equal(harness_counters(&h)->sessions_active, 1);
	harness_finish(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv6_session_end_to_end),
		cmocka_unit_test(test_ipv6_and_ipv4_keys_apart),
	};

	return cmocka_run_group_tests_name("copy_engine_ipv6", tests, NULL, NULL);
}
