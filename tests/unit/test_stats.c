/*
 * test_stats.c — counters as a log line and as JSON (escaping, extra
 * pairs, buffers too small), the atomic JSON file in a temp directory with
 * its own keys (timestamp, version, pid, uptime), and --list-stats.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/runtime/stats.h"
#include "unit_files.h"

static const struct stat_def names[] = {
	{ "a", STAT_COUNTER, "the a", NULL, NULL, NULL },
	{ "bb", STAT_GAUGE, "the bb", NULL, NULL, NULL },
	{ "ccc", STAT_COUNTER, "the c's", "family", "label", "c" },
};

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
	struct stats s = { names, values, 3, 0 };
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
	struct stats s = { names, values, 3, 0 }, empty = { names, values, 0, 0 };
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
	static const struct stat_def odd[] = {
		{ "q\"uote", STAT_COUNTER, "", NULL, NULL, NULL },
		{ "back\\slash", STAT_COUNTER, "", NULL, NULL, NULL },
		{ "new\nline\t", STAT_COUNTER, "", NULL, NULL, NULL },
		{ "caf\xc3\xa9", STAT_COUNTER, "", NULL, NULL, NULL },
	};
	uint64_t values[4] = { 1, 2, 3, 4 };
	struct stats s = { odd, values, 4, 0 };
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

static uint64_t now_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The file's own keys: a timestamp near now, the version, our pid, and
 * the uptime since stats_init (set back 5 s here), after the statistics
 * and before the caller's extra pairs. */
static void assert_file_keys(const char *content, const char *tail)
{
	const char *head = "{\"a\": 1, \"bb\": 2, \"ccc\": 3, \"timestamp\": \"";
	char expected[256];
	struct tm tm;
	const char *rest;
	unsigned long long uptime;
	int used = 0;

	assert_memory_equal(content, head, strlen(head));
	memset(&tm, 0, sizeof(tm));
	rest = strptime(content + strlen(head), "%Y-%m-%dT%H:%M:%SZ", &tm);
	assert_non_null(rest);
	assert_true(llabs((long long)(timegm(&tm) - time(NULL))) < 300);
	snprintf(expected, sizeof(expected), "\", \"version\": \"%s\", \"pid\": %d, "
		 "\"uptime_seconds\": ", DOPPEL_VERSION, (int)getpid());
	assert_memory_equal(rest, expected, strlen(expected));
	rest += strlen(expected);
	assert_int_equal(sscanf(rest, "%llu%n", &uptime, &used), 1);
	assert_true(uptime >= 5 && uptime < 300);
	assert_string_equal(rest + used, tail);
}

static void test_write_json(void **state)
{
	char dir[] = "/tmp/doppel-test-stats-XXXXXX";
	char path[256], content[512];
	uint64_t values[3];
	struct stats s;
	struct stat st;

	stats_init(&s, names, values, 3);
	values[0] = 1, values[1] = 2, values[2] = 3;
	s.started_ms = now_monotonic_ms() - 5000;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/stats.json", dir);

	assert_int_equal(stats_write_json(&s, "\"extra\": 9", path), 0);
	unit_read_file(path, content, sizeof(content));
	assert_file_keys(content, ", \"extra\": 9}\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(count_entries(dir), 1);	/* no temporary left behind */

	/* Replaced whole by the next write. */
	values[2] = 30000;
	assert_int_equal(stats_write_json(&s, NULL, path), 0);
	unit_read_file(path, content, sizeof(content));
	assert_non_null(strstr(content, "{\"a\": 1, \"bb\": 2, \"ccc\": 30000, \"timestamp\": "));
	assert_int_equal(content[strlen(content) - 2], '}');
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

/* --list-stats: name, type and help of each, tab-separated, then the
 * file's own keys as "info". */
static void test_list(void **state)
{
	uint64_t values[3];
	struct stats s;
	char buf[1024] = "";
	FILE *out = fmemopen(buf, sizeof(buf) - 1, "w");
	char expected[1024] = "a\tcounter\tthe a\nbb\tgauge\tthe bb\nccc\tcounter\tthe c's\n";

	assert_non_null(out);
	stats_init(&s, names, values, 3);
	stats_list(&s, out);
	fclose(out);
	assert_int_equal(stats_file_key_count, 4);
	for (size_t i = 0; i < stats_file_key_count; i++) {
		char line[128];

		snprintf(line, sizeof(line), "%s\tinfo\t%s\n", stats_file_keys[i].name,
			 stats_file_keys[i].help);
		strcat(expected, line);
	}
	assert_string_equal(buf, expected);
	assert_string_equal(stats_file_keys[0].name, "timestamp");
	assert_string_equal(stats_file_keys[3].name, "uptime_seconds");
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
		cmocka_unit_test(test_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
