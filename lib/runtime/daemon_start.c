/*
 * daemon_start.c — the two halves of daemon_start.h around a daemon's own
 * start-up.
 */
#include "lib/runtime/daemon_start.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/runtime/background.h"
#include "lib/runtime/log.h"
#include "lib/runtime/pidfile.h"
#include "lib/runtime/privileges.h"

/* The folder a file will be written in exists: a -P or --stats-file in a
 * missing folder is refused now, like a bad -l, and not once the sockets
 * are open (-P, exit 1) or at every statistics write (a warning). */
static int check_folder(const char *option, const char *file, char *err, size_t errlen)
{
	const char *slash = file ? strrchr(file, '/') : NULL;
	char folder[4096];
	struct stat st;

	if (!slash)
		return 0;	/* the working folder */
	if (slash == file)
		return 0;	/* "/" */
	if ((size_t)(slash - file) >= sizeof(folder)) {
		snprintf(err, errlen, "%s '%s': path too long", option, file);
		return -1;
	}
	memcpy(folder, file, (size_t)(slash - file));
	folder[slash - file] = '\0';
	if (stat(folder, &st) < 0) {
		snprintf(err, errlen, "%s '%s': folder %s: %s", option, file, folder,
			 strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s '%s': %s is not a folder", option, file, folder);
		return -1;
	}
	return 0;
}

int daemon_start_prepare(struct daemon_options *common, char *err, size_t errlen)
{
	if (check_folder("-P", common->pid_file, err, errlen) < 0 ||
	    check_folder("--stats-file", common->stats_file, err, errlen) < 0)
		return -1;
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

int daemon_check_device(const char *option, const char *device, char *err, size_t errlen)
{
	if (!device || !strcmp(device, "any") || if_nametoindex(device) != 0)
		return 0;
	snprintf(err, errlen, "%s '%s': no such network interface", option, device);
	return -1;
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
