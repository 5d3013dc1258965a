/*
 * session_lifecycle.c — a session's birth and end: the caps, the route at
 * intercept, the table and the timer heap; the state transitions' side
 * effects; ending with a reason; the client stream's allocation.
 *
 * A session that ends is taken out of the table and the heap at once, but
 * freed only when the engine call returns (the graveyard), so the code up
 * the stack that still holds it can check session_ended() and stop.
 */
#include <stdlib.h>

#include "copy/engine/engine_session.h"
#include "lib/net/tcp_seq.h"

void session_bare_add(struct engine *e, struct session *s)
{
	if (s->flags & SF_BARE)
		return;
	s->flags |= SF_BARE;
	s->bare_next = NULL;
	s->bare_prev = e->bare_tail;
	if (e->bare_tail)
		e->bare_tail->bare_next = s;
	else
		e->bare_head = s;
	e->bare_tail = s;
}

void session_bare_remove(struct engine *e, struct session *s)
{
	if (!(s->flags & SF_BARE))
		return;
	s->flags &= ~SF_BARE;
	if (s->bare_prev)
		s->bare_prev->bare_next = s->bare_next;
	else
		e->bare_head = s->bare_next;
	if (s->bare_next)
		s->bare_next->bare_prev = s->bare_prev;
	else
		e->bare_tail = s->bare_prev;
	s->bare_prev = s->bare_next = NULL;
}

/*
 * At the session cap, a new session that comes with data (a real client's
 * first request, its SYN refused or not captured) takes the place of the
 * oldest session that sent nothing but its SYN (engine.h, Memory). Why the
 * oldest bare one: a real client sends its data one round trip after its
 * SYN, so a session bare for longest is the likeliest to be a SYN that
 * nothing will follow (a flood's, a scanner's), and one that has shown data
 * is a real client whose replay would be cut. Why only for data, not for
 * every new SYN: under a flood that would cost each flood SYN a session, a
 * route at intercept, a SYN and an RST to the target, enough work to make
 * the capture drop packets (real ones too) at some 20,000 SYNs a second
 * on two cores; refusing a SYN at the cap costs a hash lookup. With -O
 * a session cannot start from data, so there a SYN makes room too.
 */
static void make_room(struct engine *e, bool with_data)
{
	struct session *victim = e->bare_head;

	if (!e->cfg.max_sessions || e->table.count < e->cfg.max_sessions || !victim)
		return;
	if (!with_data && !e->cfg.full_sessions_only)
		return;
	/* A bare session holds no data: it cannot make room under the byte
	 * cap, and the new one would be refused anyway. */
	if (e->cfg.max_buffered_bytes && e->counters.buffered_bytes >= e->cfg.max_buffered_bytes)
		return;
	e->counters.sessions_evicted_syn++;
	session_finish(e, victim, END_MEMORY_LIMIT, true,
		       "sent nothing but its SYN: made room at the session cap (-m) for a session with data");
}

static bool over_caps(const struct engine *e)
{
	if (e->cfg.max_sessions && e->table.count >= e->cfg.max_sessions)
		return true;
	return e->cfg.max_buffered_bytes && e->counters.buffered_bytes >= e->cfg.max_buffered_bytes;
}

/* Count a refused session once, however many of its packets come
 * (refused_keys.h). */
static void count_refused(struct engine *e, uint64_t now, const struct session_key *k,
			  uint64_t *counter)
{
	if (refused_keys_note(&e->refused, e->table.seed, k, now))
		(*counter)++;
}

struct session *session_create(struct engine *e, uint64_t now, const struct session_key *k,
			       uint32_t isn, bool with_data)
{
	struct session *s;

	make_room(e, with_data);
	if (over_caps(e) || !(s = calloc(1, sizeof(*s)))) {
		count_refused(e, now, k, &e->counters.sessions_refused_memory);
		return NULL;
	}
	s->key = *k;
	s->isn = isn;
	s->snd_una = s->snd_nxt = isn;
	s->data_end = isn + 1;
	s->state = STATE_SYN_SENT;
	s->rto = e->cfg.rto_initial_ms;
	s->last_client_ms = s->last_target_ms = now;
	s->timer.key = UINT64_MAX;
	if (heap_push(&e->timers, &s->timer) < 0) {
		free(s);
		count_refused(e, now, k, &e->counters.sessions_refused_memory);
		return NULL;
	}
	/* The route goes first: a SYN whose answer intercept cannot route
	 * would reach the target and leave it a half-open connection. */
	enum auth_protocol proto = session_auth_protocol(e, k);
	int routed = proto == AUTH_PROTO_NONE ? e->sink.route_add(e->sink.ctx, &s->key)
		     : e->sink.route_add_payload ? e->sink.route_add_payload(e->sink.ctx, &s->key, 0xffff)
		     : -1;
	if (routed == 0 && proto != AUTH_PROTO_NONE && session_auth_start(e, s, proto) < 0) {
		e->sink.route_del(e->sink.ctx, &s->key);
		routed = -1;
	}
	if (routed < 0) {
		heap_remove(&e->timers, &s->timer);
		free(s);
		count_refused(e, now, k, &e->counters.sessions_refused_route);
		return NULL;
	}
	/* Refused before and started now (the intercept came back): a later
	 * refusal of the key is a new session. */
	refused_keys_forget(&e->refused, e->table.seed, k);
	session_table_insert(&e->table, s);
	e->counters.sessions_started++;
	e->counters.sessions_active++;
	return s;
}

static void release_stream(struct engine *e, struct session *s)
{
	if (!s->stream)
		return;
	e->counters.buffered_bytes -= stream_buffer_held(&s->stream->buf);
	stream_buffer_release(&s->stream->buf);
	pace_marks_release(&s->stream->marks);
	free(s->stream);
	s->stream = NULL;
}

void session_finish(struct engine *e, struct session *s, enum engine_end_reason reason,
		    bool reset_target, const char *detail)
{
	if (session_ended(s))
		return;
	if (reset_target)
		session_send_reset(e, s);
	s->state = session_state_next(s->state, EVENT_END);
	session_bare_remove(e, s);
	session_table_remove(&e->table, s);
	heap_remove(&e->timers, &s->timer);
	pacing_session_end(e, s);
	release_stream(e, s);
	session_auth_free(e, s);
	session_successor_detach(e, s, reason);
	e->sink.route_del(e->sink.ctx, &s->key);
	if (e->sink.session_end)
		e->sink.session_end(e->sink.ctx, &s->key, reason, detail);
	e->counters.ended[reason]++;
	if (reason == END_CLOSED)
		e->counters.sessions_completed++;
	else
		e->counters.sessions_failed++;
	e->counters.sessions_active--;
	s->hash_next = e->graveyard;
	e->graveyard = s;
}

/* Free a session that is in neither the table nor the heap. */
void session_release(struct engine *e, struct session *s)
{
	release_stream(e, s);
	session_auth_free(e, s);
	session_successor_release(e, s);
	free(s);
}

void session_free_graveyard(struct engine *e)
{
	while (e->graveyard) {
		struct session *s = e->graveyard;

		e->graveyard = s->hash_next;
		session_release(e, s);
	}
}

void session_transition(struct engine *e, struct session *s, enum session_event ev, uint64_t now)
{
	enum session_state next = session_state_next(s->state, ev);

	if (next == s->state)
		return;
	if (next == STATE_CLOSED) {
		session_finish(e, s, END_CLOSED, false,
			       ev == EVENT_LINGER_DONE ? "closed: FINs exchanged, linger over"
						       : "closed: FINs exchanged, ours acknowledged last");
		return;
	}
	s->state = next;
	if (next == STATE_TIME_WAIT) {
		/* We acked the target's FIN last; if that ack is lost the target
		 * sends its FIN again, and we must still be there to ack it. */
		s->linger_at = now + e->cfg.linger_ms;
		if (e->cfg.linger_ms)
			return;
		/* No linger: our ack of the target's FIN goes first, or the
		 * target would retransmit its FIN to a port nobody answers. */
		if ((s->flags & SF_ACK_PENDING) && !session_send_ack(e, s))
			return;
		session_finish(e, s, END_CLOSED, false, "closed: FINs exchanged");
	}
}

bool session_stream_ready(struct engine *e, struct session *s)
{
	if (s->stream)
		return true;
	s->stream = calloc(1, sizeof(*s->stream));
	if (!s->stream)
		return false;
	stream_buffer_init(&s->stream->buf, s->data_end);
	return true;
}

void session_stream_trim(struct engine *e, struct session *s)
{
	struct stream_buffer *b;
	size_t before;

	if (!s->stream)
		return;
	b = &s->stream->buf;
	before = stream_buffer_held(b);
	stream_buffer_consume(b, seq_lt(s->snd_una, b->end) ? s->snd_una : b->end);
	e->counters.buffered_bytes -= before - stream_buffer_held(b);
	if (!stream_buffer_held(b) && !s->stream->marks.count)
		release_stream(e, s);
}
