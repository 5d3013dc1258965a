/*
 * test_tcp_options.c — reading every option doppel knows, skipping the rest,
 * refusing every malformed shape; writing options in Linux's layout and
 * reading them back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lib/net/tcp_options.h"
#include "packet_samples.h"

static void parse_ok(const uint8_t *opt, size_t len, struct tcp_options *o)
{
	const char *why = "(not set)";

	if (packet_parse_tcp_options(opt, len, o, &why))
		fail_msg("options refused: %s", why);
}

static void expect_reject(const uint8_t *opt, size_t len, const char *reason)
{
	struct tcp_options o;
	const char *why = NULL;

	assert_int_equal(packet_parse_tcp_options(opt, len, &o, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, reason);
}

/* The options of the real SYN in packet_samples.h, as Linux wrote them. */
static void test_real_syn_options(void **state)
{
	struct tcp_options o;

	parse_ok(sample_syn_v4 + 40, 20, &o);
	assert_true(o.has_mss);
	assert_int_equal(o.mss, 65495);
	assert_true(o.sack_permitted);
	assert_true(o.has_timestamp);
	assert_int_equal(o.tsval, 3594335225u);
	assert_int_equal(o.tsecr, 0);
	assert_true(o.has_wscale);
	assert_int_equal(o.wscale, 10);
	assert_int_equal(o.sack_blocks, 0);
}

static void test_empty_and_padding(void **state)
{
	static const uint8_t nops[] = { 1, 1, 1, 1 };
	/* After EOL the rest is padding, whatever it holds. */
	static const uint8_t eol_then_garbage[] = { 2, 4, 0x05, 0xb4, 0, 2, 99, 0xff };
	struct tcp_options o;

	parse_ok(nops, 0, &o);
	assert_false(o.has_mss);
	parse_ok(nops, sizeof(nops), &o);
	assert_false(o.has_mss || o.has_wscale || o.sack_permitted || o.has_timestamp);
	parse_ok(eol_then_garbage, sizeof(eol_then_garbage), &o);
	assert_true(o.has_mss);
	assert_int_equal(o.mss, 1460);
}

static void test_sack_blocks(void **state)
{
	uint8_t opt[40] = { 1, 1, 5, 2 + 8 * 4 };
	struct tcp_options o;

	for (int i = 0; i < 8; i++) {
		uint32_t v = 0x01020304u * (uint32_t)(i + 1);

		opt[4 + 4 * i] = (uint8_t)(v >> 24);
		opt[5 + 4 * i] = (uint8_t)(v >> 16);
		opt[6 + 4 * i] = (uint8_t)(v >> 8);
		opt[7 + 4 * i] = (uint8_t)v;
	}
	for (unsigned blocks = 1; blocks <= 4; blocks++) {
		opt[3] = (uint8_t)(2 + 8 * blocks);
		parse_ok(opt, 4 + 8 * blocks, &o);
		assert_int_equal(o.sack_blocks, blocks);
		for (unsigned i = 0; i < blocks; i++) {
			assert_int_equal(o.sack[i].left, 0x01020304u * (2 * i + 1));
			assert_int_equal(o.sack[i].right, 0x01020304u * (2 * i + 2));
		}
	}
}

/* Unknown kinds with a sane length are stepped over. */
static void test_unknown_kinds_skipped(void **state)
{
	static const uint8_t opt[] = {
		30, 4, 0x10, 0x01,		/* MPTCP capable, short */
		34, 10, 1, 2, 3, 4, 5, 6, 7, 8,	/* TCP fast open cookie */
		254, 2,				/* experimental, empty */
		3, 3, 7,			/* window scale 7 */
		1,
	};
	struct tcp_options o;

	parse_ok(opt, sizeof(opt), &o);
	assert_true(o.has_wscale);
	assert_int_equal(o.wscale, 7);
	assert_false(o.has_mss);
}

static void test_wscale_clamped(void **state)
{
	uint8_t opt[] = { 3, 3, 14 };
	struct tcp_options o;

	parse_ok(opt, sizeof(opt), &o);
	assert_int_equal(o.wscale, 14);
	opt[2] = 15;
	parse_ok(opt, sizeof(opt), &o);
	assert_int_equal(o.wscale, 14);
	opt[2] = 255;
	parse_ok(opt, sizeof(opt), &o);
	assert_int_equal(o.wscale, 14);
}

static void test_malformed_shapes(void **state)
{
	static const struct {
		uint8_t bytes[12];
		size_t len;
		const char *reason;
	} cases[] = {
		{ { 2 }, 1, "tcp option has no length byte" },
		{ { 1, 1, 1, 8 }, 4, "tcp option has no length byte" },
		{ { 2, 0, 5, 0xb4 }, 4, "tcp option length < 2" },
		{ { 99, 1, 0, 0 }, 4, "tcp option length < 2" },
		{ { 2, 5, 5, 0xb4 }, 4, "tcp option runs past the header" },
		{ { 1, 8, 10, 0, 0, 0, 0, 0, 0 }, 9, "tcp option runs past the header" },
		{ { 77, 255 }, 2, "tcp option runs past the header" },
		{ { 2, 3, 5 }, 3, "tcp mss option length not 4" },
		{ { 2, 5, 5, 0xb4, 0 }, 5, "tcp mss option length not 4" },
		{ { 3, 2 }, 2, "tcp window scale option length not 3" },
		{ { 3, 4, 7, 0 }, 4, "tcp window scale option length not 3" },
		{ { 4, 3, 0 }, 3, "tcp sack permitted option length not 2" },
		{ { 8, 9, 1, 2, 3, 4, 5, 6, 7 }, 9, "tcp timestamp option length not 10" },
		{ { 8, 11, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, 11, "tcp timestamp option length not 10" },
		{ { 5, 2 }, 2, "tcp sack option length not 2 + 8 * blocks" },
		{ { 5, 9, 1, 2, 3, 4, 5, 6, 7 }, 9, "tcp sack option length not 2 + 8 * blocks" },
		{ { 5, 11, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, 11, "tcp sack option length not 2 + 8 * blocks" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_reject(cases[i].bytes, cases[i].len, cases[i].reason);
}

/* Five SACK blocks need 42 bytes: more than a TCP header holds, but the
 * option parser may be handed any area. */
static void test_too_many_sack_blocks(void **state)
{
	uint8_t opt[42] = { 5, 42 };

	expect_reject(opt, sizeof(opt), "tcp sack option with more than 4 blocks");
}

/* Every shortened copy of the real SYN's options either parses or is
 * refused; with a buffer exactly that long, ASan sees any over-read. */
static void test_every_truncation(void **state)
{
	for (size_t n = 0; n <= 20; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		struct tcp_options o;
		const char *why;

		memcpy(copy, sample_syn_v4 + 40, n);
		int rc = packet_parse_tcp_options(copy, n, &o, &why);

		/* Whole options end at 0, 4, 6 (after SACK permitted), 16, 17
		 * (the NOP), 20; anything else cuts one in half. */
		if (n == 0 || n == 4 || n == 6 || n == 16 || n == 17 || n == 20)
			assert_int_equal(rc, 0);
		else
			assert_int_equal(rc, -1);
		free(copy);
	}
}

/* Writing: each of the 16 combinations has a size that is a multiple of 4,
 * at most 20, and reads back to what was written. */
static void test_write_read_back(void **state)
{
	for (unsigned mask = 0; mask < 16; mask++) {
		struct tcp_options in = {
			.has_mss = mask & 1, .mss = 1400,
			.has_wscale = mask & 2, .wscale = 9,
			.sack_permitted = mask & 4,
			.has_timestamp = mask & 8, .tsval = 0xdeadbeef, .tsecr = 0x01020304,
		};
		struct tcp_options out;
		uint8_t buf[40];
		size_t n = packet_tcp_options_size(&in);

		memset(buf, 0xaa, sizeof(buf));
		assert_int_equal(packet_tcp_options_write(buf, &in), n);
		assert_int_equal(n % 4, 0);
		assert_true(n <= 20);
		assert_int_equal(buf[n], 0xaa);	/* nothing written past n */
		parse_ok(buf, n, &out);
		assert_int_equal(out.has_mss, in.has_mss);
		assert_int_equal(out.has_wscale, in.has_wscale);
		assert_int_equal(out.sack_permitted, in.sack_permitted);
		assert_int_equal(out.has_timestamp, in.has_timestamp);
		if (in.has_mss)
			assert_int_equal(out.mss, 1400);
		if (in.has_wscale)
			assert_int_equal(out.wscale, 9);
		if (in.has_timestamp) {
			assert_int_equal(out.tsval, 0xdeadbeef);
			assert_int_equal(out.tsecr, 0x01020304);
		}
	}
}

/* Written byte for byte as Linux wrote the captured SYN's options. */
static void test_write_matches_linux(void **state)
{
	struct tcp_options o = {
		.has_mss = true, .mss = 65495, .sack_permitted = true,
		.has_timestamp = true, .tsval = 3594335225u, .tsecr = 0,
		.has_wscale = true, .wscale = 10,
	};
	static const uint8_t without_ts[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7, 1, 1, 4, 2 };
	uint8_t buf[20];

	assert_int_equal(packet_tcp_options_write(buf, &o), 20);
	assert_memory_equal(buf, sample_syn_v4 + 40, 20);

	/* Without timestamps (Linux with net.ipv4.tcp_timestamps=0). */
	o = (struct tcp_options){ .has_mss = true, .mss = 1460, .has_wscale = true,
				  .wscale = 7, .sack_permitted = true };
	assert_int_equal(packet_tcp_options_write(buf, &o), sizeof(without_ts));
	assert_memory_equal(buf, without_ts, sizeof(without_ts));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_syn_options),
		cmocka_unit_test(test_empty_and_padding),
		cmocka_unit_test(test_sack_blocks),
		cmocka_unit_test(test_unknown_kinds_skipped),
		cmocka_unit_test(test_wscale_clamped),
		cmocka_unit_test(test_malformed_shapes),
		cmocka_unit_test(test_too_many_sack_blocks),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_write_read_back),
		cmocka_unit_test(test_write_matches_linux),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
