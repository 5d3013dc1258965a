/*
 * test_packet_build.c — packet_build(): it rebuilds a real captured SYN byte
 * for byte, what it builds parses back to the spec with valid checksums
 * (random specs, fixed seed), and it refuses what it cannot build.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lib/net/checksum.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"
#include "lib/net/packet_build.h"
#include "lib/net/tcp_options.h"
#include "packet_random.h"
#include "packet_samples.h"

static uint8_t big[PACKET_HEADERS_MAX + 65536];

static void spec_of_real_syn(struct packet_spec *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(dp_addr_parse("198.18.0.2", &s->src), 0);
	assert_int_equal(dp_addr_parse("198.18.0.1", &s->dst), 0);
	s->sport = 46932;
	s->dport = 8080;
	s->seq = 579763841u;
	s->flags = TCPF_SYN;
	s->window = 65495;
	s->ip_id = 1161;
	s->opt = (struct tcp_options){
		.has_mss = true, .mss = 65495, .sack_permitted = true,
		.has_timestamp = true, .tsval = 3594335225u,
		.has_wscale = true, .wscale = 10,
	};
}

/* Linux's SYN, checksums included, is what packet_build makes of its spec. */
static void test_rebuilds_real_syn(void **state)
{
	struct packet_spec s;
	uint8_t buf[100];

	spec_of_real_syn(&s);
	assert_int_equal(packet_build(buf, sizeof(buf), &s), sizeof(sample_syn_v4));
	assert_memory_equal(buf, sample_syn_v4, sizeof(sample_syn_v4));

	/* And over IPv6, the hand-made sample (checksum checked by tcpdump). */
	assert_int_equal(dp_addr_parse("2001:2::2", &s.src), 0);
	assert_int_equal(dp_addr_parse("2001:2::1", &s.dst), 0);
	assert_int_equal(packet_build(buf, sizeof(buf), &s), sizeof(sample_syn_v6));
	assert_memory_equal(buf, sample_syn_v6, sizeof(sample_syn_v6));
}

static void assert_round_trip(const uint8_t *buf, size_t len, const struct packet_spec *s)
{
	struct packet p;
	const char *why = "(not set)";

	if (packet_parse(buf, len, 0, &p, &why))
		fail_msg("built packet refused: %s", why);
	assert_int_equal(p.family, s->src.family);
	assert_true(dp_addr_equal(&p.src, &s->src));
	assert_true(dp_addr_equal(&p.dst, &s->dst));
	assert_int_equal(p.ttl, s->ttl ? s->ttl : 64);
	if (p.family == AF_INET) {
		assert_int_equal(p.ip_id, s->ip_id);
		assert_int_equal(checksum_ipv4_header(buf, 20), 0);
	}
	assert_false(p.fragment);
	assert_int_equal(p.sport, s->sport);
	assert_int_equal(p.dport, s->dport);
	assert_int_equal(p.seq, s->seq);
	assert_int_equal(p.ack, s->ack);
	assert_int_equal(p.flags, s->flags);
	assert_int_equal(p.window, s->window);
	assert_int_equal(p.opt.has_mss, s->opt.has_mss);
	assert_int_equal(p.opt.has_wscale, s->opt.has_wscale);
	assert_int_equal(p.opt.sack_permitted, s->opt.sack_permitted);
	assert_int_equal(p.opt.has_timestamp, s->opt.has_timestamp);
	if (s->opt.has_mss)
		assert_int_equal(p.opt.mss, s->opt.mss);
	if (s->opt.has_wscale)
		assert_int_equal(p.opt.wscale, s->opt.wscale);
	if (s->opt.has_timestamp) {
		assert_int_equal(p.opt.tsval, s->opt.tsval);
		assert_int_equal(p.opt.tsecr, s->opt.tsecr);
	}
	assert_int_equal(p.tcp_header_len, 20 + packet_tcp_options_size(&s->opt));
	assert_int_equal(p.payload_len, s->payload_len);
	if (s->payload_len)
		assert_memory_equal(p.payload, s->payload, s->payload_len);
	assert_int_equal(checksum_tcp(&p.src, &p.dst, p.tcp, len - p.ip_header_len), 0);
}

static void test_round_trip_random(void **state)
{
	struct test_rng rng = { PACKET_RANDOM_SEED + 10 };
	static uint8_t payload[3000], buf[PACKET_HEADERS_MAX + 3000];

	for (int round = 0; round < 3000; round++) {
		struct packet_spec s;
		size_t len;

		rng_spec(&rng, &s, payload, sizeof(payload));
		len = packet_build(buf, sizeof(buf), &s);
		assert_int_equal(len, (s.src.family == AF_INET ? 20 : 40) +
				 20 + packet_tcp_options_size(&s.opt) + s.payload_len);
		assert_round_trip(buf, len, &s);
	}
}

static void test_cap_too_small(void **state)
{
	struct packet_spec s;
	uint8_t buf[200];
	static const uint8_t payload[] = "hello";

	spec_of_real_syn(&s);
	s.payload = payload;
	s.payload_len = 5;
	for (size_t cap = 0; cap < 65; cap++) {
		memset(buf, 0x5a, sizeof(buf));
		assert_int_equal(packet_build(buf, cap, &s), 0);
		assert_int_equal(buf[0], 0x5a);	/* nothing written */
	}
	assert_int_equal(packet_build(buf, 65, &s), 65);
}

static void test_inconsistent_specs(void **state)
{
	struct packet_spec s;
	uint8_t buf[200];

	spec_of_real_syn(&s);
	assert_int_equal(dp_addr_parse("2001:2::1", &s.dst), 0);
	assert_int_equal(packet_build(buf, sizeof(buf), &s), 0);	/* v4 to v6 */

	spec_of_real_syn(&s);
	memset(&s.src, 0, sizeof(s.src));
	memset(&s.dst, 0, sizeof(s.dst));
	assert_int_equal(packet_build(buf, sizeof(buf), &s), 0);	/* no family */

	spec_of_real_syn(&s);
	s.payload_len = 10;	/* and no payload pointer */
	assert_int_equal(packet_build(buf, sizeof(buf), &s), 0);
}

/* The largest payload each family's length field can describe, and one
 * byte more. */
static void test_payload_limits(void **state)
{
	static uint8_t payload[65536];
	struct packet_spec s;
	size_t max;

	spec_of_real_syn(&s);		/* 40-byte TCP header */
	s.payload = payload;
	max = 65535 - 20 - 40;
	s.payload_len = max + 1;
	assert_int_equal(packet_build(big, sizeof(big), &s), 0);
	s.payload_len = max;
	assert_int_equal(packet_build(big, sizeof(big), &s), 65535);
	assert_round_trip(big, 65535, &s);

	assert_int_equal(dp_addr_parse("2001:2::2", &s.src), 0);
	assert_int_equal(dp_addr_parse("2001:2::1", &s.dst), 0);
	max = 65535 - 40;
	s.payload_len = max + 1;
	assert_int_equal(packet_build(big, sizeof(big), &s), 0);
	s.payload_len = max;
	assert_int_equal(packet_build(big, sizeof(big), &s), 40 + 65535);
	assert_round_trip(big, 40 + 65535, &s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rebuilds_real_syn),
		cmocka_unit_test(test_round_trip_random),
		cmocka_unit_test(test_cap_too_small),
		cmocka_unit_test(test_inconsistent_specs),
		cmocka_unit_test(test_payload_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
