/*
 * copy_link_glue.c — the intercept links' side of a replay: opening them
 * (TLS when asked), the summaries they bring back to the engine, and their
 * events (up, lost, lost for too long: its sessions end).
 *
 * Links are never closed from inside the engine's sink: a lost intercept is
 * reported from the link's own events, where ending every session is safe.
 */
#include "copy/copy_private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_summary(void *ctx, const struct packet *p)
{
	struct copy *c = ctx;

	copy_compare_summary(c->compare, p);
	engine_target_packet(c->engine, loop_now_ms(c->loop), p);
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
			copy_start_offline_capture(c);
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

int copy_open_links(struct copy *c, char *err, size_t errlen)
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
