/*
 * router.c — the route table: open addressing over a pool of entries
 * whose indexes never move (see router.h for why).
 */
#include "intercept/router.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "lib/net/hash.h"

#define ROUTER_MIN_SLOTS 1024u
#define ROUTER_MIN_POOL 256u

struct router_entry {
	struct router_key key;
	struct dp_addr target;
	uint16_t target_port;
	uint16_t payload_wanted;	/* ROUTE_PAYLOAD: answer bytes its owner wants */
	uint32_t hash;			/* low 32 bits of the key's hash */
	uint32_t prev, next;		/* the owner's chain, pool index + 1; next
					 * also chains free entries */
	struct router_owner *owner;	/* NULL: the entry is free */
};

/* Not a cryptographic hash: the seed is secret and random per process,
 * which is enough to keep copy daemons' client addresses (already chosen by
 * real clients' port numbers) from landing in one probe chain. */
uint64_t router_hash_default(const struct router_key *key, uint64_t seed)
{
	uint64_t word0, word1;

	memcpy(&word0, key->client.bytes, 8);
	memcpy(&word1, key->client.bytes + 8, 8);
	uint64_t h = seed ^ (((uint64_t)key->client.family << 16 | key->client_port) *
			     HASH_GOLDEN64);
	/* hash_mix64's full avalanche is what linear probing needs from
	 * the low bits. */
	h = hash_mix64(h ^ word0);
	h = hash_mix64(h ^ word1 ^ seed);
	if (key->target.family == 0)
		return h;	/* a 2-tuple key: what it always was */
	memcpy(&word0, key->target.bytes, 8);
	memcpy(&word1, key->target.bytes + 8, 8);
	h = hash_mix64(h ^ word0 ^ ((uint64_t)key->target_port << 48));
	h = hash_mix64(h ^ word1);
	return h;
}

static void copy_addr(struct dp_addr *to, const struct dp_addr *from)
{
	to->family = from->family;
	memcpy(to->bytes, from->bytes, from->family == AF_INET6 ? 16 : 4);
}

/* A 2-tuple key when target is NULL. */
static void make_key(struct router_key *key, const struct dp_addr *client, uint16_t port,
		     const struct dp_addr *target, uint16_t target_port)
{
	memset(key, 0, sizeof(*key));
	copy_addr(&key->client, client);
	key->client_port = port;
	if (target) {
		copy_addr(&key->target, target);
		key->target_port = target_port;
	}
}

static bool key_equal(const struct router_key *a, const struct router_key *b)
{
	return a->client_port == b->client_port && a->target_port == b->target_port &&
	       a->target.family == b->target.family && dp_addr_equal(&a->client, &b->client) &&
	       (a->target.family == 0 || dp_addr_equal(&a->target, &b->target));
}

int router_init_with_hash(struct router *r, uint64_t seed, router_hash_fn hash)
{
	memset(r, 0, sizeof(*r));
	r->slots = calloc(ROUTER_MIN_SLOTS, sizeof(*r->slots));
	if (!r->slots)
		return -1;
	r->slot_count = ROUTER_MIN_SLOTS;
	r->seed = seed;
	r->hash = hash ? hash : router_hash_default;
	return 0;
}

int router_init(struct router *r)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = (uint64_t)(uintptr_t)r ^ 0x5bd1e9955bd1e995ull;
	return router_init_with_hash(r, seed, NULL);
}

void router_free(struct router *r)
{
	for (size_t i = 0; i < r->pool_used; i++)
		if (r->pool[i].owner)
			router_owner_init(r->pool[i].owner);
	free(r->slots);
	free(r->pool);
	memset(r, 0, sizeof(*r));
}

static size_t slot_mask(const struct router *r)
{
	return r->slot_count - 1;
}

/* The slot holding the entry with this key, or the empty slot that ends
 * its probe chain (*found false). */
static size_t probe(const struct router *r, const struct router_key *key, uint32_t hash,
		    bool *found)
{
	size_t i = hash & slot_mask(r);

	for (;;) {
		uint32_t s = r->slots[i];

		if (s == 0) {
			*found = false;
			return i;
		}
		const struct router_entry *e = &r->pool[s - 1];
		if (e->hash == hash && key_equal(&e->key, key)) {
			*found = true;
			return i;
		}
		i = (i + 1) & slot_mask(r);
	}
}

/* Empty slot i and shift later members of its probe run back, so that
 * every entry stays reachable from its home slot without tombstones. */
static void slot_remove(struct router *r, size_t i)
{
	size_t mask = slot_mask(r), j = i;

	for (;;) {
		j = (j + 1) & mask;
		if (r->slots[j] == 0)
			break;
		size_t home = r->pool[r->slots[j] - 1].hash & mask;
		/* The entry at j may move to i unless its home lies
		 * cyclically in (i, j]. */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			r->slots[i] = r->slots[j];
			i = j;
		}
	}
	r->slots[i] = 0;
}

static int slots_grow(struct router *r)
{
	size_t count = r->slot_count * 2;
	uint32_t *slots = calloc(count, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < r->slot_count; i++) {
		uint32_t s = r->slots[i];
		if (s == 0)
			continue;
		size_t j = r->pool[s - 1].hash & (count - 1);
		while (slots[j])
			j = (j + 1) & (count - 1);
		slots[j] = s;
	}
	free(r->slots);
	r->slots = slots;
	r->slot_count = count;
	return 0;
}

/* A free pool entry (pool index + 1), or 0. */
static uint32_t entry_alloc(struct router *r)
{
	if (r->free_first) {
		uint32_t index = r->free_first;
		r->free_first = r->pool[index - 1].next;
		return index;
	}
	if (r->pool_used == r->pool_cap) {
		size_t cap = r->pool_cap ? r->pool_cap * 2 : ROUTER_MIN_POOL;
		if (cap > ROUTER_MAX_ROUTES)
			cap = ROUTER_MAX_ROUTES;
		if (cap <= r->pool_used)
			return 0;
		struct router_entry *pool = realloc(r->pool, cap * sizeof(*pool));
		if (!pool)
			return 0;
		r->pool = pool;
		r->pool_cap = cap;
	}
	return (uint32_t)++r->pool_used;
}

static void entry_free(struct router *r, uint32_t index)
{
	struct router_entry *e = &r->pool[index - 1];

	e->owner = NULL;
	e->next = r->free_first;
	r->free_first = index;
}

static void owner_insert(struct router *r, struct router_owner *o, uint32_t index)
{
	struct router_entry *e = &r->pool[index - 1];

	e->owner = o;
	e->prev = 0;
	e->next = o->first;
	if (o->first)
		r->pool[o->first - 1].prev = index;
	o->first = index;
	o->count++;
}

static void owner_remove(struct router *r, uint32_t index)
{
	struct router_entry *e = &r->pool[index - 1];
	struct router_owner *o = e->owner;

	if (e->prev)
		r->pool[e->prev - 1].next = e->next;
	else
		o->first = e->next;
	if (e->next)
		r->pool[e->next - 1].prev = e->prev;
	o->count--;
}

static void set_target(struct router_entry *e, const struct dp_addr *target, uint16_t port)
{
	memset(&e->target, 0, sizeof(e->target));
	if (target && (target->family == AF_INET || target->family == AF_INET6)) {
		e->target.family = target->family;
		memcpy(e->target.bytes, target->bytes, target->family == AF_INET6 ? 16 : 4);
		e->target_port = port;
	} else {
		e->target_port = 0;
	}
}

static enum router_add_result add_key(struct router *r, struct router_owner *o,
				      const struct router_key *key,
				      const struct dp_addr *target, uint16_t target_port)
{
	bool found;
	uint32_t hash = (uint32_t)r->hash(key, r->seed);
	size_t slot = probe(r, key, hash, &found);

	if (found) {
		uint32_t index = r->slots[slot];
		struct router_entry *e = &r->pool[index - 1];
		set_target(e, target, target_port);
		if (e->owner == o)
			return ROUTER_UPDATED;
		owner_remove(r, index);
		owner_insert(r, o, index);
		return ROUTER_MOVED;
	}
	if (r->count >= ROUTER_MAX_ROUTES)
		return ROUTER_FULL;
	/* Keep the load at or under one half: linear probing's chains stay
	 * short there, and the table costs 8 bytes per route. */
	if ((r->count + 1) * 2 > r->slot_count) {
		if (slots_grow(r) < 0)
			return ROUTER_FULL;
		slot = probe(r, key, hash, &found);
	}
	uint32_t index = entry_alloc(r);
	if (index == 0)
		return ROUTER_FULL;
	struct router_entry *e = &r->pool[index - 1];
	e->key = *key;
	e->hash = hash;
	e->payload_wanted = 0;
	set_target(e, target, target_port);
	owner_insert(r, o, index);
	r->slots[slot] = index;
	r->count++;
	if (key->target.family)
		r->count_4tuple++;
	return ROUTER_ADDED;
}

enum router_add_result router_add(struct router *r, struct router_owner *o,
				  const struct dp_addr *client, uint16_t client_port,
				  const struct dp_addr *target, uint16_t target_port)
{
	struct router_key key;

	make_key(&key, client, client_port, NULL, 0);
	return add_key(r, o, &key, target, target_port);
}

static bool is_target(const struct dp_addr *client, const struct dp_addr *target,
		      uint16_t target_port)
{
	return target && target_port && target->family == client->family &&
	       (target->family == AF_INET || target->family == AF_INET6);
}

enum router_add_result router_add_4tuple(struct router *r, struct router_owner *o,
					 const struct dp_addr *client, uint16_t client_port,
					 const struct dp_addr *target, uint16_t target_port)
{
	struct router_key key;

	if (!is_target(client, target, target_port))
		return ROUTER_FULL;
	make_key(&key, client, client_port, target, target_port);
	return add_key(r, o, &key, target, target_port);
}

/* Take the entry at pool index out of the table and its owner's chain. */
static void entry_remove(struct router *r, uint32_t index)
{
	struct router_entry *e = &r->pool[index - 1];
	size_t i = e->hash & slot_mask(r);

	while (r->slots[i] != index)
		i = (i + 1) & slot_mask(r);
	slot_remove(r, i);
	owner_remove(r, index);
	if (e->key.target.family)
		r->count_4tuple--;
	entry_free(r, index);
	r->count--;
}

/* The pool index + 1 of the route with this key, or 0. */
static uint32_t find(const struct router *r, const struct router_key *key)
{
	bool found;
	size_t slot = probe(r, key, (uint32_t)r->hash(key, r->seed), &found);

	return found ? r->slots[slot] : 0;
}

static int del_key(struct router *r, struct router_owner *o, const struct router_key *key)
{
	uint32_t index = find(r, key);

	if (index == 0 || r->pool[index - 1].owner != o)
		return 0;
	entry_remove(r, index);
	return 1;
}

int router_del(struct router *r, struct router_owner *o,
	       const struct dp_addr *client, uint16_t client_port)
{
	struct router_key key;

	make_key(&key, client, client_port, NULL, 0);
	return del_key(r, o, &key);
}

int router_del_4tuple(struct router *r, struct router_owner *o,
		      const struct dp_addr *client, uint16_t client_port,
		      const struct dp_addr *target, uint16_t target_port)
{
	struct router_key key;

	if (!is_target(client, target, target_port))
		return 0;
	make_key(&key, client, client_port, target, target_port);
	return del_key(r, o, &key);
}

size_t router_del_owner(struct router *r, struct router_owner *o)
{
	size_t removed = 0;

	while (o->first) {
		entry_remove(r, o->first);
		removed++;
	}
	return removed;
}

struct router_owner *router_lookup(const struct router *r,
				   const struct dp_addr *destination, uint16_t destination_port,
				   const struct dp_addr *source, uint16_t source_port)
{
	return router_lookup_wanted(r, destination, destination_port, source, source_port, NULL);
}

struct router_owner *router_lookup_wanted(const struct router *r,
					  const struct dp_addr *destination,
					  uint16_t destination_port,
					  const struct dp_addr *source, uint16_t source_port,
					  uint16_t *payload_wanted)
{
	struct router_key key;
	uint32_t index;

	/* The 4-tuple route, the more specific, wins over a 2-tuple one
	 * (an old copy daemon's route to the same client address and port). */
	if (r->count_4tuple && is_target(destination, source, source_port)) {
		make_key(&key, destination, destination_port, source, source_port);
		index = find(r, &key);
		if (index) {
			if (payload_wanted)
				*payload_wanted = r->pool[index - 1].payload_wanted;
			return r->pool[index - 1].owner;
		}
	}
	if (r->count == r->count_4tuple)
		return NULL;
	make_key(&key, destination, destination_port, NULL, 0);
	index = find(r, &key);
	if (index == 0)
		return NULL;
	const struct router_entry *e = &r->pool[index - 1];
	if (e->target.family && !dp_addr_equal(&e->target, source))
		return NULL;
	if (e->target_port && e->target_port != source_port)
		return NULL;
	if (payload_wanted)
		*payload_wanted = e->payload_wanted;
	return e->owner;
}

int router_set_payload_wanted(struct router *r, const struct router_owner *o,
			      const struct dp_addr *client, uint16_t client_port,
			      const struct dp_addr *target, uint16_t target_port, uint16_t wanted)
{
	struct router_key key;
	uint32_t index;

	if (target && !is_target(client, target, target_port))
		return -1;
	make_key(&key, client, client_port, target, target ? target_port : 0);
	index = find(r, &key);

	if (index == 0 || r->pool[index - 1].owner != o)
		return -1;
	r->pool[index - 1].payload_wanted = wanted;
	return 0;
}
