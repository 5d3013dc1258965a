/*
 * test_config_endless.c — a config "file" that never ends a line (a pipe
 * fed without newlines, like --config /dev/zero) is refused once the line
 * is past CONFIG_LINE_MAX, without reading the rest of it: the writer
 * finds the pipe closed long before it has written everything.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/runtime/options.h"

#define WRITER_TOTAL (64u << 20)	/* far more than a line may hold */

static int never_called(const char *key, const char *value, unsigned line_no, void *arg,
			char *err, size_t errlen)
{
	fail_msg("callback called for line %u", line_no);
	return -1;
}

/* Write WRITER_TOTAL bytes of 'a' to fd; exit 0 when the reader closed
 * the pipe before that, 1 when everything was written. */
static void writer(int fd)
{
	static char chunk[65536];
	size_t written = 0;

	signal(SIGPIPE, SIG_IGN);
	memset(chunk, 'a', sizeof(chunk));
	while (written < WRITER_TOTAL) {
		ssize_t n = write(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			_exit(errno == EPIPE ? 0 : 2);
		written += (size_t)n;
	}
	_exit(1);
}

static void test_endless_line_refused_early(void **state)
{
	char path[64], err[512], expected[600];
	int fds[2], status;
	pid_t child;

	assert_int_equal(pipe(fds), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(fds[0]);
		writer(fds[1]);
	}
	close(fds[1]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[0]);
	assert_int_equal(config_parse_file(path, never_called, NULL, err, sizeof(err)), -1);
	snprintf(expected, sizeof(expected), "%s:1: line is longer than %d characters", path,
		 CONFIG_LINE_MAX);
	assert_string_equal(err, expected);
	close(fds[0]);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	/* 0: the parser stopped reading; 1: it read all 64 MiB of one line. */
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endless_line_refused_early),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
