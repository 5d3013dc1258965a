/*
 * session_target.c — what a response summary from the target does: the
 * SYN-ACK that completes our handshake, its acks (our data delivered, its
 * window, duplicate acks that signal a loss), its data and FIN (which we
 * acknowledge at once), its RST.
 */
#include <stdio.h>

#include "copy/engine/engine_session.h"
#include "lib/net/tcp_seq.h"

#define MAX_WSCALE 14
/* Target data ending further than this past rcv_nxt is not of this
 * connection (a stale summary, a reused port): acking it would be wrong. */
#define MAX_RECEIVE_AHEAD (1u << 30)

static void handshake(struct engine *e, struct session *s, uint64_t now, const struct packet *p)
{
	char detail[128];

	if (p->flags & TCPF_RST) {
		if ((p->flags & TCPF_ACK) && p->ack == s->isn + 1)
			session_finish(e, s, END_TARGET_RESET, false,
				       "target refused the connection (RST in answer to our SYN)");
		return;
	}
	if (!(p->flags & TCPF_ACK))
		return;
	if (p->ack != s->isn + 1 || !(p->flags & TCPF_SYN)) {
		/* RFC 9293 3.10.7.3: reset <SEQ=SEG.ACK> for an unacceptable ack
		 * and go on waiting. Mostly the target still holds the port's
		 * previous connection half-open (its SYN-ACK for that one's ISN).
		 * An ACK without SYN, whatever it acks, is the same: a host
		 * that got our SYN answers it with its SYN; a bare ACK is the
		 * challenge ACK (RFC 5961 4) of a connection it holds open on
		 * these ports, mostly the session of a doppel-copy that was
		 * killed or restarted. Its ack is exactly the seq that
		 * connection expects next, so the target takes the RST; and
		 * after a restart it is often our ISN + 1 itself (a missed
		 * start's made-up SYN is its first data's seq - 1), which RFC
		 * 9293 alone would let pass. The RST ends it and our SYN, sent
		 * again at once, gets through. It counts as a SYN try, so a
		 * host that keeps answering wrong ends the session. */
		session_transmit(e, s, p->ack, TCPF_RST, NULL, 0);
		if (session_ended(s))
			return;
		e->counters.stale_resets++;
		if (s->retries + 1u < e->cfg.syn_retries) {
			s->retries++;
			s->flags &= ~SF_RTT_TIMING;
			if (session_send_syn(e, s))
				e->counters.retransmissions++;
			return;
		}
		snprintf(detail, sizeof(detail),
			 "target's answer to our SYN acknowledged %u, not our ISN + 1 = %u (%u times)",
			 p->ack, s->isn + 1, e->cfg.syn_retries);
		session_finish(e, s, END_PROTOCOL_ERROR, false, detail);
		return;
	}
	s->irs = p->seq;
	s->rcv_nxt = s->rcv_mark = p->seq + 1;
	s->snd_una = p->ack;
	s->target_mss = p->opt.has_mss ? p->opt.mss : 0;
	if ((s->flags & SF_OFFER_WSCALE) && p->opt.has_wscale) {
		s->flags |= SF_WSCALE;
		s->target_wscale = p->opt.wscale > MAX_WSCALE ? MAX_WSCALE : p->opt.wscale;
	}
	if ((s->flags & SF_OFFER_TIMESTAMPS) && p->opt.has_timestamp) {
		s->flags |= SF_TIMESTAMPS;
		s->ts_recent = p->opt.tsval;
	}
	s->snd_wnd = p->window;	/* never scaled in a SYN (RFC 7323 2.2) */
	s->wl1 = p->seq;
	s->wl2 = p->ack;
	if (s->flags & SF_RTT_TIMING)
		session_rtt_sample(e, s, now);
	s->retries = 0;
	session_rto_reset(e, s);
	s->rtx_at = 0;
	session_transition(e, s, EVENT_SYN_ACK, now);
	if (!session_send_ack(e, s))
		return;
	session_output(e, s, now);
}

/*
 * The target reset the connection with an RST that acknowledges nothing (no
 * ACK flag: Linux's answer for a connection it does not have) after we sent
 * data, before it acknowledged any of it or sent any: it lost the connection while
 * opening it, and no request reached the server. Seen in the lab at
 * thousands of connections a second with loss and doppel-copy overloaded:
 * our handshake's ACK came late, the target had dropped the half-open
 * connection, and the request was lost with the session. The session is
 * opened again with the same ISN (the target holds nothing for the ports
 * now) and its data replayed, up to SESSION_RESTARTS_MAX times (under the
 * same load the second try can come late too: one lost request in about
 * 2,000 with a single try).
 */
#define SESSION_RESTARTS_MAX 3

static bool restart(struct engine *e, struct session *s, uint64_t now, const struct packet *p)
{
	if ((p->flags & TCPF_ACK) || (s->flags & SF_TARGET_FIN) || s->auth ||
	    s->restarts >= SESSION_RESTARTS_MAX ||
	    s->snd_una != s->isn + 1 || s->snd_nxt == s->isn + 1 || s->rcv_nxt != s->irs + 1)
		return false;
	s->restarts++;
	s->flags &= ~(SF_TIMESTAMPS | SF_WSCALE | SF_IN_RECOVERY | SF_PERSIST | SF_ACK_PENDING |
		      SF_RTT_TIMING | SF_PACE_EXPIRED | SF_PACE_PROBING | SF_ANSWER_PENDING);
	s->state = STATE_SYN_SENT;
	s->snd_una = s->isn;
	s->snd_nxt = s->isn + 1;
	s->retries = 0;
	s->dupacks = 0;
	s->pace_at = 0;
	s->pace_probes = 0;
	s->pace_acked_ms = 0;
	s->linger_at = 0;
	/* The RTO backed off by the lost data's retransmissions is not the new
	 * SYN's: kept, one lost SYN would wait as long as the last data did. */
	session_rto_reset(e, s);
	e->counters.sessions_restarted++;
	if (!session_send_syn(e, s))
		return true;
	s->rtx_at = now + s->rto;
	return true;
}

/* An RST is believed only in our receive window: an old one from an
 * earlier connection on the same ports must not kill this one. */
static void target_reset(struct engine *e, struct session *s, uint64_t now,
			 const struct packet *p)
{
	char detail[288], where[240];
	uint32_t window = (uint32_t)s->client_window << s->client_wscale;

	if (window < 65535)
		window = 65535;
	if (seq_lt(p->seq, s->rcv_nxt - 1) || seq_ge(p->seq, s->rcv_nxt + window))
		return;
	if (s->state == STATE_TIME_WAIT) {
		session_finish(e, s, END_CLOSED, false, "closed: FINs exchanged, then reset");
		return;
	}
	/* The target closed, had every byte of ours, and resets instead of
	 * acking our FIN: it has forgotten the connection (its FIN_WAIT_2
	 * ended; Linux's lasts tcp_fin_timeout, 60 s, after the server's
	 * close). Nothing is lost; the connection is over as a close. */
	if ((s->state == STATE_LAST_ACK || s->state == STATE_CLOSING) &&
	    (s->flags & SF_TARGET_FIN) && s->snd_una == s->fin_seq) {
		session_finish(e, s, END_CLOSED, false,
			       "closed: FINs exchanged, ours answered by a reset");
		return;
	}
	if (restart(e, s, now, p))
		return;
	session_where(s, where, sizeof(where));
	snprintf(detail, sizeof(detail), "target reset the connection in %s", where);
	session_finish(e, s, END_TARGET_RESET, false, detail);
}

static void window_update(struct engine *e, struct session *s, const struct packet *p)
{
	uint32_t window = (uint32_t)p->window << ((s->flags & SF_WSCALE) ? s->target_wscale : 0);

	/* RFC 9293 3.10.7.4: only a segment newer than the one that set the
	 * window may change it (summaries can be reordered). */
	if (!(seq_lt(s->wl1, p->seq) || (s->wl1 == p->seq && seq_le(s->wl2, p->ack))))
		return;
	s->snd_wnd = window;
	s->wl1 = p->seq;
	s->wl2 = p->ack;
	if ((s->flags & SF_PERSIST) && window) {
		/* Open again: the send loop takes over from the probes. */
		s->flags &= ~SF_PERSIST;
		s->rtx_at = 0;
		s->retries = 0;
		session_rto_reset(e, s);
	}
}

/* Client payload bytes in [from, to), leaving out the FIN (the SYN was
 * acknowledged by the handshake, before any data). */
static uint32_t data_bytes(const struct session *s, uint32_t from, uint32_t to)
{
	if (session_state_fin_sent(s->state) && seq_gt(to, s->fin_seq))
		to = s->fin_seq;
	return seq_gt(to, from) ? to - from : 0;
}

static void new_ack(struct engine *e, struct session *s, uint64_t now, uint32_t ack)
{
	bool fin_acked = session_state_fin_sent(s->state) && seq_gt(ack, s->fin_seq);

	e->counters.bytes_replayed += data_bytes(s, s->snd_una, ack);
	if ((s->flags & SF_RTT_TIMING) && seq_ge(ack, s->rtt_seq))
		session_rtt_sample(e, s, now);
	s->snd_una = ack;
	pacing_on_ack(s);
	s->dupacks = 0;
	s->retries = 0;
	session_rto_reset(e, s);
	session_stream_trim(e, s);
	s->rtx_at = 0;
	session_arm_rtx(e, s, now);
	if (s->flags & SF_IN_RECOVERY) {
		if (seq_lt(ack, s->recover)) {
			/* A partial ack: the next hole is at snd_una. */
			if (!session_retransmit_first(e, s, now))
				return;
		} else {
			s->flags &= ~SF_IN_RECOVERY;
		}
	}
	if (fin_acked)
		session_transition(e, s, EVENT_FIN_ACKED, now);
}

static void duplicate_ack(struct engine *e, struct session *s, uint64_t now)
{
	if (++s->dupacks != 3 || (s->flags & SF_IN_RECOVERY))
		return;
	s->recover = s->snd_nxt;
	s->flags |= SF_IN_RECOVERY;
	e->counters.fast_retransmits++;
	if (session_retransmit_first(e, s, now))
		s->rtx_at = now + s->rto;
}

static void process_ack(struct engine *e, struct session *s, uint64_t now, const struct packet *p)
{
	uint32_t old_window = s->snd_wnd;

	/* Acks of what we never sent, or older than what is acknowledged,
	 * come from reordered or stale summaries: nothing to learn. */
	if (seq_gt(p->ack, s->snd_nxt) || seq_lt(p->ack, s->snd_una))
		return;
	if (s->flags & SF_PERSIST)
		s->retries = 0;		/* the target answers our probes */
	window_update(e, s, p);
	if (seq_gt(p->ack, s->snd_una))
		new_ack(e, s, now, p->ack);
	else if (!p->payload_len && !(p->flags & TCPF_FIN) && s->snd_wnd == old_window &&
		 s->snd_nxt != s->snd_una)
		duplicate_ack(e, s, now);
}

static void process_data(struct engine *e, struct session *s, uint64_t now, const struct packet *p)
{
	bool fin = (p->flags & TCPF_FIN) != 0;
	uint32_t end = p->seq + (uint32_t)p->payload_len + fin;

	if (!p->payload_len && !fin)
		return;
	if (seq_gt(end, s->rcv_nxt)) {
		if (end - s->rcv_nxt > MAX_RECEIVE_AHEAD)
			return;
		/* We are a sink: whatever the target sent is acknowledged, gaps
		 * included (a gap is a summary intercept lost, not data we
		 * could wait for). */
		s->rcv_nxt = end;
		s->answer_ms = now;	/* pacing's quiet period counts from here */
	}
	s->flags |= SF_ACK_PENDING;
	if (!fin)
		return;
	if (!(s->flags & SF_TARGET_FIN)) {
		s->flags |= SF_TARGET_FIN;
		session_transition(e, s, EVENT_TARGET_FIN, now);
	} else if (s->state == STATE_TIME_WAIT) {
		s->linger_at = now + e->cfg.linger_ms;	/* our ack was lost: wait again */
	}
}

void session_target_packet(struct engine *e, struct session *s, uint64_t now,
			   const struct packet *p)
{
	uint32_t old_rcv_nxt;

	s->last_target_ms = now;
	if (s->state == STATE_SYN_SENT) {
		handshake(e, s, now, p);
		return;
	}
	if (p->flags & TCPF_RST) {
		target_reset(e, s, now, p);
		return;
	}
	if (p->flags & TCPF_SYN) {
		/* Its SYN-ACK again: our ACK was lost. */
		if (p->seq == s->irs) {
			s->flags |= SF_ACK_PENDING;
			session_output(e, s, now);
		}
		return;
	}
	if (!(p->flags & TCPF_ACK))
		return;
	if ((s->flags & SF_TIMESTAMPS) && p->opt.has_timestamp &&
	    seq_ge(p->opt.tsval, s->ts_recent))
		s->ts_recent = p->opt.tsval;
	old_rcv_nxt = s->rcv_nxt;
	process_ack(e, s, now, p);
	if (session_ended(s))
		return;
	process_data(e, s, now, p);
	if (session_ended(s))
		return;
	pacing_on_target(e, s, p, old_rcv_nxt);
	if (session_auth_pending(s)) {
		session_auth_target(e, s, now, p);
		if (session_ended(s))
			return;
	}
	session_output(e, s, now);
	/* With a new connection waiting on the ports, no linger once our ack
	 * of the target's FIN is out (engine.h says why). */
	if (s->state == STATE_TIME_WAIT && s->successor)
		session_finish(e, s, END_CLOSED, false, "closed: FINs exchanged, port reused");
}
