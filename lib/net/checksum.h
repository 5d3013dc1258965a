/*
 * checksum.h — the Internet checksum (RFC 1071) with the TCP pseudo-header
 * for IPv4 and IPv6, and incremental updates (RFC 1624) for rewriting a
 * field without summing the whole packet again.
 */
#ifndef DOPPEL_CHECKSUM_H
#define DOPPEL_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#include "lib/net/addr.h"

/* One's-complement sum of len bytes added to sum (not folded, not inverted).
 * Any alignment. A buffer summed in pieces must have even-length pieces
 * but the last (an odd byte is padded as if it ended the data). */
uint32_t checksum_partial(const void *data, size_t len, uint32_t sum);
/* Fold a 32-bit partial sum to 16 bits and invert it: the field's value
 * (in network byte order when stored with memcpy of the uint16_t). */
uint16_t checksum_fold(uint32_t sum);
/* The IPv4 header checksum over hlen bytes (the checksum field included, so
 * zero it first when computing; a valid header gives 0). */
uint16_t checksum_ipv4_header(const void *hdr, size_t hlen);
/* TCP checksum over the segment (header with the checksum field zeroed, and
 * payload) with the pseudo-header of src, dst. Returns the field value. */
uint16_t checksum_tcp(const struct dp_addr *src, const struct dp_addr *dst,
		      const void *segment, size_t len);
/* The UDP checksum (RFC 768; RFC 8200 section 8.1 for IPv6) of a datagram
 * (header with the checksum field zeroed, and payload); a result of 0 is
 * returned as 0xffff, as the RFCs say to send it. */
uint16_t checksum_udp(const struct dp_addr *src, const struct dp_addr *dst,
		      const void *datagram, size_t len);
/* RFC 1624: the new checksum after a 16-bit word changed from old to new.
 * All three in network byte order. */
uint16_t checksum_update16(uint16_t check, uint16_t old, uint16_t new_value);
/* The same for a 32-bit word (e.g. an IPv4 address), network byte order. */
uint16_t checksum_update32(uint16_t check, uint32_t old, uint32_t new_value);

#endif
