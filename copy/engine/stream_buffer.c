/*
 * stream_buffer.c — reassembly of the captured client stream.
 */
#include "copy/engine/stream_buffer.h"

#include <stdlib.h>
#include <string.h>

#include "lib/net/tcp_seq.h"

/* A segment past a gap: its own copy of the bytes. */
struct stream_segment {
	struct stream_segment *next;
	uint32_t seq, len, ack;
	uint8_t data[];
};

/* Segments starting further than this past end belong to something else. */
#define STREAM_MAX_AHEAD (1u << 30)
/* Small: most requests fit, and an array this size comes from malloc's
 * per-thread cache. Every request of a keep-alive session allocates one
 * (the array is freed when the target has acknowledged it all), and at
 * 2048 bytes the arrays both cost a slow malloc each and made every
 * session with a request in flight hold 2 KiB (bench/, docs/performance.md). */
#define STREAM_MIN_CAPACITY 256u

void stream_buffer_init(struct stream_buffer *b, uint32_t seq)
{
	memset(b, 0, sizeof(*b));
	b->base = seq;
	b->end = seq;
}

void stream_buffer_release(struct stream_buffer *b)
{
	struct stream_segment *seg = b->pending;

	while (seg) {
		struct stream_segment *next = seg->next;

		free(seg);
		seg = next;
	}
	free(b->data);
	stream_buffer_init(b, b->end);
}

static uint32_t round_up_pow2(uint32_t n)
{
	uint32_t c = STREAM_MIN_CAPACITY;

	while (c < n)
		c *= 2;
	return c;
}

/*
 * Make room for n more bytes at the tail. Compacting only when the data
 * would use at most half the array (else growing to twice what is needed)
 * keeps the copying amortized O(1) per byte.
 */
static int reserve(struct stream_buffer *b, uint32_t n)
{
	uint32_t used = b->end - b->base;
	uint32_t need = used + n;
	uint32_t capacity;
	uint8_t *data;

	if (b->start + need <= b->capacity)
		return 0;
	if (need <= b->capacity / 2) {
		memmove(b->data, b->data + b->start, used);
		b->start = 0;
		return 0;
	}
	/* A first array fits what arrives (most streams are one request);
	 * growing doubles, so copying stays amortized O(1) per byte. */
	capacity = round_up_pow2(b->capacity ? need * 2 : need);
	data = malloc(capacity);
	if (!data)
		return -1;
	if (used)
		memcpy(data, b->data + b->start, used);
	free(b->data);
	b->data = data;
	b->capacity = capacity;
	b->start = 0;
	return 0;
}

/* Append bytes that start exactly at end (room already reserved). */
static void append(struct stream_buffer *b, const uint8_t *data, uint32_t n, uint32_t ack,
		   stream_append_fn fn, void *ctx)
{
	uint32_t seq = b->end;

	memcpy(b->data + b->start + (b->end - b->base), data, n);
	b->end += n;
	if (fn)
		fn(ctx, seq, n, ack);
}

/* Move the pending segments that the new end reaches into the array. */
static enum stream_add_result drain_pending(struct stream_buffer *b, stream_append_fn fn, void *ctx)
{
	struct stream_segment *seg;

	while ((seg = b->pending) && seq_le(seg->seq, b->end)) {
		uint32_t skip = b->end - seg->seq;

		if (skip < seg->len) {
			if (reserve(b, seg->len - skip) < 0)
				return STREAM_NO_MEMORY;
			append(b, seg->data + skip, seg->len - skip, seg->ack, fn, ctx);
		}
		b->pending = seg->next;
		b->pending_count--;
		b->pending_bytes -= seg->len;
		free(seg);
	}
	return STREAM_ADDED;
}

/* Keep a segment past the gap, sorted by seq; a copy already covered by one
 * held is dropped. */
static enum stream_add_result hold_pending(struct stream_buffer *b, uint32_t seq,
					   const uint8_t *data, uint32_t len, uint32_t ack,
					   size_t budget)
{
	struct stream_segment **at = &b->pending, *seg;

	for (; *at && seq_le((*at)->seq, seq); at = &(*at)->next) {
		if (seq_ge((*at)->seq + (*at)->len, seq + len))
			return STREAM_ADDED;
	}
	if (len > budget)
		return STREAM_OVER_BUDGET;
	if (b->pending_count >= STREAM_MAX_PENDING)
		return STREAM_TOO_MANY_PENDING;
	seg = malloc(sizeof(*seg) + len);
	if (!seg)
		return STREAM_NO_MEMORY;
	seg->seq = seq;
	seg->len = len;
	seg->ack = ack;
	memcpy(seg->data, data, len);
	seg->next = *at;
	*at = seg;
	b->pending_count++;
	b->pending_bytes += len;
	return STREAM_ADDED;
}

enum stream_add_result stream_buffer_add(struct stream_buffer *b, uint32_t seq,
					 const uint8_t *data, uint32_t len, uint32_t ack,
					 size_t budget, stream_append_fn fn, void *ctx)
{
	uint32_t skip;

	if (len == 0 || seq_le(seq + len, b->end))
		return STREAM_ADDED;	/* nothing new: a retransmission */
	if (seq_gt(seq, b->end)) {
		if (seq - b->end > STREAM_MAX_AHEAD)
			return STREAM_ADDED;
		return hold_pending(b, seq, data, len, ack, budget);
	}
	skip = b->end - seq;
	if (len - skip > budget)
		return STREAM_OVER_BUDGET;
	if (reserve(b, len - skip) < 0)
		return STREAM_NO_MEMORY;
	append(b, data + skip, len - skip, ack, fn, ctx);
	return drain_pending(b, fn, ctx);
}

const uint8_t *stream_buffer_peek(const struct stream_buffer *b, uint32_t seq, uint32_t *len)
{
	if (seq_lt(seq, b->base) || seq_ge(seq, b->end)) {
		*len = 0;
		return NULL;
	}
	*len = b->end - seq;
	return b->data + b->start + (seq - b->base);
}

void stream_buffer_consume(struct stream_buffer *b, uint32_t upto)
{
	if (seq_le(upto, b->base))
		return;
	if (seq_gt(upto, b->end))
		upto = b->end;
	b->start += upto - b->base;
	b->base = upto;
	if (b->base == b->end) {
		/* Empty: an idle session should not keep an array. */
		free(b->data);
		b->data = NULL;
		b->start = 0;
		b->capacity = 0;
	}
}
