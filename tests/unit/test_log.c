/*
 * test_log.c — log lines as they reach stderr (a pipe dup2'd onto fd 2)
 * and the log file: prefixes, levels, journald priorities, errno text,
 * cutting, the rate limiter on a fake clock, and fatal's exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/runtime/log.h"
#include "unit_files.h"

/* ---- capturing stderr ---- */

static struct {
	int saved_stderr;	/* -1 when not capturing */
	int read_end;
	char text[8192];
} capture = { -1, -1, "" };

static void capture_start(void)
{
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	capture.saved_stderr = dup(STDERR_FILENO);
	assert_true(capture.saved_stderr >= 0);
	assert_int_equal(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	close(p[1]);
	capture.read_end = p[0];
}

/* Restore stderr (so a failed assertion is seen) and close the pipe's
 * last write end, so reading stops at its end. */
static void capture_restore(void)
{
	if (capture.saved_stderr < 0)
		return;
	dup2(capture.saved_stderr, STDERR_FILENO);
	close(capture.saved_stderr);
	capture.saved_stderr = -1;
}

static const char *capture_end(void)
{
	size_t len = 0;
	ssize_t n;

	capture_restore();
	while ((n = read(capture.read_end, capture.text + len, sizeof(capture.text) - 1 - len)) > 0)
		len += (size_t)n;
	capture.text[len] = '\0';
	close(capture.read_end);
	capture.read_end = -1;
	return capture.text;
}

static int setup(void **state)
{
	unsetenv("JOURNAL_STREAM");
	log_init("unit", LOG_LEVEL_INFO);
	log_set_journal(false);
	return 0;
}

static int teardown(void **state)
{
	capture_restore();
	if (capture.read_end >= 0)
		close(capture.read_end);
	capture.read_end = -1;
	log_open_file(NULL);
	return 0;
}

static void call_vmsg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void call_vmsg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

/* ---- tests ---- */

static void test_plain_line(void **state)
{
	capture_start();
	log_info("hello %d", 42);
	assert_string_equal(capture_end(), "unit: hello 42\n");
}

static void test_levels(void **state)
{
	capture_start();
	log_debug("hidden");
	log_info("info");
	log_notice("notice");
	log_warnx("warning");
	log_set_level(LOG_LEVEL_DEBUG);
	log_debug("debug %s", "shown");
	log_set_level(LOG_LEVEL_WARNING);
	log_info("hidden");
	log_notice("hidden");
	log_warnx("still");
	call_vmsg(LOG_LEVEL_ERR, "error %d", 3);
	call_vmsg(LOG_LEVEL_INFO, "hidden %d", 4);
	assert_string_equal(capture_end(),
			    "unit: info\nunit: notice\nunit: warning\nunit: debug shown\n"
			    "unit: still\nunit: error 3\n");
	assert_int_equal(log_get_level(), LOG_LEVEL_WARNING);
	log_set_level((enum log_level)0);
	assert_int_equal(log_get_level(), LOG_LEVEL_ERR);
	log_set_level((enum log_level)99);
	assert_int_equal(log_get_level(), LOG_LEVEL_DEBUG);
}

static void test_journal_prefixes(void **state)
{
	log_set_journal(true);
	log_set_level(LOG_LEVEL_DEBUG);
	capture_start();
	call_vmsg(LOG_LEVEL_ERR, "e");
	log_warnx("w");
	log_notice("n");
	log_info("i");
	log_debug("d");
	assert_string_equal(capture_end(),
			    "<3>unit: e\n<4>unit: w\n<5>unit: n\n<6>unit: i\n<7>unit: d\n");
}

/* JOURNAL_STREAM turns the prefixes on only when it names the very
 * stream stderr is (device:inode), as systemd sets it. */
static void test_journal_stream_detection(void **state)
{
	struct stat st;
	char value[64];

	capture_start();
	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", value, 1);
	log_init("unit", LOG_LEVEL_INFO);
	log_info("journal");

	snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", value, 1);
	log_init("unit", LOG_LEVEL_INFO);
	log_info("other stream");

	setenv("JOURNAL_STREAM", "12:34x", 1);
	log_init("unit", LOG_LEVEL_INFO);
	log_info("garbage");

	unsetenv("JOURNAL_STREAM");
	log_init("unit", LOG_LEVEL_INFO);
	log_info("unset");
	assert_string_equal(capture_end(),
			    "<6>unit: journal\nunit: other stream\nunit: garbage\nunit: unset\n");
}

static void test_warn_appends_errno(void **state)
{
	capture_start();
	errno = ENOENT;
	log_warn("open %s", "/nowhere");
	assert_int_equal(errno, ENOENT);	/* left as the caller had it */
	errno = EACCES;
	log_warnx("no errno %s", "here");
	assert_int_equal(errno, EACCES);
	errno = EAGAIN;
	log_debug("filtered out");
	assert_int_equal(errno, EAGAIN);
	assert_string_equal(capture_end(),
			    "unit: open /nowhere: No such file or directory\n"
			    "unit: no errno here\n");
}

static void test_name_and_control_characters(void **state)
{
	log_init("a-very-long-program-name-that-still-fits", LOG_LEVEL_INFO);
	log_set_journal(false);
	capture_start();
	log_info("two\nlines\tand a bell\a");
	assert_string_equal(capture_end(),
			    "a-very-long-program-name-that-still-fits: two?lines?and a bell?\n");
}

static void test_long_message_is_cut(void **state)
{
	static char big[5000];
	const char *out;
	size_t len;

	memset(big, 'x', sizeof(big) - 1);
	capture_start();
	errno = EIO;
	log_warn("%s", big);
	out = capture_end();
	len = strlen(out);
	assert_int_equal(len, 2047 + 1);	/* LOG_LINE_MAX - 1, then the newline */
	assert_memory_equal(out, "unit: xxx", 9);
	assert_string_equal(out + len - 5, "x...\n");
}

/* -l: lines are appended after what the file held, with a timestamp and
 * the level; closing stops them; a failed open keeps the old file. */
static void test_log_file(void **state)
{
	char dir[] = "/tmp/doppel-test-log-XXXXXX";
	char path[256], content[4096];
	regex_t re;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/doppel.log", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("old line\n", f);
	fclose(f);

	capture_start();
	assert_int_equal(log_open_file(path), 0);
	log_warnx("to file %d", 7);
	errno = ENOENT;
	assert_int_equal(log_open_file("/nonexistent-doppel-dir/x.log"), -1);
	assert_int_equal(errno, ENOENT);
	log_info("still to file");
	assert_int_equal(log_open_file(NULL), 0);
	log_info("stderr only");
	assert_string_equal(capture_end(),
			    "unit: to file 7\nunit: still to file\nunit: stderr only\n");

	unit_read_file(path, content, sizeof(content));
	assert_int_equal(regcomp(&re,
				 "^old line\n"
				 "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}"
				 "[+-][0-9]{4} \\[warning\\] unit: to file 7\n"
				 "[0-9T:.+-]{28} \\[info\\] unit: still to file\n$",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	if (regexec(&re, content, 0, NULL, 0) != 0)
		fail_msg("log file holds:\n%s", content);
	regfree(&re);
	unlink(path);
	rmdir(dir);
}

/* 10 lines per 5 s window; the clock is passed in, so no waiting. */
static void test_ratelimit_window(void **state)
{
	struct log_ratelimit rl = { 0 };
	int allowed = 0;

	for (int i = 0; i < 15; i++)
		allowed += log_ratelimit_ok(&rl, 1000);
	assert_int_equal(allowed, LOG_RATELIMIT_BURST);
	assert_int_equal(rl.suppressed, 5);
	assert_false(log_ratelimit_ok(&rl, 1000 + LOG_RATELIMIT_INTERVAL_MS - 1));
	assert_int_equal(rl.suppressed, 6);

	/* The window is over: the next line goes, carrying the count. */
	assert_true(log_ratelimit_ok(&rl, 1000 + LOG_RATELIMIT_INTERVAL_MS));
	assert_int_equal(rl.to_report, 6);
	assert_int_equal(rl.suppressed, 0);
	assert_true(log_ratelimit_ok(&rl, 1000 + LOG_RATELIMIT_INTERVAL_MS));
	assert_int_equal(rl.to_report, 0);
	for (int i = 0; i < 8; i++)
		assert_true(log_ratelimit_ok(&rl, 1000 + LOG_RATELIMIT_INTERVAL_MS + 1));
	assert_false(log_ratelimit_ok(&rl, 1000 + LOG_RATELIMIT_INTERVAL_MS + 2));

	/* A clock that went back starts a new window rather than muting forever. */
	assert_true(log_ratelimit_ok(&rl, 10));
	assert_int_equal(rl.to_report, 1);
}

static void test_ratelimited_lines(void **state)
{
	struct log_ratelimit rl = { 0 }, quiet = { 0 };
	const char *out, *last;
	int lines = 0;

	capture_start();
	for (int i = 1; i <= 13; i++)
		log_ratelimited(&rl, 0, LOG_LEVEL_WARNING, "drop %d", i);
	log_ratelimited(&rl, LOG_RATELIMIT_INTERVAL_MS, LOG_LEVEL_WARNING, "drop %d", 14);
	log_ratelimited(&rl, LOG_RATELIMIT_INTERVAL_MS, LOG_LEVEL_WARNING, "drop %d", 15);
	/* Below the verbosity: printed nowhere, and no budget used. */
	for (int i = 0; i < 20; i++)
		log_ratelimited(&quiet, 0, LOG_LEVEL_DEBUG, "debug %d", i);
	out = capture_end();

	for (const char *p = out; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 12);
	assert_non_null(strstr(out, "unit: drop 10\nunit: drop 14 (3 similar lines suppressed)\n"
				    "unit: drop 15\n"));
	last = strstr(out, "drop 11");
	assert_null(last);
	assert_int_equal(quiet.printed, 0);
	assert_int_equal(quiet.suppressed, 0);
}

/* fatal prints at error level with its errno, then exits 1. */
static void run_fatal_child(int with_errno, char *out, size_t len, int *status)
{
	int p[2];
	pid_t child;
	ssize_t n;
	size_t got = 0;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		dup2(p[1], STDERR_FILENO);
		log_init("unit", LOG_LEVEL_ERR);
		log_set_journal(true);
		errno = EACCES;
		if (with_errno)
			log_fatal("cannot open %s", "thing");
		log_fatalx("bad value %d", 9);
	}
	close(p[1]);
	while ((n = read(p[0], out + got, len - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(child, status, 0), child);
}

static void test_fatal_exits(void **state)
{
	char out[512];
	int status;

	run_fatal_child(1, out, sizeof(out), &status);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_string_equal(out, "<3>unit: fatal: cannot open thing: Permission denied\n");

	run_fatal_child(0, out, sizeof(out), &status);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_string_equal(out, "<3>unit: fatal: bad value 9\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_prefixes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_stream_detection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warn_appends_errno, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_and_control_characters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_message_is_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ratelimit_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ratelimited_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fatal_exits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
