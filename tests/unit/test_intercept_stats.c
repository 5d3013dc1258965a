/*
 * test_intercept_stats.c — doppel-intercept's statistics file carries
 * every key of its one list, each once, as unsigned integers, and the log
 * line names the same counters. (That the man page documents the list is
 * checked by tests/ops, through --list-stats.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "intercept/intercept_stats.h"
#include "stats_check.h"
#include "unit_files.h"

/* The one list (intercept_stats.h) is well formed, and the file carries
 * exactly it, each key once with its value. */
static void test_json_has_the_list(void **state)
{
	struct intercept_stats s;
	char dir[] = "/tmp/doppel-istats-XXXXXX", path[64], json[8192];

	intercept_stats_init(&s);
	unit_assert_stats_list(&s.stats);
	for (int i = 0; i < ISTAT_COUNT; i++)
		s.values[i] = 1000 + (uint64_t)i;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/stats.json", dir);
	assert_int_equal(intercept_stats_write(&s, path), 0);
	unit_read_file(path, json, sizeof(json));
	unit_assert_stats_json(json, &s.stats);
	unlink(path);
	rmdir(dir);
}

/* The enum and the table come from the same X() lines. */
static void test_def_matches_enum(void **state)
{
	assert_string_equal(intercept_stats_def(ISTAT_SUMMARIES_IN)->name, "summaries_in");
	assert_string_equal(intercept_stats_def(ISTAT_CONNECTIONS_ACTIVE)->name,
			    "connections_active");
	assert_int_equal(intercept_stats_def(ISTAT_CONNECTIONS_ACTIVE)->type, STAT_GAUGE);
	assert_int_equal(intercept_stats_def(ISTAT_ROUTES_ACTIVE)->type, STAT_GAUGE);
	assert_int_equal(intercept_stats_def(ISTAT_ROUTES_ADDED)->type, STAT_COUNTER);
	assert_string_equal(intercept_stats_def(ISTAT_COUNT - 1)->name,
			    "summaries_payload_short");
	assert_null(intercept_stats_def(ISTAT_COUNT));
}

static void test_log_line_names_every_counter(void **state)
{
	struct intercept_stats s;
	char line[4096];

	intercept_stats_init(&s);
	s.values[ISTAT_SUMMARIES_ROUTED] = 42;
	assert_true(intercept_stats_format(&s, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "summaries_routed=42"));
	for (size_t i = 0; i < ISTAT_COUNT; i++) {
		char pair[80];

		snprintf(pair, sizeof(pair), "%s=", intercept_stats_def(i)->name);
		assert_non_null(strstr(line, pair));	/* zeros included */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_has_the_list),
		cmocka_unit_test(test_def_matches_enum),
		cmocka_unit_test(test_log_line_names_every_counter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
