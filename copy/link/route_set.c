/*
 * route_set.c — the set of live routes (see route_set.h).
 */
#include "copy/link/route_set.h"

#include <stdlib.h>
#include <string.h>

#include "lib/net/hash.h"

#define ROUTE_SET_MIN_SLOTS 256u

static size_t addr_len(const struct dp_addr *a)
{
	return a->family == AF_INET6 ? 16 : 4;
}

uint64_t route_key_hash(const struct session_key *k, uint64_t seed)
{
	uint64_t h = hash_fnv1a(HASH_FNV1A_OFFSET ^ seed, &k->client.family,
				sizeof(k->client.family));

	h = hash_fnv1a(h, k->client.bytes, addr_len(&k->client));
	h = hash_fnv1a(h, &k->client_port, sizeof(k->client_port));
	h = hash_fnv1a(h, k->target.bytes, addr_len(&k->target));
	h = hash_fnv1a(h, &k->target_port, sizeof(k->target_port));
	return hash_mix64(h);
}

static bool key_equal(const struct session_key *a, const struct session_key *b)
{
	return a->client_port == b->client_port && a->target_port == b->target_port &&
	       dp_addr_equal(&a->client, &b->client) && dp_addr_equal(&a->target, &b->target);
}

void route_set_init(struct route_set *s, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->seed = seed;
}

void route_set_free(struct route_set *s)
{
	free(s->keys);
	free(s->payload);
	free(s->used);
	route_set_init(s, s->seed);
}

/* The slot of k, or the empty slot that ends its probe chain. */
static size_t probe(const struct route_set *s, const struct session_key *k, bool *found)
{
	size_t mask = s->slot_count - 1, i = route_key_hash(k, s->seed) & mask;

	while (s->used[i]) {
		if (key_equal(&s->keys[i], k)) {
			*found = true;
			return i;
		}
		i = (i + 1) & mask;
	}
	*found = false;
	return i;
}

static int grow(struct route_set *s)
{
	size_t count = s->slot_count ? s->slot_count * 2 : ROUTE_SET_MIN_SLOTS;
	struct route_set bigger = { .slot_count = count, .seed = s->seed };

	bigger.keys = malloc(count * sizeof(*bigger.keys));
	bigger.payload = malloc(count * sizeof(*bigger.payload));
	bigger.used = calloc(count, 1);
	if (!bigger.keys || !bigger.payload || !bigger.used) {
		free(bigger.keys);
		free(bigger.payload);
		free(bigger.used);
		return -1;
	}
	for (size_t i = 0; i < s->slot_count; i++) {
		bool found;

		if (!s->used[i])
			continue;
		size_t j = probe(&bigger, &s->keys[i], &found);
		bigger.keys[j] = s->keys[i];
		bigger.payload[j] = s->payload[i];
		bigger.used[j] = 1;
	}
	bigger.count = s->count;
	free(s->keys);
	free(s->payload);
	free(s->used);
	*s = bigger;
	return 0;
}

int route_set_add(struct route_set *s, const struct session_key *k, uint16_t payload_wanted)
{
	bool found;
	size_t i;

	/* Load at most one half: short probe chains. */
	if ((s->count + 1) * 2 > s->slot_count && grow(s) < 0)
		return -1;
	i = probe(s, k, &found);
	s->payload[i] = payload_wanted;
	if (found)
		return 0;
	s->keys[i] = *k;
	s->used[i] = 1;
	s->count++;
	return 1;
}

bool route_set_has(const struct route_set *s, const struct session_key *k)
{
	bool found = false;

	if (s->count)
		probe(s, k, &found);
	return found;
}

int route_set_del(struct route_set *s, const struct session_key *k)
{
	size_t mask = s->slot_count - 1, i, j;
	bool found = false;

	if (s->count == 0)
		return 0;
	i = probe(s, k, &found);
	if (!found)
		return 0;
	/* Backward shift: later members of the run move into the hole unless
	 * their home lies cyclically in (i, j]. */
	for (j = i;;) {
		j = (j + 1) & mask;
		if (!s->used[j])
			break;
		size_t home = route_key_hash(&s->keys[j], s->seed) & mask;
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			s->keys[i] = s->keys[j];
			s->payload[i] = s->payload[j];
			i = j;
		}
	}
	s->used[i] = 0;
	s->count--;
	return 1;
}

void route_set_each(const struct route_set *s,
		    void (*fn)(void *ctx, const struct session_key *k, uint16_t payload_wanted),
		    void *ctx)
{
	for (size_t i = 0; i < s->slot_count; i++)
		if (s->used[i])
			fn(ctx, &s->keys[i], s->payload[i]);
}
