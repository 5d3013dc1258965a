/*
 * decap.h — finding the mirrored packet inside a traffic mirror's
 * encapsulation, for doppel-copy on a collector (--mirror):
 *
 *   vxlan    RFC 7348: UDP to port 4789 (AWS VPC Traffic Mirroring, Azure
 *            virtual network TAP), 8-byte header with the I flag, an
 *            Ethernet frame;
 *   geneve   RFC 8926: UDP to port 6081, 8 bytes and Opt Len * 4 bytes of
 *            options, then Ethernet (protocol 0x6558) or IP (0x0800,
 *            0x86dd) (GCP Packet Mirroring, AWS Gateway Load Balancer);
 *   gre      RFC 2784/2890, its optional checksum, key and sequence fields
 *            skipped; the payload Ethernet (0x6558, gretap), IP (0x0800,
 *            0x86dd) or ERSPAN (switches' port mirrors):
 *              type I    0x88be without a sequence number: Ethernet;
 *              type II   0x88be with one: an 8-byte header (version 1),
 *                        Ethernet;
 *              type III  0x22eb: a 12-byte header (version 2), 8 more
 *                        bytes when its O flag says a platform-specific
 *                        subheader follows, Ethernet.
 *
 * The outer packet is IPv4 or IPv6 (no extension headers) and must not be
 * a fragment. Pure: nothing is copied, the result points into the buffer.
 */
#ifndef DOPPEL_DECAP_H
#define DOPPEL_DECAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/net/packet_dlt.h"

#define DECAP_VXLAN_PORT 4789	/* RFC 7348 section 5 */
#define DECAP_GENEVE_PORT 6081	/* RFC 8926 section 3.3 */

/* Which encapsulations to take (--mirror). A port of 0 turns that kind off. */
struct decap_config {
	uint16_t vxlan_port;
	uint16_t geneve_port;
	bool gre;		/* GRE with Ethernet, IP or ERSPAN I/II/III */
};

enum decap_kind {
	DECAP_VXLAN = 1,
	DECAP_GENEVE,
	DECAP_GRE,
	DECAP_ERSPAN1,
	DECAP_ERSPAN2,
	DECAP_ERSPAN3,
	DECAP_KIND_COUNT	/* one past the last: arrays indexed by kind */
};

struct decap_result {
	enum decap_kind kind;
	enum packet_dlt dlt;	/* of the inner frame: PACKET_DLT_ETHERNET or _RAW */
	const uint8_t *inner;
	size_t inner_len;	/* to the end of the outer packet (its IP length) */
	uint32_t id;		/* VNI, GRE key (0 without), or ERSPAN session id */
};

/*
 * Parse --mirror: a comma-separated list of vxlan[:PORT], geneve[:PORT] and
 * gre (which takes ERSPAN too); "all" is vxlan,geneve,gre. 0, or -1 with
 * err saying what is wrong.
 */
int decap_parse_config(const char *s, struct decap_config *c, char *err, size_t errlen);

/* The tcpdump expression that selects what c takes ("udp dst port 4789 or
 * ip proto 47 or ip6 proto 47"), for the kernel's filter. 0, or -1 when
 * len is too small. */
int decap_outer_filter(const struct decap_config *c, char *buf, size_t len);

/*
 * Find the inner frame of an outer IP packet (ip, len bytes from its IP
 * header). 0 with r filled; 1 when the packet is not one of the
 * encapsulations c takes (another protocol or port: not an error); -1
 * when it is one but malformed, with *why a static string naming what
 * ("vxlan header truncated", "erspan version 3 in a type II header", ...).
 */
int decap_inner(const struct decap_config *c, const uint8_t *ip, size_t len,
		struct decap_result *r, const char **why);

#endif
