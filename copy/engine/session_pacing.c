/*
 * session_pacing.c — marks where the client waited for an answer, and the
 * rule for passing them (see session_pacing.h).
 */
#include "copy/engine/session_pacing.h"

#include <stdlib.h>

#include "copy/engine/engine_session.h"

void pace_marks_release(struct pace_marks *m)
{
	free(m->seq);
	m->seq = NULL;
	m->head = m->count = m->capacity = 0;
}

/* False when the ring cannot grow: the mark is lost and that request goes
 * without waiting, which is harmless. */
static bool marks_push(struct pace_marks *m, uint32_t seq)
{
	if (m->count == m->capacity) {
		uint32_t capacity = m->capacity ? m->capacity * 2 : 4;
		uint32_t *ring = malloc(capacity * sizeof(*ring));

		if (!ring)
			return false;
		for (uint32_t i = 0; i < m->count; i++)
			ring[i] = m->seq[(m->head + i) & (m->capacity - 1)];
		free(m->seq);
		m->seq = ring;
		m->head = 0;
		m->capacity = capacity;
	}
	m->seq[(m->head + m->count) & (m->capacity - 1)] = seq;
	m->count++;
	return true;
}

static bool marks_first(const struct pace_marks *m, uint32_t *seq)
{
	if (!m->count)
		return false;
	*seq = m->seq[m->head];
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
	s->flags |= SF_HAVE_DATA_ACK;
}

void pacing_on_append(void *ctx, uint32_t seq, uint32_t len, uint32_t ack)
{
	struct session *s = ctx;

	if (!(s->flags & SF_HAVE_DATA_ACK)) {
		pacing_client_ack(s, ack);
		return;
	}
	if (!seq_gt(ack, s->last_data_ack))
		return;
	s->last_data_ack = ack;
	/* Under -W the mark is passed as soon as it is reached. */
	marks_push(&s->stream->marks, seq);
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

bool pacing_next_mark(const struct session *s, uint32_t *seq)
{
	if (s->stream && marks_first(&s->stream->marks, seq))
		return true;
	if (s->flags & SF_FIN_PACED) {
		*seq = s->fin_seq;
		return true;
	}
	return false;
}

/* The target answered since the previous request was released: it
 * acknowledged everything we sent and sent something after. */
static bool target_answered(const struct session *s)
{
	return s->snd_una == s->snd_nxt && seq_gt(s->rcv_nxt, s->rcv_mark);
}

static void pass_mark(struct engine *e, struct session *s)
{
	uint32_t mark;

	if (s->stream && marks_first(&s->stream->marks, &mark) && mark == s->snd_nxt)
		marks_pop(&s->stream->marks);
	else
		s->flags &= ~SF_FIN_PACED;
	if (s->flags & SF_PACE_EXPIRED)
		e->counters.pace_timeouts++;
	s->flags &= ~SF_PACE_EXPIRED;
	s->pace_at = 0;
	s->rcv_mark = s->rcv_nxt;
}

bool pacing_may_send(struct engine *e, struct session *s, uint64_t now)
{
	uint32_t mark;

	if (!pacing_next_mark(s, &mark) || mark != s->snd_nxt)
		return true;
	if (e->cfg.send_at_once || (s->flags & SF_PACE_EXPIRED) || target_answered(s)) {
		pass_mark(e, s);
		return true;
	}
	/* The fallback counts from when nothing of ours is left unacknowledged:
	 * before that, retransmission is what is due, not pacing. */
	if (s->snd_una == s->snd_nxt && !s->pace_at && e->cfg.pace_timeout_ms)
		s->pace_at = now + e->cfg.pace_timeout_ms;
	return false;
}
