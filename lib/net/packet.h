/*
 * packet.h — parsing and building IPv4/IPv6 + TCP packets.
 *
 * Parsing never trusts a length: every field is checked against the buffer
 * and the reason for a rejection is returned as a static string. Building
 * always computes fresh checksums (captured packets often carry none: GRO,
 * checksum offload).
 */
#ifndef DOPPEL_PACKET_H
#define DOPPEL_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

/* An IPv4 or IPv6 address. family is AF_INET or AF_INET6; for AF_INET only
 * the first 4 bytes of bytes[] are used and the rest are zero, so that
 * memcmp over the whole struct compares addresses. */
struct dp_addr {
	uint8_t family;
	uint8_t pad[3];
	union {
		uint8_t bytes[16];
		struct in_addr v4;
		struct in6_addr v6;
	};
};

/* TCP flag bits as they sit in the header's 13th byte. */
#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_PSH 0x08
#define TCPF_ACK 0x10
#define TCPF_URG 0x20
#define TCPF_ECE 0x40
#define TCPF_CWR 0x80

#define TCP_MAX_SACK_BLOCKS 4

/* The TCP options doppel understands; the rest are skipped. */
struct tcp_options {
	bool has_mss, has_wscale, sack_permitted, has_timestamp;
	uint16_t mss;
	uint8_t wscale;		/* parsing clamps it to 14 (RFC 7323 section 2.3) */
	uint32_t tsval, tsecr;
	uint8_t sack_blocks;	/* number of valid entries in sack[] */
	struct { uint32_t left, right; } sack[TCP_MAX_SACK_BLOCKS];
};

/* A parsed packet: pointers into the caller's buffer, host byte order. */
struct packet {
	uint8_t family;			/* AF_INET or AF_INET6 */
	const uint8_t *l3;		/* start of the IP header */
	size_t ip_header_len;		/* IPv4 IHL*4, or IPv6 40 + extension headers */
	size_t ip_total_len;		/* from the header (v4 total length, v6 40+payload
					 * length); 0 in the header (TSO/GSO) means
					 * "up to the end of the buffer" */
	struct dp_addr src, dst;
	uint8_t ttl;			/* or hop limit */
	uint16_t ip_id;			/* IPv4 only */
	bool fragment;			/* a fragment (v4 MF/offset, v6 fragment header) */

	const uint8_t *tcp;		/* start of the TCP header */
	size_t tcp_header_len;		/* data offset * 4 */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;			/* TCPF_* */
	uint16_t window;		/* raw, unscaled */
	uint16_t urgent;
	struct tcp_options opt;

	const uint8_t *payload;		/* may be shorter than payload_len when the */
	size_t payload_len;		/* buffer was truncated (see PACKET_TRUNCATED_OK) */
	size_t payload_present;		/* bytes of payload actually in the buffer */
};

/* Flags for packet_parse(). */
#define PACKET_TRUNCATED_OK 0x1	/* accept a buffer that ends after the TCP header
				 * (summaries, snaplen captures); payload_len is
				 * taken from the IP header */

/*
 * Parse an IPv4 or IPv6 packet carrying TCP, starting at the IP header.
 * Returns 0, or -1 with *why set to a static string naming what was wrong
 * ("ipv4 header length 12 < 20", "not tcp (protocol 17, udp)", ...).
 *
 * Fragments: a first fragment (IPv4 MF set, or an IPv6 fragment header with
 * offset 0) parses with p->fragment set and payload_len covering only this
 * fragment's bytes; a later fragment, which carries no TCP header, is
 * refused, but p->family, l3, src, dst and fragment are filled so the caller
 * can count it. After any other failure p holds nothing to rely on.
 * IPv6 walks hop-by-hop (first only), routing, fragment, destination
 * options, AH, mobility, HIP and shim6 headers; ESP and "no next header"
 * are refused like any other protocol.
 */
int packet_parse(const uint8_t *buf, size_t len, unsigned flags,
		 struct packet *p, const char **why);

/* Link-layer types understood by packet_parse_link(). */
enum link_type {
	LINK_ETHERNET,	/* DLT_EN10MB: 14 bytes, 802.1Q/802.1ad tags skipped */
	LINK_LINUX_SLL,	/* DLT_LINUX_SLL: 16 bytes */
	LINK_LINUX_SLL2,	/* DLT_LINUX_SLL2: 20 bytes */
	LINK_RAW,	/* DLT_RAW / no link header */
};

/* Skip the link-layer header then packet_parse(). Non-IP frames are
 * rejected with a reason like the rest (and leave p unspecified); an
 * ethertype that disagrees with the IP version is refused too. */
int packet_parse_link(enum link_type link, const uint8_t *buf, size_t len,
		      unsigned flags, struct packet *p, const char **why);

/* Parse only the TCP options area (len bytes). Returns 0 or -1 with *why.
 * Unknown kinds are skipped; a length byte below 2 or past the area, or a
 * known kind of the wrong size, is refused. */
int packet_parse_tcp_options(const uint8_t *opt, size_t len,
			     struct tcp_options *o, const char **why);

/* The bytes packet_build() writes for o's options: 0 to 20, a multiple of 4. */
size_t packet_tcp_options_size(const struct tcp_options *o);
/* Write o's options as packet_build() does (see struct packet_spec) into
 * out, which has room for packet_tcp_options_size(o) bytes; returns that. */
size_t packet_tcp_options_write(uint8_t *out, const struct tcp_options *o);

/* What to build. */
struct packet_spec {
	struct dp_addr src, dst;	/* same family */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
	uint8_t ttl;			/* 0 means 64 */
	uint16_t ip_id;			/* IPv4 */
	/* Options to write, each only if its has_/permitted flag is set, in
	 * Linux's order and layout, each on a 4-byte boundary: MSS; SACK
	 * permitted + timestamps (two NOPs instead of SACK permitted when it
	 * is off); NOP + window scale; NOP NOP + SACK permitted when there are
	 * no timestamps. SACK blocks are not written. */
	struct tcp_options opt;
	const uint8_t *payload;
	size_t payload_len;
};

/* Largest packet packet_build() makes: 60-byte IPv6 headroom is not needed,
 * 40 + 60 (max TCP header) + payload. */
#define PACKET_HEADERS_MAX (40 + 60)

/*
 * Build an IP + TCP packet into buf (cap bytes) with valid IP and TCP
 * checksums. Returns the packet length, or 0 when cap is too small or the
 * spec is inconsistent (family mismatch, payload over 65535).
 */
size_t packet_build(uint8_t *buf, size_t cap, const struct packet_spec *s);

/* Helpers on addresses. */
bool dp_addr_equal(const struct dp_addr *a, const struct dp_addr *b);
void dp_addr_from_v4(struct dp_addr *a, uint32_t v4_network_order);
/* From the 16 bytes of an IPv6 address, in network order. */
void dp_addr_from_v6(struct dp_addr *a, const void *bytes16);
/* inet_pton for both families; returns 0 or -1. */
int dp_addr_parse(const char *s, struct dp_addr *a);
/* inet_ntop into buf (at least INET6_ADDRSTRLEN); returns buf. An address
 * of no family prints as "(no address)". */
const char *dp_addr_str(const struct dp_addr *a, char *buf, size_t len);

/* Sequence number arithmetic (RFC 1982 style, modulo 2^32). */
static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline bool seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline bool seq_ge(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }

#endif
