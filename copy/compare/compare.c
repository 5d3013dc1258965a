/*
 * compare.c — pairing requests with both servers' answers (compare.h).
 *
 * A compared session keeps a ring of the requests in flight: request
 * number base + i is ring[(first + i) % cap]. The ring starts with
 * RING_FIRST slots and doubles, up to COMPARE_PENDING_MAX, when a replay
 * that lags far behind its online conversation needs it. Each request
 * holds both answers; online_cur and target_cur are the requests whose
 * answers the two sides are writing now. A pair leaves the ring, oldest
 * first, once both of its answers are over.
 */
#include "copy/compare/compare.h"

#include <stdlib.h>
#include <string.h>

#include "copy/compare/compare_session.h"
#include "lib/net/hash.h"

#define TABLE_BUCKETS 4096
#define RING_FIRST 8	/* ring slots a session starts with (a power of two) */

struct compare {
	struct compare_config cfg;
	compare_result_fn fn;
	void *ctx;
	size_t active;
	size_t pending;			/* requests in flight, all sessions */
	size_t ring_grown;		/* ring slots past RING_FIRST, all sessions */
	struct compare_counters counters;
	struct latency_table latency[COMPARE_TRANSFERS_MAX];
	struct csession *table[TABLE_BUCKETS];
};

static size_t bucket(const struct session_key *k)
{
	uint64_t h = hash_fnv1a(HASH_FNV1A_OFFSET, &k->client, sizeof(k->client));

	h = hash_fnv1a(h, &k->client_port, sizeof(k->client_port));
	h = hash_fnv1a(h, &k->target_port, sizeof(k->target_port));
	return (size_t)(hash_mix64(h) % TABLE_BUCKETS);
}

static bool key_equal(const struct session_key *a, const struct session_key *b)
{
	return a->client_port == b->client_port && a->target_port == b->target_port &&
	       dp_addr_equal(&a->client, &b->client) && dp_addr_equal(&a->target, &b->target);
}

static struct csession **find_slot(struct compare *c, const struct session_key *k)
{
	struct csession **s = &c->table[bucket(k)];

	while (*s && !key_equal(&(*s)->key, k))
		s = &(*s)->next;
	return s;
}

static struct csession *find(const struct compare *c, const struct session_key *k)
{
	return *find_slot((struct compare *)c, k);
}

size_t compare_session_bytes(void)
{
	return sizeof(struct csession) + RING_FIRST * sizeof(struct request *);
}

size_t compare_request_bytes(void)
{
	return sizeof(struct request) + 2 * COMPARE_DIGEST_STATE_BYTES;
}

size_t compare_memory(const struct compare *c)
{
	return c->active * compare_session_bytes() + c->ring_grown * sizeof(struct request *) +
	       c->pending * compare_request_bytes();
}

/* Whether `more` bytes still fit in max_bytes (0: no cap). */
static bool memory_fits(const struct compare *c, size_t more)
{
	return !c->cfg.max_bytes || compare_memory(c) + more <= c->cfg.max_bytes;
}

struct compare *compare_new(const struct compare_config *cfg, compare_result_fn fn, void *ctx)
{
	struct compare *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cfg = *cfg;
	if (c->cfg.transfer_count > COMPARE_TRANSFERS_MAX)
		c->cfg.transfer_count = COMPARE_TRANSFERS_MAX;
	for (size_t i = 0; i < c->cfg.transfer_count; i++)
		if (c->cfg.answer[i].head_bytes > ANSWER_HEAD_MAX)
			c->cfg.answer[i].head_bytes = ANSWER_HEAD_MAX;
	c->fn = fn;
	c->ctx = ctx;
	return c;
}

static void request_free(struct request *r)
{
	if (!r)
		return;
	answer_discard(&r->online);
	answer_discard(&r->target);
	free(r);
}

static void session_free(struct compare *c, struct csession *s)
{
	for (unsigned i = 0; i < s->count; i++)
		request_free(s->ring[(s->first + i) % s->cap]);
	c->ring_grown -= s->cap - RING_FIRST;
	free(s->ring);
	free(s);
}

void compare_free(struct compare *c)
{
	if (!c)
		return;
	for (size_t b = 0; b < TABLE_BUCKETS; b++)
		while (c->table[b]) {
			struct csession *s = c->table[b];

			c->table[b] = s->next;
			session_free(c, s);
		}
	free(c);
}

bool compare_transfer_on(const struct compare *c, size_t transfer)
{
	return transfer < c->cfg.transfer_count && c->cfg.compared[transfer];
}

static uint64_t since(uint64_t from, uint64_t to)
{
	return to > from ? to - from : 0;
}

/* The oldest pairs whose answers are both over leave, reported. */
static void report_ready(struct compare *c, struct csession *s)
{
	while (s->count) {
		struct request *r = s->ring[s->first];

		if (!r->online_over || !target_done(r))
			break;
		answer_finish(&r->online);
		answer_finish(&r->target);
		struct compare_result res = {
			.key = &s->key, .transfer = s->transfer, .request = s->base,
			.kind = compare_answers(&r->online, &r->target),
			.partial = r->partial,
			.online = &r->online, .target = &r->target,
			.request_head = r->head, .request_head_len = r->head_len,
		};

		/* Bytes not seen: only verdicts both sides parsed can be
		 * compared (a hole at an answer's start leaves no verdict). */
		if (res.partial && (res.kind == COMPARE_BODY || r->online.malformed ||
				    r->target.malformed))
			res.kind = COMPARE_SAME;
		/* Its target answer overlapped a hole (or may have): what was
		 * parsed before the hole is its own, so a verdict seen there
		 * still counts; nothing else does. */
		if (r->target_blind &&
		    (res.kind == COMPARE_MISSING || res.kind == COMPARE_BODY ||
		     r->target.verdict[0] == '\0' || r->target.malformed)) {
			res.kind = COMPARE_SAME;
			res.partial = true;
		}
		/* The client left before the online answer began: the engine
		 * ends the replayed session on its close, maybe before the
		 * target answers. No answer from the target is no difference. */
		if (r->after_client_left && res.kind == COMPARE_MISSING) {
			res.kind = COMPARE_SAME;
			res.partial = true;
		}
		if (r->online.bytes) {
			res.online_ttfb_us = since(r->online_start_us, r->online.first_time);
			res.online_ttlb_us = since(r->online_start_us, r->online.last_time);
		}
		if (r->target.bytes && r->target_sent) {
			res.target_ttfb_us = since(r->target_sent_us, r->target.first_time);
			res.target_ttlb_us = since(r->target_sent_us, r->target.last_time);
		}
		struct latency_table *t = &c->latency[s->transfer];

		if (res.online_ttfb_us && res.target_ttfb_us) {
			latency_add(&t->online_ttfb, res.online_ttfb_us);
			latency_add(&t->target_ttfb, res.target_ttfb_us);
			latency_add(&t->online_ttlb, res.online_ttlb_us);
			latency_add(&t->target_ttlb, res.target_ttlb_us);
			latency_add(&t->ratio_permille, res.target_ttfb_us * 1000 / res.online_ttfb_us);
		}
		res.slower = c->cfg.slower_min_us && res.online_ttfb_us && res.target_ttfb_us &&
			     res.target_ttfb_us > 2 * res.online_ttfb_us &&
			     res.target_ttfb_us - res.online_ttfb_us > c->cfg.slower_min_us;
		c->counters.requests++;
		c->counters.kinds[res.kind]++;
		if (res.slower)
			c->counters.slower++;
		if (res.partial)
			c->counters.partial++;
		if (c->fn)
			c->fn(c->ctx, &res);
		request_free(r);
		c->pending--;
		s->ring[s->first] = NULL;
		s->first = (s->first + 1) % s->cap;
		s->count--;
		s->base++;
		s->online_cur = s->online_cur ? s->online_cur - 1 : 0;
		s->target_cur = s->target_cur ? s->target_cur - 1 : 0;
	}
}

/* Stop comparing s: too many requests in flight to keep. */
static void kill_session(struct compare *c, struct csession *s)
{
	for (unsigned i = 0; i < s->count; i++) {
		request_free(s->ring[(s->first + i) % s->cap]);
		s->ring[(s->first + i) % s->cap] = NULL;
	}
	c->pending -= s->count;
	s->count = 0;
	s->dead = true;
	c->counters.sessions_skipped++;
}

static void new_session(struct compare *c, size_t transfer, const struct session_key *key,
			uint32_t isn)
{
	struct csession **slot = find_slot(c, key);

	if (*slot) {	/* the port used again: the old one is over */
		struct csession *old = *slot;

		compare_session_end(c, 0, &old->key);
		slot = find_slot(c, key);
	}
	if (c->active >= c->cfg.max_sessions) {
		c->counters.sessions_skipped++;
		return;
	}
	if (!memory_fits(c, compare_session_bytes())) {
		c->counters.sessions_skipped++;
		c->counters.memory_refused++;
		return;
	}
	struct csession *s = calloc(1, sizeof(*s));

	if (s)
		s->ring = calloc(RING_FIRST, sizeof(*s->ring));
	if (!s || !s->ring) {
		free(s);
		c->counters.sessions_skipped++;
		return;
	}
	s->cap = RING_FIRST;
	s->key = *key;
	s->transfer = transfer;
	s->client_known = true;
	s->client_next = isn + 1;
	*slot = s;
	c->active++;
	c->counters.sessions++;
}

/* A full ring twice as large, the requests in order from slot 0, if
 * COMPARE_PENDING_MAX and the memory allow. */
static bool grow_ring(struct compare *c, struct csession *s)
{
	unsigned cap = s->cap * 2;

	if (cap > COMPARE_PENDING_MAX || !memory_fits(c, s->cap * sizeof(*s->ring)))
		return false;
	struct request **ring = calloc(cap, sizeof(*ring));

	if (!ring)
		return false;
	for (unsigned i = 0; i < s->count; i++)
		ring[i] = s->ring[(s->first + i) % s->cap];
	free(s->ring);
	s->ring = ring;
	s->first = 0;
	c->ring_grown += cap - s->cap;
	s->cap = cap;
	return true;
}

static void start_request(struct compare *c, struct csession *s, uint64_t now_us,
			  const struct packet *p)
{
	if (c->pending >= COMPARE_PENDING_TOTAL_MAX ||
	    (s->count == s->cap && s->cap * 2 > COMPARE_PENDING_MAX)) {
		kill_session(c, s);
		return;
	}
	if ((s->count == s->cap && !grow_ring(c, s)) || !memory_fits(c, compare_request_bytes())) {
		/* Its requests in flight go back to the budget; the session
		 * itself stays (dead) until the engine ends it. */
		c->counters.memory_refused++;
		kill_session(c, s);
		return;
	}
	struct request *r = calloc(1, sizeof(*r));
	const struct answer_config *ac = &c->cfg.answer[s->transfer];

	if (!r || answer_init(&r->online, ac) < 0 || answer_init(&r->target, ac) < 0) {
		request_free(r);
		kill_session(c, s);
		return;
	}
	r->start_seq = p->seq;
	r->online_start_us = now_us;
	r->head_len = (uint8_t)(p->payload_present < COMPARE_REQUEST_HEAD ?
				p->payload_present : COMPARE_REQUEST_HEAD);
	memcpy(r->head, p->payload, r->head_len);
	answer_set_request(&r->online, r->head, r->head_len);
	answer_set_request(&r->target, r->head, r->head_len);
	/* The online answer before it is over. */
	struct request *prev = at(s, s->count ? s->count - 1 : 0);

	if (s->count && prev)
		prev->online_over = true;
	s->ring[(s->first + s->count) % s->cap] = r;
	s->online_cur = s->count;
	s->count++;
	c->pending++;
	s->server_spoke = false;
	if (s->online_closed)
		r->online_over = true;
	if (s->target_closed)
		r->target_over = true;
}

/* More bytes of the last request (a command in its own segment after one
 * the server does not answer, such as MySQL's COM_STMT_CLOSE): its head
 * grows, and the answers learn the request again. */
static void request_more(struct request *r, const struct packet *p)
{
	if (!r || r->head_len >= COMPARE_REQUEST_HEAD)
		return;
	size_t room = COMPARE_REQUEST_HEAD - r->head_len;
	size_t take = p->payload_present < room ? p->payload_present : room;

	memcpy(r->head + r->head_len, p->payload, take);
	r->head_len = (uint8_t)(r->head_len + take);
	answer_set_request(&r->online, r->head, r->head_len);
	answer_set_request(&r->target, r->head, r->head_len);
}

void compare_client_packet(struct compare *c, uint64_t now_us, size_t transfer,
			   const struct session_key *key, const struct packet *p)
{
	if (!compare_transfer_on(c, transfer))
		return;
	if ((p->flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN) {
		new_session(c, transfer, key, p->seq);
		return;
	}
	struct csession *s = find(c, key);

	if (s && (p->flags & (TCPF_FIN | TCPF_RST)))
		s->client_left = true;
	if (!s || s->dead || !p->payload_len || p->seq != s->client_next)
		return;	/* not compared, no data, or not the next bytes */
	s->client_next = p->seq + (uint32_t)p->payload_len;
	if (!s->count || s->server_spoke)
		start_request(c, s, now_us, p);
	else
		request_more(at(s, s->count - 1), p);
	report_ready(c, s);
}

/* A hole this far ahead is bytes never to be seen (the engine acks the
 * target's highest data, so the target never sends them again; a capture
 * gap likewise); farther, the packet is not of this stream. */
#define GAP_MAX (1u << 30)

/* The bytes of p past *next, in order; NULL when none are new. *hole:
 * bytes before them are missing (skipped); *cut: bytes after them are (a
 * payload cut short). */
static const uint8_t *new_bytes(const struct packet *p, uint32_t *next, size_t *len, bool *hole,
				bool *cut)
{
	uint32_t skip = *next - p->seq, ahead = p->seq - *next;

	*cut = p->payload_present < p->payload_len;
	*hole = false;
	if (ahead && ahead < GAP_MAX && p->payload_len) {
		*hole = true;	/* go on after it */
		skip = 0;
	} else if ((int32_t)ahead > 0 || skip >= p->payload_len) {
		return NULL;	/* nothing new */
	}
	*next = p->seq + (uint32_t)p->payload_len;
	if (skip >= p->payload_present) {
		*len = 0;
		return p->payload;
	}
	*len = p->payload_present - skip;
	return p->payload + skip;
}

void compare_online_packet(struct compare *c, uint64_t now_us, const struct session_key *key,
			   const struct packet *p)
{
	struct csession *s = find(c, key);

	if (!s || s->dead)
		return;
	if (p->flags & TCPF_SYN) {
		s->online_known = true;
		s->online_next = p->seq + 1;
		return;
	}
	if (!s->online_known)
		return;
	size_t len = 0;
	bool hole, cut;
	const uint8_t *b = new_bytes(p, &s->online_next, &len, &hole, &cut);
	struct request *r = at(s, s->online_cur);

	cut = cut || hole;

	if (b && r) {
		if (!r->online.bytes && s->client_left)
			r->after_client_left = true;
		answer_feed(&r->online, b, len, now_us);
		s->server_spoke = true;
		if (cut)
			r->partial = r->online_cut = true;
	}
	/* A FIN past the bytes seen: the capture lost the answer's tail (a
	 * kernel drop on a burst), which no data packet showed as a hole. */
	uint32_t fin_gap = p->seq + (uint32_t)p->payload_len - s->online_next;

	if ((p->flags & TCPF_FIN) && r && fin_gap && fin_gap < GAP_MAX)
		r->partial = r->online_cut = true;
	if (p->flags & (TCPF_FIN | TCPF_RST)) {
		s->online_closed = true;
		for (unsigned i = s->online_cur; i < s->count; i++)
			at(s, i)->online_over = true;
		report_ready(c, s);
	}
}

void compare_target_sent(struct compare *c, uint64_t now_us, const struct session_key *key,
			 const struct packet *p)
{
	struct csession *s = find(c, key);

	if (!s || s->dead || !p->payload_len)
		return;
	uint32_t end = p->seq + (uint32_t)p->payload_len;

	for (unsigned i = s->target_cur; i < s->count; i++) {
		struct request *r = at(s, i);

		if (r->target_sent)
			continue;
		/* Does this segment carry the request's first byte? */
		if ((int32_t)(r->start_seq - p->seq) < 0 || (int32_t)(end - r->start_seq) <= 0)
			break;
		r->target_sent = true;
		r->target_sent_us = now_us;
		holes_mark_start(s, i);
		for (unsigned j = s->target_cur; j < i; j++)
			at(s, j)->next_sent = true;
		s->target_cur = i;
	}
	report_ready(c, s);
}

/* Which request's answer the target's next bytes belong to: the oldest
 * request sent whose answer is not whole yet, else the last one sent. */
static unsigned target_taker(struct csession *s)
{
	for (unsigned i = 0; i < s->target_cur; i++)
		if (at(s, i)->target_sent && !target_done(at(s, i)))
			return i;
	struct request *r = at(s, s->target_cur);

	return r && r->target_sent ? s->target_cur : s->count;
}

void compare_target_packet(struct compare *c, uint64_t now_us, const struct packet *p)
{
	struct session_key key = {
		.client = p->dst, .target = p->src,
		.client_port = p->dport, .target_port = p->sport,
	};
	struct csession *s = find(c, &key);

	if (!s || s->dead)
		return;
	if (p->flags & TCPF_SYN) {
		s->target_known = true;
		s->target_next = p->seq + 1;
		return;
	}
	if (!s->target_known)
		return;
	size_t len = 0;
	bool hole, cut;
	const uint8_t *b = new_bytes(p, &s->target_next, &len, &hole, &cut);

	if (b && hole)
		holes_found(s, p->seq);
	if (b && len && s->blind) {
		holes_count(s, len, now_us);	/* not parsed */
		b = NULL;
	}
	uint32_t seq = b ? p->seq + (uint32_t)(b - p->payload) : 0;

	while (b && len) {
		unsigned t = target_taker(s);

		if (t == s->count)
			break;
		if (holes_boundary(s, t, seq))
			continue;	/* the next answer starts here: t's is over */
		struct request *r = at(s, t);

		/* A countable answer takes its bytes up to its last message:
		 * the answers of requests sent early share packets. */
		r->target.stop_at = countable(r) ? r->online.complete : 0;
		if (countable(r))
			answer_follow(&r->target, &r->online);
		size_t used = answer_feed(&r->target, b, len, now_us);

		if (!used) {	/* more than online's messages: the rest is its too */
			r->target.stop_at = 0;
			used = answer_feed(&r->target, b, len, now_us);
			if (!used)
				break;
		}
		b += used;
		len -= used;
		seq += (uint32_t)used;
	}
	if (cut && !s->blind)
		holes_go_blind(s);	/* its bytes after the cut are not seen */
	/* A FIN past the bytes seen: the answer's tail was lost (no data
	 * packet after it to show the hole). */
	uint32_t fin_gap = p->seq + (uint32_t)p->payload_len - s->target_next;

	if ((p->flags & TCPF_FIN) && fin_gap && fin_gap < GAP_MAX && !s->blind)
		holes_go_blind(s);
	report_ready(c, s);	/* an answer whole by its count ends its pair */
	if (p->flags & (TCPF_FIN | TCPF_RST)) {
		s->target_closed = true;
		for (unsigned i = s->target_cur; i < s->count; i++)
			at(s, i)->target_over = true;
		report_ready(c, s);
	}
}

void compare_session_end(struct compare *c, uint64_t now_us, const struct session_key *key)
{
	struct csession **slot = find_slot(c, key);
	struct csession *s = *slot;

	if (!s)
		return;
	for (unsigned i = 0; i < s->count; i++) {
		at(s, i)->online_over = true;
		at(s, i)->target_over = true;
	}
	if (!s->dead)
		report_ready(c, s);
	c->pending -= s->count;
	*slot = s->next;
	session_free(c, s);
	c->active--;
}

void compare_forget(struct compare *c, const struct session_key *key)
{
	struct csession **slot = find_slot(c, key);
	struct csession *s = *slot;

	if (!s)
		return;
	if (!s->dead)
		c->counters.sessions_skipped++;
	c->pending -= s->count;
	*slot = s->next;
	session_free(c, s);
	c->active--;
}

bool compare_wants(const struct compare *c, const struct session_key *key)
{
	const struct csession *s = find(c, key);

	return s && !s->dead;
}

const struct compare_counters *compare_counters(const struct compare *c)
{
	return &c->counters;
}

const struct latency_table *compare_latency(const struct compare *c, size_t transfer)
{
	return transfer < COMPARE_TRANSFERS_MAX ? &c->latency[transfer] : NULL;
}

size_t compare_active(const struct compare *c)
{
	return c->active;
}
