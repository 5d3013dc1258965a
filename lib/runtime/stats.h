/*
 * stats.h — named 64-bit counters for a daemon: a fixed table declared by
 * the caller, formatted as one log line or as a JSON object.
 */
#ifndef DOPPEL_STATS_H
#define DOPPEL_STATS_H

#include <stddef.h>
#include <stdint.h>

struct stats {
	const char *const *names;	/* names[i] labels values[i] */
	uint64_t *values;
	size_t count;
};

/* e.g. static const char *const names[] = { "packets_captured", ... };
 *      static uint64_t values[ARRAY_SIZE(names)]; */
void stats_init(struct stats *s, const char *const *names, uint64_t *values, size_t count);
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
/* Write JSON atomically (tmp file + rename). 0, or -1 with errno. */
int stats_write_json(const struct stats *s, const char *extra_json, const char *path);

/* Build extra_json safely: append "key": "value" (both escaped) or
 * "key": number to the NUL-terminated extra (len bytes in all), with a
 * ", " separator when it is not empty. 0, or -1 when it does not fit (extra
 * is then unchanged). Strings are taken to be UTF-8; quotes, backslashes
 * and control characters are escaped. */
int stats_extra_add_string(char *extra, size_t len, const char *key, const char *value);
int stats_extra_add_uint(char *extra, size_t len, const char *key, uint64_t value);

#endif
