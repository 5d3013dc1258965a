/*
 * test_copy_compare_answer.c — copy/compare/: each protocol's answer
 * reduced to verdict, counts and digest, and two answers compared.
 * Every answer is fed three ways (whole, byte by byte, in pieces of 7)
 * and must come out the same: a piece may end anywhere.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "copy/compare/answer.h"
#include "copy/compare/verdict.h"

static struct answer_config cfg_of(enum compare_proto p)
{
	struct answer_config c = { .proto = p, .head_bytes = 64 };

	return c;
}

/* The request the answers reduced next belong to (answer_set_request). */
static const uint8_t *request;
static size_t request_len;

/* Feed whole, byte by byte and in 7-byte pieces; check all three agree. */
static void reduce(const struct answer_config *c, const void *bytes, size_t len, struct answer *out)
{
	struct answer split[2];
	const uint8_t *b = bytes;

	assert_int_equal(answer_init(out, c), 0);
	answer_set_request(out, request, request_len);
	answer_feed(out, b, len, 10);
	answer_finish(out);
	for (int k = 0; k < 2; k++) {
		size_t step = k == 0 ? 1 : 7;

		assert_int_equal(answer_init(&split[k], c), 0);
		answer_set_request(&split[k], request, request_len);
		for (size_t i = 0; i < len; i += step)
			answer_feed(&split[k], b + i, len - i < step ? len - i : step, 10 + i);
		answer_finish(&split[k]);
		assert_memory_equal(split[k].digest, out->digest, ANSWER_DIGEST_LEN);
		assert_string_equal(split[k].verdict, out->verdict);
		assert_int_equal(split[k].messages, out->messages);
		assert_int_equal(split[k].complete, out->complete);
		assert_int_equal(split[k].errors, out->errors);
		assert_int_equal(split[k].malformed, out->malformed);
		assert_int_equal(split[k].digested, out->digested);
	}
	assert_int_equal(out->bytes, len);
}

static enum compare_kind cmp(const struct answer_config *c, const char *online, const char *target)
{
	struct answer a, b;

	reduce(c, online, strlen(online), &a);
	reduce(c, target, strlen(target), &b);
	return compare_answers(&a, &b);
}

static void test_http_volatile_headers_ignored(void **state)
{
	struct answer_config c = cfg_of(COMPARE_HTTP);
	const char *a = "HTTP/1.1 200 OK\r\nServer: nginx/1.22\r\nDate: Mon, 07 Dec 2026 10:00:00 GMT\r\n"
			"Content-Type: text/plain\r\nContent-Length: 5\r\nETag: \"abc\"\r\n\r\nhello";
	const char *b = "HTTP/1.1 200 OK\r\nserver: nginx/1.24\r\nDate: Mon, 07 Dec 2026 10:00:09 GMT\r\n"
			"content-type:   text/plain  \r\nContent-Length: 5\r\nETag: \"xyz\"\r\n\r\nhello";
	struct answer x;

	assert_int_equal(cmp(&c, a, b), COMPARE_SAME);
	reduce(&c, a, strlen(a), &x);
	assert_string_equal(x.verdict, "200");
	assert_int_equal(x.messages, 1);
	assert_int_equal(x.errors, 0);
	assert_false(x.malformed);
	assert_int_equal(x.head_len, 64);
	assert_memory_equal(x.head, a, 64);
}

static void test_http_chunked_equals_length(void **state)
{
	struct answer_config c = cfg_of(COMPARE_HTTP);
	const char *a = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world";
	const char *b = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
	const char *d = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			"5\r\nhello\r\n6\r\n wOrld\r\n0\r\n\r\n";

	assert_int_equal(cmp(&c, a, b), COMPARE_SAME);
	assert_int_equal(cmp(&c, a, d), COMPARE_BODY);
}

static void test_http_status_and_body_differ(void **state)
{
	struct answer_config c = cfg_of(COMPARE_HTTP);
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	const char *err = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\nok";
	const char *other = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK";
	struct answer x;

	assert_int_equal(cmp(&c, ok, err), COMPARE_STATUS);
	assert_int_equal(cmp(&c, ok, other), COMPARE_BODY);
	reduce(&c, err, strlen(err), &x);
	assert_string_equal(x.verdict, "500");
	assert_int_equal(x.errors, 1);
}

static void test_http_header_volatile_by_config(void **state)
{
	static const char *const vol[] = { "x-version", "date" };
	struct answer_config c = cfg_of(COMPARE_HTTP);
	const char *a = "HTTP/1.1 200 OK\r\nX-Version: 1\r\nContent-Length: 0\r\n\r\n";
	const char *b = "HTTP/1.1 200 OK\r\nX-Version: 2\r\nContent-Length: 0\r\n\r\n";

	assert_int_equal(cmp(&c, a, b), COMPARE_BODY);
	c.volatile_headers = vol;
	c.n_volatile = 2;
	assert_int_equal(cmp(&c, a, b), COMPARE_SAME);
}

static void test_http_pipelined_interim_and_close(void **state)
{
	struct answer_config c = cfg_of(COMPARE_HTTP);
	const char *a = "HTTP/1.1 100 Continue\r\n\r\n"
			"HTTP/1.1 204 No Content\r\n\r\n"
			"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!"
			"HTTP/1.0 200 OK\r\n\r\nuntil the end";
	struct answer x;

	reduce(&c, a, strlen(a), &x);
	assert_int_equal(x.messages, 4);
	assert_int_equal(x.complete, 3);	/* the last one's body runs to the end */
	assert_int_equal(x.errors, 1);
	assert_string_equal(x.verdict, "404");	/* the first error wins over 204 */
	assert_false(x.malformed);
}

static void test_http_not_http_is_malformed(void **state)
{
	struct answer_config c = cfg_of(COMPARE_HTTP);
	struct answer x;
	const char *junk = "SSH-2.0-OpenSSH\r\nmore bytes";

	reduce(&c, junk, strlen(junk), &x);
	assert_true(x.malformed);
	assert_int_equal(cmp(&c, "HTTP/1.1 200 OK\r\n\r\n", junk), COMPARE_STATUS);
}

static void test_redis_replies_and_errors(void **state)
{
	struct answer_config c = cfg_of(COMPARE_REDIS);
	const char *a = "+OK\r\n$5\r\nhello\r\n$-1\r\n*2\r\n*1\r\n:1\r\n$3\r\nb\r\n\r\n"
			"%1\r\n+k\r\n,3.5\r\n_\r\n#t\r\n";
	struct answer x;

	reduce(&c, a, strlen(a), &x);
	assert_int_equal(x.messages, 7);
	assert_int_equal(x.complete, 7);
	assert_int_equal(x.errors, 0);
	assert_false(x.malformed);
	assert_string_equal(x.verdict, "");

	const char *e = "+OK\r\n-ERR unknown command 'FOO'\r\n*2\r\n+QUEUED\r\n-WRONGTYPE bad\r\n!9\r\nSYNTAX no\r\n";

	reduce(&c, e, strlen(e), &x);
	assert_int_equal(x.messages, 4);
	assert_int_equal(x.errors, 3);
	assert_string_equal(x.verdict, "ERR");
	assert_int_equal(cmp(&c, "+OK\r\n", "-ERR unknown command\r\n"), COMPARE_STATUS);
	assert_int_equal(cmp(&c, "$1\r\na\r\n", "$1\r\nb\r\n"), COMPARE_BODY);
	assert_int_equal(cmp(&c, "$1\r\na\r\n", "$1\r\na\r\n"), COMPARE_SAME);
}

static void test_redis_malformed_and_deep(void **state)
{
	struct answer_config c = cfg_of(COMPARE_REDIS);
	struct answer x;
	char deep[200] = "";

	for (int i = 0; i < 40; i++)
		strcat(deep, "*1\r\n");
	strcat(deep, ":1\r\n");
	reduce(&c, deep, strlen(deep), &x);
	assert_true(x.malformed);
	reduce(&c, "?junk\r\n", 7, &x);
	assert_true(x.malformed);
	reduce(&c, "$abc\r\n", 6, &x);
	assert_true(x.malformed);
}

/* PostgreSQL messages: type, length (counting itself), body. */
static size_t pg_msg(uint8_t *out, char type, const void *body, size_t len)
{
	out[0] = (uint8_t)type;
	uint32_t l = (uint32_t)len + 4;

	out[1] = (uint8_t)(l >> 24);
	out[2] = (uint8_t)(l >> 16);
	out[3] = (uint8_t)(l >> 8);
	out[4] = (uint8_t)l;
	memcpy(out + 5, body, len);
	return len + 5;
}

static size_t pg_select(uint8_t *b, const char *param, const char *value)
{
	size_t n = 0;

	n += pg_msg(b + n, 'S', param, strlen(param) + 1);
	n += pg_msg(b + n, 'T', "\0\1x\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
	n += pg_msg(b + n, 'D', value, strlen(value));
	n += pg_msg(b + n, 'C', "SELECT 1", 9);
	n += pg_msg(b + n, 'Z', "I", 1);
	return n;
}

static void test_postgres_outcomes(void **state)
{
	struct answer_config c = cfg_of(COMPARE_POSTGRES);
	uint8_t a[256], b[256], e[256];
	size_t na = pg_select(a, "server_version", "one");
	size_t nb = pg_select(b, "application_name", "one");
	static const char err[] = "SERROR\0VERROR\0C42P01\0Mrelation \"t\" does not exist\0\0";
	size_t ne = pg_msg(e, 'E', err, sizeof(err) - 1);

	ne += pg_msg(e + ne, 'Z', "I", 1);
	struct answer x, y, z;

	reduce(&c, a, na, &x);
	reduce(&c, b, nb, &y);
	reduce(&c, e, ne, &z);
	assert_string_equal(x.verdict, "SELECT");
	assert_int_equal(x.messages, 1);
	assert_int_equal(compare_answers(&x, &y), COMPARE_SAME);	/* ParameterStatus is not compared */
	assert_string_equal(z.verdict, "42P01");
	assert_int_equal(z.errors, 1);
	assert_int_equal(compare_answers(&x, &z), COMPARE_STATUS);
	nb = pg_select(b, "server_version", "two");
	reduce(&c, b, nb, &y);
	assert_int_equal(compare_answers(&x, &y), COMPARE_BODY);
	uint8_t bad[5] = { 'D', 0, 0, 0, 2 };

	reduce(&c, bad, 5, &z);
	assert_true(z.malformed);
}

/* MySQL packets: 3-byte length, sequence id, payload. */
static size_t my_pkt(uint8_t *out, uint8_t seq, const void *p, size_t len)
{
	out[0] = (uint8_t)len;
	out[1] = (uint8_t)(len >> 8);
	out[2] = (uint8_t)(len >> 16);
	out[3] = seq;
	memcpy(out + 4, p, len);
	return len + 4;
}

static size_t my_result(uint8_t *b, bool deprecate_eof, const char *row)
{
	size_t n = 0;
	uint8_t seq = 1;
	uint8_t r[32];

	n += my_pkt(b + n, seq++, "\x01", 1);
	n += my_pkt(b + n, seq++, "\x03" "def\x00\x00\x00\x01x\x00\x0c\x21\x00\x00\x00\x00\x00\xfd\x00\x00\x00\x00\x00", 24);
	if (!deprecate_eof)
		n += my_pkt(b + n, seq++, "\xfe\x00\x00\x02\x00", 5);
	r[0] = (uint8_t)strlen(row);
	memcpy(r + 1, row, strlen(row));
	n += my_pkt(b + n, seq++, r, strlen(row) + 1);
	if (deprecate_eof)
		n += my_pkt(b + n, seq++, "\xfe\x00\x00\x02\x00\x00\x00", 7);
	else
		n += my_pkt(b + n, seq++, "\xfe\x00\x00\x02\x00", 5);
	return n;
}

static void test_mysql_outcomes(void **state)
{
	struct answer_config c = cfg_of(COMPARE_MYSQL);
	uint8_t a[256], b[256];
	struct answer x, y;
	/* OK: affected rows 1, insert ids 7 and 9: the same answer. */
	size_t na = my_pkt(a, 1, "\x00\x01\x07\x02\x00\x00\x00", 7);
	size_t nb = my_pkt(b, 1, "\x00\x01\x09\x02\x00\x00\x00", 7);

	reduce(&c, a, na, &x);
	reduce(&c, b, nb, &y);
	assert_string_equal(x.verdict, "OK");
	assert_int_equal(compare_answers(&x, &y), COMPARE_SAME);
	nb = my_pkt(b, 1, "\x00\x02\x09\x02\x00\x00\x00", 7);
	reduce(&c, b, nb, &y);
	assert_int_equal(compare_answers(&x, &y), COMPARE_BODY);

	static const char err[] = "\xff\x7a\x04#42S02Table 't' doesn't exist";

	nb = my_pkt(b, 1, err, sizeof(err) - 1);
	reduce(&c, b, nb, &y);
	assert_string_equal(y.verdict, "ERR 1146");
	assert_int_equal(compare_answers(&x, &y), COMPARE_STATUS);

	/* A result set, with and without the EOF after the columns, then an
	 * OK of the next statement in the same answer. */
	na = my_result(a, false, "row");
	na += my_pkt(a + na, 1, "\x00\x00\x00\x02\x00\x00\x00", 7);
	reduce(&c, a, na, &x);
	assert_string_equal(x.verdict, "RESULT");
	assert_int_equal(x.messages, 2);
	assert_int_equal(x.complete, 2);
	assert_false(x.malformed);
	nb = my_result(b, true, "row");
	nb += my_pkt(b + nb, 1, "\x00\x00\x00\x02\x00\x00\x00", 7);
	reduce(&c, b, nb, &y);
	assert_int_equal(y.messages, 2);
	assert_int_equal(compare_answers(&x, &y), COMPARE_SAME);
	nb = my_result(b, false, "rOw");
	nb += my_pkt(b + nb, 1, "\x00\x00\x00\x02\x00\x00\x00", 7);
	reduce(&c, b, nb, &y);
	assert_int_equal(compare_answers(&x, &y), COMPARE_BODY);
}

#define MY_DEF "\x03" "def\x00\x00\x00\x01x\x00\x0c\x21\x00\x00\x00\x00\x00\xfd\x00\x00\x00\x00\x00"
#define MY_EOF "\xfe\x00\x00\x02\x00"

/* COM_STMT_PREPARE's answer: PREPARE_OK with statement id `id`, then
 * `params` and `cols` definitions, each list closed by an EOF unless
 * deprecate_eof. */
static size_t my_prepare(uint8_t *b, uint8_t id, bool deprecate_eof, uint8_t params, uint8_t cols)
{
	uint8_t ok[12] = { 0x00, id, 0, 0, 0, cols, 0, params, 0, 0, 0, 0 };
	uint8_t seq = 1;
	size_t n = my_pkt(b, seq++, ok, sizeof(ok));

	for (int list = 0; list < 2; list++) {
		uint8_t count = list ? cols : params;

		for (uint8_t i = 0; i < count; i++)
			n += my_pkt(b + n, seq++, MY_DEF, 24);
		if (count && !deprecate_eof)
			n += my_pkt(b + n, seq++, MY_EOF, 5);
	}
	return n;
}

/* COM_STMT_EXECUTE's result set: one column, binary rows (0x00, the NULL
 * bitmap, the value), the terminator of either form. */
static size_t my_binary_result(uint8_t *b, bool deprecate_eof, const char *row)
{
	uint8_t r[32] = { 0x00, 0x00, (uint8_t)strlen(row) };
	uint8_t seq = 1;
	size_t n = my_pkt(b, seq++, "\x01", 1);

	n += my_pkt(b + n, seq++, MY_DEF, 24);
	if (!deprecate_eof)
		n += my_pkt(b + n, seq++, MY_EOF, 5);
	memcpy(r + 3, row, strlen(row));
	n += my_pkt(b + n, seq++, r, strlen(row) + 3);
	n += my_pkt(b + n, seq++, r, strlen(row) + 3);
	if (deprecate_eof)
		n += my_pkt(b + n, seq++, "\xfe\x00\x00\x02\x00\x00\x00", 7);
	else
		n += my_pkt(b + n, seq++, MY_EOF, 5);
	return n;
}

static void use_request(const uint8_t *req, size_t len)
{
	request = req;
	request_len = len;
}

/* COM_STMT_PREPARE is answered by one answer, with or without EOFs, the
 * statement ids aside; after COM_STMT_CLOSE (no answer) in the same
 * request, the prepare is the command answered. Unknown, its definitions
 * read as result sets, several answers: the shift issue 15 saw. */
static void test_mysql_prepare(void **state)
{
	struct answer_config c = cfg_of(COMPARE_MYSQL);
	uint8_t a[512], b[512], req[64];
	struct answer x, y;
	size_t nr = my_pkt(req, 0, "\x19\x01\x00\x00\x00", 5);

	nr += my_pkt(req + nr, 0, "\x16SELECT c FROM t WHERE id=? AND k=?", 35);
	for (int params = 0; params <= 2; params += 2)
		for (int cols = 0; cols <= 1; cols++) {
			size_t na = my_prepare(a, 1, false, (uint8_t)params, (uint8_t)cols);
			size_t nb = my_prepare(b, 7, true, (uint8_t)params, (uint8_t)cols);

			use_request(req, nr);
			reduce(&c, a, na, &x);
			reduce(&c, b, nb, &y);
			assert_string_equal(x.verdict, "PREPARED");
			assert_int_equal(x.messages, 1);
			assert_int_equal(x.complete, 1);
			assert_int_equal(y.complete, 1);
			assert_false(x.malformed);
			assert_int_equal(compare_answers(&x, &y), COMPARE_SAME);
			nb = my_prepare(b, 1, false, (uint8_t)params, (uint8_t)(cols + 1));
			reduce(&c, b, nb, &y);
			assert_int_equal(compare_answers(&x, &y), COMPARE_BODY);
		}
	static const char err[] = "\xff\x7a\x04#42S02Table 't' doesn't exist";
	size_t nb = my_pkt(b, 1, err, sizeof(err) - 1);

	reduce(&c, b, nb, &y);
	assert_string_equal(y.verdict, "ERR 1146");
	assert_int_equal(compare_answers(&x, &y), COMPARE_STATUS);
	use_request(req, 9);	/* the close alone: no command answered known */
	reduce(&c, a, my_prepare(a, 1, false, 2, 1), &x);
	assert_true(x.messages > 1);
	use_request(NULL, 0);
}

/* COM_STMT_EXECUTE's binary result set is one answer, either form. */
static void test_mysql_execute_binary_rows(void **state)
{
	struct answer_config c = cfg_of(COMPARE_MYSQL);
	uint8_t a[512], b[512], req[16];
	struct answer x, y;
	size_t nr = my_pkt(req, 0, "\x17\x01\x00\x00\x00\x00\x01\x00\x00\x00", 10);

	use_request(req, nr);
	reduce(&c, a, my_binary_result(a, false, "row"), &x);
	reduce(&c, b, my_binary_result(b, true, "row"), &y);
	assert_string_equal(x.verdict, "RESULT");
	assert_int_equal(x.messages, 1);
	assert_int_equal(x.complete, 1);
	assert_int_equal(y.complete, 1);
	assert_int_equal(compare_answers(&x, &y), COMPARE_SAME);
	reduce(&c, b, my_binary_result(b, true, "rOw"), &y);
	assert_int_equal(compare_answers(&x, &y), COMPARE_BODY);
	/* MariaDB's metadata cache: the count then 0, no definitions; no
	 * row, so the terminator comes right after the count. */
	size_t nb = my_pkt(b, 1, "\x01\x00", 2);

	nb += my_pkt(b + nb, 2, "\xfe\x00\x00\x02\x00\x00\x00", 7);
	nb += my_pkt(b + nb, 1, "\x00\x01\x00\x02\x00\x00\x00", 7);
	reduce(&c, b, nb, &y);
	assert_string_equal(y.verdict, "RESULT");
	assert_int_equal(y.messages, 2);
	assert_int_equal(y.complete, 2);
	assert_false(y.malformed);
	use_request(NULL, 0);
}

/* A target packet with a prepare answer and the next answer: with
 * stop_at 1 the prepare takes its own bytes, its last EOF included when
 * the online answer had one (answer_follow), none past them without. */
static void test_mysql_prepare_stop_at(void **state)
{
	struct answer_config c = cfg_of(COMPARE_MYSQL);
	uint8_t req[16], both[512];
	size_t nr = my_pkt(req, 0, "\x16SELECT ?", 9);

	for (int k = 0; k < 4; k++) {
		/* one list (its EOF cannot be foreseen) or two, either form */
		bool deprecate = k & 1;
		struct answer online, target;
		size_t n1 = my_prepare(both, 3, deprecate, 1, (uint8_t)(k >> 1));
		size_t n2 = my_pkt(both + n1, 1, "\x00\x01\x00\x02\x00\x00\x00", 7);

		assert_int_equal(answer_init(&online, &c), 0);
		answer_set_request(&online, req, nr);
		assert_int_equal(answer_feed(&online, both, n1, 1), n1);
		assert_int_equal(online.complete, 1);
		assert_int_equal(answer_init(&target, &c), 0);
		answer_set_request(&target, req, nr);
		answer_follow(&target, &online);
		target.stop_at = 1;
		/* in pieces: the split holds wherever a piece ends */
		size_t used = 0;

		for (size_t i = 0; i < n1 + n2; i += 3)
			used += answer_feed(&target, both + i, n1 + n2 - i < 3 ? n1 + n2 - i : 3, 2);
		assert_int_equal(used, n1);
		answer_finish(&online);
		answer_finish(&target);
		assert_int_equal(compare_answers(&online, &target), COMPARE_SAME);
	}
}

static void test_raw_and_missing(void **state)
{
	struct answer_config c = cfg_of(COMPARE_RAW);
	struct answer x, y;

	assert_int_equal(cmp(&c, "abc", "abc"), COMPARE_SAME);
	assert_int_equal(cmp(&c, "abc", "abd"), COMPARE_BODY);
	assert_int_equal(cmp(&c, "abc", "abcd"), COMPARE_BODY);
	reduce(&c, "abc", 3, &x);
	assert_int_equal(answer_init(&y, &c), 0);
	answer_finish(&y);
	assert_int_equal(compare_answers(&x, &y), COMPARE_MISSING);
	assert_int_equal(x.first_time, 10);
	assert_string_equal(compare_kind_name(COMPARE_MISSING), "missing");
}

/* stop_at: two answers back to back, the first fed with stop_at 1 takes
 * its own bytes exactly (the pairing splits a shared target packet), the
 * rest reduces as if fed alone; with stop_at reached, nothing is taken. */
static void check_stop_at(enum compare_proto proto, const uint8_t *first, size_t n1,
			  const uint8_t *second, size_t n2)
{
	struct answer_config c = cfg_of(proto);
	uint8_t both[512];
	struct answer x, y, alone;

	assert_true(n1 + n2 <= sizeof(both));
	memcpy(both, first, n1);
	memcpy(both + n1, second, n2);
	assert_int_equal(answer_init(&x, &c), 0);
	x.stop_at = 1;
	assert_int_equal(answer_feed(&x, both, n1 + n2, 1), n1);
	assert_int_equal(x.complete, 1);
	assert_int_equal(x.bytes, n1);
	assert_int_equal(x.head_len, n1 < 64 ? n1 : 64);
	assert_int_equal(answer_feed(&x, both + n1, n2, 2), 0);
	answer_finish(&x);
	assert_int_equal(answer_init(&y, &c), 0);
	y.stop_at = 1;
	assert_int_equal(answer_feed(&y, both + n1, n2, 3), n2);
	answer_finish(&y);
	reduce(&c, second, n2, &alone);
	assert_memory_equal(y.digest, alone.digest, ANSWER_DIGEST_LEN);
	assert_string_equal(y.verdict, alone.verdict);
}

static void test_stop_at(void **state)
{
	static const char h1[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	static const char h2[] = "HTTP/1.1 404 No\r\nContent-Length: 3\r\n\r\nnot";
	static const char r1[] = "*2\r\n$1\r\na\r\n:5\r\n", r2[] = "-ERR no\r\n";
	static const char err[] = "SERROR\0VERROR\0C42P01\0Mrelation \"t\" does not exist\0\0";
	uint8_t p1[256], p2[256], m1[64], m2[64];
	size_t np1 = pg_select(p1, "server_version", "one");
	size_t np2 = pg_msg(p2, 'E', err, sizeof(err) - 1);
	size_t nm1 = my_pkt(m1, 1, "\x00\x01\x07\x02\x00\x00\x00", 7);
	size_t nm2 = my_pkt(m2, 1, "\xff\x7a\x04#42S02no", 12);

	np2 += pg_msg(p2 + np2, 'Z', "I", 1);
	check_stop_at(COMPARE_HTTP, (const uint8_t *)h1, strlen(h1), (const uint8_t *)h2, strlen(h2));
	check_stop_at(COMPARE_REDIS, (const uint8_t *)r1, strlen(r1), (const uint8_t *)r2, strlen(r2));
	check_stop_at(COMPARE_POSTGRES, p1, np1, p2, np2);
	check_stop_at(COMPARE_MYSQL, m1, nm1, m2, nm2);
}

static void test_proto_names(void **state)
{
	enum compare_proto p;

	for (int i = COMPARE_RAW; i <= COMPARE_MYSQL; i++) {
		assert_int_equal(compare_proto_parse(compare_proto_name((enum compare_proto)i), &p), 0);
		assert_int_equal(p, i);
	}
	assert_int_equal(compare_proto_parse("gopher", &p), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_volatile_headers_ignored),
		cmocka_unit_test(test_http_chunked_equals_length),
		cmocka_unit_test(test_http_status_and_body_differ),
		cmocka_unit_test(test_http_header_volatile_by_config),
		cmocka_unit_test(test_http_pipelined_interim_and_close),
		cmocka_unit_test(test_http_not_http_is_malformed),
		cmocka_unit_test(test_redis_replies_and_errors),
		cmocka_unit_test(test_redis_malformed_and_deep),
		cmocka_unit_test(test_postgres_outcomes),
		cmocka_unit_test(test_mysql_outcomes),
		cmocka_unit_test(test_mysql_prepare),
		cmocka_unit_test(test_mysql_execute_binary_rows),
		cmocka_unit_test(test_mysql_prepare_stop_at),
		cmocka_unit_test(test_raw_and_missing),
		cmocka_unit_test(test_stop_at),
		cmocka_unit_test(test_proto_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
