/*
 * copy.c — doppel-copy's replay: capture -> engine -> sender, engine ->
 * intercept links -> engine (see copy.h).
 *
 * The engine must not be re-entered from its own sink, so whatever the
 * sink learns that needs the engine (a packet the kernel refused when a
 * full batch was flushed from inside send_queue) is queued and handled
 * before the loop sleeps. Links are never closed from inside the sink
 * either: a lost intercept is reported from the link's own events, where
 * ending every session is safe.
 */
#include "copy/copy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "copy/capture/capture.h"
#include "copy/capture/capture_mirror.h"
#include "copy/copy_auth_log.h"
#include "copy/copy_credentials.h"
#include "copy/copy_compare.h"
#include "copy/copy_map.h"
#include "copy/copy_metrics.h"
#include "copy/copy_stats.h"
#include "lib/wire/wire_tls.h"
#include "lib/runtime/metrics_http.h"
#include "copy/link/intercept_link.h"
#include "lib/runtime/log.h"
#include "copy/send/send.h"

/* Packets refused at flush time, waiting for engine_abort. Past this many
 * in one iteration the rest are left to the engine's own retransmission
 * limit. */
#define SEND_FAILURES_MAX 4096

struct send_failure {
	struct session_key key;
	int err;
};

struct copy {
	const struct copy_options *o;
	struct loop *loop;
	uint64_t seed;
	struct engine *engine;
	struct sender *sender;
	struct capture capture;
	bool capture_open;
	bool capture_done;	/* offline: the file was played to the end */
	bool finished;
	bool failed;		/* a deferred start failed: main exits 1 */
	bool file_damaged;	/* offline: the file ended early: main exits 1 */
	bool stopping;
	struct intercept_links *links;
	struct intercept_link_config link_cfg;
	struct wire_tls *tls;		/* --tls-*: NULL for plain text */
	struct session_key *keys;	/* o->copies of them, for each packet */

	uint64_t engine_timer;
	uint64_t engine_timer_deadline;
	uint64_t stats_timer;

	struct send_failure failures[SEND_FAILURES_MAX];
	size_t failure_count;
	uint64_t failures_dropped;
	uint64_t refused_not_target;

	struct copy_stats stats;
	uint64_t *transfer_packets;	/* captured, per -x transfer (metrics) */
	uint64_t buffered_limit, sessions_limit;	/* the engine's, from -m */
	struct histogram capture_delay;	/* kernel capture to on_capture (live only) */
	struct metrics_server *metrics;	/* --metrics, or NULL */
	struct copy_compare *compare;	/* --compare, or NULL */
	struct log_ratelimit rl_refused, rl_link, rl_summary, rl_failure;
	struct copy_credentials *credentials;	/* --credentials, or NULL */
	struct copy_auth_log auth_log;
};

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
	cfg->full_sessions_only = o->full_sessions_only;
	cfg->mss_clamp = o->mss && (o->mss < mtu_mss || o->tunnel.kind != ENCAP_NONE) ?
			 o->mss : mtu_mss;
	cfg->max_sessions = (size_t)(o->memory_bytes / 4 / 512);
	cfg->max_buffered_bytes = (size_t)(o->memory_bytes / 4 * 3);
	memcpy(cfg->auth_ports, o->protocols, o->protocol_count * sizeof(o->protocols[0]));
	cfg->auth_port_count = o->protocol_count;
}

static uint64_t random_seed(void)
{
	uint64_t seed = 0;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ loop_clock_ms();
	return seed;
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

	/* A compared session asks for its answers' bytes (docs/compare.md). */
	if (wanted)
		return intercept_links_route_add_payload(c->links, k, wanted);
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

	if (reason == END_AUTH_FAILED)
		copy_auth_log_end(&c->auth_log, loop_now_ms(c->loop), k, detail);
	copy_compare_end(c->compare, k);
	if (log_get_level() < LOG_LEVEL_DEBUG)
		return;
	log_debug("session %s:%u > %s:%u ended: %s%s%s",
		  dp_addr_str(&k->client, client, sizeof(client)), k->client_port,
		  dp_addr_str(&k->target, target, sizeof(target)), k->target_port,
		  engine_end_reason_name(reason), detail && *detail ? ": " : "",
		  detail ? detail : "");
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

/* ---- capture and links ---- */

static void on_capture(void *ctx, uint64_t ts_us, const struct packet *p)
{
	struct copy *c = ctx;
	uint64_t now = loop_now_ms(c->loop);
	size_t n;

	if (c->stopping)
		return;
	if (copy_compare_answer(c->compare, c->seed, ts_us, p))
		return;	/* the online server's answer: compared, not replayed */
	if (c->capture.outgoing)
		return;	/* taken for the answers only: this host's own requests are no client's */
	const struct copy_transfer *t = copy_map_transfer(c->o, p);

	if (c->o->capture_kind != CAPTURE_OFFLINE) {
		/* The kernel stamps packets with the wall clock; a clock
		 * stepped back makes a negative delay, not counted. */
		struct timespec wall;
		uint64_t wall_us;

		clock_gettime(CLOCK_REALTIME, &wall);
		wall_us = (uint64_t)wall.tv_sec * 1000000u + (uint64_t)wall.tv_nsec / 1000u;
		if (wall_us >= ts_us)
			histogram_add(&c->capture_delay, wall_us - ts_us);
	}
	if (t)
		c->transfer_packets[t - c->o->transfers]++;
	n = copy_map_keys(c->o, c->seed, p, c->keys);
	if (n && t)
		copy_compare_request(c->compare, ts_us, (size_t)(t - c->o->transfers), &c->keys[0], p);
	for (size_t i = 0; i < n; i++)
		engine_client_packet(c->engine, now, &c->keys[i], p);
}

static void on_capture_done(void *ctx)
{
	struct copy *c = ctx;

	c->capture_done = true;
	if (c->capture.error[0]) {
		/* What came before the damage is replayed to its end. */
		c->file_damaged = true;
		log_warnx("offline: %s; waiting for the %" PRIu64 " sessions begun before it",
			  c->capture.error, engine_counters(c->engine)->sessions_active);
		return;
	}
	log_notice("offline: the file was played to the end; waiting for %" PRIu64 " sessions",
		   engine_counters(c->engine)->sessions_active);
}

static void on_summary(void *ctx, const struct packet *p)
{
	struct copy *c = ctx;

	copy_compare_summary(c->compare, p);
	engine_target_packet(c->engine, loop_now_ms(c->loop), p);
}

static int open_capture(struct copy *c, char *err, size_t errlen);

/* An offline replay waits for every intercept: played at once, a file's
 * sessions would all be refused while the links are still connecting. */
static void start_offline_capture(struct copy *c)
{
	char err[600];

	if (c->capture_open || c->capture_done || c->stopping ||
	    intercept_links_ready(c->links) < intercept_links_count(c->links))
		return;
	if (open_capture(c, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		c->failed = true;
		loop_stop(c->loop);
	}
}

struct link_sessions_end {
	struct copy *copy;
	const char *detail;
};

static void end_one(void *ctx, const struct session_key *k)
{
	struct link_sessions_end *e = ctx;

	engine_abort(e->copy->engine, loop_now_ms(e->copy->loop), k, e->detail);
}

/* A lost connection to an intercept did not come back in time: end the
 * sessions routed through it, and only those. */
static void end_link_sessions(struct copy *c, size_t index, const char *name)
{
	char detail[160];
	struct link_sessions_end e = { c, detail };
	size_t n;

	snprintf(detail, sizeof(detail), "intercept %s lost for more than %u ms", name,
		 c->link_cfg.outage_grace_ms);
	n = intercept_links_routes_of(c->links, index, end_one, &e);
	log_warnx("intercept %s not back within %u ms: ended its %zu sessions; new ones through "
		  "it are refused until it is", name, c->link_cfg.outage_grace_ms, n);
}

static void on_link_event(void *ctx, size_t index, const char *name, enum intercept_link_event ev,
			  bool was_ready, const char *reason)
{
	struct copy *c = ctx;
	uint64_t now = loop_now_ms(c->loop);
	struct intercept_link_status status;

	switch (ev) {
	case LINK_EVENT_UP:
		log_notice("intercept %s: connected (%zu of %zu ready)", name,
			   intercept_links_ready(c->links), intercept_links_count(c->links));
		if (c->o->capture_kind == CAPTURE_OFFLINE)
			start_offline_capture(c);
		return;
	case LINK_EVENT_SUMMARY_DROPPED:
		log_ratelimited(&c->rl_summary, now, LOG_LEVEL_WARNING,
				"intercept %s: summary dropped: %s", name, reason);
		return;
	case LINK_EVENT_EXPIRED:
		end_link_sessions(c, index, name);
		return;
	case LINK_EVENT_DOWN:
		break;
	}
	intercept_links_status(c->links, index, &status);
	if (!was_ready) {
		log_ratelimited(&c->rl_link, now, LOG_LEVEL_WARNING,
				"intercept %s: %s; next attempt in %" PRIu64 " ms", name, reason,
				status.retry_delay_ms);
		return;
	}
	/* Its sessions go on: their routes are registered again when it is
	 * back, and the target retransmits what was lost meanwhile. */
	log_warnx("intercept %s lost: %s; its %zu sessions wait up to %u ms for it (next attempt "
		  "in %" PRIu64 " ms)", name, reason,
		  intercept_links_routes_of(c->links, index, NULL, NULL),
		  c->link_cfg.outage_grace_ms, status.retry_delay_ms);
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

static void flush_all(struct copy *c)
{
	for (int round = 0; round < 3; round++) {
		handle_send_failures(c);
		intercept_links_flush(c->links);
		send_flush(c->sender);
		if (c->failure_count == 0)
			break;
	}
}

static void before_sleep(struct loop *l, void *arg)
{
	struct copy *c = arg;

	if (c->stopping)
		return;
	flush_all(c);
	rearm_engine_timer(c);
	copy_auth_log_counters(&c->auth_log, loop_now_ms(l), engine_counters(c->engine));
	if (c->capture_done && !c->finished && engine_counters(c->engine)->sessions_active == 0) {
		c->finished = true;
		log_notice("offline: every session ended");
		loop_stop(l);
	}
}

static void on_stats_timer(struct loop *l, uint64_t timer_id, void *arg)
{
	struct copy *c = arg;

	copy_report(c);
	c->stats_timer = loop_timer_add(l, c->o->common.stats_interval_ms, on_stats_timer, c);
}

/* Every statistic, read now from the parts that count. */
static void collect(struct copy *c)
{
	struct intercept_link_counters links;
	struct copy_compare_counters compare;
	struct copy_stats_sources src = { 0 };

	if (c->capture_open && c->capture.ops->update_stats)
		c->capture.ops->update_stats(&c->capture);
	intercept_links_counters(c->links, &links);
	src.engine = engine_counters(c->engine);
	src.capture = &c->capture.counters;
	src.send = c->sender ? send_counters(c->sender) : NULL;
	src.links = &links;
	src.intercepts_connected = intercept_links_ready(c->links);
	src.buffered_limit = c->buffered_limit;
	src.sessions_limit = c->sessions_limit;
	if (c->o->capture_kind != CAPTURE_OFFLINE)
		src.capture_delay = &c->capture_delay;
	copy_compare_counters(c->compare, &compare);
	src.compare = &compare;
	copy_stats_collect(&c->stats, &src);
}

/* A scrape of --metrics, from the loop: reads counters, waits on nothing. */
static void render_metrics(void *ctx, struct metrics_text *out)
{
	struct copy *c = ctx;
	struct copy_metrics_sources src = {
		&c->stats, c->o, c->transfer_packets, c->links,
		c->o->capture_kind != CAPTURE_OFFLINE ? &c->capture_delay : NULL,
	};

	collect(c);
	copy_metrics_render(out, &src);
}

void copy_report(struct copy *c)
{
	char line[2048];

	collect(c);
	stats_format_line(&c->stats.table, line, sizeof(line), 0);
	log_info("stats: %s", line[0] ? line : "nothing yet");
	/* Not statistics keys of doppel-copy(8): they should stay 0, and say so
	 * loudly if not. */
	if (c->refused_not_target || c->failures_dropped)
		log_warnx("stats: %" PRIu64 " packets refused as not addressed to a target, %" PRIu64
			  " send failures left to the retransmission limit", c->refused_not_target,
			  c->failures_dropped);
	copy_compare_report(c->compare);
	if (c->o->common.stats_file &&
	    stats_write_json(&c->stats.table, NULL, c->o->common.stats_file) < 0)
		log_warn("--stats-file %s", c->o->common.stats_file);
}

/* ---- setting up and tearing down ---- */

static int open_sender(struct copy *c, char *err, size_t errlen)
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
	c->sender = send_open(&cfg, on_send_failure, c, why, sizeof(why));
	if (!c->sender) {
		snprintf(err, errlen, "send: %s", why);
		return -1;
	}
	return 0;
}

static int open_capture(struct copy *c, char *err, size_t errlen)
{
	struct capture_config cfg;
	char filter[4096], why[512], outer_filter[256];

	memset(&cfg, 0, sizeof(cfg));
	cfg.kind = c->o->capture_kind;
	cfg.device = c->o->device;
	cfg.filter = c->o->filter;
	if (!cfg.filter) {
		if (copy_options_build_filter(c->o, filter, sizeof(filter)) < 0) {
			snprintf(err, errlen, "capture: the filter built from -x is too long; give -F");
			return -1;
		}
		cfg.filter = filter;
	}
	cfg.file = c->o->offline_file;
	cfg.speed = c->o->speed;
	cfg.repeat = c->o->repeat;
	cfg.outgoing = c->o->compare.on;
	c->capture.ops = capture_ops_for(cfg.kind);
	c->capture.deliver = on_capture;
	c->capture.done = on_capture_done;
	c->capture.ctx = c;
	if (c->o->has_mirror) {
		/* The kernel's filter takes the encapsulation; the one from -x or
		 * -F applies to the mirrored packets inside (capture_mirror.h). */
		if (capture_mirror_open(&c->capture, &c->o->mirror, cfg.filter, why,
					sizeof(why)) < 0) {
			snprintf(err, errlen, "capture: %s", why);
			return -1;
		}
		if (decap_outer_filter(&c->o->mirror, outer_filter, sizeof(outer_filter)) < 0) {
			capture_mirror_close(&c->capture);
			snprintf(err, errlen, "capture: --mirror: outer filter too long");
			return -1;
		}
		log_info("mirror: decapsulating (%s); filter on the mirrored packets: %s",
			 outer_filter, cfg.filter);
		cfg.filter = outer_filter;
	}
	if (c->capture.ops->open(&c->capture, c->loop, &cfg, why, sizeof(why)) < 0) {
		capture_mirror_close(&c->capture);
		snprintf(err, errlen, "capture (%s): %s", c->capture.ops->name, why);
		return -1;
	}
	c->capture_open = true;
	log_info("capturing with %s on %s: %s", c->capture.ops->name,
		 cfg.kind == CAPTURE_OFFLINE ? cfg.file : (cfg.device ? cfg.device : "every interface"),
		 cfg.filter);
	return 0;
}

static int open_links(struct copy *c, char *err, size_t errlen)
{
	struct intercept_endpoint *ends = calloc(c->o->intercept_count, sizeof(*ends));
	struct intercept_links_handlers handlers = {
		.ctx = c, .summary = on_summary, .event = on_link_event,
	};

	if (!ends) {
		snprintf(err, errlen, "intercept links: out of memory");
		return -1;
	}
	struct wire_tls_options tls = wire_tls_options_of(&c->o->tls);
	if (wire_tls_options_given(&tls)) {
		char why[256];

		c->tls = wire_tls_new(&tls, false, why, sizeof(why));
		if (!c->tls) {
			snprintf(err, errlen, "TLS: %s", why);
			free(ends);
			return -1;
		}
		log_info("TLS 1.3 to the intercepts, with %s", wire_tls_mode(c->tls));
	}
	for (size_t i = 0; i < c->o->intercept_count; i++) {
		const struct copy_endpoint *e = &c->o->intercepts[i];

		ends[i].addr = e->addr;
		ends[i].port = e->port;
		memcpy(ends[i].serves, e->serves, e->serve_count * sizeof(e->serves[0]));
		ends[i].serve_count = e->serve_count;
	}
	intercept_link_config_defaults(&c->link_cfg);
	c->link_cfg.conns = c->o->intercept_conns;
	c->link_cfg.tcpcopy1 = c->o->wire_tcpcopy1;
	c->link_cfg.tls = c->tls;
	c->links = intercept_links_new(c->loop, ends, c->o->intercept_count, &c->link_cfg,
				       &handlers);
	free(ends);
	if (!c->links) {
		snprintf(err, errlen, "intercept links: out of memory");
		return -1;
	}
	return 0;
}

/* The offline file is played once the intercepts are ready; a file that
 * cannot be read, or whose header is not a pcap one, is still refused at
 * start (main.c checks it before this, with the filter, and exits 2). */
static int check_offline_file(const struct copy_options *o, char *err, size_t errlen)
{
	char why[512];

	if (capture_offline_check(o->offline_file, NULL, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "--offline: %s", why);
		return -1;
	}
	return 0;
}

struct copy *copy_new(const struct copy_options *o, struct loop *l, char *err, size_t errlen)
{
	struct engine_config cfg;
	struct engine_sink sink;
	struct copy *c = calloc(1, sizeof(*c));

	if (!c || !(c->keys = calloc(o->copies, sizeof(*c->keys))) ||
	    !(c->transfer_packets = calloc(o->transfer_count + 1, sizeof(*c->transfer_packets)))) {
		snprintf(err, errlen, "out of memory");
		if (c)
			free(c->keys);
		free(c);
		return NULL;
	}
	c->o = o;
	c->loop = l;
	c->seed = random_seed();
	copy_stats_init(&c->stats);
	copy_engine_config(o, &cfg);
	cfg.hash_seed = c->seed;
	c->buffered_limit = cfg.max_buffered_bytes;
	c->sessions_limit = cfg.max_sessions;
	if (o->credentials_file) {
		c->credentials = copy_credentials_load(o->credentials_file, err, errlen);
		if (!c->credentials) {
			copy_free(c);
			return NULL;
		}
		cfg.auth_password = copy_credentials_password;
		cfg.auth_salted = copy_credentials_salted;
		cfg.auth_password_ctx = c->credentials;
		log_info("credentials: %zu entries from %s (locked in memory)",
			 copy_credentials_count(c->credentials), o->credentials_file);
	}
	sink = (struct engine_sink){
		.ctx = c, .send = sink_send, .route_add = sink_route_add,
		.route_del = sink_route_del, .session_end = sink_session_end,
		.route_add_payload = sink_route_add_payload,
	};
	c->engine = engine_new(&cfg, &sink);
	if (!c->engine) {
		snprintf(err, errlen, "engine: out of memory");
		copy_free(c);
		return NULL;
	}
	c->compare = copy_compare_new(o, err, errlen);
	if (!c->compare && err[0]) {
		copy_free(c);
		return NULL;
	}
	if (open_sender(c, err, errlen) < 0 || open_links(c, err, errlen) < 0 ||
	    (o->capture_kind == CAPTURE_OFFLINE ? check_offline_file(o, err, errlen) :
	     open_capture(c, err, errlen)) < 0) {
		copy_free(c);
		return NULL;
	}
	if (o->common.metrics) {
		c->metrics = metrics_server_open(l, o->common.metrics, "doppel_copy", render_metrics,
						 c, err, errlen);
		if (!c->metrics) {
			copy_free(c);
			return NULL;
		}
		log_info("metrics on http://%s/metrics", o->common.metrics);
	}
	intercept_links_start(c->links);
	loop_set_before_sleep(l, before_sleep, c);
	c->stats_timer = loop_timer_add(l, o->common.stats_interval_ms, on_stats_timer, c);
	return c;
}

void copy_stats_rearm(struct copy *c)
{
	if (!c->stats_timer)
		return;	/* stopping */
	loop_timer_cancel(c->loop, c->stats_timer);
	c->stats_timer = loop_timer_add(c->loop, c->o->common.stats_interval_ms, on_stats_timer, c);
}

int copy_metrics_listen(struct copy *c, const char *address, char *err, size_t errlen)
{
	struct metrics_server *m = NULL;

	if (address) {
		m = metrics_server_open(c->loop, address, "doppel_copy", render_metrics, c, err,
					errlen);
		if (!m)
			return -1;
	}
	metrics_server_free(c->metrics);
	c->metrics = m;
	return 0;
}

void copy_stop(struct copy *c, const char *why)
{
	if (c->stopping)
		return;
	log_notice("stopping (%s): ending %" PRIu64 " sessions", why,
		   engine_counters(c->engine)->sessions_active);
	engine_abort_all(c->engine, loop_now_ms(c->loop), why);
	flush_all(c);
	c->stopping = true;
	intercept_links_shutdown(c->links);
	if (c->capture_open) {
		const struct capture_mirror_counters *m = capture_mirror_counters(&c->capture);

		if (m)
			log_info("mirror: %" PRIu64 " packets decapsulated, %" PRIu64
				 " filtered out, %" PRIu64 " frames not of the mirror's kinds skipped",
				 m->decapsulated, m->filtered_out, m->not_encapsulated);
		c->capture.ops->close(&c->capture);
		capture_mirror_close(&c->capture);
		c->capture_open = false;
	}
	if (c->engine_timer)
		loop_timer_cancel(c->loop, c->engine_timer);
	c->engine_timer = 0;
	if (c->stats_timer)
		loop_timer_cancel(c->loop, c->stats_timer);
	c->stats_timer = 0;
}

bool copy_finished(const struct copy *c)
{
	return c->finished;
}

bool copy_failed(const struct copy *c)
{
	return c->failed || c->file_damaged;
}

void copy_free(struct copy *c)
{
	if (!c)
		return;
	if (c->capture_open) {
		c->capture.ops->close(&c->capture);
		capture_mirror_close(&c->capture);
	}
	if (c->engine_timer)
		loop_timer_cancel(c->loop, c->engine_timer);
	if (c->stats_timer)
		loop_timer_cancel(c->loop, c->stats_timer);
	loop_set_before_sleep(c->loop, NULL, NULL);
	metrics_server_free(c->metrics);
	intercept_links_free(c->links);
	wire_tls_free(c->tls);
	if (c->sender)
		send_close(c->sender);
	engine_free(c->engine);
	copy_credentials_free(c->credentials);
	copy_compare_free(c->compare);
	free(c->keys);
	free(c->transfer_packets);
	free(c);
}
