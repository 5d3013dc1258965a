/*
 * test_packet_dlt.c — packet_parse_dlt(): a real Ethernet frame, VLAN and
 * QinQ tags, Linux cooked captures (v1 and v2), raw IP, and frames that are
 * not IP or are cut short.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lib/net/packet.h"
#include "lib/net/packet_dlt.h"
#include "packet_samples.h"

static void expect_ok(enum packet_dlt dlt, const uint8_t *buf, size_t len, struct packet *p)
{
	const char *why = "(not set)";

	if (packet_parse_dlt(dlt, buf, len, 0, p, &why))
		fail_msg("frame refused: %s", why);
}

static void expect_reject(enum packet_dlt dlt, const uint8_t *buf, size_t len,
			  const char *reason)
{
	struct packet p;
	const char *why = NULL;

	assert_int_equal(packet_parse_dlt(dlt, buf, len, 0, &p, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, reason);
}

/* The frame's IP packet is the real SYN. */
static void assert_is_syn(const struct packet *p, const uint8_t *ip)
{
	assert_ptr_equal(p->l3, ip);
	assert_int_equal(p->family, AF_INET);
	assert_int_equal(p->sport, 46932);
	assert_int_equal(p->dport, 8080);
	assert_int_equal(p->seq, 579763841u);
}

static void test_real_ethernet_frame(void **state)
{
	struct packet p;

	expect_ok(PACKET_DLT_ETHERNET, sample_syn_eth, sizeof(sample_syn_eth), &p);
	assert_is_syn(&p, sample_syn_eth + 14);
}

/* Ethernet header with these tags (type, tag-control pairs) in front of ip. */
static size_t make_ethernet(uint8_t *buf, const uint16_t *types, size_t ntypes,
			    const uint8_t *ip, size_t iplen)
{
	size_t off = 12;

	memset(buf, 0x02, 12);
	for (size_t i = 0; i < ntypes; i++) {
		buf[off] = (uint8_t)(types[i] >> 8);
		buf[off + 1] = (uint8_t)types[i];
		off += 2;
		if (i + 1 < ntypes) {	/* tag control: priority 0, VLAN 100 + i */
			buf[off] = 0;
			buf[off + 1] = (uint8_t)(100 + i);
			off += 2;
		}
	}
	memcpy(buf + off, ip, iplen);
	return off + iplen;
}

static void test_vlan_tags(void **state)
{
	static const uint16_t dot1q[] = { 0x8100, 0x0800 };
	static const uint16_t qinq[] = { 0x88a8, 0x8100, 0x0800 };
	static const uint16_t old_qinq[] = { 0x9100, 0x8100, 0x86dd };
	uint8_t buf[200];
	struct packet p;
	size_t len;

	len = make_ethernet(buf, dot1q, 2, sample_syn_v4, sizeof(sample_syn_v4));
	expect_ok(PACKET_DLT_ETHERNET, buf, len, &p);
	assert_is_syn(&p, buf + 18);

	len = make_ethernet(buf, qinq, 3, sample_syn_v4, sizeof(sample_syn_v4));
	expect_ok(PACKET_DLT_ETHERNET, buf, len, &p);
	assert_is_syn(&p, buf + 22);

	len = make_ethernet(buf, old_qinq, 3, sample_syn_v6, sizeof(sample_syn_v6));
	expect_ok(PACKET_DLT_ETHERNET, buf, len, &p);
	assert_int_equal(p.family, AF_INET6);
	assert_ptr_equal(p.l3, buf + 22);

	/* The tag is cut short. */
	len = make_ethernet(buf, dot1q, 2, sample_syn_v4, 0);
	expect_reject(PACKET_DLT_ETHERNET, buf, 16, "vlan tag truncated");
	expect_reject(PACKET_DLT_ETHERNET, buf, len, "frame ends after the data-link header");
}

/* Tags that never end: each is 4 bytes, so the buffer ends them. */
static void test_endless_vlan_tags(void **state)
{
	uint8_t buf[14 + 4 * 64];

	memset(buf, 0, sizeof(buf));
	for (size_t off = 12; off + 2 <= sizeof(buf); off += 4) {
		buf[off] = 0x81;
		buf[off + 1] = 0x00;
	}
	expect_reject(PACKET_DLT_ETHERNET, buf, sizeof(buf), "vlan tag truncated");
}

static void test_not_ip(void **state)
{
	static const struct { uint16_t type; const char *reason; } cases[] = {
		{ 0x0806, "not ip (ethertype 0x0806, arp)" },
		{ 0x88cc, "not ip (ethertype 0x88cc, lldp)" },
		{ 0x8847, "not ip (ethertype 0x8847, mpls)" },
		{ 0x8864, "not ip (ethertype 0x8864, pppoe session)" },
		{ 0x05dc, "not ip (data-link protocol below 0x0600: an 802.3 length, not an ethertype)" },
		{ 0x1234, "not ip (unknown ethertype)" },
	};
	uint8_t buf[200];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = make_ethernet(buf, &cases[i].type, 1, sample_syn_v4,
					   sizeof(sample_syn_v4));

		expect_reject(PACKET_DLT_ETHERNET, buf, len, cases[i].reason);
	}
}

static void test_type_and_version_disagree(void **state)
{
	static const uint16_t ipv4[] = { 0x0800 }, ipv6[] = { 0x86dd };
	uint8_t buf[200];
	size_t len;

	len = make_ethernet(buf, ipv4, 1, sample_syn_v6, sizeof(sample_syn_v6));
	expect_reject(PACKET_DLT_ETHERNET, buf, len, "ethertype ipv4 but ip version not 4");
	len = make_ethernet(buf, ipv6, 1, sample_syn_v4, sizeof(sample_syn_v4));
	expect_reject(PACKET_DLT_ETHERNET, buf, len, "ethertype ipv6 but ip version not 6");
}

/* An error inside the IP packet comes back unchanged. */
static void test_ip_errors_pass_through(void **state)
{
	expect_reject(PACKET_DLT_ETHERNET, sample_syn_eth, sizeof(sample_syn_eth) - 1,
		      "ipv4 total length runs past the buffer");
	expect_reject(PACKET_DLT_RAW, sample_syn_v4, 10,
		      "ipv4 header truncated: buffer shorter than 20 bytes");
}

static void test_linux_cooked(void **state)
{
	uint8_t buf[200];
	struct packet p;

	/* SLL: packet type 0 (to us), ARPHRD_ETHER, 6-byte address, protocol. */
	memset(buf, 0, 16);
	buf[3] = 1;
	buf[5] = 6;
	buf[14] = 0x08;
	memcpy(buf + 16, sample_syn_v4, sizeof(sample_syn_v4));
	expect_ok(PACKET_DLT_LINUX_SLL, buf, 16 + sizeof(sample_syn_v4), &p);
	assert_is_syn(&p, buf + 16);
	expect_reject(PACKET_DLT_LINUX_SLL, buf, 15,
		      "linux cooked (sll) header truncated: frame shorter than 16 bytes");
	buf[14] = 0x08, buf[15] = 0x06;
	expect_reject(PACKET_DLT_LINUX_SLL, buf, 16 + sizeof(sample_syn_v4),
		      "not ip (ethertype 0x0806, arp)");

	/* SLL2: protocol first, then reserved, ifindex, ARPHRD, type, addr. */
	memset(buf, 0, 20);
	buf[0] = 0x86, buf[1] = 0xdd;
	buf[7] = 2;
	buf[9] = 1;
	buf[11] = 6;
	memcpy(buf + 20, sample_syn_v6, sizeof(sample_syn_v6));
	expect_ok(PACKET_DLT_LINUX_SLL2, buf, 20 + sizeof(sample_syn_v6), &p);
	assert_int_equal(p.family, AF_INET6);
	assert_ptr_equal(p.l3, buf + 20);
	expect_reject(PACKET_DLT_LINUX_SLL2, buf, 19,
		      "linux cooked v2 (sll2) header truncated: frame shorter than 20 bytes");
}

static void test_raw_and_unknown(void **state)
{
	struct packet p;

	expect_ok(PACKET_DLT_RAW, sample_syn_v4, sizeof(sample_syn_v4), &p);
	assert_is_syn(&p, sample_syn_v4);
	expect_reject((enum packet_dlt)99, sample_syn_v4, sizeof(sample_syn_v4),
		      "unknown data-link type");
}

/* Every prefix of the Ethernet frame, in a buffer of exactly that size. */
static void test_short_frames(void **state)
{
	for (size_t n = 0; n < sizeof(sample_syn_eth); n++) {
		uint8_t *copy = malloc(n ? n : 1);
		struct packet p;
		const char *why = NULL;

		memcpy(copy, sample_syn_eth, n);
		assert_int_equal(packet_parse_dlt(PACKET_DLT_ETHERNET, copy, n, 0, &p, &why), -1);
		assert_non_null(why);
		free(copy);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_ethernet_frame),
		cmocka_unit_test(test_vlan_tags),
		cmocka_unit_test(test_endless_vlan_tags),
		cmocka_unit_test(test_not_ip),
		cmocka_unit_test(test_type_and_version_disagree),
		cmocka_unit_test(test_ip_errors_pass_through),
		cmocka_unit_test(test_linux_cooked),
		cmocka_unit_test(test_raw_and_unknown),
		cmocka_unit_test(test_short_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
