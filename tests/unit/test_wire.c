/*
 * test_wire.c — the wire codec on valid input: every encoder round-trips
 * through the decoder and its accessors (IPv4 and IPv6), encoders refuse bad
 * input, SUMMARIES batches fill up to their limits. Streams split anywhere
 * are test_wire_split.c's, malformed input test_wire_malformed.c's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/wire/wire.h"
#include "wire_streams.h"

/* Decode buf[0..len) fed whole into a fresh decoder; exactly one frame. */
static struct wire_frame decode_one(struct wire_decoder *d, const uint8_t *buf, size_t len)
{
	struct wire_frame f;

	assert_int_equal(wire_decoder_init(d), 0);
	assert_int_equal(wire_decoder_feed(d, buf, len), 0);
	assert_int_equal(wire_decoder_next(d, &f), 1);
	return f;
}

/* A HELLO must come first: feed one, so that other frames decode. */
static void decoder_after_hello(struct wire_decoder *d, enum wire_role peer)
{
	struct stream s;
	struct wire_frame f;

	stream_init(&s);
	stream_hello(&s, peer);
	assert_int_equal(wire_decoder_init(d), 0);
	assert_int_equal(wire_decoder_feed(d, s.buf, s.len), 0);
	assert_int_equal(wire_decoder_next(d, &f), 1);
	stream_free(&s);
}

static void test_hello_round_trip(void **state)
{
	enum wire_role roles[] = { WIRE_ROLE_COPY, WIRE_ROLE_INTERCEPT };
	uint8_t buf[64];
	struct wire_decoder d;
	struct wire_frame f;
	struct wire_hello in, out;
	const char *why = NULL;

	for (size_t i = 0; i < 2; i++) {
		in = (struct wire_hello){ WIRE_VERSION, roles[i], 0xfffffff3u, WIRE_MIN_MAX_BODY };
		assert_int_equal(wire_encode_hello(buf, sizeof(buf), &in),
				 WIRE_HEADER_LEN + WIRE_HELLO_LEN);
		f = decode_one(&d, buf, WIRE_HEADER_LEN + WIRE_HELLO_LEN);
		assert_int_equal(f.type, WIRE_HELLO);
		assert_int_equal(wire_hello_parse(&f, &out, &why), 0);
		assert_int_equal(out.version, WIRE_VERSION);
		assert_int_equal(out.role, roles[i]);
		assert_int_equal(out.features, 0xfffffff3u);	/* unknown bits pass through */
		assert_int_equal(out.max_body, WIRE_MIN_MAX_BODY);
		assert_int_equal(d.peer_role, roles[i]);
		assert_true(d.got_hello);
		wire_decoder_free(&d);
	}
}

static void test_hello_encoder_refuses(void **state)
{
	uint8_t buf[64];
	struct wire_hello good = { WIRE_VERSION, WIRE_ROLE_COPY, 0, WIRE_MAX_BODY }, h;

	assert_int_equal(wire_encode_hello(buf, WIRE_HEADER_LEN + WIRE_HELLO_LEN - 1, &good), 0);
	h = good, h.version = 2;
	assert_int_equal(wire_encode_hello(buf, sizeof(buf), &h), 0);
	h = good, h.role = 0;
	assert_int_equal(wire_encode_hello(buf, sizeof(buf), &h), 0);
	h = good, h.role = 3;
	assert_int_equal(wire_encode_hello(buf, sizeof(buf), &h), 0);
	h = good, h.max_body = WIRE_MIN_MAX_BODY - 1;
	assert_int_equal(wire_encode_hello(buf, sizeof(buf), &h), 0);
	assert_int_equal(wire_encode_hello(NULL, sizeof(buf), &good), 0);
	assert_int_equal(wire_encode_hello(buf, sizeof(buf), NULL), 0);
}

static void assert_same_route(const struct wire_route *a, const struct wire_route *b)
{
	assert_memory_equal(&a->client, &b->client, sizeof(a->client));
	assert_memory_equal(&a->target, &b->target, sizeof(a->target));
	assert_int_equal(a->client_port, b->client_port);
	assert_int_equal(a->target_port, b->target_port);
}

static void test_routes_round_trip(void **state)
{
	const struct wire_route in[] = {
		test_route("198.18.0.1", 40000, "198.19.0.10", 80),
		test_route("2001:db8::1", 1, "2001:db8:ffff::2", 65535),
		test_route("198.18.255.254", 65535, "198.18.0.3", 6379),
		test_route("::ffff:198.18.0.9", 5555, "2001:db8::80", 8080),
	};
	enum wire_type types[] = { WIRE_ROUTE_ADD, WIRE_ROUTE_DEL };
	uint8_t buf[256];
	struct wire_decoder d;
	struct wire_frame f;
	struct wire_route out;
	const char *why = NULL;
	size_t n;

	for (size_t t = 0; t < 2; t++) {
		n = wire_encode_routes(buf, sizeof(buf), types[t], in, 4);
		assert_int_equal(n, WIRE_HEADER_LEN + 4 * WIRE_ROUTE_LEN);
		decoder_after_hello(&d, WIRE_ROLE_COPY);
		assert_int_equal(wire_decoder_feed(&d, buf, n), 0);
		assert_int_equal(wire_decoder_next(&d, &f), 1);
		assert_int_equal(f.type, types[t]);
		assert_int_equal(wire_route_count(&f), 4);
		for (size_t i = 0; i < 4; i++) {
			assert_int_equal(wire_route_get(&f, i, &out, &why), 0);
			assert_same_route(&out, &in[i]);
		}
		assert_int_equal(out.client.family, AF_INET6);
		wire_decoder_free(&d);
	}
}

static void test_routes_encoder_refuses(void **state)
{
	struct wire_route good = test_route("198.18.0.1", 40000, "198.19.0.10", 80), r;
	struct wire_route *many;
	size_t max = WIRE_MAX_BODY / WIRE_ROUTE_LEN;
	uint8_t *buf = malloc(2 * WIRE_MAX_FRAME);

	assert_non_null(buf);
	assert_int_equal(wire_encode_routes(buf, WIRE_MAX_FRAME, WIRE_ROUTE_ADD, &good, 0), 0);
	assert_int_equal(wire_encode_routes(buf, WIRE_MAX_FRAME, WIRE_HELLO, &good, 1), 0);
	assert_int_equal(wire_encode_routes(buf, WIRE_HEADER_LEN + WIRE_ROUTE_LEN - 1,
					    WIRE_ROUTE_ADD, &good, 1), 0);
	r = test_route("198.18.0.1", 40000, "2001:db8::1", 80);	/* mixed families */
	assert_int_equal(wire_encode_routes(buf, WIRE_MAX_FRAME, WIRE_ROUTE_ADD, &r, 1), 0);
	r = good, r.client.family = r.target.family = AF_UNIX;
	assert_int_equal(wire_encode_routes(buf, WIRE_MAX_FRAME, WIRE_ROUTE_ADD, &r, 1), 0);
	r = good, r.client_port = 0;
	assert_int_equal(wire_encode_routes(buf, WIRE_MAX_FRAME, WIRE_ROUTE_DEL, &r, 1), 0);
	r = good, r.target_port = 0;
	assert_int_equal(wire_encode_routes(buf, WIRE_MAX_FRAME, WIRE_ROUTE_DEL, &r, 1), 0);

	/* The largest frame holds 65536 / 40 = 1638 routes; one more is refused. */
	many = calloc(max + 1, sizeof(*many));
	assert_non_null(many);
	for (size_t i = 0; i <= max; i++)
		many[i] = good;
	assert_int_equal(wire_encode_routes(buf, 2 * WIRE_MAX_FRAME, WIRE_ROUTE_ADD, many, max),
			 WIRE_HEADER_LEN + max * WIRE_ROUTE_LEN);
	assert_int_equal(wire_encode_routes(buf, 2 * WIRE_MAX_FRAME, WIRE_ROUTE_ADD, many, max + 1), 0);
	free(many);
	free(buf);
}

static void test_heartbeat_round_trip(void **state)
{
	const uint64_t clocks[] = { 0, 1, 5000, 0x0123456789abcdefull, UINT64_MAX };
	uint8_t buf[32];
	struct wire_decoder d;
	struct wire_frame f;
	uint64_t out;
	const char *why = NULL;

	assert_int_equal(wire_encode_heartbeat(buf, WIRE_HEADER_LEN + WIRE_HEARTBEAT_LEN - 1, 1), 0);
	for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		assert_int_equal(wire_encode_heartbeat(buf, sizeof(buf), clocks[i]), 16);
		decoder_after_hello(&d, WIRE_ROLE_INTERCEPT);
		assert_int_equal(wire_decoder_feed(&d, buf, 16), 0);
		assert_int_equal(wire_decoder_next(&d, &f), 1);
		assert_int_equal(wire_heartbeat_parse(&f, &out, &why), 0);
		assert_true(out == clocks[i]);
		wire_decoder_free(&d);
	}
	assert_int_equal(buf[8], 0xff);	/* big-endian: the last clock's top byte first */
}

/* Encode an ERROR into a buffer of cap bytes, decode it (as a first frame,
 * which ERROR may be) and return its message. */
static size_t error_round_trip(size_t cap, uint16_t code, const char *msg, char *out)
{
	uint8_t *buf = malloc(cap);
	struct wire_decoder d;
	struct wire_frame f;
	const char *text, *why = NULL;
	uint16_t got_code;
	size_t len, n;

	assert_non_null(buf);
	n = wire_encode_error(buf, cap, code, msg);
	assert_true(n >= WIRE_HEADER_LEN + WIRE_ERROR_MIN_LEN && n <= cap);
	f = decode_one(&d, buf, n);
	assert_int_equal(f.type, WIRE_ERROR);
	assert_int_equal(wire_error_parse(&f, &got_code, &text, &len, &why), 0);
	assert_int_equal(got_code, code);
	memcpy(out, text, len);
	out[len] = 0;
	wire_decoder_free(&d);
	free(buf);
	return len;
}

static void test_error_round_trip(void **state)
{
	char out[WIRE_ERROR_MAX_MSG + 1], *long_msg = malloc(2000);
	uint8_t buf[16];

	assert_non_null(long_msg);
	assert_int_equal(error_round_trip(64, WIRE_ERR_ROLE, "HELLO role 7 unknown", out), 20);
	assert_string_equal(out, "HELLO role 7 unknown");
	assert_int_equal(error_round_trip(64, WIRE_ERR_SHUTDOWN, NULL, out), 0);
	assert_int_equal(error_round_trip(64, 999, "", out), 0);	/* unknown codes travel */
	/* Not UTF-8: each bad byte becomes '?'. */
	error_round_trip(64, WIRE_ERR_MALFORMED, "a\xff" "b\xc3(\xe2\x82\xac", out);
	assert_string_equal(out, "a?b?(\xe2\x82\xac");
	/* Cut to WIRE_ERROR_MAX_MSG without splitting the 2-byte character
	 * that would straddle the limit: 1023 + 2 > 1024, so 1023 bytes. */
	memset(long_msg, 'a', 1023);
	strcpy(long_msg + 1023, "\xc3\xa9 and more");
	assert_int_equal(error_round_trip(4096, WIRE_ERR_INTERNAL, long_msg, out), 1023);
	memset(long_msg, 'b', 1999);
	long_msg[1999] = 0;
	assert_int_equal(error_round_trip(4096, WIRE_ERR_INTERNAL, long_msg, out), WIRE_ERROR_MAX_MSG);
	/* Cut to the caller's buffer: 20 - 12 = 8 bytes of message. */
	assert_int_equal(error_round_trip(20, WIRE_ERR_TIMEOUT, "no frame for 20 s", out), 8);
	assert_string_equal(out, "no frame");
	assert_int_equal(wire_encode_error(buf, 11, WIRE_ERR_TIMEOUT, "x"), 0);
	assert_int_equal(wire_encode_error(NULL, 64, WIRE_ERR_TIMEOUT, "x"), 0);
	free(long_msg);
}

static void test_summaries_round_trip(void **state)
{
	uint8_t *buf = malloc(WIRE_MAX_FRAME), data[256], flags;
	struct wire_decoder d;
	struct wire_frame f;
	struct wire_batch b;
	struct wire_summary_iter it;
	struct wire_summary s;
	uint32_t payload_len;
	const char *why = NULL;
	size_t n, len;
	unsigned seen_v4 = 0, seen_v6 = 0, seen_prefix = 0;

	assert_non_null(buf);
	wire_batch_init(&b, buf, WIRE_MAX_FRAME);
	assert_int_equal(wire_batch_finish(&b), 0);	/* empty: nothing to send */
	for (unsigned i = 0; i < 12; i++) {
		len = test_summary_data(data, sizeof(data), i, &flags, &payload_len);
		assert_int_equal(wire_batch_add(&b, flags, payload_len, data, len), 0);
	}
	assert_int_equal(b.count, 12);
	n = wire_batch_finish(&b);
	assert_int_equal(n, b.len);

	decoder_after_hello(&d, WIRE_ROLE_INTERCEPT);
	assert_int_equal(wire_decoder_feed(&d, buf, n), 0);
	assert_int_equal(wire_decoder_next(&d, &f), 1);
	assert_int_equal(f.type, WIRE_SUMMARIES);
	wire_summary_iter_init(&it, &f);
	for (unsigned i = 0; i < 12; i++) {
		assert_int_equal(wire_summary_next(&it, &s, &why), 1);
		len = test_summary_data(data, sizeof(data), i, &flags, &payload_len);
		assert_int_equal(s.flags, flags);
		assert_int_equal(s.payload_len, payload_len);
		assert_int_equal(s.data_len, len);
		assert_memory_equal(s.data, data, len);
		seen_v4 += s.data[0] >> 4 == 4;
		seen_v6 += s.data[0] >> 4 == 6;
		seen_prefix += s.flags == WIRE_SUMMARY_PREFIX;
	}
	assert_int_equal(wire_summary_next(&it, &s, &why), 0);
	assert_true(seen_v4 > 0 && seen_v6 > 0 && seen_prefix > 0);
	wire_decoder_free(&d);
	free(buf);
}

/*
 * Fill a batch of cap bytes with 48-byte records (8-byte record header +
 * 40 bytes of IPv4 + TCP header) until it refuses one.
 */
static void fill_batch(size_t cap, size_t expect_count)
{
	uint8_t *buf = malloc(cap + 16), data[40] = { 0x45 };
	struct wire_decoder d;
	struct wire_frame f;
	struct wire_batch b;
	struct wire_summary_iter it;
	struct wire_summary s;
	const char *why = NULL;
	uint32_t i = 0;
	size_t n;

	assert_non_null(buf);
	memset(buf + cap, 0xa5, 16);
	wire_batch_init(&b, buf, cap);
	while (wire_batch_add(&b, 0, i, data, sizeof(data)) == 0)
		i++;
	assert_int_equal(i, expect_count);
	assert_int_equal(b.count, expect_count);
	n = wire_batch_finish(&b);
	if (expect_count == 0) {
		assert_int_equal(n, 0);
		free(buf);
		return;
	}
	assert_int_equal(n, WIRE_HEADER_LEN + WIRE_SUMMARIES_HEADER_LEN + 48 * expect_count);
	assert_true(n <= cap && n <= WIRE_MAX_FRAME);
	for (size_t k = 0; k < 16; k++)
		assert_int_equal(buf[cap + k], 0xa5);	/* nothing written past cap */

	decoder_after_hello(&d, WIRE_ROLE_INTERCEPT);
	assert_int_equal(wire_decoder_feed(&d, buf, n), 0);
	assert_int_equal(wire_decoder_next(&d, &f), 1);
	wire_summary_iter_init(&it, &f);
	for (i = 0; i < expect_count; i++) {
		assert_int_equal(wire_summary_next(&it, &s, &why), 1);
		assert_int_equal(s.payload_len, i);
	}
	assert_int_equal(wire_summary_next(&it, &s, &why), 0);
	wire_decoder_free(&d);
	free(buf);
}

static void test_batch_fills_until_full(void **state)
{
	/* A whole frame: (65536 - 4) / 48 = 1365 records (12 bytes left). */
	fill_batch(WIRE_MAX_FRAME, 1365);
	/* A larger buffer changes nothing: the frame stays within the maximum. */
	fill_batch(3 * WIRE_MAX_FRAME, 1365);
	/* A peer that takes 4096-byte bodies: (4096 - 4) / 48 = 85. */
	fill_batch(WIRE_HEADER_LEN + 4096, 85);
	/* Too small for the frame and count headers: no record fits. */
	fill_batch(11, 0);
}

static void test_batch_record_limits(void **state)
{
	size_t exact = WIRE_MAX_BODY - WIRE_SUMMARIES_HEADER_LEN - WIRE_SUMMARY_HEADER_LEN;
	uint8_t *buf = malloc(WIRE_MAX_FRAME), *data = calloc(1, 65535);
	struct wire_batch b;

	assert_non_null(buf);
	assert_non_null(data);
	data[0] = 0x60;
	/* The largest record fills a frame exactly: 65536 - 4 - 8 = 65524. */
	wire_batch_init(&b, buf, WIRE_MAX_FRAME);
	assert_int_equal(wire_batch_add(&b, 0, 0, data, exact + 1), -1);
	assert_int_equal(b.count, 0);
	assert_int_equal(wire_batch_add(&b, 0, 0, data, exact), 0);
	assert_int_equal(wire_batch_finish(&b), WIRE_MAX_FRAME);
	/* Invalid records are refused and leave the batch as it was. */
	wire_batch_init(&b, buf, WIRE_MAX_FRAME);
	assert_int_equal(wire_batch_add(&b, 0x2, 0, data, 40), -1);
	assert_int_equal(wire_batch_add(&b, 0, 0, data, 39), -1);
	assert_int_equal(wire_batch_add(&b, 0, 0, data, 65536), -1);
	assert_int_equal(wire_batch_add(&b, 0, 0, NULL, 40), -1);
	data[0] = 0x55;
	assert_int_equal(wire_batch_add(&b, 0, 0, data, 40), -1);
	assert_int_equal(b.count, 0);
	assert_int_equal(b.len, WIRE_HEADER_LEN + WIRE_SUMMARIES_HEADER_LEN);
	free(data);
	free(buf);
}

static void test_names(void **state)
{
	assert_string_equal(wire_type_name(WIRE_HELLO), "HELLO");
	assert_string_equal(wire_type_name(WIRE_ROUTE_ADD), "ROUTE_ADD");
	assert_string_equal(wire_type_name(WIRE_ROUTE_DEL), "ROUTE_DEL");
	assert_string_equal(wire_type_name(WIRE_SUMMARIES), "SUMMARIES");
	assert_string_equal(wire_type_name(WIRE_HEARTBEAT), "HEARTBEAT");
	assert_string_equal(wire_type_name(WIRE_ERROR), "ERROR");
	assert_string_equal(wire_type_name(0), "unknown");
	assert_string_equal(wire_type_name(7), "unknown");
	assert_string_equal(wire_error_name(WIRE_ERR_MALFORMED), "malformed");
	assert_string_equal(wire_error_name(WIRE_ERR_VERSION), "version");
	assert_string_equal(wire_error_name(WIRE_ERR_ROLE), "role");
	assert_string_equal(wire_error_name(WIRE_ERR_TIMEOUT), "timeout");
	assert_string_equal(wire_error_name(WIRE_ERR_SHUTDOWN), "shutdown");
	assert_string_equal(wire_error_name(WIRE_ERR_INTERNAL), "internal");
	assert_string_equal(wire_error_name(0), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_round_trip),
		cmocka_unit_test(test_hello_encoder_refuses),
		cmocka_unit_test(test_routes_round_trip),
		cmocka_unit_test(test_routes_encoder_refuses),
		cmocka_unit_test(test_heartbeat_round_trip),
		cmocka_unit_test(test_error_round_trip),
		cmocka_unit_test(test_summaries_round_trip),
		cmocka_unit_test(test_batch_fills_until_full),
		cmocka_unit_test(test_batch_record_limits),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
