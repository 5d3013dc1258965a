/*
 * test_copy_tcpcopy_table.c — docs/deployment.md's table of tcpcopy's
 * options, row by row: each row's command line, after a minimal valid one,
 * given to doppel-copy's option parser, gives the documented result (runs,
 * or exit 2 with the documented words). And what the implemented ones do:
 * -m 512 is 512 MiB, -f moves every client port by N * 2048, -a and -T set
 * the offline speed and repeat count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "copy/copy_map.h"
#include "copy/copy_options.h"
#include "tcpcopy_table.h"

#define DOC "docs/deployment.md"

static void test_every_row(void **state)
{
	struct tcpcopy_row rows[64];
	size_t n = tcpcopy_table_read(DOC, "### tcpcopy", rows, 64);
	char err[512];

	assert_true(n >= 30);	/* every option of tcpcopy -h */
	for (size_t i = 0; i < n; i++) {
		char *argv[TABLE_MAX_ARGS + 8] = { "doppel-copy", "-x", "80-198.18.0.3:80",
						   "-s", "198.18.0.4" };
		int argc = 5;
		struct copy_options o;

		for (int a = 0; a < rows[i].argc; a++)
			argv[argc++] = rows[i].argv[a];
		argv[argc] = NULL;
		err[0] = '\0';
		enum copy_options_result res = copy_options_parse(&o, argc, argv, err, sizeof(err));
		if (rows[i].runs && res != COPY_OPTIONS_RUN)
			fail_msg("row %s (%s ...): documented to run, refused: %s", rows[i].option,
				 rows[i].argv[0], err);
		if (!rows[i].runs && (res != COPY_OPTIONS_ERROR || !strstr(err, rows[i].words)))
			fail_msg("row %s (%s ...): documented 'exit 2: %s', got %s'%s'",
				 rows[i].option, rows[i].argv[0], rows[i].words,
				 res == COPY_OPTIONS_ERROR ? "" : "a run ", err);
		copy_options_free(&o);
	}
}

static void test_what_the_implemented_ones_do(void **state)
{
	char *argv[] = { "doppel-copy", "-x", "80-198.18.0.3:80", "-s", "198.18.0.4", "-m", "512",
			 "-f", "3", "-n", "2", "--port-shift", "100", "--offline", "f.pcap",
			 "-a", "4", "-T", "2", NULL };
	struct copy_options o;
	char err[256];

	assert_int_equal(copy_options_parse(&o, 19, argv, err, sizeof(err)), COPY_OPTIONS_RUN);
	assert_int_equal(o.memory_bytes, (uint64_t)512 << 20);
	assert_true(o.speed == 4.0);
	assert_int_equal(o.repeat, 2);
	assert_int_equal(o.instance, 3);
	/* copy 0 at port + 3 * 2048, copy 1 100 further */
	uint16_t base = copy_map_port(40000, 3, COPY_INSTANCE_SHIFT);
	assert_int_equal(base, 40000 + 6144);
	assert_int_equal(copy_map_port(base, 1, o.port_shift), 40000 + 6144 + 100);
	copy_options_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_row),
		cmocka_unit_test(test_what_the_implemented_ones_do),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
