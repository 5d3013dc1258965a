/*
 * stream_buffer.h — the client's byte stream, rebuilt from captured segments.
 *
 * The capture may show a segment twice (the client retransmitted it), out of
 * order, overlapping others, or as one GRO super-packet; the target must get
 * every byte once and in order. The buffer holds the bytes from the oldest
 * one the target has not acknowledged (base) to the end of what arrived in
 * order (end) in one linear array, and the segments that arrived past a gap
 * in a sorted list until the gap fills. The first copy of a byte wins.
 *
 * Each piece that becomes in-order is reported with the ack number of the
 * captured packet that carried it: that is what pacing reads.
 */
#ifndef DOPPEL_STREAM_BUFFER_H
#define DOPPEL_STREAM_BUFFER_H

#include <stddef.h>
#include <stdint.h>

/* Segments held past a gap, at most. More than this past one hole means
 * the capture lost the hole's bytes (engine.h, END_CAPTURE_GAP): the
 * session ends rather than grow a list it walks on every insertion. */
#define STREAM_MAX_PENDING 256

struct stream_segment;

struct stream_buffer {
	uint8_t *data;		/* bytes [base, end) live at data[start ...] */
	uint32_t start;
	uint32_t capacity;
	uint32_t base;		/* oldest byte held */
	uint32_t end;		/* first byte not yet received in order */
	struct stream_segment *pending;	/* past a gap, sorted by seq */
	uint32_t pending_count;
	uint32_t pending_bytes;
};

/* Called for each piece that becomes in order: its seq, length and the ack
 * number of the captured packet that carried it. */
typedef void (*stream_append_fn)(void *ctx, uint32_t seq, uint32_t len, uint32_t ack);

enum stream_add_result {
	STREAM_ADDED,		/* held (or nothing new: a duplicate) */
	STREAM_OVER_BUDGET,	/* would hold more than the budget allows; nothing changed */
	STREAM_TOO_MANY_PENDING,	/* STREAM_MAX_PENDING segments past a gap */
	STREAM_NO_MEMORY,	/* allocation failed: the stream cannot go on */
};

/* An empty stream whose next byte is seq. */
void stream_buffer_init(struct stream_buffer *b, uint32_t seq);
/* Free everything held. */
void stream_buffer_release(struct stream_buffer *b);

/*
 * Add the captured bytes [seq, seq+len) that came in a packet with ack
 * number ack. budget: the most bytes this call may add to what is held.
 * Bytes before end (already held or acknowledged) are ignored, and so are
 * segments starting more than 1 GiB past end (not of this stream).
 */
enum stream_add_result stream_buffer_add(struct stream_buffer *b, uint32_t seq,
					 const uint8_t *data, uint32_t len, uint32_t ack,
					 size_t budget, stream_append_fn fn, void *ctx);

/* The in-order bytes from seq (base <= seq <= end): a pointer and, in *len,
 * how many there are up to end. */
const uint8_t *stream_buffer_peek(const struct stream_buffer *b, uint32_t seq, uint32_t *len);

/* Drop the bytes before upto (acknowledged by the target); upto <= end. */
void stream_buffer_consume(struct stream_buffer *b, uint32_t upto);

/* Bytes held: in order plus past a gap. */
static inline size_t stream_buffer_held(const struct stream_buffer *b)
{
	return (size_t)(b->end - b->base) + b->pending_bytes;
}

#endif
