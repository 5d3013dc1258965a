/*
 * test_intercept_stats.c — doppel-intercept's statistics file carries
 * every key CLI.md promises, each once, as unsigned integers, and the log
 * line names the same counters.
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
#include "unit_files.h"

/* CLI.md, "Stats JSON keys of doppel-intercept". */
static const char *const contract_keys[] = {
	"summaries_in", "summaries_routed", "summaries_unrouted", "source_malformed",
	"source_lost", "frames_out", "bytes_out", "connections_accepted",
	"connections_refused", "connections_active", "connections_closed_malformed",
	"routes_active", "routes_added", "routes_deleted",
};

static void test_json_has_the_contract_keys(void **state)
{
	struct intercept_stats s;
	char dir[] = "/tmp/doppel-istats-XXXXXX", path[64], json[4096], key[80];

	intercept_stats_init(&s);
	for (int i = 0; i < ISTAT_COUNT; i++)
		s.values[i] = 1000 + (uint64_t)i;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/stats.json", dir);
	assert_int_equal(intercept_stats_write(&s, path), 0);
	unit_read_file(path, json, sizeof(json));
	for (size_t i = 0; i < sizeof(contract_keys) / sizeof(contract_keys[0]); i++) {
		snprintf(key, sizeof(key), "\"%s\": ", contract_keys[i]);
		const char *at = strstr(json, key);
		assert_non_null(at);
		assert_null(strstr(at + 1, key));	/* once */
		char *end;
		unsigned long long value = strtoull(at + strlen(key), &end, 10);
		assert_true(value >= 1000 && value < 1000 + ISTAT_COUNT);
		assert_true(*end == ',' || *end == '}');
	}
	unlink(path);
	rmdir(dir);
}

static void test_log_line_names_every_counter(void **state)
{
	struct intercept_stats s;
	char line[4096];

	intercept_stats_init(&s);
	s.values[ISTAT_SUMMARIES_ROUTED] = 42;
	assert_true(intercept_stats_format(&s, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "summaries_routed=42"));
	for (size_t i = 0; i < sizeof(contract_keys) / sizeof(contract_keys[0]); i++)
		assert_non_null(strstr(line, contract_keys[i]));	/* zeros included */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_has_the_contract_keys),
		cmocka_unit_test(test_log_line_names_every_counter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
