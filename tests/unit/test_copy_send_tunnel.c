/*
 * test_copy_send_tunnel.c — tunnel send (--tunnel) for real on
 * netns_veth_pair()'s link in a namespace private to this process
 * (skipped without root): the raw backend's form (send_tunnel.c: raw
 * sockets of protocol 17 for vxlan and fou, 4/41 and 47 for ipip and
 * gre) and the AF_PACKET one (send_packet.c with encap_build),
 * IPv4 and IPv6. An observer on dpb reads each frame that left dpa.
 *
 * What is checked: the outer header goes from the host's own address to
 * the target with the tunnel's protocol and port, the payload is the
 * prefix and the packet byte for byte; the UDP source port is the
 * flow's hash (encap_flow_port()), one port per flow and different ports
 * for different flows, in both backends; over IPv4 the raw backend's UDP
 * checksum is zero, over IPv6 computed (and right); --tunnel-source binds (and an
 * address the host does not have is refused at open); the mtu counts the
 * outer packet; send_tunnel_source() finds the route's source.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netns_fixture.h"
#include "copy/send/send.h"
#include "lib/net/checksum.h"
#include "lib/net/encap.h"

#define WAIT_MS 3000

static const char *skip_reason;
static unsigned last_sport;	/* the outer UDP source port check_tunnel() saw */

static int setup_link(void **state)
{
	if (netns_veth_pair(&skip_reason)) {
		netns_sh("ip -6 addr add 2001:2::1/64 dev dpa nodad");
		netns_sh("ip -6 neigh replace 2001:2::2 lladdr 02:00:00:00:00:0b dev dpa nud permanent");
	}
	return 0;
}

static void on_fail(void *ctx, const struct session_key *k, int err)
{
	int *calls = ctx;

	(*calls)++;
}

static const struct session_key key = { .client_port = 40000, .target_port = 80 };
static int fail_calls;

static struct sender *open_tunnel(enum send_kind kind, const char *spec, const char *source,
				  uint32_t mtu, char *err, size_t errlen)
{
	struct send_config cfg = { .kind = kind, .device = "dpa", .mtu = mtu };

	memcpy(cfg.next_hop_mac, netns_mac_b, 6);
	assert_int_equal(encap_parse(spec, &cfg.tunnel, err, errlen), 0);
	if (source) {
		struct dp_addr a;

		assert_int_equal(dp_addr_parse(source, &a), 0);
		if (a.family == AF_INET)
			cfg.tunnel_src4 = a;
		else
			cfg.tunnel_src6 = a;
	}
	fail_calls = 0;
	return send_open(&cfg, on_fail, &fail_calls, err, errlen);
}

/* The next frame on fd whose IP protocol (next header) is proto, or 0. */
static size_t next_frame(int fd, uint8_t proto, uint8_t *frame, size_t cap)
{
	for (int i = 0; i < 200; i++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, WAIT_MS) <= 0)
			return 0;
		n = recv(fd, frame, cap, 0);
		if (n < 14 + 40)
			continue;
		if (frame[12] == 0x08 && frame[13] == 0x00 && frame[14 + 9] == proto)
			return (size_t)n;
		if (frame[12] == 0x86 && frame[13] == 0xdd && frame[14 + 6] == proto)
			return (size_t)n;
	}
	return 0;
}

/* The IPv6 packet ip's UDP checksum is the one RFC 8200 section 8.1 asks
 * for (recomputed here with lib/net/checksum.c). */
static int udp6_checksum_right(const uint8_t *ip, size_t len)
{
	uint8_t datagram[2048];
	struct dp_addr src, dst;
	uint16_t field, want;

	assert_true(len > 48 && len - 40 <= sizeof(datagram));
	dp_addr_from_v6(&src, (const struct in6_addr *)(ip + 8));
	dp_addr_from_v6(&dst, (const struct in6_addr *)(ip + 24));
	memcpy(datagram, ip + 40, len - 40);
	memcpy(&field, datagram + 6, 2);
	memset(datagram + 6, 0, 2);
	want = checksum_udp(&src, &dst, datagram, len - 40);
	return field == want;
}

/* Send pkt through a tunnel of spec and check what left: the outer
 * header's addresses and protocol, the UDP port, and that the payload is
 * the prefix and pkt. Returns the UDP checksum field (0 without UDP). */
static uint16_t check_tunnel(enum send_kind kind, const char *spec, const char *source,
			     const uint8_t *pkt, size_t len)
{
	struct encap_config e;
	struct sender *s;
	uint8_t frame[2048], prefix[ENCAP_PREFIX_MAX];
	char err[256] = "";
	int v6 = (pkt[0] >> 4) == 6;
	size_t ip_len = v6 ? 40 : 20, n, off, prefix_len;
	int udp;
	int observer = fixture_observer_open("dpb");
	uint16_t check = 0;

	s = open_tunnel(kind, spec, source, 0, err, sizeof(err));
	if (!s)
		fail_msg("send_open(%s): %s", spec, err);
	assert_int_equal(encap_parse(spec, &e, err, sizeof(err)), 0);
	udp = e.kind == ENCAP_VXLAN || e.kind == ENCAP_FOU;
	assert_int_equal(send_queue(s, &key, pkt, len), ENGINE_SEND_OK);
	send_flush(s);
	assert_int_equal(fail_calls, 0);
	n = next_frame(observer, encap_ip_protocol(&e, v6 ? AF_INET6 : AF_INET), frame,
		       sizeof(frame));
	if (n == 0)
		fail_msg("%s: no tunnel frame reached dpb", spec);
	/* Outer addresses: the host's own (dpa's) to the target. */
	if (v6) {
		assert_memory_equal(frame + 14 + 8, pkt + 8, 16);	/* 2001:2::1 */
		assert_memory_equal(frame + 14 + 24, pkt + 24, 16);
	} else {
		assert_memory_equal(frame + 14 + 12, pkt + 12, 4);	/* 198.18.0.1 */
		assert_memory_equal(frame + 14 + 16, pkt + 16, 4);
	}
	off = 14 + ip_len;
	if (udp) {
		unsigned sport = frame[off] << 8 | frame[off + 1];

		assert_int_equal(frame[off + 2] << 8 | frame[off + 3], e.port);
		assert_int_equal(frame[off + 4] << 8 | frame[off + 5], n - off);
		check = (uint16_t)(frame[off + 6] << 8 | frame[off + 7]);
		/* The flow's hash, RFC 7348 section 5, in both backends. */
		assert_int_equal(sport, encap_flow_port(pkt, len));
		assert_true(sport >= 49152);
		last_sport = sport;
		if (v6)	/* the kernel's checksum (IPV6_CHECKSUM) or ours: right */
			assert_true(udp6_checksum_right(frame + 14, n - 14));
		off += 8;
	}
	prefix_len = encap_write_prefix(&e, v6 ? AF_INET6 : AF_INET, prefix);
	assert_int_equal(n, off + prefix_len + len);
	assert_memory_equal(frame + off, prefix, prefix_len);
	assert_memory_equal(frame + off + prefix_len, pkt, len);
	send_close(s);
	close(observer);
	return check;
}

static size_t packet4(uint8_t *pkt, size_t cap, size_t payload)
{
	return fixture_tcp_packet(pkt, cap, "198.18.0.1", 40000, "198.18.0.2", 80, 7, payload);
}

static size_t packet6(uint8_t *pkt, size_t cap, size_t payload)
{
	return fixture_tcp_packet(pkt, cap, "2001:2::1", 40000, "2001:2::2", 80, 7, payload);
}

static void test_raw_sockets(void **state)
{
	uint8_t pkt[1500];
	size_t len = packet4(pkt, sizeof(pkt), 100);

	if (skip_reason)
		skip();
	/* RFC 7348 section 5: zero UDP checksum over IPv4. */
	assert_int_equal(check_tunnel(SEND_RAW, "vxlan:42", NULL, pkt, len), 0);
	assert_int_equal(check_tunnel(SEND_RAW, "fou:5555", NULL, pkt, len), 0);
	check_tunnel(SEND_RAW, "gre", NULL, pkt, len);
	check_tunnel(SEND_RAW, "ipip", NULL, pkt, len);
	check_tunnel(SEND_RAW, "vxlan:7:8472", "198.18.0.1", pkt, len);
	len = packet6(pkt, sizeof(pkt), 100);
	assert_int_not_equal(check_tunnel(SEND_RAW, "vxlan", NULL, pkt, len), 0);
	check_tunnel(SEND_RAW, "gre", NULL, pkt, len);
	check_tunnel(SEND_RAW, "ipip", "2001:2::1", pkt, len);
}

static void test_packet_socket(void **state)
{
	uint8_t pkt[1500];
	size_t len = packet4(pkt, sizeof(pkt), 100);

	if (skip_reason)
		skip();
	assert_int_equal(check_tunnel(SEND_PACKET, "vxlan:42", "198.18.0.1", pkt, len), 0);
	assert_int_not_equal(check_tunnel(SEND_PACKET, "fou:5555", "198.18.0.1", pkt, len), 0);
	check_tunnel(SEND_PACKET, "gre", "198.18.0.1", pkt, len);
	check_tunnel(SEND_PACKET, "ipip", "198.18.0.1", pkt, len);
	len = packet6(pkt, sizeof(pkt), 100);
	assert_int_not_equal(check_tunnel(SEND_PACKET, "vxlan", "2001:2::1", pkt, len), 0);
	check_tunnel(SEND_PACKET, "ipip", "2001:2::1", pkt, len);
}

/* One outer source port per flow, and the flows spread over the range:
 * eight client ports, eight different outer ports (the hash is fixed, so
 * this is deterministic), the same flow twice the same port; IPv4 and
 * IPv6, both backends. */
static void test_flow_ports(void **state)
{
	uint8_t pkt[200];
	unsigned ports[8];
	size_t len = 0;
	static const enum send_kind kinds[] = { SEND_RAW, SEND_PACKET };

	if (skip_reason)
		skip();
	for (int v6 = 0; v6 <= 1; v6++) {
		for (size_t k = 0; k < 2; k++) {
			enum send_kind kind = kinds[k];
			const char *src = kind == SEND_RAW ? NULL : v6 ? "2001:2::1" : "198.18.0.1";

			for (int i = 0; i < 8; i++) {
				len = fixture_tcp_packet(pkt, sizeof(pkt), v6 ? "2001:2::1" : "198.18.0.1",
							 (uint16_t)(41000 + i), v6 ? "2001:2::2" : "198.18.0.2",
							 80, 7, 10);
				check_tunnel(kind, "fou:5555", src, pkt, len);
				ports[i] = last_sport;
				for (int j = 0; j < i; j++)
					assert_int_not_equal(ports[i], ports[j]);
			}
			check_tunnel(kind, "vxlan", src, pkt, len);
			assert_int_equal(last_sport, ports[7]);
		}
	}
}

static void test_packet_socket_needs_source(void **state)
{
	uint8_t pkt[200];
	size_t len = packet6(pkt, sizeof(pkt), 0);
	char err[256];
	/* Only an IPv4 source: an IPv6 packet cannot be tunnelled. */
	struct sender *s = skip_reason ? NULL :
		open_tunnel(SEND_PACKET, "gre", "198.18.0.1", 0, err, sizeof(err));

	if (skip_reason)
		skip();
	assert_non_null(s);
	assert_int_equal(send_queue(s, &key, pkt, len), ENGINE_SEND_FAILED);
	send_close(s);
}

static void test_mtu_counts_outer(void **state)
{
	uint8_t pkt[200];
	size_t len = packet4(pkt, sizeof(pkt), 10);	/* 50 bytes */
	char err[256];
	struct sender *s;

	if (skip_reason)
		skip();
	/* vxlan over IPv4 adds 50: 100 fits, 99 does not. */
	s = open_tunnel(SEND_RAW, "vxlan", NULL, 100, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(send_queue(s, &key, pkt, len), ENGINE_SEND_OK);
	send_close(s);
	s = open_tunnel(SEND_RAW, "vxlan", NULL, 99, err, sizeof(err));
	assert_int_equal(send_queue(s, &key, pkt, len), ENGINE_SEND_TOO_BIG);
	send_close(s);
	s = open_tunnel(SEND_PACKET, "vxlan", "198.18.0.1", 99, err, sizeof(err));
	assert_int_equal(send_queue(s, &key, pkt, len), ENGINE_SEND_TOO_BIG);
	send_close(s);
}

static void test_source_not_ours(void **state)
{
	char err[256] = "";

	if (skip_reason)
		skip();
	assert_null(open_tunnel(SEND_RAW, "vxlan", "198.18.5.5", 0, err, sizeof(err)));
	if (!strstr(err, "--tunnel-source 198.18.5.5: bind"))
		fail_msg("error: %s", err);
}

static void test_route_source(void **state)
{
	struct dp_addr target, src, want;
	char err[256] = "";

	if (skip_reason)
		skip();
	dp_addr_parse("198.18.0.2", &target);
	dp_addr_parse("198.18.0.1", &want);
	assert_int_equal(send_tunnel_source(&target, &src, err, sizeof(err)), 0);
	assert_true(dp_addr_equal(&src, &want));
	dp_addr_parse("198.19.0.1", &target);	/* no route */
	assert_int_equal(send_tunnel_source(&target, &src, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "give --tunnel-source"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_sockets),
		cmocka_unit_test(test_packet_socket),
		cmocka_unit_test(test_flow_ports),
		cmocka_unit_test(test_packet_socket_needs_source),
		cmocka_unit_test(test_mtu_counts_outer),
		cmocka_unit_test(test_source_not_ours),
		cmocka_unit_test(test_route_source),
	};

	return cmocka_run_group_tests(tests, setup_link, NULL);
}
