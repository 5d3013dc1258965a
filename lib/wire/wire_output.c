/*
 * wire_output.c — the output buffer of wire_output.h: one contiguous
 * buffer, compacted only when a frame does not fit behind what is queued,
 * doubled when it does not fit at all. Bytes go out through a
 * lib/wire/wire_tls.h transport: a plain socket or a TLS session.
 */
#include "lib/wire/wire_output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WIRE_OUTPUT_FIRST_CAP 4096

void wire_output_init(struct wire_output *o, uint64_t now_ms)
{
	*o = (struct wire_output){ .last_sent_ms = now_ms };
}

void wire_output_free(struct wire_output *o)
{
	free(o->buf);
	wire_output_init(o, o->last_sent_ms);
}

void wire_output_reset(struct wire_output *o, uint64_t now_ms)
{
	o->start = o->end = 0;
	o->last_sent_ms = now_ms;
}

uint8_t *wire_output_space(struct wire_output *o, size_t len)
{
	size_t queued = wire_output_queued(o), cap;
	uint8_t *buf;

	if (o->end + len <= o->cap)
		return o->buf + o->end;
	/* Move what is queued to the front before growing. */
	if (o->start > 0) {
		memmove(o->buf, o->buf + o->start, queued);
		o->start = 0;
		o->end = queued;
		if (queued + len <= o->cap)
			return o->buf + o->end;
	}
	if (len > SIZE_MAX / 2 - queued)
		return NULL;
	cap = o->cap ? o->cap : WIRE_OUTPUT_FIRST_CAP;
	while (cap < queued + len)
		cap *= 2;
	buf = realloc(o->buf, cap);
	if (!buf)
		return NULL;
	o->buf = buf;
	o->cap = cap;
	return o->buf + o->end;
}

void wire_output_commit(struct wire_output *o, size_t len)
{
	o->end += len;
}

bool wire_output_append(struct wire_output *o, const void *frame, size_t len)
{
	uint8_t *space;

	if (len == 0)
		return true;
	space = wire_output_space(o, len);
	if (!space)
		return false;
	memcpy(space, frame, len);
	wire_output_commit(o, len);
	return true;
}

enum wire_output_status wire_output_write(struct wire_output *o, int fd, uint64_t now_ms,
					  size_t *written)
{
	struct wire_conn c;

	wire_conn_plain(&c, fd);
	return wire_output_write_conn(o, &c, now_ms, written);
}

enum wire_output_status wire_output_write_conn(struct wire_output *o, struct wire_conn *c,
					       uint64_t now_ms, size_t *written)
{
	size_t total = 0;
	enum wire_output_status status = WIRE_OUTPUT_DONE;

	while (o->start < o->end) {
		ssize_t n = wire_conn_write(c, o->buf + o->start, o->end - o->start);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {	/* not for a stream socket; never spin on it */
			status = WIRE_OUTPUT_AGAIN;
			break;
		}
		if (n < 0) {
			status = errno == EAGAIN || errno == EWOULDBLOCK ? WIRE_OUTPUT_AGAIN :
									  WIRE_OUTPUT_ERROR;
			break;
		}
		o->start += (size_t)n;
		total += (size_t)n;
		o->last_sent_ms = now_ms;
	}
	if (o->start == o->end)
		o->start = o->end = 0;
	if (written)
		*written = total;
	return status;
}
