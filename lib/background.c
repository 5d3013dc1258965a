/*
 * background.c — fork early, report readiness to the waiting parent
 * through a pipe (see background.h for why early).
 */
#include "background.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The parent: wait for one byte (ready) or the end of the pipe (the child
 * exited, having printed why), and exit accordingly. */
static void parent_wait(int read_fd, pid_t child)
{
	char byte;
	ssize_t n;
	int status;

	do
		n = read(read_fd, &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1)
		_exit(0);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	_exit(1);
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
	setsid();
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
