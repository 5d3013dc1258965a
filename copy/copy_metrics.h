/*
 * copy_metrics.h — what doppel-copy serves on --metrics: its statistics
 * (copy_stats.h, ended_<reason> as one metric labelled reason), packets
 * captured per -x transfer, the state of each intercept connection, and
 * the process's version and uptime.
 */
#ifndef DOPPEL_COPY_METRICS_H
#define DOPPEL_COPY_METRICS_H

#include <stdint.h>

#include "copy/copy_options.h"
#include "copy/copy_stats.h"
#include "copy/link/intercept_link.h"
#include "lib/runtime/metrics_text.h"

/* The gauges served per intercept connection. */
enum copy_link_metric {
	COPY_LINK_UP, COPY_LINK_FAILURES, COPY_LINK_PENDING_ROUTES, COPY_LINK_OUTPUT_BYTES,
	COPY_LINK_METRICS
};

struct copy_metrics_sources {
	const struct copy_stats *stats;		/* collected just before */
	const struct copy_options *o;
	const uint64_t *transfer_packets;	/* o->transfer_count of them */
	const struct intercept_links *links;	/* o->intercept_count links, or NULL */
	const struct histogram *capture_delay;	/* live capture only, or NULL */
	/* without links (--workers): the gauges of each intercept, or NULL */
	const uint64_t (*link_values)[COPY_LINK_METRICS];
};

void copy_metrics_render(struct metrics_text *out, const struct copy_metrics_sources *src);
/* The label of transfer i: "80-198.18.0.3:8080", "198.18.0.1:80-...". */
void copy_metrics_transfer_label(const struct copy_transfer *t, char *buf, size_t len);

#endif
