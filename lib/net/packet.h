/*
 * packet.h — parsing IPv4/IPv6 + TCP packets (packet.c): struct packet,
 * the TCP flag bits, packet_parse().
 *
 * Parsing never trusts a length: every field is checked against the buffer
 * and the reason for a rejection is returned as a static string. The
 * neighbours, one header each: addr.h (struct dp_addr), tcp_options.h,
 * tcp_seq.h (sequence arithmetic), packet_build.h (building, with fresh
 * checksums), packet_dlt.h (skipping a data-link header first).
 */
#ifndef DOPPEL_PACKET_H
#define DOPPEL_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/net/addr.h"
#include "lib/net/tcp_options.h"

/* TCP flag bits as they sit in the header's 13th byte. */
#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_PSH 0x08
#define TCPF_ACK 0x10
#define TCPF_URG 0x20
#define TCPF_ECE 0x40
#define TCPF_CWR 0x80

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

#endif
