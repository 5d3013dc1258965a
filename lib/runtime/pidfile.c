/*
 * pidfile.c — the pid file of pidfile.h.
 */
#include "lib/runtime/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int pidfile_write(const char *path, char *err, size_t errlen)
{
	char text[32];
	int len = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	int saved;

	if (fd < 0) {
		snprintf(err, errlen, "'%s': %s", path, strerror(errno));
		return -1;
	}
	if (write(fd, text, (size_t)len) != len) {
		saved = errno;
		snprintf(err, errlen, "'%s': %s", path, strerror(saved));
		close(fd);
		errno = saved;
		return -1;
	}
	if (close(fd) < 0) {
		snprintf(err, errlen, "'%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
