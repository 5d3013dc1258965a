/*
 * copy.c — doppel-copy's replay: capture -> engine -> sender, engine ->
 * intercept links -> engine (see copy.h).
 *
 * This file sets a replay up and tears it down; the wiring is in
 * copy_engine_glue.c, copy_capture_glue.c, copy_link_glue.c and
 * copy_report.c (copy_private.h).
 */
#include "copy/copy_private.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "copy/capture/capture_mirror.h"

static uint64_t random_seed(void)
{
	uint64_t seed = 0;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ loop_clock_ms();
	return seed;
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
		if (copy_credentials_pooled_config(c->credentials, &cfg, err, errlen) < 0) {
			copy_free(c);
			return NULL;
		}
		cfg.auth_password = copy_credentials_password;
		cfg.auth_salted = copy_credentials_salted;
		cfg.auth_password_ctx = c->credentials;
		log_info("credentials: %zu entries from %s (locked in memory)",
			 copy_credentials_count(c->credentials), o->credentials_file);
	}
	copy_sink_init(c, &sink);
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
	if (copy_open_sender(c, err, errlen) < 0 || copy_open_links(c, err, errlen) < 0 ||
	    (o->capture_kind == CAPTURE_OFFLINE ? copy_check_offline_file(o, err, errlen) :
	     copy_open_capture(c, err, errlen)) < 0) {
		copy_free(c);
		return NULL;
	}
	/* With --workers the supervisor serves the metrics of them all. */
	if (o->common.metrics && o->workers <= 1) {
		c->metrics = metrics_server_open(l, o->common.metrics, "doppel_copy", copy_render_metrics,
						 c, err, errlen);
		if (!c->metrics) {
			copy_free(c);
			return NULL;
		}
		log_info("metrics on http://%s/metrics", o->common.metrics);
	}
	intercept_links_start(c->links);
	loop_set_before_sleep(l, copy_before_sleep, c);
	c->stats_timer = loop_timer_add(l, o->common.stats_interval_ms, copy_on_stats_timer, c);
	return c;
}

void copy_stats_rearm(struct copy *c)
{
	if (!c->stats_timer)
		return;	/* stopping */
	loop_timer_cancel(c->loop, c->stats_timer);
	c->stats_timer = loop_timer_add(c->loop, c->o->common.stats_interval_ms, copy_on_stats_timer, c);
}

int copy_metrics_listen(struct copy *c, const char *address, char *err, size_t errlen)
{
	struct metrics_server *m = NULL;

	if (c->o->workers > 1)
		return 0;	/* the supervisor's (copy_workers.c) */
	if (address) {
		m = metrics_server_open(c->loop, address, "doppel_copy", copy_render_metrics, c, err,
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
	copy_flush_all(c);
	c->stopping = true;
	intercept_links_shutdown(c->links);
	if (c->capture_open) {
		const struct capture_mirror_counters *m = capture_mirror_counters(&c->capture);

		if (m) {
			log_info("mirror: %" PRIu64 " packets decapsulated, %" PRIu64
				 " filtered out, %" PRIu64 " frames not of the mirror's kinds skipped",
				 m->decapsulated, m->filtered_out, m->not_encapsulated);
			c->mirror_final = *m;
		}
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

void copy_set_capture_since(struct copy *c, uint64_t wall_us)
{
	c->capture_since_us = wall_us;
}
