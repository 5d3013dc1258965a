/*
 * test_wire_route_payload.c — feature ROUTE_PAYLOAD (docs/protocol.md
 * sections 6-7): a route's payload wanted round-trips when both HELLOs set
 * the bit, and a non-zero payload wanted is malformed when either did not.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "lib/wire/wire.h"
#include "wire_streams.h"

/* A decoder of a copy's frames (we are intercept, announcing ours), fed
 * the copy's HELLO with peer_features. */
static void decoder_with(struct wire_decoder *d, uint32_t ours, uint32_t peer_features)
{
	struct wire_hello h = { WIRE_VERSION, WIRE_ROLE_COPY, peer_features, WIRE_MAX_BODY };
	uint8_t buf[64];
	struct wire_frame f;
	size_t n = wire_encode_hello(buf, sizeof(buf), &h);

	assert_int_not_equal(n, 0);
	assert_int_equal(wire_decoder_init(d), 0);
	d->peer_role = WIRE_ROLE_COPY;
	d->features = ours;
	assert_int_equal(wire_decoder_feed(d, buf, n), 0);
	assert_int_equal(wire_decoder_next(d, &f), 1);
	assert_int_equal(d->features, ours & peer_features);
}

static size_t encode(uint8_t *buf, size_t cap, uint16_t wanted)
{
	struct wire_route r[2] = {
		test_route("198.18.0.1", 40000, "198.18.0.3", 5432),
		test_route("2001:2::1", 40001, "2001:2::3", 3306),
	};

	r[0].payload_wanted = wanted;
	r[1].payload_wanted = WIRE_PAYLOAD_ALL;
	return wire_encode_routes(buf, cap, WIRE_ROUTE_ADD, r, 2);
}

static void test_round_trip(void **state)
{
	uint8_t buf[256];
	struct wire_decoder d;
	struct wire_frame f;
	struct wire_route out;
	const char *why = NULL;
	size_t n = encode(buf, sizeof(buf), 512);

	(void)state;
	assert_int_equal(n, WIRE_HEADER_LEN + 2 * WIRE_ROUTE_LEN);
	/* the u16 at offset 6 of the first route */
	assert_int_equal(buf[WIRE_HEADER_LEN + 6], 512 >> 8);
	assert_int_equal(buf[WIRE_HEADER_LEN + 7], 512 & 0xff);
	decoder_with(&d, WIRE_FEAT_IPV6 | WIRE_FEAT_ROUTE_PAYLOAD,
		     WIRE_FEAT_IPV6 | WIRE_FEAT_ROUTE_PAYLOAD | 0x80000000u);
	assert_int_equal(wire_decoder_feed(&d, buf, n), 0);
	assert_int_equal(wire_decoder_next(&d, &f), 1);
	assert_int_equal(wire_route_get(&f, 0, &out, &why), 0);
	assert_int_equal(out.payload_wanted, 512);
	assert_int_equal(out.client_port, 40000);
	assert_int_equal(wire_route_get(&f, 1, &out, &why), 0);
	assert_int_equal(out.payload_wanted, WIRE_PAYLOAD_ALL);
	wire_decoder_free(&d);
}

/* Either side without the bit: a non-zero payload wanted is malformed,
 * a zero one is fine. */
static void test_not_negotiated(void **state)
{
	const uint32_t sides[][2] = {
		{ WIRE_FEAT_IPV6 | WIRE_FEAT_ROUTE_PAYLOAD, WIRE_FEAT_IPV6 },
		{ WIRE_FEAT_IPV6, WIRE_FEAT_IPV6 | WIRE_FEAT_ROUTE_PAYLOAD },
	};
	uint8_t buf[256];
	struct wire_decoder d;
	struct wire_frame f;
	size_t n;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		decoder_with(&d, sides[i][0], sides[i][1]);
		n = encode(buf, sizeof(buf), 1);
		assert_int_equal(wire_decoder_feed(&d, buf, n), 0);
		assert_int_equal(wire_decoder_next(&d, &f), -1);
		assert_int_equal(d.error_code, WIRE_ERR_MALFORMED);
		assert_non_null(strstr(d.error, "ROUTE_PAYLOAD"));
		wire_decoder_free(&d);

		struct wire_route zero = test_route("198.18.0.1", 40000, "198.18.0.3", 5432);
		decoder_with(&d, sides[i][0], sides[i][1]);
		n = wire_encode_routes(buf, sizeof(buf), WIRE_ROUTE_ADD, &zero, 1);
		assert_int_equal(wire_decoder_feed(&d, buf, n), 0);
		assert_int_equal(wire_decoder_next(&d, &f), 1);
		wire_decoder_free(&d);
	}
}

/* A decoder whose owner never set features (version 1 code) keeps the
 * old rule: the field is reserved. */
static void test_old_decoder(void **state)
{
	uint8_t buf[256];
	struct wire_decoder d;
	struct wire_frame f;
	size_t n = encode(buf, sizeof(buf), 64);

	(void)state;
	decoder_with(&d, 0, WIRE_FEAT_IPV6 | WIRE_FEAT_ROUTE_PAYLOAD);
	assert_int_equal(wire_decoder_feed(&d, buf, n), 0);
	assert_int_equal(wire_decoder_next(&d, &f), -1);
	wire_decoder_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_not_negotiated),
		cmocka_unit_test(test_old_decoder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
