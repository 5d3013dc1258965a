/*
 * metrics_text.h — the Prometheus text exposition format (version 0.0.4,
 * what a Prometheus server scrapes by default): for each metric a # HELP
 * and a # TYPE line, then its samples, "name{label="value",...} value".
 * Counters are named NAME_total, gauges NAME. Built into a growable
 * buffer with a cap, so a scrape can never take unbounded memory.
 */
#ifndef DOPPEL_METRICS_TEXT_H
#define DOPPEL_METRICS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/runtime/histogram.h"
#include "lib/runtime/stats.h"

struct metrics_text {
	char *buf;		/* NUL-terminated; NULL until something is written */
	size_t len, cap, max;
	bool failed;		/* out of memory or past max: the text is incomplete */
	const char *prefix;	/* "doppel_copy": every metric is prefix_name */
};

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

void metrics_text_init(struct metrics_text *t, const char *prefix, size_t max);
void metrics_text_free(struct metrics_text *t);

/* A metric's # HELP and # TYPE lines (help is escaped). */
void metrics_text_family(struct metrics_text *t, const char *name, enum stat_type type,
			 const char *help);
/* One sample of metric name; labels: label_count name/value pairs
 * (values escaped: backslash, quote, newline). */
void metrics_text_sample(struct metrics_text *t, const char *name, enum stat_type type,
			 const char *const *labels, size_t label_count, uint64_t value);
/* Every statistic of s: one metric each, except keys of a labelled
 * family (stat_def.family), which become one metric with a label. */
void metrics_text_stats(struct metrics_text *t, const struct stats *s);
/* A histogram of delays as prefix_NAME_seconds (HELP, TYPE histogram,
 * cumulative _bucket{le="..."} lines, _sum, _count). */
void metrics_text_histogram(struct metrics_text *t, const char *name, const char *help,
			    const struct histogram *h);
/* prefix_build_info{version="..."} 1 and prefix_uptime_seconds. */
void metrics_text_process(struct metrics_text *t, const struct stats *s);

#endif
