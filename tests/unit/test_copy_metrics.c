/*
 * test_copy_metrics.c — what doppel-copy serves on --metrics: its
 * statistics with ended_<reason> as one counter labelled reason, packets
 * per -x transfer labelled with the transfer as written, the intercept
 * gauges (no links yet: the metrics are declared, without samples), build
 * info and uptime; every metric's samples together after its TYPE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "copy/copy_metrics.h"

static void test_render(void **state)
{
	char *argv[] = { "doppel-copy", "-x", "80-198.18.0.3:8080,[2001:2::1]:443-[2001:2::3]:8443",
			 "-s", "198.18.0.4", NULL };
	struct copy_options o;
	struct copy_stats s;
	struct metrics_text t;
	uint64_t per_transfer[2] = { 11, 22 };
	char err[256];
	struct copy_metrics_sources src = { &s, &o, per_transfer, NULL, NULL, NULL };

	(void)state;
	if (copy_options_parse(&o, 5, argv, err, sizeof(err)) != COPY_OPTIONS_RUN)
		fail_msg("%s", err);
	copy_stats_init(&s);
	s.values[COPY_STAT_PACKETS_CAPTURED] = 33;
	s.values[COPY_STAT_SESSIONS_ACTIVE] = 4;
	s.values[COPY_STAT_ENDED_FIRST + END_TARGET_RESET] = 5;
	metrics_text_init(&t, "doppel_copy", 1 << 20);
	copy_metrics_render(&t, &src);
	assert_false(t.failed);
	assert_non_null(strstr(t.buf, "# TYPE doppel_copy_packets_captured_total counter\n"
				      "doppel_copy_packets_captured_total 33\n"));
	assert_non_null(strstr(t.buf, "# TYPE doppel_copy_sessions_active gauge\n"
				      "doppel_copy_sessions_active 4\n"));
	assert_non_null(strstr(t.buf, "# TYPE doppel_copy_sessions_ended_total counter\n"
				      "doppel_copy_sessions_ended_total{reason=\"closed\"} 0\n"
				      "doppel_copy_sessions_ended_total{reason=\"target_reset\"} 5\n"));
	assert_null(strstr(t.buf, "ended_target_reset"));
	assert_non_null(strstr(t.buf,
		"# TYPE doppel_copy_transfer_packets_captured_total counter\n"
		"doppel_copy_transfer_packets_captured_total{transfer=\"80-198.18.0.3:8080\"} 11\n"
		"doppel_copy_transfer_packets_captured_total"
		"{transfer=\"[2001:2::1]:443-[2001:2::3]:8443\"} 22\n"));
	assert_non_null(strstr(t.buf, "# TYPE doppel_copy_intercept_up gauge\n# HELP"));
	assert_non_null(strstr(t.buf, "doppel_copy_build_info{version=\"" DOPPEL_VERSION "\"} 1\n"));
	assert_non_null(strstr(t.buf, "# TYPE doppel_copy_uptime_seconds gauge\n"));
	/* One TYPE line per metric. */
	for (const char *p = t.buf; (p = strstr(p, "# TYPE ")); p++) {
		char name[128], line[160];

		assert_int_equal(sscanf(p, "# TYPE %127s", name), 1);
		snprintf(line, sizeof(line), "# TYPE %s ", name);
		assert_null(strstr(p + 1, line));
	}
	metrics_text_free(&t);
	copy_options_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
