/*
 * session_auth.c — a session whose login a protocol module replays
 * (auth.h, docs/stateful.md).
 *
 * Until the target accepts the login, the client's captured bytes go to
 * the conversation instead of the stream, in order; what the conversation
 * produces (the client's messages, its proofs recomputed for the target's
 * challenge) goes into the stream at the next replay sequence number,
 * carrying the ack of the client's latest packet so pacing still waits for
 * the target's answer. The target's answer bytes (from the summaries'
 * payload, which the route asks intercept for) feed the conversation.
 *
 * Once the login is done the conversation is freed and every later client
 * packet is shifted by delta = bytes produced - bytes captured (as NAT
 * helpers do): bytes before the boundary (retransmissions of the login)
 * are dropped, a segment straddling it is trimmed, the rest moves by delta;
 * the FIN too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy/engine/engine_session.h"
#include "lib/net/tcp_seq.h"

struct session_auth {
	struct auth_conv conv;
	bool done;
	bool target_started;
	uint32_t cap_next;	/* next captured client seq the conversation wants */
	uint32_t out_next;	/* replay seq of the next byte it produces */
	uint32_t target_next;	/* next target seq it wants */
	uint32_t last_ack;	/* the client's latest ack: pacing of what it produces */
	uint32_t boundary;	/* done: captured seq where the pass-through starts */
	uint32_t delta;		/* done: replay seq - captured seq */
	size_t accounted;	/* client bytes held, counted in buffered_bytes */
	bool pooled;		/* doppel's own login: the client's was not captured */
	bool opened;		/* pooled: counted in auth_pooled_opened */
	bool fin_pending;	/* the client's FIN came before the login was done */
	bool rst_waits;		/* the client's RST came before it: it goes after */
	uint32_t fin_seq;	/* ... at this captured seq */
	/* Pooled: the acks the client's segments held during the login were
	 * captured with (its first, and per segment, in seq order), so that
	 * pacing waits for each command's answer as online's client did. */
	bool have_first_ack;
	uint32_t first_ack;
	struct { uint32_t seq, ack; } segs[AUTH_POOLED_STARTS];
	size_t seg_count;
};

enum auth_protocol session_auth_protocol(const struct engine *e, const struct session_key *k)
{
	for (size_t i = 0; i < e->cfg.auth_port_count; i++)
		if (e->cfg.auth_ports[i].port == k->target_port)
			return (enum auth_protocol)e->cfg.auth_ports[i].protocol;
	return AUTH_PROTO_NONE;
}

bool session_auth_pooled(const struct engine *e, const struct session_key *k)
{
	for (size_t i = 0; i < e->cfg.auth_port_count; i++)
		if (e->cfg.auth_ports[i].port == k->target_port)
			return e->cfg.auth_ports[i].pooled;
	return false;
}

/* The SCRAM client nonce of a pooled login: a function of the daemon's
 * random hash seed, the session and the time, so no two logins share one
 * (the engine draws no random bytes itself). */
static void nonce_seed(const struct engine *e, const struct session *s, uint64_t now,
		       uint8_t out[32])
{
	uint64_t h = e->cfg.hash_seed ^ 0x9e3779b97f4a7c15ull;
	const uint8_t *k = (const uint8_t *)&s->key;

	for (size_t i = 0; i < 32; i++) {
		uint64_t x = h + (i < sizeof(s->key) ? k[i] : 0) + ((uint64_t)s->isn << 8) + now * 31;
		/* splitmix64 */
		x += 0x9e3779b97f4a7c15ull * (i + 1);
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
		x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
		x ^= x >> 31;
		h ^= x;
		out[i] = (uint8_t)x;
	}
}

void session_auth_make_pooled(struct engine *e, struct session *s, uint64_t now)
{
	struct session_auth *a = s->auth;
	enum auth_protocol proto = a->conv.proto;
	const struct engine_pooled_login *l = &e->cfg.auth_pooled[proto < AUTH_PROTO_COUNT ? proto : 0];
	uint8_t seed[32];

	nonce_seed(e, s, now, seed);
	auth_conv_free(&a->conv);
	auth_conv_init_pooled(&a->conv, proto, e->cfg.auth_password, e->cfg.auth_password_ctx,
			      l->user, l->database, seed);
	a->conv.salted = e->cfg.auth_salted;
	a->pooled = true;
}

int session_auth_start(struct engine *e, struct session *s, enum auth_protocol proto)
{
	struct session_auth *a = calloc(1, sizeof(*a));

	if (!a)
		return -1;
	auth_conv_init(&a->conv, proto, e->cfg.auth_password, e->cfg.auth_password_ctx);
	a->conv.salted = e->cfg.auth_salted;
	a->cap_next = a->out_next = s->isn + 1;
	s->auth = a;
	return 0;
}

/* The conversation's held client bytes count in the engine's buffered
 * bytes, like the stream's: -m bounds them. */
static void account(struct engine *e, struct session_auth *a)
{
	size_t held = a->done ? 0 : a->conv.client.len;

	e->counters.buffered_bytes += held;
	e->counters.buffered_bytes -= a->accounted;
	a->accounted = held;
}

void session_auth_free(struct engine *e, struct session *s)
{
	if (!s->auth)
		return;
	e->counters.buffered_bytes -= s->auth->accounted;
	auth_conv_free(&s->auth->conv);
	free(s->auth);
	s->auth = NULL;
}

bool session_auth_pending(const struct session *s)
{
	return s->auth && !s->auth->done;
}

/*
 * A client that resets right after its login and commands (an abort, a
 * killed process, SO_LINGER 0) did log in online and run them: the RST
 * waits until the login is replayed and the held bytes delivered, as the
 * FIN does. Without that the session ended at once, its held bytes lost
 * and its login counted nowhere. A client that reset in the middle of its
 * login sent all it ever will: once the module wants more of it the
 * session ends as a client's reset (session_client.c).
 */
bool session_auth_reset(struct session *s)
{
	struct session_auth *a = s->auth;

	if (a->conv.wants_client)
		return false;
	a->rst_waits = true;
	return true;
}

bool session_auth_rst_waits(const struct session *s)
{
	return session_auth_pending(s) && s->auth->rst_waits;
}

static void put(struct engine *e, struct session *s, uint64_t now, const uint8_t *data,
		size_t len, uint32_t ack)
{
	struct session_auth *a = s->auth;
	struct packet p;

	memset(&p, 0, sizeof(p));
	p.flags = TCPF_ACK | TCPF_PSH;
	p.seq = a->out_next;
	p.ack = ack;
	p.payload = data;
	p.payload_len = p.payload_present = len;
	a->out_next += (uint32_t)len;
	session_client_data(e, s, now, &p);
}

/* Put what the conversation produced into the stream. */
static void flush_output(struct engine *e, struct session *s, uint64_t now)
{
	struct session_auth *a = s->auth;

	if (!a->conv.out.len)
		return;
	/* Pooled: doppel's login goes with the first captured ack, where
	 * the online answers are counted from. */
	put(e, s, now, a->conv.out.data, a->conv.out.len,
	    a->pooled && a->have_first_ack ? a->first_ack : a->last_ack);
	a->conv.out.len = 0;
}

/* Pooled, the target accepted doppel's login and a command boundary was
 * found: the conversation's output is the captured bytes from it up to
 * cap_next. Each captured segment's part goes with the ack it was
 * captured with (one ack for the lot would ask the target's first answer
 * to be as long as all of online's since). */
static void flush_held(struct engine *e, struct session *s, uint64_t now)
{
	struct session_auth *a = s->auth;
	size_t len = a->conv.out.len, off = 0;
	uint32_t start = a->cap_next - (uint32_t)len;

	while (off < len) {
		uint32_t pos = start + (uint32_t)off, ack = a->first_ack;
		size_t end = len;

		for (size_t j = 0; j < a->seg_count; j++) {
			if (seq_le(a->segs[j].seq, pos)) {
				ack = a->segs[j].ack;
			} else {
				if (seq_lt(a->segs[j].seq, a->cap_next))
					end = a->segs[j].seq - start;
				break;
			}
		}
		put(e, s, now, a->conv.out.data + off, end - off, ack);
		if (session_ended(s))
			return;
		off = end;
	}
	a->conv.out.len = 0;
}

/* Step the conversation and act on where it is. */
static void advance(struct engine *e, struct session *s, uint64_t now)
{
	struct session_auth *a = s->auth;
	enum auth_result r = auth_conv_step(&a->conv);

	if (r == AUTH_FAILED) {
		char detail[200];
		enum auth_failure f = a->conv.failure;

		e->counters.auth_failed[f < AUTH_FAIL_COUNT ? f : AUTH_FAIL_PROTOCOL]++;
		if (a->pooled)
			e->counters.auth_pooled_failed++;
		snprintf(detail, sizeof(detail), "%s (%s): %s",
			 a->pooled ? "pooled session's login refused" : "login not replayable",
			 auth_failure_name(f), a->conv.detail);
		/* The rest of its packets belong to no session: not counted
		 * again as a login not captured. */
		refused_keys_note(&e->refused, e->table.seed, &s->key, now);
		session_finish(e, s, END_AUTH_FAILED, true, detail);
		return;
	}
	if (r == AUTH_DONE && a->pooled && a->have_first_ack) {
		/* The online answers are counted from the boundary command's
		 * ack: the answers to the commands dropped before it never come
		 * from the target. */
		uint32_t start = a->cap_next - (uint32_t)a->conv.out.len, ack = a->first_ack;
		for (size_t j = 0; j < a->seg_count && seq_le(a->segs[j].seq, start); j++)
			ack = a->segs[j].ack;
		if ((s->flags & SF_HAVE_DATA_ACK) && seq_gt(ack, s->online_base)) {
			s->online_base = ack;
			s->last_data_ack = ack;
		}
		flush_held(e, s, now);
	}
	else
		flush_output(e, s, now);
	if (session_ended(s))
		return;
	if (a->pooled && a->conv.logged_in && !a->opened) {
		a->opened = true;
		e->counters.auth_pooled_opened++;
		/* The online answers are counted from the client's first
		 * captured ack, after its login; the target's first answer
		 * from the end of doppel's login, which pacing leaves out. */
		if (a->target_started && seq_gt(a->target_next, s->rcv_mark))
			s->rcv_mark = a->target_next;
	}
	if (r != AUTH_DONE) {
		if (a->rst_waits && a->conv.wants_client)
			session_finish(e, s, END_CLOSED, true,
				       "client reset the connection during its login");
		return;
	}
	a->done = true;
	account(e, a);
	a->boundary = a->cap_next;
	a->delta = (uint32_t)(a->conv.out_total - a->conv.client_in);
	if (a->pooled)
		e->counters.auth_pooled_skipped_bytes += a->conv.skipped;
	else
		e->counters.auth_logins_replayed++;
	auth_conv_free(&a->conv);
	/* Headers only from now on: the answers are the session's business. */
	if (e->sink.route_add_payload)
		e->sink.route_add_payload(e->sink.ctx, &s->key, 0);
	if (a->fin_pending) {
		/* The client closed while its login was still being replayed
		 * (a short session, online faster than the target): its FIN
		 * goes now, after everything it sent. */
		struct packet fin;

		memset(&fin, 0, sizeof(fin));
		fin.flags = TCPF_ACK | TCPF_FIN;
		fin.seq = a->fin_seq;
		fin.ack = a->last_ack;
		fin.window = s->client_window;
		session_client_packet(e, s, now, &fin);
		return;
	}
	session_output(e, s, now);
}

bool session_auth_client(struct engine *e, struct session *s, uint64_t now,
			 const struct packet *p, struct packet *mapped)
{
	struct session_auth *a = s->auth;
	uint32_t seq = p->seq, len = (uint32_t)p->payload_len;

	*mapped = *p;
	if (a->done) {
		if (len && seq_lt(seq, a->boundary)) {
			uint32_t skip = seq_le(seq + len, a->boundary) ? len : a->boundary - seq;
			mapped->payload += skip;
			mapped->payload_len -= skip;
			mapped->payload_present -= skip < mapped->payload_present
							   ? skip : mapped->payload_present;
			seq += skip;
			len -= skip;
		}
		mapped->seq = seq + a->delta;
		return true;
	}
	if (len) {
		if (p->payload_present < p->payload_len) {
			e->counters.client_truncated++;
			return false;
		}
		if (seq_gt(seq, a->cap_next)) {
			session_finish(e, s, END_CAPTURE_GAP, true,
				       "client login bytes never captured (a hole in the login)");
			return false;
		}
		if (seq_gt(seq + len, a->cap_next)) {
			uint32_t skip = a->cap_next - seq;
			if (e->cfg.max_buffered_bytes &&
			    e->counters.buffered_bytes + (len - skip) > e->cfg.max_buffered_bytes) {
				session_finish(e, s, END_MEMORY_LIMIT, true,
					       "client data held while its login is replayed would pass "
					       "the cap on buffered data");
				return false;
			}
			a->last_ack = p->ack;
			if (a->pooled) {
				if (!a->have_first_ack) {
					a->have_first_ack = true;
					a->first_ack = p->ack;
				}
				if (a->seg_count < AUTH_POOLED_STARTS) {
					a->segs[a->seg_count].seq = seq + skip;
					a->segs[a->seg_count++].ack = p->ack;
				}
			}
			if (auth_conv_client(&a->conv, p->payload + skip, len - skip) == 0)
				a->cap_next = seq + len;
			advance(e, s, now);
			if (!session_ended(s))
				account(e, a);
			if (session_ended(s))
				return false;
		}
	}
	if ((p->flags & TCPF_FIN) && !a->fin_pending && seq + len == a->cap_next) {
		a->fin_pending = true;
		a->fin_seq = seq + len;
		if (a->pooled && a->conv.logged_in) {
			/* No command boundary before the end: stop seeking. */
			a->conv.client_closed = true;
			advance(e, s, now);
			return false;
		}
		a->conv.client_closed = true;
	}
	return false;
}

void session_auth_target(struct engine *e, struct session *s, uint64_t now, const struct packet *p)
{
	struct session_auth *a = s->auth;
	uint32_t len = (uint32_t)p->payload_len, seq = p->seq;

	if (!len)
		return;
	if (!a->target_started) {
		a->target_started = true;
		a->target_next = s->irs + 1;
	}
	if (seq_le(seq + len, a->target_next))
		return;		/* seen */
	if (seq_gt(seq, a->target_next)) {
		e->counters.auth_failed[AUTH_FAIL_PROTOCOL]++;
		session_finish(e, s, END_AUTH_FAILED, true,
			       "login not replayable (protocol): a target answer was not seen");
		return;
	}
	/* Intercept sends the first --route-payload bytes of each answer: the
	 * login's messages come first, what follows them in the same packet
	 * (PostgreSQL's ParameterStatus after AuthenticationOk) the
	 * conversation does not need. Only if it still wants bytes after a
	 * cut answer is the login lost. */
	uint32_t skip = a->target_next - seq;
	uint32_t present = p->payload_present < len ? (uint32_t)p->payload_present : len;
	bool cut = present < len;
	if (present > skip && auth_conv_target(&a->conv, p->payload + skip, present - skip) < 0)
		cut = false;	/* the conversation failed: advance() says why */
	a->target_next = seq + len;
	advance(e, s, now);
	if (session_ended(s))
		return;
	account(e, a);
	if (cut && !a->done) {
		e->counters.auth_failed[AUTH_FAIL_PROTOCOL]++;
		session_finish(e, s, END_AUTH_FAILED, true,
			       "login not replayable (protocol): target answer bytes missing "
			       "(intercept's --route-payload too small?)");
	}
}
