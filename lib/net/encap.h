/*
 * encap.h — the tunnel encapsulations doppel-copy can send the replayed
 * packets in (--tunnel), so that no packet with a client's address as its
 * source crosses a network that forbids it: the outer header carries the
 * copy host's own address, and the target's stock kernel decapsulates.
 *
 *   vxlan   RFC 7348: outer IP, UDP (port 4789 by default), an 8-byte VXLAN
 *           header with the VNI, an inner Ethernet header, the packet. The
 *           inner destination MAC must be the target's VXLAN device's own
 *           (the Linux IP stack drops frames to another host's MAC, TCP
 *           drops broadcast ones), so both ends agree on one:
 *           ENCAP_VXLAN_MAC unless given.
 *   ipip    RFC 2003 (IPv4 in IPv4, protocol 4) and RFC 2473 (IPv6 in IPv6,
 *           protocol 41): outer IP, the packet.
 *   gre     RFC 2784 without optional fields: outer IP (protocol 47), 4
 *           bytes (no flags, version 0, the inner EtherType), the packet.
 *   fou     Linux's foo-over-UDP "direct" mode (ip fou add port P ipproto
 *           4|41): outer IP, UDP to the port, the packet.
 *
 * The outer header is of the inner packet's family, with the target (the
 * inner destination) as outer destination: IPv4 targets get IPv4 tunnels,
 * IPv6 targets IPv6 tunnels.
 *
 * Everything here is pure: it writes bytes into the caller's buffers. The
 * socket senders (copy/send/) use only the prefix (what goes between the
 * outer UDP/IP header the kernel writes and the packet); the AF_PACKET
 * sender uses encap_build(), which writes the outer IP and UDP headers
 * too.
 */
#ifndef DOPPEL_ENCAP_H
#define DOPPEL_ENCAP_H

#include <stddef.h>
#include <stdint.h>

#include "lib/net/addr.h"

enum encap_kind {
	ENCAP_NONE = 0,
	ENCAP_VXLAN,
	ENCAP_IPIP,
	ENCAP_GRE,
	ENCAP_FOU,
};

#define ENCAP_VXLAN_PORT 4789		/* RFC 7348 section 5, IANA */
#define ENCAP_VXLAN_HEADER_LEN 8
#define ENCAP_ETHER_HEADER_LEN 14
#define ENCAP_GRE_HEADER_LEN 4
#define ENCAP_UDP_HEADER_LEN 8
/* The longest prefix (VXLAN + inner Ethernet) and the longest outer
 * header (IPv6 + UDP + that prefix). */
#define ENCAP_PREFIX_MAX (ENCAP_VXLAN_HEADER_LEN + ENCAP_ETHER_HEADER_LEN)
#define ENCAP_OVERHEAD_MAX (40 + ENCAP_UDP_HEADER_LEN + ENCAP_PREFIX_MAX)

/* The inner destination MAC both doppel-copy and `doppel-rules tunnel`
 * use unless told otherwise (locally administered, unicast), and the
 * inner source MAC doppel-copy writes. */
#define ENCAP_VXLAN_MAC { 0x02, 0x64, 0x70, 0x6c, 0x00, 0x01 }
#define ENCAP_VXLAN_SRC_MAC { 0x02, 0x64, 0x70, 0x6c, 0x00, 0x02 }

struct encap_config {
	enum encap_kind kind;
	uint32_t vni;			/* vxlan: 24 bits */
	uint16_t port;			/* vxlan, fou: the target's UDP port */
	uint8_t inner_dst_mac[6];	/* vxlan */
	uint8_t inner_src_mac[6];	/* vxlan */
};

/*
 * Parse a --tunnel value:
 *   vxlan[:VNI[:PORT]][@MAC]   VNI 0..16777215 (default 1), PORT (4789),
 *                              MAC the target device's (ENCAP_VXLAN_MAC)
 *   ipip | gre | fou:PORT
 * 0, or -1 with err saying what is wrong (without the option's name).
 */
int encap_parse(const char *s, struct encap_config *c, char *err, size_t errlen);
/* "vxlan", "ipip", "gre", "fou" or "none". */
const char *encap_name(enum encap_kind kind);

/* The outer header's IP protocol for an inner packet of family (AF_INET
 * or AF_INET6): 17 for vxlan and fou, 47 for gre, 4 or 41 for ipip. */
uint8_t encap_ip_protocol(const struct encap_config *c, int family);
/* Bytes between the outer IP (+UDP) header and the packet: 22 for vxlan,
 * 4 for gre, 0 for ipip and fou. */
size_t encap_prefix_len(const struct encap_config *c);
/* Write that prefix for an inner packet of family into out (room for
 * encap_prefix_len()); returns its length. */
size_t encap_write_prefix(const struct encap_config *c, int family, uint8_t *out);
/* Everything the encapsulation adds to a packet of family: outer IP
 * header (20 or 40), UDP header if any, the prefix. */
size_t encap_overhead(const struct encap_config *c, int family);

/* The outer UDP source port for the inner packet pkt (len bytes from its
 * IP header) of vxlan and fou: a hash of its addresses and ports, in the
 * dynamic range 49152..65535, as RFC 7348 section 5 recommends (and the
 * kernel's own tunnels do): each flow keeps one port, and different flows
 * spread over ECMP paths and the receiver's RSS queues. */
uint16_t encap_flow_port(const uint8_t *pkt, size_t len);

/* The outer header's own fields for encap_build(). */
struct encap_outer {
	struct dp_addr src, dst;	/* of the inner packet's family */
	uint16_t sport;			/* vxlan, fou: UDP source port */
	uint16_t ip_id;			/* IPv4 */
	uint8_t ttl;			/* 0 means 64 */
};

/*
 * The whole outer packet: outer IP header (IPv4 without options, DF clear;
 * IPv6 without extension headers), the UDP header for vxlan and fou (the
 * checksum zero for vxlan over IPv4 as RFC 7348 section 5 says it SHOULD
 * be, computed everywhere else: IPv6 needs it, RFC 8200 section 8.1), the
 * prefix, then the inner packet (len bytes, starting with its IP header).
 * Returns the outer packet's length, or 0 when the inner packet's version
 * is not the outer addresses' family, the result would not fit in cap or
 * in an IP packet's length field.
 */
size_t encap_build(const struct encap_config *c, const struct encap_outer *o,
		   const uint8_t *inner, size_t len, uint8_t *out, size_t cap);

#endif
