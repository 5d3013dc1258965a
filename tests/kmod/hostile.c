/*
 * hostile.c — packets aimed at doppel.ko's hook to break it, inside the
 * qemu VM only: truncated TCP, bad data offsets, IP and TCP options,
 * fragments (first, tiny first, later), zero-length and large payloads,
 * IPv4 headers shorter than 20 bytes (they reach LOCAL_OUT from a raw
 * socket), IPv6 extension headers, and seeded random bytes.
 *
 *   hostile SRC4 DST4 SRC6 DST6 SPORT DPORT ROUNDS SEED [fixed]
 *
 * Every packet claims source port SPORT, so a rule on it matches what can
 * be matched. Sends ROUNDS rounds (bounded), prints "sent N refused M":
 * the kernel refuses some shapes at send time (counted). "fixed" leaves
 * out the random packets, so what the module counts can be derived from
 * the cases (vm_tests.sh's hostile_counters; the numbers are there).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/net/addr.h"
#include "lib/net/packet.h"
#include "lib/net/packet_build.h"

struct target {
	int fd4, fd6;
	struct sockaddr_in to4;
	struct sockaddr_in6 to6;
	struct dp_addr src4, dst4, src6, dst6;
	uint16_t sport, dport;
	unsigned long sent, refused;
	uint32_t random_state;
	int fixed;	/* no random packets */
};

static uint32_t next_random(struct target *t)
{
	t->random_state = t->random_state * 1103515245u + 12345u;
	return t->random_state >> 8;
}

static void send4(struct target *t, const uint8_t *buf, size_t len)
{
	if (sendto(t->fd4, buf, len, 0, (const struct sockaddr *)&t->to4, sizeof(t->to4)) < 0)
		t->refused++;
	else
		t->sent++;
}

static void send6(struct target *t, const uint8_t *buf, size_t len)
{
	if (sendto(t->fd6, buf, len, 0, (const struct sockaddr *)&t->to6, sizeof(t->to6)) < 0)
		t->refused++;
	else
		t->sent++;
}

static size_t valid(struct target *t, uint8_t *buf, size_t cap, int v6, uint8_t flags,
		    const char *payload, size_t payload_len)
{
	struct packet_spec s = { 0 };

	s.src = v6 ? t->src6 : t->src4;
	s.dst = v6 ? t->dst6 : t->dst4;
	s.sport = t->sport;
	s.dport = t->dport;
	s.seq = next_random(t);
	s.ack = next_random(t);
	s.flags = flags;
	s.window = 65535;
	s.opt.has_mss = s.opt.has_wscale = s.opt.sack_permitted = s.opt.has_timestamp = true;
	s.opt.mss = 1460;
	s.opt.wscale = 7;
	s.opt.tsval = 1;
	s.opt.tsecr = 2;
	s.payload = (const uint8_t *)payload;
	s.payload_len = payload_len;
	return packet_build(buf, cap, &s);
}

/* An IPv4 header with ihl words (options: NOPs then EOL), proto, length. */
static size_t ipv4_header(struct target *t, uint8_t *buf, unsigned ihl, uint8_t proto,
			  uint16_t frag, size_t total)
{
	memset(buf, 0, ihl * 4 > 20 ? ihl * 4 : 20);
	buf[0] = 0x40 | (ihl & 0xf);
	buf[2] = total >> 8;
	buf[3] = total & 0xff;
	buf[4] = 0x12;
	buf[5] = 0x34;
	buf[6] = frag >> 8;
	buf[7] = frag & 0xff;
	buf[8] = 64;
	buf[9] = proto;
	memcpy(buf + 12, &t->src4.v4, 4);
	memcpy(buf + 16, &t->dst4.v4, 4);
	for (unsigned i = 20; i + 1 < ihl * 4; i++)
		buf[i] = 1;	/* NOP */
	return ihl * 4 < 20 ? 20 : ihl * 4;
}

static void tcp_header(struct target *t, uint8_t *tcp, unsigned doff)
{
	memset(tcp, 0, 20);
	tcp[0] = t->sport >> 8;
	tcp[1] = t->sport & 0xff;
	tcp[2] = t->dport >> 8;
	tcp[3] = t->dport & 0xff;
	tcp[12] = (uint8_t)(doff << 4);
	tcp[13] = TCPF_ACK;
	tcp[14] = 0xff;
}

static void ipv4_cases(struct target *t)
{
	static const char payload[] = "doppel-payload-0123456789";
	uint8_t buf[2048];
	size_t n, h;

	/* Well-formed: SYN-ACK with options, data, zero-length, large. */
	n = valid(t, buf, sizeof(buf), 0, TCPF_SYN | TCPF_ACK, NULL, 0);
	send4(t, buf, n);
	n = valid(t, buf, sizeof(buf), 0, TCPF_ACK | TCPF_PSH, payload, sizeof(payload) - 1);
	send4(t, buf, n);
	n = valid(t, buf, sizeof(buf), 0, TCPF_ACK, NULL, 0);
	send4(t, buf, n);
	memset(buf + 200, 'x', 1200);
	n = valid(t, buf, sizeof(buf), 0, TCPF_ACK, (const char *)buf + 200, 1200);
	send4(t, buf, n);

	/* IP options (ihl 15) and a 60-byte TCP header of odd options. */
	h = ipv4_header(t, buf, 15, IPPROTO_TCP, 0, 60 + 60);
	tcp_header(t, buf + h, 15);
	memcpy(buf + h + 20, "\x02\x04\x05\xb4\x63\x04\xaa\xbb\x05\x0a\x00\x00\x00\x01\x00\x00"
	       "\x00\x02\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x02\x01\x01\x03\x03\x0e\x00\x00\x00"
	       "\x00\x00\x00\x00", 40);
	send4(t, buf, h + 60);
	/* TCP options with lengths 0 and 1, which loop a careless parser. */
	h = ipv4_header(t, buf, 5, IPPROTO_TCP, 0, 20 + 28);
	tcp_header(t, buf + h, 7);
	memcpy(buf + h + 20, "\x08\x00\x05\x01\x02\x00\x00\x00", 8);
	send4(t, buf, h + 28);

	/* Truncated TCP: 0, 2, 4, 8, 19 bytes. */
	static const unsigned cut[] = { 0, 2, 4, 8, 19 };
	for (unsigned i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		h = ipv4_header(t, buf, 5, IPPROTO_TCP, 0, 20 + cut[i]);
		tcp_header(t, buf + h, 5);
		send4(t, buf, h + cut[i]);
	}
	/* Data offset below 5, and past the packet. */
	h = ipv4_header(t, buf, 5, IPPROTO_TCP, 0, 40);
	tcp_header(t, buf + h, 2);
	send4(t, buf, h + 20);
	tcp_header(t, buf + h, 15);
	send4(t, buf, h + 20);

	/* Fragments: a first one (MF) with the TCP header, a later one. */
	h = ipv4_header(t, buf, 5, IPPROTO_TCP, 0x2000, 20 + 32);
	tcp_header(t, buf + h, 5);
	memcpy(buf + h + 20, "first-fragment", 12);
	send4(t, buf, h + 32);
	h = ipv4_header(t, buf, 5, IPPROTO_TCP, 4, 20 + 16);
	memcpy(buf + h, "later-fragment!!", 16);
	send4(t, buf, h + 16);
	/* A tiny first fragment: ports, no whole TCP header. */
	h = ipv4_header(t, buf, 5, IPPROTO_TCP, 0x2000, 20 + 8);
	tcp_header(t, buf + h, 5);
	send4(t, buf, h + 8);

	/* ihl 3: only a raw socket makes these; they reach LOCAL_OUT. */
	h = ipv4_header(t, buf, 3, IPPROTO_TCP, 0, 40);
	tcp_header(t, buf + 12, 5);
	send4(t, buf, 40);
	/* Not TCP, with the port where TCP's would be. */
	h = ipv4_header(t, buf, 5, IPPROTO_UDP, 0, 28);
	tcp_header(t, buf + h, 5);
	send4(t, buf, h + 8);

	/* Random TCP bytes behind a sound IP header, half with our port. */
	for (int i = 0; i < 8 && !t->fixed; i++) {
		size_t len = next_random(t) % 100;

		h = ipv4_header(t, buf, 5, IPPROTO_TCP, 0, 20 + len);
		for (size_t j = 0; j < len; j++)
			buf[h + j] = (uint8_t)next_random(t);
		if (len >= 2 && (i & 1)) {
			buf[h] = t->sport >> 8;
			buf[h + 1] = t->sport & 0xff;
		}
		send4(t, buf, h + len);
	}
}

static size_t ipv6_header(struct target *t, uint8_t *buf, uint8_t next, size_t payload_len)
{
	memset(buf, 0, 40);
	buf[0] = 0x60;
	buf[4] = payload_len >> 8;
	buf[5] = payload_len & 0xff;
	buf[6] = next;
	buf[7] = 64;
	memcpy(buf + 8, &t->src6.v6, 16);
	memcpy(buf + 24, &t->dst6.v6, 16);
	return 40;
}

static void ipv6_cases(struct target *t)
{
	static const char payload[] = "doppel-payload-v6";
	uint8_t buf[2048];
	size_t n, h;

	n = valid(t, buf, sizeof(buf), 1, TCPF_SYN | TCPF_ACK, NULL, 0);
	send6(t, buf, n);
	n = valid(t, buf, sizeof(buf), 1, TCPF_ACK | TCPF_PSH, payload, sizeof(payload) - 1);
	send6(t, buf, n);

	/* Hop-by-hop (8 bytes of PadN), destination options, then TCP. */
	h = ipv6_header(t, buf, 0, 8 + 8 + 20);
	memcpy(buf + h, "\x3c\x00\x01\x04\x00\x00\x00\x00", 8);
	memcpy(buf + h + 8, "\x06\x00\x01\x04\x00\x00\x00\x00", 8);
	tcp_header(t, buf + h + 16, 5);
	send6(t, buf, h + 36);

	/* First fragment (offset 0, M) with TCP; later fragment (offset 8). */
	h = ipv6_header(t, buf, 44, 8 + 24);
	memcpy(buf + h, "\x06\x00\x00\x01\x00\x00\x00\x2a", 8);
	tcp_header(t, buf + h + 8, 5);
	send6(t, buf, h + 32);
	h = ipv6_header(t, buf, 44, 8 + 16);
	memcpy(buf + h, "\x06\x00\x00\x40\x00\x00\x00\x2a", 8);
	memcpy(buf + h + 8, "later-fragment!!", 16);
	send6(t, buf, h + 24);

	/* Truncated TCP, a bad data offset, an option chain that runs off. */
	h = ipv6_header(t, buf, IPPROTO_TCP, 6);
	tcp_header(t, buf + h, 5);
	send6(t, buf, h + 6);
	h = ipv6_header(t, buf, IPPROTO_TCP, 20);
	tcp_header(t, buf + h, 15);
	send6(t, buf, h + 20);
	h = ipv6_header(t, buf, 0, 8);
	memcpy(buf + h, "\x06\x09\x01\x04\x00\x00\x00\x00", 8);
	send6(t, buf, h + 8);

	for (int i = 0; i < 8 && !t->fixed; i++) {
		size_t len = next_random(t) % 100;

		h = ipv6_header(t, buf, IPPROTO_TCP, len);
		for (size_t j = 0; j < len; j++)
			buf[h + j] = (uint8_t)next_random(t);
		if (len >= 2 && (i & 1)) {
			buf[h] = t->sport >> 8;
			buf[h + 1] = t->sport & 0xff;
		}
		send6(t, buf, h + len);
	}
}

int main(int argc, char **argv)
{
	struct target t = { 0 };
	unsigned long rounds;

	if (argc < 9 || argc > 10 || (argc == 10 && strcmp(argv[9], "fixed")) ||
	    dp_addr_parse(argv[1], &t.src4) < 0 || dp_addr_parse(argv[2], &t.dst4) < 0 ||
	    dp_addr_parse(argv[3], &t.src6) < 0 || dp_addr_parse(argv[4], &t.dst6) < 0) {
		fprintf(stderr, "usage: hostile SRC4 DST4 SRC6 DST6 SPORT DPORT ROUNDS SEED [fixed]\n");
		return 2;
	}
	t.sport = (uint16_t)atoi(argv[5]);
	t.dport = (uint16_t)atoi(argv[6]);
	rounds = strtoul(argv[7], NULL, 10);
	t.random_state = (uint32_t)strtoul(argv[8], NULL, 10);
	t.fixed = argc == 10;
	if (rounds > 10000)
		rounds = 10000;
	t.fd4 = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	t.fd6 = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
	if (t.fd4 < 0 || t.fd6 < 0) {
		perror("hostile: raw socket");
		return 1;
	}
	t.to4.sin_family = AF_INET;
	t.to4.sin_addr = t.dst4.v4;
	t.to6.sin6_family = AF_INET6;
	t.to6.sin6_addr = t.dst6.v6;
	for (unsigned long r = 0; r < rounds; r++) {
		ipv4_cases(&t);
		ipv6_cases(&t);
	}
	printf("sent %lu refused %lu\n", t.sent, t.refused);
	close(t.fd4);
	close(t.fd6);
	return 0;
}
