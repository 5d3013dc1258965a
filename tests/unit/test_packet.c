/*
 * test_packet.c — packet_parse() on real IPv4 and IPv6 packets, and every
 * way an IP or TCP header can lie: short buffers at every length, bad
 * versions, header lengths, total lengths, data offsets, fragments, other
 * protocols, IPv6 extension header chains.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "lib/net/addr.h"
#include "lib/net/packet.h"
#include "packet_samples.h"

#define COPY(dst, src) do { \
	_Static_assert(sizeof(dst) >= sizeof(src), "sample too big"); \
	memcpy(dst, src, sizeof(src)); \
} while (0)

/* Parse and expect a failure with exactly this reason. */
static void expect_reject(const uint8_t *buf, size_t len, unsigned flags, const char *reason)
{
	struct packet p;
	const char *why = NULL;

	assert_int_equal(packet_parse(buf, len, flags, &p, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, reason);
}

/* The sample with one byte changed must be refused for this reason. */
static void expect_reject_with(const uint8_t *sample, size_t len, size_t at, uint8_t value,
			       const char *reason)
{
	uint8_t buf[256];

	assert_true(len <= sizeof(buf) && at < len);
	memcpy(buf, sample, len);
	buf[at] = value;
	expect_reject(buf, len, 0, reason);
}

static void expect_ok(const uint8_t *buf, size_t len, unsigned flags, struct packet *p)
{
	const char *why = "(not set)";
	int rc = packet_parse(buf, len, flags, p, &why);

	if (rc)
		fail_msg("parse failed: %s", why);
}

static void assert_addr(const struct dp_addr *a, const char *text)
{
	char buf[INET6_ADDRSTRLEN];

	assert_string_equal(dp_addr_str(a, buf, sizeof(buf)), text);
}

static void test_real_ipv4_syn(void **state)
{
	struct packet p;

	expect_ok(sample_syn_v4, sizeof(sample_syn_v4), 0, &p);
	assert_int_equal(p.family, AF_INET);
	assert_ptr_equal(p.l3, sample_syn_v4);
	assert_int_equal(p.ip_header_len, 20);
	assert_int_equal(p.ip_total_len, 60);
	assert_addr(&p.src, "198.18.0.2");
	assert_addr(&p.dst, "198.18.0.1");
	assert_int_equal(p.ttl, 64);
	assert_int_equal(p.ip_id, 1161);
	assert_false(p.fragment);
	assert_ptr_equal(p.tcp, sample_syn_v4 + 20);
	assert_int_equal(p.tcp_header_len, 40);
	assert_int_equal(p.sport, 46932);
	assert_int_equal(p.dport, 8080);
	assert_int_equal(p.seq, 579763841u);
	assert_int_equal(p.ack, 0);
	assert_int_equal(p.flags, TCPF_SYN);
	assert_int_equal(p.window, 65495);
	assert_int_equal(p.urgent, 0);
	assert_true(p.opt.has_mss);
	assert_int_equal(p.opt.mss, 65495);
	assert_true(p.opt.sack_permitted);
	assert_true(p.opt.has_timestamp);
	assert_int_equal(p.opt.tsval, 3594335225u);
	assert_int_equal(p.opt.tsecr, 0);
	assert_true(p.opt.has_wscale);
	assert_int_equal(p.opt.wscale, 10);
	assert_int_equal(p.opt.sack_blocks, 0);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.payload_present, 0);
	assert_ptr_equal(p.payload, sample_syn_v4 + 60);
}

static void test_real_ipv4_synack_and_fin(void **state)
{
	struct packet p;

	expect_ok(sample_synack_v4, sizeof(sample_synack_v4), 0, &p);
	assert_int_equal(p.flags, TCPF_SYN | TCPF_ACK);
	assert_int_equal(p.seq, 654061784u);
	assert_int_equal(p.ack, 579763842u);
	assert_int_equal(p.opt.tsecr, 3594335225u);
	assert_int_equal(p.ip_id, 0);

	expect_ok(sample_fin_v4, sizeof(sample_fin_v4), 0, &p);
	assert_int_equal(p.flags, TCPF_FIN | TCPF_ACK);
	assert_int_equal(p.seq, 654061983u);
	assert_int_equal(p.ack, 579763931u);
	assert_int_equal(p.tcp_header_len, 32);
	assert_false(p.opt.has_mss);
	assert_true(p.opt.has_timestamp);
	assert_int_equal(p.opt.tsval, 2010468192u);
	assert_int_equal(p.opt.tsecr, 3594335231u);
}

static void test_real_ipv4_data(void **state)
{
	struct packet p;

	expect_ok(sample_data_v4, sizeof(sample_data_v4), 0, &p);
	assert_int_equal(p.flags, TCPF_PSH | TCPF_ACK);
	assert_int_equal(p.window, 64);
	assert_int_equal(p.payload_len, 89);
	assert_int_equal(p.payload_present, 89);
	assert_ptr_equal(p.payload, sample_data_v4 + 52);
	assert_memory_equal(p.payload, "GET /index.html HTTP/1.1\r\n", 26);
}

/* Ethernet pads short frames to 60 bytes: bytes past total length are not
 * payload. */
static void test_trailing_padding_is_ignored(void **state)
{
	uint8_t buf[sizeof(sample_ack_v4) + 8];
	struct packet p;

	memcpy(buf, sample_ack_v4, sizeof(sample_ack_v4));
	memset(buf + sizeof(sample_ack_v4), 0xee, 8);
	expect_ok(buf, sizeof(buf), 0, &p);
	assert_int_equal(p.ip_total_len, 52);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.payload_present, 0);
}

/* Total length 0 (TSO/GSO): the packet runs to the end of the buffer. */
static void test_tso_zero_length(void **state)
{
	uint8_t v4[sizeof(sample_data_v4)], v6[sizeof(sample_data_v6_ext)];
	struct packet p;

	COPY(v4, sample_data_v4);
	memset(v4 + 2, 0, 2);
	expect_ok(v4, sizeof(v4), 0, &p);
	assert_int_equal(p.ip_total_len, sizeof(v4));
	assert_int_equal(p.payload_len, 89);

	COPY(v6, sample_data_v6_ext);
	memset(v6 + 4, 0, 2);
	expect_ok(v6, sizeof(v6), 0, &p);
	assert_int_equal(p.ip_total_len, sizeof(v6));
	assert_int_equal(p.payload_len, 89);
}

static void test_truncated_ok(void **state)
{
	struct packet p;

	expect_reject(sample_truncated_v4, sizeof(sample_truncated_v4), 0,
		      "ipv4 total length runs past the buffer");
	expect_ok(sample_truncated_v4, sizeof(sample_truncated_v4), PACKET_TRUNCATED_OK, &p);
	assert_int_equal(p.ip_total_len, 237);
	assert_int_equal(p.tcp_header_len, 32);
	assert_int_equal(p.payload_len, 185);
	assert_int_equal(p.payload_present, sizeof(sample_truncated_v4) - 52);
	assert_memory_equal(p.payload, "HTTP/1.0 200 OK", 15);

	/* A summary: the headers alone. */
	expect_ok(sample_data_v4, 52, PACKET_TRUNCATED_OK, &p);
	assert_int_equal(p.payload_len, 89);
	assert_int_equal(p.payload_present, 0);
}

/* Without PACKET_TRUNCATED_OK every short buffer is refused; with it, only
 * those that end inside the headers. Never a read past len (ASan). */
static void check_every_length(const uint8_t *sample, size_t len, size_t headers)
{
	for (size_t n = 0; n < len; n++) {
		uint8_t *copy = n ? malloc(n) : NULL;
		struct packet p;
		const char *why = NULL;

		if (n)
			memcpy(copy, sample, n);
		assert_int_equal(packet_parse(copy, n, 0, &p, &why), -1);
		assert_non_null(why);
		if (n < headers) {
			assert_int_equal(packet_parse(copy, n, PACKET_TRUNCATED_OK, &p, &why), -1);
		} else {
			assert_int_equal(packet_parse(copy, n, PACKET_TRUNCATED_OK, &p, &why), 0);
			assert_int_equal(p.payload_present, n - headers);
			assert_int_equal(p.payload_len, len - headers);
		}
		free(copy);
	}
}

static void test_short_buffers_at_every_length(void **state)
{
	check_every_length(sample_syn_v4, sizeof(sample_syn_v4), 60);
	check_every_length(sample_data_v4, sizeof(sample_data_v4), 52);
	check_every_length(sample_syn_v6, sizeof(sample_syn_v6), 80);
	check_every_length(sample_data_v6_ext, sizeof(sample_data_v6_ext), 64 + 32);
}

static void test_bad_versions(void **state)
{
	static const char *const reasons[16] = {
		"ip version 0 (not 4 or 6)", "ip version 1 (not 4 or 6)",
		"ip version 2 (not 4 or 6)", "ip version 3 (not 4 or 6)", NULL,
		"ip version 5 (not 4 or 6)", NULL, "ip version 7 (not 4 or 6)",
		"ip version 8 (not 4 or 6)", "ip version 9 (not 4 or 6)",
		"ip version 10 (not 4 or 6)", "ip version 11 (not 4 or 6)",
		"ip version 12 (not 4 or 6)", "ip version 13 (not 4 or 6)",
		"ip version 14 (not 4 or 6)", "ip version 15 (not 4 or 6)",
	};

	expect_reject(sample_syn_v4, 0, 0, "empty packet");
	for (unsigned v = 0; v < 16; v++) {
		if (reasons[v])
			expect_reject_with(sample_syn_v4, sizeof(sample_syn_v4), 0,
					   (uint8_t)(v << 4 | 5), reasons[v]);
	}
	/* An IPv4 packet whose first byte says 6 is read as IPv6 and refused. */
	expect_reject_with(sample_syn_v4, sizeof(sample_syn_v4), 0, 0x65,
			   "ipv6 payload length runs past the buffer");
}

static void test_bad_ipv4_header_length(void **state)
{
	static const char *const reasons[5] = {
		"ipv4 header length 0 < 20", "ipv4 header length 4 < 20",
		"ipv4 header length 8 < 20", "ipv4 header length 12 < 20",
		"ipv4 header length 16 < 20",
	};
	uint8_t buf[sizeof(sample_ack_v4)];

	for (unsigned ihl = 0; ihl < 5; ihl++)
		expect_reject_with(sample_ack_v4, sizeof(buf), 0, (uint8_t)(0x40 | ihl), reasons[ihl]);
	/* IHL 15 (60 bytes) in a 52-byte packet: header past the buffer. */
	COPY(buf, sample_ack_v4);
	buf[0] = 0x4f;
	expect_reject(buf, sizeof(buf), 0, "ipv4 header length runs past the buffer");
	expect_reject(buf, 19, 0, "ipv4 header truncated: buffer shorter than 20 bytes");
	/* IHL 13: all 52 bytes are IP header, nothing left for TCP. */
	COPY(buf, sample_ack_v4);
	buf[0] = 0x4d;
	expect_reject(buf, sizeof(buf), 0, "ip payload too short for a tcp header (< 20 bytes)");
}

/* IPv4 options (here a 4-byte NOP NOP NOP EOL) move the TCP header. */
static void test_ipv4_options(void **state)
{
	uint8_t buf[sizeof(sample_data_v4) + 4];
	struct packet p;

	memcpy(buf, sample_data_v4, 20);
	memcpy(buf + 20, "\x01\x01\x01\x00", 4);
	memcpy(buf + 24, sample_data_v4 + 20, sizeof(sample_data_v4) - 20);
	buf[0] = 0x46;
	buf[3] = (uint8_t)(buf[3] + 4);
	expect_ok(buf, sizeof(buf), 0, &p);
	assert_int_equal(p.ip_header_len, 24);
	assert_ptr_equal(p.tcp, buf + 24);
	assert_int_equal(p.sport, 46932);
	assert_int_equal(p.payload_len, 89);
}

static void test_ipv4_total_length_lies(void **state)
{
	uint8_t buf[sizeof(sample_data_v4)];

	COPY(buf, sample_data_v4);
	buf[2] = 0, buf[3] = 19;	/* below the header */
	expect_reject(buf, sizeof(buf), 0, "ipv4 total length shorter than its header");
	buf[3] = 30;			/* room for 10 bytes of TCP */
	expect_reject(buf, sizeof(buf), 0, "ip payload too short for a tcp header (< 20 bytes)");
	buf[3] = 45;			/* the TCP header is 32 bytes, 25 fit */
	expect_reject(buf, sizeof(buf), 0, "tcp header length runs past the ip payload");
	buf[2] = 0xff, buf[3] = 0xff;	/* past the buffer */
	expect_reject(buf, sizeof(buf), 0, "ipv4 total length runs past the buffer");
}

static void test_ipv4_fragments(void **state)
{
	uint8_t buf[sizeof(sample_data_v4)];
	struct packet p;
	const char *why;

	/* First fragment (MF set, offset 0): parsed, flagged. */
	COPY(buf, sample_data_v4);
	buf[6] = 0x20;
	expect_ok(buf, sizeof(buf), 0, &p);
	assert_true(p.fragment);
	assert_int_equal(p.sport, 46932);

	/* Later fragments carry no TCP header: refused, but flagged and
	 * addressed so the caller can count them. */
	COPY(buf, sample_data_v4);
	buf[6] = 0x00, buf[7] = 0x10;		/* offset 16 * 8, last fragment */
	assert_int_equal(packet_parse(buf, sizeof(buf), 0, &p, &why), -1);
	assert_string_equal(why, "ipv4 fragment with a non-zero offset (no tcp header)");
	assert_true(p.fragment);
	assert_int_equal(p.family, AF_INET);
	assert_addr(&p.src, "198.18.0.2");
	assert_addr(&p.dst, "198.18.0.1");

	/* DF alone is not a fragment. */
	expect_ok(sample_data_v4, sizeof(sample_data_v4), 0, &p);
	assert_false(p.fragment);
}

static void test_not_tcp(void **state)
{
	static const struct { uint8_t protocol; const char *reason; } cases[] = {
		{ 1, "not tcp (protocol 1, icmp)" },
		{ 17, "not tcp (protocol 17, udp)" },
		{ 47, "not tcp (protocol 47, gre)" },
		{ 50, "not tcp (protocol 50, esp: encrypted)" },
		{ 51, "not tcp (protocol 51, ipv4 ah)" },
		{ 132, "not tcp (protocol 132, sctp)" },
		{ 253, "not tcp (unknown ip protocol)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_reject_with(sample_ack_v4, sizeof(sample_ack_v4), 9, cases[i].protocol,
				   cases[i].reason);
}

static void test_bad_tcp_data_offset(void **state)
{
	static const char *const reasons[5] = {
		"tcp header length 0 < 20", "tcp header length 4 < 20",
		"tcp header length 8 < 20", "tcp header length 12 < 20",
		"tcp header length 16 < 20",
	};

	for (unsigned offset = 0; offset < 5; offset++)
		expect_reject_with(sample_ack_v4, sizeof(sample_ack_v4), 32, (uint8_t)(offset << 4),
				   reasons[offset]);
	/* 60 bytes of TCP header in a 32-byte segment. */
	expect_reject_with(sample_ack_v4, sizeof(sample_ack_v4), 32, 0xf0,
			   "tcp header length runs past the ip payload");
	/* Truncated capture: the IP header promises more than the buffer has. */
	expect_reject(sample_data_v4, 45, PACKET_TRUNCATED_OK,
		      "tcp header length runs past the buffer");
	expect_reject(sample_data_v4, 39, PACKET_TRUNCATED_OK,
		      "tcp header truncated: buffer ends within 20 bytes");
}

/* A malformed option makes the packet's options untrustworthy: refused
 * with the option parser's reason. */
static void test_bad_tcp_option_in_packet(void **state)
{
	uint8_t buf[sizeof(sample_syn_v4)];

	COPY(buf, sample_syn_v4);
	buf[41] = 5;		/* MSS option length 5 */
	expect_reject(buf, sizeof(buf), 0, "tcp mss option length not 4");
	COPY(buf, sample_syn_v4);
	buf[59] = 0x0a;
	buf[58] = 30;		/* wscale length 30: past the header */
	expect_reject(buf, sizeof(buf), 0, "tcp option runs past the header");
}

static void test_real_ipv6(void **state)
{
	struct packet p;

	expect_ok(sample_syn_v6, sizeof(sample_syn_v6), 0, &p);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.ip_header_len, 40);
	assert_int_equal(p.ip_total_len, 80);
	assert_addr(&p.src, "2001:2::2");
	assert_addr(&p.dst, "2001:2::1");
	assert_int_equal(p.ttl, 64);
	assert_false(p.fragment);
	assert_int_equal(p.flags, TCPF_SYN);
	assert_int_equal(p.opt.mss, 65495);
	assert_int_equal(p.opt.wscale, 10);

	expect_ok(sample_data_v6_ext, sizeof(sample_data_v6_ext), 0, &p);
	assert_int_equal(p.ip_header_len, 64);
	assert_true(p.fragment);
	assert_ptr_equal(p.tcp, sample_data_v6_ext + 64);
	assert_int_equal(p.payload_len, 89);
	assert_memory_equal(p.payload, "GET ", 4);
}

/* An IPv6 packet with an extension header of ext_len bytes (next header
 * byte and length byte given) in front of the SYN's TCP segment. */
static size_t make_v6_with_header(uint8_t *buf, uint8_t kind, const uint8_t *ext, size_t ext_len)
{
	size_t seglen = sizeof(sample_syn_v6) - 40;

	memcpy(buf, sample_syn_v6, 40);
	buf[6] = kind;
	memcpy(buf + 40, ext, ext_len);
	memcpy(buf + 40 + ext_len, sample_syn_v6 + 40, seglen);
	buf[4] = (uint8_t)((ext_len + seglen) >> 8);
	buf[5] = (uint8_t)(ext_len + seglen);
	return 40 + ext_len + seglen;
}

static void test_ipv6_extension_headers(void **state)
{
	/* Routing header type 0 with one address (24 bytes), then TCP. */
	uint8_t routing[24] = { 6, 2, 0, 1 };
	/* AH with a 12-byte ICV: payload length (24 / 4) - 2 = 4. */
	uint8_t ah[24] = { 6, 4 };
	uint8_t fragment_first[8] = { 6, 0, 0x00, 0x01, 0, 0, 0, 1 };	/* M set */
	uint8_t buf[200];
	struct packet p;
	size_t len;

	len = make_v6_with_header(buf, 43, routing, sizeof(routing));
	expect_ok(buf, len, 0, &p);
	assert_int_equal(p.ip_header_len, 64);
	assert_int_equal(p.sport, 46932);

	len = make_v6_with_header(buf, 51, ah, sizeof(ah));
	expect_ok(buf, len, 0, &p);
	assert_int_equal(p.ip_header_len, 64);

	len = make_v6_with_header(buf, 44, fragment_first, sizeof(fragment_first));
	expect_ok(buf, len, 0, &p);
	assert_true(p.fragment);
	assert_int_equal(p.ip_header_len, 48);
}

static void test_ipv6_errors(void **state)
{
	uint8_t hop_by_hop[8] = { 0, 0, 1, 4 };	/* followed by hop-by-hop again */
	uint8_t esp_next[8] = { 50, 0, 1, 4 };
	uint8_t none_next[8] = { 59, 0, 1, 4 };
	uint8_t udp_next[8] = { 17, 0, 1, 4 };
	uint8_t fragment_later[8] = { 6, 0, 0x00, 0x08, 0, 0, 0, 1 };	/* offset 1 */
	uint8_t long_ext[8] = { 6, 200 };	/* 1608 bytes */
	uint8_t buf[200];
	struct packet p;
	const char *why;
	size_t len;

	expect_reject(sample_syn_v6, 39, 0, "ipv6 header truncated: buffer shorter than 40 bytes");
	expect_reject(sample_syn_v6, 60, 0, "ipv6 payload length runs past the buffer");

	len = make_v6_with_header(buf, 60, hop_by_hop, sizeof(hop_by_hop));
	expect_reject(buf, len, 0, "ipv6 hop-by-hop header not first");
	len = make_v6_with_header(buf, 60, esp_next, sizeof(esp_next));
	expect_reject(buf, len, 0, "not tcp (protocol 50, esp: encrypted)");
	len = make_v6_with_header(buf, 0, none_next, sizeof(none_next));
	expect_reject(buf, len, 0, "not tcp (protocol 59, ipv6 no next header)");
	len = make_v6_with_header(buf, 60, udp_next, sizeof(udp_next));
	expect_reject(buf, len, 0, "not tcp (protocol 17, udp)");

	len = make_v6_with_header(buf, 44, fragment_later, sizeof(fragment_later));
	assert_int_equal(packet_parse(buf, len, 0, &p, &why), -1);
	assert_string_equal(why, "ipv6 fragment with a non-zero offset (no tcp header)");
	assert_true(p.fragment);
	assert_addr(&p.src, "2001:2::2");

	len = make_v6_with_header(buf, 60, long_ext, sizeof(long_ext));
	expect_reject(buf, len, 0, "ipv6 extension header longer than the payload length");

	/* Payload length 4: no room for even the smallest extension header. */
	len = make_v6_with_header(buf, 60, udp_next, sizeof(udp_next));
	buf[4] = 0, buf[5] = 4;
	expect_reject(buf, len, 0, "ipv6 payload too short for its extension header");

	/* Truncated captures cut inside the extension headers. */
	len = make_v6_with_header(buf, 43, (const uint8_t[24]){ 6, 2, 0, 1 }, 24);
	expect_reject(buf, 44, PACKET_TRUNCATED_OK, "ipv6 extension header truncated");
	expect_reject(buf, 56, PACKET_TRUNCATED_OK, "ipv6 extension header runs past the buffer");

	/* Next header straight to ICMPv6. */
	COPY(buf, sample_syn_v6);
	buf[6] = 58;
	expect_reject(buf, sizeof(sample_syn_v6), 0, "not tcp (protocol 58, icmpv6)");
}

/* A chain of many small destination options headers ends with the buffer. */
static void test_ipv6_long_chain(void **state)
{
	uint8_t buf[40 + 8 * 100 + 40];
	struct packet p;
	size_t seglen = sizeof(sample_syn_v6) - 40;

	memcpy(buf, sample_syn_v6, 40);
	buf[6] = 60;
	for (int i = 0; i < 100; i++) {
		uint8_t *h = buf + 40 + 8 * i;

		memset(h, 0, 8);
		h[0] = i == 99 ? 6 : 60;
		h[2] = 1, h[3] = 4;	/* PadN */
	}
	memcpy(buf + 840, sample_syn_v6 + 40, seglen);
	buf[4] = (uint8_t)((800 + seglen) >> 8);
	buf[5] = (uint8_t)(800 + seglen);
	expect_ok(buf, 840 + seglen, 0, &p);
	assert_int_equal(p.ip_header_len, 840);
	assert_int_equal(p.tcp_header_len, 40);
}

static void test_why_may_be_null(void **state)
{
	struct packet p;

	assert_int_equal(packet_parse(sample_syn_v4, 10, 0, &p, NULL), -1);
	assert_int_equal(packet_parse(sample_syn_v4, sizeof(sample_syn_v4), 0, &p, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_ipv4_syn),
		cmocka_unit_test(test_real_ipv4_synack_and_fin),
		cmocka_unit_test(test_real_ipv4_data),
		cmocka_unit_test(test_trailing_padding_is_ignored),
		cmocka_unit_test(test_tso_zero_length),
		cmocka_unit_test(test_truncated_ok),
		cmocka_unit_test(test_short_buffers_at_every_length),
		cmocka_unit_test(test_bad_versions),
		cmocka_unit_test(test_bad_ipv4_header_length),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_ipv4_total_length_lies),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_not_tcp),
		cmocka_unit_test(test_bad_tcp_data_offset),
		cmocka_unit_test(test_bad_tcp_option_in_packet),
		cmocka_unit_test(test_real_ipv6),
		cmocka_unit_test(test_ipv6_extension_headers),
		cmocka_unit_test(test_ipv6_errors),
		cmocka_unit_test(test_ipv6_long_chain),
		cmocka_unit_test(test_why_may_be_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
