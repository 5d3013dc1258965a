/*
 * answer_http.c — HTTP/1.x responses, incrementally: the status line, the
 * headers, and the body by Content-Length, chunked encoding or the end of
 * the answer. One answer may hold several responses (1xx interim ones, or
 * pipelining); each is counted and digested in turn.
 *
 * The digest covers each status code, each header not marked volatile and
 * not about framing (Content-Length, Transfer-Encoding, Connection,
 * Keep-Alive: two servers may frame one body differently), and the body
 * after chunked decoding. Bytes that do not parse as HTTP are digested as
 * they are, and the answer is marked malformed.
 */
#include "copy/compare/answer.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
	H_STATUS = 0,	/* the status line */
	H_HEADERS,
	H_BODY,		/* Content-Length bytes */
	H_CHUNK_SIZE,
	H_CHUNK_DATA,
	H_CHUNK_END,	/* the CRLF after a chunk's data */
	H_TRAILERS,
	H_TO_END,	/* body until the answer ends */
	H_RAW,		/* not HTTP (or after 101): every byte digested */
};

static bool is_volatile(const struct answer *a, const char *name)
{
	const struct answer_config *c = a->cfg;
	const char *const *list = c->volatile_headers ? c->volatile_headers : answer_default_volatile;
	size_t n = c->volatile_headers ? c->n_volatile : answer_default_volatile_count;

	for (size_t i = 0; i < n; i++)
		if (strcasecmp(list[i], name) == 0)
			return true;
	return false;
}

static bool is_framing(const char *name)
{
	return !strcmp(name, "content-length") || !strcmp(name, "transfer-encoding") ||
	       !strcmp(name, "connection") || !strcmp(name, "keep-alive");
}

static void response_done(struct answer *a)
{
	a->st.http.phase = H_STATUS;
	a->complete++;
}

static void status_line(struct answer *a, char *line)
{
	struct http_state *h = &a->st.http;
	unsigned status = 0;

	if (strncmp(line, "HTTP/", 5) != 0 || !strchr(line, ' ')) {
		a->malformed = true;
		answer_digest(a, line, strlen(line));
		h->phase = H_RAW;
		return;
	}
	const char *s = strchr(line, ' ') + 1;

	for (int i = 0; i < 3 && isdigit((unsigned char)s[i]); i++)
		status = status * 10 + (unsigned)(s[i] - '0');
	if (status < 100 || status > 999) {
		a->malformed = true;
		answer_digest(a, line, strlen(line));
		h->phase = H_RAW;
		return;
	}
	h->status = (uint16_t)status;
	h->chunked = h->has_length = false;
	h->no_body = status < 200 || status == 204 || status == 304;
	h->left = 0;
	a->messages++;
	if (status >= 400)
		a->errors++;
	/* The verdict: the first final status, or the first error after it. */
	if (status >= 200 && (!a->verdict[0] || (status >= 400 && a->errors == 1)))
		answer_set_verdict(a, "%u", status);
	char code[16];
	int n = snprintf(code, sizeof(code), "status %u\n", status);

	answer_digest(a, code, (size_t)n);
	h->phase = H_HEADERS;
}

static void header_line(struct answer *a, char *line)
{
	struct http_state *h = &a->st.http;

	if (!*line) {
		/* End of headers: where the body is, by RFC 9112 section 6.3. */
		if (h->status == 101) {
			h->phase = H_RAW;	/* another protocol follows */
		} else if (h->no_body) {
			response_done(a);
		} else if (h->chunked) {
			h->phase = H_CHUNK_SIZE;
		} else if (h->has_length) {
			if (h->left)
				h->phase = H_BODY;
			else
				response_done(a);
		} else {
			h->phase = H_TO_END;
		}
		return;
	}
	char *colon = strchr(line, ':');

	if (!colon) {
		a->malformed = true;
		answer_digest(a, line, strlen(line));
		return;
	}
	*colon = 0;
	for (char *p = line; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	char *value = colon + 1;

	while (*value == ' ' || *value == '\t')
		value++;
	size_t vlen = strlen(value);

	while (vlen && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
		value[--vlen] = 0;
	if (!strcmp(line, "content-length")) {
		char *end;
		unsigned long long v = strtoull(value, &end, 10);

		if (end != value && !*end) {
			h->has_length = true;
			h->left = v;
		} else {
			a->malformed = true;
		}
	} else if (!strcmp(line, "transfer-encoding")) {
		h->chunked = strcasestr(value, "chunked") != NULL;
	}
	if (is_framing(line) || is_volatile(a, line))
		return;
	answer_digest(a, line, strlen(line));
	answer_digest(a, ":", 1);
	answer_digest(a, value, vlen);
	answer_digest(a, "\n", 1);
}

static void chunk_size_line(struct answer *a, char *line)
{
	struct http_state *h = &a->st.http;
	char *end;
	unsigned long long size = strtoull(line, &end, 16);

	if (end == line) {
		a->malformed = true;
		h->phase = H_RAW;
		return;
	}
	h->left = size;
	h->phase = size ? H_CHUNK_DATA : H_TRAILERS;
}

static void on_line(struct answer *a)
{
	struct http_state *h = &a->st.http;
	char *line = h->line;

	line[h->line_len] = 0;
	if (h->line_len && line[h->line_len - 1] == '\r')
		line[h->line_len - 1] = 0;
	h->line_len = 0;
	h->line_cut = false;
	switch (h->phase) {
	case H_STATUS:
		if (!*line)
			return;	/* stray CRLF between responses */
		status_line(a, line);
		break;
	case H_HEADERS:
		header_line(a, line);
		break;
	case H_CHUNK_SIZE:
		chunk_size_line(a, line);
		break;
	case H_CHUNK_END:
		h->phase = H_CHUNK_SIZE;
		break;
	case H_TRAILERS:
		if (!*line)
			response_done(a);
		break;
	}
}

/* Collect a line, handling it once its newline came; returns the bytes used. */
static size_t take_line(struct answer *a, const uint8_t *p, size_t n)
{
	struct http_state *h = &a->st.http;
	const uint8_t *nl = memchr(p, '\n', n);
	size_t take = nl ? (size_t)(nl - p) + 1 : n;
	size_t body = nl ? take - 1 : take;
	size_t room = sizeof(h->line) - 1 - h->line_len;

	if (body > room) {
		h->line_cut = true;	/* longer lines compare by their start */
		body = room;
	}
	memcpy(h->line + h->line_len, p, body);
	h->line_len += (uint16_t)body;
	if (nl)
		on_line(a);
	return take;
}

size_t answer_http_feed(struct answer *a, const uint8_t *p, size_t n)
{
	struct http_state *h = &a->st.http;
	size_t total = n;

	while (n && !answer_stopped(a)) {
		size_t used;

		switch (h->phase) {
		case H_BODY:
		case H_CHUNK_DATA:
			used = h->left < n ? (size_t)h->left : n;
			answer_digest(a, p, used);
			h->left -= used;
			if (!h->left && h->phase == H_BODY)
				response_done(a);
			else if (!h->left)
				h->phase = H_CHUNK_END;
			break;
		case H_TO_END:
		case H_RAW:
			answer_digest(a, p, n);
			used = n;
			break;
		default:
			used = take_line(a, p, n);
			break;
		}
		p += used;
		n -= used;
	}
	return total - n;
}
