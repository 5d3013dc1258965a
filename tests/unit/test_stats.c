/*
 * test_stats.c — counters as a log line and as JSON (escaping, extra
 * pairs, buffers too small), and the atomic JSON file in a temp directory.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/runtime/stats.h"
#include "unit_files.h"

static const char *const names[] = { "a", "bb", "ccc" };

static void test_init_and_counting(void **state)
{
	uint64_t values[3] = { 7, 7, 7 };
	struct stats s;

	stats_init(&s, names, values, 3);
	assert_int_equal(values[0] + values[1] + values[2], 0);
	stats_inc(&s, 1);
	stats_add(&s, 2, 40);
	stats_add(&s, 2, 2);
	assert_int_equal(values[1], 1);
	assert_int_equal(values[2], 42);
}

static void test_format_line(void **state)
{
	uint64_t values[3];
	struct stats s;
	char buf[64];

	stats_init(&s, names, values, 3);
	assert_int_equal(stats_format_line(&s, buf, sizeof(buf), 0), 0);
	assert_string_equal(buf, "");
	values[1] = 5;
	assert_int_equal(stats_format_line(&s, buf, sizeof(buf), 0), 4);
	assert_string_equal(buf, "bb=5");
	assert_int_equal(stats_format_line(&s, buf, sizeof(buf), 1), 14);
	assert_string_equal(buf, "a=0 bb=5 ccc=0");
	values[2] = UINT64_MAX;
	stats_format_line(&s, buf, sizeof(buf), 0);
	assert_string_equal(buf, "bb=5 ccc=18446744073709551615");
}

/* Too small a buffer keeps whole pairs only, always NUL-terminated. */
static void test_format_line_truncated(void **state)
{
	uint64_t values[3] = { 1, 22, 333 };
	struct stats s = { names, values, 3 };
	char buf[16];

	assert_int_equal(stats_format_line(&s, buf, 12, 1), 9);
	assert_string_equal(buf, "a=1 bb=22");
	assert_int_equal(stats_format_line(&s, buf, 10, 1), 9);	/* exactly fits */
	assert_string_equal(buf, "a=1 bb=22");
	assert_int_equal(stats_format_line(&s, buf, 9, 1), 3);
	assert_string_equal(buf, "a=1");
	assert_int_equal(stats_format_line(&s, buf, 1, 1), 0);
	assert_string_equal(buf, "");
	buf[0] = 'x';
	assert_int_equal(stats_format_line(&s, buf, 0, 1), 0);
	assert_int_equal(buf[0], 'x');	/* nothing written at all */
}

static void test_format_json(void **state)
{
	uint64_t values[3] = { 0, 5, UINT64_MAX };
	struct stats s = { names, values, 3 }, empty = { names, values, 0 };
	char buf[128];
	const char *expected = "{\"a\": 0, \"bb\": 5, \"ccc\": 18446744073709551615}";

	assert_int_equal(stats_format_json(&s, NULL, buf, sizeof(buf)), strlen(expected));
	assert_string_equal(buf, expected);
	stats_format_json(&s, "", buf, sizeof(buf));
	assert_string_equal(buf, expected);
	stats_format_json(&s, "\"uptime_s\": 3", buf, sizeof(buf));
	assert_string_equal(buf, "{\"a\": 0, \"bb\": 5, \"ccc\": 18446744073709551615, "
				 "\"uptime_s\": 3}");
	stats_format_json(&empty, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "{}");
	stats_format_json(&empty, "\"x\": 1", buf, sizeof(buf));
	assert_string_equal(buf, "{\"x\": 1}");

	/* A buffer one byte short gives nothing rather than broken JSON. */
	assert_int_equal(stats_format_json(&s, NULL, buf, strlen(expected) + 1),
			 strlen(expected));
	assert_int_equal(stats_format_json(&s, NULL, buf, strlen(expected)), 0);
	assert_string_equal(buf, "");
}

static void test_json_escaping(void **state)
{
	static const char *const odd[] = { "q\"uote", "back\\slash", "new\nline\t", "caf\xc3\xa9" };
	uint64_t values[4] = { 1, 2, 3, 4 };
	struct stats s = { odd, values, 4 };
	char buf[256];

	assert_true(stats_format_json(&s, NULL, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "{\"q\\\"uote\": 1, \"back\\\\slash\": 2, "
				 "\"new\\u000aline\\u0009\": 3, \"caf\xc3\xa9\": 4}");
}

static void test_extra_pairs(void **state)
{
	char extra[128] = "";
	char small[20] = "";

	assert_int_equal(stats_extra_add_string(extra, sizeof(extra), "version", "0.1"), 0);
	assert_int_equal(stats_extra_add_uint(extra, sizeof(extra), "uptime_s", 12), 0);
	assert_int_equal(stats_extra_add_string(extra, sizeof(extra), "target", "a\"b\\c"), 0);
	assert_int_equal(stats_extra_add_string(extra, sizeof(extra), "none", NULL), 0);
	assert_string_equal(extra, "\"version\": \"0.1\", \"uptime_s\": 12, "
				   "\"target\": \"a\\\"b\\\\c\", \"none\": null");

	assert_int_equal(stats_extra_add_uint(small, sizeof(small), "k", 1), 0);
	assert_string_equal(small, "\"k\": 1");
	/* Does not fit: refused, and what was there is kept intact. */
	assert_int_equal(stats_extra_add_string(small, sizeof(small), "long", "value!"), -1);
	assert_string_equal(small, "\"k\": 1");
	assert_int_equal(stats_extra_add_uint(small, sizeof(small), "n", 123), 0);
	assert_string_equal(small, "\"k\": 1, \"n\": 123");
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void test_write_json(void **state)
{
	char dir[] = "/tmp/doppel-test-stats-XXXXXX";
	char path[256], expected[256], content[256];
	uint64_t values[3] = { 1, 2, 3 };
	struct stats s = { names, values, 3 };
	struct stat st;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/stats.json", dir);

	assert_int_equal(stats_write_json(&s, "\"uptime_s\": 9", path), 0);
	stats_format_json(&s, "\"uptime_s\": 9", expected, sizeof(expected));
	strcat(expected, "\n");
	unit_read_file(path, content, sizeof(content));
	assert_string_equal(content, expected);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(count_entries(dir), 1);	/* no temporary left behind */

	/* Replaced whole by the next write. */
	values[2] = 30000;
	assert_int_equal(stats_write_json(&s, NULL, path), 0);
	unit_read_file(path, content, sizeof(content));
	assert_string_equal(content, "{\"a\": 1, \"bb\": 2, \"ccc\": 30000}\n");
	assert_int_equal(count_entries(dir), 1);

	/* rename onto a directory fails: the error comes back and the
	 * temporary file is removed. */
	unlink(path);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(stats_write_json(&s, NULL, path), -1);
	assert_int_equal(errno, EISDIR);
	assert_int_equal(count_entries(dir), 1);
	rmdir(path);

	/* A missing directory. */
	snprintf(path, sizeof(path), "%s/missing/stats.json", dir);
	assert_int_equal(stats_write_json(&s, NULL, path), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(count_entries(dir), 0);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_and_counting),
		cmocka_unit_test(test_format_line),
		cmocka_unit_test(test_format_line_truncated),
		cmocka_unit_test(test_format_json),
		cmocka_unit_test(test_json_escaping),
		cmocka_unit_test(test_extra_pairs),
		cmocka_unit_test(test_write_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
