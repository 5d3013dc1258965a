/*
 * test_pidfile.c — -P's file: the pid and a newline, an old file
 * truncated, and refusals that name the path: a missing directory, and a
 * symbolic link in the file's place (left untouched, its target too).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/runtime/pidfile.h"

struct dir {
	char path[64];
	char file[128];
	char target[128];
};

static void make_dir(struct dir *d)
{
	snprintf(d->path, sizeof(d->path), "/tmp/doppel-test-pidfile-XXXXXX");
	assert_non_null(mkdtemp(d->path));
	snprintf(d->file, sizeof(d->file), "%s/daemon.pid", d->path);
	snprintf(d->target, sizeof(d->target), "%s/target", d->path);
}

static void remove_dir(struct dir *d)
{
	unlink(d->file);
	unlink(d->target);
	rmdir(d->path);
}

static void read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, len - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_writes_the_pid(void **state)
{
	char expected[32], text[64], err[256];
	struct dir d;

	make_dir(&d);
	/* A longer leftover from an earlier run must not survive. */
	write_file(d.file, "123456789012345\nleftover\n");
	snprintf(expected, sizeof(expected), "%ld\n", (long)getpid());
	assert_int_equal(pidfile_write(d.file, err, sizeof(err)), 0);
	read_file(d.file, text, sizeof(text));
	assert_string_equal(text, expected);
	remove_dir(&d);
}

static void test_missing_directory(void **state)
{
	char err[256];

	assert_int_equal(pidfile_write("/nonexistent-doppel/x.pid", err, sizeof(err)), -1);
	assert_string_equal(err, "'/nonexistent-doppel/x.pid': No such file or directory");
}

static void test_link_refused(void **state)
{
	char expected[256], text[64], err[256];
	struct dir d;

	make_dir(&d);
	write_file(d.target, "precious\n");
	assert_int_equal(symlink(d.target, d.file), 0);
	assert_int_equal(pidfile_write(d.file, err, sizeof(err)), -1);
	snprintf(expected, sizeof(expected), "'%s': %s", d.file, strerror(ELOOP));
	assert_string_equal(err, expected);
	read_file(d.target, text, sizeof(text));
	assert_string_equal(text, "precious\n");
	remove_dir(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writes_the_pid),
		cmocka_unit_test(test_missing_directory),
		cmocka_unit_test(test_link_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
