/*
 * router.h — which copy daemon connection owns which session.
 *
 * One table for all connections. A route is keyed either by (family,
 * client address, client port), the destination of the target's responses,
 * or — for connections where both sides announced ROUTE_4TUPLE — by the
 * whole 4-tuple, client and target (docs/protocol.md section 7). A 2-tuple
 * route also remembers its target address and port; a response is routed
 * only when it comes from that target, so a stray packet to the same client
 * address and port from some other host is not fed to a session it does not
 * belong to. The two kinds live side by side: a lookup tries the 4-tuple
 * key first (the more specific), then the 2-tuple key, and skips a probe
 * when no route of that kind exists.
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones), hashed with a random per-process seed so that clients cannot
 * pick addresses that pile up in one probe chain. The table holds indexes
 * into a pool of entries whose indexes never move, so that each owner can
 * chain its routes and drop them all in O(its routes) when it closes.
 */
#ifndef DOPPEL_ROUTER_H
#define DOPPEL_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/net/addr.h"

/* An owner of routes: embedded in each copy daemon connection. Zero it
 * before use (or router_owner_init). */
struct router_owner {
	uint32_t first;		/* pool index + 1 of its first route, 0 = none */
	size_t count;		/* routes it owns */
};

/* target is all zero (family 0, port 0) in a 2-tuple key. */
struct router_key {
	struct dp_addr client, target;
	uint16_t client_port, target_port;
};

/* The hard cap on routes: 16 Mi entries, about 1 GiB of table and pool.
 * A ROUTE_ADD past it is refused (counted) rather than the process killed. */
#define ROUTER_MAX_ROUTES (16u * 1024 * 1024)

typedef uint64_t (*router_hash_fn)(const struct router_key *key, uint64_t seed);

struct router_entry;

struct router {
	uint32_t *slots;		/* pool index + 1, 0 = empty */
	size_t slot_count;		/* a power of two */
	struct router_entry *pool;
	size_t pool_cap, pool_used;	/* pool_used: entries ever handed out */
	uint32_t free_first;		/* pool index + 1 of a free entry, 0 = none */
	size_t count;			/* live routes */
	size_t count_4tuple;		/* of those, keyed by the 4-tuple */
	uint64_t seed;
	router_hash_fn hash;
};

/* What router_add did. */
enum router_add_result {
	ROUTER_ADDED,		/* a new route */
	ROUTER_UPDATED,		/* this owner had it: the target was updated */
	ROUTER_MOVED,		/* another owner had it: it is now this owner's */
	ROUTER_FULL,		/* out of memory or at ROUTER_MAX_ROUTES: not added */
};

/* A fresh router with a random seed. 0, or -1 with errno. */
int router_init(struct router *r);
/* Tests: a chosen seed and hash function (NULL = the default hash). */
int router_init_with_hash(struct router *r, uint64_t seed, router_hash_fn hash);
void router_free(struct router *r);

static inline void router_owner_init(struct router_owner *o)
{
	o->first = 0;
	o->count = 0;
}

/* Add (or update, or move to o) the route client:client_port ->
 * target:target_port. target family 0 means "any target". */
enum router_add_result router_add(struct router *r, struct router_owner *o,
				  const struct dp_addr *client, uint16_t client_port,
				  const struct dp_addr *target, uint16_t target_port);
/* Remove the route with this key if o owns it: 1 when removed, 0 when it
 * did not exist or belongs to another owner (a stale delete). */
int router_del(struct router *r, struct router_owner *o,
	       const struct dp_addr *client, uint16_t client_port);

/* The same keyed by the whole 4-tuple (ROUTE_4TUPLE): routes with one
 * client address and port and different targets coexist, and a delete
 * removes only the route with that 4-tuple. target must be an address
 * (IPv4 or IPv6, the client's family) and target_port not 0; ROUTER_FULL
 * otherwise. */
enum router_add_result router_add_4tuple(struct router *r, struct router_owner *o,
					 const struct dp_addr *client, uint16_t client_port,
					 const struct dp_addr *target, uint16_t target_port);
int router_del_4tuple(struct router *r, struct router_owner *o,
		      const struct dp_addr *client, uint16_t client_port,
		      const struct dp_addr *target, uint16_t target_port);
/* Remove every route o owns; returns how many. */
size_t router_del_owner(struct router *r, struct router_owner *o);

/* The owner of the session a response from source:source_port to
 * destination:destination_port belongs to, or NULL. */
struct router_owner *router_lookup(const struct router *r,
				   const struct dp_addr *destination, uint16_t destination_port,
				   const struct dp_addr *source, uint16_t source_port);

/* router_lookup, and the route's payload wanted in *payload_wanted
 * (unless NULL) when it has an owner. */
struct router_owner *router_lookup_wanted(const struct router *r,
					  const struct dp_addr *destination,
					  uint16_t destination_port,
					  const struct dp_addr *source, uint16_t source_port,
					  uint16_t *payload_wanted);
/* ROUTE_PAYLOAD: how many bytes of each answer's payload the owner of the
 * route with this key wants (0 when a route is added; a later ROUTE_ADD
 * sets it again). target NULL: the client address and port key, else the
 * 4-tuple one. 0, or -1 when o does not own such a route. */
int router_set_payload_wanted(struct router *r, const struct router_owner *o,
			      const struct dp_addr *client, uint16_t client_port,
			      const struct dp_addr *target, uint16_t target_port, uint16_t wanted);

/* The default hash, for tests that want to predict slots. */
uint64_t router_hash_default(const struct router_key *key, uint64_t seed);

#endif
