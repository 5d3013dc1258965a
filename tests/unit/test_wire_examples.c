/*
 * test_wire_examples.c — the worked examples of docs/protocol.md are true:
 * each hex block there is read from the document itself and compared with
 * what the encoders produce for the values the text describes, and decoded.
 * Run from the top of the tree (tests/unit/run.sh does).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/wire/wire.h"
#include "wire_streams.h"

#define DOC "docs/protocol.md"

static char *read_doc(void)
{
	FILE *f = fopen(DOC, "r");
	char *text;
	long len;

	if (!f)
		fail_msg("cannot open %s (run from the top of the tree)", DOC);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len > 0);
	rewind(f);
	text = malloc((size_t)len + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
	text[len] = 0;
	fclose(f);
	return text;
}

static int hex_digit(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The bytes of the code block after the heading: on each line, the
 * two-digit hex words before the first other word (the annotation). */
static size_t example_bytes(const char *doc, const char *heading, uint8_t *out, size_t cap)
{
	const char *p = strstr(doc, heading), *end;
	size_t n = 0;

	if (!p)
		fail_msg("%s has no heading \"%s\"", DOC, heading);
	p = strstr(p, "```\n");
	assert_non_null(p);
	p += 4;
	end = strstr(p, "```");
	assert_non_null(end);
	while (p < end) {
		while (*p == ' ')
			p++;
		while (hex_digit(p[0]) >= 0 && hex_digit(p[1]) >= 0 && (p[2] == ' ' || p[2] == '\n')) {
			assert_true(n < cap);
			out[n++] = (uint8_t)(hex_digit(p[0]) << 4 | hex_digit(p[1]));
			p += 2;
			while (*p == ' ')
				p++;
		}
		p = strchr(p, '\n') + 1;
	}
	return n;
}

static void assert_example(const char *doc, const char *heading, const uint8_t *encoded, size_t len)
{
	uint8_t want[512];
	size_t n = example_bytes(doc, heading, want, sizeof(want));

	if (n != len || memcmp(want, encoded, len) != 0)
		fail_msg("%s \"%s\": %zu bytes in the document, the encoder makes %zu (or others)",
			 DOC, heading, n, len);
}

static void test_examples_match_encoders(void **state)
{
	char *doc = read_doc();
	uint8_t buf[512];
	struct wire_hello h = { WIRE_VERSION, WIRE_ROLE_COPY,
				WIRE_FEAT_IPV6 | WIRE_FEAT_PAYLOAD_PREFIX, 65536 };
	struct wire_route r[2] = {
		test_route("198.18.0.1", 40000, "198.19.0.10", 80),
		test_route("2001:db8::1", 5555, "2001:db8::2", 443),
	};
	size_t n;

	n = wire_encode_hello(buf, sizeof(buf), &h);
	assert_example(doc, "### HELLO from a copy daemon", buf, n);
	n = wire_encode_routes(buf, sizeof(buf), WIRE_ROUTE_ADD, r, 2);
	assert_example(doc, "### ROUTE_ADD with an IPv4 and an IPv6 route", buf, n);
	n = wire_encode_routes(buf, sizeof(buf), WIRE_ROUTE_DEL, r, 1);
	assert_example(doc, "### ROUTE_DEL of the IPv4 route", buf, n);
	n = wire_encode_heartbeat(buf, sizeof(buf), 123456789);
	assert_example(doc, "### HEARTBEAT", buf, n);
	n = wire_encode_error(buf, sizeof(buf), WIRE_ERR_VERSION,
			      "HELLO version 2, this side speaks version 1");
	assert_example(doc, "### ERROR\n", buf, n);
	free(doc);
}

/* The SUMMARIES example decodes to what its text says, and a batch of the
 * same records makes the same bytes. */
static void test_summaries_example(void **state)
{
	char *doc = read_doc();
	uint8_t frame[512], hello[64], rebuilt[512];
	struct wire_hello h = { WIRE_VERSION, WIRE_ROLE_INTERCEPT, 3, 65536 };
	struct wire_decoder d;
	struct wire_frame f;
	struct wire_summary_iter it;
	struct wire_summary s[2];
	struct wire_batch b;
	const char *why = NULL;
	size_t n = example_bytes(doc, "### SUMMARIES with two records", frame, sizeof(frame));

	assert_int_equal(n, 120);
	assert_int_equal(wire_decoder_init(&d), 0);
	assert_int_equal(wire_decoder_feed(&d, hello, wire_encode_hello(hello, sizeof(hello), &h)), 0);
	assert_int_equal(wire_decoder_feed(&d, frame, n), 0);
	assert_int_equal(wire_decoder_next(&d, &f), 1);
	assert_int_equal(wire_decoder_next(&d, &f), 1);
	assert_int_equal(f.type, WIRE_SUMMARIES);
	wire_summary_iter_init(&it, &f);
	assert_int_equal(wire_summary_next(&it, &s[0], &why), 1);
	assert_int_equal(wire_summary_next(&it, &s[1], &why), 1);
	assert_int_equal(wire_summary_next(&it, &s[1], &why), 0);
	wire_summary_iter_init(&it, &f);
	wire_summary_next(&it, &s[0], &why);
	wire_summary_next(&it, &s[1], &why);
	assert_int_equal(s[0].flags, 0);
	assert_int_equal(s[0].data_len, 44);
	assert_int_equal(s[0].payload_len, 0);
	assert_int_equal(s[0].data[33], 0x12);		/* SYN|ACK */
	assert_int_equal(s[1].flags, WIRE_SUMMARY_PREFIX);
	assert_int_equal(s[1].data_len, 48);
	assert_int_equal(s[1].payload_len, 512);
	assert_memory_equal(s[1].data + 40, "HTTP/1.1", 8);

	wire_batch_init(&b, rebuilt, sizeof(rebuilt));
	for (int i = 0; i < 2; i++)
		assert_int_equal(wire_batch_add(&b, s[i].flags, s[i].payload_len, s[i].data, s[i].data_len), 0);
	assert_int_equal(wire_batch_finish(&b), n);
	assert_memory_equal(rebuilt, frame, n);
	wire_decoder_free(&d);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples_match_encoders),
		cmocka_unit_test(test_summaries_example),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
