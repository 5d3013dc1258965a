/*
 * batch.h — coalescing one connection's summaries into SUMMARIES frames.
 *
 * Summaries for a connection accumulate in one frame during a loop
 * iteration. The frame goes out when the next record would not fit, or
 * when the loop is about to sleep (batch_set_flush from the before-sleep
 * hook): a lone summary is never held back by a timer, and a burst of
 * responses read in one iteration costs one write per connection.
 */
#ifndef DOPPEL_BATCH_H
#define DOPPEL_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "lib/wire/wire.h"

/* Receives each finished frame (len bytes, count records); the bytes are
 * valid during the call only. */
typedef void (*batch_emit_fn)(void *ctx, const uint8_t *frame, size_t len, uint16_t count);

struct batch_set;

struct batch {
	struct wire_batch frame;
	uint8_t *buf;
	size_t cap;			/* frame bytes: the peer's max body + header */
	batch_emit_fn emit;
	void *emit_ctx;
	struct batch_set *set;
	struct batch *prev, *next;	/* in set's pending list while it has records */
	int pending;
};

/* The batches holding records, to flush before the loop sleeps. */
struct batch_set {
	struct batch *first;
};

static inline void batch_set_init(struct batch_set *set) { set->first = NULL; }

/* max_body: what the peer announced (clamped to WIRE_MIN_MAX_BODY ..
 * WIRE_MAX_BODY). 0, or -1 with errno (no memory). */
int batch_init(struct batch *b, struct batch_set *set, uint32_t max_body,
	       batch_emit_fn emit, void *emit_ctx);
/* Drop what is pending, unemitted, and free the buffer. */
void batch_free(struct batch *b);

/* Append one record; emits the current frame first if the record does not
 * fit in it. 0, or -1 when the record could never fit or is invalid (see
 * wire_batch_add): the caller drops and counts it. */
int batch_add(struct batch *b, uint8_t flags, uint32_t payload_len,
	      const uint8_t *data, size_t data_len);
/* The most data bytes (headers and payload) one record can carry in b's
 * frames: a record's u16 data length, and the peer's max body less the
 * frame's and the record's own headers. */
static inline size_t batch_record_max(const struct batch *b)
{
	size_t room = b->cap - WIRE_HEADER_LEN - WIRE_SUMMARIES_HEADER_LEN - WIRE_SUMMARY_HEADER_LEN;

	return room < UINT16_MAX ? room : UINT16_MAX;
}

/* Emit b's frame now if it holds records. */
void batch_flush(struct batch *b);
/* Emit every pending frame of the set. */
void batch_set_flush(struct batch_set *set);

#endif
