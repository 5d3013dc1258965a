/*
 * test_copy_capture_mirror.c — --mirror in the capture path
 * (copy/capture/capture_mirror.c through capture_deliver_frame, as every
 * backend calls it): frames of a traffic mirror as a collector receives
 * them (Ethernet, outer IPv4, then VXLAN, GENEVE with IP inside, GRE with
 * ERSPAN type III), the filter from -x applied to the packets inside.
 *
 * What is checked: the mirrored packet to port 80 is delivered, parsed
 * from its own IP header, in each encapsulation; one to port 22 is
 * filtered out; a frame that is no encapsulation (the plain packet to
 * port 80) is skipped, not delivered; a truncated encapsulation counts as
 * malformed; a filter that does not compile is refused at open; without a
 * filter everything inside is delivered; GENEVE inside VXLAN is taken
 * apart to the innermost packet.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "copy/capture/capture.h"
#include "copy/capture/capture_mirror.h"

static const uint8_t outer_eth[] = { 2, 0, 0, 0, 0, 7, 2, 0, 0, 0, 0, 2, 0x08, 0x00 };
static const uint8_t inner_eth[] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00 };

static uint8_t frame[256];
static size_t frame_len;
static int delivered;
static uint16_t last_dport;

static void on_deliver(void *ctx, uint64_t ts_us, const struct packet *p)
{
	delivered++;
	last_dport = p->dport;
}

static void put(const void *b, size_t n)
{
	memcpy(frame + frame_len, b, n);
	frame_len += n;
}

/* Outer Ethernet + IPv4 198.18.0.2 -> 198.18.0.7 of protocol proto. */
static void begin(uint8_t proto)
{
	uint8_t ip[20] = { 0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0,
			   198, 18, 0, 2, 198, 18, 0, 7 };

	frame_len = 0;
	put(outer_eth, sizeof(outer_eth));
	put(ip, sizeof(ip));
}

static void udp(uint16_t dport)
{
	uint8_t h[8] = { 0xc0, 0, (uint8_t)(dport >> 8), (uint8_t)dport, 0, 0, 0, 0 };

	put(h, 8);
}

/* The mirrored client packet 198.18.0.1:40000 -> 198.18.0.2:dport. */
static void tcp_packet(uint16_t dport)
{
	uint8_t p[40] = { 0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2,
			  0x9c, 0x40, (uint8_t)(dport >> 8), (uint8_t)dport, 0, 0, 0, 1, 0, 0, 0, 0,
			  0x50, 0x02, 0x20, 0, 0, 0, 0, 0 };

	put(p, sizeof(p));
}

/* Lengths of the outer IP and UDP headers, then deliver. */
static void deliver(struct capture *c)
{
	size_t ip_len = frame_len - 14;

	frame[14 + 2] = (uint8_t)(ip_len >> 8);
	frame[14 + 3] = (uint8_t)ip_len;
	if (frame[14 + 9] == 17) {
		frame[34 + 4] = (uint8_t)((ip_len - 20) >> 8);
		frame[34 + 5] = (uint8_t)(ip_len - 20);
	}
	capture_deliver_frame(c, PACKET_DLT_ETHERNET, 1, frame, frame_len);
}

static void vxlan(uint16_t dport)
{
	static const uint8_t h[8] = { 0x08, 0, 0, 0, 0, 0, 100, 0 };

	begin(17);
	udp(4789);
	put(h, 8);
	put(inner_eth, sizeof(inner_eth));
	tcp_packet(dport);
}

static void open_mirror(struct capture *c, const char *filter)
{
	struct decap_config cfg;
	char err[256];

	memset(c, 0, sizeof(*c));
	c->deliver = on_deliver;
	delivered = 0;
	assert_int_equal(decap_parse_config("all", &cfg, err, sizeof(err)), 0);
	if (capture_mirror_open(c, &cfg, filter, err, sizeof(err)) != 0)
		fail_msg("capture_mirror_open: %s", err);
}

static void test_filtered_inside(void **state)
{
	static const uint8_t geneve_ip[8] = { 0, 0, 0x08, 0x00, 0, 0, 5, 0 };
	static const uint8_t gre_erspan3[4] = { 0x00, 0x00, 0x22, 0xeb };
	static const uint8_t erspan3[12] = { 0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0 };
	struct capture c;

	(void)state;
	open_mirror(&c, "tcp and (dst port 80)");
	vxlan(80);
	deliver(&c);
	assert_int_equal(delivered, 1);
	assert_int_equal(last_dport, 80);
	vxlan(22);
	deliver(&c);
	assert_int_equal(delivered, 1);
	begin(17);
	udp(6081);
	put(geneve_ip, 8);
	tcp_packet(80);
	deliver(&c);
	assert_int_equal(delivered, 2);
	begin(47);
	put(gre_erspan3, 4);
	put(erspan3, 12);
	put(inner_eth, sizeof(inner_eth));
	tcp_packet(80);
	deliver(&c);
	assert_int_equal(delivered, 3);
	/* The plain packet, not mirrored: skipped. */
	frame_len = 0;
	put(inner_eth, sizeof(inner_eth));
	tcp_packet(80);
	capture_deliver_frame(&c, PACKET_DLT_ETHERNET, 1, frame, frame_len);
	assert_int_equal(delivered, 3);
	/* A VXLAN header cut short: malformed. */
	begin(17);
	udp(4789);
	put(inner_eth, 4);
	deliver(&c);
	assert_int_equal(delivered, 3);
	assert_int_equal(c.counters.packets, 3);
	assert_int_equal(c.counters.malformed, 1);
	assert_int_equal(capture_mirror_counters(&c)->decapsulated, 4);
	assert_int_equal(capture_mirror_counters(&c)->filtered_out, 1);
	assert_int_equal(capture_mirror_counters(&c)->not_encapsulated, 1);
	/* By kind: the two VXLAN frames (one filtered out), GENEVE, ERSPAN III;
	 * the cut VXLAN header is malformed, not decapsulated. */
	assert_int_equal(capture_mirror_counters(&c)->decapsulated_kind[DECAP_VXLAN], 2);
	assert_int_equal(capture_mirror_counters(&c)->decapsulated_kind[DECAP_GENEVE], 1);
	assert_int_equal(capture_mirror_counters(&c)->decapsulated_kind[DECAP_ERSPAN3], 1);
	assert_int_equal(capture_mirror_counters(&c)->decapsulated_kind[DECAP_GRE], 0);
	assert_int_equal(capture_mirror_counters(&c)->malformed, 1);
	capture_mirror_close(&c);
	assert_null(c.mirror);
	assert_null(capture_mirror_counters(&c));
}

/* GENEVE inside VXLAN, and VXLAN inside GENEVE (AWS Traffic Mirroring
 * through a Gateway Load Balancer): the innermost packet is delivered and
 * filtered, each level counted by kind. */
static void test_nested(void **state)
{
	static const uint8_t vxlan_h[8] = { 0x08, 0, 0, 0, 0, 0, 100, 0 };
	static const uint8_t geneve_ip[8] = { 0, 0, 0x08, 0x00, 0, 0, 5, 0 };
	/* The middle IPv4 header: 198.18.0.9 -> 198.18.0.10, UDP, 20 + 8 + 8
	 * + 40 bytes. */
	static const uint8_t mid_ip[20] = { 0x45, 0, 0, 76, 0, 0, 0x40, 0, 64, 17, 0, 0,
					    198, 18, 0, 9, 198, 18, 0, 10 };
	static const uint8_t mid_udp[8] = { 0xc0, 1, 0x17, 0xc1, 0, 56, 0, 0 };	/* to 6081 */
	struct capture c;

	(void)state;
	open_mirror(&c, "tcp and (dst port 80)");
	for (uint16_t dport = 80; dport <= 81; dport++) {
		begin(17);
		udp(4789);
		put(vxlan_h, 8);
		put(inner_eth, sizeof(inner_eth));
		put(mid_ip, sizeof(mid_ip));
		put(mid_udp, sizeof(mid_udp));
		put(geneve_ip, 8);
		tcp_packet(dport);
		deliver(&c);
	}
	/* Port 80 inside both: delivered; 81: the filter's, at the innermost. */
	assert_int_equal(delivered, 1);
	assert_int_equal(last_dport, 80);
	assert_int_equal(capture_mirror_counters(&c)->decapsulated, 2);
	assert_int_equal(capture_mirror_counters(&c)->decapsulated_kind[DECAP_VXLAN], 2);
	assert_int_equal(capture_mirror_counters(&c)->decapsulated_kind[DECAP_GENEVE], 2);
	assert_int_equal(capture_mirror_counters(&c)->filtered_out, 1);
	assert_int_equal(c.counters.malformed, 0);
	/* The other way round: GENEVE (IP inside), then UDP to 4789, VXLAN. */
	begin(17);
	udp(6081);
	put(geneve_ip, 8);
	put(mid_ip, sizeof(mid_ip));
	frame[frame_len - 20 + 3] = 20 + 8 + 8 + 14 + 40;
	udp(4789);
	frame[frame_len - 4] = 0;
	frame[frame_len - 3] = 8 + 8 + 14 + 40;
	put(vxlan_h, 8);
	put(inner_eth, sizeof(inner_eth));
	tcp_packet(80);
	deliver(&c);
	assert_int_equal(delivered, 2);
	assert_int_equal(capture_mirror_counters(&c)->decapsulated_kind[DECAP_VXLAN], 3);
	assert_int_equal(capture_mirror_counters(&c)->decapsulated_kind[DECAP_GENEVE], 3);
	capture_mirror_close(&c);
}

static void test_no_filter(void **state)
{
	struct capture c;

	(void)state;
	open_mirror(&c, NULL);
	vxlan(22);
	deliver(&c);
	assert_int_equal(delivered, 1);
	assert_int_equal(last_dport, 22);
	capture_mirror_close(&c);
}

static void test_bad_filter(void **state)
{
	struct capture c;
	struct decap_config cfg = { .vxlan_port = 4789 };
	char err[256] = "";

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(capture_mirror_open(&c, &cfg, "tcp portt 80", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "filter 'tcp portt 80' (for the mirrored packets)"));
	assert_null(c.mirror);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filtered_inside),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_no_filter),
		cmocka_unit_test(test_bad_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
