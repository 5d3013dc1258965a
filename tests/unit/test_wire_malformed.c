/*
 * test_wire_malformed.c — the decoder on malformed input. A corpus of
 * broken frames, each made by patching one valid frame, each with the error
 * reason and ERROR code the decoder must give, fed whole and byte by byte:
 * truncated, oversized, bad magic, bad version, wrong first frame, second
 * HELLO, unknown type, non-zero flags and reserved fields, length lies in
 * route and summary bodies, summary count lies, zero lengths, frames from
 * the wrong side. Also: the accessors refuse hand-built bad frames, an
 * ERROR may open a stream, and a failed decoder stays failed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lib/wire/wire.h"
#include "wire_streams.h"

/* The valid frame each case starts from, after its prefix. */
enum base {
	HELLO_FIRST,		/* no prefix; HELLO from a copy */
	ROUTES,			/* copy's HELLO; ROUTE_ADD with an IPv4 then an IPv6 route */
	ROUTES_FIRST,		/* no prefix; the same ROUTE_ADD */
	ROUTES_FROM_INTERCEPT,	/* intercept's HELLO; the same ROUTE_ADD */
	SUMMARIES,		/* intercept's HELLO; SUMMARIES of two 40-byte IPv4 records */
	SUMMARIES_FROM_COPY,	/* copy's HELLO; the same SUMMARIES */
	HEARTBEAT,		/* copy's HELLO; HEARTBEAT */
	SECOND_HELLO,		/* copy's HELLO; HELLO again */
	ERROR,			/* copy's HELLO; ERROR 1 "bad frame" */
	TCPCOPY_CLIENT,		/* no prefix; a stock TCPCopy 1.0 client's first message */
};

/*
 * Offsets in the frames, counted from the start of the frame under test:
 *   header: 0 body length, 4 type, 5 flags, 6 reserved; body from 8.
 *   HELLO: 8 magic, 12 version, 14 role, 16 features, 20 max body.
 *   ROUTE_ADD: route 0 at 8, route 1 at 48; in a route: +0 family,
 *     +1 reserved, +2 client port, +4 target port, +6 reserved,
 *     +8 client address, +24 target address.
 *   SUMMARIES: 8 count, 10 reserved; record 0 at 12, record 1 at 60; in a
 *     record: +0 flags, +1 reserved, +2 data length, +4 payload length,
 *     +8 data (an IPv4 header first). Body length 100.
 *   ERROR: 8 code, 10 reserved, 12 message.
 */
struct bad_case {
	const char *name;
	enum base base;
	size_t at;		/* patch offset */
	const char *hex;	/* bytes written there */
	size_t at2;		/* a second patch, when hex2 is set */
	const char *hex2;
	size_t extra;		/* zero bytes appended (to back a longer length) */
	uint16_t peer_role;	/* the decoder's expectation */
	size_t fail_at;		/* bytes of the frame that reveal the fault; 0: all */
	size_t good;		/* whole frames decoded before the fault */
	uint16_t code;
	const char *expect;	/* the reason, or a part of it */
};

#define M WIRE_ERR_MALFORMED
static const struct bad_case cases[] = {
	{ "oversized", SUMMARIES, 0, "00011170", .fail_at = 8, .good = 1, .code = M,
	  .expect = "frame body length 70000 > max 65536" },
	{ "oversized by one", SUMMARIES, 0, "00010001", .fail_at = 8, .good = 1, .code = M,
	  .expect = "frame body length 65537 > max 65536" },
	{ "bad magic", HELLO_FIRST, 11, "58", .code = M,
	  .expect = "HELLO bad magic 0x44505058, expected 0x4450504c (\"DPPL\")" },
	{ "bad version", HELLO_FIRST, 12, "0002", .code = WIRE_ERR_VERSION,
	  .expect = "HELLO version 2, this side speaks version 1" },
	{ "version 0", HELLO_FIRST, 12, "0000", .code = WIRE_ERR_VERSION,
	  .expect = "HELLO version 0, this side speaks version 1" },
	{ "longer HELLO of a later version", HELLO_FIRST, 0, "00000018", 12, "0002", .extra = 8,
	  .code = WIRE_ERR_VERSION, .expect = "HELLO version 2, this side speaks version 1" },
	{ "HELLO body too long", HELLO_FIRST, 0, "00000014", .extra = 4, .code = M,
	  .expect = "HELLO body length 20, expected 16" },
	{ "HELLO body too short", HELLO_FIRST, 0, "00000004", .fail_at = 8, .code = M,
	  .expect = "HELLO body length 4 < 8" },
	{ "HELLO role unknown", HELLO_FIRST, 14, "0007", .code = WIRE_ERR_ROLE,
	  .expect = "HELLO role 7 unknown" },
	{ "HELLO role zero", HELLO_FIRST, 14, "0000", .code = WIRE_ERR_ROLE,
	  .expect = "HELLO role 0 unknown" },
	{ "HELLO role not the one expected", HELLO_FIRST, 0, NULL, .peer_role = WIRE_ROLE_INTERCEPT,
	  .code = WIRE_ERR_ROLE, .expect = "HELLO role copy, expected intercept" },
	{ "HELLO max body too small", HELLO_FIRST, 20, "00000064", .code = M,
	  .expect = "HELLO max body 100 < 4096" },
	{ "first frame not HELLO", ROUTES_FIRST, 0, NULL, .fail_at = 8, .code = M,
	  .expect = "first frame is ROUTE_ADD, not HELLO" },
	{ "first frame a heartbeat", ROUTES_FIRST, 0, "00000008", 4, "05", .fail_at = 8, .code = M,
	  .expect = "first frame is HEARTBEAT, not HELLO" },
	{ "second HELLO", SECOND_HELLO, 0, NULL, .fail_at = 8, .good = 1, .code = M,
	  .expect = "second HELLO" },
	{ "unknown type 9", HEARTBEAT, 4, "09", .fail_at = 8, .good = 1, .code = M,
	  .expect = "unknown frame type 9" },
	{ "type 0", HEARTBEAT, 4, "00", .fail_at = 8, .good = 1, .code = M,
	  .expect = "unknown frame type 0" },
	{ "header flags", HEARTBEAT, 5, "80", .fail_at = 8, .good = 1, .code = M,
	  .expect = "HEARTBEAT frame flags 0x80 not zero" },
	{ "header reserved", HEARTBEAT, 6, "0001", .fail_at = 8, .good = 1, .code = M,
	  .expect = "HEARTBEAT frame reserved field 0x0001 not zero" },
	{ "heartbeat length", HEARTBEAT, 0, "00000004", .fail_at = 8, .good = 1, .code = M,
	  .expect = "HEARTBEAT body length 4, expected 8" },
	{ "route length not a multiple of 40", ROUTES, 0, "00000032", .fail_at = 8, .good = 1,
	  .code = M, .expect = "ROUTE_ADD body length 50 is not a multiple of 40" },
	/* One route declared, two sent: the second route's first bytes are
	 * read as a frame header (06 00 ..: a length far past the maximum). */
	{ "route length one route short", ROUTES, 0, "00000028", .fail_at = 56, .good = 2,
	  .code = M, .expect = "> max 65536" },
	{ "route frame empty", ROUTES, 0, "00000000", 4, "03", .fail_at = 8, .good = 1, .code = M,
	  .expect = "ROUTE_DEL body is empty" },
	{ "route family unknown", ROUTES, 48, "05", .good = 1, .code = M,
	  .expect = "route 1 family 5 unknown (4 or 6)" },
	{ "route reserved byte", ROUTES, 9, "01", .good = 1, .code = M,
	  .expect = "route 0 reserved bytes not zero" },
	{ "route payload wanted without ROUTE_PAYLOAD", ROUTES, 54, "0100", .good = 1, .code = M,
	  .expect = "route 1 wants 256 payload bytes but ROUTE_PAYLOAD is not in use" },
	{ "route client port 0", ROUTES, 10, "0000", .good = 1, .code = M,
	  .expect = "route 0 client port 0" },
	{ "route target port 0", ROUTES, 12, "0000", .good = 1, .code = M,
	  .expect = "route 0 target port 0" },
	{ "route IPv4 client address padding", ROUTES, 20, "01", .good = 1, .code = M,
	  .expect = "route 0 IPv4 address has non-zero bytes past its first 4" },
	{ "route IPv4 target address padding", ROUTES, 47, "ff", .good = 1, .code = M,
	  .expect = "route 0 IPv4 address has non-zero bytes past its first 4" },
	{ "summaries body too short", SUMMARIES, 0, "00000004", .fail_at = 8, .good = 1, .code = M,
	  .expect = "SUMMARIES body length 4 < 52 (one record)" },
	{ "summaries count 0", SUMMARIES, 8, "0000", .good = 1, .code = M,
	  .expect = "SUMMARIES count 0" },
	{ "summaries reserved", SUMMARIES, 10, "0001", .good = 1, .code = M,
	  .expect = "SUMMARIES reserved field 0x0001 not zero" },
	{ "summaries count too large", SUMMARIES, 8, "0003", .good = 1, .code = M,
	  .expect = "SUMMARIES count 3 but the body ends after 2 records" },
	{ "summaries count too small", SUMMARIES, 8, "0001", .good = 1, .code = M,
	  .expect = "SUMMARIES count 1 but 48 bytes follow the last record" },
	{ "summary data length runs past the body", SUMMARIES, 62, "0384", .good = 1, .code = M,
	  .expect = "summary record 1 data length 900 runs past the body" },
	{ "summary data length one past the body", SUMMARIES, 62, "0029", .good = 1, .code = M,
	  .expect = "summary record 1 data length 41 runs past the body" },
	{ "summary record header runs past the body", SUMMARIES, 0, "00000068", 8, "0003",
	  .extra = 4, .good = 1, .code = M,
	  .expect = "summary record 2 header runs past the body" },
	{ "summary data too short", SUMMARIES, 14, "0014", .good = 1, .code = M,
	  .expect = "summary record 0 data length 20 < 40" },
	{ "summary data length 0", SUMMARIES, 14, "0000", .good = 1, .code = M,
	  .expect = "summary record 0 data length 0 < 40" },
	{ "summary flags unknown", SUMMARIES, 12, "02", .good = 1, .code = M,
	  .expect = "summary record 0 flags 0x02 unknown" },
	{ "summary reserved byte", SUMMARIES, 61, "07", .good = 1, .code = M,
	  .expect = "summary record 1 reserved byte 0x07 not zero" },
	{ "summary data not IP", SUMMARIES, 20, "55", .good = 1, .code = M,
	  .expect = "summary record 0 data starts with IP version 5" },
	{ "error body too short", ERROR, 0, "00000002", .fail_at = 8, .good = 1, .code = M,
	  .expect = "ERROR body length 2 < 4" },
	{ "error message too long", ERROR, 0, "0000044c", .fail_at = 8, .good = 1, .code = M,
	  .expect = "ERROR message length 1096 > max 1024" },
	{ "error reserved", ERROR, 10, "0001", .good = 1, .code = M,
	  .expect = "ERROR reserved field 0x0001 not zero" },
	{ "error message not UTF-8", ERROR, 14, "ff", .good = 1, .code = M,
	  .expect = "ERROR message is not UTF-8 without NULs (byte 2)" },
	{ "error message with NUL", ERROR, 12, "00", .good = 1, .code = M,
	  .expect = "ERROR message is not UTF-8 without NULs (byte 0)" },
	{ "routes from an intercept", ROUTES_FROM_INTERCEPT, 0, NULL, .fail_at = 8, .good = 1,
	  .code = M, .expect = "ROUTE_ADD from an intercept peer" },
	{ "summaries from a copy", SUMMARIES_FROM_COPY, 0, NULL, .fail_at = 8, .good = 1,
	  .code = M, .expect = "SUMMARIES from a copy peer" },
	{ "stock TCPCopy client", TCPCOPY_CLIENT, 0, NULL, .fail_at = 8, .code = WIRE_ERR_VERSION,
	  .expect = "first bytes are a TCPCopy 1.0 version message (version 32773)" },
};
#undef M

static void summaries_of_two(struct stream *s)
{
	uint8_t frame[8 + 100], data[40] = { 0x45 };
	struct wire_batch b;

	wire_batch_init(&b, frame, sizeof(frame));
	assert_int_equal(wire_batch_add(&b, 0, 1000, data, sizeof(data)), 0);
	assert_int_equal(wire_batch_add(&b, 0, 0, data, sizeof(data)), 0);
	assert_int_equal(wire_batch_finish(&b), sizeof(frame));
	stream_raw(s, frame, sizeof(frame));
}

/* Build the case's base stream; returns where the frame under test starts. */
static size_t build_base(struct stream *s, enum base base)
{
	const struct wire_route r[2] = {
		test_route("198.18.0.1", 40000, "198.19.0.10", 80),
		test_route("2001:db8::1", 5555, "2001:db8::2", 443),
	};
	/* client 0.0.0.0:0, type = version 32773 (0x8005), target 0.0.0.0:0 */
	static const uint8_t tcpcopy_hello[14] = { 0, 0, 0, 0, 0, 0, 0x80, 0x05 };
	size_t start;

	stream_init(s);
	if (base == ROUTES || base == HEARTBEAT || base == SECOND_HELLO || base == ERROR ||
	    base == SUMMARIES_FROM_COPY)
		stream_hello(s, WIRE_ROLE_COPY);
	if (base == SUMMARIES || base == ROUTES_FROM_INTERCEPT)
		stream_hello(s, WIRE_ROLE_INTERCEPT);
	start = s->len;
	switch (base) {
	case HELLO_FIRST:
	case SECOND_HELLO: stream_hello(s, WIRE_ROLE_COPY); break;
	case ROUTES:
	case ROUTES_FIRST:
	case ROUTES_FROM_INTERCEPT: stream_routes(s, WIRE_ROUTE_ADD, r, 2); break;
	case SUMMARIES:
	case SUMMARIES_FROM_COPY: summaries_of_two(s); break;
	case HEARTBEAT: stream_heartbeat(s, 77); break;
	case ERROR: stream_error(s, WIRE_ERR_MALFORMED, "bad frame"); break;
	case TCPCOPY_CLIENT: stream_raw(s, tcpcopy_hello, sizeof(tcpcopy_hello)); break;
	}
	return start;
}

static void patch(uint8_t *p, const char *hex)
{
	for (; hex && hex[0] && hex[1]; hex += 2, p++) {
		char byte[3] = { hex[0], hex[1], 0 };

		*p = (uint8_t)strtoul(byte, NULL, 16);
	}
}

static void decoder_for(struct wire_decoder *d, const struct bad_case *c)
{
	assert_int_equal(wire_decoder_init(d), 0);
	d->peer_role = c->peer_role;
}

/* After a failure every call keeps failing and nothing more comes out. */
static void assert_stays_failed(struct wire_decoder *d, const char *error)
{
	struct wire_frame f;
	size_t avail = 1;

	assert_int_equal(wire_decoder_next(d, &f), -1);
	assert_int_equal(wire_decoder_feed(d, "x", 1), -1);
	assert_null(wire_decoder_space(d, &avail));
	assert_int_equal(avail, 0);
	assert_string_equal(d->error, error);
}

static void run_case(const struct bad_case *c)
{
	struct stream s;
	struct wire_decoder d;
	struct wire_frame f;
	size_t start, good = 0, fail_at = 0, expect_fail_at;
	uint8_t zeros[16] = { 0 };
	int rc = 0;

	start = build_base(&s, c->base);
	patch(s.buf + start + c->at, c->hex);
	patch(s.buf + start + c->at2, c->hex2);
	stream_raw(&s, zeros, c->extra);
	expect_fail_at = c->fail_at ? start + c->fail_at : s.len;

	/* Whole. */
	decoder_for(&d, c);
	assert_int_equal(wire_decoder_feed(&d, s.buf, s.len), 0);
	while ((rc = wire_decoder_next(&d, &f)) == 1)
		good++;
	if (rc != -1)
		fail_msg("case \"%s\": not rejected", c->name);
	print_message("%-42s -> [%s] %s\n", c->name, wire_error_name(d.error_code), d.error);
	if (!strstr(d.error, c->expect))
		fail_msg("case \"%s\": reason \"%s\", expected \"%s\"", c->name, d.error, c->expect);
	assert_int_equal(d.error_code, c->code);
	assert_int_equal(good, c->good);
	assert_true(d.failed);
	wire_decoder_free(&d);

	/* Byte by byte: the same reason, as soon as the bytes that show it are in. */
	decoder_for(&d, c);
	good = 0;
	rc = 0;
	for (size_t i = 0; i < s.len && rc != -1; i++) {
		assert_int_equal(wire_decoder_feed(&d, s.buf + i, 1), 0);
		while ((rc = wire_decoder_next(&d, &f)) == 1)
			good++;
		fail_at = i + 1;
	}
	assert_int_equal(rc, -1);
	assert_int_equal(good, c->good);
	assert_int_equal(fail_at, expect_fail_at);
	assert_non_null(strstr(d.error, c->expect));
	assert_stays_failed(&d, d.error);
	wire_decoder_free(&d);
	stream_free(&s);
}

static void test_malformed_case(void **state)
{
	run_case(*state);
}

/* A side that refuses a connection may send ERROR instead of HELLO. */
static void test_error_may_come_first(void **state)
{
	struct stream s;
	struct wire_decoder d;
	struct wire_frame f;

	stream_init(&s);
	stream_error(&s, WIRE_ERR_INTERNAL, "too many connections");
	stream_hello(&s, WIRE_ROLE_INTERCEPT);
	assert_int_equal(wire_decoder_init(&d), 0);
	assert_int_equal(wire_decoder_feed(&d, s.buf, s.len), 0);
	assert_int_equal(wire_decoder_next(&d, &f), 1);
	assert_int_equal(f.type, WIRE_ERROR);
	assert_false(d.got_hello);
	assert_int_equal(wire_decoder_next(&d, &f), 1);
	assert_int_equal(f.type, WIRE_HELLO);
	assert_int_equal(d.peer_role, WIRE_ROLE_INTERCEPT);
	wire_decoder_free(&d);
	stream_free(&s);
}

/* Accessors on frames built by hand refuse what does not fit, without
 * reading past the body. */
static void test_accessors_refuse_hand_built(void **state)
{
	static const uint8_t body[8] = { 0x44, 0x50, 0x50, 0x4c, 0, 1, 0, 1 };
	uint8_t summaries[4 + 8 + 40] = { 0, 2, 0, 0, 0, 0, 0, 40 };
	uint8_t error[6] = { 0, 1, 0, 0, 'o', 0xff };
	struct wire_frame f = { WIRE_HELLO, body, 8 };
	struct wire_hello h;
	struct wire_route r;
	struct wire_summary_iter it;
	struct wire_summary s;
	uint16_t code;
	uint64_t clock;
	const char *msg, *why = NULL;
	size_t len;

	assert_int_equal(wire_hello_parse(&f, &h, &why), -1);	/* 8 bytes, not 16 */
	assert_non_null(why);
	f.type = WIRE_HEARTBEAT;
	assert_int_equal(wire_hello_parse(&f, &h, &why), -1);
	assert_string_equal(why, "frame of another type");
	assert_int_equal(wire_heartbeat_parse(&f, &clock, &why), 0);
	f.body_len = 7;
	assert_int_equal(wire_heartbeat_parse(&f, &clock, &why), -1);
	f.body = NULL, f.body_len = 8;
	assert_int_equal(wire_heartbeat_parse(&f, &clock, &why), -1);

	f = (struct wire_frame){ WIRE_ROUTE_ADD, body, 8 };
	assert_int_equal(wire_route_count(&f), 0);
	assert_int_equal(wire_route_get(&f, 0, &r, &why), -1);
	assert_string_equal(why, "route index past the last route");
	f.type = WIRE_HEARTBEAT;
	assert_int_equal(wire_route_count(&f), 0);
	assert_int_equal(wire_route_get(&f, 0, &r, &why), -1);

	/* Two records announced, one in the body (its data not IP either). */
	f = (struct wire_frame){ WIRE_SUMMARIES, summaries, sizeof(summaries) };
	wire_summary_iter_init(&it, &f);
	assert_int_equal(wire_summary_next(&it, &s, &why), -1);
	assert_string_equal(why, "summary record data not IP");
	summaries[12] = 0x45;
	wire_summary_iter_init(&it, &f);
	assert_int_equal(wire_summary_next(&it, &s, &why), 1);
	assert_int_equal(wire_summary_next(&it, &s, &why), -1);
	assert_string_equal(why, "SUMMARIES count larger than the body");
	summaries[1] = 0;	/* count 0 with a record left over */
	wire_summary_iter_init(&it, &f);
	assert_int_equal(wire_summary_next(&it, &s, &why), -1);
	f.type = WIRE_HELLO;
	wire_summary_iter_init(&it, &f);
	assert_int_equal(wire_summary_next(&it, &s, &why), -1);
	assert_string_equal(why, "not a SUMMARIES frame");

	f = (struct wire_frame){ WIRE_ERROR, error, sizeof(error) };
	assert_int_equal(wire_error_parse(&f, &code, &msg, &len, &why), -1);
	assert_string_equal(why, "ERROR message not UTF-8");
	f.body_len = 5;
	assert_int_equal(wire_error_parse(&f, &code, &msg, &len, &why), 0);
	assert_int_equal(len, 1);
	f.body_len = 3;
	assert_int_equal(wire_error_parse(&f, &code, &msg, &len, &why), -1);
}

int main(void)
{
	const size_t ncases = sizeof(cases) / sizeof(cases[0]);
	struct CMUnitTest *tests = calloc(ncases + 2, sizeof(*tests));
	int failed;

	if (!tests)
		return 1;
	/* One test per corpus case, named after it. */
	for (size_t i = 0; i < ncases; i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = test_malformed_case;
		tests[i].initial_state = (void *)&cases[i];
	}
	tests[ncases] = (struct CMUnitTest)cmocka_unit_test(test_error_may_come_first);
	tests[ncases + 1] = (struct CMUnitTest)cmocka_unit_test(test_accessors_refuse_hand_built);
	failed = _cmocka_run_group_tests("test_wire_malformed", tests, ncases + 2, NULL, NULL);
	free(tests);
	return failed;
}
