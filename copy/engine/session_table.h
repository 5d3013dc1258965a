/*
 * session_table.h — the engine's sessions by key: a chained hash table with
 * the chain pointer inside each session, doubling its bucket array as sessions
 * are added so lookups stay O(1) from ten sessions to millions.
 *
 * Keys are compared whole (memcmp), so they must be normalized first with
 * session_key_normalize(): zero padding, zero unused address bytes.
 */
#ifndef DOPPEL_SESSION_TABLE_H
#define DOPPEL_SESSION_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "copy/engine/engine.h"

struct session;

struct session_table {
	struct session **buckets;
	size_t mask;		/* bucket count - 1 (a power of two) */
	size_t count;
	uint64_t seed;
};

/* 0, or -1 on allocation failure. */
int session_table_init(struct session_table *t, uint64_t seed);
/* Frees the buckets, not the sessions. */
void session_table_free(struct session_table *t);

struct session *session_table_find(const struct session_table *t, const struct session_key *k);
/* Add s (whose key is normalized and not in the table). When the buckets
 * cannot grow the table keeps working, with longer chains. */
void session_table_insert(struct session_table *t, struct session *s);
void session_table_remove(struct session_table *t, struct session *s);

/* A copy of k with the bytes that carry no meaning zeroed. */
void session_key_normalize(struct session_key *out, const struct session_key *k);
/* The key of the session a target's packet belongs to: the client is its
 * destination, the target its source. */
void session_key_from_target_packet(struct session_key *out, const struct packet *p);

#endif
