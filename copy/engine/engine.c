/*
 * engine.c — the session engine's entry points: configuration, the engine's
 * life, and dispatching captured packets, summaries and timer ticks to the
 * sessions (see engine.h for the contract, engine_session.h for the parts).
 */
#include "copy/engine/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy/engine/engine_session.h"

_Static_assert(sizeof(struct session_key) % 4 == 0, "session_table hashes keys by 32-bit words");

void engine_config_defaults(struct engine_config *c)
{
	memset(c, 0, sizeof(*c));
	c->session_timeout_ms = 120000;
	c->keepalive_timeout_ms = 0;
	c->mss_clamp = 0;
	c->send_at_once = false;
	c->max_sessions = 1000000;
	c->max_buffered_bytes = (size_t)512 << 20;
	c->rto_initial_ms = 1000;
	c->rto_min_ms = 200;
	c->rto_max_ms = 60000;
	c->syn_retries = 6;
	c->data_retries = 15;
	c->ttl = 64;
	c->pace_timeout_ms = 2000;
	c->pace_quiet_rtts = 8;
	c->pace_quiet_min_ms = 200;
	c->linger_ms = 2000;
	c->gap_timeout_ms = 5000;
	c->hash_seed = 0;
}

const char *engine_end_reason_name(enum engine_end_reason r)
{
	static const char *const names[END_REASON_COUNT] = {
		[END_CLOSED] = "closed",
		[END_TARGET_RESET] = "target_reset",
		[END_SESSION_TIMEOUT] = "session_timeout",
		[END_KEEPALIVE_TIMEOUT] = "keepalive_timeout",
		[END_SYN_TIMEOUT] = "syn_timeout",
		[END_RETRANSMIT_LIMIT] = "retransmit_limit",
		[END_SEND_FAILED] = "send_failed",
		[END_ABORTED] = "aborted",
		[END_PROTOCOL_ERROR] = "protocol_error",
		[END_MEMORY_LIMIT] = "memory_limit",
		[END_SUPERSEDED] = "superseded",
		[END_CAPTURE_GAP] = "capture_gap",
		[END_AUTH_FAILED] = "auth_failed",
	};

	if ((unsigned)r < END_REASON_COUNT && names[r])
		return names[r];
	return "unknown";
}

struct engine *engine_new(const struct engine_config *cfg, const struct engine_sink *sink)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->cfg = *cfg;
	e->sink = *sink;
	if (!e->cfg.rto_initial_ms)
		e->cfg.rto_initial_ms = 1;
	if (e->cfg.rto_max_ms < e->cfg.rto_min_ms)
		e->cfg.rto_max_ms = e->cfg.rto_min_ms;
	heap_init(&e->timers);
	if (session_table_init(&e->table, cfg->hash_seed) < 0) {
		free(e);
		return NULL;
	}
	return e;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	for (uint32_t i = 0; i < e->timers.count; i++)
		session_release(e, session_from_timer(e->timers.items[i]));
	session_successors_free(e);
	session_free_graveyard(e);
	heap_free(&e->timers);
	session_table_free(&e->table);
	refused_keys_free(&e->refused);
	refused_keys_free(&e->orphans_reset);
	free(e);
}

/* Before an entry point returns: the successors whose old session ended
 * start, then the ended sessions are freed. */
static void settle(struct engine *e, uint64_t now)
{
	session_successors_start(e, now);
	session_free_graveyard(e);
}

void engine_client_packet(struct engine *e, uint64_t now_ms, const struct session_key *key,
			  const struct packet *p)
{
	struct session_key k;

	e->counters.client_packets++;
	if (p->fragment) {
		/* A TCP stream cut at the IP layer: not ours to reassemble. */
		e->counters.client_ignored++;
		return;
	}
	session_key_normalize(&k, key);
	engine_dispatch_client(e, now_ms, &k, p);
	settle(e, now_ms);
}

void engine_dispatch_client(struct engine *e, uint64_t now, const struct session_key *k,
			    const struct packet *p)
{
	struct session *s = session_table_find(&e->table, k);

	if (!s) {
		session_client_start(e, now, k, p);
	} else if (session_successor_claims(s, p)) {
		session_successor_hold(e, s, now, p);
	} else {
		session_client_packet(e, s, now, p);
		if (!session_ended(s))
			session_reschedule(e, s, now);
	}
}

void engine_target_packet(struct engine *e, uint64_t now_ms, const struct packet *p)
{
	struct session_key k;
	struct session *s;

	e->counters.summaries++;
	session_key_from_target_packet(&k, p);
	s = session_table_find(&e->table, &k);
	if (!s) {
		e->counters.summaries_unmatched++;
		return;
	}
	session_target_packet(e, s, now_ms, p);
	if (!session_ended(s))
		session_reschedule(e, s, now_ms);
	settle(e, now_ms);
}

void engine_tick(struct engine *e, uint64_t now_ms)
{
	struct heap_node *n;

	while ((n = heap_top(&e->timers)) && n->key <= now_ms) {
		struct session *s = session_from_timer(n);

		session_on_timer(e, s, now_ms);
		if (!session_ended(s))
			session_reschedule(e, s, now_ms);
	}
	settle(e, now_ms);
}

uint64_t engine_next_deadline(const struct engine *e)
{
	const struct heap_node *n = heap_top(&e->timers);

	return n ? n->key : UINT64_MAX;
}

/* End the session of k, if there is one, and settle what that released. */
static void end_session(struct engine *e, uint64_t now_ms, const struct session_key *k,
			enum engine_end_reason reason, bool reset_target, const char *detail)
{
	struct session_key key;
	struct session *s;

	session_key_normalize(&key, k);
	s = session_table_find(&e->table, &key);
	if (s)
		session_finish(e, s, reason, reset_target, detail);
	settle(e, now_ms);
}

void engine_abort(struct engine *e, uint64_t now_ms, const struct session_key *k,
		  const char *detail)
{
	end_session(e, now_ms, k, END_ABORTED, true, detail ? detail : "aborted");
}

void engine_send_failed(struct engine *e, uint64_t now_ms, const struct session_key *k,
			const char *detail)
{
	/* No RST: the send path that refused this packet would refuse it too. */
	end_session(e, now_ms, k, END_SEND_FAILED, false, detail ? detail : "send failed");
}

void engine_abort_all(struct engine *e, uint64_t now_ms, const char *detail)
{
	/* Taking the heap's last node each time keeps every removal O(1). */
	while (e->timers.count) {
		struct session *s = session_from_timer(e->timers.items[e->timers.count - 1]);
		char why[320], where[240];

		session_where(s, where, sizeof(where));
		snprintf(why, sizeof(why), "%s (%s)", detail ? detail : "aborted", where);
		session_finish(e, s, END_ABORTED, true, why);
	}
	settle(e, now_ms);
}

size_t engine_describe_sessions(const struct engine *e, size_t max,
				void (*fn)(void *ctx, const struct session_key *k,
					   const char *where),
				void *ctx)
{
	char where[240];

	for (size_t i = 0; i < e->timers.count && i < max; i++) {
		const struct session *s = session_from_timer(e->timers.items[i]);

		session_where(s, where, sizeof(where));
		fn(ctx, &s->key, where);
	}
	return e->timers.count;
}

const struct engine_counters *engine_counters(const struct engine *e)
{
	return &e->counters;
}
