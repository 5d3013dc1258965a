/*
 * session_pacing.c — marks where the client had read more of the answer,
 * and the rule for passing them (see session_pacing.h).
 */
#include "copy/engine/session_pacing.h"

#include <stdlib.h>

#include "copy/engine/engine_session.h"
#include "lib/net/tcp_seq.h"

void pace_marks_release(struct pace_marks *m)
{
	free(m->ring);
	m->ring = NULL;
	m->head = m->count = m->capacity = 0;
}

/* False when the ring cannot grow: the mark is lost and that request goes
 * without waiting, as before pacing existed. */
static bool marks_push(struct pace_marks *m, uint32_t seq, uint32_t ack)
{
	if (m->count == m->capacity) {
		uint32_t capacity = m->capacity ? m->capacity * 2 : 4;
		struct pace_mark *ring = malloc(capacity * sizeof(*ring));

		if (!ring)
			return false;
		for (uint32_t i = 0; i < m->count; i++)
			ring[i] = m->ring[(m->head + i) & (m->capacity - 1)];
		free(m->ring);
		m->ring = ring;
		m->head = 0;
		m->capacity = capacity;
	}
	m->ring[(m->head + m->count) & (m->capacity - 1)] = (struct pace_mark){ seq, ack };
	m->count++;
	return true;
}

static bool marks_first(const struct pace_marks *m, struct pace_mark *mark)
{
	if (!m->count)
		return false;
	*mark = m->ring[m->head];
	return true;
}

static void marks_pop(struct pace_marks *m)
{
	m->head = (m->head + 1) & (m->capacity - 1);
	m->count--;
}

void pacing_client_ack(struct session *s, uint32_t ack)
{
	if (s->flags & SF_HAVE_DATA_ACK)
		return;
	s->last_data_ack = ack;
	s->online_base = ack;
	s->flags |= SF_HAVE_DATA_ACK;
}

void pacing_on_append(void *ctx, uint32_t seq, uint32_t len, uint32_t ack)
{
	struct session *s = ctx;

	(void)len;
	if (!(s->flags & SF_HAVE_DATA_ACK)) {
		pacing_client_ack(s, ack);
		return;
	}
	if (!seq_gt(ack, s->last_data_ack))
		return;
	s->last_data_ack = ack;
	/* Under -W the mark is passed as soon as it is reached. */
	marks_push(&s->stream->marks, seq, ack);
}

void pacing_client_fin(struct engine *e, struct session *s)
{
	if (!(s->flags & SF_FIN_KNOWN) || (s->flags & SF_FIN_CHECKED) ||
	    seq_lt(s->data_end, s->fin_seq))
		return;
	s->flags |= SF_FIN_CHECKED;
	if (e->cfg.send_at_once)
		return;
	if ((s->flags & SF_HAVE_DATA_ACK) && seq_gt(s->fin_ack, s->last_data_ack))
		s->flags |= SF_FIN_PACED;
}

bool pacing_next_mark(const struct session *s, struct pace_mark *mark)
{
	if (s->stream && marks_first(&s->stream->marks, mark))
		return true;
	if (s->flags & SF_FIN_PACED) {
		mark->seq = s->fin_seq;
		mark->ack = s->fin_ack;
		return true;
	}
	return false;
}

/* How much of its current answer the target has sent: since the last
 * mark was passed; nothing while that answer has not begun (the target has
 * not acknowledged the packet the quiet period let go). */
static uint32_t answer_sent(const struct session *s)
{
	uint32_t sent;

	if (s->flags & SF_ANSWER_PENDING)
		return 0;
	sent = s->rcv_nxt - s->rcv_mark;
	if ((s->flags & SF_TARGET_FIN) && sent)
		sent--;
	return sent;
}

void pacing_on_ack(struct session *s)
{
	if (!(s->flags & SF_ANSWER_PENDING) || !seq_gt(s->snd_una, s->answer_seq))
		return;
	/* What the target sent before it had the packet is still the answer
	 * before (it may only have paused): the new one starts here. */
	s->flags &= ~SF_ANSWER_PENDING;
	s->rcv_mark = s->rcv_nxt;
}

/* The quiet period: no new byte from the target this long ends its answer.
 * The client's FIN waits at least pace_timeout_ms of it: a FIN that comes
 * while the answer is still on its way cuts it (a server takes it as the
 * client going away), where a request that comes early is only pipelined,
 * which servers take; and a connection closes once, so the longer wait
 * costs little. A stall on our side (intercept, the daemons under load)
 * looks like the target's silence, so the FIN's margin is wide. */
static uint64_t quiet_ms(const struct engine *e, const struct session *s, bool fin)
{
	uint64_t rtt = (s->flags & SF_RTT_MEASURED) ? s->srtt8 / 8 : s->rto;
	uint64_t quiet = rtt * e->cfg.pace_quiet_rtts;
	uint64_t floor = e->cfg.pace_quiet_min_ms;

	if (fin && e->cfg.pace_timeout_ms > floor)
		floor = e->cfg.pace_timeout_ms;
	return quiet > floor ? quiet : floor;
}

/* How long a probe's answer is awaited, and how many probes go before the
 * packet goes anyway (a path that answers nothing must not hold it). The
 * probe carries one byte the target already has (see pacing_on_timer), so
 * its answer is not subject to Linux's rate limit on answers to
 * out-of-window segments (tcp_invalid_ratelimit, 500 ms per socket): a
 * zero-length probe sent sooner after the previous one went unanswered,
 * and each short answer of a kept-alive connection then cost a second. */
#define PACE_PROBES_MAX 3

static uint64_t probe_wait_ms(const struct engine *e, const struct session *s)
{
	uint64_t wait = quiet_ms(e, s, false);

	return s->rto > wait ? s->rto : wait;
}

static void stop_probing(struct session *s)
{
	s->flags &= ~SF_PACE_PROBING;
	s->pace_probes = 0;
}

static void stop_waiting(struct engine *e, struct session *s, uint64_t now)
{
	stop_probing(s);
	if (s->pace_held_since) {
		e->counters.pace_wait_ms += now - s->pace_held_since;
		e->counters.pace_waiting--;
	}
	s->pace_held_since = 0;
	s->pace_acked_ms = 0;
	s->pace_at = 0;
}

static void pass_mark(struct engine *e, struct session *s, const struct pace_mark *mark,
		      uint64_t now)
{
	struct pace_mark first;

	if (s->stream && marks_first(&s->stream->marks, &first) && first.seq == s->snd_nxt)
		marks_pop(&s->stream->marks);
	else
		s->flags &= ~SF_FIN_PACED;
	/* The next answer is counted from here, on both sides: the online one
	 * from this mark's ack, the target's from what it has sent now — or,
	 * when the quiet period let the packet go, from when the target
	 * acknowledges it: bytes it sends before that are still of this
	 * answer, which may only have paused. */
	s->online_base = mark->ack;
	s->rcv_mark = s->rcv_nxt;
	if (s->flags & SF_PACE_EXPIRED) {
		s->flags |= SF_ANSWER_PENDING;
		s->answer_seq = s->snd_nxt;
		e->counters.pace_timeouts++;
	} else {
		s->flags &= ~SF_ANSWER_PENDING;
	}
	s->flags &= ~SF_PACE_EXPIRED;
	stop_waiting(e, s, now);
}

bool pacing_may_send(struct engine *e, struct session *s, uint64_t now)
{
	struct pace_mark mark;
	uint64_t from;
	uint32_t sent, online;

	if (!pacing_next_mark(s, &mark) || mark.seq != s->snd_nxt)
		return true;
	/* The online answer's length reached: a request goes (a longer answer
	 * may still be going on, the request is then only pipelined, and the
	 * next answer, counted alone, takes in the rest and waits for it).
	 * The FIN goes at exactly that length; after a longer answer it waits
	 * for its end like after a shorter one: early, it cuts the answer.
	 * Waiting for the end of every longer answer before a request too
	 * (the quiet period, or even 2 round trips of silence) made replays
	 * to a target that answers a little longer (a header added) fall far
	 * behind, and broke pipelined PostgreSQL sessions' comparison. */
	sent = answer_sent(s);
	online = mark.ack - s->online_base;
	if (e->cfg.send_at_once || (s->flags & (SF_PACE_EXPIRED | SF_TARGET_FIN)) ||
	    sent == online || (sent > online && s->stream && s->stream->marks.count)) {
		pass_mark(e, s, &mark, now);
		return true;
	}
	if (!s->pace_held_since) {
		s->pace_held_since = now;
		e->counters.pace_waits++;
		e->counters.pace_waiting++;
	}
	/* The escapes count from when nothing of ours is left unacknowledged:
	 * before that, retransmission is what is due, not pacing. */
	if (s->snd_una != s->snd_nxt) {
		s->pace_at = 0;
		return false;
	}
	if (!s->pace_acked_ms)
		s->pace_acked_ms = now;
	if (s->rcv_nxt == s->rcv_mark) {
		/* Nothing of the answer yet: the target is thinking. */
		s->pace_at = e->cfg.pace_timeout_ms ? s->pace_acked_ms + e->cfg.pace_timeout_ms : 0;
		return false;
	}
	if (s->flags & SF_PACE_PROBING) {
		s->pace_at = s->pace_probe_at + probe_wait_ms(e, s);
		return false;
	}
	from = s->answer_ms > s->pace_acked_ms ? s->answer_ms : s->pace_acked_ms;
	s->pace_at = from + quiet_ms(e, s, !(s->stream && s->stream->marks.count));
	return false;
}

/*
 * The quiet period (or a probe's wait) is over. Silence in the summaries
 * may be ours, not the target's: intercept, the path back or this daemon
 * stalled while the target went on sending. So before a packet goes for
 * the quiet period, the target is asked: a keep-alive probe (the last byte
 * again, one byte behind snd_nxt, which a TCP answers with an ack carrying
 * its own snd_nxt), after our ack of all we saw (in case one was lost).
 * Its answer comes back behind every summary of what the target sent
 * before it, so it tells whether the answer really stopped
 * (pacing_on_target). A target that sent nothing at all gets no probe:
 * pace_timeout_ms is long already.
 */
void pacing_on_timer(struct engine *e, struct session *s, uint64_t now)
{
	s->pace_at = 0;
	/* New bytes since the period was armed: not quiet, whatever the
	 * round trip (pacing_may_send arms it again from the last byte). */
	if (!(s->flags & SF_PACE_PROBING) && s->rcv_nxt != s->rcv_mark &&
	    s->answer_ms + quiet_ms(e, s, !(s->stream && s->stream->marks.count)) > now)
		return;
	if (s->rcv_nxt == s->rcv_mark || s->pace_probes >= PACE_PROBES_MAX ||
	    s->snd_una != s->snd_nxt || s->snd_nxt == s->isn + 1) {
		s->flags |= SF_PACE_EXPIRED;
		return;
	}
	/* Our ack of everything first: the target may be silent only because
	 * an ack of ours was lost (it waits for its RTO with the rest of its
	 * answer unsent, its snd_nxt where we saw it). This one, in its
	 * window, lets it go on; the probe, out of its window, is answered
	 * behind what it then sends. The probe is our last byte again,
	 * wholly below the target's rcv_nxt: discarded as a duplicate and
	 * answered at once with an ack of the target's snd_nxt, which Linux
	 * does without the rate limit of its answers to zero-length
	 * out-of-window segments. */
	if (!session_send_ack(e, s))
		return;
	if (session_transmit(e, s, s->snd_nxt - 1, TCPF_ACK, &s->last_byte,
			     s->last_byte_seq + 1 == s->snd_nxt ? 1 : 0) != TRANSMIT_SENT)
		return;
	s->flags |= SF_PACE_PROBING;
	s->pace_probes++;
	s->pace_probe_at = now;
	e->counters.pace_probes++;
}

void pacing_on_target(struct engine *e, struct session *s, const struct packet *p,
		      uint32_t old_rcv_nxt)
{
	if (!(s->flags & SF_PACE_PROBING))
		return;
	if (s->rcv_nxt != old_rcv_nxt) {
		stop_probing(s);	/* more of the answer: the quiet period again */
		return;
	}
	if (p->payload_len || (p->flags & (TCPF_FIN | TCPF_SYN | TCPF_RST)))
		return;
	if (seq_gt(p->seq, s->rcv_nxt)) {
		/* The target sent more than we saw: on its way still. */
		stop_probing(s);
		s->answer_ms = s->pace_probe_at;
		return;
	}
	s->flags |= SF_PACE_EXPIRED;	/* nothing more: the answer has ended */
	(void)e;
}

void pacing_session_end(struct engine *e, struct session *s)
{
	if (s->pace_held_since)
		e->counters.pace_waiting--;
	s->pace_held_since = 0;
}
