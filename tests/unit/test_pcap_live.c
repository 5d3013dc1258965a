/*
 * test_pcap_live.c — lib/runtime/pcap_live.c, what both daemons' pcap code shares:
 *
 *   - the DLT mapping: the six data-link types packet_parse_dlt() reads, and a
 *     refusal for the others;
 *   - the outgoing check on hand-built Linux cooked frames (SLL: 16-bit
 *     packet type at offset 0; SLL2: one byte at offset 10), only when the
 *     kernel refused the direction, never on Ethernet or raw IP, never past
 *     a short frame's end;
 *   - opening for real in a private network namespace (skipped without
 *     root): lo with a filter, "any" for no device, and the error texts of
 *     a device that does not exist and of a filter libpcap refuses, with
 *     nothing left open after a refusal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "netns_fixture.h"
#include "lib/runtime/pcap_live.h"
#include "lib/net/packet_dlt.h"

#define SLL_HEADER_LEN 16
#define SLL2_HEADER_LEN 20
#define PACKET_HOST 0		/* linux/if_packet.h: to us */
#define PACKET_OUTGOING 4	/* linux/if_packet.h: from us */

static const char *netns_skip;

static void expect_dlt(int pcap_dlt, enum packet_dlt want)
{
	enum packet_dlt dlt = (enum packet_dlt)-1;

	assert_int_equal(pcap_live_dlt_from_pcap(pcap_dlt, &dlt), 0);
	assert_int_equal(dlt, want);
}

static void test_dlt_from_pcap(void **state)
{
	enum packet_dlt dlt = PACKET_DLT_RAW;

	expect_dlt(DLT_EN10MB, PACKET_DLT_ETHERNET);
	expect_dlt(DLT_LINUX_SLL, PACKET_DLT_LINUX_SLL);
	expect_dlt(DLT_LINUX_SLL2, PACKET_DLT_LINUX_SLL2);
	expect_dlt(DLT_RAW, PACKET_DLT_RAW);
	expect_dlt(DLT_IPV4, PACKET_DLT_RAW);
	expect_dlt(DLT_IPV6, PACKET_DLT_RAW);
	/* refused, and dlt left as it was */
	assert_int_equal(pcap_live_dlt_from_pcap(DLT_NULL, &dlt), -1);
	assert_int_equal(pcap_live_dlt_from_pcap(DLT_IEEE802_11, &dlt), -1);
	assert_int_equal(pcap_live_dlt_from_pcap(DLT_PPP, &dlt), -1);
	assert_int_equal(dlt, PACKET_DLT_RAW);
}

/* A cooked v1 header: packet type (big-endian 16 bits), ARPHRD_ETHER, a
 * 6-byte address, protocol IPv4. */
static void sll_frame(uint8_t frame[SLL_HEADER_LEN], uint16_t packet_type)
{
	memset(frame, 0, SLL_HEADER_LEN);
	frame[0] = packet_type >> 8;
	frame[1] = packet_type & 0xff;
	frame[3] = 1;
	frame[5] = 6;
	frame[14] = 0x08;
}

/* A cooked v2 header: protocol IPv4, reserved, interface index 2,
 * ARPHRD_ETHER, packet type at offset 10, address length 6. */
static void sll2_frame(uint8_t frame[SLL2_HEADER_LEN], uint8_t packet_type)
{
	memset(frame, 0, SLL2_HEADER_LEN);
	frame[0] = 0x08;
	frame[7] = 2;
	frame[9] = 1;
	frame[10] = packet_type;
	frame[11] = 6;
}

static void test_outgoing_sll(void **state)
{
	struct pcap_live live = { .dlt = PACKET_DLT_LINUX_SLL, .check_direction = true };
	uint8_t frame[SLL_HEADER_LEN];

	sll_frame(frame, PACKET_OUTGOING);
	assert_true(pcap_live_is_outgoing(&live, frame, sizeof(frame)));
	/* the two bytes of the type are enough; one is not */
	assert_true(pcap_live_is_outgoing(&live, frame, 2));
	assert_false(pcap_live_is_outgoing(&live, frame, 1));
	assert_false(pcap_live_is_outgoing(&live, frame, 0));
	sll_frame(frame, PACKET_HOST);
	assert_false(pcap_live_is_outgoing(&live, frame, sizeof(frame)));
	/* big-endian: 0x0400 is not type 4 */
	sll_frame(frame, PACKET_OUTGOING << 8);
	assert_false(pcap_live_is_outgoing(&live, frame, sizeof(frame)));
	/* the kernel filters the direction itself: nothing to check */
	sll_frame(frame, PACKET_OUTGOING);
	live.check_direction = false;
	assert_false(pcap_live_is_outgoing(&live, frame, sizeof(frame)));
}

static void test_outgoing_sll2(void **state)
{
	struct pcap_live live = { .dlt = PACKET_DLT_LINUX_SLL2, .check_direction = true };
	uint8_t frame[SLL2_HEADER_LEN];

	sll2_frame(frame, PACKET_OUTGOING);
	assert_true(pcap_live_is_outgoing(&live, frame, sizeof(frame)));
	assert_true(pcap_live_is_outgoing(&live, frame, 11));
	assert_false(pcap_live_is_outgoing(&live, frame, 10));
	sll2_frame(frame, PACKET_HOST);
	assert_false(pcap_live_is_outgoing(&live, frame, sizeof(frame)));
	/* an SLL2 frame read as SLL: offset 0 holds the protocol, not 4 */
	sll2_frame(frame, PACKET_OUTGOING);
	live.dlt = PACKET_DLT_LINUX_SLL;
	assert_false(pcap_live_is_outgoing(&live, frame, sizeof(frame)));
	live.dlt = PACKET_DLT_LINUX_SLL2;
	live.check_direction = false;
	assert_false(pcap_live_is_outgoing(&live, frame, sizeof(frame)));
}

/* Ethernet and raw IP carry no packet type: never taken for outgoing,
 * whatever the bytes where a cooked header keeps it. */
static void test_outgoing_other_dlts(void **state)
{
	struct pcap_live live = { .dlt = PACKET_DLT_ETHERNET, .check_direction = true };
	uint8_t frame[SLL2_HEADER_LEN];

	memset(frame, 0, sizeof(frame));
	frame[1] = PACKET_OUTGOING;
	frame[10] = PACKET_OUTGOING;
	assert_false(pcap_live_is_outgoing(&live, frame, sizeof(frame)));
	live.dlt = PACKET_DLT_RAW;
	assert_false(pcap_live_is_outgoing(&live, frame, sizeof(frame)));
}

/* both_directions on Ethernet: a frame from the device's own address is
 * one this host sent (doppel-copy --compare: an online answer). */
static void test_outgoing_ethernet_own_address(void **state)
{
	struct pcap_live live = { .dlt = PACKET_DLT_ETHERNET, .check_direction = true,
				  .own_mac_known = true,
				  .own_mac = { 0x02, 0x00, 0xc6, 0x12, 0x00, 0x02 } };
	uint8_t frame[14] = { 0x02, 0x00, 0xc6, 0x12, 0x00, 0x01,	/* to a peer */
			      0x02, 0x00, 0xc6, 0x12, 0x00, 0x02, 0x08, 0x00 };

	(void)state;
	assert_true(pcap_live_is_outgoing(&live, frame, sizeof(frame)));
	assert_true(pcap_live_is_outgoing(&live, frame, 12));
	assert_false(pcap_live_is_outgoing(&live, frame, 11));
	frame[11] = 0x01;	/* from the peer */
	assert_false(pcap_live_is_outgoing(&live, frame, sizeof(frame)));
	frame[11] = 0x02;
	live.check_direction = false;
	assert_false(pcap_live_is_outgoing(&live, frame, sizeof(frame)));
}

static void expect_refused(const struct pcap_live_config *cfg, const char *want_prefix)
{
	struct pcap_live live;
	char err[512] = "";

	assert_int_equal(pcap_live_open(&live, cfg, err, sizeof(err)), -1);
	assert_null(live.handle);
	assert_int_equal(live.fd, -1);
	if (strncmp(err, want_prefix, strlen(want_prefix)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", err, want_prefix);
}

static void test_refused_device(void **state)
{
	struct pcap_live_config cfg = { .device = "nosuchdev0", .snaplen = 256,
					.buffer_bytes = 1 << 20, .filter = "tcp" };
	struct pcap_live live;
	char err[512] = "";

	if (netns_skip)
		skip();
	assert_int_equal(pcap_live_open(&live, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "nosuchdev0: no such device");
	assert_null(live.handle);
}

static void test_refused_filter(void **state)
{
	struct pcap_live_config cfg = { .device = "lo", .snaplen = 256,
					.buffer_bytes = 1 << 20, .filter = "tcp portt 80" };

	if (netns_skip)
		skip();
	expect_refused(&cfg, "filter 'tcp portt 80': ");
}

static void test_open_lo(void **state)
{
	struct pcap_live_config cfg = { .device = "lo", .snaplen = 256,
					.buffer_bytes = 1 << 20, .filter = "tcp port 80" };
	struct pcap_live live;
	char err[512] = "";

	if (netns_skip)
		skip();
	if (pcap_live_open(&live, &cfg, err, sizeof(err)) != 0)
		fail_msg("open lo: %s", err);
	assert_non_null(live.handle);
	assert_true(live.fd >= 0);
	assert_int_equal(live.dlt, PACKET_DLT_ETHERNET);
	/* Linux takes PCAP_D_IN: the kernel leaves our output out */
	assert_false(live.check_direction);
	assert_int_equal(pcap_snapshot(live.handle), 256);
	pcap_live_close(&live);
	assert_null(live.handle);
	assert_int_equal(live.fd, -1);
	pcap_live_close(&live);	/* twice is harmless */
}

/* Both directions on lo: no direction set, the device's address read. */
static void test_open_lo_both_directions(void **state)
{
	struct pcap_live_config cfg = { .device = "lo", .snaplen = 256,
					.buffer_bytes = 1 << 20, .filter = "tcp port 80",
					.both_directions = true };
	struct pcap_live live;
	char err[512] = "";

	if (netns_skip)
		skip();
	if (pcap_live_open(&live, &cfg, err, sizeof(err)) != 0)
		fail_msg("open lo: %s", err);
	assert_true(live.check_direction);
	assert_true(live.own_mac_known);
	pcap_live_close(&live);
}

/* No device (and no filter) is every interface, a Linux cooked link. */
static void test_open_any(void **state)
{
	struct pcap_live_config cfg = { .device = NULL, .snaplen = 128,
					.buffer_bytes = 1 << 20, .filter = "" };
	struct pcap_live live;
	char err[512] = "";

	if (netns_skip)
		skip();
	if (pcap_live_open(&live, &cfg, err, sizeof(err)) != 0)
		fail_msg("open any: %s", err);
	assert_true(live.dlt == PACKET_DLT_LINUX_SLL || live.dlt == PACKET_DLT_LINUX_SLL2);
	pcap_live_close(&live);
}

static int setup(void **state)
{
	netns_enter(&netns_skip);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dlt_from_pcap),
		cmocka_unit_test(test_outgoing_ethernet_own_address),
		cmocka_unit_test(test_open_lo_both_directions),
		cmocka_unit_test(test_outgoing_sll),
		cmocka_unit_test(test_outgoing_sll2),
		cmocka_unit_test(test_outgoing_other_dlts),
		cmocka_unit_test(test_refused_device),
		cmocka_unit_test(test_refused_filter),
		cmocka_unit_test(test_open_lo),
		cmocka_unit_test(test_open_any),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
