/*
 * answer_redis.c — RESP2 and RESP3 replies, incrementally. Every byte is
 * digested as sent (two servers that agree send the same bytes); the
 * parse only counts top-level replies and error elements ('-' simple
 * errors and RESP3 '!' blob errors, at any depth, so an EXEC whose queued
 * command failed counts), and takes the first error's first word (ERR,
 * WRONGTYPE, NOAUTH ...) as the verdict. Aggregates nest up to
 * REDIS_DEPTH_MAX; deeper, or a type byte RESP does not have, marks the
 * answer malformed and the parse stops (the digest goes on).
 * A RESP3 attribute ('|') counts as a reply of its own.
 */
#include "copy/compare/answer.h"

#include <string.h>

enum { R_TYPE = 0, R_LINE, R_BULK, R_STOP };

static bool is_bulk(uint8_t t)
{
	return t == '$' || t == '!' || t == '=';
}

static bool is_aggregate(uint8_t t)
{
	return t == '*' || t == '%' || t == '~' || t == '>' || t == '|';
}

static bool is_simple(uint8_t t)
{
	return t == '+' || t == '-' || t == ':' || t == '_' || t == ',' || t == '#' || t == '(';
}

/* An element is complete: pop the aggregates it completes. */
static void element_done(struct answer *a)
{
	struct redis_state *r = &a->st.redis;

	while (r->depth) {
		if (--r->pending[r->depth - 1])
			break;
		r->depth--;
	}
	if (!r->depth) {
		a->messages++;
		a->complete++;	/* a reply is counted when its last element is in */
	}
	r->phase = R_TYPE;
}

static void error_seen(struct answer *a, const char *text, size_t len)
{
	a->errors++;
	if (a->errors > 1)
		return;
	size_t word = 0;

	while (word < len && text[word] != ' ' && text[word] != '\r' && text[word] != '\n')
		word++;
	answer_set_verdict(a, "%.*s", (int)(word < 40 ? word : 40), text);
}

static void stop(struct answer *a)
{
	a->malformed = true;
	a->st.redis.phase = R_STOP;
}

static void on_line(struct answer *a)
{
	struct redis_state *r = &a->st.redis;
	char *line = r->line;
	size_t len = r->line_len;

	if (len && line[len - 1] == '\r')
		len--;
	line[len] = 0;
	r->line_len = 0;
	if (r->type == '-') {
		error_seen(a, line, len);
		element_done(a);
		return;
	}
	if (is_simple(r->type)) {
		element_done(a);
		return;
	}
	/* A length or a count. */
	long long v = 0;
	size_t i = 0;
	bool neg = len && line[0] == '-';

	if (neg)
		i = 1;
	if (i == len)
		return stop(a);
	for (; i < len; i++) {
		if (line[i] < '0' || line[i] > '9' || v > (1ll << 40))
			return stop(a);	/* includes RESP3's streamed "?" */
		v = v * 10 + (line[i] - '0');
	}
	if (neg) {
		if (v != 1)
			return stop(a);
		element_done(a);	/* null bulk or null array */
		return;
	}
	if (is_bulk(r->type)) {
		r->num = v;
		r->left = (uint64_t)v + 2;
		r->phase = R_BULK;
		return;
	}
	if (r->type == '%' || r->type == '|')
		v *= 2;
	if (!v) {
		element_done(a);
		return;
	}
	if (r->depth == REDIS_DEPTH_MAX)
		return stop(a);
	r->pending[r->depth++] = (uint32_t)v;
	r->phase = R_TYPE;
}

size_t answer_redis_feed(struct answer *a, const uint8_t *p, size_t n)
{
	struct redis_state *r = &a->st.redis;
	const uint8_t *start = p;
	size_t total = n;

	while (n && r->phase != R_STOP && !answer_stopped(a)) {
		size_t used = 1;

		switch (r->phase) {
		case R_TYPE:
			r->type = *p;
			if (!is_simple(*p) && !is_bulk(*p) && !is_aggregate(*p)) {
				stop(a);
				break;
			}
			r->line_len = 0;
			r->phase = R_LINE;
			break;
		case R_LINE: {
			const uint8_t *nl = memchr(p, '\n', n);
			size_t take = nl ? (size_t)(nl - p) + 1 : n;
			size_t body = nl ? take - 1 : take;
			size_t room = sizeof(r->line) - 1 - r->line_len;

			if (body > room)
				body = room;
			memcpy(r->line + r->line_len, p, body);
			r->line_len += (uint16_t)body;
			used = take;
			if (nl)
				on_line(a);
			break;
		}
		case R_BULK:
			used = r->left < n ? (size_t)r->left : n;
			if (r->type == '!') {	/* a blob error's text, for its first word */
				size_t room = sizeof(r->line) - 1 - r->line_len;
				size_t take = used < room ? used : room;

				memcpy(r->line + r->line_len, p, take);
				r->line_len += (uint16_t)take;
			}
			r->left -= used;
			if (!r->left) {
				if (r->type == '!') {
					size_t len = r->line_len < (uint64_t)r->num ? r->line_len : (size_t)r->num;

					error_seen(a, r->line, len);
				}
				r->line_len = 0;
				element_done(a);
			}
			break;
		}
		p += used;
		n -= used;
	}
	if (r->phase == R_STOP)
		n = 0;	/* not the protocol: the rest is digested as it is */
	answer_digest(a, start, total - n);	/* every reply as sent */
	return total - n;
}
