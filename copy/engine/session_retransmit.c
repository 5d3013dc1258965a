/*
 * session_retransmit.c — getting our segments to the target despite loss:
 * the RTO of RFC 6298 (RTT measured on segments sent once, Karn's rule),
 * exponential back-off, NewReno-style recovery (fast retransmit on three
 * duplicate acks, and each partial ack retransmitting the next hole, since
 * without SACK that is all we learn), SYN retransmission, zero-window
 * probes, and lowering the MSS when the send path refuses a size.
 */
#include <stdio.h>

#include "copy/engine/engine_session.h"
#include "lib/net/tcp_seq.h"

void session_rto_reset(struct engine *e, struct session *s)
{
	uint32_t rto;

	if (!(s->flags & SF_RTT_MEASURED)) {
		s->rto = e->cfg.rto_initial_ms;
		return;
	}
	/* RTO = SRTT + max(G, 4 * RTTVAR), with a 1 ms clock granularity. */
	rto = s->srtt8 / 8 + (s->rttvar4 > 1 ? s->rttvar4 : 1);
	if (rto < e->cfg.rto_min_ms)
		rto = e->cfg.rto_min_ms;
	if (rto > e->cfg.rto_max_ms)
		rto = e->cfg.rto_max_ms;
	s->rto = rto;
}

static void back_off(struct engine *e, struct session *s)
{
	uint64_t rto = (uint64_t)s->rto * 2;

	s->rto = rto > e->cfg.rto_max_ms ? e->cfg.rto_max_ms : (uint32_t)rto;
	if (!s->rto)
		s->rto = 1;
}

void session_rtt_sample(struct engine *e, struct session *s, uint64_t now)
{
	uint64_t elapsed = now >= s->rtt_start ? now - s->rtt_start : 0;
	int64_t r = elapsed > 0x7fffffff ? 0x7fffffff : (int64_t)elapsed;
	int64_t m;

	s->flags &= ~SF_RTT_TIMING;
	if (!(s->flags & SF_RTT_MEASURED)) {
		s->flags |= SF_RTT_MEASURED;
		s->srtt8 = (uint32_t)(r * 8);
		s->rttvar4 = (uint32_t)(r * 2);
	} else {
		/* srtt += (r - srtt) / 8; rttvar += (|r - srtt| - rttvar) / 4,
		 * kept scaled so the shifts lose nothing. */
		m = r - s->srtt8 / 8;
		s->srtt8 = (uint32_t)((int64_t)s->srtt8 + m);
		if (m < 0)
			m = -m;
		m -= s->rttvar4 / 4;
		s->rttvar4 = (uint32_t)((int64_t)s->rttvar4 + m);
	}
	session_rto_reset(e, s);
}

void session_arm_rtx(struct engine *e, struct session *s, uint64_t now)
{
	if (s->flags & SF_PERSIST)
		return;
	s->rtx_at = s->snd_una != s->snd_nxt ? now + s->rto : 0;
}

/* The MTUs of RFC 1191's plateau table that links commonly have. */
static const uint32_t mtu_plateaus[] = { 9000, 8166, 4352, 2002, 1500, 1492, 1280, 1006, 576 };

bool session_lower_mss(struct session *s, size_t failed_len, size_t payload_len)
{
	uint32_t floor = s->key.target.family == AF_INET6 ? 1280 : 576;
	size_t headers = failed_len - payload_len;

	for (size_t i = 0; i < sizeof(mtu_plateaus) / sizeof(mtu_plateaus[0]); i++) {
		uint32_t mtu = mtu_plateaus[i];

		if (mtu < floor)
			break;
		if (mtu < failed_len && mtu > headers) {
			s->mss_limit = (uint16_t)(mtu - headers);
			return true;
		}
	}
	return false;
}

/* Send again the one segment at snd_una (SYN, data, FIN or data+FIN). */
bool session_retransmit_first(struct engine *e, struct session *s, uint64_t now)
{
	bool fin_sent = session_state_fin_sent(s->state);
	uint32_t data_end = fin_sent ? s->fin_seq : s->snd_nxt;
	uint32_t seq = s->snd_una, len = 0, avail = 0;
	const uint8_t *payload = NULL;
	uint8_t flags;
	enum transmit_result r;

	if (s->state == STATE_SYN_SENT)
		return session_send_syn(e, s);
	do {
		flags = TCPF_ACK;
		len = 0;
		if (seq_lt(seq, data_end)) {
			len = data_end - seq;
			if (len > session_mss(e, s))
				len = session_mss(e, s);
			payload = s->stream ? stream_buffer_peek(&s->stream->buf, seq, &avail) : NULL;
			if (!payload || avail < len)
				return true;	/* cannot happen: unacked data is held */
			flags |= TCPF_PSH;
		}
		if (fin_sent && seq + len == s->fin_seq)
			flags |= TCPF_FIN;
		if (!len && !(flags & TCPF_FIN))
			return true;	/* nothing outstanding */
		r = session_transmit(e, s, seq, flags, payload, len);
	} while (r == TRANSMIT_TOO_BIG);
	if (r == TRANSMIT_DEAD)
		return false;
	e->counters.retransmissions++;
	/* Karn: an ack may now be for either copy, so stop timing. */
	s->flags &= ~SF_RTT_TIMING;
	return true;
}

static void syn_timer(struct engine *e, struct session *s, uint64_t now)
{
	char detail[96];

	if (s->retries + 1u >= e->cfg.syn_retries) {
		snprintf(detail, sizeof(detail), "target never answered SYN after %u tries",
			 e->cfg.syn_retries);
		session_finish(e, s, END_SYN_TIMEOUT, true, detail);
		return;
	}
	s->retries++;
	s->flags &= ~SF_RTT_TIMING;
	if (!session_send_syn(e, s))
		return;
	e->counters.retransmissions++;
	back_off(e, s);
	s->rtx_at = now + s->rto;
}

/* The target's window is closed and nothing is in flight: an ACK with an
 * old seq makes it answer with its current window. */
static void persist_timer(struct engine *e, struct session *s, uint64_t now)
{
	char detail[128];

	if (s->retries >= e->cfg.data_retries) {
		snprintf(detail, sizeof(detail),
			 "target's window stayed closed and %u probes went unanswered", s->retries);
		session_finish(e, s, END_RETRANSMIT_LIMIT, true, detail);
		return;
	}
	s->retries++;
	if (session_transmit(e, s, s->snd_una - 1, TCPF_ACK, NULL, 0) == TRANSMIT_DEAD)
		return;
	e->counters.persist_probes++;
	back_off(e, s);
	s->rtx_at = now + s->rto;
}

static void data_timer(struct engine *e, struct session *s, uint64_t now)
{
	char detail[128];

	if (s->snd_una == s->snd_nxt)
		return;
	if (s->retries >= e->cfg.data_retries) {
		snprintf(detail, sizeof(detail),
			 "target did not acknowledge seq %u after %u retransmissions",
			 s->snd_una, s->retries);
		session_finish(e, s, END_RETRANSMIT_LIMIT, true, detail);
		return;
	}
	s->retries++;
	s->recover = s->snd_nxt;
	s->flags |= SF_IN_RECOVERY;
	s->dupacks = 0;
	back_off(e, s);
	if (!session_retransmit_first(e, s, now))
		return;
	s->rtx_at = now + s->rto;
}

void session_on_rtx_timer(struct engine *e, struct session *s, uint64_t now)
{
	s->rtx_at = 0;
	if (s->state == STATE_SYN_SENT)
		syn_timer(e, s, now);
	else if (s->flags & SF_PERSIST)
		persist_timer(e, s, now);
	else
		data_timer(e, s, now);
}
