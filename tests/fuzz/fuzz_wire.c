/*
 * fuzz_wire.c — libFuzzer harness for the wire decoder (lib/wire/wire.c).
 *
 * Input: one control byte, then up to 31 chunk sizes, then the stream.
 *   control bits 0-1: the peer role the decoder expects (0: any; 3: any)
 *   control bit 2:    read through wire_decoder_space/commit, not feed
 *   control bits 3-7: how many chunk-size bytes follow (a byte b cuts a
 *                     piece of b + 1 bytes, b = 255 the rest of the stream);
 *                     the sizes repeat until the stream is consumed
 * So the fuzzer chooses the split points as well as the bytes.
 *
 * Every decoded frame must be accepted by its accessors, and must encode
 * back to the very bytes it was decoded from. A rejection must leave a
 * reason and a known ERROR code. Any violation aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/wire/wire.h"

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "fuzz_wire: %s:%d: %s\n", __FILE__, __LINE__, #cond); abort(); } } while (0)

static uint8_t out[WIRE_MAX_FRAME];

/* The decoded frame again as header + body, to compare with an encoding. */
static void check_same_bytes(const struct wire_frame *f, size_t encoded_len)
{
	CHECK(encoded_len == WIRE_HEADER_LEN + f->body_len);
	CHECK(memcmp(out + WIRE_HEADER_LEN, f->body, f->body_len) == 0);
	CHECK(out[4] == f->type);
}

static void walk_hello(const struct wire_frame *f)
{
	struct wire_hello h;
	const char *why = NULL;

	CHECK(wire_hello_parse(f, &h, &why) == 0);
	check_same_bytes(f, wire_encode_hello(out, sizeof(out), &h));
}

static void walk_routes(const struct wire_frame *f)
{
	static struct wire_route routes[WIRE_MAX_BODY / WIRE_ROUTE_LEN];
	size_t n = wire_route_count(f);
	const char *why = NULL;

	CHECK(n >= 1 && n <= sizeof(routes) / sizeof(routes[0]));
	for (size_t i = 0; i < n; i++)
		CHECK(wire_route_get(f, i, &routes[i], &why) == 0);
	CHECK(wire_route_get(f, n, &routes[0], &why) == -1);
	check_same_bytes(f, wire_encode_routes(out, sizeof(out), f->type, routes, n));
}

static void walk_summaries(const struct wire_frame *f)
{
	struct wire_summary_iter it;
	struct wire_summary s;
	struct wire_batch b;
	const char *why = NULL;
	int rc;

	wire_batch_init(&b, out, sizeof(out));
	wire_summary_iter_init(&it, f);
	while ((rc = wire_summary_next(&it, &s, &why)) == 1)
		CHECK(wire_batch_add(&b, s.flags, s.payload_len, s.data, s.data_len) == 0);
	CHECK(rc == 0);
	check_same_bytes(f, wire_batch_finish(&b));
}

static void walk_error(const struct wire_frame *f)
{
	static char text[WIRE_ERROR_MAX_MSG + 1];
	const char *msg, *why = NULL;
	uint16_t code;
	size_t len;

	CHECK(wire_error_parse(f, &code, &msg, &len, &why) == 0);
	CHECK(len <= WIRE_ERROR_MAX_MSG);
	memcpy(text, msg, len);
	text[len] = 0;
	check_same_bytes(f, wire_encode_error(out, sizeof(out), code, text));
}

static void walk_heartbeat(const struct wire_frame *f)
{
	uint64_t clock_ms;
	const char *why = NULL;

	CHECK(wire_heartbeat_parse(f, &clock_ms, &why) == 0);
	check_same_bytes(f, wire_encode_heartbeat(out, sizeof(out), clock_ms));
}

static void walk(const struct wire_frame *f)
{
	switch (f->type) {
	case WIRE_HELLO: walk_hello(f); break;
	case WIRE_ROUTE_ADD:
	case WIRE_ROUTE_DEL: walk_routes(f); break;
	case WIRE_SUMMARIES: walk_summaries(f); break;
	case WIRE_ERROR: walk_error(f); break;
	case WIRE_HEARTBEAT: walk_heartbeat(f); break;
	default: CHECK(!"decoder returned a frame of unknown type");
	}
}

/* Drain the decoder; false once it has rejected the stream. */
static int drain(struct wire_decoder *d)
{
	struct wire_frame f;
	int rc;

	while ((rc = wire_decoder_next(d, &f)) == 1) {
		CHECK(f.body_len <= WIRE_MAX_BODY);
		walk(&f);
	}
	CHECK(wire_decoder_pending(d) <= WIRE_MAX_FRAME);
	if (rc == 0)
		return 1;
	CHECK(rc == -1 && d->failed && d->error[0]);
	CHECK(d->error_code >= WIRE_ERR_MALFORMED && d->error_code <= WIRE_ERR_INTERNAL);
	CHECK(wire_decoder_next(d, &f) == -1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_decoder d;
	const uint8_t *sizes;
	size_t nsizes, at, i = 0, n, avail;
	uint8_t cut;
	uint8_t *space;
	unsigned control;

	if (size < 1)
		return 0;
	control = data[0];
	nsizes = control >> 3;
	if (size < 1 + nsizes)
		return 0;
	sizes = data + 1;
	at = 1 + nsizes;
	if (wire_decoder_init(&d))
		return 0;
	d.peer_role = (control & 3) == 3 ? 0 : (uint16_t)(control & 3);
	while (at < size) {
		n = size - at;
		if (nsizes) {
			cut = sizes[i++ % nsizes];
			if (cut != 255)
				n = cut + 1u;
		}
		space = wire_decoder_space(&d, &avail);
		CHECK(space && avail >= 1);
		n = n < avail ? n : avail;
		n = n < size - at ? n : size - at;
		if (control & 4) {
			memcpy(space, data + at, n);
			wire_decoder_commit(&d, n);
		} else {
			CHECK(wire_decoder_feed(&d, data + at, n) == 0);
		}
		at += n;
		if (!drain(&d))
			break;
	}
	wire_decoder_free(&d);
	return 0;
}
