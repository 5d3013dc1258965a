/*
 * encap.c — tunnel headers for the replayed packets (see encap.h for the
 * formats and the RFCs they follow).
 */
#include "lib/net/encap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/net/checksum.h"
#include "lib/net/hash.h"

#define VXLAN_FLAG_I 0x08	/* RFC 7348 section 5: "I" flag, the VNI is valid */
#define IPV4_HEADER_LEN 20
#define IPV6_HEADER_LEN 40
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define IP_LEN_MAX 65535

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int parse_number(const char *s, size_t n, unsigned long min, unsigned long max,
			unsigned long *out)
{
	char buf[16];
	char *end;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
	errno = 0;
	*out = strtoul(buf, &end, 10);
	if (errno || *end || *out < min || *out > max)
		return -1;
	return 0;
}

/* aa:bb:cc:dd:ee:ff, a unicast address. */
static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return mac[0] & 1 ? -1 : 0;
}

int encap_parse(const char *s, struct encap_config *c, char *err, size_t errlen)
{
	static const uint8_t dst_mac[6] = ENCAP_VXLAN_MAC, src_mac[6] = ENCAP_VXLAN_SRC_MAC;
	const char *at, *colon, *end;
	unsigned long v;

	memset(c, 0, sizeof(*c));
	if (strcmp(s, "ipip") == 0) {
		c->kind = ENCAP_IPIP;
		return 0;
	}
	if (strcmp(s, "gre") == 0) {
		c->kind = ENCAP_GRE;
		return 0;
	}
	if (strncmp(s, "fou:", 4) == 0) {
		c->kind = ENCAP_FOU;
		if (parse_number(s + 4, strlen(s + 4), 1, 65535, &v) < 0)
			return fail(err, errlen, "the fou port must be 1..65535");
		c->port = (uint16_t)v;
		return 0;
	}
	if (strcmp(s, "fou") == 0)
		return fail(err, errlen, "'fou' needs the target's port: fou:PORT");
	if (strncmp(s, "vxlan", 5) != 0 || (s[5] && s[5] != ':' && s[5] != '@'))
		return fail(err, errlen, "'%s' is not a tunnel (vxlan[:VNI[:PORT]][@MAC], ipip, "
			    "gre or fou:PORT)", s);
	c->kind = ENCAP_VXLAN;
	c->vni = 1;
	c->port = ENCAP_VXLAN_PORT;
	memcpy(c->inner_dst_mac, dst_mac, 6);
	memcpy(c->inner_src_mac, src_mac, 6);
	at = strchr(s, '@');
	end = at ? at : s + strlen(s);
	if (s[5] == ':') {
		const char *vni = s + 6;

		colon = memchr(vni, ':', (size_t)(end - vni));
		if (parse_number(vni, (size_t)((colon ? colon : end) - vni), 0, 0xffffff, &v) < 0)
			return fail(err, errlen, "the VNI must be 0..16777215");
		c->vni = (uint32_t)v;
		if (colon) {
			if (parse_number(colon + 1, (size_t)(end - colon - 1), 1, 65535, &v) < 0)
				return fail(err, errlen, "the vxlan port must be 1..65535");
			c->port = (uint16_t)v;
		}
	}
	if (at && parse_mac(at + 1, c->inner_dst_mac) < 0)
		return fail(err, errlen, "'%s' is not a unicast MAC address (aa:bb:cc:dd:ee:ff)",
			    at + 1);
	return 0;
}

const char *encap_name(enum encap_kind kind)
{
	switch (kind) {
	case ENCAP_VXLAN: return "vxlan";
	case ENCAP_IPIP: return "ipip";
	case ENCAP_GRE: return "gre";
	case ENCAP_FOU: return "fou";
	default: return "none";
	}
}

uint8_t encap_ip_protocol(const struct encap_config *c, int family)
{
	switch (c->kind) {
	case ENCAP_VXLAN:
	case ENCAP_FOU:
		return IPPROTO_UDP;
	case ENCAP_GRE:
		return IPPROTO_GRE;
	case ENCAP_IPIP:
		return family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
	default:
		return 0;
	}
}

size_t encap_prefix_len(const struct encap_config *c)
{
	switch (c->kind) {
	case ENCAP_VXLAN: return ENCAP_VXLAN_HEADER_LEN + ENCAP_ETHER_HEADER_LEN;
	case ENCAP_GRE: return ENCAP_GRE_HEADER_LEN;
	default: return 0;
	}
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

size_t encap_write_prefix(const struct encap_config *c, int family, uint8_t *out)
{
	uint16_t ethertype = family == AF_INET6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;

	switch (c->kind) {
	case ENCAP_VXLAN:
		/* RFC 7348 section 5: flags (8 bits, I set), 24 reserved bits,
		 * the VNI (24 bits), 8 reserved bits. */
		out[0] = VXLAN_FLAG_I;
		out[1] = out[2] = out[3] = 0;
		out[4] = (uint8_t)(c->vni >> 16);
		out[5] = (uint8_t)(c->vni >> 8);
		out[6] = (uint8_t)c->vni;
		out[7] = 0;
		/* The inner Ethernet header, without a tag (section 6.1: a
		 * decapsulating endpoint should drop VLAN-tagged inner frames
		 * unless configured for them). */
		memcpy(out + 8, c->inner_dst_mac, 6);
		memcpy(out + 14, c->inner_src_mac, 6);
		put16(out + 20, ethertype);
		return ENCAP_VXLAN_HEADER_LEN + ENCAP_ETHER_HEADER_LEN;
	case ENCAP_GRE:
		/* RFC 2784 section 2: C (checksum present) 0, Reserved0 0,
		 * Ver 0, then the payload's EtherType (section 2.4). */
		out[0] = out[1] = 0;
		put16(out + 2, ethertype);
		return ENCAP_GRE_HEADER_LEN;
	default:
		return 0;
	}
}

static bool has_udp(const struct encap_config *c)
{
	return c->kind == ENCAP_VXLAN || c->kind == ENCAP_FOU;
}

size_t encap_overhead(const struct encap_config *c, int family)
{
	if (c->kind == ENCAP_NONE)
		return 0;
	return (family == AF_INET6 ? IPV6_HEADER_LEN : IPV4_HEADER_LEN) +
	       (has_udp(c) ? ENCAP_UDP_HEADER_LEN : 0) + encap_prefix_len(c);
}

size_t encap_build(const struct encap_config *c, const struct encap_outer *o,
		   const uint8_t *inner, size_t len, uint8_t *out, size_t cap)
{
	int family = o->src.family;
	size_t ip_len = family == AF_INET6 ? IPV6_HEADER_LEN : IPV4_HEADER_LEN;
	size_t total = encap_overhead(c, family) + len;
	size_t udp_len = total - ip_len;
	uint8_t protocol = encap_ip_protocol(c, family);
	uint8_t ttl = o->ttl ? o->ttl : 64;
	uint8_t *udp = out + ip_len;
	uint8_t *prefix = udp + (has_udp(c) ? ENCAP_UDP_HEADER_LEN : 0);

	if (c->kind == ENCAP_NONE || len == 0 || o->dst.family != family ||
	    (family != AF_INET && family != AF_INET6) ||
	    (inner[0] >> 4) != (family == AF_INET6 ? 6 : 4) || total > cap ||
	    (family == AF_INET ? total : total - ip_len) > IP_LEN_MAX)
		return 0;
	if (family == AF_INET) {
		/* RFC 791: version 4, IHL 5, TOS 0, total length, id, no
		 * flags or offset, TTL, protocol, checksum, addresses. */
		uint16_t check;

		out[0] = 0x45;
		out[1] = 0;
		put16(out + 2, (uint16_t)total);
		put16(out + 4, o->ip_id);
		out[6] = out[7] = 0;
		out[8] = ttl;
		out[9] = protocol;
		out[10] = out[11] = 0;
		memcpy(out + 12, o->src.bytes, 4);
		memcpy(out + 16, o->dst.bytes, 4);
		check = checksum_ipv4_header(out, IPV4_HEADER_LEN);
		memcpy(out + 10, &check, 2);
	} else {
		/* RFC 8200: version 6, traffic class and flow label 0,
		 * payload length, next header, hop limit, addresses. */
		out[0] = 0x60;
		out[1] = out[2] = out[3] = 0;
		put16(out + 4, (uint16_t)(total - ip_len));
		out[6] = protocol;
		out[7] = ttl;
		memcpy(out + 8, o->src.bytes, 16);
		memcpy(out + 24, o->dst.bytes, 16);
	}
	encap_write_prefix(c, family, prefix);
	memcpy(prefix + encap_prefix_len(c), inner, len);
	if (has_udp(c)) {
		/* RFC 768: ports, length, checksum. */
		put16(udp, o->sport);
		put16(udp + 2, c->port);
		put16(udp + 4, (uint16_t)udp_len);
		udp[6] = udp[7] = 0;
		if (!(c->kind == ENCAP_VXLAN && family == AF_INET)) {
			uint16_t check = checksum_udp(&o->src, &o->dst, udp, udp_len);

			memcpy(udp + 6, &check, 2);
		}
	}
	return total;
}

uint16_t encap_flow_port(const uint8_t *pkt, size_t len)
{
	bool v4 = len >= 20 && (pkt[0] >> 4) == 4;
	size_t l4 = v4 ? (size_t)(pkt[0] & 0x0f) * 4 : 40;
	uint64_t h;

	if (!v4 && len < 40)
		return 49152;
	/* Source and destination addresses (adjacent in both headers), then
	 * both ports. */
	h = hash_fnv1a(HASH_FNV1A_OFFSET, pkt + (v4 ? 12 : 8), v4 ? 8 : 32);
	if (l4 + 4 <= len)
		h = hash_fnv1a(h, pkt + l4, 4);
	return (uint16_t)(49152 + hash_mix64(h) % 16384);
}
