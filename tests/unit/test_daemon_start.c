/*
 * test_daemon_start.c — the two halves of a daemon's start-up shared by
 * both daemons: prepare opens -l (a bad one refused with its path) and
 * makes paths absolute only for -d; finish writes the pid file before it
 * drops to --user (so the file is root's, as /run wants), drops, and
 * releases -d's parent through its pipe. Whatever changes the process for
 * good runs in a forked child.
 */
#include <fcntl.h>
#include <pwd.h>
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

#include "lib/runtime/daemon_start.h"
#include "lib/runtime/log.h"

static char dir[64];
static char path[128];

static int make_dir(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/doppel-test-start-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int remove_dir(void **state)
{
	char file[160];
	static const char *const names[] = { "d.log", "d.pid" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(file, sizeof(file), "%s/%s", dir, names[i]);
		unlink(file);
	}
	rmdir(dir);
	return 0;
}

static void test_prepare_opens_the_log(void **state)
{
	struct daemon_options common = { .log_level = LOG_LEVEL_INFO };
	char err[256], text[256];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/d.log", dir);
	common.log_file = strdup(path);
	assert_int_equal(daemon_start_prepare(&common, err, sizeof(err)), 0);
	log_info("prepared");
	assert_int_equal(log_open_file(NULL), 0);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	assert_true(n > 0);
	text[n] = '\0';
	assert_non_null(strstr(text, "prepared"));
	daemon_options_free(&common);
}

static void test_prepare_refuses_a_bad_log(void **state)
{
	struct daemon_options common = { .log_level = LOG_LEVEL_INFO };
	char err[256];

	common.log_file = strdup("/nonexistent-doppel/d.log");
	assert_int_equal(daemon_start_prepare(&common, err, sizeof(err)), -1);
	assert_string_equal(err, "-l '/nonexistent-doppel/d.log': No such file or directory");
	daemon_options_free(&common);
}

/* -P and --stats-file in a missing folder, or under a file, are refused
 * like a bad -l, before anything is opened; a bare name (the working
 * folder) and a file in "/" pass. */
static void test_prepare_refuses_missing_folders(void **state)
{
	struct daemon_options common = { .log_level = LOG_LEVEL_INFO };
	char err[256];

	common.pid_file = strdup("/nonexistent-doppel/d.pid");
	assert_int_equal(daemon_start_prepare(&common, err, sizeof(err)), -1);
	assert_string_equal(err, "-P '/nonexistent-doppel/d.pid': folder /nonexistent-doppel: "
			    "No such file or directory");
	free(common.pid_file);
	common.pid_file = strdup("/etc/hostname/d.pid");
	assert_int_equal(daemon_start_prepare(&common, err, sizeof(err)), -1);
	assert_string_equal(err, "-P '/etc/hostname/d.pid': /etc/hostname is not a folder");
	free(common.pid_file);
	common.pid_file = strdup("d.pid");
	common.stats_file = strdup("missing-doppel/s.json");
	assert_int_equal(daemon_start_prepare(&common, err, sizeof(err)), -1);
	assert_string_equal(err, "--stats-file 'missing-doppel/s.json': folder missing-doppel: "
			    "No such file or directory");
	free(common.stats_file);
	common.stats_file = strdup("/s.json");
	assert_int_equal(daemon_start_prepare(&common, err, sizeof(err)), 0);
	daemon_options_free(&common);
}

static void test_check_device(void **state)
{
	char err[256];

	assert_int_equal(daemon_check_device("-i", NULL, err, sizeof(err)), 0);
	assert_int_equal(daemon_check_device("-i", "any", err, sizeof(err)), 0);
	assert_int_equal(daemon_check_device("-i", "lo", err, sizeof(err)), 0);
	assert_int_equal(daemon_check_device("-o", "nosuch-doppel0", err, sizeof(err)), -1);
	assert_string_equal(err, "-o 'nosuch-doppel0': no such network interface");
}

/* Relative paths stay as given without -d, and become absolute with it
 * (the log file itself is not set here: nothing is opened). */
static void test_prepare_paths_for_background(void **state)
{
	struct daemon_options common = { .log_level = LOG_LEVEL_INFO };
	char err[256], cwd[4096], expected[4200];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	common.pid_file = strdup("./d.pid");
	common.stats_file = strdup("/var/d.json");
	assert_int_equal(daemon_start_prepare(&common, err, sizeof(err)), 0);
	assert_string_equal(common.pid_file, "./d.pid");
	common.daemonize = true;
	assert_int_equal(daemon_start_prepare(&common, err, sizeof(err)), 0);
	snprintf(expected, sizeof(expected), "%s/./d.pid", cwd);
	assert_string_equal(common.pid_file, expected);
	assert_string_equal(common.stats_file, "/var/d.json");
	daemon_options_free(&common);
}

/* What the child found after daemon_start_finish(). */
struct finished {
	int rc;
	char err[256];
	uid_t uid;
};

static void finish_in_child(struct daemon_options *common, int ready_fd, struct finished *f,
			    int report_fd)
{
	memset(f, 0, sizeof(*f));
	f->rc = daemon_start_finish(common, ready_fd, f->err, sizeof(f->err));
	f->uid = getuid();
	_exit(write(report_fd, f, sizeof(*f)) == (ssize_t)sizeof(*f) ? 0 : 1);
}

/* Run daemon_start_finish in a child; ready_pipe: give it a pipe's write
 * end as -d's descriptor and return the byte read from the other end. */
static char run_finish(struct daemon_options *common, int with_ready_pipe, struct finished *f)
{
	int report[2], ready[2] = { -1, -1 }, status;
	char byte = 0;
	pid_t pid;

	assert_int_equal(pipe(report), 0);
	if (with_ready_pipe)
		assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(report[0]);
		if (with_ready_pipe)
			close(ready[0]);
		finish_in_child(common, ready[1], f, report[1]);
	}
	close(report[1]);
	if (with_ready_pipe) {
		close(ready[1]);
		assert_int_equal(read(ready[0], &byte, 1), 1);
		close(ready[0]);
	}
	assert_int_equal(read(report[0], f, sizeof(*f)), (ssize_t)sizeof(*f));
	close(report[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return byte;
}

static void test_finish_pid_file_then_user_then_ready(void **state)
{
	struct daemon_options common = { .log_level = LOG_LEVEL_INFO };
	struct passwd *nobody = getpwnam("nobody");
	struct finished f;
	struct stat st;

	if (geteuid() != 0 || !nobody)
		skip();
	snprintf(path, sizeof(path), "%s/d.pid", dir);
	common.pid_file = strdup(path);
	common.user = strdup("nobody");
	assert_int_not_equal(run_finish(&common, 1, &f), 0);
	assert_int_equal(f.rc, 0);
	assert_int_equal(f.uid, nobody->pw_uid);
	/* Written as root, before the drop. */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_true(st.st_size > 1);
	daemon_options_free(&common);
}

static void test_finish_errors_name_the_option(void **state)
{
	struct daemon_options common = { .log_level = LOG_LEVEL_INFO };
	struct finished f;

	common.pid_file = strdup("/nonexistent-doppel/d.pid");
	run_finish(&common, 0, &f);
	assert_int_equal(f.rc, -1);
	assert_string_equal(f.err, "-P '/nonexistent-doppel/d.pid': No such file or directory");
	daemon_options_free(&common);

	common.user = strdup("no-such-user-for-doppel");
	run_finish(&common, 0, &f);
	assert_int_equal(f.rc, -1);
	assert_non_null(strstr(f.err, "--user no-such-user-for-doppel: "));
	daemon_options_free(&common);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prepare_opens_the_log),
		cmocka_unit_test(test_prepare_refuses_a_bad_log),
		cmocka_unit_test(test_prepare_refuses_missing_folders),
		cmocka_unit_test(test_check_device),
		cmocka_unit_test(test_prepare_paths_for_background),
		cmocka_unit_test(test_finish_pid_file_then_user_then_ready),
		cmocka_unit_test(test_finish_errors_name_the_option),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
