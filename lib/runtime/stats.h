/*
 * stats.h — named 64-bit statistics for a daemon: a fixed table declared
 * once by the daemon (struct stat_def: name, counter or gauge, help),
 * formatted as one log line, as a JSON object, or listed for --list-stats;
 * the metrics endpoint reads the same table.
 */
#ifndef DOPPEL_STATS_H
#define DOPPEL_STATS_H

#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

enum stat_type {
	STAT_COUNTER,	/* only grows while the daemon runs */
	STAT_GAUGE,	/* a level now: goes up and down */
};

/* One statistic. name is its key in the log line and the JSON file; help
 * is one line for --list-stats and the metrics endpoint's HELP. A key that
 * is one member of a labelled family (ended_closed: family
 * "sessions_ended", label "reason", value "closed") says so, so that the
 * metrics endpoint serves the family as one metric with a label; family
 * NULL: the metric is named after the key. */
struct stat_def {
	const char *name;
	enum stat_type type;
	const char *help;
	const char *family;
	const char *label;
	const char *label_value;
};

struct stats {
	const struct stat_def *defs;	/* defs[i] describes values[i] */
	uint64_t *values;
	size_t count;
	uint64_t started_ms;		/* CLOCK_MONOTONIC at stats_init, for uptime */
};

/* e.g. static const struct stat_def defs[] = {
 *          { "packets_captured", STAT_COUNTER, "packets the capture gave" }, ... };
 *      static uint64_t values[ARRAY_SIZE(defs)]; */
void stats_init(struct stats *s, const struct stat_def *defs, uint64_t *values, size_t count);
const char *stat_type_name(enum stat_type t);	/* "counter", "gauge" */
/* Whole seconds since stats_init. */
uint64_t stats_uptime_seconds(const struct stats *s);

/* The keys the JSON file carries besides the statistics (the file's
 * time, the daemon's version, pid and uptime), as defs of type "info". */
extern const struct stat_def stats_file_keys[];
extern const size_t stats_file_key_count;

/* --list-stats: one "name<TAB>type<TAB>help" line per statistic, then the
 * file's own keys with type "info". */
void stats_list(const struct stats *s, FILE *out);
static inline void stats_add(struct stats *s, size_t i, uint64_t n) { s->values[i] += n; }
static inline void stats_inc(struct stats *s, size_t i) { s->values[i]++; }
/* "name=value name=value ..." into buf, skipping zeros unless all; returns
 * the length written (truncated to len-1 like snprintf, but only whole
 * pairs are written). */
size_t stats_format_line(const struct stats *s, char *buf, size_t len, int all);
/* A JSON object {"name": value, ...} plus extra "key": value pairs from
 * extra_json (already formatted, may be NULL; see stats_extra_add_*).
 * Names are escaped. Returns length, or 0 (and "") when it does not fit. */
size_t stats_format_json(const struct stats *s, const char *extra_json, char *buf, size_t len);
/* Write JSON atomically (tmp file + rename), with the stats_file_keys
 * (timestamp, version, pid, uptime_seconds) after the statistics and
 * before extra_json. 0, or -1 with errno. */
int stats_write_json(const struct stats *s, const char *extra_json, const char *path);

/* Build extra_json safely: append "key": "value" (both escaped) or
 * "key": number to the NUL-terminated extra (len bytes in all), with a
 * ", " separator when it is not empty. 0, or -1 when it does not fit (extra
 * is then unchanged). Strings are taken to be UTF-8; quotes, backslashes
 * and control characters are escaped. */
int stats_extra_add_string(char *extra, size_t len, const char *key, const char *value);
int stats_extra_add_uint(char *extra, size_t len, const char *key, uint64_t value);

#endif
