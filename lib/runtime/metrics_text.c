/*
 * metrics_text.c — see metrics_text.h. Names come from the daemons' own
 * lists (checked to be [a-z0-9_] by the unit tests); only HELP text and
 * label values, which may hold anything, are escaped.
 */
#include "lib/runtime/metrics_text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void metrics_text_init(struct metrics_text *t, const char *prefix, size_t max)
{
	memset(t, 0, sizeof(*t));
	t->prefix = prefix;
	t->max = max;
}

void metrics_text_free(struct metrics_text *t)
{
	free(t->buf);
	t->buf = NULL;
	t->len = t->cap = 0;
}

static void put(struct metrics_text *t, const char *s, size_t n)
{
	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		char *buf;

		while (cap < t->len + n + 1)
			cap *= 2;
		if (cap > t->max)
			cap = t->max;
		if (t->len + n + 1 > cap || !(buf = realloc(t->buf, cap))) {
			t->failed = true;
			return;
		}
		t->buf = buf;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

static void puts_(struct metrics_text *t, const char *s)
{
	put(t, s, strlen(s));
}

/* HELP text escapes backslash and newline; label values also the quote. */
static void put_escaped(struct metrics_text *t, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			put(t, "\\\\", 2);
		else if (*s == '\n')
			put(t, "\\n", 2);
		else if (*s == '"' && quote)
			put(t, "\\\"", 2);
		else
			put(t, s, 1);
	}
}

static void put_name(struct metrics_text *t, const char *name, enum stat_type type)
{
	puts_(t, t->prefix);
	put(t, "_", 1);
	puts_(t, name);
	if (type == STAT_COUNTER)
		puts_(t, "_total");
}

void metrics_text_family(struct metrics_text *t, const char *name, enum stat_type type,
			 const char *help)
{
	puts_(t, "# HELP ");
	put_name(t, name, type);
	put(t, " ", 1);
	put_escaped(t, help, false);
	puts_(t, "\n# TYPE ");
	put_name(t, name, type);
	puts_(t, type == STAT_COUNTER ? " counter\n" : " gauge\n");
}

void metrics_text_sample(struct metrics_text *t, const char *name, enum stat_type type,
			 const char *const *labels, size_t label_count, uint64_t value)
{
	char digits[24];

	put_name(t, name, type);
	for (size_t i = 0; i < label_count; i++) {
		put(t, i ? "," : "{", 1);
		puts_(t, labels[2 * i]);
		put(t, "=\"", 2);
		put_escaped(t, labels[2 * i + 1], true);
		put(t, "\"", 1);
	}
	if (label_count)
		put(t, "}", 1);
	snprintf(digits, sizeof(digits), " %" PRIu64 "\n", value);
	puts_(t, digits);
}

static bool family_seen_before(const struct stats *s, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (s->defs[j].family && strcmp(s->defs[j].family, s->defs[i].family) == 0)
			return true;
	return false;
}

void metrics_text_stats(struct metrics_text *t, const struct stats *s)
{
	for (size_t i = 0; i < s->count; i++) {
		const struct stat_def *d = &s->defs[i];

		if (!d->family) {
			metrics_text_family(t, d->name, d->type, d->help);
			metrics_text_sample(t, d->name, d->type, NULL, 0, s->values[i]);
			continue;
		}
		if (family_seen_before(s, i))
			continue;
		/* The whole family at its first member; members share the type
		 * and help of the first. */
		metrics_text_family(t, d->family, d->type, d->help);
		for (size_t j = i; j < s->count; j++) {
			const struct stat_def *m = &s->defs[j];
			const char *label[2] = { m->label, m->label_value };

			if (m->family && strcmp(m->family, d->family) == 0)
				metrics_text_sample(t, d->family, d->type, label, 1, s->values[j]);
		}
	}
}

void metrics_text_histogram(struct metrics_text *t, const char *name, const char *help,
			    const struct histogram *h)
{
	char line[96];
	uint64_t cumulative = 0;

	puts_(t, "# HELP ");
	puts_(t, t->prefix);
	snprintf(line, sizeof(line), "_%s_seconds ", name);
	puts_(t, line);
	put_escaped(t, help, false);
	puts_(t, "\n# TYPE ");
	puts_(t, t->prefix);
	snprintf(line, sizeof(line), "_%s_seconds histogram\n", name);
	puts_(t, line);
	for (size_t i = 0; i < HISTOGRAM_BUCKETS; i++) {
		cumulative += h->buckets[i];
		puts_(t, t->prefix);
		if (i < HISTOGRAM_BUCKETS - 1)
			snprintf(line, sizeof(line), "_%s_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
				 name, (double)histogram_bounds_us[i] / 1e6, cumulative);
		else
			snprintf(line, sizeof(line), "_%s_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n",
				 name, cumulative);
		puts_(t, line);
	}
	puts_(t, t->prefix);
	snprintf(line, sizeof(line), "_%s_seconds_sum %.6f\n", name, (double)h->sum_us / 1e6);
	puts_(t, line);
	puts_(t, t->prefix);
	snprintf(line, sizeof(line), "_%s_seconds_count %" PRIu64 "\n", name, h->count);
	puts_(t, line);
}

void metrics_text_process(struct metrics_text *t, const struct stats *s)
{
	static const char *const version[2] = { "version", DOPPEL_VERSION };

	metrics_text_family(t, "build_info", STAT_GAUGE, "always 1; the label says the version");
	metrics_text_sample(t, "build_info", STAT_GAUGE, version, 1, 1);
	metrics_text_family(t, "uptime_seconds", STAT_GAUGE, "seconds since the daemon started");
	metrics_text_sample(t, "uptime_seconds", STAT_GAUGE, NULL, 0, stats_uptime_seconds(s));
}
