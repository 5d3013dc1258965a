/*
 * test_background.c — -d's fork, for real: a test child calls
 * background_start() and becomes the waiting parent; its own child (the
 * daemon) reports through a pipe what it sees after background_ready()
 * (new session, "/" as working directory, stdout on /dev/null). The
 * waiting parent's exit status is checked for every way start-up can end.
 * And the paths made absolute before the move to "/".
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
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

#include "lib/runtime/background.h"

/* What the daemon side saw, written to the test through a pipe. */
struct report {
	int started;		/* background_start returned a descriptor */
	int new_session;	/* getsid(0) == getpid() */
	int ready_rc;
	int cwd_is_root;
	int stdout_is_null;
};

enum ending { READY, EXIT_3, EXIT_0, KILLED };

static int is_dev_null(int fd)
{
	struct stat fd_stat, null_stat;

	return fstat(fd, &fd_stat) == 0 && stat("/dev/null", &null_stat) == 0 &&
	       S_ISCHR(fd_stat.st_mode) && fd_stat.st_rdev == null_stat.st_rdev;
}

/* The daemon: report, then end as told. Never returns. */
static void run_daemon(int ready_fd, int report_fd, enum ending ending)
{
	struct report r = { .started = ready_fd >= 0 };
	char cwd[4096], err[256];

	r.new_session = getsid(0) == getpid();
	if (ending == EXIT_3)
		_exit(3);
	if (ending == EXIT_0)
		_exit(0);
	if (ending == KILLED)
		raise(SIGKILL);
	r.ready_rc = background_ready(ready_fd, err, sizeof(err));
	r.cwd_is_root = getcwd(cwd, sizeof(cwd)) && strcmp(cwd, "/") == 0;
	r.stdout_is_null = is_dev_null(STDOUT_FILENO) && is_dev_null(STDERR_FILENO);
	if (write(report_fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(4);
	_exit(0);
}

/* Fork a child that goes to the background; returns the waiting parent's
 * exit status and, for READY, what the daemon reported. */
static int start_in_background(enum ending ending, struct report *r)
{
	int report[2], status;
	char err[256];
	pid_t waiting;

	assert_int_equal(pipe(report), 0);
	waiting = fork();
	assert_true(waiting >= 0);
	if (waiting == 0) {
		int ready_fd;

		close(report[0]);
		ready_fd = background_start(err, sizeof(err));
		/* Only the daemon gets here: the waiting parent exits inside. */
		if (ready_fd < 0)
			_exit(5);
		run_daemon(ready_fd, report[1], ending);
	}
	close(report[1]);
	assert_int_equal(waitpid(waiting, &status, 0), waiting);
	memset(r, 0, sizeof(*r));
	if (ending == READY)
		assert_int_equal(read(report[0], r, sizeof(*r)), (ssize_t)sizeof(*r));
	close(report[0]);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_ready_releases_the_parent(void **state)
{
	struct report r;

	assert_int_equal(start_in_background(READY, &r), 0);
	assert_true(r.started);
	assert_true(r.new_session);
	assert_int_equal(r.ready_rc, 0);
	assert_true(r.cwd_is_root);
	assert_true(r.stdout_is_null);
}

static void test_failed_start_passes_its_status(void **state)
{
	struct report r;

	assert_int_equal(start_in_background(EXIT_3, &r), 3);
}

/* Exiting 0 without READY is no successful start either. */
static void test_exit_0_before_ready_is_a_failure(void **state)
{
	struct report r;

	assert_int_equal(start_in_background(EXIT_0, &r), 1);
}

static void test_killed_before_ready_is_a_failure(void **state)
{
	struct report r;

	assert_int_equal(start_in_background(KILLED, &r), 1);
}

static void test_absolute_path(void **state)
{
	char cwd[4096], expected[4200], err[256];
	char *relative = strdup("run/x.pid"), *absolute = strdup("/var/x.log"), *none = NULL;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(expected, sizeof(expected), "%s/run/x.pid", cwd);
	assert_int_equal(background_absolute_path(&relative, err, sizeof(err)), 0);
	assert_string_equal(relative, expected);
	assert_int_equal(background_absolute_path(&absolute, err, sizeof(err)), 0);
	assert_string_equal(absolute, "/var/x.log");
	assert_int_equal(background_absolute_path(&none, err, sizeof(err)), 0);
	assert_null(none);
	free(relative);
	free(absolute);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ready_releases_the_parent),
		cmocka_unit_test(test_failed_start_passes_its_status),
		cmocka_unit_test(test_exit_0_before_ready_is_a_failure),
		cmocka_unit_test(test_killed_before_ready_is_a_failure),
		cmocka_unit_test(test_absolute_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
