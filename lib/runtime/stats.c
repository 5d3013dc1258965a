/*
 * stats.c — formatting the counters of stats.h as a log line or JSON, and
 * writing the JSON file so that a reader never sees half of it.
 */
#include "lib/runtime/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Text appended to a fixed buffer; once something does not fit, the
 * writer is marked full and everything after is refused. */
struct writer {
	char *buf;
	size_t len;	/* size of buf, room for the NUL included */
	size_t used;
	bool full;
};

static void put_bytes(struct writer *w, const char *s, size_t n)
{
	if (w->full || n >= w->len - w->used) {
		w->full = true;
		return;
	}
	memcpy(w->buf + w->used, s, n);
	w->used += n;
	w->buf[w->used] = '\0';
}

static void put_string(struct writer *w, const char *s)
{
	put_bytes(w, s, strlen(s));
}

static void put_uint(struct writer *w, uint64_t value)
{
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%" PRIu64, value);

	put_bytes(w, digits, (size_t)n);
}

/* A JSON string, quotes included (RFC 8259 section 7). */
static void put_json_string(struct writer *w, const char *s)
{
	put_bytes(w, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char escape[8];

		if (c == '"' || c == '\\') {
			escape[0] = '\\';
			escape[1] = (char)c;
			put_bytes(w, escape, 2);
		} else if (c < 0x20) {
			snprintf(escape, sizeof(escape), "\\u%04x", c);
			put_bytes(w, escape, 6);
		} else {
			put_bytes(w, s, 1);
		}
	}
	put_bytes(w, "\"", 1);
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void stats_init(struct stats *s, const struct stat_def *defs, uint64_t *values, size_t count)
{
	s->defs = defs;
	s->values = values;
	s->count = count;
	s->started_ms = monotonic_ms();
	memset(values, 0, count * sizeof(*values));
}

uint64_t stats_uptime_seconds(const struct stats *s)
{
	return (monotonic_ms() - s->started_ms) / 1000;
}

const char *stat_type_name(enum stat_type t)
{
	return t == STAT_GAUGE ? "gauge" : "counter";
}

/* Without them a file left behind by a daemon that died looks live: the
 * timestamp says when it was written, pid and uptime which run wrote it. */
const struct stat_def stats_file_keys[] = {
	{ "timestamp", STAT_GAUGE, "when the file was written (RFC 3339, UTC)", NULL, NULL, NULL },
	{ "version", STAT_GAUGE, "the daemon's version", NULL, NULL, NULL },
	{ "pid", STAT_GAUGE, "the daemon's process id", NULL, NULL, NULL },
	{ "uptime_seconds", STAT_GAUGE, "seconds since the daemon started", NULL, NULL, NULL },
};
const size_t stats_file_key_count = sizeof(stats_file_keys) / sizeof(stats_file_keys[0]);

void stats_list(const struct stats *s, FILE *out)
{
	for (size_t i = 0; i < s->count; i++)
		fprintf(out, "%s\t%s\t%s\n", s->defs[i].name, stat_type_name(s->defs[i].type),
			s->defs[i].help);
	for (size_t i = 0; i < stats_file_key_count; i++)
		fprintf(out, "%s\tinfo\t%s\n", stats_file_keys[i].name, stats_file_keys[i].help);
}

/* The stats_file_keys' values, then the caller's extra, into out. */
static int file_keys_json(const struct stats *s, const char *extra_json, char *out, size_t len)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	out[0] = '\0';
	if (!gmtime_r(&now, &tm) || strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		stamp[0] = '\0';
	if (stats_extra_add_string(out, len, "timestamp", stamp) < 0 ||
	    stats_extra_add_string(out, len, "version", DOPPEL_VERSION) < 0 ||
	    stats_extra_add_uint(out, len, "pid", (uint64_t)getpid()) < 0 ||
	    stats_extra_add_uint(out, len, "uptime_seconds", stats_uptime_seconds(s)) < 0)
		return -1;
	if (extra_json && *extra_json) {
		size_t used = strlen(out);

		if (used + 2 + strlen(extra_json) + 1 > len)
			return -1;
		strcat(strcat(out, ", "), extra_json);
	}
	return 0;
}

size_t stats_format_line(const struct stats *s, char *buf, size_t len, int all)
{
	struct writer w = { buf, len, 0, false };

	if (len == 0)
		return 0;
	buf[0] = '\0';
	for (size_t i = 0; i < s->count && !w.full; i++) {
		size_t before = w.used;

		if (!all && s->values[i] == 0)
			continue;
		if (w.used > 0)
			put_bytes(&w, " ", 1);
		put_string(&w, s->defs[i].name);
		put_bytes(&w, "=", 1);
		put_uint(&w, s->values[i]);
		if (w.full)	/* only whole pairs: drop the partial one */
			buf[w.used = before] = '\0';
	}
	return w.used;
}

size_t stats_format_json(const struct stats *s, const char *extra_json, char *buf, size_t len)
{
	struct writer w = { buf, len, 0, false };

	if (len == 0)
		return 0;
	put_bytes(&w, "{", 1);
	for (size_t i = 0; i < s->count; i++) {
		if (i > 0)
			put_bytes(&w, ", ", 2);
		put_json_string(&w, s->defs[i].name);
		put_bytes(&w, ": ", 2);
		put_uint(&w, s->values[i]);
	}
	if (extra_json && *extra_json) {
		if (s->count > 0)
			put_bytes(&w, ", ", 2);
		put_string(&w, extra_json);
	}
	put_bytes(&w, "}", 1);
	if (w.full) {
		buf[0] = '\0';
		return 0;
	}
	return w.used;
}

/* Enough for the JSON of s: every name byte may take 6 when escaped, every
 * value 20 digits, plus quotes, separators, braces, newline and NUL. */
static size_t json_size_bound(const struct stats *s, const char *extra_json)
{
	size_t size = 8 + (extra_json ? strlen(extra_json) + 2 : 0);

	for (size_t i = 0; i < s->count; i++)
		size += 6 * strlen(s->defs[i].name) + 2 + 2 + 20 + 2;
	return size;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The temporary file sits next to path ("path.XXXXXX"), so rename() stays
 * within one filesystem and replaces the old file in one step: a reader
 * sees the old JSON or the new, never a part. No fsync: after a crash a
 * stale or empty stats file is harmless, and the daemon rewrites it. */
int stats_write_json(const struct stats *s, const char *extra_json, const char *path)
{
	size_t extra_len = 256 + (extra_json ? strlen(extra_json) : 0);
	char *extra = malloc(extra_len);
	size_t size = json_size_bound(s, extra_json) + extra_len, n;
	char *json = malloc(size), *tmp = malloc(strlen(path) + sizeof(".XXXXXX"));
	int fd = -1, saved;

	if (!json || !tmp || !extra)
		goto fail;
	if (file_keys_json(s, extra_json, extra, extra_len) < 0) {
		errno = EOVERFLOW;
		goto fail;
	}
	n = stats_format_json(s, extra, json, size - 1);
	if (n == 0) {
		errno = EOVERFLOW;	/* json_size_bound is wrong */
		goto fail;
	}
	json[n++] = '\n';
	sprintf(tmp, "%s.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		goto fail;
	/* mkostemp creates 0600; stats are for monitoring tools to read. */
	if (fchmod(fd, 0644) < 0 || write_all(fd, json, n) < 0)
		goto fail_unlink;
	if (close(fd) < 0) {
		fd = -1;
		goto fail_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail_unlink;
	free(extra);
	free(json);
	free(tmp);
	return 0;

fail_unlink:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
fail:
	saved = errno;
	free(extra);
	free(json);
	free(tmp);
	errno = saved;
	return -1;
}

/* value_string: a string value (NULL writes JSON null); else value_number. */
static int extra_add(char *extra, size_t len, const char *key, bool is_string,
		     const char *value_string, uint64_t value_number)
{
	size_t start = strnlen(extra, len);
	struct writer w = { extra, len, start, start >= len };

	if (start > 0)
		put_bytes(&w, ", ", 2);
	put_json_string(&w, key);
	put_bytes(&w, ": ", 2);
	if (!is_string)
		put_uint(&w, value_number);
	else if (value_string)
		put_json_string(&w, value_string);
	else
		put_bytes(&w, "null", 4);
	if (w.full) {
		if (start < len)
			extra[start] = '\0';
		return -1;
	}
	return 0;
}

int stats_extra_add_string(char *extra, size_t len, const char *key, const char *value)
{
	return extra_add(extra, len, key, true, value, 0);
}

int stats_extra_add_uint(char *extra, size_t len, const char *key, uint64_t value)
{
	return extra_add(extra, len, key, false, NULL, value);
}
