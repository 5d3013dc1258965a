/*
 * test_checksum.c — the Internet checksum against RFC 1071's worked example,
 * real captured packets, and a plain byte-by-byte reference; RFC 1624
 * incremental updates against a full recompute on random packets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "lib/net/checksum.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"
#include "lib/net/packet_build.h"
#include "packet_random.h"
#include "packet_samples.h"

/* The reference: big-endian 16-bit words, summed one at a time, folded at
 * the end; returns the checksum as a number (0x220d is bytes 22 0d). */
static uint16_t reference_checksum(const uint8_t *p, size_t len, uint32_t start)
{
	uint64_t sum = start;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len % 2)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The field as checksum_fold() returns it, read as a big-endian number. */
static uint16_t field_value(uint16_t stored)
{
	uint8_t b[2];

	memcpy(b, &stored, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void test_rfc1071_example(void **state)
{
	/* RFC 1071 section 3: these bytes sum to ddf2, checksum 220d. */
	static const uint8_t bytes[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	assert_int_equal(field_value(checksum_fold(checksum_partial(bytes, sizeof(bytes), 0))),
			 0x220d);
}

static void test_ipv4_header_of_real_packets(void **state)
{
	const uint8_t *packets[] = { sample_syn_v4, sample_synack_v4, sample_data_v4,
				     sample_fin_v4, sample_truncated_v4 };

	for (size_t i = 0; i < sizeof(packets) / sizeof(packets[0]); i++) {
		uint8_t hdr[20];
		uint16_t check;

		/* A valid header, checksum included, sums to zero. */
		assert_int_equal(checksum_ipv4_header(packets[i], 20), 0);
		memcpy(hdr, packets[i], 20);
		memset(hdr + 10, 0, 2);
		check = checksum_ipv4_header(hdr, 20);
		assert_memory_equal(&check, packets[i] + 10, 2);
	}
}

static void check_real_tcp(const uint8_t *pkt, size_t len)
{
	struct packet p;
	const char *why = NULL;
	uint8_t segment[2048];
	size_t seglen;
	uint16_t check;

	assert_int_equal(packet_parse(pkt, len, 0, &p, &why), 0);
	seglen = p.ip_total_len - p.ip_header_len;
	/* With its checksum in place the segment verifies to zero. */
	assert_int_equal(checksum_tcp(&p.src, &p.dst, p.tcp, seglen), 0);
	memcpy(segment, p.tcp, seglen);
	memset(segment + 16, 0, 2);
	check = checksum_tcp(&p.src, &p.dst, segment, seglen);
	assert_memory_equal(&check, p.tcp + 16, 2);
}

static void test_tcp_of_real_packets(void **state)
{
	check_real_tcp(sample_syn_v4, sizeof(sample_syn_v4));
	check_real_tcp(sample_synack_v4, sizeof(sample_synack_v4));
	check_real_tcp(sample_ack_v4, sizeof(sample_ack_v4));
	check_real_tcp(sample_data_v4, sizeof(sample_data_v4));	/* odd length */
	check_real_tcp(sample_fin_v4, sizeof(sample_fin_v4));
	check_real_tcp(sample_syn_v6, sizeof(sample_syn_v6));
	check_real_tcp(sample_data_v6_ext, sizeof(sample_data_v6_ext));
}

static void test_corrupted_segment_does_not_verify(void **state)
{
	uint8_t pkt[sizeof(sample_data_v4)];
	struct packet p;
	const char *why;

	memcpy(pkt, sample_data_v4, sizeof(pkt));
	pkt[sizeof(pkt) - 1] ^= 0x01;
	assert_int_equal(packet_parse(pkt, sizeof(pkt), 0, &p, &why), 0);
	assert_int_not_equal(checksum_tcp(&p.src, &p.dst, p.tcp, sizeof(pkt) - 20), 0);
}

/* Every length from 0 to 300 at every alignment 0..7, random bytes. */
static void test_matches_reference_any_length_and_alignment(void **state)
{
	struct test_rng rng = { PACKET_RANDOM_SEED };
	uint8_t buf[300 + 8];

	for (size_t len = 0; len <= 300; len++) {
		for (size_t align = 0; align < 8; align++) {
			rng_fill(&rng, buf, sizeof(buf));
			uint16_t got = checksum_fold(checksum_partial(buf + align, len, 0));

			assert_int_equal(field_value(got), reference_checksum(buf + align, len, 0));
		}
	}
}

/* 64 KiB of 0xff: the accumulator carries on every word. */
static void test_large_buffer_of_ones(void **state)
{
	size_t len = 65536 + 7;
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	memset(buf, 0xff, len);
	assert_int_equal(field_value(checksum_fold(checksum_partial(buf, len, 0))),
			 reference_checksum(buf, len, 0));
	assert_int_equal(field_value(checksum_fold(checksum_partial(buf, len, 0xffffffffu))),
			 reference_checksum(buf, len, 0xffffffffu));
	free(buf);
}

/* A buffer summed in even-length pieces, the last one odd, equals one sum. */
static void test_pieces_add_up(void **state)
{
	struct test_rng rng = { PACKET_RANDOM_SEED + 1 };
	uint8_t buf[1001];

	rng_fill(&rng, buf, sizeof(buf));
	for (size_t cut = 0; cut <= 1000; cut += 2) {
		uint32_t sum = checksum_partial(buf, cut, 0);

		sum = checksum_partial(buf + cut, sizeof(buf) - cut, sum);
		assert_int_equal(field_value(checksum_fold(sum)),
				 reference_checksum(buf, sizeof(buf), 0));
	}
}

static void test_fold_edges(void **state)
{
	assert_int_equal(checksum_fold(0), 0xffff);
	assert_int_equal(checksum_fold(0xffff), 0);
	assert_int_equal(checksum_fold(0x10000), 0xfffe);	/* 0x0001 after the carry */
	assert_int_equal(checksum_fold(0xffffffffu), 0);
}

/* The pseudo-header against a reference built from the RFCs' layout. */
static void test_pseudo_header_layout(void **state)
{
	struct test_rng rng = { PACKET_RANDOM_SEED + 2 };
	uint8_t buf[40 + 200];

	for (int round = 0; round < 200; round++) {
		struct dp_addr src = { 0 }, dst = { 0 };
		size_t seglen = 20 + rng_below(&rng, 180);
		bool v6 = round % 2;
		size_t alen = v6 ? 16 : 4, off = 0;
		uint8_t *seg = buf + 40;

		src.family = dst.family = v6 ? AF_INET6 : AF_INET;
		rng_fill(&rng, src.bytes, alen);
		rng_fill(&rng, dst.bytes, alen);
		rng_fill(&rng, seg, seglen);
		/* v4: src dst 0 6 len16 (12 bytes); v6: src dst len32 0 0 0 6 (40) */
		memcpy(buf + off, src.bytes, alen), off += alen;
		memcpy(buf + off, dst.bytes, alen), off += alen;
		if (v6) {
			uint32_t l = htonl((uint32_t)seglen);

			memcpy(buf + off, &l, 4), off += 4;
			memcpy(buf + off, "\0\0\0\x06", 4), off += 4;
		} else {
			uint16_t l = htons((uint16_t)seglen);

			memcpy(buf + off, "\0\x06", 2), off += 2;
			memcpy(buf + off, &l, 2), off += 2;
		}
		memmove(buf + off, seg, seglen);
		assert_int_equal(field_value(checksum_tcp(&src, &dst, buf + off, seglen)),
				 reference_checksum(buf, off + seglen, 0));
	}
}

static uint16_t load16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static uint32_t load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* Rewrite the 4 bytes at field (in the TCP header or an address) the way
 * the engine does: incrementally, then compare with a fresh sum. */
static void rewrite32(uint8_t *field, uint32_t new_value, uint8_t *tcp_check, uint8_t *ip_check)
{
	uint32_t old = load32(field);
	uint16_t c;

	memcpy(field, &new_value, 4);
	c = checksum_update32(load16(tcp_check), old, new_value);
	memcpy(tcp_check, &c, 2);
	if (ip_check) {
		c = checksum_update32(load16(ip_check), old, new_value);
		memcpy(ip_check, &c, 2);
	}
}

static void rewrite16(uint8_t *field, uint16_t new_value, uint8_t *tcp_check)
{
	uint16_t old = load16(field);
	uint16_t c;

	memcpy(field, &new_value, 2);
	c = checksum_update16(load16(tcp_check), old, new_value);
	memcpy(tcp_check, &c, 2);
}

/*
 * RFC 1624 property: build a random packet, rewrite addresses, ports,
 * sequence and acknowledgment numbers incrementally (as doppel-copy does
 * when it redirects a session), then the packet must still verify and
 * carry exactly the checksums a full recompute gives.
 */
static void test_incremental_updates_match_full_recompute(void **state)
{
	struct test_rng rng = { PACKET_RANDOM_SEED + 3 };
	static uint8_t payload[1500], pkt[PACKET_HEADERS_MAX + 1500];

	for (int round = 0; round < 5000; round++) {
		struct packet_spec s;
		struct packet p;
		const char *why;
		size_t len;

		rng_spec(&rng, &s, payload, sizeof(payload));
		len = packet_build(pkt, sizeof(pkt), &s);
		assert_true(len > 0);
		assert_int_equal(packet_parse(pkt, len, 0, &p, &why), 0);

		uint8_t *ip = pkt, *tcp = (uint8_t *)p.tcp, *tcp_check = tcp + 16;
		uint8_t *ip_check = p.family == AF_INET ? ip + 10 : NULL;
		size_t alen = p.family == AF_INET ? 4 : 16;
		uint8_t *src = p.family == AF_INET ? ip + 12 : ip + 8;
		uint8_t *dst = src + alen;

		for (size_t i = 0; i < alen; i += 4) {
			rewrite32(src + i, (uint32_t)rng_next(&rng), tcp_check, ip_check);
			rewrite32(dst + i, (uint32_t)rng_next(&rng), tcp_check, ip_check);
		}
		rewrite16(tcp, (uint16_t)rng_next(&rng), tcp_check);
		rewrite16(tcp + 2, (uint16_t)rng_next(&rng), tcp_check);
		rewrite32(tcp + 4, (uint32_t)rng_next(&rng), tcp_check, NULL);
		rewrite32(tcp + 8, (uint32_t)rng_next(&rng), tcp_check, NULL);
		rewrite16(tcp + 14, (uint16_t)rng_next(&rng), tcp_check);

		assert_int_equal(packet_parse(pkt, len, 0, &p, &why), 0);
		assert_int_equal(checksum_tcp(&p.src, &p.dst, p.tcp, len - p.ip_header_len), 0);
		uint16_t incremental = load16(tcp_check);

		memset(tcp_check, 0, 2);
		uint16_t full = checksum_tcp(&p.src, &p.dst, p.tcp, len - p.ip_header_len);

		assert_int_equal(incremental, full);
		if (ip_check) {
			uint16_t ip_incremental = load16(ip_check);

			assert_int_equal(checksum_ipv4_header(ip, 20), 0);
			memset(ip_check, 0, 2);
			assert_int_equal(ip_incremental, checksum_ipv4_header(ip, 20));
		}
	}
}

/* The worked example of RFC 1624 section 4: a header whose checksum is
 * 0xdd2f; a word changes from 0x5555 to 0x3285; the new checksum 0x0000. */
static void test_rfc1624_example(void **state)
{
	uint16_t check = htons(0xdd2f);
	uint16_t result = checksum_update16(check, htons(0x5555), htons(0x3285));

	assert_int_equal(ntohs(result), 0x0000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_example),
		cmocka_unit_test(test_ipv4_header_of_real_packets),
		cmocka_unit_test(test_tcp_of_real_packets),
		cmocka_unit_test(test_corrupted_segment_does_not_verify),
		cmocka_unit_test(test_matches_reference_any_length_and_alignment),
		cmocka_unit_test(test_large_buffer_of_ones),
		cmocka_unit_test(test_pieces_add_up),
		cmocka_unit_test(test_fold_edges),
		cmocka_unit_test(test_pseudo_header_layout),
		cmocka_unit_test(test_incremental_updates_match_full_recompute),
		cmocka_unit_test(test_rfc1624_example),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
