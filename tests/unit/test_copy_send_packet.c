/*
 * test_copy_send_packet.c — the AF_PACKET send backend (send_packet.c, -o)
 * for real on netns_veth_pair()'s link, in a namespace private to this
 * process (skipped without root): frames leave dpa and an observer socket
 * on dpb reads them.
 *
 * What is checked: each frame is the Ethernet header (next-hop MAC, the
 * interface's own MAC or the configured one, ETH_P_IP or ETH_P_IPV6) and
 * the packet byte for byte; packets over the device's MTU (or the
 * configured smaller one) are refused at queue time; a qdisc that drops
 * everything gives ENOBUFS, counted as retry and never reported; a device
 * that is down gives ENETDOWN through the fail callback; refused opens.
 * These run with the PACKET_TX_RING (the default); the driver drop with
 * --tx-ring off, the ring keeping such frames (test_copy_send_ring.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netns_fixture.h"
#include "copy/send/send.h"

#define WAIT_MS 3000

static const char *skip_reason;
static bool no_tx_ring;	/* open the senders with --tx-ring off */

static int setup_link(void **state)
{
	netns_veth_pair(&skip_reason);
	return 0;
}

struct failures {
	int calls;
	int err;
};

static void on_fail(void *ctx, const struct session_key *k, int err)
{
	struct failures *f = ctx;

	f->calls++;
	f->err = err;
}

static struct sender *open_packet_on(const char *device, const uint8_t src_mac[6], uint32_t mtu,
				     struct failures *f)
{
	struct send_config cfg = { .kind = SEND_PACKET, .device = device, .mtu = mtu,
				   .no_tx_ring = no_tx_ring };
	char err[256] = "";
	struct sender *s;

	memcpy(cfg.next_hop_mac, netns_mac_b, 6);
	if (src_mac)
		memcpy(cfg.src_mac, src_mac, 6);
	memset(f, 0, sizeof(*f));
	s = send_open(&cfg, on_fail, f, err, sizeof(err));
	if (!s)
		fail_msg("send_open: %s", err);
	assert_int_equal(send_tx_ring_bytes(s) > 0, !no_tx_ring);
	return s;
}

static struct sender *open_packet(const uint8_t src_mac[6], uint32_t mtu, struct failures *f)
{
	return open_packet_on("dpa", src_mac, mtu, f);
}

static const struct session_key key = { .client_port = 40000, .target_port = 80 };

static void expect_frame(const uint8_t *frame, size_t frame_len, const uint8_t src_mac[6],
			 uint16_t ethertype, const uint8_t *pkt, size_t len)
{
	assert_int_equal(frame_len, 14 + len);
	assert_memory_equal(frame, netns_mac_b, 6);
	assert_memory_equal(frame + 6, src_mac, 6);
	assert_int_equal(frame[12] << 8 | frame[13], ethertype);
	/* Past the IP stack: nothing is changed, not even the IP id. */
	assert_memory_equal(frame + 14, pkt, len);
}

static void test_frames(void **state)
{
	struct failures f;
	struct sender *s;
	uint8_t pkt[200], seen[300];
	size_t len, seen_len = 0, total = 0;
	int observer;

	if (skip_reason)
		skip();
	observer = fixture_observer_open("dpb");
	s = open_packet(NULL, 0, &f);
	for (uint32_t i = 0; i < 3; i++) {
		len = fixture_tcp_packet(pkt, sizeof(pkt), "198.18.0.1", 40000, "198.18.0.2", 80,
					 100 + i, 30);
		total += 14 + len;
		assert_int_equal(send_queue(s, &key, pkt, len), ENGINE_SEND_OK);
	}
	send_flush(s);
	assert_int_equal(fixture_observer_count(observer, 80, 3, WAIT_MS, seen, sizeof(seen),
						&seen_len), 3);
	/* No source MAC configured: dpa's own. */
	expect_frame(seen, seen_len, netns_mac_a, 0x0800, pkt, len);

	len = fixture_tcp_packet(pkt, sizeof(pkt), "2001:2::1", 40000, "2001:2::2", 80, 9, 30);
	total += 14 + len;
	assert_int_equal(send_queue(s, &key, pkt, len), ENGINE_SEND_OK);
	send_flush(s);
	assert_int_equal(fixture_observer_count(observer, 80, 1, WAIT_MS, seen, sizeof(seen),
						&seen_len), 1);
	expect_frame(seen, seen_len, netns_mac_a, 0x86dd, pkt, len);
	assert_int_equal(send_counters(s)->packets, 4);
	assert_int_equal(send_counters(s)->bytes, total);
	assert_int_equal(f.calls, 0);
	send_close(s);
	close(observer);
}

static void test_configured_source_mac(void **state)
{
	static const uint8_t mac_c[6] = { 2, 0, 0, 0, 0, 0xc };
	struct failures f;
	struct sender *s;
	uint8_t pkt[200], seen[300];
	size_t len = fixture_tcp_packet(pkt, sizeof(pkt), "198.18.0.1", 40000, "198.18.0.2", 80, 1, 0);
	size_t seen_len = 0;
	int observer;

	if (skip_reason)
		skip();
	observer = fixture_observer_open("dpb");
	s = open_packet(mac_c, 0, &f);
	assert_int_equal(send_queue(s, &key, pkt, len), ENGINE_SEND_OK);
	send_flush(s);
	assert_int_equal(fixture_observer_count(observer, 80, 1, WAIT_MS, seen, sizeof(seen),
						&seen_len), 1);
	expect_frame(seen, seen_len, mac_c, 0x0800, pkt, len);
	send_close(s);
	close(observer);
}

static void test_mtu(void **state)
{
	static uint8_t pkt[2000];
	struct failures f;
	struct sender *s;
	size_t len;

	if (skip_reason)
		skip();
	/* veth's MTU is 1500: the IP packet may be 1500 bytes, not 1501. */
	s = open_packet(NULL, 0, &f);
	len = fixture_tcp_packet(pkt, sizeof(pkt), "198.18.0.1", 40000, "198.18.0.2", 80, 1, 1461);
	assert_int_equal(len, 1501);
	assert_int_equal(send_queue(s, &key, pkt, len), ENGINE_SEND_TOO_BIG);
	assert_int_equal(send_queue(s, &key, pkt, 1500), ENGINE_SEND_OK);
	send_close(s);
	/* A configured MTU below the device's wins. */
	s = open_packet(NULL, 1000, &f);
	assert_int_equal(send_queue(s, &key, pkt, 1001), ENGINE_SEND_TOO_BIG);
	assert_int_equal(send_queue(s, &key, pkt, 1000), ENGINE_SEND_OK);
	send_close(s);
}

/* The device's qdisc is bypassed: a queue of length 0, which drops every
 * frame that goes through it, lets all of ours by. */
static void test_qdisc_bypassed(void **state)
{
	struct failures f;
	struct sender *s;
	uint8_t pkt[200];
	size_t len = fixture_tcp_packet(pkt, sizeof(pkt), "198.18.0.1", 40000, "198.18.0.2", 80, 1, 0);
	int observer;

	if (skip_reason)
		skip();
	observer = fixture_observer_open("dpb");
	netns_sh("tc qdisc add dev dpa root pfifo limit 0");
	s = open_packet(NULL, 0, &f);
	for (int i = 0; i < 5; i++)
		assert_int_equal(send_queue(s, &key, pkt, len), ENGINE_SEND_OK);
	send_flush(s);
	netns_sh("tc qdisc del dev dpa root");
	assert_int_equal(send_counters(s)->packets, 5);
	assert_int_equal(send_counters(s)->retry, 0);
	assert_int_equal(fixture_observer_count(observer, 80, 5, WAIT_MS, NULL, 0, NULL), 5);
	assert_int_equal(f.calls, 0);
	send_close(s);
	close(observer);
}

/* Past the qdisc, a driver that cannot take a frame drops it (a tap
 * device nobody opened has no carrier; a qdisc would have held the frames
 * instead): ENOBUFS, counted as a retry, not the session's end. Without
 * the TX ring: with it the frames wait in the ring. */
static void test_driver_drop_is_retry(void **state)
{
	struct failures f;
	struct sender *s;
	uint8_t pkt[200];
	size_t len = fixture_tcp_packet(pkt, sizeof(pkt), "198.18.0.1", 40000, "198.18.0.2", 80, 1, 0);

	if (skip_reason)
		skip();
	netns_sh("ip tuntap add dev dpt mode tap && ip link set dpt up");
	no_tx_ring = true;
	s = open_packet_on("dpt", NULL, 0, &f);
	no_tx_ring = false;
	for (int i = 0; i < 5; i++)
		assert_int_equal(send_queue(s, &key, pkt, len), ENGINE_SEND_OK);
	send_flush(s);
	assert_int_equal(send_counters(s)->retry, 5);
	assert_int_equal(send_counters(s)->packets, 0);
	assert_int_equal(send_counters(s)->failed, 0);
	assert_int_equal(f.calls, 0);
	send_close(s);
	netns_sh("ip link del dpt");
}

static void test_device_down_fails(void **state)
{
	struct failures f;
	struct sender *s;
	uint8_t pkt[200];
	size_t len = fixture_tcp_packet(pkt, sizeof(pkt), "198.18.0.1", 40000, "198.18.0.2", 80, 1, 0);

	if (skip_reason)
		skip();
	s = open_packet(NULL, 0, &f);
	netns_sh("ip link set dpa down");
	assert_int_equal(send_queue(s, &key, pkt, len), ENGINE_SEND_OK);
	assert_int_equal(send_queue(s, &key, pkt, len), ENGINE_SEND_OK);
	send_flush(s);
	netns_sh("ip link set dpa up");
	assert_int_equal(send_counters(s)->failed, 2);
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.err, ENETDOWN);
	send_close(s);
}

static void expect_refused(const char *device, const uint8_t next_hop[6], const char *text)
{
	struct send_config cfg = { .kind = SEND_PACKET, .device = device };
	struct failures f;
	char err[256] = "";

	memcpy(cfg.next_hop_mac, next_hop, 6);
	assert_null(send_open(&cfg, on_fail, &f, err, sizeof(err)));
	if (!strstr(err, text))
		fail_msg("error \"%s\" does not say \"%s\"", err, text);
}

static void test_open_refused(void **state)
{
	static const uint8_t zero[6];
	struct send_config cfg = { .kind = SEND_PACKET, .device = "lo" };
	struct failures f;
	char err[256] = "";
	struct sender *s;

	if (skip_reason)
		skip();
	expect_refused(NULL, netns_mac_b, "-o: no output device");
	expect_refused("nosuchdev0", netns_mac_b, "nosuchdev0: no such device");
	expect_refused("averyveryverylongname0", netns_mac_b, "no such device");
	expect_refused("dpa", zero, "no next-hop MAC");
	/* Loopback takes Ethernet headers: accepted. */
	memcpy(cfg.next_hop_mac, netns_mac_b, 6);
	s = send_open(&cfg, on_fail, &f, err, sizeof(err));
	if (!s)
		fail_msg("lo refused: %s", err);
	send_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_configured_source_mac),
		cmocka_unit_test(test_mtu),
		cmocka_unit_test(test_qdisc_bypassed),
		cmocka_unit_test(test_driver_drop_is_retry),
		cmocka_unit_test(test_device_down_fails),
		cmocka_unit_test(test_open_refused),
	};

	return cmocka_run_group_tests(tests, setup_link, NULL);
}
