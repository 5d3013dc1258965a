/*
 * compare_holes.c — holes in the target's stream (compare_session.h).
 *
 * The pcap source may lose a summary
 * (libpcap drops), and the engine acknowledges past it, so its bytes never
 * come: the bytes after a hole may begin inside a message (a parser fed
 * them reads a length out of the middle of a row and swallows the rest of
 * the session), and a hole may swallow a whole answer (the next bytes,
 * given to the oldest answer not whole, would shift every later answer of
 * the session onto the request before its own). So after a hole no byte
 * is parsed until the start of an answer is known again (the session is
 * blind), and every answer the hole may overlap is partial and not
 * compared; those after it are compared as usual.
 *
 * Where an answer starts is known from the engine's own pacing, seen here
 * as the target's stream position when each request's first byte left
 * (target_from): the engine lets a request go when the target has sent as
 * many bytes since the previous one left as the online server answered
 * (holes included: it counts sequence numbers). A request sent when the
 * previous answer was whole by its messages, or exactly that many bytes
 * after a request whose answer's start was known, starts its answer
 * there (from_known). The start of request i's answer is then where the
 * online answers' lengths, added from a request before it, say: from the
 * last known start, or from any request after which the target sent
 * exactly those lengths (its answer started where it left). A request the
 * engine let go at its quiet period (nothing seen of the answer before
 * it) starts nowhere known: identical servers answer with the same
 * lengths, and the sums find the next start after it. An answer of
 * another length than online's (a value that differs) leaves the session
 * blind until the engine lets a request go at an answer's exact length.
 */
#include "copy/compare/compare_session.h"

/* How far back the online lengths are added (a hole overlapping more
 * answers than this leaves the session blind until the next known start). */
#define START_LOOKBACK 64

/* Whether pos is where request i's target answer begins. */
static bool answer_starts_at(struct csession *s, unsigned i, uint32_t pos)
{
	uint32_t sum = 0;
	struct request *r = at(s, i);

	if (r && r->from_known)
		return r->target_from == pos;
	for (unsigned n = 0; n < START_LOOKBACK && i > 0; n++) {
		struct request *m = at(s, --i);

		if (!m->target_sent || !m->online_over || m->online_cut)
			return false;
		sum += (uint32_t)m->online.bytes;
		/* From where m left, the target sent exactly the online
		 * answers' bytes: m's answer began there (the engine let m go
		 * when the answer before it had its online length). */
		if (pos - m->target_from == sum)
			return true;
		if (m->from_known)
			return false;
	}
	return false;
}

/* Every answer that may overlap the hole just found is blind. */
void holes_go_blind(struct csession *s)
{
	s->blind = true;
	for (unsigned i = 0; i < s->count; i++) {
		struct request *r = at(s, i);

		if (r->target_sent && !target_done(r))
			r->target_blind = r->partial = true;
	}
}

/* Request i's answer starts at the target's next byte: the answers before
 * it that are not whole are over (blind, partial), and it is parsed. */
static void see_again(struct csession *s, unsigned i)
{
	for (unsigned j = 0; j < i; j++) {
		struct request *r = at(s, j);

		if (!target_done(r))
			r->target_over = r->target_blind = r->partial = true;
	}
	at(s, i)->target_blind = false;
	at(s, i)->partial = at(s, i)->online_cut;	/* none of its bytes was missed */
	at(s, i)->from_known = true;
	s->blind = false;
}

/* Request i's first byte left: where its answer can begin. */
void holes_mark_start(struct csession *s, unsigned i)
{
	struct request *r = at(s, i), *prev = i ? at(s, i - 1) : NULL;

	if (!s->target_known)
		return;
	r->target_from = s->target_next;
	if (s->blind) {
		if (answer_starts_at(s, i, s->target_next))
			see_again(s, i);
		else
			r->target_blind = r->partial = true;
		return;
	}
	r->from_known = !prev || answer_starts_at(s, i, s->target_next) ||
			(countable(prev) && answer_whole(&prev->target, &prev->online));
}

/* The hole ends where an answer starts: it is read from there; else
 * nothing is read until an answer's start is known again. */
void holes_found(struct csession *s, uint32_t seq)
{
	unsigned i = 0;

	while (i < s->count && target_done(at(s, i)))
		i++;
	while (i < s->count && at(s, i)->target_sent && !answer_starts_at(s, i, seq))
		i++;
	if (i < s->count && at(s, i)->target_sent)
		see_again(s, i);
	else
		holes_go_blind(s);
}

void holes_count(struct csession *s, size_t len, uint64_t now)
{
	for (unsigned i = 0; i < s->count; i++) {
		struct request *r = at(s, i);

		if (r->target_sent && !target_done(r)) {
			answer_count(&r->target, len, now);
			return;
		}
	}
}

/* A known start is a hard boundary: an answer the pairing still fed past
 * it would take the next one's messages (a target answer with fewer
 * messages than online's, or pairs put off by one after a hole), and every
 * later answer of the session would shift. Ended there, the shift goes no
 * further; an answer that got no byte at all before the boundary had its
 * bytes taken by the one before it, so it is not compared. */
bool holes_boundary(struct csession *s, unsigned t, uint32_t seq)
{
	struct request *r = at(s, t), *next = at(s, t + 1);

	if (!next || !next->target_sent || !next->from_known ||
	    (int32_t)(seq - next->target_from) < 0)
		return false;
	r->target_over = true;
	if (!r->target.bytes)
		r->target_blind = r->partial = true;
	return true;
}
