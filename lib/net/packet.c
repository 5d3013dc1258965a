/*
 * packet.c — parsing IPv4 and IPv6 packets that carry TCP.
 *
 * This runs on every captured packet, so it allocates nothing and copies
 * nothing: struct packet points into the caller's buffer. Every length read
 * from a header is checked against both the buffer and the enclosing
 * header's own length before it is used, and a rejection names what was
 * wrong with a static string (no formatting, so no buffer to share between
 * threads).
 */
#include "lib/net/packet.h"
#include "lib/net/addr.h"
#include "lib/net/tcp_options.h"

#include <string.h>

#include "lib/net/packet_bytes.h"

#define IPV4_HEADER_MIN 20
#define IPV6_HEADER_LEN 40
#define IPV6_EXT_MIN 8
#define TCP_HEADER_MIN 20

#define IPV4_FLAG_MF 0x2000
#define IPV4_FRAG_OFFSET 0x1fff

/* IPv6 next-header values doppel walks over (RFC 8200 section 4, and the
 * later headers that use its generic format, RFC 6564). */
#define IPV6_NEXT_HOP_BY_HOP 0
#define IPV6_NEXT_ROUTING 43
#define IPV6_NEXT_FRAGMENT 44
#define IPV6_NEXT_AH 51
#define IPV6_NEXT_DEST_OPTIONS 60
#define IPV6_NEXT_MOBILITY 135
#define IPV6_NEXT_HIP 139
#define IPV6_NEXT_SHIM6 140

static const char *const version_reasons[16] = {
	"ip version 0 (not 4 or 6)", "ip version 1 (not 4 or 6)",
	"ip version 2 (not 4 or 6)", "ip version 3 (not 4 or 6)",
	"ip version 4", "ip version 5 (not 4 or 6)",
	"ip version 6", "ip version 7 (not 4 or 6)",
	"ip version 8 (not 4 or 6)", "ip version 9 (not 4 or 6)",
	"ip version 10 (not 4 or 6)", "ip version 11 (not 4 or 6)",
	"ip version 12 (not 4 or 6)", "ip version 13 (not 4 or 6)",
	"ip version 14 (not 4 or 6)", "ip version 15 (not 4 or 6)",
};

/* Indexed by IHL (a header length below 20 is an IHL below 5). */
static const char *const ipv4_ihl_reasons[5] = {
	"ipv4 header length 0 < 20", "ipv4 header length 4 < 20",
	"ipv4 header length 8 < 20", "ipv4 header length 12 < 20",
	"ipv4 header length 16 < 20",
};

/* Indexed by the TCP data offset. */
static const char *const tcp_offset_reasons[5] = {
	"tcp header length 0 < 20", "tcp header length 4 < 20",
	"tcp header length 8 < 20", "tcp header length 12 < 20",
	"tcp header length 16 < 20",
};

/* Why a packet that is not TCP was refused, naming the usual suspects. */
static const char *protocol_reason(uint8_t protocol)
{
	switch (protocol) {
	case 1: return "not tcp (protocol 1, icmp)";
	case 2: return "not tcp (protocol 2, igmp)";
	case 4: return "not tcp (protocol 4, ipv4 in ip)";
	case 17: return "not tcp (protocol 17, udp)";
	case 41: return "not tcp (protocol 41, ipv6 in ip)";
	case 47: return "not tcp (protocol 47, gre)";
	case 50: return "not tcp (protocol 50, esp: encrypted)";
	case 51: return "not tcp (protocol 51, ipv4 ah)";
	case 58: return "not tcp (protocol 58, icmpv6)";
	case 59: return "not tcp (protocol 59, ipv6 no next header)";
	case 89: return "not tcp (protocol 89, ospf)";
	case 103: return "not tcp (protocol 103, pim)";
	case 112: return "not tcp (protocol 112, vrrp)";
	case 132: return "not tcp (protocol 132, sctp)";
	case 136: return "not tcp (protocol 136, udp-lite)";
	default: return "not tcp (unknown ip protocol)";
	}
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* p was zeroed by packet_parse(), so the unused bytes of an IPv4 address
 * are already zero. */
static void set_addr(struct dp_addr *a, uint8_t family, const uint8_t *bytes, size_t n)
{
	a->family = family;
	memcpy(a->bytes, bytes, n);
}

/*
 * The TCP header at seg. ip_payload_len is what the IP header says follows
 * it, present what the buffer holds (less only with PACKET_TRUNCATED_OK).
 */
static int parse_tcp(const uint8_t *seg, size_t present, size_t ip_payload_len,
		     struct packet *p, const char **why)
{
	size_t hlen;

	if (ip_payload_len < TCP_HEADER_MIN)
		return packet_fail(why, "ip payload too short for a tcp header (< 20 bytes)");
	if (present < TCP_HEADER_MIN)
		return packet_fail(why, "tcp header truncated: buffer ends within 20 bytes");
	hlen = (size_t)(seg[12] >> 4) * 4;
	if (hlen < TCP_HEADER_MIN)
		return packet_fail(why, tcp_offset_reasons[hlen / 4]);
	if (hlen > ip_payload_len)
		return packet_fail(why, "tcp header length runs past the ip payload");
	if (hlen > present)
		return packet_fail(why, "tcp header length runs past the buffer");

	p->tcp = seg;
	p->tcp_header_len = hlen;
	p->sport = load_be16(seg);
	p->dport = load_be16(seg + 2);
	p->seq = load_be32(seg + 4);
	p->ack = load_be32(seg + 8);
	p->flags = seg[13];
	p->window = load_be16(seg + 14);
	p->urgent = load_be16(seg + 18);
	if (packet_parse_tcp_options(seg + TCP_HEADER_MIN, hlen - TCP_HEADER_MIN, &p->opt, why))
		return -1;
	p->payload = seg + hlen;
	p->payload_len = ip_payload_len - hlen;
	p->payload_present = present - hlen;
	return 0;
}

static int parse_ipv4(const uint8_t *buf, size_t len, unsigned flags,
		      struct packet *p, const char **why)
{
	size_t hlen, total;
	uint16_t fragment;

	if (len < IPV4_HEADER_MIN)
		return packet_fail(why, "ipv4 header truncated: buffer shorter than 20 bytes");
	hlen = (size_t)(buf[0] & 0x0f) * 4;
	if (hlen < IPV4_HEADER_MIN)
		return packet_fail(why, ipv4_ihl_reasons[hlen / 4]);
	if (hlen > len)
		return packet_fail(why, "ipv4 header length runs past the buffer");
	total = load_be16(buf + 2);
	if (total == 0)		/* TSO/GSO super-packet: the buffer says */
		total = len;
	if (total < hlen)
		return packet_fail(why, "ipv4 total length shorter than its header");
	if (total > len && !(flags & PACKET_TRUNCATED_OK))
		return packet_fail(why, "ipv4 total length runs past the buffer");

	p->family = AF_INET;
	p->l3 = buf;
	p->ip_header_len = hlen;
	p->ip_total_len = total;
	p->ttl = buf[8];
	p->ip_id = load_be16(buf + 4);
	set_addr(&p->src, AF_INET, buf + 12, 4);
	set_addr(&p->dst, AF_INET, buf + 16, 4);

	fragment = load_be16(buf + 6);
	p->fragment = (fragment & (IPV4_FLAG_MF | IPV4_FRAG_OFFSET)) != 0;
	if (fragment & IPV4_FRAG_OFFSET)
		return packet_fail(why, "ipv4 fragment with a non-zero offset (no tcp header)");
	if (buf[9] != IPPROTO_TCP)
		return packet_fail(why, protocol_reason(buf[9]));
	/* Bytes past total length (Ethernet padding) are not the packet's. */
	return parse_tcp(buf + hlen, min_size(len, total) - hlen, total - hlen, p, why);
}

/*
 * How long the extension header at off is (into *ext), or -1 with *why set.
 * end is where the packet's bytes in the buffer stop, total where the IPv6
 * payload length says the packet stops.
 */
static int ipv6_extension_len(const uint8_t *buf, size_t off, size_t end, size_t total,
			      uint8_t next, size_t *ext, struct packet *p, const char **why)
{
	if (off + IPV6_EXT_MIN > total)
		return packet_fail(why, "ipv6 payload too short for its extension header");
	if (off + IPV6_EXT_MIN > end)
		return packet_fail(why, "ipv6 extension header truncated");
	if (next == IPV6_NEXT_FRAGMENT) {
		p->fragment = true;
		if (load_be16(buf + off + 2) >> 3)
			return packet_fail(why, "ipv6 fragment with a non-zero offset (no tcp header)");
		*ext = IPV6_EXT_MIN;
		return 0;
	}
	if (next == IPV6_NEXT_AH)	/* RFC 4302: length in 4-byte units, minus 2 */
		*ext = ((size_t)buf[off + 1] + 2) * 4;
	else
		*ext = ((size_t)buf[off + 1] + 1) * 8;
	if (off + *ext > total)
		return packet_fail(why, "ipv6 extension header longer than the payload length");
	if (off + *ext > end)
		return packet_fail(why, "ipv6 extension header runs past the buffer");
	return 0;
}

static int parse_ipv6(const uint8_t *buf, size_t len, unsigned flags,
		      struct packet *p, const char **why)
{
	size_t payload_len, total, end, off = IPV6_HEADER_LEN;
	uint8_t next;

	if (len < IPV6_HEADER_LEN)
		return packet_fail(why, "ipv6 header truncated: buffer shorter than 40 bytes");
	payload_len = load_be16(buf + 4);
	/* 0 is a jumbogram or a GSO super-packet: the buffer says. */
	total = payload_len ? IPV6_HEADER_LEN + payload_len : len;
	if (total > len && !(flags & PACKET_TRUNCATED_OK))
		return packet_fail(why, "ipv6 payload length runs past the buffer");

	p->family = AF_INET6;
	p->l3 = buf;
	p->ip_total_len = total;
	p->ttl = buf[7];
	set_addr(&p->src, AF_INET6, buf + 8, 16);
	set_addr(&p->dst, AF_INET6, buf + 24, 16);

	end = min_size(len, total);
	next = buf[6];
	/* Each extension header is at least 8 bytes, so this loop ends. */
	while (next != IPPROTO_TCP) {
		size_t ext;

		switch (next) {
		case IPV6_NEXT_HOP_BY_HOP:
			if (off != IPV6_HEADER_LEN)
				return packet_fail(why, "ipv6 hop-by-hop header not first");
			break;
		case IPV6_NEXT_ROUTING:
		case IPV6_NEXT_FRAGMENT:
		case IPV6_NEXT_AH:
		case IPV6_NEXT_DEST_OPTIONS:
		case IPV6_NEXT_MOBILITY:
		case IPV6_NEXT_HIP:
		case IPV6_NEXT_SHIM6:
			break;
		default:	/* ESP and "no next header" included */
			p->ip_header_len = off;
			return packet_fail(why, protocol_reason(next));
		}
		if (ipv6_extension_len(buf, off, end, total, next, &ext, p, why))
			return -1;
		next = buf[off];
		off += ext;
	}
	p->ip_header_len = off;
	return parse_tcp(buf + off, end - off, total - off, p, why);
}

int packet_parse(const uint8_t *buf, size_t len, unsigned flags,
		 struct packet *p, const char **why)
{
	memset(p, 0, sizeof(*p));
	if (len == 0)
		return packet_fail(why, "empty packet");
	switch (buf[0] >> 4) {
	case 4:
		return parse_ipv4(buf, len, flags, p, why);
	case 6:
		return parse_ipv6(buf, len, flags, p, why);
	default:
		return packet_fail(why, version_reasons[buf[0] >> 4]);
	}
}
