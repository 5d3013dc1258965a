/*
 * session_client.c — what a captured client packet does: start a session
 * (from its SYN, or from its first data when the SYN was not captured),
 * add data to the client's stream, note its FIN or RST, and keep the
 * client's timestamp and window that we replay.
 */
#include <stdint.h>
#include <stdio.h>

#include "copy/engine/engine_session.h"
#include "lib/net/tcp_seq.h"

/* What a missed-start session's SYN offers, the client's own being unknown:
 * Linux's usual MSS for the family and window scale. */
#define MISSED_START_MSS_IPV4 1460
#define MISSED_START_MSS_IPV6 1440
#define MISSED_START_WSCALE 7
#define MAX_WSCALE 14	/* RFC 7323 2.3 */

/* The client's timestamp only moves forward in what we send (PAWS). */
static void note_timestamp(struct session *s, const struct packet *p)
{
	if (!p->opt.has_timestamp)
		return;
	if (seq_gt(p->opt.tsval, s->ts_val) || !s->ts_val)
		s->ts_val = p->opt.tsval;
}

static void syn_options_from_syn(struct engine *e, struct session *s, const struct packet *p)
{
	uint16_t mss = p->opt.has_mss ? p->opt.mss : 0;

	if (e->cfg.mss_clamp && (!mss || mss > e->cfg.mss_clamp))
		mss = e->cfg.mss_clamp;
	s->syn_mss = mss;
	s->syn_window = p->window;
	if (p->opt.has_wscale) {
		s->flags |= SF_OFFER_WSCALE;
		s->client_wscale = p->opt.wscale > MAX_WSCALE ? MAX_WSCALE : p->opt.wscale;
	}
	/* Until the client's first packet after its SYN tells us, its window
	 * in scaled units is its SYN's window scaled down. */
	s->client_window = (uint16_t)(p->window >> s->client_wscale);
	if (!s->client_window)
		s->client_window = 1;
}

/* The SYN we make up for a session whose SYN we never saw. */
static void syn_options_from_data(struct engine *e, struct session *s, const struct packet *p)
{
	bool v6 = s->key.target.family == AF_INET6;

	s->syn_mss = e->cfg.mss_clamp ? e->cfg.mss_clamp
				      : (v6 ? MISSED_START_MSS_IPV6 : MISSED_START_MSS_IPV4);
	s->syn_window = 65535;
	s->flags |= SF_OFFER_WSCALE;
	s->client_wscale = MISSED_START_WSCALE;
	s->client_window = p->window ? p->window : 1;
}

/*
 * The client closed (FIN) or reset a connection we have no session for:
 * most often one a killed or restarted doppel-copy was replaying, which the
 * target still holds open (its client sent no data since the restart, so
 * no new session took it up and reset it: session_target.c). One RST at
 * the client's seq frees it: the client's FIN or RST comes after all its
 * data, so its seq is what the target expects next if the dead process had
 * delivered it all (RFC 5961 3: an RST at exactly that seq is taken);
 * otherwise the target answers with a challenge ACK that nobody routes,
 * and keeps the connection until its own timeouts, as before. Not for a
 * session this process refused (the target never saw it); where the target
 * holds nothing else (a session ended already) it drops the RST. One per 4-tuple while remembered (the refused_keys set:
 * bounded memory, 30 s), so a retransmitted FIN sends no second RST; only
 * ever toward the target, like every packet of the engine.
 */
static void orphan_reset(struct engine *e, uint64_t now, const struct session_key *k,
			 const struct packet *p)
{
	if (!refused_keys_note(&e->orphans_reset, e->table.seed, k, now))
		return;
	engine_send_orphan_reset(e, k, p->seq);
	e->counters.orphan_resets++;
}

void session_client_start(struct engine *e, uint64_t now, const struct session_key *k,
			  const struct packet *p)
{
	bool syn = (p->flags & (TCPF_SYN | TCPF_ACK | TCPF_RST)) == TCPF_SYN;
	bool data = p->payload_len > 0 && !(p->flags & (TCPF_SYN | TCPF_RST));
	struct session *s;

	if (!syn && !data) {
		/* A refused session's FIN or RST: it is over. */
		if ((p->flags & (TCPF_FIN | TCPF_RST)) &&
		    !refused_keys_forget(&e->refused, e->table.seed, k))
			orphan_reset(e, now, k, p);	/* not refused: maybe a dead copy's */
		e->counters.client_ignored++;
		return;
	}
	if (!syn && e->cfg.full_sessions_only) {
		/* -O: its start was before our time; TCPCopy's -O skips it too. */
		e->counters.client_ignored++;
		return;
	}
	if (data && p->payload_present < p->payload_len) {
		e->counters.client_truncated++;
		return;
	}
	bool pooled = false;
	if (!syn && session_auth_protocol(e, k) != AUTH_PROTO_NONE) {
		/* Its login was before our time (a pooled connection): the
		 * target would refuse every command, unless the port opted in
		 * to doppel's own login. Counted once. */
		pooled = session_auth_pooled(e, k);
		if (!pooled) {
			if (refused_keys_note(&e->refused, e->table.seed, k, now))
				e->counters.auth_not_captured++;
			return;
		}
	}
	s = session_create(e, now, k, syn ? p->seq : p->seq - 1, data);
	if (!s) {
		if (p->flags & TCPF_FIN)	/* data and FIN, refused: over too */
			refused_keys_forget(&e->refused, e->table.seed, k);
		return;
	}
	if (pooled)
		session_auth_make_pooled(e, s, now);
	if (p->opt.has_timestamp) {
		s->flags |= SF_OFFER_TIMESTAMPS;
		s->ts_val = p->opt.tsval;
	}
	if (syn) {
		syn_options_from_syn(e, s, p);
		session_bare_add(e, s);
	} else {
		syn_options_from_data(e, s, p);
		s->flags |= SF_MISSED_START;
		e->counters.sessions_missed_start++;
	}
	if (!session_send_syn(e, s))
		return;
	s->snd_nxt = s->isn + 1;
	s->rtt_seq = s->snd_nxt;
	s->rtt_start = now;
	s->flags |= SF_RTT_TIMING;
	s->rtx_at = now + s->rto;
	if (data)
		session_client_packet(e, s, now, p);
	if (!session_ended(s))
		session_reschedule(e, s, now);
}

/* The client's data cannot be kept. Too many pieces past a hole is the
 * capture's loss, not the memory cap's (engine.h, END_CAPTURE_GAP): the
 * hole starts at data_end. */
static void end_for_stream(struct engine *e, struct session *s, enum stream_add_result r)
{
	char detail[160];

	if (r == STREAM_TOO_MANY_PENDING) {
		snprintf(detail, sizeof(detail),
			 "client bytes from seq %u never captured (more than %u segments "
			 "captured past them)", s->data_end, STREAM_MAX_PENDING);
		session_finish(e, s, END_CAPTURE_GAP, true, detail);
		return;
	}
	if (r == STREAM_OVER_BUDGET)
		snprintf(detail, sizeof(detail),
			 "client data would pass the %zu-byte cap on buffered data (%llu held)",
			 e->cfg.max_buffered_bytes,
			 (unsigned long long)e->counters.buffered_bytes);
	else
		snprintf(detail, sizeof(detail), "out of memory for client data");
	session_finish(e, s, END_MEMORY_LIMIT, true, detail);
}

static size_t memory_budget(const struct engine *e)
{
	if (!e->cfg.max_buffered_bytes)
		return SIZE_MAX;
	if (e->counters.buffered_bytes >= e->cfg.max_buffered_bytes)
		return 0;
	return e->cfg.max_buffered_bytes - e->counters.buffered_bytes;
}

/* Segments held past a hole: if the hole stays, the capture lost those
 * bytes (had the online server missed them too, the client would have sent
 * them again within its RTO). The clock restarts whenever the in-order
 * data moves on. */
static void watch_gap(struct engine *e, struct session *s, uint64_t now, uint32_t old_end)
{
	if (!s->stream || !s->stream->buf.pending_count || !e->cfg.gap_timeout_ms) {
		s->gap_at = 0;
		return;
	}
	if (!s->gap_at || s->data_end != old_end)
		s->gap_at = now + e->cfg.gap_timeout_ms;
}

void session_client_data(struct engine *e, struct session *s, uint64_t now, const struct packet *p)
{
	uint32_t seq = p->seq, len = (uint32_t)p->payload_len;
	const uint8_t *data = p->payload;
	uint32_t old_end = s->data_end;
	enum stream_add_result r;
	size_t before;

	if (p->payload_present < p->payload_len) {
		e->counters.client_truncated++;
		return;
	}
	/* After our FIN nothing more can go. Bytes before the stream's end
	 * (the SYN's seq included) are trimmed by the stream buffer: never
	 * compare with the ISN, which a long stream leaves 2^31 behind. */
	if (!session_state_can_send_data(s->state) && s->state != STATE_SYN_SENT)
		return;
	if ((s->flags & SF_FIN_KNOWN) && seq_gt(seq + len, s->fin_seq)) {
		if (!seq_lt(seq, s->fin_seq))
			return;
		len = s->fin_seq - seq;
	}
	if (!session_stream_ready(e, s)) {
		end_for_stream(e, s, STREAM_NO_MEMORY);
		return;
	}
	before = stream_buffer_held(&s->stream->buf);
	r = stream_buffer_add(&s->stream->buf, seq, data, len, p->ack, memory_budget(e),
			      pacing_on_append, s);
	e->counters.buffered_bytes += stream_buffer_held(&s->stream->buf);
	e->counters.buffered_bytes -= before;
	s->data_end = s->stream->buf.end;
	if (r != STREAM_ADDED) {
		end_for_stream(e, s, r);
		return;
	}
	/* A retransmission may have brought nothing to keep. */
	session_stream_trim(e, s);
	watch_gap(e, s, now, old_end);
}

static void client_fin(struct engine *e, struct session *s, const struct packet *p)
{
	uint32_t fin_seq = p->seq + (uint32_t)p->payload_len;

	/* A FIN before data already captured contradicts the stream: the
	 * first version of the stream wins, as with data. */
	if ((s->flags & SF_FIN_KNOWN) || seq_lt(fin_seq, s->data_end))
		return;
	s->flags |= SF_FIN_KNOWN;
	s->fin_seq = fin_seq;
	s->fin_ack = p->ack;
}

static void client_reset(struct engine *e, struct session *s, uint64_t now)
{
	if (session_auth_pending(s) && session_auth_reset(s)) {
		s->flags |= SF_RST_PENDING;	/* after the login (session_auth.c) */
		return;
	}
	bool no_data = s->state == STATE_SYN_SENT && s->data_end == s->isn + 1 &&
		       !(s->stream && s->stream->buf.pending_count);

	/* The target must first get the data the online server got, also
	 * when our FIN went already (a client that half-closed after its
	 * request, then reset): an RST before the data is acknowledged kills
	 * the request if the data was lost on the way. */
	if (no_data || seq_ge(s->snd_una, s->data_end)) {
		session_finish(e, s, END_CLOSED, true, "client reset the connection");
		return;
	}
	s->flags |= SF_RST_PENDING;
	session_output(e, s, now);
}

/* Whether the old connection's replay is still going on: client data or
 * its end (FIN, RST) not yet through to the target. Without a captured
 * FIN or RST and with all data acknowledged, the capture missed how the
 * old connection ended (the client cannot reuse ports still open): waiting
 * would hold the new one until -t, and nothing of the old is left to lose. */
static bool still_replaying(const struct session *s)
{
	uint32_t acked = seq_lt(s->snd_una, s->isn + 1) ? s->isn + 1 : s->snd_una;

	if (s->flags & (SF_FIN_KNOWN | SF_RST_PENDING))
		return true;
	/* Its login is still being replayed: its client bytes wait in the
	 * protocol module, not in the stream. */
	if (session_auth_pending(s))
		return true;
	return seq_lt(acked, s->data_end) || (s->stream && s->stream->buf.pending_count);
}

/* A new connection on the key of a live session: lingering, the old
 * session is done and gives way at once; still replaying, the new
 * connection waits for it as its successor (session_successor.c); else it
 * is superseded. p is the new connection's first packet: its SYN, or its
 * first data when the SYN was not captured. */
static void new_connection(struct engine *e, struct session *s, uint64_t now,
			   const struct packet *p, const char *detail)
{
	struct session_key key = s->key;

	if (s->successor) {	/* its ISN fell in the old range: still a reuse */
		session_successor_hold(e, s, now, p);
		return;
	}
	if (s->state != STATE_TIME_WAIT && still_replaying(s)) {
		session_successor_queue(e, s, now, p);
		return;
	}
	if (s->state == STATE_TIME_WAIT)
		session_finish(e, s, END_CLOSED, false, "closed: FINs exchanged, port reused");
	else
		session_finish(e, s, END_SUPERSEDED, true, detail);
	session_client_start(e, now, &key, p);
}

/* A SYN for a session we have: the client's retransmission, or (another
 * ISN) a new connection on the same ports. */
static void client_syn(struct engine *e, struct session *s, uint64_t now, const struct packet *p)
{
	if ((p->flags & (TCPF_ACK | TCPF_RST)) || p->seq == s->isn)
		return;
	new_connection(e, s, now, p,
		       "client opened a new connection on the same ports (the old "
		       "one's data all delivered, its end never captured)");
}

/*
 * Data, FIN or RST whose seq lies further than NEW_CONNECTION_DISTANCE from
 * the end of the session's captured stream, either way: not this
 * connection's (its retransmissions lie behind data_end, its data captured
 * out of order ahead of it, both within what one connection has in flight),
 * but a new connection on the same ports whose SYN the capture missed: a new
 * connection's ISN is random, so it lands this close by chance once in 128.
 * Pure acks are left alone: they carry nothing to replay.
 */
#define NEW_CONNECTION_DISTANCE (1u << 24)

static bool of_another_connection(const struct session *s, const struct packet *p)
{
	uint32_t ahead = p->seq - s->data_end, behind = s->data_end - p->seq;

	if ((p->flags & TCPF_SYN) || (!p->payload_len && !(p->flags & (TCPF_FIN | TCPF_RST))))
		return false;
	return ahead > NEW_CONNECTION_DISTANCE && behind > NEW_CONNECTION_DISTANCE;
}

void session_client_packet(struct engine *e, struct session *s, uint64_t now,
			   const struct packet *p)
{
	if (of_another_connection(s, p)) {
		if ((p->flags & TCPF_RST) && !s->successor) {
			e->counters.client_ignored++;	/* the unseen connection's end */
			return;
		}
		e->counters.sessions_missed_reuse++;
		new_connection(e, s, now, p,
			       "client data far outside this connection's sequence space: a new "
			       "connection on the same ports whose SYN was not captured");
		return;
	}
	s->last_client_ms = now;
	note_timestamp(s, p);
	if (p->payload_len && !(p->flags & (TCPF_SYN | TCPF_RST)))
		session_bare_remove(e, s);	/* it has shown data: a real client */
	if (p->flags & TCPF_SYN) {
		client_syn(e, s, now, p);
		return;
	}
	if (p->flags & TCPF_RST) {
		client_reset(e, s, now);
		return;
	}
	if (!(p->flags & TCPF_ACK))
		return;		/* not valid TCP past the SYN */
	if (p->window)
		s->client_window = p->window;
	if (!p->payload_len && !(p->flags & TCPF_FIN)) {
		/* The handshake's ACK: the ack number requests are paced from. */
		if (!(s->flags & SF_MISSED_START))
			pacing_client_ack(s, p->ack);
		return;
	}
	struct packet mapped;
	if (s->auth && (p->payload_len || (p->flags & TCPF_FIN))) {
		if (!session_auth_client(e, s, now, p, &mapped)) {
			if (!session_ended(s))
				session_output(e, s, now);
			return;
		}
		p = &mapped;
	}
	if (p->payload_len) {
		session_client_data(e, s, now, p);
		if (session_ended(s))
			return;
	}
	if (p->flags & TCPF_FIN)
		client_fin(e, s, p);
	pacing_client_fin(e, s);
	session_output(e, s, now);
}
