/*
 * session_successor.c — a client that reuses its ports while the replay of
 * the old connection on them is still going on.
 *
 * Online the old connection is over (the client could not reuse the port
 * otherwise) but the replay lags a little, so at the target the old
 * connection may still have data or a FIN to deliver. Sending the new SYN
 * then would end the old one (its undelivered requests lost) or meet a live
 * socket on the same 4-tuple. Instead the new connection's captured packets
 * are held, in order, as the key's successor, and replayed as if captured
 * just now once the old session ends, whatever the reason (but an abort:
 * engine.h). The held payload counts in max_buffered_bytes like other
 * client data.
 *
 * Which packets are the successor's: those whose seq lies outside the old
 * connection's sequence range [isn, end of its data or FIN]. The old
 * connection's own late packets (its ack of the target's FIN, a FIN or SYN
 * retransmission) fall inside it and still reach the old session.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy/engine/engine_session.h"
#include "lib/net/tcp_seq.h"

/* Pure acks cost no buffered bytes; bound how many of them one successor
 * holds. */
#define SUCCESSOR_MAX_PACKETS 512

struct held_packet {
	struct held_packet *next;
	struct packet p;	/* payload points at data; l3 and tcp are not kept */
	uint8_t data[];
};

struct session_successor {
	struct session_successor *next;	/* the engine's list of successors to start */
	struct session_key key;
	struct held_packet *head, *tail;
	size_t bytes;			/* payload held, counted in buffered_bytes */
	unsigned count;
	bool refused;			/* over the caps: its packets are dropped */
};

static void drop_held(struct engine *e, struct session_successor *n)
{
	while (n->head) {
		struct held_packet *h = n->head;

		n->head = h->next;
		free(h);
	}
	n->tail = NULL;
	e->counters.buffered_bytes -= n->bytes;
	n->bytes = 0;
	n->count = 0;
}

static void successor_free(struct engine *e, struct session_successor *n)
{
	drop_held(e, n);
	free(n);
}

/* Over the caps: the new connection is refused, as a new session would be;
 * the rest of its packets are dropped until the old session ends. */
static void refuse(struct engine *e, struct session_successor *n, uint64_t now)
{
	drop_held(e, n);
	n->refused = true;
	if (refused_keys_note(&e->refused, e->table.seed, &n->key, now))
		e->counters.sessions_refused_memory++;
}

static bool over_budget(const struct engine *e, size_t len)
{
	return e->cfg.max_buffered_bytes &&
	       e->counters.buffered_bytes + len > e->cfg.max_buffered_bytes;
}

static void hold(struct engine *e, struct session_successor *n, uint64_t now,
		 const struct packet *p)
{
	size_t len = p->payload_present < p->payload_len ? p->payload_present : p->payload_len;
	struct held_packet *h;

	if (n->refused) {
		e->counters.client_ignored++;
		return;
	}
	if (n->count >= SUCCESSOR_MAX_PACKETS || over_budget(e, len) ||
	    !(h = malloc(sizeof(*h) + len))) {
		refuse(e, n, now);
		return;
	}
	h->next = NULL;
	h->p = *p;
	h->p.l3 = h->p.tcp = NULL;
	memcpy(h->data, p->payload, len);
	h->p.payload = h->data;
	if (n->tail)
		n->tail->next = h;
	else
		n->head = h;
	n->tail = h;
	n->count++;
	n->bytes += len;
	e->counters.buffered_bytes += len;
}

bool session_successor_claims(const struct session *s, const struct packet *p)
{
	uint32_t end = (s->flags & SF_FIN_KNOWN) ? s->fin_seq + 1 : s->data_end;

	if (!s->successor)
		return false;
	return !(seq_ge(p->seq, s->isn) && seq_le(p->seq, end));
}

void session_successor_queue(struct engine *e, struct session *s, uint64_t now,
			     const struct packet *p)
{
	struct session_successor *n = calloc(1, sizeof(*n));

	if (!n) {
		if (refused_keys_note(&e->refused, e->table.seed, &s->key, now))
			e->counters.sessions_refused_memory++;
		return;
	}
	n->key = s->key;
	s->successor = n;
	e->counters.sessions_queued_successor++;
	hold(e, n, now, p);
}

/* A third connection while the second waits is held too, behind it: when
 * the old session ends the held packets replay in capture order, so the
 * second starts, and the third, meeting it live, waits as its successor
 * in turn. (Superseding the old session instead lost its request when it
 * had not gone yet: at about 3,000 one-request connections a second from
 * one address with 5% loss, a port came round twice while the old
 * session's SYN was being retransmitted.) */
void session_successor_hold(struct engine *e, struct session *s, uint64_t now,
			    const struct packet *p)
{
	hold(e, s->successor, now, p);
}

void session_successor_detach(struct engine *e, struct session *s, enum engine_end_reason reason)
{
	struct session_successor *n = s->successor, **tail;

	if (!n)
		return;
	s->successor = NULL;
	if (reason == END_ABORTED || n->refused || !n->head) {
		successor_free(e, n);
		return;
	}
	for (tail = &e->successors_ready; *tail; tail = &(*tail)->next)
		;
	*tail = n;
}

size_t session_successor_bytes(const struct session *s)
{
	return s->successor ? s->successor->bytes : 0;
}

void session_successor_release(struct engine *e, struct session *s)
{
	if (s->successor)
		successor_free(e, s->successor);
	s->successor = NULL;
}

/* Replay the held packets as if captured now. Their bytes leave the count
 * first: the new session counts them again as its stream takes them, and
 * must not be refused for the memory they held themselves. */
void session_successors_start(struct engine *e, uint64_t now)
{
	struct session_successor *n;

	while ((n = e->successors_ready)) {
		e->successors_ready = n->next;
		e->counters.buffered_bytes -= n->bytes;
		n->bytes = 0;
		while (n->head) {
			struct held_packet *h = n->head;

			n->head = h->next;
			engine_dispatch_client(e, now, &n->key, &h->p);
			free(h);
		}
		free(n);
	}
}

void session_successors_free(struct engine *e)
{
	while (e->successors_ready) {
		struct session_successor *n = e->successors_ready;

		e->successors_ready = n->next;
		successor_free(e, n);
	}
}
