/*
 * session_output.c — what the engine sends for a session: building each
 * packet from the session's state, handing it to the sink and acting on the
 * result, and the send loop that cuts the client's stream into segments
 * within the target's window, the MSS and the pacing marks.
 *
 * Every packet goes from key.client to key.target: the engine has no way to
 * address a real client.
 */
#include <string.h>
#include <stdio.h>

#include "copy/engine/engine_session.h"
#include "lib/net/packet_build.h"
#include "lib/net/tcp_seq.h"

/* The MSS a peer that sends no MSS option gets (RFC 9293 3.7.1, RFC 8200). */
#define DEFAULT_MSS_IPV4 536
#define DEFAULT_MSS_IPV6 1220
#define TIMESTAMP_OPTION_LEN 12	/* NOP NOP kind len tsval tsecr */

/* The window we advertise, in the units our SYN announced. We are a sink
 * (everything the target sends is acknowledged at once), so the client's
 * own window is replayed; when the client asked for scaling and the target
 * refused it, the client's scaled value is sent unscaled, capped. */
static uint16_t advertised_window(const struct session *s)
{
	uint32_t real;

	if (!(s->flags & SF_OFFER_WSCALE) || (s->flags & SF_WSCALE))
		return s->client_window;
	real = (uint32_t)s->client_window << s->client_wscale;
	return real > 65535 ? 65535 : (uint16_t)real;
}

static void fill_options(const struct session *s, uint8_t flags, struct tcp_options *o)
{
	memset(o, 0, sizeof(*o));
	if (flags & TCPF_SYN) {
		/* SACK permitted is never offered: the engine does no SACK. */
		o->has_mss = s->syn_mss != 0;
		o->mss = s->syn_mss;
		o->has_wscale = (s->flags & SF_OFFER_WSCALE) != 0;
		o->wscale = s->client_wscale;
		o->has_timestamp = (s->flags & SF_OFFER_TIMESTAMPS) != 0;
		o->tsval = s->ts_val;
		o->tsecr = 0;
		return;
	}
	if (s->flags & SF_TIMESTAMPS) {
		o->has_timestamp = true;
		o->tsval = s->ts_val;
		o->tsecr = s->ts_recent;
	}
}

/* Build and hand one packet to the sink; counts it. */
static enum engine_send_result emit(struct engine *e, struct session *s, uint32_t seq,
				    uint8_t flags, const uint8_t *payload, uint32_t len,
				    size_t *packet_len)
{
	struct packet_spec spec = {
		.src = s->key.client,
		.dst = s->key.target,
		.sport = s->key.client_port,
		.dport = s->key.target_port,
		.seq = seq,
		.ack = (flags & TCPF_ACK) ? s->rcv_nxt : 0,
		.flags = flags,
		.window = (flags & TCPF_SYN) ? s->syn_window : advertised_window(s),
		.ttl = e->cfg.ttl,
		.ip_id = e->ip_id++,
		.payload = payload,
		.payload_len = len,
	};
	enum engine_send_result r;

	fill_options(s, flags, &spec.opt);
	if (len && seq_ge(seq + len, s->snd_nxt)) {	/* the newest byte */
		s->last_byte = payload[len - 1];
		s->last_byte_seq = seq + len - 1;
	}
	*packet_len = packet_build(e->packet, sizeof(e->packet), &spec);
	if (*packet_len == 0)
		return ENGINE_SEND_FAILED;
	r = e->sink.send(e->sink.ctx, &s->key, e->packet, *packet_len);
	if (r == ENGINE_SEND_OK)
		e->counters.packets_sent++;
	else
		e->counters.send_errors++;
	if ((r == ENGINE_SEND_OK || r == ENGINE_SEND_RETRY) && (flags & TCPF_ACK))
		s->flags &= ~SF_ACK_PENDING;
	return r;
}

static const char *flags_name(uint8_t flags)
{
	if (flags & TCPF_RST)
		return "RST";
	if (flags & TCPF_SYN)
		return "SYN";
	if (flags & TCPF_FIN)
		return "FIN";
	return "ACK";
}

enum transmit_result session_transmit(struct engine *e, struct session *s, uint32_t seq,
				      uint8_t flags, const uint8_t *payload, uint32_t len)
{
	char detail[128];
	size_t packet_len;
	enum engine_send_result r = emit(e, s, seq, flags, payload, len, &packet_len);

	switch (r) {
	case ENGINE_SEND_OK:
	case ENGINE_SEND_RETRY:
		/* A packet lost on its way: the timers resend it. */
		return TRANSMIT_SENT;
	case ENGINE_SEND_TOO_BIG:
		if (len && session_lower_mss(s, packet_len, len))
			return TRANSMIT_TOO_BIG;
		snprintf(detail, sizeof(detail),
			 "send refused a %zu-byte %s packet as too big, and it cannot be smaller",
			 packet_len, flags_name(flags));
		break;
	case ENGINE_SEND_FAILED:
	default:
		if (packet_len == 0)
			snprintf(detail, sizeof(detail), "could not build a %s packet", flags_name(flags));
		else
			snprintf(detail, sizeof(detail), "send refused a %zu-byte %s packet",
				 packet_len, flags_name(flags));
		break;
	}
	session_finish(e, s, END_SEND_FAILED, false, detail);
	return TRANSMIT_DEAD;
}

bool session_send_syn(struct engine *e, struct session *s)
{
	return session_transmit(e, s, s->isn, TCPF_SYN, NULL, 0) == TRANSMIT_SENT;
}

bool session_send_ack(struct engine *e, struct session *s)
{
	return session_transmit(e, s, s->snd_nxt, TCPF_ACK, NULL, 0) == TRANSMIT_SENT;
}

/*
 * Tell the target to forget the session. Linux takes an RST only at exactly
 * its rcv_nxt (RFC 5961), which is snd_nxt when all we sent arrived, and
 * may be anywhere down to snd_una when some did not: both are tried.
 * Failures are ignored: the session is ending anyway.
 */
void session_send_reset(struct engine *e, struct session *s)
{
	size_t packet_len;

	if (s->state == STATE_SYN_SENT) {
		emit(e, s, s->isn + 1, TCPF_RST, NULL, 0, &packet_len);
		return;
	}
	emit(e, s, s->snd_nxt, TCPF_RST | TCPF_ACK, NULL, 0, &packet_len);
	if (s->snd_una != s->snd_nxt)
		emit(e, s, s->snd_una, TCPF_RST | TCPF_ACK, NULL, 0, &packet_len);
}

/* An RST for a 4-tuple with no session (session_client.c says when),
 * without options: Linux lets an RST pass its PAWS check (RFC 7323 5.3). */
void engine_send_orphan_reset(struct engine *e, const struct session_key *k, uint32_t seq)
{
	struct session none = { .key = *k };
	size_t packet_len;

	emit(e, &none, seq, TCPF_RST, NULL, 0, &packet_len);
}

uint32_t session_mss(const struct engine *e, const struct session *s)
{
	uint32_t mss = s->target_mss;

	if (!mss)
		mss = s->key.target.family == AF_INET6 ? DEFAULT_MSS_IPV6 : DEFAULT_MSS_IPV4;
	if (e->cfg.mss_clamp && e->cfg.mss_clamp < mss)
		mss = e->cfg.mss_clamp;
	/* Like Linux, the MSS counts the options against the payload. */
	if (s->flags & SF_TIMESTAMPS)
		mss = mss > TIMESTAMP_OPTION_LEN ? mss - TIMESTAMP_OPTION_LEN : 1;
	if (s->mss_limit && s->mss_limit < mss)
		mss = s->mss_limit;
	return mss ? mss : 1;
}

/* New bytes (and maybe the FIN) left for the first time. */
static void sent_new(struct engine *e, struct session *s, uint64_t now, uint32_t n)
{
	s->snd_nxt += n;
	if (!(s->flags & SF_RTT_TIMING)) {
		s->rtt_seq = s->snd_nxt;
		s->rtt_start = now;
		s->flags |= SF_RTT_TIMING;
	}
	if (!s->rtx_at || (s->flags & SF_PERSIST)) {
		s->flags &= ~SF_PERSIST;
		s->rtx_at = now + s->rto;
	}
}

/* Data waits for a closed window. With nothing in flight no ack will come
 * to reopen it, so probe it (persist timer, backed off like the RTO). */
static void window_closed(struct engine *e, struct session *s, uint64_t now)
{
	if (s->snd_una != s->snd_nxt || s->rtx_at)
		return;
	s->flags |= SF_PERSIST;
	s->retries = 0;
	s->rtx_at = now + s->rto;
}

/* The end of what may be sent now: the data in order, not past the FIN
 * nor past the next pacing mark. */
static uint32_t send_limit(const struct session *s)
{
	uint32_t limit = s->data_end;
	struct pace_mark mark;

	if ((s->flags & SF_FIN_KNOWN) && seq_lt(s->fin_seq, limit))
		limit = s->fin_seq;
	if (pacing_next_mark(s, &mark) && seq_gt(mark.seq, s->snd_nxt) && seq_lt(mark.seq, limit))
		limit = mark.seq;
	return limit;
}

/* Whether the FIN may ride on a segment ending at end. */
static bool fin_due_at(const struct session *s, uint32_t end)
{
	return (s->flags & SF_FIN_KNOWN) && end == s->fin_seq && !(s->flags & SF_FIN_PACED);
}

/* Send one data segment from snd_nxt; false when nothing more can go now
 * or the session ended. */
static bool send_segment(struct engine *e, struct session *s, uint64_t now)
{
	uint32_t window_end = s->snd_una + s->snd_wnd;
	uint32_t limit, len, avail;
	const uint8_t *payload;
	uint8_t flags;
	enum transmit_result r;

	if (!pacing_may_send(e, s, now))
		return false;
	limit = send_limit(s);
	if (!seq_lt(s->snd_nxt, window_end)) {
		window_closed(e, s, now);
		return false;
	}
	do {
		flags = TCPF_ACK;
		len = limit - s->snd_nxt;
		if (len > window_end - s->snd_nxt)
			len = window_end - s->snd_nxt;
		if (len > session_mss(e, s))
			len = session_mss(e, s);
		if (s->snd_nxt + len == limit)
			flags |= TCPF_PSH;
		if (fin_due_at(s, s->snd_nxt + len))
			flags |= TCPF_FIN;
		payload = stream_buffer_peek(&s->stream->buf, s->snd_nxt, &avail);
		if (!payload || avail < len)
			return false;	/* cannot happen: data_end is the buffer's end */
		r = session_transmit(e, s, s->snd_nxt, flags, payload, len);
	} while (r == TRANSMIT_TOO_BIG);
	if (r == TRANSMIT_DEAD)
		return false;
	sent_new(e, s, now, len + !!(flags & TCPF_FIN));
	if (flags & TCPF_FIN) {
		session_transition(e, s, EVENT_FIN_SENT, now);
		return false;
	}
	return true;
}

/* The client's FIN alone, once all its data went. */
static void send_fin(struct engine *e, struct session *s, uint64_t now)
{
	if (!pacing_may_send(e, s, now))
		return;
	if (session_transmit(e, s, s->fin_seq, TCPF_FIN | TCPF_ACK, NULL, 0) == TRANSMIT_DEAD)
		return;
	sent_new(e, s, now, 1);
	session_transition(e, s, EVENT_FIN_SENT, now);
}

static void send_data(struct engine *e, struct session *s, uint64_t now)
{
	for (;;) {
		uint32_t limit = s->data_end;

		if ((s->flags & SF_FIN_KNOWN) && seq_lt(s->fin_seq, limit))
			limit = s->fin_seq;
		if (seq_lt(s->snd_nxt, limit)) {
			if (!send_segment(e, s, now))
				return;
			continue;
		}
		if ((s->flags & SF_FIN_KNOWN) && s->snd_nxt == s->fin_seq)
			send_fin(e, s, now);
		return;
	}
}

void session_output(struct engine *e, struct session *s, uint64_t now)
{
	if (session_state_can_send_data(s->state)) {
		send_data(e, s, now);
		if (session_ended(s))
			return;
	}
	/* The client reset: replayed once the target has all its data. */
	if ((s->flags & SF_RST_PENDING) && s->state != STATE_SYN_SENT &&
	    seq_ge(s->snd_una, s->data_end) && !session_auth_rst_waits(s)) {
		session_finish(e, s, END_CLOSED, true, "client reset the connection");
		return;
	}
	if (s->flags & SF_ACK_PENDING)
		session_send_ack(e, s);
}
