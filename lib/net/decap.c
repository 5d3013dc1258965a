/*
 * decap.c — the inner frame of a traffic mirror's packet (see decap.h for
 * the formats). Every length is checked against the outer packet's own
 * before a byte is read.
 */
#include "lib/net/decap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/net/packet_bytes.h"

#define IPV4_HEADER_MIN 20
#define IPV6_HEADER_LEN 40
#define PROTO_UDP 17
#define PROTO_GRE 47
#define UDP_HEADER_LEN 8
#define VXLAN_HEADER_LEN 8
#define VXLAN_FLAG_I 0x08
#define GENEVE_HEADER_LEN 8
#define GRE_HEADER_MIN 4
#define GRE_FLAG_C 0x8000	/* checksum present (RFC 2784) */
#define GRE_FLAG_R 0x4000	/* routing present (RFC 1701): not taken */
#define GRE_FLAG_K 0x2000	/* key present (RFC 2890) */
#define GRE_FLAG_S 0x1000	/* sequence number present (RFC 2890) */
#define GRE_VERSION_MASK 0x0007
#define ERSPAN2_HEADER_LEN 8
#define ERSPAN3_HEADER_LEN 12
#define ERSPAN3_SUBHEADER_LEN 8
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_TEB 0x6558	/* transparent Ethernet bridging */
#define ETHERTYPE_ERSPAN12 0x88be
#define ETHERTYPE_ERSPAN3 0x22eb

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int decap_parse_config(const char *s, struct decap_config *c, char *err, size_t errlen)
{
	char buf[128];
	char *item, *save = NULL;

	memset(c, 0, sizeof(*c));
	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "too long");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (strcmp(item, "all") == 0) {
			c->vxlan_port = DECAP_VXLAN_PORT;
			c->geneve_port = DECAP_GENEVE_PORT;
			c->gre = true;
		} else if (strcmp(item, "gre") == 0 || strcmp(item, "erspan") == 0) {
			c->gre = true;
		} else if (strcmp(item, "vxlan") == 0) {
			c->vxlan_port = DECAP_VXLAN_PORT;
		} else if (strcmp(item, "geneve") == 0) {
			c->geneve_port = DECAP_GENEVE_PORT;
		} else if (strncmp(item, "vxlan:", 6) == 0) {
			if (parse_port(item + 6, &c->vxlan_port) < 0)
				goto bad_port;
		} else if (strncmp(item, "geneve:", 7) == 0) {
			if (parse_port(item + 7, &c->geneve_port) < 0)
				goto bad_port;
		} else {
			snprintf(err, errlen, "'%s' is not a mirror encapsulation (vxlan[:PORT], "
				 "geneve[:PORT], gre or all)", item);
			return -1;
		}
	}
	if (!c->vxlan_port && !c->geneve_port && !c->gre) {
		snprintf(err, errlen, "no encapsulation named (vxlan[:PORT], geneve[:PORT], gre or all)");
		return -1;
	}
	if (c->vxlan_port && c->vxlan_port == c->geneve_port) {
		snprintf(err, errlen, "vxlan and geneve on one port (%u)", c->vxlan_port);
		return -1;
	}
	return 0;
bad_port:
	snprintf(err, errlen, "'%s': the port must be 1..65535", item);
	return -1;
}

static int append(char *buf, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int append(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *used)
		return -1;
	*used += (size_t)n;
	return 0;
}

int decap_outer_filter(const struct decap_config *c, char *buf, size_t len)
{
	size_t used = 0;
	const char *sep = "";

	if (len == 0)
		return -1;
	buf[0] = '\0';
	if (c->vxlan_port) {
		if (append(buf, len, &used, "udp dst port %u", c->vxlan_port) < 0)
			return -1;
		sep = " or ";
	}
	if (c->geneve_port) {
		if (append(buf, len, &used, "%sudp dst port %u", sep, c->geneve_port) < 0)
			return -1;
		sep = " or ";
	}
	if (c->gre && append(buf, len, &used, "%sip proto 47 or ip6 proto 47", sep) < 0)
		return -1;
	return 0;
}

/* The inner payload type a GENEVE or GRE header names. */
static int set_inner_type(uint16_t type, struct decap_result *r, const char **why)
{
	switch (type) {
	case ETHERTYPE_TEB:
		r->dlt = PACKET_DLT_ETHERNET;
		return 0;
	case ETHERTYPE_IPV4:
	case ETHERTYPE_IPV6:
		r->dlt = PACKET_DLT_RAW;
		return 0;
	default:
		return packet_fail(why, "inner protocol not ethernet or ip");
	}
}

static void skip(struct decap_result *r, size_t n)
{
	r->inner += n;
	r->inner_len -= n;
}

static int decap_udp(const struct decap_config *c, struct decap_result *r, const char **why)
{
	uint16_t dport, udp_len;

	if (r->inner_len < UDP_HEADER_LEN)
		return packet_fail(why, "udp header truncated");
	dport = load_be16(r->inner + 2);
	if (!dport || (dport != c->vxlan_port && dport != c->geneve_port))
		return 1;
	udp_len = load_be16(r->inner + 4);
	if (udp_len < UDP_HEADER_LEN || udp_len > r->inner_len)
		return packet_fail(why, "udp length past the packet");
	r->inner_len = udp_len;
	skip(r, UDP_HEADER_LEN);
	if (dport == c->vxlan_port) {
		r->kind = DECAP_VXLAN;
		if (r->inner_len < VXLAN_HEADER_LEN)
			return packet_fail(why, "vxlan header truncated");
		/* RFC 7348 section 5: the I flag must be set for a valid VNI. */
		if (!(r->inner[0] & VXLAN_FLAG_I))
			return packet_fail(why, "vxlan I flag clear (no valid VNI)");
		r->id = load_be32(r->inner + 4) >> 8;
		r->dlt = PACKET_DLT_ETHERNET;
		skip(r, VXLAN_HEADER_LEN);
		return 0;
	}
	r->kind = DECAP_GENEVE;
	if (r->inner_len < GENEVE_HEADER_LEN)
		return packet_fail(why, "geneve header truncated");
	/* RFC 8926 section 3.4: Ver (2 bits) 0, Opt Len (6 bits) in 4-byte
	 * words; a packet of another version must be dropped. */
	if (r->inner[0] >> 6)
		return packet_fail(why, "geneve version not 0");
	{
		size_t header = GENEVE_HEADER_LEN + (size_t)(r->inner[0] & 0x3f) * 4;
		uint16_t type = load_be16(r->inner + 2);

		if (r->inner[1] & 0x80)
			return packet_fail(why, "geneve OAM frame (no mirrored traffic)");
		if (header > r->inner_len)
			return packet_fail(why, "geneve options past the packet");
		r->id = load_be32(r->inner + 4) >> 8;
		skip(r, header);
		return set_inner_type(type, r, why);
	}
}

static int decap_erspan(bool has_seq, uint16_t type, struct decap_result *r, const char **why)
{
	r->dlt = PACKET_DLT_ETHERNET;
	if (type == ETHERTYPE_ERSPAN12 && !has_seq) {
		r->kind = DECAP_ERSPAN1;	/* no ERSPAN header at all */
		return 0;
	}
	if (type == ETHERTYPE_ERSPAN12) {
		r->kind = DECAP_ERSPAN2;
		if (r->inner_len < ERSPAN2_HEADER_LEN)
			return packet_fail(why, "erspan type II header truncated");
		if (r->inner[0] >> 4 != 1)
			return packet_fail(why, "erspan type II header without version 1");
		r->id = load_be16(r->inner + 2) & 0x3ff;
		skip(r, ERSPAN2_HEADER_LEN);
		return 0;
	}
	r->kind = DECAP_ERSPAN3;
	if (r->inner_len < ERSPAN3_HEADER_LEN)
		return packet_fail(why, "erspan type III header truncated");
	if (r->inner[0] >> 4 != 2)
		return packet_fail(why, "erspan type III header without version 2");
	r->id = load_be16(r->inner + 2) & 0x3ff;
	{
		/* The O flag, the last bit of the header: a platform-specific
		 * subheader follows. */
		size_t header = ERSPAN3_HEADER_LEN + ((r->inner[11] & 1) ? ERSPAN3_SUBHEADER_LEN : 0);

		if (header > r->inner_len)
			return packet_fail(why, "erspan type III subheader truncated");
		skip(r, header);
	}
	return 0;
}

static int decap_gre(struct decap_result *r, const char **why)
{
	uint16_t flags, type;
	size_t header = GRE_HEADER_MIN;

	r->kind = DECAP_GRE;
	if (r->inner_len < GRE_HEADER_MIN)
		return packet_fail(why, "gre header truncated");
	flags = load_be16(r->inner);
	type = load_be16(r->inner + 2);
	if (flags & GRE_VERSION_MASK)
		return packet_fail(why, "gre version not 0 (pptp's enhanced gre is not a mirror)");
	if (flags & GRE_FLAG_R)
		return packet_fail(why, "gre routing present (rfc 1701 source routing)");
	if (flags & GRE_FLAG_C)
		header += 4;	/* checksum and reserved1 */
	if (flags & GRE_FLAG_K)
		header += 4;
	if (flags & GRE_FLAG_S)
		header += 4;
	if (header > r->inner_len)
		return packet_fail(why, "gre optional fields truncated");
	if (flags & GRE_FLAG_K)
		r->id = load_be32(r->inner + GRE_HEADER_MIN + ((flags & GRE_FLAG_C) ? 4 : 0));
	skip(r, header);
	if (type == ETHERTYPE_ERSPAN12 || type == ETHERTYPE_ERSPAN3)
		return decap_erspan(flags & GRE_FLAG_S, type, r, why);
	return set_inner_type(type, r, why);
}

int decap_inner(const struct decap_config *c, const uint8_t *ip, size_t len,
		struct decap_result *r, const char **why)
{
	uint8_t protocol;
	size_t header, total;

	memset(r, 0, sizeof(*r));
	if (len < 1)
		return packet_fail(why, "empty packet");
	if (ip[0] >> 4 == 4) {
		if (len < IPV4_HEADER_MIN)
			return packet_fail(why, "outer ipv4 header truncated");
		header = (size_t)(ip[0] & 0x0f) * 4;
		total = load_be16(ip + 2);
		if (header < IPV4_HEADER_MIN || header > len)
			return packet_fail(why, "outer ipv4 header length out of range");
		protocol = ip[9];
		if (protocol != PROTO_UDP && protocol != PROTO_GRE)
			return 1;
		if (load_be16(ip + 6) & 0x3fff)
			return packet_fail(why, "outer ipv4 fragment (mirrors must not fragment)");
	} else if (ip[0] >> 4 == 6) {
		if (len < IPV6_HEADER_LEN)
			return packet_fail(why, "outer ipv6 header truncated");
		header = IPV6_HEADER_LEN;
		total = IPV6_HEADER_LEN + load_be16(ip + 4);
		protocol = ip[6];
		if (protocol != PROTO_UDP && protocol != PROTO_GRE)
			return 1;
	} else {
		return packet_fail(why, "outer packet not ipv4 or ipv6");
	}
	/* A zero length (TSO/GRO) means the buffer's end; a snaplen cut
	 * leaves the buffer shorter than the header says. */
	if (total == 0 || total > len)
		total = len;
	if (total < header)
		return packet_fail(why, "outer ip length shorter than its header");
	r->inner = ip + header;
	r->inner_len = total - header;
	if (protocol == PROTO_UDP)
		return decap_udp(c, r, why);
	if (!c->gre)
		return 1;
	return decap_gre(r, why);
}
