/*
 * addr.h — struct dp_addr, the IPv4 or IPv6 address the rest of doppel
 * passes around, and its helpers (addr.c).
 */
#ifndef DOPPEL_ADDR_H
#define DOPPEL_ADDR_H

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

bool dp_addr_equal(const struct dp_addr *a, const struct dp_addr *b);
void dp_addr_from_v4(struct dp_addr *a, uint32_t v4_network_order);
/* From the 16 bytes of an IPv6 address, in network order. */
void dp_addr_from_v6(struct dp_addr *a, const void *bytes16);
/* 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104: traffic that never leaves the
 * host (the channel's plain-text default, docs/protocol.md section 2.1). */
bool dp_addr_is_loopback(const struct dp_addr *a);
/* inet_pton for both families; returns 0 or -1. */
int dp_addr_parse(const char *s, struct dp_addr *a);
/* inet_ntop into buf (at least INET6_ADDRSTRLEN); returns buf. An address
 * of no family prints as "(no address)". */
const char *dp_addr_str(const struct dp_addr *a, char *buf, size_t len);

#endif
