/*
 * session_timers.c — a session's deadlines: which is next (the key of the
 * session in the engine's heap), and what happens when they pass.
 *
 * A session has one place in the heap, at the earliest of: its
 * retransmission or probe timer, the pacing fallback, the end of its
 * linger, and the -t and -k timeouts counted from the last packets seen.
 */
#include <stdio.h>

#include "copy/engine/engine_session.h"

static uint64_t earliest(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/*
 * -t is for a session where nothing goes on. One whose SYN, data or window
 * probe is being sent again is not idle: the target is not answering yet,
 * and syn_retries or data_retries end it, as a TCP does. Cut by -t, such a
 * session loses a request the target would still take: seen in the lab at
 * thousands of connections a second, where the target (in SYN-cookie mode)
 * silently dropped a request for a minute (its SYN-ACK had come), the
 * backed-off retransmissions went on, and -t ended the session 120 s after
 * the SYN-ACK, between two of them.
 */
static uint64_t idle_deadline(const struct engine *e, const struct session *s)
{
	uint64_t last = s->last_client_ms > s->last_target_ms ? s->last_client_ms : s->last_target_ms;

	if (!e->cfg.session_timeout_ms || s->rtx_at)
		return UINT64_MAX;
	return last + e->cfg.session_timeout_ms;
}

/* -k applies while the client may still send: established, or the target
 * has closed and the client's FIN is awaited. Once the client has closed
 * its silence is normal, and -t watches the rest. */
static uint64_t keepalive_deadline(const struct engine *e, const struct session *s)
{
	if (!e->cfg.keepalive_timeout_ms || !session_state_can_send_data(s->state))
		return UINT64_MAX;
	return s->last_client_ms + e->cfg.keepalive_timeout_ms;
}

static uint64_t session_deadline(const struct engine *e, const struct session *s)
{
	uint64_t d = earliest(idle_deadline(e, s), keepalive_deadline(e, s));

	if (s->rtx_at)
		d = earliest(d, s->rtx_at);
	if (s->pace_at)
		d = earliest(d, s->pace_at);
	if (s->linger_at)
		d = earliest(d, s->linger_at);
	if (s->gap_at)
		d = earliest(d, s->gap_at);
	return d;
}

void session_reschedule(struct engine *e, struct session *s, uint64_t now)
{
	uint64_t d = session_deadline(e, s);

	/* A deadline that is already due would make engine_tick() spin:
	 * whatever it is, it runs on the next millisecond. */
	if (d <= now)
		d = now + 1;
	if (d != s->timer.key)
		heap_update(&e->timers, &s->timer, d);
}

/* Where a session stood when it ended without closing: a session that
 * went silent (-t) or was cut at the stop with data unsent or unacknowledged
 * is a replay that stalled, and its state, offsets and armed timers say on
 * what. */
void session_where(const struct session *s, char *buf, size_t len)
{
	snprintf(buf, len,
		 "%s; client bytes sent %u, acked %u, captured %u; target bytes %u; flags 0x%x; "
		 "retries %u; restarts %u; timers%s%s%s; successor %s",
		 session_state_name(s->state), s->snd_nxt - s->isn, s->snd_una - s->isn,
		 s->data_end - s->isn, s->rcv_nxt - s->irs, (unsigned)s->flags,
		 (unsigned)s->retries, (unsigned)s->restarts, s->rtx_at ? " rtx" : "",
		 s->pace_at ? " pace" : "", s->rtx_at || s->pace_at ? "" : " none",
		 s->successor ? "waiting" : "none");
}

void session_on_timer(struct engine *e, struct session *s, uint64_t now)
{
	char detail[320], where[240];

	if (idle_deadline(e, s) <= now) {
		session_where(s, where, sizeof(where));
		snprintf(detail, sizeof(detail),
			 "no packet from the client or the target for %llu ms (%s)",
			 (unsigned long long)e->cfg.session_timeout_ms, where);
		session_finish(e, s, END_SESSION_TIMEOUT, true, detail);
		return;
	}
	if (keepalive_deadline(e, s) <= now) {
		snprintf(detail, sizeof(detail), "client silent for %llu ms (keep-alive timeout)",
			 (unsigned long long)e->cfg.keepalive_timeout_ms);
		session_finish(e, s, END_KEEPALIVE_TIMEOUT, true, detail);
		return;
	}
	if (s->gap_at && s->gap_at <= now) {
		snprintf(detail, sizeof(detail),
			 "client bytes from seq %u never captured (%u ms, data held past them)",
			 s->data_end, e->cfg.gap_timeout_ms);
		session_finish(e, s, END_CAPTURE_GAP, true, detail);
		return;
	}
	if (s->linger_at && s->linger_at <= now) {
		s->linger_at = 0;
		session_transition(e, s, EVENT_LINGER_DONE, now);
		return;
	}
	if (s->rtx_at && s->rtx_at <= now) {
		session_on_rtx_timer(e, s, now);
		if (session_ended(s))
			return;
	}
	if (s->pace_at && s->pace_at <= now) {
		pacing_on_timer(e, s, now);
		if (session_ended(s))
			return;
	}
	session_output(e, s, now);
}
