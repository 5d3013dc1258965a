/*
 * wire.c — the incremental frame decoder and the accessors on decoded
 * frames (docs/protocol.md). The checks themselves are in wire_check.c; the
 * encoders in wire_encode.c.
 */
#include "lib/wire/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/wire/wire_check.h"

#define DECODER_READ_MIN 4096	/* compact the buffer rather than offer less */

const char *wire_type_name(unsigned type)
{
	switch (type) {
	case WIRE_HELLO: return "HELLO";
	case WIRE_ROUTE_ADD: return "ROUTE_ADD";
	case WIRE_ROUTE_DEL: return "ROUTE_DEL";
	case WIRE_SUMMARIES: return "SUMMARIES";
	case WIRE_HEARTBEAT: return "HEARTBEAT";
	case WIRE_ERROR: return "ERROR";
	}
	return "unknown";
}

const char *wire_error_name(unsigned code)
{
	switch (code) {
	case WIRE_ERR_MALFORMED: return "malformed";
	case WIRE_ERR_VERSION: return "version";
	case WIRE_ERR_ROLE: return "role";
	case WIRE_ERR_TIMEOUT: return "timeout";
	case WIRE_ERR_SHUTDOWN: return "shutdown";
	case WIRE_ERR_INTERNAL: return "internal";
	}
	return "unknown";
}

int wire_decoder_init(struct wire_decoder *d)
{
	memset(d, 0, sizeof(*d));
	d->buf = malloc(WIRE_MAX_FRAME);
	if (!d->buf)
		return -1;
	d->cap = WIRE_MAX_FRAME;
	return 0;
}

void wire_decoder_free(struct wire_decoder *d)
{
	free(d->buf);
	d->buf = NULL;
	d->start = d->end = d->cap = 0;
}

static int decoder_fail(struct wire_decoder *d, uint16_t code)
{
	d->failed = true;
	d->error_code = code;
	return -1;
}

/* Make want bytes free at the end of the buffer if moving the pending
 * bytes to its front can; moving is put off until it is needed. */
static void decoder_make_room(struct wire_decoder *d, size_t want)
{
	if (d->start == d->end) {
		d->start = d->end = 0;
	} else if (d->start > 0 && d->cap - d->end < want) {
		memmove(d->buf, d->buf + d->start, d->end - d->start);
		d->end -= d->start;
		d->start = 0;
	}
}

uint8_t *wire_decoder_space(struct wire_decoder *d, size_t *avail)
{
	if (d->failed || !d->buf) {
		*avail = 0;
		return NULL;
	}
	decoder_make_room(d, DECODER_READ_MIN);
	*avail = d->cap - d->end;
	return d->buf + d->end;
}

void wire_decoder_commit(struct wire_decoder *d, size_t n)
{
	if (d->failed)
		return;
	if (n > d->cap - d->end) {
		snprintf(d->error, sizeof(d->error), "decoder commit of %zu bytes with %zu free",
			 n, d->cap - d->end);
		decoder_fail(d, WIRE_ERR_INTERNAL);
		return;
	}
	d->end += n;
}

int wire_decoder_feed(struct wire_decoder *d, const void *data, size_t len)
{
	if (d->failed || !d->buf)
		return -1;
	decoder_make_room(d, len);
	if (len > d->cap - d->end) {
		snprintf(d->error, sizeof(d->error),
			 "decoder fed %zu bytes with %zu free (drain frames first)",
			 len, d->cap - d->end);
		return decoder_fail(d, WIRE_ERR_INTERNAL);
	}
	if (len)
		memcpy(d->buf + d->end, data, len);
	d->end += len;
	return 0;
}

size_t wire_decoder_pending(const struct wire_decoder *d)
{
	return d->end - d->start;
}

int wire_decoder_next(struct wire_decoder *d, struct wire_frame *f)
{
	struct wire_check c = { d->error, sizeof(d->error), NULL, 0,
				.route_payload = d->got_hello && (d->features & WIRE_FEAT_ROUTE_PAYLOAD) };
	size_t have = d->end - d->start;
	const uint8_t *h, *body;
	uint32_t len;

	if (d->failed || !d->buf)
		return -1;
	if (have < WIRE_HEADER_LEN)
		return 0;
	h = d->buf + d->start;
	body = h + WIRE_HEADER_LEN;
	if (wire_check_header(h, d->got_hello, d->peer_role, &c))
		return decoder_fail(d, c.code);
	len = wire_get32(h);
	if (have - WIRE_HEADER_LEN < len)
		return 0;
	if (wire_check_body(h[4], body, len, d->peer_role, &c))
		return decoder_fail(d, c.code);
	if (h[4] == WIRE_HELLO) {
		d->got_hello = true;
		d->peer_role = wire_get16(body + 6);
		d->features &= wire_get32(body + 8);
	}
	d->start += WIRE_HEADER_LEN + len;
	f->type = h[4];
	f->body = body;
	f->body_len = len;
	return 1;
}

/* ---- accessors ---- */

static int accessor_check_type(const struct wire_frame *f, bool ok, const char **why)
{
	if (!f->body && f->body_len)
		ok = false;
	if (!ok)
		*why = "frame of another type";
	return ok ? 0 : -1;
}

int wire_hello_parse(const struct wire_frame *f, struct wire_hello *h, const char **why)
{
	struct wire_check c = { 0 };

	if (accessor_check_type(f, f->type == WIRE_HELLO, why))
		return -1;
	if (wire_check_hello(f->body, f->body_len, 0, h, &c)) {
		*why = c.why;
		return -1;
	}
	return 0;
}

size_t wire_route_count(const struct wire_frame *f)
{
	return wire_is_route_type(f->type) && f->body ? f->body_len / WIRE_ROUTE_LEN : 0;
}

int wire_route_get(const struct wire_frame *f, size_t i, struct wire_route *r, const char **why)
{
	/* The decoder checked payload wanted against the features in use. */
	struct wire_check c = { .route_payload = true };

	if (accessor_check_type(f, wire_is_route_type(f->type), why))
		return -1;
	if (i >= wire_route_count(f)) {
		*why = "route index past the last route";
		return -1;
	}
	if (wire_check_route(f->body + i * WIRE_ROUTE_LEN, i, r, &c)) {
		*why = c.why;
		return -1;
	}
	return 0;
}

int wire_error_parse(const struct wire_frame *f, uint16_t *code,
		     const char **msg, size_t *msg_len, const char **why)
{
	struct wire_check c = { 0 };

	if (accessor_check_type(f, f->type == WIRE_ERROR, why))
		return -1;
	if (wire_check_error(f->body, f->body_len, &c)) {
		*why = c.why;
		return -1;
	}
	*code = wire_get16(f->body);
	*msg = (const char *)f->body + WIRE_ERROR_MIN_LEN;
	*msg_len = f->body_len - WIRE_ERROR_MIN_LEN;
	return 0;
}

int wire_heartbeat_parse(const struct wire_frame *f, uint64_t *clock_ms, const char **why)
{
	struct wire_check c = { 0 };

	if (accessor_check_type(f, f->type == WIRE_HEARTBEAT, why))
		return -1;
	if (wire_check_length(WIRE_HEARTBEAT, f->body_len, &c)) {
		*why = c.why;
		return -1;
	}
	*clock_ms = wire_get64(f->body);
	return 0;
}

void wire_summary_iter_init(struct wire_summary_iter *it, const struct wire_frame *f)
{
	memset(it, 0, sizeof(*it));
	if (f->type != WIRE_SUMMARIES || !f->body || f->body_len < WIRE_SUMMARIES_HEADER_LEN)
		return;		/* p stays NULL: wire_summary_next() refuses */
	it->p = f->body + WIRE_SUMMARIES_HEADER_LEN;
	it->end = f->body + f->body_len;
	it->left = wire_get16(f->body);
}

int wire_summary_next(struct wire_summary_iter *it, struct wire_summary *s, const char **why)
{
	struct wire_check c = { 0 };

	if (!it->p) {
		*why = "not a SUMMARIES frame";
		return -1;
	}
	if (it->left == 0) {
		if (it->p != it->end) {
			*why = "SUMMARIES bytes after the last record";
			return -1;
		}
		return 0;
	}
	if (it->p == it->end) {
		*why = "SUMMARIES count larger than the body";
		return -1;
	}
	if (wire_check_record(it->p, it->end, 0, s, &c)) {
		*why = c.why;
		return -1;
	}
	it->p = s->data + s->data_len;
	it->left--;
	return 1;
}
