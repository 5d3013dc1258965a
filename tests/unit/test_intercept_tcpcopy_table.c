/*
 * test_intercept_tcpcopy_table.c — docs/deployment.md's table of TCPCopy
 * intercept's options, row by row: each row's command line given to
 * doppel-intercept's option parser gives the documented result (runs, or
 * exit 2 with the documented words).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "intercept/intercept_options.h"
#include "tcpcopy_table.h"

static void test_every_row(void **state)
{
	struct tcpcopy_row rows[32];
	size_t n = tcpcopy_table_read("docs/deployment.md", "### intercept", rows, 32);
	char err[512];

	assert_true(n >= 13);	/* every option of intercept -h */
	for (size_t i = 0; i < n; i++) {
		char *argv[TABLE_MAX_ARGS + 2] = { "doppel-intercept" };
		int argc = 1;
		struct intercept_options o;

		for (int a = 0; a < rows[i].argc; a++)
			argv[argc++] = rows[i].argv[a];
		argv[argc] = NULL;
		err[0] = '\0';
		enum intercept_options_result res = intercept_options_parse(&o, argc, argv, err,
									    sizeof(err));
		if (rows[i].runs && res != INTERCEPT_OPTIONS_RUN)
			fail_msg("row %s (%s ...): documented to run, refused: %s", rows[i].option,
				 rows[i].argv[0], err);
		if (!rows[i].runs && (res != INTERCEPT_OPTIONS_ERROR || !strstr(err, rows[i].words)))
			fail_msg("row %s (%s ...): documented 'exit 2: %s', got %s'%s'",
				 rows[i].option, rows[i].argv[0], rows[i].words,
				 res == INTERCEPT_OPTIONS_ERROR ? "" : "a run ", err);
		intercept_options_free(&o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_row),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
