/*
 * test_decap.c — traffic mirror decapsulation (lib/net/decap.c): VXLAN,
 * GENEVE (Ethernet and IP inside, with options), GRE with its optional
 * fields, ERSPAN types I, II and III (with and without the platform
 * subheader), over IPv4 and IPv6; each header written out byte by byte as
 * its RFC or draft draws it, the inner packet then parsed to its TCP ports.
 * Packets of other kinds are "not ours" (1), malformed ones refused with a
 * reason (-1); --mirror's parser and the outer filter it builds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lib/net/decap.h"
#include "lib/net/packet.h"
#include "lib/net/packet_dlt.h"

/* An IPv4 TCP packet 198.18.0.1:40000 -> 198.18.0.2:80, 20 bytes of TCP
 * header and no payload (checksums are not the parser's concern). */
static const uint8_t inner_ip[] = {
	0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00,
	198, 18, 0, 1, 198, 18, 0, 2,
	0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0x00, 0, 0, 0, 0,
};
/* The same behind an Ethernet header (to 02:00:00:00:00:02). */
static const uint8_t ether[] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00 };

static uint8_t pkt[512];
static size_t pkt_len;

static void put(const uint8_t *b, size_t n)
{
	memcpy(pkt + pkt_len, b, n);
	pkt_len += n;
}

/* Outer IPv4 (198.18.0.9 -> 198.18.0.7) or IPv6 header of protocol proto;
 * its length fields are set by finish(). */
static void outer(int v6, uint8_t proto)
{
	static const uint8_t v4h[] = { 0x45, 0, 0, 0, 0, 0, 0x40, 0x00, 64, 0, 0, 0,
				       198, 18, 0, 9, 198, 18, 0, 7 };
	static const uint8_t v6h[] = { 0x60, 0, 0, 0, 0, 0, 0, 64,
				       0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9,
				       0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7 };

	pkt_len = 0;
	if (v6) {
		put(v6h, sizeof(v6h));
		pkt[6] = proto;
	} else {
		put(v4h, sizeof(v4h));
		pkt[9] = proto;
	}
}

static void udp(uint16_t dport)
{
	uint8_t h[8] = { 0xc0, 0x00, (uint8_t)(dport >> 8), (uint8_t)dport, 0, 0, 0, 0 };

	put(h, 8);
}

/* Lengths: the outer IP's, and the UDP's when there is one. */
static void finish(void)
{
	size_t ip = pkt[0] >> 4 == 6 ? 40 : 20;
	uint8_t proto = pkt[0] >> 4 == 6 ? pkt[6] : pkt[9];

	if (ip == 20) {
		pkt[2] = (uint8_t)(pkt_len >> 8);
		pkt[3] = (uint8_t)pkt_len;
	} else {
		pkt[4] = (uint8_t)((pkt_len - 40) >> 8);
		pkt[5] = (uint8_t)(pkt_len - 40);
	}
	if (proto == 17) {
		pkt[ip + 4] = (uint8_t)((pkt_len - ip) >> 8);
		pkt[ip + 5] = (uint8_t)(pkt_len - ip);
	}
}

static const struct decap_config all = { DECAP_VXLAN_PORT, DECAP_GENEVE_PORT, true };

/* Decapsulate pkt: kind, id, where the inner frame starts, and that it
 * parses to the inner TCP packet. */
static void expect(enum decap_kind kind, uint32_t id, size_t inner_off, enum packet_dlt dlt)
{
	struct decap_result r;
	struct packet p;
	const char *why = NULL;

	finish();
	if (decap_inner(&all, pkt, pkt_len, &r, &why) != 0)
		fail_msg("decap_inner: %s", why ? why : "not ours");
	assert_int_equal(r.kind, kind);
	assert_int_equal(r.id, id);
	assert_int_equal(r.dlt, dlt);
	assert_ptr_equal(r.inner, pkt + inner_off);
	assert_int_equal(r.inner_len, pkt_len - inner_off);
	assert_int_equal(packet_parse_dlt(r.dlt, r.inner, r.inner_len, 0, &p, &why), 0);
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.dport, 80);
}

static void expect_refused(const char *reason)
{
	struct decap_result r;
	const char *why = NULL;

	finish();
	assert_int_equal(decap_inner(&all, pkt, pkt_len, &r, &why), -1);
	assert_non_null(why);
	if (!strstr(why, reason))
		fail_msg("refused for '%s', not '%s'", why, reason);
}

static void test_vxlan(void **state)
{
	/* RFC 7348 section 5: flags 0x08 (I), 24 reserved bits, VNI, 8 reserved. */
	static const uint8_t vxlan[] = { 0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0 };

	(void)state;
	for (int v6 = 0; v6 <= 1; v6++) {
		outer(v6, 17);
		udp(4789);
		put(vxlan, 8);
		put(ether, sizeof(ether));
		put(inner_ip, sizeof(inner_ip));
		expect(DECAP_VXLAN, 0x123456, (v6 ? 40 : 20) + 16, PACKET_DLT_ETHERNET);
	}
}

static void test_geneve(void **state)
{
	/* RFC 8926 section 3.4: Ver 0, Opt Len 2 (8 bytes), O 0, C 0, protocol
	 * 0x6558, VNI 0x000102, reserved; one option: class 0x0103, type 0x80,
	 * length 1 (4 bytes of data). */
	static const uint8_t geneve[] = { 0x02, 0x00, 0x65, 0x58, 0x00, 0x01, 0x02, 0x00,
					  0x01, 0x03, 0x80, 0x01, 0xde, 0xad, 0xbe, 0xef };
	static const uint8_t geneve_ip[] = { 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x07, 0x00 };

	(void)state;
	outer(0, 17);
	udp(6081);
	put(geneve, sizeof(geneve));
	put(ether, sizeof(ether));
	put(inner_ip, sizeof(inner_ip));
	expect(DECAP_GENEVE, 0x000102, 20 + 8 + 16, PACKET_DLT_ETHERNET);
	outer(1, 17);
	udp(6081);
	put(geneve_ip, sizeof(geneve_ip));
	put(inner_ip, sizeof(inner_ip));
	expect(DECAP_GENEVE, 7, 40 + 8 + 8, PACKET_DLT_RAW);
}

static void test_gre(void **state)
{
	/* RFC 2784/2890: C K S set, version 0, 0x6558; checksum + reserved1,
	 * key 0x0a0b0c0d, sequence. */
	static const uint8_t gre_cks[] = { 0xb0, 0x00, 0x65, 0x58, 0x12, 0x34, 0, 0,
					   0x0a, 0x0b, 0x0c, 0x0d, 0, 0, 0, 9 };
	static const uint8_t gre_ip[] = { 0x00, 0x00, 0x08, 0x00 };

	(void)state;
	outer(0, 47);
	put(gre_cks, sizeof(gre_cks));
	put(ether, sizeof(ether));
	put(inner_ip, sizeof(inner_ip));
	expect(DECAP_GRE, 0x0a0b0c0d, 20 + 16, PACKET_DLT_ETHERNET);
	outer(1, 47);
	put(gre_ip, sizeof(gre_ip));
	put(inner_ip, sizeof(inner_ip));
	expect(DECAP_GRE, 0, 40 + 4, PACKET_DLT_RAW);
}

static void test_erspan(void **state)
{
	/* Type I: GRE without sequence, 0x88be, the frame at once. */
	static const uint8_t gre1[] = { 0x00, 0x00, 0x88, 0xbe };
	/* Type II: GRE S set + sequence; ERSPAN Ver 1, VLAN 0, COS 0, En 0,
	 * T 0, session 0x155, reserved, index 0. */
	static const uint8_t gre2[] = { 0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1 };
	static const uint8_t erspan2[] = { 0x10, 0x00, 0x01, 0x55, 0, 0, 0, 0 };
	/* Type III: GRE (with sequence, as Linux sends it), 0x22eb; ERSPAN
	 * Ver 2, session 0x3ff, timestamp, SGT, P FT HwID D Gra O. */
	static const uint8_t gre3[] = { 0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 2 };
	static const uint8_t erspan3[] = { 0x20, 0x00, 0x03, 0xff, 1, 2, 3, 4, 0, 0, 0x00, 0x00 };
	static const uint8_t erspan3_o[] = { 0x20, 0x00, 0x00, 0x07, 1, 2, 3, 4, 0, 0, 0x00, 0x01 };
	static const uint8_t subheader[8] = { 0 };

	(void)state;
	outer(0, 47);
	put(gre1, sizeof(gre1));
	put(ether, sizeof(ether));
	put(inner_ip, sizeof(inner_ip));
	expect(DECAP_ERSPAN1, 0, 24, PACKET_DLT_ETHERNET);

	outer(0, 47);
	put(gre2, sizeof(gre2));
	put(erspan2, sizeof(erspan2));
	put(ether, sizeof(ether));
	put(inner_ip, sizeof(inner_ip));
	expect(DECAP_ERSPAN2, 0x155, 20 + 8 + 8, PACKET_DLT_ETHERNET);

	outer(1, 47);
	put(gre3, sizeof(gre3));
	put(erspan3, sizeof(erspan3));
	put(ether, sizeof(ether));
	put(inner_ip, sizeof(inner_ip));
	expect(DECAP_ERSPAN3, 0x3ff, 40 + 8 + 12, PACKET_DLT_ETHERNET);

	outer(0, 47);
	put(gre3, sizeof(gre3));
	put(erspan3_o, sizeof(erspan3_o));
	put(subheader, sizeof(subheader));
	put(ether, sizeof(ether));
	put(inner_ip, sizeof(inner_ip));
	expect(DECAP_ERSPAN3, 7, 20 + 8 + 20, PACKET_DLT_ETHERNET);
}

static void test_not_ours(void **state)
{
	struct decap_result r;
	const char *why;
	const struct decap_config vxlan_only = { DECAP_VXLAN_PORT, 0, false };
	static const uint8_t gre_ip[] = { 0x00, 0x00, 0x08, 0x00 };

	(void)state;
	/* The plain TCP packet, a DNS datagram, GRE when only vxlan is asked. */
	assert_int_equal(decap_inner(&all, inner_ip, sizeof(inner_ip), &r, &why), 1);
	outer(0, 17);
	udp(53);
	put(inner_ip, sizeof(inner_ip));
	finish();
	assert_int_equal(decap_inner(&all, pkt, pkt_len, &r, &why), 1);
	outer(0, 47);
	put(gre_ip, sizeof(gre_ip));
	put(inner_ip, sizeof(inner_ip));
	finish();
	assert_int_equal(decap_inner(&vxlan_only, pkt, pkt_len, &r, &why), 1);
	/* geneve's port, not asked: not ours either. */
	outer(0, 17);
	udp(6081);
	put(inner_ip, sizeof(inner_ip));
	finish();
	assert_int_equal(decap_inner(&vxlan_only, pkt, pkt_len, &r, &why), 1);
}

static void test_malformed(void **state)
{
	static const uint8_t vxlan_no_i[] = { 0x00, 0, 0, 0, 0, 0, 1, 0 };
	static const uint8_t geneve_v1[] = { 0x40, 0x00, 0x65, 0x58, 0, 0, 1, 0 };
	static const uint8_t geneve_opts[] = { 0x3f, 0x00, 0x65, 0x58, 0, 0, 1, 0 };
	static const uint8_t geneve_other[] = { 0x00, 0x00, 0x88, 0x47, 0, 0, 1, 0 };
	static const uint8_t gre_v1[] = { 0x00, 0x01, 0x88, 0x0b };
	static const uint8_t gre_r[] = { 0x40, 0x00, 0x08, 0x00 };
	static const uint8_t gre_k[] = { 0x20, 0x00, 0x65, 0x58, 0x00 };
	static const uint8_t gre2[] = { 0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1 };
	static const uint8_t erspan2_v2[] = { 0x20, 0x00, 0x01, 0x55, 0, 0, 0, 0 };
	static const uint8_t gre3[] = { 0x00, 0x00, 0x22, 0xeb };
	static const uint8_t erspan3_o[] = { 0x20, 0x00, 0x00, 0x07, 1, 2, 3, 4, 0, 0, 0x00, 0x01 };

	(void)state;
	outer(0, 17); udp(4789); put(vxlan_no_i, 4); expect_refused("vxlan header truncated");
	outer(0, 17); udp(4789); put(vxlan_no_i, 8); expect_refused("vxlan I flag clear");
	outer(0, 17); udp(6081); put(geneve_v1, 8); expect_refused("geneve version not 0");
	outer(0, 17); udp(6081); put(geneve_opts, 8); expect_refused("geneve options past");
	outer(0, 17); udp(6081); put(geneve_other, 8); expect_refused("not ethernet or ip");
	outer(0, 47); put(gre_v1, 4); expect_refused("gre version not 0");
	outer(0, 47); put(gre_r, 4); expect_refused("gre routing present");
	outer(0, 47); put(gre_k, 5); expect_refused("gre optional fields truncated");
	outer(0, 47); put(gre2, 8); put(erspan2_v2, 8); expect_refused("without version 1");
	outer(0, 47); put(gre2, 8); put(erspan2_v2, 4); expect_refused("type II header truncated");
	outer(0, 47); put(gre3, 4); put(erspan3_o, 12); expect_refused("subheader truncated");
	outer(0, 47); put(gre3, 4); put(erspan3_o, 6); expect_refused("type III header truncated");
	/* A fragment, an UDP length past the packet, a short IPv6 header. */
	outer(0, 47); put(gre3, 4); finish(); pkt[6] = 0x20;
	{
		struct decap_result r;
		const char *why = NULL;

		assert_int_equal(decap_inner(&all, pkt, pkt_len, &r, &why), -1);
		assert_string_equal(why, "outer ipv4 fragment (mirrors must not fragment)");
		outer(0, 17); udp(4789); finish(); pkt[25] = 200;
		assert_int_equal(decap_inner(&all, pkt, pkt_len, &r, &why), -1);
		assert_string_equal(why, "udp length past the packet");
		assert_int_equal(decap_inner(&all, pkt, 0, &r, &why), -1);
		outer(1, 17);
		assert_int_equal(decap_inner(&all, pkt, 39, &r, &why), -1);
		assert_string_equal(why, "outer ipv6 header truncated");
	}
}

static void test_config(void **state)
{
	struct decap_config c;
	char err[160], filter[160];

	(void)state;
	assert_int_equal(decap_parse_config("vxlan", &c, err, sizeof(err)), 0);
	assert_int_equal(c.vxlan_port, 4789);
	assert_int_equal(c.geneve_port, 0);
	assert_false(c.gre);
	assert_int_equal(decap_outer_filter(&c, filter, sizeof(filter)), 0);
	assert_string_equal(filter, "udp dst port 4789");
	assert_int_equal(decap_parse_config("vxlan:8472,geneve,gre", &c, err, sizeof(err)), 0);
	assert_int_equal(c.vxlan_port, 8472);
	assert_int_equal(c.geneve_port, 6081);
	assert_true(c.gre);
	assert_int_equal(decap_outer_filter(&c, filter, sizeof(filter)), 0);
	assert_string_equal(filter, "udp dst port 8472 or udp dst port 6081 or ip proto 47 or ip6 proto 47");
	assert_int_equal(decap_outer_filter(&c, filter, 20), -1);
	assert_int_equal(decap_parse_config("all", &c, err, sizeof(err)), 0);
	assert_true(c.vxlan_port && c.geneve_port && c.gre);
	assert_int_equal(decap_parse_config("erspan", &c, err, sizeof(err)), 0);
	assert_true(c.gre);
	assert_int_equal(decap_parse_config("vxlan:0", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "'vxlan:0': the port must be 1..65535");
	assert_int_equal(decap_parse_config("sflow", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "'sflow' is not a mirror encapsulation (vxlan[:PORT], geneve[:PORT], gre or all)");
	assert_int_equal(decap_parse_config(",", &c, err, sizeof(err)), -1);
	assert_int_equal(decap_parse_config("vxlan:6081,geneve", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "vxlan and geneve on one port (6081)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vxlan),
		cmocka_unit_test(test_geneve),
		cmocka_unit_test(test_gre),
		cmocka_unit_test(test_erspan),
		cmocka_unit_test(test_not_ours),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
