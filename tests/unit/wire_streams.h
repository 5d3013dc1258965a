/*
 * wire_streams.h — valid frames and byte streams of the wire protocol, and
 * a decoder driver, for the wire codec's unit tests.
 */
#ifndef DOPPEL_TEST_WIRE_STREAMS_H
#define DOPPEL_TEST_WIRE_STREAMS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/wire/wire.h"

/* A growing byte stream of frames; every append asserts the encoder worked. */
struct stream {
	uint8_t *buf;
	size_t len, cap;
	size_t frames;
};

void stream_init(struct stream *s);
void stream_free(struct stream *s);
/* Append raw bytes (hand-made, possibly broken frames). */
void stream_raw(struct stream *s, const void *data, size_t len);
void stream_hello(struct stream *s, enum wire_role role);
void stream_routes(struct stream *s, enum wire_type type, const struct wire_route *r, size_t n);
void stream_heartbeat(struct stream *s, uint64_t clock_ms);
void stream_error(struct stream *s, uint16_t code, const char *msg);
/* A SUMMARIES frame of n records made by test_summary_data(seed + i). */
void stream_summaries(struct stream *s, size_t n, unsigned seed);

/* IP + TCP headers (IPv4 when seed is even, IPv6 when odd) and, when seed
 * % 3 == 0, a payload prefix of seed % 50 bytes; *flags and *payload_len
 * get what a summary of it carries. Returns the data length. */
size_t test_summary_data(uint8_t *buf, size_t cap, unsigned seed, uint8_t *flags,
			 uint32_t *payload_len);

struct wire_route test_route(const char *client, uint16_t client_port,
			     const char *target, uint16_t target_port);

/* A decoded frame, copied out of the decoder. */
struct frame_copy {
	uint8_t type;
	uint32_t body_len;
	uint8_t *body;
};

struct frame_list {
	struct frame_copy *items;
	size_t count, cap;
};

void frame_list_free(struct frame_list *l);
/* wire_decoder_next() until it returns 0, copying frames into l; asserts it
 * never fails. */
void drain_frames(struct wire_decoder *d, struct frame_list *l);
/* Assert two lists hold the same frames. */
void assert_same_frames(const struct frame_list *a, const struct frame_list *b);

#endif
