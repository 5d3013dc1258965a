/*
 * copy_capture_glue.c — the capture's side of a replay: opening it (live,
 * mirrored or an --offline file, which waits for every intercept), and each
 * captured packet mapped to its sessions' keys and handed to the engine.
 */
#include "copy/copy_private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "copy/capture/capture_mirror.h"
#include "copy/copy_map.h"

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
	if (ts_us < c->capture_since_us)
		return;	/* captured before every worker had joined the fanout group */
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
	for (size_t i = 0; i < n; i++) {
		const struct engine_counters *ec = engine_counters(c->engine);
		uint64_t refused = ec->sessions_refused_memory + ec->sessions_refused_route;

		engine_client_packet(c->engine, now, &c->keys[i], p);
		/* A session the engine refused is not compared: its end, which
		 * frees the comparison's state, would never come. */
		if (i == 0 && ec->sessions_refused_memory + ec->sessions_refused_route != refused)
			copy_compare_forget(c->compare, &c->keys[0]);
	}
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

/* An offline replay waits for every intercept: played at once, a file's
 * sessions would all be refused while the links are still connecting. */
void copy_start_offline_capture(struct copy *c)
{
	char err[600];

	if (c->capture_open || c->capture_done || c->stopping ||
	    intercept_links_ready(c->links) < intercept_links_count(c->links))
		return;
	if (copy_open_capture(c, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		c->failed = true;
		loop_stop(c->loop);
	}
}

int copy_open_capture(struct copy *c, char *err, size_t errlen)
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
	/* -n's copies of one client port may take another of the client's
	 * ports: its connections go to one worker (capture_fanout.c). */
	if (c->o->workers > 1)
		cfg.fanout = c->o->copies > 1 ? CAPTURE_FANOUT_ADDRESS : CAPTURE_FANOUT_FLOW;
	cfg.fanout_group = c->o->fanout_group;
	cfg.ring_bytes = c->o->capture_ring_bytes;
	/* Without --capture-ring, the default size is the cap of a ring sized
	 * to the traffic (the capture keeps it fixed with --workers). */
	cfg.ring_auto = c->o->capture_ring_bytes == 0;
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
	log_info("capturing with %s on %s%s: %s", c->capture.ops->name,
		 cfg.kind == CAPTURE_OFFLINE ? cfg.file : (cfg.device ? cfg.device : "every interface"),
		 cfg.fanout == CAPTURE_FANOUT_NONE ? "" : cfg.fanout == CAPTURE_FANOUT_FLOW ?
		 " (fanout by flow)" : " (fanout by address)", cfg.filter);
	return 0;
}

/* The offline file is played once the intercepts are ready; a file that
 * cannot be read, or whose header is not a pcap one, is still refused at
 * start (main.c checks it before this, with the filter, and exits 2). */
int copy_check_offline_file(const struct copy_options *o, char *err, size_t errlen)
{
	char why[512];

	if (capture_offline_check(o->offline_file, NULL, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "--offline: %s", why);
		return -1;
	}
	return 0;
}
