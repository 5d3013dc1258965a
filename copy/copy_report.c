/*
 * copy_report.c — a replay's statistics: collected from the parts that
 * count, logged, written to --stats-file on the statistics timer, and
 * rendered for a --metrics scrape.
 */
#include "copy/copy_private.h"

#include <inttypes.h>
#include <string.h>

#include "copy/capture/capture_mirror.h"
#include "copy/copy_metrics.h"
#include "copy/copy_workers.h"

void copy_on_stats_timer(struct loop *l, uint64_t timer_id, void *arg)
{
	struct copy *c = arg;

	copy_report(c);
	c->stats_timer = loop_timer_add(l, c->o->common.stats_interval_ms, copy_on_stats_timer, c);
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
	src.mirror = capture_mirror_counters(&c->capture);
	if (!src.mirror && c->o->has_mirror)
		src.mirror = &c->mirror_final;
	copy_stats_collect(&c->stats, &src);
}

/* A scrape of --metrics, from the loop: reads counters, waits on nothing. */
void copy_render_metrics(void *ctx, struct metrics_text *out)
{
	struct copy *c = ctx;
	struct copy_metrics_sources src = {
		&c->stats, c->o, c->transfer_packets, c->links,
		c->o->capture_kind != CAPTURE_OFFLINE ? &c->capture_delay : NULL, NULL,
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
	if (c->o->common.stats_file && c->o->workers <= 1 &&
	    stats_write_json(&c->stats.table, NULL, c->o->common.stats_file) < 0)
		log_warn("--stats-file %s", c->o->common.stats_file);
}

/* --workers: this worker's numbers into its shared slot, for the
 * supervisor to add up. A sequence count, odd while writing, lets the
 * reader (another process) retry a copy made half-way. */
void copy_snapshot(struct copy *c, struct copy_worker_slot *slot)
{
	collect(c);
	__atomic_add_fetch(&slot->seq, 1, __ATOMIC_ACQ_REL);
	memcpy(slot->values, c->stats.values, sizeof(slot->values));
	slot->capture_delay = c->capture_delay;
	memcpy(slot->transfer_packets, c->transfer_packets,
	       c->o->transfer_count * sizeof(slot->transfer_packets[0]));
	for (size_t i = 0; i < c->o->intercept_count; i++) {
		struct intercept_link_status st;

		intercept_links_status(c->links, i, &st);
		slot->links[i][COPY_LINK_UP] = st.state == LINK_READY;
		slot->links[i][COPY_LINK_FAILURES] = st.failures;
		slot->links[i][COPY_LINK_PENDING_ROUTES] = st.pending_routes;
		slot->links[i][COPY_LINK_OUTPUT_BYTES] = st.output_bytes;
	}
	__atomic_add_fetch(&slot->seq, 1, __ATOMIC_ACQ_REL);
}
