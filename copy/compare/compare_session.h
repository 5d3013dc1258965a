/*
 * compare_session.h — internal to copy/compare/: a compared session and
 * its requests in flight (compare.c pairs them; compare_holes.c finds
 * where the target's answers start again after a hole in its stream).
 */
#ifndef DOPPEL_COMPARE_SESSION_H
#define DOPPEL_COMPARE_SESSION_H

#include "copy/compare/compare.h"

struct request {
	uint32_t start_seq;		/* the client's seq of its first byte */
	uint64_t online_start_us, target_sent_us;
	bool target_sent;
	bool next_sent;			/* a later request's first byte went to the target */
	bool online_over, target_over;	/* target_over: the target closed, or the session ended */
	bool partial;			/* bytes of an answer were not seen (cut by
					 * intercept, a lost summary, a capture gap) */
	bool after_client_left;		/* the online answer began after the client's
					 * FIN or RST: the replay may end first */
	bool online_cut;		/* its online answer had a hole or a cut */
	/* Where its target answer can begin: the target's stream position
	 * (target_next) when its first byte left; from_known when that
	 * position is its answer's start (compare_holes.c). */
	uint32_t target_from;
	bool from_known;
	bool target_blind;		/* its target answer overlaps a hole in the
					 * target's stream, or may: its bytes are
					 * counted, not parsed, not compared */
	uint8_t head_len;
	uint8_t head[COMPARE_REQUEST_HEAD];
	struct answer online, target;
};

struct csession {
	struct csession *next;		/* hash chain */
	struct session_key key;
	size_t transfer;
	bool dead;			/* stopped comparing (too many in flight) */
	bool client_known, online_known, target_known;
	bool server_spoke;		/* server bytes since the last request began */
	bool online_closed, target_closed;
	bool client_left;		/* the client sent its FIN or RST */
	bool blind;			/* after a hole in the target's stream, until
					 * an answer's start is known again */
	uint32_t client_next, online_next, target_next;
	uint64_t base;			/* number of ring[first] */
	unsigned first, count;
	unsigned online_cur, target_cur;	/* offsets from first */
	unsigned cap;			/* slots of ring */
	struct request **ring;
};

static inline struct request *at(struct csession *s, unsigned offset)
{
	return offset < s->count ? s->ring[(s->first + offset) % s->cap] : NULL;
}

/* Whether the protocol parser counted the online answer's whole messages
 * (responses, replies, statement outcomes): then the target's answer is
 * over once it has as many whole ones, which holds even when the engine sent the next
 * request before the answer was whole (its pacing counts bytes: a longer
 * answer lets the next request go early). */
static inline bool countable(const struct request *r)
{
	return r->online_over && r->online.complete > 0 && !r->partial;
}

static inline bool target_done(const struct request *r)
{
	if (r->target_over)
		return true;
	if (r->target_blind)
		return false;	/* over when an answer after it is found */
	if (!r->next_sent)
		return false;
	return !countable(r) || answer_whole(&r->target, &r->online);
}

/* compare_holes.c */
/* Request i's first byte went to the target: where its answer can begin. */
void holes_mark_start(struct csession *s, unsigned i);
/* The target's bytes go on at seq after a hole. */
void holes_found(struct csession *s, uint32_t seq);
/* The target's stream has a hole just after the bytes read. */
void holes_go_blind(struct csession *s);
/* Whether the target's bytes at seq are past request t's answer, because
 * the next request's answer is known to start there or before; then t's
 * answer is over. */
bool holes_boundary(struct csession *s, unsigned t, uint32_t seq);
/* len bytes of the target while s is blind: counted to the oldest answer
 * they may belong to, not parsed. */
void holes_count(struct csession *s, size_t len, uint64_t now);

#endif
