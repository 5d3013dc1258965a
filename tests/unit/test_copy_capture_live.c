/*
 * test_copy_capture_live.c — the afpacket and pcap backends on a real
 * link: netns_veth_pair(), a veth pair in a network namespace private to
 * this process (skipped without root). The capture listens on dpa; frames
 * are injected from dpb with a packet socket, and an observer socket on
 * dpb sees what dpa sent.
 *
 * What is checked: injected TCP frames arrive through the kernel filter
 * and the ring with their addresses, while UDP and other ports stay out;
 * the daemon's own output (send_raw through dpa, and the kernel's RSTs to
 * the injected segments, which match "tcp port 80" too) never comes back
 * as input, though the observer proves it was on the wire; VLAN-tagged
 * frames arrive untagged; all-interfaces capture; refused devices and
 * filters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy/capture/capture.h"
#include "loop_fixture.h"
#include "netns_fixture.h"
#include "copy/send/send.h"

#define GRACE_MS 150	/* how long more deliveries are waited for, after the expected ones */
#define WAIT_MS 3000	/* the longest wait for expected deliveries */

static const char *skip_reason;

static int setup_link(void **state)
{
	netns_veth_pair(&skip_reason);
	return 0;
}

struct seen {
	struct loop *loop;
	int count;
	int want;
	int from_us;	/* delivered with source 198.18.0.1: our own output */
	uint16_t last_dport;
	uint16_t last_sport;
};

static void on_deliver(void *ctx, uint64_t ts_us, const struct packet *p)
{
	struct seen *s = ctx;
	struct dp_addr us;

	dp_addr_parse("198.18.0.1", &us);
	s->count++;
	s->last_dport = p->dport;
	s->last_sport = p->sport;
	if (dp_addr_equal(&p->src, &us))
		s->from_us++;
	assert_true(ts_us > 0);
	if (s->count == s->want)
		loop_stop(s->loop);
}

static void stop_loop(struct loop *l, uint64_t id, void *arg)
{
	loop_stop(l);
}

/* Run until want packets came or WAIT_MS passed, then GRACE_MS more to
 * catch any that should not come. */
static void run_capture(struct loop *l, struct seen *s, int want)
{
	uint64_t timer;

	s->want = want;
	timer = loop_timer_add(l, WAIT_MS, stop_loop, NULL);
	assert_int_equal(loop_run(l), 0);
	loop_timer_cancel(l, timer);
	s->want = -1;
	loop_timer_add(l, GRACE_MS, stop_loop, NULL);
	assert_int_equal(loop_run(l), 0);
}

static void open_ring(struct capture *c, struct loop *l, struct seen *s, enum capture_kind kind,
		      const char *device, const char *filter, uint32_t ring_bytes)
{
	struct capture_config cfg = { .kind = kind, .device = device, .filter = filter,
				      .ring_bytes = ring_bytes };
	char err[256] = "";

	memset(c, 0, sizeof(*c));
	memset(s, 0, sizeof(*s));
	s->loop = l;
	c->ops = capture_ops_for(kind);
	c->deliver = on_deliver;
	c->ctx = s;
	if (c->ops->open(c, l, &cfg, err, sizeof(err)) != 0)
		fail_msg("open %s on %s: %s", c->ops->name, device ? device : "all", err);
}

/* 16 MiB (32,768 frames): every test's packets fit unread. */
static void open_capture(struct capture *c, struct loop *l, struct seen *s, enum capture_kind kind,
			 const char *device, const char *filter)
{
	open_ring(c, l, s, kind, device, filter, 16u << 20);
}

/* From dpb to dpa: a TCP segment 198.18.0.2:40000 > 198.18.0.1:dport. */
static void inject_tcp(uint16_t dport, uint32_t seq)
{
	uint8_t ip[200], frame[220];
	size_t len = fixture_tcp_packet(ip, sizeof(ip), "198.18.0.2", 40000, "198.18.0.1",
					dport, seq, 20);

	fixture_inject("dpb", frame, fixture_ethernet_frame(frame, sizeof(frame), netns_mac_a,
							    netns_mac_b, ip, len));
}

static void inject_udp(uint16_t dport)
{
	uint8_t ip[64], frame[100];
	size_t len = fixture_udp_packet(ip, sizeof(ip), "198.18.0.2", "198.18.0.1", dport);

	fixture_inject("dpb", frame, fixture_ethernet_frame(frame, sizeof(frame), netns_mac_a,
							    netns_mac_b, ip, len));
}

static void ignore_fail(void *ctx, const struct session_key *k, int err)
{
	fail_msg("send refused a packet: errno %d", err);
}

/* Our own output through dpa: send_raw to 198.18.0.2:80, seen on dpb. */
static void send_own_output(int count)
{
	struct send_config cfg = { .kind = SEND_RAW };
	struct session_key key = { .client_port = 40000, .target_port = 80 };
	char err[256] = "";
	struct sender *sender = send_open(&cfg, ignore_fail, NULL, err, sizeof(err));
	int observer = fixture_observer_open("dpb");
	uint8_t ip[200];

	if (!sender)
		fail_msg("send_open: %s", err);
	for (int i = 0; i < count; i++) {
		size_t len = fixture_tcp_packet(ip, sizeof(ip), "198.18.0.1", 80, "198.18.0.2",
						80, 1000 + (uint32_t)i, 10);

		assert_int_equal(send_queue(sender, &key, ip, len), ENGINE_SEND_OK);
	}
	send_flush(sender);
	assert_int_equal(send_counters(sender)->packets, count);
	/* On the wire for sure: dpb saw them all. */
	assert_int_equal(fixture_observer_count(observer, 80, count, WAIT_MS, NULL, 0, NULL), count);
	close(observer);
	send_close(sender);
}

static void check_in_not_out(struct loop *l, enum capture_kind kind)
{
	struct capture c;
	struct seen s;

	if (skip_reason)
		skip();
	open_capture(&c, l, &s, kind, "dpa", "tcp port 80");
	for (uint32_t i = 0; i < 3; i++)
		inject_tcp(80, 100 + i);
	inject_tcp(81, 200);	/* the filter's port is 80 */
	inject_udp(80);		/* and it is TCP */
	send_own_output(4);
	run_capture(l, &s, 3);
	assert_int_equal(s.count, 3);
	assert_int_equal(s.from_us, 0);
	assert_int_equal(s.last_dport, 80);
	assert_int_equal(s.last_sport, 40000);
	assert_int_equal(c.counters.packets, 3);
	assert_int_equal(c.counters.malformed, 0);
	c.ops->update_stats(&c);
	assert_int_equal(c.counters.kernel_drops, 0);
	c.ops->close(&c);
}

static void test_afpacket_in_not_out(void **state)
{
	check_in_not_out(*state, CAPTURE_AFPACKET);
}

static void test_pcap_in_not_out(void **state)
{
	check_in_not_out(*state, CAPTURE_PCAP);
}

static void test_afpacket_all_interfaces(void **state)
{
	struct loop *l = *state;
	struct capture c;
	struct seen s;

	if (skip_reason)
		skip();
	/* On every interface the injected frames leave dpb (outgoing: left
	 * out) and reach dpa (delivered), once each. */
	open_capture(&c, l, &s, CAPTURE_AFPACKET, NULL, "tcp dst port 80 and src host 198.18.0.2");
	for (uint32_t i = 0; i < 5; i++)
		inject_tcp(80, 300 + i);
	run_capture(l, &s, 5);
	assert_int_equal(s.count, 5);
	c.ops->close(&c);
}

static void test_afpacket_vlan_untagged(void **state)
{
	struct loop *l = *state;
	uint8_t ip[200], frame[240];
	size_t len = fixture_tcp_packet(ip, sizeof(ip), "198.18.0.2", 40000, "198.18.0.1", 80, 9, 20);
	size_t frame_len;
	struct capture c;
	struct seen s;

	if (skip_reason)
		skip();
	/* An 802.1Q tag (VLAN 5) between the MACs and the ethertype. */
	frame_len = fixture_ethernet_frame(frame + 4, sizeof(frame) - 4, netns_mac_a, netns_mac_b,
					   ip, len);
	memmove(frame, frame + 4, 12);
	frame[12] = 0x81;
	frame[13] = 0x00;
	frame[14] = 0x00;
	frame[15] = 0x05;
	open_capture(&c, l, &s, CAPTURE_AFPACKET, "dpa", "tcp dst port 80");
	fixture_inject("dpb", frame, frame_len + 4);
	run_capture(l, &s, 1);
	assert_int_equal(s.count, 1);
	assert_int_equal(c.counters.malformed, 0);
	c.ops->close(&c);
}

static void test_no_filter_counts_malformed(void **state)
{
	struct loop *l = *state;
	struct capture c;
	struct seen s;

	if (skip_reason)
		skip();
	/* No filter: the UDP datagram reaches the parser and is counted. */
	open_capture(&c, l, &s, CAPTURE_AFPACKET, "dpa", NULL);
	inject_udp(53);
	inject_tcp(80, 400);
	run_capture(l, &s, 1);
	assert_int_equal(s.count, 1);
	assert_true(c.counters.malformed >= 1);
	c.ops->close(&c);
}

/* From dpb to dpa: a TCP segment of len payload bytes, to port 80. */
static void inject_big_tcp(uint32_t seq, size_t payload_len)
{
	static uint8_t ip[65536], frame[65536 + 64];
	size_t len = fixture_tcp_packet(ip, sizeof(ip), "198.18.0.2", 40000, "198.18.0.1", 80,
					seq, payload_len);

	fixture_inject("dpb", frame, fixture_ethernet_frame(frame, sizeof(frame), netns_mac_a,
							    netns_mac_b, ip, len));
}

/* The smallest ring (ring_bytes 1): 4 blocks of 256 frames. */
#define SMALLEST_RING_FRAMES (4 * 256)

static void open_config(struct capture *c, struct loop *l, struct seen *s,
			const struct capture_config *cfg)
{
	char err[256] = "";

	memset(c, 0, sizeof(*c));
	memset(s, 0, sizeof(*s));
	s->loop = l;
	c->ops = capture_ops_for(cfg->kind);
	c->deliver = on_deliver;
	c->ctx = s;
	if (c->ops->open(c, l, cfg, err, sizeof(err)) != 0)
		fail_msg("open %s on %s: %s", c->ops->name, cfg->device, err);
}

static void test_afpacket_full_ring_counts_drops(void **state)
{
	struct loop *l = *state;
	struct capture_config cfg = { .kind = CAPTURE_AFPACKET, .device = "dpa",
				      .filter = "tcp dst port 80", .ring_bytes = 1 };
	const int sent = SMALLEST_RING_FRAMES + 20;
	struct capture c;
	struct seen s;

	if (skip_reason)
		skip();
	/* Nobody reads while more small packets come than the ring has
	 * frames: each takes one frame whatever the timing, the ring is full
	 * after SMALLEST_RING_FRAMES and the kernel drops the other 20. */
	open_config(&c, l, &s, &cfg);
	for (int i = 0; i < sent; i++)
		inject_tcp(80, 500 + (uint32_t)i);
	run_capture(l, &s, SMALLEST_RING_FRAMES);
	c.ops->update_stats(&c);
	assert_int_equal(s.count, SMALLEST_RING_FRAMES);
	assert_int_equal(c.counters.packets, SMALLEST_RING_FRAMES);
	assert_int_equal(c.counters.kernel_drops, 20);
	/* Reading the kernel's statistics resets them: counted once. */
	c.ops->update_stats(&c);
	assert_int_equal(c.counters.kernel_drops, 20);
	c.ops->close(&c);
}

struct seen_long {
	struct seen s;		/* first: on_deliver's ctx */
	uint32_t seq[64];
	size_t payload[64];
};

static void on_deliver_long(void *ctx, uint64_t ts_us, const struct packet *p)
{
	struct seen_long *sl = ctx;

	if (sl->s.count < 64) {
		sl->seq[sl->s.count] = p->seq;
		sl->payload[sl->s.count] = p->payload_present;
	}
	on_deliver(ctx, ts_us, p);
}

static void open_long(struct capture *c, struct loop *l, struct seen_long *sl,
		      const struct capture_config *cfg)
{
	open_config(c, l, &sl->s, cfg);
	c->deliver = on_deliver_long;
	c->ctx = sl;
}

/* Packets longer than a frame (432 bytes) come whole from the socket's
 * receive queue, in their place among the short ones. */
static void test_afpacket_long_packets_whole_in_order(void **state)
{
	struct loop *l = *state;
	struct capture_config cfg = { .kind = CAPTURE_AFPACKET, .device = "dpa",
				      .filter = "tcp dst port 80", .snaplen = 60000,
				      .ring_bytes = 4u << 20 };
	struct seen_long sl;
	struct capture c;

	if (skip_reason)
		skip();
	netns_sh("ip link set dpa mtu 60000 && ip link set dpb mtu 60000");
	open_long(&c, l, &sl, &cfg);
	/* short, long, short, long ...: 300 fits a frame, 1,400 and 40,000
	 * do not */
	for (uint32_t i = 0; i < 8; i++)
		inject_big_tcp(1000 + i, i % 2 ? (i % 4 == 1 ? 1400 : 40000) : 300);
	run_capture(l, &sl.s, 8);
	assert_int_equal(sl.s.count, 8);
	for (uint32_t i = 0; i < 8; i++) {
		assert_int_equal(sl.seq[i], 1000 + i);
		assert_int_equal(sl.payload[i], i % 2 ? (i % 4 == 1 ? 1400 : 40000) : 300);
	}
	assert_int_equal(c.counters.malformed, 0);
	c.ops->update_stats(&c);
	assert_int_equal(c.counters.kernel_drops, 0);
	c.ops->close(&c);
	netns_sh("ip link set dpa mtu 1500 && ip link set dpb mtu 1500");
}

/* A snap length shorter than the packet cuts it, and that is no drop. */
static void test_afpacket_snaplen_cut_is_delivered(void **state)
{
	struct loop *l = *state;
	struct capture_config cfg = { .kind = CAPTURE_AFPACKET, .device = "dpa",
				      .filter = "tcp dst port 80", .snaplen = 100,
				      .ring_bytes = 4u << 20 };
	struct seen_long sl;
	struct capture c;

	if (skip_reason)
		skip();
	open_long(&c, l, &sl, &cfg);
	inject_big_tcp(77, 1000);
	run_capture(l, &sl.s, 1);
	assert_int_equal(sl.s.count, 1);
	assert_int_equal(sl.seq[0], 77);
	assert_int_equal(sl.payload[0], 100 - 40);
	c.ops->update_stats(&c);
	assert_int_equal(c.counters.kernel_drops, 0);
	c.ops->close(&c);
}

/* The receive queue for long packets is bounded (1 MiB at least, the
 * kernel counts it double): with nobody reading, 60 packets of 50,000
 * bytes overflow it. Those the kernel could only keep cut are counted as
 * drops, never delivered cut; the rest arrive whole. */
static void test_afpacket_long_packets_past_the_queue_are_drops(void **state)
{
	struct loop *l = *state;
	struct capture_config cfg = { .kind = CAPTURE_AFPACKET, .device = "dpa",
				      .filter = "tcp dst port 80", .snaplen = 60000,
				      .ring_bytes = 1 };
	struct seen_long sl;
	struct capture c;
	int whole = 0;

	if (skip_reason)
		skip();
	netns_sh("ip link set dpa mtu 60000 && ip link set dpb mtu 60000");
	open_long(&c, l, &sl, &cfg);
	for (uint32_t i = 0; i < 60; i++)
		inject_big_tcp(2000 + i, 50000);
	c.ops->update_stats(&c);
	/* Every one has a frame (1,024): a drop can only be a cut one. */
	assert_true(c.counters.kernel_drops == 0);
	run_capture(l, &sl.s, 60);
	for (int i = 0; i < sl.s.count && i < 64; i++)
		whole += sl.payload[i] == 50000;
	assert_int_equal(whole, sl.s.count);
	assert_true(c.counters.kernel_drops > 0);
	assert_int_equal((uint64_t)sl.s.count + c.counters.kernel_drops, 60);
	c.ops->close(&c);
	netns_sh("ip link set dpa mtu 1500 && ip link set dpb mtu 1500");
}

/* One packet on a quiet link is handed over by itself: the frame's own
 * wake-up, no block to fill or timer to expire. Bounded wait, no clock. */
static void test_afpacket_single_packet_delivered(void **state)
{
	struct loop *l = *state;
	struct capture c;
	struct seen s;

	if (skip_reason)
		skip();
	open_capture(&c, l, &s, CAPTURE_AFPACKET, "dpa", "tcp dst port 80");
	for (uint32_t i = 0; i < 3; i++) {
		inject_tcp(80, 700 + i);
		s.want = (int)i + 1;
		run_capture(l, &s, (int)i + 1);
		assert_int_equal(s.count, (int)i + 1);
	}
	c.ops->close(&c);
}

/* 12 packets spaced out in time (the old V3 ring gave each a block of its
 * own when the block timer passed between them) all wait unread in a
 * 4 MiB ring (32 blocks of 256 frames): none dropped, however late the
 * reader. */
static void test_afpacket_ring_holds_a_block_per_packet(void **state)
{
	struct loop *l = *state;
	struct capture c;
	struct seen s;

	if (skip_reason)
		skip();
	open_ring(&c, l, &s, CAPTURE_AFPACKET, "dpa", "tcp dst port 80", 4u << 20);
	for (uint32_t i = 0; i < 12; i++) {
		inject_tcp(80, 600 + i);
		usleep(20000);
	}
	run_capture(l, &s, 12);
	c.ops->update_stats(&c);
	assert_int_equal(c.counters.kernel_drops, 0);
	assert_int_equal(s.count, 12);
	c.ops->close(&c);
}

static void expect_open_error(struct loop *l, enum capture_kind kind, const char *device,
			      const char *filter, const char *text)
{
	struct capture_config cfg = { .kind = kind, .device = device, .filter = filter };
	struct capture c = { .ops = capture_ops_for(kind), .deliver = on_deliver };
	char err[512] = "";

	assert_int_equal(c.ops->open(&c, l, &cfg, err, sizeof(err)), -1);
	assert_null(c.priv);
	if (!strstr(err, text))
		fail_msg("%s: error \"%s\" does not say \"%s\"", c.ops->name, err, text);
}

static void test_refused_opens(void **state)
{
	struct loop *l = *state;

	if (skip_reason)
		skip();
	expect_open_error(l, CAPTURE_AFPACKET, "nosuchdev0", "tcp", "nosuchdev0: no such device");
	expect_open_error(l, CAPTURE_PCAP, "nosuchdev0", "tcp", "nosuchdev0");
	expect_open_error(l, CAPTURE_AFPACKET, "dpa", "tcp portt 80", "filter 'tcp portt 80': ");
	expect_open_error(l, CAPTURE_PCAP, "dpa", "tcp portt 80", "filter 'tcp portt 80': ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup_loop, fixture_teardown_loop)
		T(test_afpacket_in_not_out),
		T(test_pcap_in_not_out),
		T(test_afpacket_all_interfaces),
		T(test_afpacket_vlan_untagged),
		T(test_no_filter_counts_malformed),
		T(test_afpacket_full_ring_counts_drops),
		T(test_afpacket_long_packets_whole_in_order),
		T(test_afpacket_snaplen_cut_is_delivered),
		T(test_afpacket_long_packets_past_the_queue_are_drops),
		T(test_afpacket_single_packet_delivered),
		T(test_afpacket_ring_holds_a_block_per_packet),
		T(test_refused_opens),
#undef T
	};

	return cmocka_run_group_tests(tests, setup_link, NULL);
}
