/*
 * diff_log.c — the comparison's JSON-lines diff log (diff_log.h).
 */
#include "copy/compare/diff_log.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "copy/compare/request_line.h"
#include "lib/net/addr.h"

#define LINE_MAX_BYTES 16384	/* two escaped heads of 512 fit */

struct diff_log {
	char *path;
	int fd;
	uint64_t size, max_size;
	unsigned rate;
	uint64_t second;		/* now_ms / 1000 of the current window */
	unsigned in_second;
	uint64_t written, dropped;
};

static int open_file(struct diff_log *d, char *err, size_t errlen)
{
	struct stat st;

	d->fd = open(d->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (d->fd < 0) {
		snprintf(err, errlen, "--compare-log %s: %s", d->path, strerror(errno));
		return -1;
	}
	d->size = fstat(d->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

struct diff_log *diff_log_open(const char *path, uint64_t max_size, unsigned rate, char *err,
			       size_t errlen)
{
	struct diff_log *d = calloc(1, sizeof(*d));

	if (!d || !(d->path = strdup(path))) {
		free(d);
		snprintf(err, errlen, "--compare-log: out of memory");
		return NULL;
	}
	d->max_size = max_size;
	d->rate = rate;
	if (open_file(d, err, errlen) < 0) {
		free(d->path);
		free(d);
		return NULL;
	}
	return d;
}

void diff_log_close(struct diff_log *d)
{
	if (!d)
		return;
	if (d->fd >= 0)
		close(d->fd);
	free(d->path);
	free(d);
}

size_t diff_log_json_escape(char *buf, size_t at, size_t cap, const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len && at + 7 < cap; i++) {
		uint8_t ch = s[i];

		if (ch == '"' || ch == '\\') {
			buf[at++] = '\\';
			buf[at++] = (char)ch;
		} else if (ch == '\n') {
			buf[at++] = '\\';
			buf[at++] = 'n';
		} else if (ch == '\r') {
			buf[at++] = '\\';
			buf[at++] = 'r';
		} else if (ch < 0x20 || ch >= 0x7f) {
			at += (size_t)snprintf(buf + at, cap - at, "\\u%04x", ch);
		} else {
			buf[at++] = (char)ch;
		}
	}
	buf[at] = '\0';
	return at;
}

/* printf into buf at *at, never past cap. */
static void add(char *buf, size_t *at, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void add(char *buf, size_t *at, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (*at + 1 >= cap)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *at, cap - *at, fmt, ap);

	va_end(ap);
	if (n > 0)
		*at = *at + (size_t)n < cap ? *at + (size_t)n : cap - 1;
}

static void add_string(char *buf, size_t *at, size_t cap, const char *key, const void *s,
		       size_t len)
{
	add(buf, at, cap, "\"%s\":\"", key);
	*at = diff_log_json_escape(buf, *at, cap, s, len);
	add(buf, at, cap, "\"");
}

static void add_answer(char *buf, size_t *at, size_t cap, const char *side,
		       const struct answer *a, uint64_t ttfb, uint64_t ttlb)
{
	add(buf, at, cap, ",\"%s\":{", side);
	add_string(buf, at, cap, "verdict", a->verdict, strlen(a->verdict));
	add(buf, at, cap, ",\"bytes\":%" PRIu64 ",\"messages\":%u,\"errors\":%u,\"malformed\":%s,"
	    "\"ttfb_us\":%" PRIu64 ",\"ttlb_us\":%" PRIu64 ",\"digest\":\"",
	    a->bytes, a->messages, a->errors, a->malformed ? "true" : "false", ttfb, ttlb);
	for (int i = 0; i < 8; i++)
		add(buf, at, cap, "%02x", a->digest[i]);
	add(buf, at, cap, "\",");
	add_string(buf, at, cap, "head", a->head, a->head_len);
	add(buf, at, cap, "}");
}

static void rotate(struct diff_log *d)
{
	char old[4096];

	snprintf(old, sizeof(old), "%s.1", d->path);
	close(d->fd);
	d->fd = -1;
	if (rename(d->path, old) < 0)
		unlink(d->path);
	char err[256];

	if (open_file(d, err, sizeof(err)) < 0)
		d->fd = -1;
}

void diff_log_write(struct diff_log *d, uint64_t now_ms, const char *transfer,
		    enum compare_proto proto, const struct compare_result *r)
{
	if (!d)
		return;
	if (now_ms / 1000 != d->second) {
		d->second = now_ms / 1000;
		d->in_second = 0;
	}
	if (d->in_second >= d->rate || d->fd < 0) {
		d->dropped++;
		return;
	}
	char line[LINE_MAX_BYTES], when[40], client[64], target[64], name[160];
	struct timespec ts;
	struct tm tm;
	size_t at = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	compare_request_line(proto, r->request_head, r->request_head_len, name, sizeof(name));
	add(line, &at, sizeof(line), "{\"time\":\"%s.%03ldZ\",\"transfer\":\"%s\",\"protocol\":\"%s\","
	    "\"session\":\"%s:%u>%s:%u\",\"request_index\":%" PRIu64 ",\"kind\":\"%s\","
	    "\"partial\":%s,", when, ts.tv_nsec / 1000000, transfer, compare_proto_name(proto),
	    dp_addr_str(&r->key->client, client, sizeof(client)), r->key->client_port,
	    dp_addr_str(&r->key->target, target, sizeof(target)), r->key->target_port,
	    r->request, r->kind == COMPARE_SAME && r->slower ? "slower" : compare_kind_name(r->kind),
	    r->partial ? "true" : "false");
	add_string(line, &at, sizeof(line), "request", name, strlen(name));
	add(line, &at, sizeof(line), ",");
	add_string(line, &at, sizeof(line), "request_head", r->request_head, r->request_head_len);
	add_answer(line, &at, sizeof(line), "online", r->online, r->online_ttfb_us,
		   r->online_ttlb_us);
	add_answer(line, &at, sizeof(line), "target", r->target, r->target_ttfb_us,
		   r->target_ttlb_us);
	add(line, &at, sizeof(line), "}\n");
	if (line[at - 1] != '\n')	/* cut: end it as a line all the same */
		line[at - 1] = '\n';
	if (d->size + at > d->max_size)
		rotate(d);
	if (d->fd < 0 || write(d->fd, line, at) != (ssize_t)at) {
		d->dropped++;
		return;
	}
	d->size += at;
	d->in_second++;
	d->written++;
}

uint64_t diff_log_written(const struct diff_log *d)
{
	return d ? d->written : 0;
}

uint64_t diff_log_dropped(const struct diff_log *d)
{
	return d ? d->dropped : 0;
}
