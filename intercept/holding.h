/*
 * holding.h — responses that matched no route, kept for a moment.
 *
 * A copy daemon sends a session's ROUTE_ADD just before the session's SYN,
 * but the route travels over its TCP connection to intercept while the SYN
 * goes straight to the target, whose SYN-ACK reaches intercept through the
 * source. The SYN-ACK sometimes wins the race. Dropping it costs the
 * session the copy daemon's one-second SYN retransmission; holding it a
 * little (docs/protocol.md section 7) lets the ROUTE_ADD that follows
 * collect it.
 *
 * The holding is a FIFO of copies in two fixed rings allocated once: one
 * of entries (at most max_entries) and one of bytes (at most max_bytes),
 * so its memory is bounded whatever arrives. When either is full the
 * oldest entry is expired to make room. A hash index by destination
 * (family, client address, client port) finds an arriving route's entries;
 * an entry taken out of the middle leaves a hole that is reclaimed when the
 * FIFO's head reaches it.
 *
 * No clock is read here: every call that needs the time takes now_ms.
 */
#ifndef DOPPEL_HOLDING_H
#define DOPPEL_HOLDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/net/addr.h"
#include "lib/net/packet.h"

#define HOLDING_DEFAULT_MAX_ENTRIES 16384u
#define HOLDING_DEFAULT_MAX_BYTES (4u * 1024 * 1024)

struct holding_config {
	uint64_t hold_ms;	/* how long an entry waits for its route (> 0) */
	size_t max_entries;	/* 0: HOLDING_DEFAULT_MAX_ENTRIES */
	size_t max_bytes;	/* 0: HOLDING_DEFAULT_MAX_BYTES */
	uint64_t seed;		/* of the index's hash: random in the daemon */
};

/* What a held response gives back when its route comes. */
struct held_summary {
	struct dp_addr client, source;	/* its destination and its sender */
	uint16_t client_port, source_port;
	const uint8_t *data;		/* IP and TCP headers, then payload_present */
	size_t header_len;		/* bytes of IP and TCP headers in data */
	size_t payload_present;		/* payload bytes kept after the headers */
	uint32_t payload_len;		/* the response's whole payload length */
	uint64_t arrival_ms;
};

struct holding_entry;

struct holding {
	struct holding_config cfg;
	struct holding_entry *entries;	/* ring of cfg.max_entries */
	size_t head, used;		/* oldest ring slot; slots in use, holes included */
	size_t count;			/* entries waiting (used minus holes) */
	uint8_t *bytes;			/* ring of cfg.max_bytes */
	size_t bytes_tail;		/* where the newest entry's data ends */
	size_t bytes_held;		/* data bytes of the waiting entries */
	uint32_t *buckets;		/* slot + 1 of a chain's newest entry, 0 = none */
	size_t bucket_mask;
};

/* Allocate the rings and the index. 0, or -1 with errno (EINVAL: hold_ms
 * is 0 or a limit is too small to hold one response). */
int holding_init(struct holding *h, const struct holding_config *cfg);
void holding_free(struct holding *h);

/* Keep a copy of p: its headers and up to prefix_max bytes of its payload.
 * Entries expired to make room are added to *evicted. 0, or -1 when p could
 * never fit (larger than max_bytes): the caller counts it unrouted. */
int holding_add(struct holding *h, const struct packet *p, size_t prefix_max,
		uint64_t now_ms, size_t *evicted);

/* Called for each held response to a route's key, oldest first: true takes
 * it (delivered), false leaves it to wait or expire. */
typedef bool (*holding_take_fn)(void *ctx, const struct held_summary *summary);

/* Offer the entries held for client:client_port to take, in arrival order.
 * take must not add to or release from h. Returns how many were taken. */
size_t holding_release(struct holding *h, const struct dp_addr *client, uint16_t client_port,
		       holding_take_fn take, void *ctx);

/* Expire every entry that arrived hold_ms or more before now_ms. Returns
 * how many waiting entries were expired. */
size_t holding_expire(struct holding *h, uint64_t now_ms);

/* When the oldest waiting entry expires: false when nothing is held. */
bool holding_next_expiry(const struct holding *h, uint64_t *when_ms);

static inline size_t holding_count(const struct holding *h) { return h->count; }
static inline size_t holding_bytes(const struct holding *h) { return h->bytes_held; }

#endif
