/*
 * main.c — doppel-copy's process: options, logging, signals, the move to
 * the background (-d), the pid file (-P), systemd's notifications, and the
 * drop to an unprivileged user (--user) once the sockets are open. The
 * replay itself is copy.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "copy.h"
#include "copy_options.h"
#include "log.h"
#include "loop.h"
#include "sd_notify.h"

struct daemon {
	struct copy_options options;
	struct loop *loop;
	struct copy *copy;
	uint64_t watchdog_period_ms;
	bool pidfile_written;
};

/* ---- privileges ---- */

/* Become pw's user and group, keeping only CAP_NET_RAW and CAP_NET_ADMIN
 * (the capture and send sockets are open already; reconnecting to an
 * intercept needs nothing, but a later reopen of a raw socket would). */
static int drop_privileges(const struct passwd *pw, char *err, size_t errlen)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	uint32_t keep = (1u << CAP_NET_RAW) | (1u << CAP_NET_ADMIN);

	if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) < 0)
		return snprintf(err, errlen, "prctl(PR_SET_KEEPCAPS): %s", strerror(errno)), -1;
	if (initgroups(pw->pw_name, pw->pw_gid) < 0)
		return snprintf(err, errlen, "initgroups: %s", strerror(errno)), -1;
	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0)
		return snprintf(err, errlen, "setresgid(%u): %s", (unsigned)pw->pw_gid,
				strerror(errno)), -1;
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		return snprintf(err, errlen, "setresuid(%u): %s", (unsigned)pw->pw_uid,
				strerror(errno)), -1;
	memset(data, 0, sizeof(data));
	data[0].effective = keep;
	data[0].permitted = keep;
	if (syscall(SYS_capset, &header, data) < 0)
		return snprintf(err, errlen, "capset: %s", strerror(errno)), -1;
	prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L);
	/* A drop that can be undone is no drop. */
	if (pw->pw_uid != 0 && setuid(0) == 0)
		return snprintf(err, errlen, "could become root again after the drop"), -1;
	return 0;
}

/* ---- background, pid file ---- */

/* -d moves the process to "/": relative paths given before must still
 * name the same files. */
static int make_absolute(char **path, char *err, size_t errlen)
{
	char cwd[4096], *absolute;

	if (!*path || (*path)[0] == '/')
		return 0;
	if (!getcwd(cwd, sizeof(cwd)))
		return snprintf(err, errlen, "getcwd: %s", strerror(errno)), -1;
	if (asprintf(&absolute, "%s/%s", cwd, *path) < 0)
		return snprintf(err, errlen, "out of memory"), -1;
	free(*path);
	*path = absolute;
	return 0;
}

/* -d, first half: fork before the loop and its signalfds exist (epoll
 * watches a signalfd through the process that registered it: a loop made
 * before fork never wakes for the child's signals). The parent waits on a
 * pipe until the child says it is up, so start-up errors still reach the
 * terminal and the exit status. Returns the pipe's end for daemon_detach. */
static int daemon_fork(char *err, size_t errlen)
{
	int fds[2], status;
	pid_t pid;
	ssize_t n;
	char byte;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return snprintf(err, errlen, "pipe: %s", strerror(errno)), -1;
	pid = fork();
	if (pid < 0)
		return snprintf(err, errlen, "fork: %s", strerror(errno)), -1;
	if (pid > 0) {
		close(fds[1]);
		do
			n = read(fds[0], &byte, 1);
		while (n < 0 && errno == EINTR);
		if (n == 1)
			_exit(0);
		/* The child died before it was up; it said why on stderr. */
		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
			_exit(1);
		_exit(WEXITSTATUS(status) ? WEXITSTATUS(status) : 1);
	}
	close(fds[0]);
	if (setsid() < 0)
		return snprintf(err, errlen, "setsid: %s", strerror(errno)), -1;
	return fds[1];
}

/* -d, second half: the child is up; let the parent go. */
static int daemon_detach(int ready_fd, char *err, size_t errlen)
{
	int fd;

	if (chdir("/") < 0)
		return snprintf(err, errlen, "chdir /: %s", strerror(errno)), -1;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return snprintf(err, errlen, "/dev/null: %s", strerror(errno)), -1;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	if (write(ready_fd, "1", 1) != 1)
		return snprintf(err, errlen, "telling the parent: %s", strerror(errno)), -1;
	close(ready_fd);
	return 0;
}

static int write_pidfile(const char *path, char *err, size_t errlen)
{
	char text[32];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	int len = snprintf(text, sizeof(text), "%ld\n", (long)getpid());

	if (fd < 0)
		return snprintf(err, errlen, "-P '%s': %s", path, strerror(errno)), -1;
	if (write(fd, text, (size_t)len) != len) {
		snprintf(err, errlen, "-P '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* ---- signals and timers ---- */

static void on_stop_signal(struct loop *l, int signo, void *arg)
{
	struct daemon *d = arg;

	sd_notify_stopping();
	copy_stop(d->copy, strsignal(signo));
	loop_stop(l);
}

static void on_usr1(struct loop *l, int signo, void *arg)
{
	struct daemon *d = arg;

	copy_report(d->copy);
}

static void on_hup(struct loop *l, int signo, void *arg)
{
	struct daemon *d = arg;

	if (!d->options.log_file)
		return;
	if (log_open_file(d->options.log_file) < 0)
		log_warn("SIGHUP: cannot reopen -l %s", d->options.log_file);
	else
		log_info("SIGHUP: log file reopened");
}

static void on_watchdog(struct loop *l, uint64_t id, void *arg)
{
	struct daemon *d = arg;

	sd_notify_watchdog();
	loop_timer_add(l, d->watchdog_period_ms, on_watchdog, d);
}

static int setup_signals(struct daemon *d, char *err, size_t errlen)
{
	static const int stop[] = { SIGINT, SIGTERM };

	/* Writes to a closed intercept connection must fail, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < 2; i++)
		if (loop_add_signal(d->loop, stop[i], on_stop_signal, d) < 0)
			return snprintf(err, errlen, "signals: %s", strerror(errno)), -1;
	if (loop_add_signal(d->loop, SIGUSR1, on_usr1, d) < 0 ||
	    loop_add_signal(d->loop, SIGHUP, on_hup, d) < 0)
		return snprintf(err, errlen, "signals: %s", strerror(errno)), -1;
	return 0;
}

/* ---- start-up ---- */

static void parse_or_exit(struct daemon *d, int argc, char **argv)
{
	char err[1024];

	switch (copy_options_parse(&d->options, argc, argv, err, sizeof(err))) {
	case COPY_OPTIONS_RUN:
		return;
	case COPY_OPTIONS_HELP:
		fputs(copy_options_usage(), stdout);
		exit(0);
	case COPY_OPTIONS_VERSION:
		printf("doppel-copy %s\n", DOPPEL_VERSION);
		exit(0);
	case COPY_OPTIONS_ERROR:
		break;
	}
	fprintf(stderr, "doppel-copy: %s\n", err);
	exit(2);
}

/* What is only known to be wrong once the options are read together with
 * the system: the user, the log file, paths for -d. Exits 2 like a bad
 * option. */
static const struct passwd *check_environment(struct daemon *d)
{
	struct copy_options *o = &d->options;
	const struct passwd *pw = NULL;
	char err[512];

	if (o->user && !(pw = getpwnam(o->user))) {
		fprintf(stderr, "doppel-copy: --user '%s': no such user\n", o->user);
		exit(2);
	}
	if (o->daemonize && (make_absolute(&o->log_file, err, sizeof(err)) < 0 ||
			     make_absolute(&o->pidfile, err, sizeof(err)) < 0 ||
			     make_absolute(&o->stats_file, err, sizeof(err)) < 0)) {
		fprintf(stderr, "doppel-copy: %s\n", err);
		exit(2);
	}
	if (o->offline_file && access(o->offline_file, R_OK) < 0) {
		fprintf(stderr, "doppel-copy: --offline '%s': %s\n", o->offline_file, strerror(errno));
		exit(2);
	}
	if (o->log_file && log_open_file(o->log_file) < 0) {
		fprintf(stderr, "doppel-copy: -l '%s': %s\n", o->log_file, strerror(errno));
		exit(2);
	}
	return pw;
}

static void explain_options(const struct copy_options *o)
{
	if (o->intercept_conns > 1)
		log_notice("-C %u: one connection per intercept is used", o->intercept_conns);
	for (size_t i = 0; i < o->transfer_count && !o->output_device; i++) {
		if (o->transfers[i].has_next_hop_mac) {
			log_notice("-x: the MAC addresses are used only with -o; sending with raw "
				   "IP sockets");
			break;
		}
	}
}

/* Everything up to READY=1: the loop, signals, the replay's sockets, the
 * pid file, the drop of privileges, the detach from the terminal. */
static void start(struct daemon *d, const struct passwd *pw, int ready_fd)
{
	char err[1024];

	d->loop = loop_new();
	if (!d->loop)
		log_fatal("loop");
	if (setup_signals(d, err, sizeof(err)) < 0)
		log_fatalx("%s", err);
	d->copy = copy_new(&d->options, d->loop, err, sizeof(err));
	if (!d->copy)
		log_fatalx("%s", err);
	if (d->options.pidfile) {
		if (write_pidfile(d->options.pidfile, err, sizeof(err)) < 0)
			log_fatalx("%s", err);
		d->pidfile_written = true;
	}
	if (pw) {
		if (drop_privileges(pw, err, sizeof(err)) < 0)
			log_fatalx("--user %s: %s", d->options.user, err);
		log_info("running as %s, keeping CAP_NET_RAW and CAP_NET_ADMIN", d->options.user);
	}
	if (ready_fd >= 0 && daemon_detach(ready_fd, err, sizeof(err)) < 0)
		log_fatalx("%s", err);
	d->watchdog_period_ms = sd_watchdog_interval_ms() / 2;
	if (d->watchdog_period_ms)
		loop_timer_add(d->loop, d->watchdog_period_ms, on_watchdog, d);
	sd_notify_ready();
	log_info("doppel-copy %s started: %zu transfers, %zu intercepts", DOPPEL_VERSION,
		 d->options.transfer_count, d->options.intercept_count);
}

/* After the loop: the exit status. A signal has stopped the replay
 * already; an offline replay that ended, or failed to start, not yet. */
static int finish(struct daemon *d)
{
	int status = copy_failed(d->copy) ? 1 : 0;

	if (copy_finished(d->copy) || status != 0) {
		sd_notify_stopping();
		copy_stop(d->copy, status ? "the replay could not start" : "offline replay done");
	}
	copy_report(d->copy);
	copy_free(d->copy);
	loop_free(d->loop);
	if (d->pidfile_written && unlink(d->options.pidfile) < 0)
		log_debug("cannot remove -P %s: %s", d->options.pidfile, strerror(errno));
	log_info("stopped");
	copy_options_free(&d->options);
	return status;
}

int main(int argc, char **argv)
{
	struct daemon d;
	const struct passwd *pw;
	char err[1024];
	int ready_fd = -1;

	memset(&d, 0, sizeof(d));
	log_init("doppel-copy", LOG_LEVEL_INFO);
	parse_or_exit(&d, argc, argv);
	log_set_level(d.options.log_level);
	pw = check_environment(&d);
	explain_options(&d.options);
	if (d.options.daemonize && (ready_fd = daemon_fork(err, sizeof(err))) < 0)
		log_fatalx("%s", err);
	start(&d, pw, ready_fd);
	if (loop_run(d.loop) < 0)
		log_warn("event loop");
	return finish(&d);
}
