/*
 * background.c — fork early, report readiness to the waiting parent
 * through a pipe (see background.h for why early).
 */
#include "lib/runtime/background.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The parent: wait for one byte (ready) or the end of the pipe (the child
 * exited, having printed why), and exit accordingly. A child that exited
 * 0 without saying it was ready did not start either. */
static void parent_wait(int read_fd, pid_t child)
{
	char byte;
	ssize_t n;
	int status = 0;
	pid_t waited;

	do
		n = read(read_fd, &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1)
		_exit(0);
	do
		waited = waitpid(child, &status, 0);
	while (waited < 0 && errno == EINTR);
	if (waited < 0 || !WIFEXITED(status) || WEXITSTATUS(status) == 0)
		_exit(1);
	_exit(WEXITSTATUS(status));
}

int background_start(char *err, size_t errlen)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid > 0) {
		close(fds[1]);
		parent_wait(fds[0], pid);
	}
	close(fds[0]);
	if (setsid() < 0) {
		snprintf(err, errlen, "setsid: %s", strerror(errno));
		close(fds[1]);
		return -1;
	}
	return fds[1];
}

int background_ready(int ready_fd, char *err, size_t errlen)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "/dev/null: %s", strerror(errno));
		return -1;
	}
	if (chdir("/") < 0) {
		snprintf(err, errlen, "chdir /: %s", strerror(errno));
		close(fd);
		return -1;
	}
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	if (write(ready_fd, "R", 1) != 1) {
		snprintf(err, errlen, "tell the parent: %s", strerror(errno));
		close(ready_fd);
		return -1;
	}
	close(ready_fd);
	return 0;
}

int background_absolute_path(char **path, char *err, size_t errlen)
{
	char cwd[4096], *absolute;

	if (!*path || (*path)[0] == '/')
		return 0;
	if (!getcwd(cwd, sizeof(cwd))) {
		snprintf(err, errlen, "getcwd: %s", strerror(errno));
		return -1;
	}
	if (asprintf(&absolute, "%s/%s", cwd, *path) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(*path);
	*path = absolute;
	return 0;
}
