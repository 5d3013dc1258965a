/*
 * packet_build.c — writing an IPv4 or IPv6 packet carrying one TCP segment,
 * with fresh checksums.
 */
#include "lib/net/packet_build.h"
#include "lib/net/tcp_options.h"

#include <string.h>

#include "lib/net/checksum.h"
#include "lib/net/packet_bytes.h"

#define IPV4_HEADER_LEN 20
#define IPV6_HEADER_LEN 40
#define TCP_HEADER_MIN 20
#define IP_LENGTH_MAX 65535
#define IPV4_DONT_FRAGMENT 0x4000
#define DEFAULT_TTL 64

/* Don't Fragment, as Linux sets it on TCP: the engine splits segments to
 * the MSS itself, and a lab path that cannot carry them should say so. */
static void write_ipv4_header(uint8_t *ip, size_t total, const struct packet_spec *s)
{
	uint16_t check;

	ip[0] = 0x45;
	ip[1] = 0;
	store_be16(ip + 2, (uint16_t)total);
	store_be16(ip + 4, s->ip_id);
	store_be16(ip + 6, IPV4_DONT_FRAGMENT);
	ip[8] = s->ttl ? s->ttl : DEFAULT_TTL;
	ip[9] = IPPROTO_TCP;
	memset(ip + 10, 0, 2);
	memcpy(ip + 12, s->src.bytes, 4);
	memcpy(ip + 16, s->dst.bytes, 4);
	check = checksum_ipv4_header(ip, IPV4_HEADER_LEN);
	memcpy(ip + 10, &check, 2);
}

static void write_ipv6_header(uint8_t *ip, size_t payload_len, const struct packet_spec *s)
{
	store_be32(ip, 6u << 28);	/* version 6, traffic class 0, flow label 0 */
	store_be16(ip + 4, (uint16_t)payload_len);
	ip[6] = IPPROTO_TCP;
	ip[7] = s->ttl ? s->ttl : DEFAULT_TTL;
	memcpy(ip + 8, s->src.bytes, 16);
	memcpy(ip + 24, s->dst.bytes, 16);
}

static size_t write_tcp_segment(uint8_t *tcp, const struct packet_spec *s)
{
	size_t hlen = TCP_HEADER_MIN + packet_tcp_options_size(&s->opt);

	store_be16(tcp, s->sport);
	store_be16(tcp + 2, s->dport);
	store_be32(tcp + 4, s->seq);
	store_be32(tcp + 8, s->ack);
	tcp[12] = (uint8_t)(hlen / 4 << 4);
	tcp[13] = s->flags;
	store_be16(tcp + 14, s->window);
	memset(tcp + 16, 0, 4);		/* checksum, urgent pointer */
	packet_tcp_options_write(tcp + TCP_HEADER_MIN, &s->opt);
	if (s->payload_len)
		memcpy(tcp + hlen, s->payload, s->payload_len);
	return hlen + s->payload_len;
}

size_t packet_build(uint8_t *buf, size_t cap, const struct packet_spec *s)
{
	size_t ip_hlen, tcp_hlen, total;
	uint16_t check;

	if (s->src.family != s->dst.family)
		return 0;
	if (s->src.family == AF_INET)
		ip_hlen = IPV4_HEADER_LEN;
	else if (s->src.family == AF_INET6)
		ip_hlen = IPV6_HEADER_LEN;
	else
		return 0;
	if (s->payload_len && !s->payload)
		return 0;
	tcp_hlen = TCP_HEADER_MIN + packet_tcp_options_size(&s->opt);
	/* IPv4's total length and IPv6's payload length are 16-bit fields. */
	if (s->payload_len > IP_LENGTH_MAX - tcp_hlen - (ip_hlen == IPV4_HEADER_LEN ? ip_hlen : 0))
		return 0;
	total = ip_hlen + tcp_hlen + s->payload_len;
	if (total > cap)
		return 0;

	write_tcp_segment(buf + ip_hlen, s);
	check = checksum_tcp(&s->src, &s->dst, buf + ip_hlen, total - ip_hlen);
	memcpy(buf + ip_hlen + 16, &check, 2);
	if (ip_hlen == IPV4_HEADER_LEN)
		write_ipv4_header(buf, total, s);
	else
		write_ipv6_header(buf, total - ip_hlen, s);
	return total;
}
