/*
 * route_set.h — the routes doppel-copy has registered and not yet deleted:
 * one entry per live session (the engine's route_add, until its
 * route_del).
 *
 * An intercept forgets a connection's routes when the connection closes
 * (docs/protocol.md section 7), so when a link comes back the links layer
 * walks this set and registers again the routes of the sessions still
 * replayed through it: an intercept restart then costs the sessions only
 * the answers lost meanwhile, which the target retransmits.
 *
 * Open addressing with linear probing and backward-shift deletion, hashed
 * with a random per-process seed (lib/net/hash.h). Keys are stored whole
 * so that the set can be walked.
 */
#ifndef DOPPEL_ROUTE_SET_H
#define DOPPEL_ROUTE_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "copy/engine/engine.h"

struct route_set {
	struct session_key *keys;
	uint16_t *payload;	/* each route's payload wanted (ROUTE_PAYLOAD) */
	uint8_t *used;
	size_t slot_count;	/* a power of two, or 0 before the first add */
	size_t count;
	uint64_t seed;
};

void route_set_init(struct route_set *s, uint64_t seed);
void route_set_free(struct route_set *s);
/* 1 added, 0 already there (its payload wanted replaced), -1 out of
 * memory. */
int route_set_add(struct route_set *s, const struct session_key *k, uint16_t payload_wanted);
/* 1 removed, 0 not there. */
int route_set_del(struct route_set *s, const struct session_key *k);
bool route_set_has(const struct route_set *s, const struct session_key *k);
/* Call fn for each key, in no particular order. fn must not change the
 * set (collect the keys first to do that). */
void route_set_each(const struct route_set *s,
		    void (*fn)(void *ctx, const struct session_key *k, uint16_t payload_wanted),
		    void *ctx);

/* The hash of a 4-tuple, the same on every run for a given seed: the links
 * layer uses it (seed 0 there too is fine) to spread sessions over an
 * intercept's connections. */
uint64_t route_key_hash(const struct session_key *k, uint64_t seed);

#endif
