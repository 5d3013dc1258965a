/*
 * netns_fixture.c — see netns_fixture.h.
 */
#include "netns_fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/net/addr.h"
#include "lib/net/packet.h"
#include "lib/net/packet_build.h"
#include "lib/net/packet_dlt.h"

bool netns_enter(const char **why)
{
	static int state;	/* 0 not tried, 1 inside, -1 cannot */
	static const char *reason;

	if (state == 0) {
		state = -1;
		if (geteuid() != 0)
			reason = "needs root (a private network namespace)";
		else if (unshare(CLONE_NEWNET) != 0)
			reason = "unshare(CLONE_NEWNET) refused";
		else if (system("ip link set lo up") != 0)
			reason = "`ip link set lo up` failed (is iproute2 installed?)";
		else
			state = 1;
		if (state < 0)
			printf("# the namespace tests are skipped: %s\n", reason);
	}
	if (why)
		*why = reason;
	return state == 1;
}

void netns_sh(const char *fmt, ...)
{
	char command[512];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(command, sizeof(command), fmt, ap);
	va_end(ap);
	r = system(command);
	if (r != 0)
		fail_msg("`%s` failed (%d)", command, r);
}

const uint8_t netns_mac_a[6] = { 2, 0, 0, 0, 0, 0xa };
const uint8_t netns_mac_b[6] = { 2, 0, 0, 0, 0, 0xb };

bool netns_veth_pair(const char **why)
{
	if (!netns_enter(why))
		return false;
	netns_sh("ip link add dpa address 02:00:00:00:00:0a type veth "
		 "peer name dpb address 02:00:00:00:00:0b");
	netns_sh("ip link set dpa up && ip link set dpb up");
	netns_sh("ip addr add 198.18.0.1/30 dev dpa");
	netns_sh("ip neigh replace 198.18.0.2 lladdr 02:00:00:00:00:0b dev dpa nud permanent");
	return true;
}

size_t fixture_tcp_packet(uint8_t *buf, size_t cap, const char *src, uint16_t sport,
			  const char *dst, uint16_t dport, uint32_t seq, size_t payload_len)
{
	static uint8_t payload[65536];
	struct packet_spec spec;
	size_t len;

	assert_true(payload_len <= sizeof(payload));
	for (size_t i = 0; i < payload_len; i++)
		payload[i] = (uint8_t)(seq + i);
	memset(&spec, 0, sizeof(spec));
	assert_int_equal(dp_addr_parse(src, &spec.src), 0);
	assert_int_equal(dp_addr_parse(dst, &spec.dst), 0);
	spec.sport = sport;
	spec.dport = dport;
	spec.seq = seq;
	spec.ack = 1;
	spec.flags = TCPF_ACK | TCPF_PSH;
	spec.window = 1024;
	spec.payload = payload;
	spec.payload_len = payload_len;
	len = packet_build(buf, cap, &spec);
	assert_true(len > 0);
	return len;
}

size_t fixture_udp_packet(uint8_t *buf, size_t cap, const char *src, const char *dst,
			  uint16_t dport)
{
	const size_t len = 20 + 8 + 8;

	assert_true(cap >= len);
	memset(buf, 0, len);
	buf[0] = 0x45;
	buf[3] = (uint8_t)len;
	buf[8] = 64;
	buf[9] = 17;	/* udp */
	assert_int_equal(inet_pton(AF_INET, src, buf + 12), 1);
	assert_int_equal(inet_pton(AF_INET, dst, buf + 16), 1);
	buf[20] = 0x30;	/* source port 12345 */
	buf[21] = 0x39;
	buf[22] = (uint8_t)(dport >> 8);
	buf[23] = (uint8_t)dport;
	buf[25] = 16;	/* udp length */
	return len;
}

size_t fixture_ethernet_frame(uint8_t *frame, size_t cap, const uint8_t dst_mac[6],
			      const uint8_t src_mac[6], const uint8_t *ip, size_t len)
{
	uint16_t type = (ip[0] >> 4) == 6 ? ETH_P_IPV6 : ETH_P_IP;

	assert_true(cap >= ETH_HLEN + len);
	memcpy(frame, dst_mac, 6);
	memcpy(frame + 6, src_mac, 6);
	frame[12] = (uint8_t)(type >> 8);
	frame[13] = (uint8_t)type;
	memcpy(frame + ETH_HLEN, ip, len);
	return ETH_HLEN + len;
}

static int packet_socket_on(const char *dev, uint16_t protocol)
{
	struct sockaddr_ll addr;
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(protocol));

	assert_true(fd >= 0);
	memset(&addr, 0, sizeof(addr));
	addr.sll_family = AF_PACKET;
	addr.sll_protocol = htons(protocol);
	addr.sll_ifindex = (int)if_nametoindex(dev);
	assert_true(addr.sll_ifindex > 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

void fixture_inject(const char *dev, const uint8_t *frame, size_t len)
{
	/* Protocol 0: a socket that sends and never receives. */
	int fd = packet_socket_on(dev, 0);

	assert_int_equal(send(fd, frame, len, 0), (ssize_t)len);
	close(fd);
}

int fixture_observer_open(const char *dev)
{
	return packet_socket_on(dev, ETH_P_ALL);
}

static int64_t clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int fixture_observer_count(int fd, uint16_t dport, int want, int timeout_ms,
			   uint8_t *last, size_t cap, size_t *last_len)
{
	static uint8_t frame[70000];
	int64_t end = clock_ms() + timeout_ms;
	int matched = 0;

	while (matched < want) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = end - clock_ms();
		struct sockaddr_ll from;
		socklen_t from_len = sizeof(from);
		struct packet p;
		const char *why;
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		n = recvfrom(fd, frame, sizeof(frame), 0, (struct sockaddr *)&from, &from_len);
		assert_true(n >= 0);
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		if (packet_parse_dlt(PACKET_DLT_ETHERNET, frame, (size_t)n, 0, &p, &why) != 0 ||
		    p.dport != dport)
			continue;
		matched++;
		if (last && (size_t)n <= cap) {
			memcpy(last, frame, (size_t)n);
			*last_len = (size_t)n;
		}
	}
	return matched;
}
