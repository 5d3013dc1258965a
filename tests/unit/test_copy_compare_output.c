/*
 * test_copy_compare_output.c — what --compare prints and takes: its
 * options (copy/compare/compare_options.c), the request names the report
 * groups by (request_line.c), and the diff log's JSON lines, rotation and
 * rate limit (diff_log.c), read back with a real file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "copy/compare/compare_options.h"
#include "copy/compare/diff_log.h"
#include "copy/compare/request_line.h"

static char err[256];

static void test_options(void **state)
{
	struct compare_options o;

	compare_options_defaults(&o);
	assert_false(o.on);
	assert_int_equal(compare_options_proto(&o, 80), -1);
	assert_int_equal(compare_option_apply(&o, COMPARE_OPT_SPEC, "http", err, sizeof(err)), 0);
	assert_int_equal(compare_options_proto(&o, 80), COMPARE_HTTP);
	assert_int_equal(compare_options_proto(&o, 6379), COMPARE_HTTP);
	assert_int_equal(compare_option_apply(&o, COMPARE_OPT_SPEC, "80=http,6379=redis", err,
					      sizeof(err)), 0);
	assert_int_equal(compare_options_proto(&o, 6379), COMPARE_REDIS);
	assert_int_equal(compare_options_proto(&o, 5432), -1);
	assert_int_equal(compare_option_apply(&o, COMPARE_OPT_SPEC, "gopher", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'gopher' is not a protocol"));
	assert_int_equal(compare_option_apply(&o, COMPARE_OPT_SPEC, "80=http,x=redis", err,
					      sizeof(err)), -1);
	assert_int_equal(compare_option_apply(&o, COMPARE_OPT_SPEC, "80", err, sizeof(err)), -1);
	assert_int_equal(compare_option_apply(&o, COMPARE_OPT_SPEC, "", err, sizeof(err)), -1);
	assert_int_equal(compare_option_apply(&o, COMPARE_OPT_HEAD, "513", err, sizeof(err)), -1);
	assert_int_equal(compare_option_apply(&o, COMPARE_OPT_HEAD, "64", err, sizeof(err)), 0);
	assert_int_equal(o.head, 64);
	assert_int_equal(compare_option_apply(&o, COMPARE_OPT_LOG_SIZE, "1m", err, sizeof(err)), 0);
	assert_int_equal(o.log_size, 1 << 20);
	assert_int_equal(compare_option_apply(&o, COMPARE_OPT_LOG_SIZE, "1", err, sizeof(err)), -1);
	assert_int_equal(compare_option_apply(&o, COMPARE_OPT_LOG_RATE, "0", err, sizeof(err)), -1);
	assert_int_equal(compare_option_apply(&o, COMPARE_OPT_VOLATILE, "Date, X-Build", err,
					      sizeof(err)), 0);
	assert_int_equal(o.volatile_count, 2);
	assert_string_equal(o.volatile_headers[1], "x-build");
	assert_int_equal(compare_option_apply(&o, COMPARE_OPT_VOLATILE, "date,,x", err,
					      sizeof(err)), -1);
	assert_int_equal(compare_option_apply(&o, COMPARE_OPT_VOLATILE, "bad:name", err,
					      sizeof(err)), -1);
	assert_int_equal(o.slower_ms, 10);
	assert_int_equal(compare_option_apply(&o, COMPARE_OPT_SLOWER, "0", err, sizeof(err)), 0);
	assert_int_equal(o.slower_ms, 0);
	assert_int_equal(compare_option_apply(&o, COMPARE_OPT_SLOWER, "-1", err, sizeof(err)), -1);
	assert_int_equal(compare_option_apply(&o, COMPARE_OPT_LOG, "", err, sizeof(err)), -1);
	assert_int_equal(compare_option_apply(&o, COMPARE_OPT_LOG, "/tmp/x", err, sizeof(err)), 0);
	compare_options_free(&o);
	assert_null(o.log_file);
}

static void line_of(enum compare_proto p, const void *head, size_t len, const char *want)
{
	char out[64];

	compare_request_line(p, head, len, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_request_lines(void **state)
{
	static const char pg_q[] = "Q\0\0\0\x1c" "select  * from t where x=1\0";
	static const char pg_p[] = "P\0\0\0\x20" "s1\0" "UPDATE t SET x=1\0\0\0";
	static const char my_q[] = "\x12\0\0\0\x03" "INSERT INTO t VALUES (1)";

	line_of(COMPARE_HTTP, "GET /a/b?x=1 HTTP/1.1\r\n", 23, "GET /a/b");
	line_of(COMPARE_HTTP, "POST /p HTTP/1.1\r\n", 18, "POST /p");
	line_of(COMPARE_REDIS, "*2\r\n$3\r\nget\r\n$1\r\nk\r\n", 20, "GET");
	line_of(COMPARE_REDIS, "PING\r\n", 6, "PING");
	line_of(COMPARE_POSTGRES, pg_q, sizeof(pg_q) - 1, "SELECT *");
	line_of(COMPARE_POSTGRES, pg_p, sizeof(pg_p) - 1, "UPDATE T");
	line_of(COMPARE_MYSQL, my_q, sizeof(my_q) - 1, "INSERT INTO");
	line_of(COMPARE_MYSQL, "\x01\0\0\0\x0e", 5, "(command 0x0e)");
	line_of(COMPARE_RAW, "abc", 3, "(3 bytes)");
	line_of(COMPARE_HTTP, "\x01\x02\x7f", 3, "???");
}

static void test_json_escape(void **state)
{
	char buf[64];
	size_t n = diff_log_json_escape(buf, 0, sizeof(buf), (const uint8_t *)"a\"b\\c\n\x01\xff", 8);

	assert_string_equal(buf, "a\\\"b\\\\c\\n\\u0001\\u00ff");
	assert_int_equal(n, strlen(buf));
	/* Never past the end. */
	char small[8];

	diff_log_json_escape(small, 0, sizeof(small), (const uint8_t *)"\x01\x01\x01", 3);
	assert_true(strlen(small) < sizeof(small));
}

static struct compare_result sample(struct session_key *k, struct answer *a, struct answer *b,
				    struct answer_config *cfg)
{
	memset(k, 0, sizeof(*k));
	k->client.family = AF_INET;
	k->client.bytes[0] = 198;
	k->client.bytes[1] = 18;
	k->client.bytes[3] = 1;
	k->target = k->client;
	k->target.bytes[3] = 3;
	k->client_port = 40000;
	k->target_port = 80;
	cfg->proto = COMPARE_HTTP;
	cfg->head_bytes = 16;
	answer_init(a, cfg);
	answer_init(b, cfg);
	answer_feed(a, (const uint8_t *)"HTTP/1.1 200 OK\r\n\r\n", 19, 1);
	answer_feed(b, (const uint8_t *)"HTTP/1.1 500 No\r\n\r\n", 19, 1);
	answer_finish(a);
	answer_finish(b);
	struct compare_result r = {
		.key = k, .transfer = 0, .request = 3, .kind = COMPARE_STATUS,
		.online = a, .target = b,
		.request_head = (const uint8_t *)"GET /x?q=\"1\" HTTP/1.1\r\n", .request_head_len = 23,
		.online_ttfb_us = 100, .target_ttfb_us = 250,
	};
	return r;
}

static void test_diff_log_lines_rate_and_rotation(void **state)
{
	char dir[] = "/tmp/doppel-difflog-XXXXXX", path[128], old[140], line[4096];
	struct session_key k;
	struct answer a, b;
	struct answer_config cfg;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/diff.jsonl", dir);
	snprintf(old, sizeof(old), "%s.1", path);
	struct compare_result r = sample(&k, &a, &b, &cfg);
	struct diff_log *d = diff_log_open(path, 4096, 3, err, sizeof(err));

	assert_non_null(d);
	/* Rate: 3 a second; the fourth in the same second is dropped. */
	for (int i = 0; i < 4; i++)
		diff_log_write(d, 5000, "80", COMPARE_HTTP, &r);
	assert_int_equal(diff_log_written(d), 3);
	assert_int_equal(diff_log_dropped(d), 1);
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_non_null(strstr(line, "\"transfer\":\"80\",\"protocol\":\"http\""));
	assert_non_null(strstr(line, "\"session\":\"198.18.0.1:40000>198.18.0.3:80\""));
	assert_non_null(strstr(line, "\"request_index\":3,\"kind\":\"status\""));
	assert_non_null(strstr(line, "\"request\":\"GET /x\""));
	assert_non_null(strstr(line, "\"request_head\":\"GET /x?q=\\\"1\\\" HTTP/1.1\\r\\n\""));
	assert_non_null(strstr(line, "\"online\":{\"verdict\":\"200\""));
	assert_non_null(strstr(line, "\"target\":{\"verdict\":\"500\""));
	assert_non_null(strstr(line, "\"ttfb_us\":250"));
	assert_int_equal(line[strlen(line) - 1], '\n');
	/* Past 4 KiB the file is rotated to .1 and begun again. */
	for (uint64_t s = 6; s < 20; s++)
		diff_log_write(d, s * 1000, "80", COMPARE_HTTP, &r);
	struct stat st;

	assert_int_equal(stat(old, &st), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size <= 4096);
	diff_log_close(d);
	/* A file that cannot be opened is said by name. */
	snprintf(line, sizeof(line), "%s/no/such/dir/x", dir);
	assert_null(diff_log_open(line, 4096, 3, err, sizeof(err)));
	assert_non_null(strstr(err, "no/such/dir/x"));
	unlink(path);
	unlink(old);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_request_lines),
		cmocka_unit_test(test_json_escape),
		cmocka_unit_test(test_diff_log_lines_rate_and_rotation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
