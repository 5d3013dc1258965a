/*
 * test_copy_send_ring.c — the -o sender's PACKET_TX_RING (send_ring.c
 * through send.c and send_packet.c) for real on netns_veth_pair()'s link,
 * in a namespace private to this process (skipped without root).
 *
 * What is checked: 3000 frames of different lengths and contents, more
 * than five times the ring's frames, all arrive on the peer intact and
 * once, with one send() per batch of 64; a frame the kernel refuses
 * (TP_STATUS_WRONG_FORMAT: the device's MTU lowered under us) is reported
 * with EMSGSIZE and the frames behind it still go, in order; frames a
 * driver cannot take wait in the ring, a full ring drops and counts the
 * rest, and once the driver takes frames again the waiting ones leave in
 * order; --tx-ring off sends by batches.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "copy/send/send.h"
#include "lib/net/packet.h"
#include "lib/net/packet_dlt.h"
#include "netns_fixture.h"

#define WAIT_MS 5000
#define MANY 3000

static const char *skip_reason;

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

static const struct session_key key = { .client_port = 40000, .target_port = 80 };

static struct sender *open_on(const char *device, bool no_ring, struct failures *f)
{
	struct send_config cfg = { .kind = SEND_PACKET, .device = device, .no_tx_ring = no_ring };
	char err[256] = "";
	struct sender *s;

	memcpy(cfg.next_hop_mac, netns_mac_b, 6);
	memset(f, 0, sizeof(*f));
	s = send_open(&cfg, on_fail, f, err, sizeof(err));
	if (!s)
		fail_msg("send_open: %s", err);
	return s;
}

/* Packet i: its sequence number is i, its payload 20 + i % 1400 bytes. */
static size_t packet_of(uint32_t i, uint8_t *pkt, size_t cap)
{
	return fixture_tcp_packet(pkt, cap, "198.18.0.1", 40000, "198.18.0.2", 80, i,
				  20 + i % 1400);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A frame read from dpb or the tap: if it is one of ours (TCP to port 80),
 * its packet must be packet_of(its seq) byte for byte behind our Ethernet
 * header. Returns the seq, or -1 for someone else's frame. */
static const uint8_t *src_mac = netns_mac_a;	/* the sending device's */

static int64_t check_frame(const uint8_t *frame, size_t n)
{
	static uint8_t want[2000];
	struct packet p;
	const char *why;
	size_t len;

	if (packet_parse_dlt(PACKET_DLT_ETHERNET, frame, n, 0, &p, &why) != 0 || p.dport != 80)
		return -1;
	len = packet_of(p.seq, want, sizeof(want));
	assert_int_equal(n, 14 + len);
	assert_memory_equal(frame, netns_mac_b, 6);
	assert_memory_equal(frame + 6, src_mac, 6);
	assert_int_equal(frame[12] << 8 | frame[13], 0x0800);
	assert_memory_equal(frame + 14, want, len);
	return p.seq;
}

/* Read our frames from the dpb observer until want arrived or the wait
 * ended; each seen once. Returns how many arrived; their seqs in order. */
static int read_frames(int fd, int want, uint32_t *seqs)
{
	static uint8_t frame[4000];
	int64_t end = now_ms() + WAIT_MS;
	int got = 0;

	while (got < want) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t from_len = sizeof(from);
		int64_t left = end - now_ms(), seq;
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		n = recvfrom(fd, frame, sizeof(frame), 0, (struct sockaddr *)&from, &from_len);
		assert_true(n > 0);
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		seq = check_frame(frame, (size_t)n);
		if (seq >= 0)
			seqs[got++] = (uint32_t)seq;
	}
	return got;
}

/* A socket to ask devices' MAC addresses with. */
static int observer_mac_fd(void)
{
	static int fd = -1;

	if (fd < 0)
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	return fd;
}

static int observer_open(void)
{
	int fd = fixture_observer_open("dpb");
	int bytes = 64 << 20;

	/* Every frame of the test stays queued until read. */
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)), 0);
	return fd;
}

static void test_many_frames_intact(void **state)
{
	static uint32_t seqs[MANY];
	static uint8_t seen[MANY];
	struct failures f;
	struct sender *s;
	uint8_t pkt[2000];
	uint64_t bytes = 0;
	int observer;

	if (skip_reason)
		skip();
	observer = observer_open();
	s = open_on("dpa", false, &f);
	assert_true(send_tx_ring_bytes(s) > 0);
	assert_string_equal(send_tx_ring_fallback(s), "");
	for (uint32_t i = 0; i < MANY; i++) {
		size_t len = packet_of(i, pkt, sizeof(pkt));

		bytes += 14 + len;
		assert_int_equal(send_queue(s, &key, pkt, len), ENGINE_SEND_OK);
	}
	send_flush(s);
	assert_int_equal(read_frames(observer, MANY, seqs), MANY);
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < MANY; i++) {
		assert_true(seqs[i] < MANY);
		assert_int_equal(seen[seqs[i]], 0);
		seen[seqs[i]] = 1;
		/* One socket, one device queue: in the order queued. */
		assert_int_equal(seqs[i], i);
	}
	assert_int_equal(send_counters(s)->packets, MANY);
	assert_int_equal(send_counters(s)->bytes, bytes);
	assert_int_equal(send_counters(s)->retry, 0);
	assert_int_equal(f.calls, 0);
	/* A send() per batch of 64, not per frame. */
	assert_true(send_counters(s)->batches <= MANY / 64 + 2);
	send_close(s);
	close(observer);
}

/* The device's MTU is lowered after the sender read it: the kernel refuses
 * the long frame (TP_STATUS_WRONG_FORMAT) and stops there; it is reported,
 * taken out, and the frames behind it still leave. The batch path gives
 * the same answer from sendmmsg. */
static void wrong_format(bool no_ring)
{
	struct failures f;
	struct sender *s;
	uint8_t pkt[2000];
	uint32_t seqs[4];
	int observer;

	if (skip_reason)
		skip();
	observer = observer_open();
	s = open_on("dpa", no_ring, &f);
	assert_int_equal(send_tx_ring_bytes(s) > 0, !no_ring);
	netns_sh("ip link set dpa mtu 1000");
	/* seq 1 is 1020 bytes of payload: over the new MTU. */
	assert_int_equal(send_queue(s, &key, pkt, packet_of(0, pkt, sizeof(pkt))), ENGINE_SEND_OK);
	assert_int_equal(send_queue(s, &key, pkt, packet_of(1000, pkt, sizeof(pkt))),
			 ENGINE_SEND_OK);
	assert_int_equal(send_queue(s, &key, pkt, packet_of(2, pkt, sizeof(pkt))), ENGINE_SEND_OK);
	assert_int_equal(send_queue(s, &key, pkt, packet_of(3, pkt, sizeof(pkt))), ENGINE_SEND_OK);
	send_flush(s);
	netns_sh("ip link set dpa mtu 1500");
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.err, EMSGSIZE);
	assert_int_equal(send_counters(s)->too_big, 1);
	assert_int_equal(send_counters(s)->packets, 3);
	assert_int_equal(read_frames(observer, 3, seqs), 3);
	assert_int_equal(seqs[0], 0);
	assert_int_equal(seqs[1], 2);
	assert_int_equal(seqs[2], 3);
	/* The ring goes on afterwards. */
	assert_int_equal(send_queue(s, &key, pkt, packet_of(4, pkt, sizeof(pkt))), ENGINE_SEND_OK);
	send_flush(s);
	assert_int_equal(read_frames(observer, 1, seqs), 1);
	assert_int_equal(seqs[0], 4);
	send_close(s);
	close(observer);
}

static void test_wrong_format_ring(void **state)
{
	wrong_format(false);
}

static void test_wrong_format_batches(void **state)
{
	wrong_format(true);
}

/* Read what the tap's driver passed to its reader (frames without a
 * header: IFF_NO_PI), checking each. */
static int read_tap(int tap, uint32_t *seqs, int got, int want)
{
	static uint8_t frame[4000];
	ssize_t n;

	while (got < want && (n = read(tap, frame, sizeof(frame))) > 0) {
		int64_t seq = check_frame(frame, (size_t)n);

		if (seq >= 0)
			seqs[got++] = (uint32_t)seq;
	}
	return got;
}

/* A tap nobody opened has no carrier: its driver drops every frame
 * (ENOBUFS) and the kernel leaves the frame in the ring. They wait there;
 * when the ring is full the next packets are dropped and counted; when
 * the tap is opened the waiting frames leave at the next flushes, in
 * order. */
static void test_full_ring_waits_then_sends(void **state)
{
	static uint32_t seqs[4096];
	struct failures f;
	struct sender *s;
	struct ifreq ifr;
	uint8_t pkt[2000];
	unsigned frames, extra = 100;
	uint8_t tap_mac[6];
	int64_t end;
	int tap, got = 0;

	if (skip_reason)
		skip();
	netns_sh("ip tuntap add dev dpt mode tap && ip link set dpt up");
	s = open_on("dpt", false, &f);
	assert_true(send_tx_ring_bytes(s) > 0);
	frames = (unsigned)(send_tx_ring_bytes(s) / 2048);
	assert_true(frames + extra <= 4096);
	for (uint32_t i = 0; i < frames + extra; i++)
		assert_int_equal(send_queue(s, &key, pkt, packet_of(i, pkt, sizeof(pkt))),
				 ENGINE_SEND_OK);
	send_flush(s);
	assert_int_equal(send_counters(s)->packets, 0);
	assert_int_equal(send_counters(s)->ring_full, extra);
	assert_int_equal(send_counters(s)->retry, extra);
	assert_int_equal(send_counters(s)->failed, 0);
	assert_true(send_counters(s)->ring_deferred > 0);
	assert_int_equal(f.calls, 0);

	/* Give the tap a reader: carrier on. Frames come from its MAC. */
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "dpt");
	assert_int_equal(ioctl(observer_mac_fd(), SIOCGIFHWADDR, &ifr), 0);
	memcpy(tap_mac, ifr.ifr_hwaddr.sa_data, 6);
	src_mac = tap_mac;
	tap = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	assert_true(tap >= 0);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "dpt");
	assert_int_equal(ioctl(tap, TUNSETIFF, &ifr), 0);
	/* The tap holds 500 frames (its txqueuelen): read as the flushes go. */
	end = now_ms() + WAIT_MS;
	while (got < (int)frames && now_ms() < end) {
		send_flush(s);
		got = read_tap(tap, seqs, got, (int)frames);
		if (got < (int)frames)
			usleep(10000);
	}
	assert_int_equal(got, frames);
	for (int i = 0; i < got; i++)
		assert_int_equal(seqs[i], i);
	assert_int_equal(send_counters(s)->packets, frames);
	assert_int_equal(f.calls, 0);
	src_mac = netns_mac_a;
	send_close(s);
	close(tap);
	netns_sh("ip link del dpt");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_frames_intact),
		cmocka_unit_test(test_wrong_format_ring),
		cmocka_unit_test(test_wrong_format_batches),
		cmocka_unit_test(test_full_ring_waits_then_sends),
	};

	return cmocka_run_group_tests(tests, setup_link, NULL);
}
