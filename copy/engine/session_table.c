/*
 * session_table.c — chained hash table of sessions.
 */
#include "copy/engine/session_table.h"

#include <stdlib.h>
#include <string.h>

#include "copy/engine/engine_session.h"
#include "lib/net/hash.h"

#define TABLE_MIN_BUCKETS 1024u

int session_table_init(struct session_table *t, uint64_t seed)
{
	t->buckets = calloc(TABLE_MIN_BUCKETS, sizeof(*t->buckets));
	if (!t->buckets)
		return -1;
	t->mask = TABLE_MIN_BUCKETS - 1;
	t->count = 0;
	t->seed = seed;
	return 0;
}

void session_table_free(struct session_table *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->count = 0;
}

static void normalize_addr(struct dp_addr *out, const struct dp_addr *a)
{
	memset(out, 0, sizeof(*out));
	out->family = a->family;
	memcpy(out->bytes, a->bytes, a->family == AF_INET6 ? 16 : 4);
}

void session_key_normalize(struct session_key *out, const struct session_key *k)
{
	memset(out, 0, sizeof(*out));
	normalize_addr(&out->client, &k->client);
	normalize_addr(&out->target, &k->target);
	out->client_port = k->client_port;
	out->target_port = k->target_port;
}

void session_key_from_target_packet(struct session_key *out, const struct packet *p)
{
	struct session_key k = {
		.client = p->dst,
		.target = p->src,
		.client_port = p->dport,
		.target_port = p->sport,
	};

	session_key_normalize(out, &k);
}

/*
 * Seeded (the daemon's random seed), so clients cannot choose ports that
 * pile into one bucket without knowing it; not a cryptographic hash.
 */
static size_t hash_key(const struct session_table *t, const struct session_key *k)
{
	return (size_t)hash_words(t->seed ^ HASH_GOLDEN64, k, sizeof(*k));
}

struct session *session_table_find(const struct session_table *t, const struct session_key *k)
{
	struct session *s = t->buckets[hash_key(t, k) & t->mask];

	while (s && memcmp(&s->key, k, sizeof(*k)) != 0)
		s = s->hash_next;
	return s;
}

/* Double the buckets and move every session; amortized O(1) per insert. */
static void grow(struct session_table *t)
{
	size_t count = (t->mask + 1) * 2;
	struct session **buckets = calloc(count, sizeof(*buckets));

	if (!buckets)
		return;
	for (size_t i = 0; i <= t->mask; i++) {
		struct session *s = t->buckets[i];

		while (s) {
			struct session *next = s->hash_next;
			size_t b = hash_key(t, &s->key) & (count - 1);

			s->hash_next = buckets[b];
			buckets[b] = s;
			s = next;
		}
	}
	free(t->buckets);
	t->buckets = buckets;
	t->mask = count - 1;
}

void session_table_insert(struct session_table *t, struct session *s)
{
	size_t b;

	if (t->count >= t->mask + 1)
		grow(t);
	b = hash_key(t, &s->key) & t->mask;
	s->hash_next = t->buckets[b];
	t->buckets[b] = s;
	t->count++;
}

void session_table_remove(struct session_table *t, struct session *s)
{
	struct session **at = &t->buckets[hash_key(t, &s->key) & t->mask];

	while (*at && *at != s)
		at = &(*at)->hash_next;
	if (*at) {
		*at = s->hash_next;
		t->count--;
	}
	s->hash_next = NULL;
}
