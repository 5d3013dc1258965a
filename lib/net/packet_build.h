/*
 * packet_build.h — building an IPv4 or IPv6 packet carrying one TCP
 * segment (packet_build.c). Building always computes fresh checksums
 * (captured packets often carry none: GRO, checksum offload).
 */
#ifndef DOPPEL_PACKET_BUILD_H
#define DOPPEL_PACKET_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "lib/net/addr.h"
#include "lib/net/tcp_options.h"

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

#endif
