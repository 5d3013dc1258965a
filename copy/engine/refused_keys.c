/*
 * refused_keys.c — a small set-associative cache of refused session keys.
 */
#include "copy/engine/refused_keys.h"

#include "lib/net/hash.h"

#include <stdlib.h>
#include <string.h>

/* The set a key lives in: the key hashed with the session table's seed (so
 * clients cannot aim their ports at one set), salted so a key's set and
 * its table bucket are unrelated. */
static struct refused_key *set_of(const struct refused_keys *r, uint64_t seed,
				  const struct session_key *k)
{
	uint64_t h = hash_words(seed ^ 0x632be59bd9b4e019ull, k, sizeof(*k));

	return r->slots + (size_t)(h & (REFUSED_KEYS_SETS - 1)) * REFUSED_KEYS_WAYS;
}

static bool same_key(const struct refused_key *slot, const struct session_key *k)
{
	return slot->expires_ms && memcmp(&slot->key, k, sizeof(*k)) == 0;
}

/* The slot to take for a new key: a free one, else the one that expires
 * (or expired) first. */
static struct refused_key *victim(struct refused_key *set)
{
	struct refused_key *best = set;

	for (unsigned i = 0; i < REFUSED_KEYS_WAYS; i++) {
		if (!set[i].expires_ms)
			return &set[i];
		if (set[i].expires_ms < best->expires_ms)
			best = &set[i];
	}
	return best;
}

bool refused_keys_note(struct refused_keys *r, uint64_t seed, const struct session_key *k,
		       uint64_t now_ms)
{
	struct refused_key *set, *slot;

	if (!r->slots) {
		r->slots = calloc((size_t)REFUSED_KEYS_SETS * REFUSED_KEYS_WAYS, sizeof(*r->slots));
		if (!r->slots)
			return true;
	}
	set = set_of(r, seed, k);
	for (unsigned i = 0; i < REFUSED_KEYS_WAYS; i++) {
		if (same_key(&set[i], k)) {
			/* Past its expiry: the client was silent that long, and
			 * what comes now is taken for a new session. */
			bool remembered = set[i].expires_ms > now_ms;

			set[i].expires_ms = now_ms + REFUSED_KEYS_TTL_MS;
			return !remembered;
		}
	}
	slot = victim(set);
	if (!slot->expires_ms)
		r->used++;
	slot->key = *k;
	slot->expires_ms = now_ms + REFUSED_KEYS_TTL_MS;
	return true;
}

bool refused_keys_forget(struct refused_keys *r, uint64_t seed, const struct session_key *k)
{
	struct refused_key *set;
	bool found = false;

	if (!r->used)
		return false;
	set = set_of(r, seed, k);
	for (unsigned i = 0; i < REFUSED_KEYS_WAYS; i++) {
		if (same_key(&set[i], k)) {
			set[i].expires_ms = 0;
			r->used--;
			found = true;
		}
	}
	return found;
}

void refused_keys_free(struct refused_keys *r)
{
	free(r->slots);
	r->slots = NULL;
	r->used = 0;
}
