/*
 * fuzz_packet.c — libFuzzer harness for the packet parser and builder.
 *
 * The first input byte (its low 7 bits modulo 8) picks what the rest is
 * fed to:
 *   0 packet_parse            1 packet_parse, PACKET_TRUNCATED_OK
 *   2 Ethernet frame          3 Linux cooked (SLL) frame
 *   4 SLL2 frame              5 raw IP frame (data-link types take bit 7 as
 *                               PACKET_TRUNCATED_OK)
 *   6 packet_parse_tcp_options
 *   7 packet_build from a spec read out of the bytes, then packet_parse
 * libFuzzer hands over a heap copy of exactly the input's size, so ASan
 * catches a read one byte past it. Whatever is accepted must satisfy the
 * invariants below: every pointer and length inside the buffer, lengths
 * that add up.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "lib/net/checksum.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"
#include "lib/net/packet_build.h"
#include "lib/net/packet_dlt.h"
#include "lib/net/tcp_options.h"

static void check_reason(const char *why)
{
	REQUIRE(why != NULL);
	REQUIRE(why[0] != '\0');
	REQUIRE(strlen(why) < 200);
}

static void check_options(const struct tcp_options *o)
{
	REQUIRE(o->sack_blocks <= TCP_MAX_SACK_BLOCKS);
	REQUIRE(!o->has_wscale || o->wscale <= 14);
}

/* A packet accepted from [buf, buf + len). */
static void check_packet(const struct packet *p, const uint8_t *buf, size_t len, unsigned flags)
{
	const uint8_t *end = buf + len;

	REQUIRE(p->family == AF_INET || p->family == AF_INET6);
	REQUIRE(p->src.family == p->family && p->dst.family == p->family);
	REQUIRE(p->l3 >= buf && p->l3 < end);
	if (p->family == AF_INET)
		REQUIRE(p->ip_header_len >= 20 && p->ip_header_len <= 60);
	else
		REQUIRE(p->ip_header_len >= 40);
	REQUIRE(p->tcp == p->l3 + p->ip_header_len);
	REQUIRE(p->tcp_header_len >= 20 && p->tcp_header_len <= 60 && p->tcp_header_len % 4 == 0);
	REQUIRE(p->tcp_header_len <= (size_t)(end - p->tcp));
	REQUIRE(p->payload == p->tcp + p->tcp_header_len);
	REQUIRE(p->payload_present <= (size_t)(end - p->payload));
	REQUIRE(p->payload_present <= p->payload_len);
	REQUIRE(p->ip_header_len + p->tcp_header_len + p->payload_len == p->ip_total_len);
	if (!(flags & PACKET_TRUNCATED_OK)) {
		REQUIRE(p->payload_present == p->payload_len);
		REQUIRE(p->ip_total_len <= (size_t)(end - p->l3));
	}
	check_options(&p->opt);
}

static void fuzz_parse(const uint8_t *buf, size_t len, unsigned flags)
{
	struct packet p;
	const char *why = NULL;

	if (packet_parse(buf, len, flags, &p, &why) == 0)
		check_packet(&p, buf, len, flags);
	else
		check_reason(why);
}

static void fuzz_dlt(enum packet_dlt dlt, const uint8_t *buf, size_t len, unsigned flags)
{
	struct packet p;
	const char *why = NULL;

	if (packet_parse_dlt(dlt, buf, len, flags, &p, &why) == 0)
		check_packet(&p, buf, len, flags);
	else
		check_reason(why);
}

static void fuzz_options(const uint8_t *buf, size_t len)
{
	struct tcp_options o;
	const char *why = NULL;

	if (packet_parse_tcp_options(buf, len, &o, &why) == 0)
		check_options(&o);
	else
		check_reason(why);
}

/* Take n bytes from the input (zeros once it runs out). */
static void take(const uint8_t **buf, size_t *len, void *out, size_t n)
{
	size_t k = n < *len ? n : *len;

	memset(out, 0, n);
	memcpy(out, *buf, k);
	*buf += k;
	*len -= k;
}

/* Build what the bytes describe; what is built must parse back to it with
 * checksums that verify. */
static void fuzz_build(const uint8_t *buf, size_t len)
{
	static uint8_t out[PACKET_HEADERS_MAX + 4096];
	struct packet_spec s;
	uint8_t bits = 0, family;
	struct packet p;
	const char *why = NULL;
	size_t n;

	memset(&s, 0, sizeof(s));
	take(&buf, &len, &bits, 1);
	family = bits & 1 ? AF_INET6 : AF_INET;
	s.src.family = s.dst.family = family;
	take(&buf, &len, s.src.bytes, family == AF_INET ? 4 : 16);
	take(&buf, &len, s.dst.bytes, family == AF_INET ? 4 : 16);
	take(&buf, &len, &s.seq, 4);
	take(&buf, &len, &s.ack, 4);
	take(&buf, &len, &s.sport, 2);
	take(&buf, &len, &s.dport, 2);
	take(&buf, &len, &s.flags, 1);
	take(&buf, &len, &s.window, 2);
	take(&buf, &len, &s.opt.mss, 2);
	take(&buf, &len, &s.opt.wscale, 1);
	take(&buf, &len, &s.opt.tsval, 4);
	s.opt.wscale %= 15;
	s.opt.has_mss = bits & 2;
	s.opt.has_wscale = bits & 4;
	s.opt.sack_permitted = bits & 8;
	s.opt.has_timestamp = bits & 16;
	s.payload = buf;
	s.payload_len = len;

	n = packet_build(out, sizeof(out), &s);
	if (n == 0) {
		REQUIRE(len + PACKET_HEADERS_MAX > sizeof(out));
		return;
	}
	REQUIRE(packet_parse(out, n, 0, &p, &why) == 0);
	check_packet(&p, out, n, 0);
	REQUIRE(dp_addr_equal(&p.src, &s.src) && dp_addr_equal(&p.dst, &s.dst));
	REQUIRE(p.seq == s.seq && p.ack == s.ack && p.flags == s.flags);
	REQUIRE(p.sport == s.sport && p.dport == s.dport && p.window == s.window);
	REQUIRE(p.payload_len == len && (len == 0 || memcmp(p.payload, buf, len) == 0));
	REQUIRE(checksum_tcp(&p.src, &p.dst, p.tcp, n - p.ip_header_len) == 0);
	if (family == AF_INET)
		REQUIRE(checksum_ipv4_header(out, 20) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned flags;

	if (size == 0)
		return 0;
	flags = data[0] & 0x80 ? PACKET_TRUNCATED_OK : 0;
	switch ((data[0] & 0x7f) % 8) {
	case 0: fuzz_parse(data + 1, size - 1, 0); break;
	case 1: fuzz_parse(data + 1, size - 1, PACKET_TRUNCATED_OK); break;
	case 2: fuzz_dlt(PACKET_DLT_ETHERNET, data + 1, size - 1, flags); break;
	case 3: fuzz_dlt(PACKET_DLT_LINUX_SLL, data + 1, size - 1, flags); break;
	case 4: fuzz_dlt(PACKET_DLT_LINUX_SLL2, data + 1, size - 1, flags); break;
	case 5: fuzz_dlt(PACKET_DLT_RAW, data + 1, size - 1, flags); break;
	case 6: fuzz_options(data + 1, size - 1); break;
	case 7: fuzz_build(data + 1, size - 1); break;
	}
	return 0;
}
