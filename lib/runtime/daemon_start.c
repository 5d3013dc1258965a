/*
 * daemon_start.c — the two halves of daemon_start.h around a daemon's own
 * start-up.
 */
#include "lib/runtime/daemon_start.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/runtime/background.h"
#include "lib/runtime/log.h"
#include "lib/runtime/pidfile.h"
#include "lib/runtime/privileges.h"

int daemon_start_prepare(struct daemon_options *common, char *err, size_t errlen)
{
	if (common->daemonize &&
	    (background_absolute_path(&common->log_file, err, errlen) < 0 ||
	     background_absolute_path(&common->pid_file, err, errlen) < 0 ||
	     background_absolute_path(&common->stats_file, err, errlen) < 0))
		return -1;
	if (common->log_file && log_open_file(common->log_file) < 0) {
		snprintf(err, errlen, "-l '%s': %s", common->log_file, strerror(errno));
		return -1;
	}
	return 0;
}

int daemon_start_finish(const struct daemon_options *common, int ready_fd, char *err,
			size_t errlen)
{
	char why[512];

	if (common->pid_file && pidfile_write(common->pid_file, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "-P %s", why);
		return -1;
	}
	if (common->user && privileges_drop(common->user, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "--user %s: %s", common->user, why);
		return -1;
	}
	if (ready_fd >= 0 && background_ready(ready_fd, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "-d: %s", why);
		return -1;
	}
	return 0;
}
