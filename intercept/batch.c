/*
 * batch.c — SUMMARIES frames built record by record, emitted when full or
 * before the loop sleeps.
 */
#include "intercept/batch.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int batch_init(struct batch *b, struct batch_set *set, uint32_t max_body,
	       batch_emit_fn emit, void *emit_ctx)
{
	memset(b, 0, sizeof(*b));
	if (max_body > WIRE_MAX_BODY)
		max_body = WIRE_MAX_BODY;
	if (max_body < WIRE_MIN_MAX_BODY)
		max_body = WIRE_MIN_MAX_BODY;
	b->cap = WIRE_HEADER_LEN + (size_t)max_body;
	b->buf = malloc(b->cap);
	if (!b->buf)
		return -1;
	b->set = set;
	b->emit = emit;
	b->emit_ctx = emit_ctx;
	wire_batch_init(&b->frame, b->buf, b->cap);
	return 0;
}

static void pending_remove(struct batch *b)
{
	if (!b->pending)
		return;
	if (b->prev)
		b->prev->next = b->next;
	else
		b->set->first = b->next;
	if (b->next)
		b->next->prev = b->prev;
	b->prev = b->next = NULL;
	b->pending = 0;
}

static void pending_insert(struct batch *b)
{
	if (b->pending)
		return;
	b->prev = NULL;
	b->next = b->set->first;
	if (b->next)
		b->next->prev = b;
	b->set->first = b;
	b->pending = 1;
}

void batch_free(struct batch *b)
{
	if (!b->buf)
		return;
	pending_remove(b);
	free(b->buf);
	b->buf = NULL;
}

void batch_flush(struct batch *b)
{
	pending_remove(b);
	uint16_t count = b->frame.count;
	size_t len = wire_batch_finish(&b->frame);
	/* Start the next frame before emitting, so an emit callback that
	 * adds or flushes again finds a consistent batch. */
	wire_batch_init(&b->frame, b->buf, b->cap);
	if (len)
		b->emit(b->emit_ctx, b->buf, len, count);
}

/* What wire_batch_add would refuse even in an empty frame, checked before
 * a pending frame is sent early for nothing. */
static bool could_fit_alone(const struct batch *b, uint8_t flags, const uint8_t *data,
			    size_t data_len)
{
	size_t empty = WIRE_HEADER_LEN + WIRE_SUMMARIES_HEADER_LEN;

	if (data_len < WIRE_SUMMARY_MIN_DATA || (flags & ~WIRE_SUMMARY_PREFIX))
		return false;
	if (data[0] >> 4 != 4 && data[0] >> 4 != 6)
		return false;
	return empty + WIRE_SUMMARY_HEADER_LEN + data_len <= b->cap;
}

int batch_add(struct batch *b, uint8_t flags, uint32_t payload_len,
	      const uint8_t *data, size_t data_len)
{
	if (wire_batch_add(&b->frame, flags, payload_len, data, data_len) == 0) {
		pending_insert(b);
		return 0;
	}
	if (b->frame.count == 0 || !could_fit_alone(b, flags, data, data_len))
		return -1;	/* would not fit even alone, or invalid */
	batch_flush(b);
	if (wire_batch_add(&b->frame, flags, payload_len, data, data_len) < 0)
		return -1;
	pending_insert(b);
	return 0;
}

void batch_set_flush(struct batch_set *set)
{
	while (set->first)
		batch_flush(set->first);
}
