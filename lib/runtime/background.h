/*
 * background.h — -d: going to the background so that start-up errors still
 * reach the terminal and the exit status.
 *
 * Fork FIRST, before the event loop exists: an epoll set registered on a
 * signalfd by the parent is never woken by signals sent to the child (the
 * signalfd's wait queue belongs to the process that polled it first), so a
 * daemon that forks after building its loop no longer hears SIGTERM. The
 * parent stays until the child reports ready, then exits 0; if the child
 * dies first, the parent exits with its status (1 if that was 0 or the
 * child was killed: start-up did not finish).
 */
#ifndef DOPPEL_BACKGROUND_H
#define DOPPEL_BACKGROUND_H

#include <stddef.h>

/* Returns only in the child, in a new session: the descriptor to give
 * background_ready(). -1 with err filled if the pipe, fork or setsid
 * failed. */
int background_start(char *err, size_t errlen);
/* Start-up is done: stdin, stdout and stderr go to /dev/null, the working
 * directory to "/", and the parent exits 0. 0, or -1 with err. */
int background_ready(int ready_fd, char *err, size_t errlen);

/* background_ready() moves to "/": make a relative *path (malloc'ed, may
 * be NULL) absolute against the current directory first, so that it still
 * names the same file. 0, or -1 with err. */
int background_absolute_path(char **path, char *err, size_t errlen);

#endif
