/*
 * test_daemon_options.c — the shared options and the two-pass parse with
 * a small daemon of the test's own: one value option with a letter, one
 * long-only option, one flag. Values land where they belong, the daemon's
 * apply hears where each came from, the config file is overridden by the
 * command line, and every refusal names the option as it was written;
 * and SIGHUP's comparison of two parses (daemon_reload.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/runtime/daemon_options.h"
#include "lib/runtime/daemon_reload.h"
#include "lib/runtime/log.h"
#include "lib/runtime/options.h"

enum { OPT_COLOUR = 256 };

struct toy {
	uint64_t size;			/* -s */
	char colour[32];		/* --colour */
	bool loud;			/* -L */
	int applied_from_command_line;
	int applied_from_file;
	bool flag_value_was_null;
};

static int toy_apply(void *ctx, int id, const char *value, bool from_command_line,
		     char *err, size_t errlen)
{
	struct toy *t = ctx;

	if (from_command_line)
		t->applied_from_command_line++;
	else
		t->applied_from_file++;
	switch (id) {
	case 's':
		return opt_parse_uint(value, 1, 10, &t->size, err, errlen);
	case OPT_COLOUR:
		if (strcmp(value, "red") && strcmp(value, "blue"))
			return opt_error(err, errlen, "not red or blue");
		snprintf(t->colour, sizeof(t->colour), "%s", value);
		return 0;
	case 'L':
		t->flag_value_was_null = value == NULL;
		return daemon_flag(value, &t->loud, err, errlen);
	}
	return opt_error(err, errlen, "unexpected id %d", id);
}

static const struct option toy_long_options[] = {
	{ "size", required_argument, NULL, 's' },
	{ "colour", required_argument, NULL, OPT_COLOUR },
	{ "loud", no_argument, NULL, 'L' },
	DAEMON_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

static struct toy toy;
static struct daemon_options common;
static char err[512];
static char config_path[64];

static enum daemon_options_result parse(char **argv)
{
	const struct daemon_option_table table = {
		toy_long_options, ":s:L" DAEMON_SHORT_OPTIONS, toy_apply, &toy,
	};
	int argc = 0;

	while (argv[argc])
		argc++;
	memset(&toy, 0, sizeof(toy));
	daemon_options_free(&common);
	err[0] = '\0';
	return daemon_options_parse(&common, &table, argc, argv, err, sizeof(err));
}

static void expect_error(char **argv, const char *message)
{
	assert_int_equal(parse(argv), DAEMON_OPTIONS_ERROR);
	assert_string_equal(err, message);
}

static void write_config(const char *text)
{
	int fd;

	strcpy(config_path, "/tmp/doppel-test-daemon-options-XXXXXX");
	fd = mkstemp(config_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_defaults(void **state)
{
	char *argv[] = { "toy", NULL };

	assert_int_equal(parse(argv), DAEMON_OPTIONS_RUN);
	assert_false(common.daemonize);
	assert_null(common.log_file);
	assert_null(common.pid_file);
	assert_int_equal(common.log_level, LOG_LEVEL_INFO);
	assert_null(common.stats_file);
	assert_int_equal(common.stats_interval_ms, 30000);
	assert_null(common.user);
	assert_null(common.config_file);
	assert_int_equal(toy.applied_from_command_line, 0);
}

static void test_shared_and_own_options(void **state)
{
	char *short_forms[] = {
		"toy", "-d", "-l", "/tmp/t.log", "-P", "/tmp/t.pid", "-s", "3", "-L", NULL,
	};
	char *long_forms[] = {
		"toy", "--daemon", "--log=/tmp/u.log", "--pidfile", "/tmp/u.pid", "--log-level",
		"debug", "--stats-file", "/tmp/u.json", "--stats-interval", "2m", "--user", "root",
		"--colour", "blue", "--size", "10", "--metrics", "[2001:2::1]:9101", NULL,
	};

	assert_int_equal(parse(short_forms), DAEMON_OPTIONS_RUN);
	assert_true(common.daemonize);
	assert_string_equal(common.log_file, "/tmp/t.log");
	assert_string_equal(common.pid_file, "/tmp/t.pid");
	assert_int_equal(toy.size, 3);
	assert_true(toy.loud);
	assert_true(toy.flag_value_was_null);
	/* The shared options never reach the daemon's function. */
	assert_int_equal(toy.applied_from_command_line, 2);

	assert_int_equal(parse(long_forms), DAEMON_OPTIONS_RUN);
	assert_true(common.daemonize);
	assert_string_equal(common.log_file, "/tmp/u.log");
	assert_string_equal(common.pid_file, "/tmp/u.pid");
	assert_int_equal(common.log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(common.stats_file, "/tmp/u.json");
	assert_int_equal(common.stats_interval_ms, 120000);
	assert_string_equal(common.user, "root");
	assert_string_equal(common.metrics, "[2001:2::1]:9101");
	assert_string_equal(toy.colour, "blue");
	assert_int_equal(toy.size, 10);
}

static void test_command_line_errors(void **state)
{
	char *unknown_short[] = { "toy", "-Z", NULL };
	char *unknown_long[] = { "toy", "--bogus", NULL };
	char *missing[] = { "toy", "-s", NULL };
	char *missing_long[] = { "toy", "--colour", NULL };
	char *extra[] = { "toy", "-s", "1", "extra", NULL };
	char *own_value[] = { "toy", "-s", "11", NULL };
	char *own_long[] = { "toy", "--colour", "green", NULL };
	char *level[] = { "toy", "--log-level", "loud", NULL };
	char *interval[] = { "toy", "--stats-interval", "10ms", NULL };
	char *user[] = { "toy", "--user", "no-such-user-for-doppel", NULL };
	char *empty_log[] = { "toy", "-l", "", NULL };
	char *empty_config[] = { "toy", "--config", "", NULL };
	char *config_missing[] = { "toy", "--config", "/nonexistent-doppel/x.conf", NULL };
	char *metrics_name[] = { "toy", "--metrics", "localhost:9100", NULL };
	char *metrics_port[] = { "toy", "--metrics", "127.0.0.1", NULL };

	expect_error(unknown_short, "unknown option '-Z' (see --help)");
	expect_error(unknown_long, "unknown option '--bogus' (see --help)");
	expect_error(missing, "-s needs a value");
	expect_error(missing_long, "--colour needs a value");
	expect_error(extra, "unexpected argument 'extra'");
	expect_error(own_value, "-s '11': 11 is out of range 1..10");
	expect_error(own_long, "--colour 'green': not red or blue");
	expect_error(level, "--log-level 'loud': 'loud' is not a log level "
		     "(err, warning, notice, info, debug)");
	expect_error(interval, "--stats-interval '10ms': '10ms' is out of range 1000ms..365 days");
	expect_error(user, "--user 'no-such-user-for-doppel': no such user");
	expect_error(empty_log, "-l '': empty value");
	expect_error(empty_config, "--config '': empty value");
	expect_error(config_missing, "--config '/nonexistent-doppel/x.conf': "
		     "No such file or directory");
	expect_error(metrics_name, "--metrics 'localhost:9100': 'localhost' is not an IPv4 or IPv6 address");
	expect_error(metrics_port, "--metrics '127.0.0.1': '127.0.0.1' has no port");
}

static void test_help_and_version(void **state)
{
	char *help[] = { "toy", "-s", "99", "--help", "--bogus", NULL };
	char *version[] = { "toy", "--version", NULL };
	char *version_bad[] = { "toy", "-v", "--bogus", NULL };
	char *list[] = { "toy", "-s", "99", "--list-stats", NULL };
	char *list_bad[] = { "toy", "--list-stats", "--bogus", NULL };

	/* -h wins over anything, even a bad option after it. */
	assert_int_equal(parse(help), DAEMON_OPTIONS_HELP);
	assert_int_equal(parse(version), DAEMON_OPTIONS_VERSION);
	/* -v does not hide a command line that is wrong. */
	assert_int_equal(parse(version_bad), DAEMON_OPTIONS_ERROR);
	assert_int_equal(parse(list), DAEMON_OPTIONS_LIST_STATS);
	assert_int_equal(parse(list_bad), DAEMON_OPTIONS_ERROR);
}

static void test_config_file_then_command_line(void **state)
{
	write_config("# toy\n"
		     "size = 4\n"
		     "colour = red\n"
		     "loud = no\n"
		     "daemon = yes\n"
		     "log-level = warning\n"
		     "stats-interval = 5\n");
	char *file_only[] = { "toy", "--config", config_path, NULL };
	char *overridden[] = { "toy", "-s", "7", "--config", config_path, "-L", NULL };

	assert_int_equal(parse(file_only), DAEMON_OPTIONS_RUN);
	assert_int_equal(toy.size, 4);
	assert_string_equal(toy.colour, "red");
	assert_false(toy.loud);
	assert_false(toy.flag_value_was_null);	/* "no" came with the key */
	assert_int_equal(toy.applied_from_file, 3);
	assert_true(common.daemonize);
	assert_int_equal(common.log_level, LOG_LEVEL_WARNING);
	assert_int_equal(common.stats_interval_ms, 5000);
	assert_string_equal(common.config_file, config_path);

	/* The command line wins, before or after --config. */
	assert_int_equal(parse(overridden), DAEMON_OPTIONS_RUN);
	assert_int_equal(toy.size, 7);
	assert_true(toy.loud);
	assert_string_equal(toy.colour, "red");
	unlink(config_path);
}

static void expect_config_error(const char *text, const char *after_path)
{
	char expected[512];
	char *argv[] = { "toy", "--config", config_path, NULL };

	write_config(text);
	snprintf(expected, sizeof(expected), "%s:%s", config_path, after_path);
	expect_error(argv, expected);
	unlink(config_path);
}

static void test_config_file_errors(void **state)
{
	expect_config_error("size = 4\ncolour = green\n", "2: colour 'green': not red or blue");
	expect_config_error("loud = perhaps\n", "1: loud 'perhaps': 'perhaps' is not yes or no");
	expect_config_error("daemon = perhaps\n", "1: daemon 'perhaps': 'perhaps' is not yes or no");
	expect_config_error("stats-interval = 0\n",
			    "1: stats-interval '0': '0' is out of range 1000ms..365 days");
	expect_config_error("shape = round\n", "1: unknown key 'shape'");
	expect_config_error("help = yes\n", "1: 'help' is not allowed in a config file");
	expect_config_error("version = yes\n", "1: 'version' is not allowed in a config file");
	expect_config_error("config = /etc/other\n", "1: 'config' is not allowed in a config file");
	expect_config_error("list-stats = yes\n", "1: 'list-stats' is not allowed in a config file");
}

static int free_common(void **state)
{
	daemon_options_free(&common);
	return 0;
}

/* ---- SIGHUP: what changed between two parses ---- */

struct seen {
	int count;
	struct daemon_reload_change changes[8];
};

static void record_change(void *ctx, const struct daemon_reload_change *change)
{
	struct seen *seen = ctx;

	assert_true(seen->count < 8);
	seen->changes[seen->count++] = *change;
}

static const struct daemon_reload_change *find(const struct seen *seen, const char *name)
{
	for (int i = 0; i < seen->count; i++)
		if (strcmp(seen->changes[i].name, name) == 0)
			return &seen->changes[i];
	return NULL;
}

static void test_reload_diff(void **state)
{
	struct daemon_options live;
	struct seen seen = { 0 };
	const struct daemon_reload_change *c;

	write_config("size = 4\nlog-level = info\nmetrics = 127.0.0.1:9101\ncolour = red\n");
	char *before[] = { "toy", "--config", config_path, "-L", NULL };

	assert_int_equal(parse(before), DAEMON_OPTIONS_RUN);
	live = common;
	memset(&common, 0, sizeof(common));
	/* The same: nothing reported. */
	assert_int_equal(parse(before), DAEMON_OPTIONS_RUN);
	assert_int_equal(daemon_reload_diff(&live, &common, record_change, &seen), 0);

	/* Edited in place: a value changed, one removed, one added; -L and
	 * --config unchanged. */
	FILE *f = fopen(config_path, "w");

	assert_non_null(f);
	fputs("size = 5\nlog-level = debug\nstats-interval = 2s\ncolour = red\n", f);
	fclose(f);
	assert_int_equal(parse(before), DAEMON_OPTIONS_RUN);
	assert_int_equal(daemon_reload_diff(&live, &common, record_change, &seen), 4);
	assert_non_null(c = find(&seen, "-s"));
	assert_string_equal(c->before, "4");
	assert_string_equal(c->after, "5");
	assert_non_null(c = find(&seen, "--log-level"));
	assert_int_equal(c->id, DAEMON_OPT_LOG_LEVEL);
	assert_string_equal(c->after, "debug");
	assert_non_null(c = find(&seen, "--metrics"));
	assert_string_equal(c->before, "127.0.0.1:9101");
	assert_string_equal(c->after, "");
	assert_non_null(c = find(&seen, "--stats-interval"));
	assert_string_equal(c->before, "");
	assert_string_equal(c->after, "2s");
	assert_null(find(&seen, "-L"));
	assert_null(find(&seen, "--colour"));

	/* Shared ones applied into live; the rest refused: the next
	 * comparison still reports those, and only those. */
	for (int i = 0; i < seen.count; i++)
		if (!daemon_reload_common(&live, &common, &seen.changes[i]))
			daemon_reload_refuse(&seen.changes[i]);
	assert_int_equal(live.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(live.stats_interval_ms, 2000);
	assert_null(live.metrics);
	seen.count = 0;
	assert_int_equal(daemon_reload_diff(&live, &common, record_change, &seen), 1);
	assert_string_equal(seen.changes[0].name, "-s");
	daemon_options_free(&live);
	log_set_level(LOG_LEVEL_INFO);
	unlink(config_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_defaults, free_common),
		cmocka_unit_test_teardown(test_shared_and_own_options, free_common),
		cmocka_unit_test_teardown(test_command_line_errors, free_common),
		cmocka_unit_test_teardown(test_help_and_version, free_common),
		cmocka_unit_test_teardown(test_config_file_then_command_line, free_common),
		cmocka_unit_test_teardown(test_config_file_errors, free_common),
		cmocka_unit_test_teardown(test_reload_diff, free_common),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
