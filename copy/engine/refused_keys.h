/*
 * refused_keys.h — the sessions the engine refused lately (no route at
 * intercept, or the memory cap), so that each is counted once.
 *
 * A refused session's packets keep coming: its SYN is refused, then its
 * first data is tried again as a missed start (the intercept may be back by
 * then) and refused again, and so on for each packet. The engine remembers
 * a refused key here until the client's FIN or RST, a session started for
 * the key, or REFUSED_KEYS_TTL_MS without a packet; a key refused again
 * while remembered is the same session and is not counted again.
 *
 * Memory is bounded: REFUSED_KEYS_SETS x REFUSED_KEYS_WAYS entries (about
 * 220 KiB), allocated at the first refusal. When a set is full the entry
 * that would expire first makes room, and its session, should it send
 * again, is counted again: the counters may count a session twice when
 * more than 4096 refused sessions are live at once, never less than once.
 * A new connection on the same ports within the TTL whose predecessor's
 * FIN or RST was not captured is taken for the same session.
 *
 * Pure like the engine: no I/O, no clock of its own.
 */
#ifndef DOPPEL_REFUSED_KEYS_H
#define DOPPEL_REFUSED_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "copy/engine/engine.h"

#define REFUSED_KEYS_SETS 1024u	/* a power of two */
#define REFUSED_KEYS_WAYS 4u
#define REFUSED_KEYS_TTL_MS 30000u

struct refused_key {
	struct session_key key;	/* normalized (session_key_normalize) */
	uint64_t expires_ms;	/* 0: a free slot */
};

struct refused_keys {
	struct refused_key *slots;	/* SETS x WAYS, NULL until the first refusal */
	size_t used;			/* slots with expires_ms != 0 (some expired) */
};

/* A session for k (normalized) was refused at now_ms: remember it. true
 * when k was not remembered (a session refused for the first time: count
 * it); false when it was (its expiry moves on). When the set cannot be
 * allocated, every call is true: counted as before, per packet. */
bool refused_keys_note(struct refused_keys *r, uint64_t seed, const struct session_key *k,
		       uint64_t now_ms);
/* Forget k: its session ended (FIN, RST) or started after all. true when
 * k was remembered (expired or not). */
bool refused_keys_forget(struct refused_keys *r, uint64_t seed, const struct session_key *k);
void refused_keys_free(struct refused_keys *r);

#endif
