/*
 * daemon_start.h — the steps of start-up both doppel daemons take, in the
 * order that makes them work (the daemon opens its own sockets between
 * the two calls):
 *
 *   daemon_start_prepare()  -l opened, the folders of -P and --stats-file
 *                           checked, and for -d the paths made absolute
 *                           (background_ready() moves to "/");
 *   background_start()      with -d, before the event loop exists
 *                           (background.h says why);
 *   ... the loop, signals and sockets, opened as root ...
 *   daemon_start_finish()   the pid file, still as root (/run is root's),
 *                           then the drop to --user, then -d's waiting
 *                           parent released: a failure of either still
 *                           reaches the terminal and the exit status.
 *
 * Both return 0, or -1 with err naming the option ("-P '/run/x.pid': ..."),
 * and never log: main logs, or prints and exits.
 */
#ifndef DOPPEL_DAEMON_START_H
#define DOPPEL_DAEMON_START_H

#include <stddef.h>

#include "lib/runtime/daemon_options.h"

/* A log file that cannot be opened, or a pid or statistics file whose
 * folder is missing, is refused like a bad option. */
int daemon_start_prepare(struct daemon_options *common, char *err, size_t errlen);
/* An interface named by an option (-i, -o) exists (NULL and "any" pass):
 * a typo is refused like a bad option, before anything opens. */
int daemon_check_device(const char *option, const char *device, char *err, size_t errlen);
/* ready_fd: background_start()'s descriptor, or -1 without -d. */
int daemon_start_finish(const struct daemon_options *common, int ready_fd, char *err,
			size_t errlen);

#endif
