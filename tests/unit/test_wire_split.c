/*
 * test_wire_split.c — the wire decoder on valid streams cut anywhere: it
 * gives the same frames fed byte by byte, cut at every two-way split, and
 * read through wire_decoder_space/commit in uneven pieces with frames of
 * the largest size (so its buffer must compact). Also: a stream that stops
 * mid-frame waits rather than fails, and the decoder never holds more than
 * one frame.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lib/wire/wire.h"
#include "wire_streams.h"

/* The copy side's stream: HELLO, routes of both families, heartbeats, an
 * ERROR at the end. */
static void copy_stream(struct stream *s)
{
	struct wire_route r[40];

	for (unsigned i = 0; i < 40; i++)
		r[i] = i % 2 ? test_route("2001:db8::7", (uint16_t)(1024 + i), "2001:db8::1", 443)
			     : test_route("198.18.1.7", (uint16_t)(1024 + i), "198.19.0.1", 80);
	stream_init(s);
	stream_hello(s, WIRE_ROLE_COPY);
	stream_routes(s, WIRE_ROUTE_ADD, r, 1);
	stream_routes(s, WIRE_ROUTE_ADD, r, 40);
	stream_heartbeat(s, 123456789);
	stream_routes(s, WIRE_ROUTE_DEL, r + 3, 2);
	stream_heartbeat(s, 123461789);
	stream_error(s, WIRE_ERR_SHUTDOWN, "doppel-copy stopping");
}

/* The intercept side's stream: HELLO, batches of summaries of both
 * families, with and without payload prefixes. */
static void intercept_stream(struct stream *s)
{
	stream_init(s);
	stream_hello(s, WIRE_ROLE_INTERCEPT);
	stream_summaries(s, 1, 0);
	stream_summaries(s, 9, 100);
	stream_heartbeat(s, 42);
	stream_summaries(s, 30, 7);
	stream_error(s, WIRE_ERR_TIMEOUT, "no frame for 20000 ms");
}

/* Decode in pieces as large as the decoder takes (all of a small stream). */
static void decode_whole(const struct stream *s, struct frame_list *out)
{
	struct wire_decoder d;
	size_t at = 0, avail, n;
	uint8_t *space;

	memset(out, 0, sizeof(*out));
	assert_int_equal(wire_decoder_init(&d), 0);
	while (at < s->len) {
		space = wire_decoder_space(&d, &avail);
		assert_non_null(space);
		n = avail < s->len - at ? avail : s->len - at;
		memcpy(space, s->buf + at, n);
		wire_decoder_commit(&d, n);
		at += n;
		drain_frames(&d, out);
	}
	assert_int_equal(wire_decoder_pending(&d), 0);
	wire_decoder_free(&d);
	assert_int_equal(out->count, s->frames);
}

/* Feed the stream in pieces cut at the given offsets. */
static void decode_split(const struct stream *s, const size_t *cuts, size_t ncuts,
			 struct frame_list *out)
{
	struct wire_decoder d;
	size_t from = 0, to;

	memset(out, 0, sizeof(*out));
	assert_int_equal(wire_decoder_init(&d), 0);
	for (size_t i = 0; i <= ncuts; i++) {
		to = i < ncuts ? cuts[i] : s->len;
		assert_int_equal(wire_decoder_feed(&d, s->buf + from, to - from), 0);
		drain_frames(&d, out);
		from = to;
	}
	assert_int_equal(wire_decoder_pending(&d), 0);
	wire_decoder_free(&d);
}

static void check_every_split(struct stream *s)
{
	struct frame_list whole, split;
	struct wire_decoder d;
	size_t cut;

	decode_whole(s, &whole);

	/* Byte by byte. */
	memset(&split, 0, sizeof(split));
	assert_int_equal(wire_decoder_init(&d), 0);
	for (size_t i = 0; i < s->len; i++) {
		assert_int_equal(wire_decoder_feed(&d, s->buf + i, 1), 0);
		drain_frames(&d, &split);
	}
	assert_same_frames(&whole, &split);
	frame_list_free(&split);
	wire_decoder_free(&d);

	/* Every two-way split. */
	for (cut = 0; cut <= s->len; cut++) {
		decode_split(s, &cut, 1, &split);
		assert_same_frames(&whole, &split);
		frame_list_free(&split);
	}
	frame_list_free(&whole);
	stream_free(s);
}

static void test_every_split_copy_stream(void **state)
{
	struct stream s;

	copy_stream(&s);
	check_every_split(&s);
}

static void test_every_split_intercept_stream(void **state)
{
	struct stream s;

	intercept_stream(&s);
	check_every_split(&s);
}

/* Frames as large as allowed, read through wire_decoder_space/commit in
 * uneven pieces: the buffer must compact and never offer less than one
 * byte while a frame is incomplete. */
static void test_space_commit_large_frames(void **state)
{
	static const size_t reads[] = { 1, 7, 4096, 1500, 65536, 3, 20000, 9000 };
	struct frame_list whole, got = { 0 };
	struct wire_decoder d;
	struct stream s;
	struct wire_route *r = calloc(1638, sizeof(*r));
	size_t at = 0, avail, n, i = 0;
	uint8_t *space;

	assert_non_null(r);
	for (size_t k = 0; k < 1638; k++)
		r[k] = test_route("198.18.2.2", (uint16_t)(k + 1), "198.19.0.1", 80);
	stream_init(&s);
	stream_hello(&s, WIRE_ROLE_COPY);
	for (int k = 0; k < 5; k++) {
		stream_routes(&s, WIRE_ROUTE_ADD, r, 1638);	/* 65520-byte bodies */
		stream_heartbeat(&s, (uint64_t)k);
	}
	decode_whole(&s, &whole);

	assert_int_equal(wire_decoder_init(&d), 0);
	while (at < s.len) {
		space = wire_decoder_space(&d, &avail);
		assert_non_null(space);
		assert_true(avail >= 1);
		n = reads[i++ % (sizeof(reads) / sizeof(reads[0]))];
		n = n < avail ? n : avail;
		n = n < s.len - at ? n : s.len - at;
		memcpy(space, s.buf + at, n);
		wire_decoder_commit(&d, n);
		at += n;
		drain_frames(&d, &got);
	}
	assert_same_frames(&whole, &got);
	assert_int_equal(wire_decoder_pending(&d), 0);
	frame_list_free(&whole);
	frame_list_free(&got);
	wire_decoder_free(&d);
	stream_free(&s);
	free(r);
}

/* A stream that stops in the middle of a frame is not an error: the
 * decoder waits, and pending() tells the owner what was left at EOF. */
static void test_truncated_stream_waits(void **state)
{
	struct wire_decoder d;
	struct wire_frame f;
	struct stream s;

	copy_stream(&s);
	assert_int_equal(wire_decoder_init(&d), 0);
	assert_int_equal(wire_decoder_feed(&d, s.buf, 20), 0);	/* HELLO is 24 bytes */
	assert_int_equal(wire_decoder_next(&d, &f), 0);
	assert_int_equal(wire_decoder_pending(&d), 20);
	assert_false(d.failed);
	assert_int_equal(wire_decoder_feed(&d, s.buf + 20, 4), 0);
	assert_int_equal(wire_decoder_next(&d, &f), 1);
	assert_int_equal(wire_decoder_pending(&d), 0);
	assert_int_equal(wire_decoder_feed(&d, s.buf + 24, 5), 0);	/* 5 bytes of a header */
	assert_int_equal(wire_decoder_next(&d, &f), 0);
	assert_int_equal(wire_decoder_pending(&d), 5);
	wire_decoder_free(&d);
	stream_free(&s);
}

/* The decoder holds at most one frame: feeding more than it has room for
 * fails it (a caller bug, answered with WIRE_ERR_INTERNAL), as does a
 * commit past the space given. */
static void test_decoder_bounded(void **state)
{
	uint8_t *big = calloc(1, WIRE_MAX_FRAME + 1);
	struct wire_decoder d;
	size_t avail;

	assert_non_null(big);
	assert_int_equal(wire_decoder_init(&d), 0);
	assert_int_equal(d.cap, WIRE_MAX_FRAME);
	assert_int_equal(wire_decoder_feed(&d, big, WIRE_MAX_FRAME + 1), -1);
	assert_int_equal(d.error_code, WIRE_ERR_INTERNAL);
	assert_non_null(strstr(d.error, "decoder fed 65545 bytes with 65544 free"));
	assert_null(wire_decoder_space(&d, &avail));
	assert_int_equal(avail, 0);
	wire_decoder_free(&d);

	assert_int_equal(wire_decoder_init(&d), 0);
	assert_non_null(wire_decoder_space(&d, &avail));
	assert_int_equal(avail, WIRE_MAX_FRAME);
	wire_decoder_commit(&d, avail + 1);
	assert_true(d.failed);
	assert_int_equal(d.error_code, WIRE_ERR_INTERNAL);
	wire_decoder_free(&d);
	wire_decoder_free(&d);	/* twice is harmless */
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_split_copy_stream),
		cmocka_unit_test(test_every_split_intercept_stream),
		cmocka_unit_test(test_space_commit_large_frames),
		cmocka_unit_test(test_truncated_stream_waits),
		cmocka_unit_test(test_decoder_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
