/*
 * copy_engine_glue.c — the engine's side of a replay: its configuration
 * from the options, its sink (packets to the sender, routes to the intercept
 * links, ended sessions), the packets the sender refused at flush time, and
 * the loop's hooks (the engine's timer, the flush before the loop sleeps).
 *
 * The engine must not be re-entered from its own sink, so whatever the
 * sink learns that needs the engine (a packet the kernel refused when a
 * full batch was flushed from inside send_queue) is queued and handled
 * before the loop sleeps.
 */
#include "copy/copy_private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy/copy_map.h"

void copy_engine_config(const struct copy_options *o, struct engine_config *cfg)
{
	uint16_t mtu_mss = (uint16_t)(o->mtu - 40);

	/* A tunnel's headers come out of the path's MTU: the inner MSS is
	 * what is left after them and the inner IP and TCP headers, for the
	 * largest family among the targets. -D, when given, is taken as it
	 * is: the user knows the path. */
	if (o->tunnel.kind != ENCAP_NONE) {
		int family = AF_INET;

		for (size_t i = 0; i < o->transfer_count; i++)
			if (o->transfers[i].target_addr.family == AF_INET6)
				family = AF_INET6;
		mtu_mss = (uint16_t)(o->mtu - encap_overhead(&o->tunnel, family) -
				     (family == AF_INET6 ? 60 : 40));
	}
	engine_config_defaults(cfg);
	cfg->session_timeout_ms = o->session_timeout_ms;
	cfg->keepalive_timeout_ms = o->keepalive_timeout_ms;
	cfg->send_at_once = o->no_wait;
	cfg->pace_quiet_min_ms = o->pace_quiet_ms;
	cfg->pace_quiet_rtts = o->pace_quiet_rtts;
	cfg->full_sessions_only = o->full_sessions_only;
	cfg->mss_clamp = o->mss && (o->mss < mtu_mss || o->tunnel.kind != ENCAP_NONE) ?
			 o->mss : mtu_mss;
	/* Each of --workers has its share of -m. */
	uint64_t memory = o->memory_bytes / (o->workers > 1 ? o->workers : 1);

	cfg->max_sessions = (size_t)(memory / 4 / 512);
	/* --compare's share comes out of the buffered data's. */
	cfg->max_buffered_bytes = (size_t)(memory / 4 * 3 - copy_compare_memory(o));
	memcpy(cfg->auth_ports, o->protocols, o->protocol_count * sizeof(o->protocols[0]));
	cfg->auth_port_count = o->protocol_count;
}

/* ---- the engine's sink ---- */

static enum engine_send_result sink_send(void *ctx, const struct session_key *k,
					 const uint8_t *pkt, size_t len)
{
	struct copy *c = ctx;
	uint8_t flags = 0;

	/* The last guard: nothing leaves unless it goes to a configured
	 * target. The engine never builds anything else; if it ever did,
	 * this refuses it and says so. */
	if (!copy_map_send_allowed(c->o, k, pkt, len, &flags)) {
		char addr[INET6_ADDRSTRLEN];

		c->refused_not_target++;
		log_ratelimited(&c->rl_refused, loop_now_ms(c->loop), LOG_LEVEL_ERR,
				"refused to send a packet not addressed to a configured target "
				"(session target %s:%u): a bug, please report it",
				dp_addr_str(&k->target, addr, sizeof(addr)), k->target_port);
		return ENGINE_SEND_FAILED;
	}
	/* A session's route must reach intercept before its SYN reaches the
	 * target (docs/protocol.md section 7), and the sender may put the SYN
	 * on the wire from inside send_queue when its batch is full: routes
	 * waiting for the end of the iteration go now. Other packets, and
	 * route deletions, wait for the batch. */
	if ((flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN)
		intercept_links_flush_routes(c->links);
	copy_compare_sent(c->compare, k, pkt, len);
	return send_queue(c->sender, k, pkt, len);
}

static int sink_route_add(void *ctx, const struct session_key *k)
{
	struct copy *c = ctx;
	uint16_t wanted = copy_compare_payload(c->compare, k, 0);

	/* A compared session asks for its answers' bytes (docs/compare.md).
	 * An intercept that cannot give them (a TCPCopy one, or one
	 * without ROUTE_PAYLOAD) still replays it, uncompared. */
	if (wanted) {
		if (intercept_links_route_add_payload(c->links, k, wanted) == 0)
			return 0;
		copy_compare_forget(c->compare, k);
	}
	return intercept_links_route_add(c->links, k);
}

/* A session whose protocol module reads the target's answers. */
static int sink_route_add_payload(void *ctx, const struct session_key *k, uint16_t wanted)
{
	struct copy *c = ctx;

	return intercept_links_route_add_payload(c->links, k,
						 copy_compare_payload(c->compare, k, wanted));
}

static void sink_route_del(void *ctx, const struct session_key *k)
{
	struct copy *c = ctx;

	intercept_links_route_del(c->links, k);
}

static void sink_session_end(void *ctx, const struct session_key *k,
			     enum engine_end_reason reason, const char *detail)
{
	struct copy *c = ctx;
	char client[INET6_ADDRSTRLEN], target[INET6_ADDRSTRLEN];

	if (reason == END_AUTH_FAILED) {
		uint64_t tls = engine_counters(c->engine)->auth_failed[AUTH_FAIL_TLS];

		copy_auth_log_end(&c->auth_log, loop_now_ms(c->loop), k, detail);
		/* The client negotiated TLS: its conversation is encrypted and
		 * was not replayed, so nothing of it is compared (how many of
		 * its requests had been seen when the engine gave up is only a
		 * matter of timing: one to six missing pairs in pg-login). */
		if (tls != c->compare_tls_ended) {
			c->compare_tls_ended = tls;
			copy_compare_forget(c->compare, k);
		}
	}
	copy_compare_end(c->compare, k);
	/* A session that failed is what an operator looks for in the log
	 * (which one, and where it stood): at info, rate-limited. Logins have
	 * their own lines (copy_auth_log.c); an abort is the daemon's own
	 * stop or a lost intercept, logged once for all. */
	bool failed = reason != END_CLOSED && reason != END_AUTH_FAILED && reason != END_ABORTED;

	if (log_get_level() < (failed ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG))
		return;
	dp_addr_str(&k->client, client, sizeof(client));
	dp_addr_str(&k->target, target, sizeof(target));
	if (failed)
		log_ratelimited(&c->rl_ended, loop_now_ms(c->loop), LOG_LEVEL_INFO,
				"session %s:%u > %s:%u ended: %s%s%s", client, k->client_port,
				target, k->target_port, engine_end_reason_name(reason),
				detail && *detail ? ": " : "", detail ? detail : "");
	else
		log_debug("session %s:%u > %s:%u ended: %s%s%s", client, k->client_port, target,
			  k->target_port, engine_end_reason_name(reason),
			  detail && *detail ? ": " : "", detail ? detail : "");
}

/* The sender refused a packet at flush time (maybe from inside the engine,
 * when send_queue flushed a full batch): end its session, later. */
static void on_send_failure(void *ctx, const struct session_key *k, int err)
{
	struct copy *c = ctx;

	if (c->failure_count == SEND_FAILURES_MAX) {
		c->failures_dropped++;
		return;
	}
	c->failures[c->failure_count].key = *k;
	c->failures[c->failure_count].err = err;
	c->failure_count++;
}

static void handle_send_failures(struct copy *c)
{
	uint64_t now = loop_now_ms(c->loop);

	/* Ending a session sends nothing more, so the queue only shrinks;
	 * the count bounds the work all the same. */
	for (size_t done = 0; c->failure_count > 0 && done < 2 * SEND_FAILURES_MAX; done++) {
		struct send_failure f = c->failures[--c->failure_count];
		char detail[96];

		snprintf(detail, sizeof(detail), "send failed: %s", strerror(f.err));
		log_ratelimited(&c->rl_failure, now, LOG_LEVEL_WARNING,
				"a replayed packet was refused: %s", strerror(f.err));
		engine_send_failed(c->engine, now, &f.key, detail);
	}
}

void copy_sink_init(struct copy *c, struct engine_sink *sink)
{
	*sink = (struct engine_sink){
		.ctx = c, .send = sink_send, .route_add = sink_route_add,
		.route_del = sink_route_del, .session_end = sink_session_end,
		.route_add_payload = sink_route_add_payload,
	};
}

/* ---- the loop ---- */

static void on_engine_timer(struct loop *l, uint64_t timer_id, void *arg)
{
	struct copy *c = arg;

	c->engine_timer = 0;
	engine_tick(c->engine, loop_now_ms(l));
}

static void rearm_engine_timer(struct copy *c)
{
	uint64_t deadline = engine_next_deadline(c->engine);
	uint64_t now = loop_now_ms(c->loop);

	if (c->engine_timer && deadline == c->engine_timer_deadline)
		return;
	if (c->engine_timer)
		loop_timer_cancel(c->loop, c->engine_timer);
	c->engine_timer = 0;
	if (deadline == UINT64_MAX)
		return;
	c->engine_timer = loop_timer_add(c->loop, deadline > now ? deadline - now : 0,
					 on_engine_timer, c);
	c->engine_timer_deadline = deadline;
}

void copy_flush_all(struct copy *c)
{
	for (int round = 0; round < 3; round++) {
		handle_send_failures(c);
		intercept_links_flush(c->links);
		send_flush(c->sender);
		if (c->failure_count == 0)
			break;
	}
}

void copy_before_sleep(struct loop *l, void *arg)
{
	struct copy *c = arg;

	if (c->stopping)
		return;
	copy_flush_all(c);
	rearm_engine_timer(c);
	copy_auth_log_counters(&c->auth_log, loop_now_ms(l), engine_counters(c->engine));
	if (c->capture_done && !c->finished && engine_counters(c->engine)->sessions_active == 0) {
		c->finished = true;
		log_notice("offline: every session ended");
		loop_stop(l);
	}
}

int copy_open_sender(struct copy *c, char *err, size_t errlen)
{
	struct send_config cfg;
	char why[256];

	memset(&cfg, 0, sizeof(cfg));
	cfg.kind = c->o->output_device ? SEND_PACKET : SEND_RAW;
	cfg.device = c->o->output_device;
	if (c->o->output_device) {
		memcpy(cfg.src_mac, c->o->transfers[0].src_mac, 6);
		memcpy(cfg.next_hop_mac, c->o->transfers[0].next_hop_mac, 6);
	}
	cfg.batch = 64;
	cfg.tunnel = c->o->tunnel;
	cfg.tunnel_src4 = c->o->tunnel_src4;
	cfg.tunnel_src6 = c->o->tunnel_src6;
	/* -o writes the outer header itself: the source the host's routes
	 * would give each target's family, unless --tunnel-source said. */
	for (size_t i = 0; c->o->output_device && cfg.tunnel.kind != ENCAP_NONE &&
			   i < c->o->transfer_count; i++) {
		const struct dp_addr *target = &c->o->transfers[i].target_addr;
		struct dp_addr *src = target->family == AF_INET ? &cfg.tunnel_src4 : &cfg.tunnel_src6;

		if (!src->family && send_tunnel_source(target, src, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "send: %s", why);
			return -1;
		}
	}
	if (cfg.tunnel.kind != ENCAP_NONE)
		log_info("tunnel: %s to each target%s", encap_name(cfg.tunnel.kind),
			 c->o->output_device ? " (outer headers written for -o)" : "");
	cfg.no_tx_ring = c->o->no_tx_ring;
	c->sender = send_open(&cfg, on_send_failure, c, why, sizeof(why));
	if (!c->sender) {
		snprintf(err, errlen, "send: %s", why);
		return -1;
	}
	if (send_tx_ring_bytes(c->sender))
		log_info("-o %s: PACKET_TX_RING of %zu KiB", cfg.device,
			 send_tx_ring_bytes(c->sender) / 1024);
	else if (*send_tx_ring_fallback(c->sender))
		log_warnx("-o %s: no PACKET_TX_RING (%s): sending with sendmmsg batches",
			    cfg.device, send_tx_ring_fallback(c->sender));
	return 0;
}

/* SIGUSR2: the live sessions and where each stands, at most
 * SESSIONS_LOGGED of them (a busy replay has hundreds of thousands). */
#define SESSIONS_LOGGED 200

static void log_session(void *ctx, const struct session_key *k, const char *where)
{
	char client[INET6_ADDRSTRLEN], target[INET6_ADDRSTRLEN];

	(void)ctx;
	log_info("session %s:%u > %s:%u: %s", dp_addr_str(&k->client, client, sizeof(client)),
		 k->client_port, dp_addr_str(&k->target, target, sizeof(target)),
		 k->target_port, where);
}

void copy_log_sessions(struct copy *c)
{
	size_t live = engine_describe_sessions(c->engine, SESSIONS_LOGGED, log_session, c);

	log_info("sessions: %zu live%s", live,
		 live > SESSIONS_LOGGED ? " (the first 200 listed)" : "");
}
