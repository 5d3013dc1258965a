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
 * Where an answer starts is known when a request leaves while the target
 * has answered everything before it (each answer whole by its messages):
 * the target's stream position then (target_from) is where its answer
 * starts (from_known). The engine may send requests long before the
 * target answers the ones before (it paces by byte counts, and runs ahead
 * after a quiet period), so the position at other times says nothing.
 * From a known start, the online answers' lengths say where each later
 * answer starts (identical servers answer with the same lengths): a hole
 * that ends there is read from there, and a request that leaves there
 * while the session is blind is read again. A hole followed by an answer
 * of another length than online's (a value that differs) leaves the
 * session blind until it ends: its pairs are partial, never different.
 */
#include "copy/compare/compare_session.h"

/* Whether pos is where request i's target answer begins: the last known
 * start at or before it, plus the online answers' lengths from there. */
static bool answer_starts_at(struct csession *s, unsigned i, uint32_t pos)
{
	uint32_t sum = 0;

	for (;;) {
		struct request *r = at(s, i);

		if (r->from_known)
			return r->target_from + sum == pos;
		if (!i)
			return false;
		r = at(s, --i);
		if (!r->target_sent || !r->online_over || r->online_cut)
			return false;
		sum += (uint32_t)r->online.bytes;
	}
}

/* Whether the target has answered everything before request i (its
 * answers whole by their messages): what it sends next is i's answer. */
static bool caught_up(struct csession *s, unsigned i)
{
	for (unsigned j = 0; j < i; j++) {
		struct request *r = at(s, j);

		if (j + 1 == i ? !(countable(r) && answer_whole(&r->target, &r->online)) :
				 !target_done(r))
			return false;
	}
	return true;
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
	struct request *r = at(s, i);

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
	r->from_known = caught_up(s, i) || answer_starts_at(s, i, s->target_next);
}

/* The hole ends where an answer starts: it is read from there; else
 * nothing is read until an answer's start is known again. */
void holes_found(struct csession *s, uint32_t seq)
{
	unsigned first = 0;
	bool known = false;
	uint32_t start = 0;

	while (first < s->count && target_done(at(s, first)))
		first++;
	/* Each request's answer start, from the known ones and the online
	 * lengths after them. */
	for (unsigned j = 0; j < s->count && at(s, j)->target_sent; j++) {
		struct request *r = at(s, j);

		if (r->from_known) {
			known = true;
			start = r->target_from;
		}
		if (known && j >= first && start == seq) {
			see_again(s, j);
			return;
		}
		known = known && r->online_over && !r->online_cut;
		start += (uint32_t)r->online.bytes;
	}
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
