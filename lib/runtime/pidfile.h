/*
 * pidfile.h — -P: the daemon's pid in a file, for init scripts and
 * start-stop-daemon. Written once start-up has opened everything (a
 * daemon that failed to start leaves no file to mislead), removed at exit
 * by the daemon.
 */
#ifndef DOPPEL_PIDFILE_H
#define DOPPEL_PIDFILE_H

#include <stddef.h>

/* Write getpid() and a newline to path, created 0644 or truncated; a
 * symbolic link in its place is refused (O_NOFOLLOW: root must not write
 * through a link planted in a shared directory). 0, or -1 with err
 * "'PATH': reason" (errno kept); never logs. */
int pidfile_write(const char *path, char *err, size_t errlen);

#endif
