/*
 * main.c — doppel-copy's process: options, logging, signals, the move to
 * the background (-d), the pid file (-P), systemd's notifications, and the
 * drop to an unprivileged user (--user) once the sockets are open. The
 * replay itself is copy.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/wire/wire_tls.h"
#include "lib/runtime/background.h"
#include "copy/capture/capture.h"
#include "copy/copy.h"
#include "copy/copy_credentials.h"
#include "copy/copy_options.h"
#include "copy/copy_stats.h"
#include "copy/copy_workers.h"
#include "lib/runtime/daemon_reload.h"
#include "lib/runtime/daemon_start.h"
#include "lib/runtime/log.h"
#include "lib/runtime/loop.h"
#include "lib/runtime/privileges.h"
#include "lib/runtime/sd_notify.h"
#include "lib/runtime/watchdog.h"

struct daemon {
	int argc;		/* read again on SIGHUP */
	char **argv;
	struct copy_options options;
	struct loop *loop;
	struct copy *copy;		/* the replay; NULL in the --workers supervisor */
	struct copy_workers *workers;	/* --workers: in the supervisor */
	struct copy_worker_slot *slot;	/* --workers: in a worker, its shared slot */
	struct watchdog watchdog;
};

/* What a signal or SIGHUP asks of the replay, or of the supervisor of
 * --workers (copy_workers.h), which passes it on. */
static void report(struct daemon *d)
{
	if (d->workers)
		copy_workers_report(d->workers);
	else
		copy_report(d->copy);
}

static void stats_rearm(struct daemon *d)
{
	if (d->workers)
		copy_workers_stats_rearm(d->workers);
	else
		copy_stats_rearm(d->copy);
}

static int metrics_listen(struct daemon *d, const char *address, char *err, size_t errlen)
{
	if (d->workers)
		return copy_workers_metrics_listen(d->workers, address, err, errlen);
	return copy_metrics_listen(d->copy, address, err, errlen);
}

/* ---- signals and timers ---- */

static void on_stop_signal(struct loop *l, int signo, void *arg)
{
	struct daemon *d = arg;

	sd_notify_stopping();
	if (d->workers) {
		/* The loop stops when the last worker has exited. */
		copy_workers_stop(d->workers);
		return;
	}
	copy_stop(d->copy, strsignal(signo));
	loop_stop(l);
}

static void on_usr1(struct loop *l, int signo, void *arg)
{
	struct daemon *d = arg;

	report(d);
}

static void on_usr2(struct loop *l, int signo, void *arg)
{
	struct daemon *d = arg;

	/* Workers take SIGUSR2 as the supervisor's call to publish their
	 * statistics (copy_workers.h): no list with --workers yet. */
	if (d->workers)
		log_info("SIGUSR2: the list of sessions is not available with --workers");
	else
		copy_log_sessions(d->copy);
}

/* One option SIGHUP found changed: applied when it can be without
 * dropping a session, else refused with a line naming it. */
struct reload {
	struct daemon *d;
	struct copy_options *fresh;
};

static void on_change(void *ctx, const struct daemon_reload_change *change)
{
	struct reload *r = ctx;
	struct copy_options *live = &r->d->options;
	char err[512];

	switch (change->id) {
	case DAEMON_OPT_METRICS:
		if (metrics_listen(r->d, r->fresh->common.metrics, err, sizeof(err)) < 0) {
			log_warnx("SIGHUP: %s; still serving %s", err,
				  live->common.metrics ? live->common.metrics : "no metrics");
			return;
		}
		break;
	case 'r':
		if (live->percent > live->percent_before)
			live->percent_before = live->percent;
		live->percent = r->fresh->percent;
		daemon_reload_applied(&live->common, &r->fresh->common, change);
		log_info("SIGHUP: new connections follow -r %u%%; those begun go on", live->percent);
		return;
	}
	if (!daemon_reload_common(&live->common, &r->fresh->common, change))
		daemon_reload_refuse(change);
	else if (change->id == DAEMON_OPT_STATS_INTERVAL)
		stats_rearm(r->d);
}

/* SIGHUP: the log file reopened (after logrotate), then the command line
 * and config file read again and what changed applied or refused. */
static void on_hup(struct loop *l, int signo, void *arg)
{
	struct daemon *d = arg;
	struct copy_options fresh;
	struct reload r = { d, &fresh };
	char err[1024];

	if (d->options.common.log_file && log_open_file(d->options.common.log_file) < 0)
		log_warn("SIGHUP: cannot reopen -l %s", d->options.common.log_file);
	else if (d->options.common.log_file)
		log_info("SIGHUP: log file reopened");
	if (d->workers)
		copy_workers_signal(d->workers, SIGHUP);	/* each reloads its own */
	if (copy_options_parse(&fresh, d->argc, d->argv, err, sizeof(err)) != COPY_OPTIONS_RUN) {
		log_warnx("SIGHUP: %s; nothing changed", err);
	} else if (daemon_reload_diff(&d->options.common, &fresh.common, on_change, &r) == 0) {
		log_info("SIGHUP: the configuration is unchanged");
	}
	copy_options_free(&fresh);
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
	    loop_add_signal(d->loop, SIGUSR2, on_usr2, d) < 0 ||
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
	case COPY_OPTIONS_LIST_STATS: {
		struct copy_stats stats;

		copy_stats_init(&stats);
		stats_list(&stats.table, stdout);
		exit(0);
	}
	case COPY_OPTIONS_ERROR:
		break;
	}
	fprintf(stderr, "doppel-copy: %s\n", err);
	exit(2);
}

/* What is only known to be wrong once the options are read together with
 * the system: the offline file, the interfaces, the log file and the
 * folders of -P and --stats-file, paths for -d. Exits 2 like a bad option. */
static void check_environment(struct daemon *d)
{
	struct copy_options *o = &d->options;
	char err[640], filter[4096];

	/* The whole file header, its data-link type and the filter, now: not once
	 * the intercepts are connected (which may never happen). */
	if (o->offline_file) {
		if (!o->filter && copy_options_build_filter(o, filter, sizeof(filter)) < 0) {
			fprintf(stderr, "doppel-copy: the filter built from -x is too long; give -F\n");
			exit(2);
		}
		if (capture_offline_check(o->offline_file, o->filter ? o->filter : filter, err,
					  sizeof(err)) < 0) {
			fprintf(stderr, "doppel-copy: --offline: %s\n", err);
			exit(2);
		}
	}
	/* A credentials file that is not private or not valid: refused now
	 * (read again, into locked memory, when the daemon starts). */
	if (o->credentials_file) {
		struct copy_credentials *creds = copy_credentials_load(o->credentials_file, err,
								       sizeof(err));
		struct engine_config cfg = { .auth_port_count = o->protocol_count };
		memcpy(cfg.auth_ports, o->protocols, o->protocol_count * sizeof(o->protocols[0]));
		if (!creds || copy_credentials_pooled_config(creds, &cfg, err, sizeof(err)) < 0) {
			fprintf(stderr, "doppel-copy: %s\n", err);
			copy_credentials_free(creds);
			exit(2);
		}
		copy_credentials_free(creds);
	}
	/* Key and PSK files that are not private or not valid: refused now
	 * (exit 2), and read again when the daemon starts. */
	if (wire_tls_check(&o->tls, false, err, sizeof(err)) < 0) {
		fprintf(stderr, "doppel-copy: TLS: %s\n", err);
		exit(2);
	}
	/* Plain text to a non-loopback intercept: only when asked for. */
	if (copy_options_check_channel(o, err, sizeof(err)) < 0) {
		fprintf(stderr, "doppel-copy: %s\n", err);
		exit(2);
	}
	if ((!o->offline_file && daemon_check_device("-i", o->device, err, sizeof(err)) < 0) ||
	    daemon_check_device("-o", o->output_device, err, sizeof(err)) < 0 ||
	    daemon_start_prepare(&o->common, err, sizeof(err)) < 0) {
		fprintf(stderr, "doppel-copy: %s\n", err);
		exit(2);
	}
}

static void explain_options(const struct copy_options *o)
{
	struct wire_tls_options tls = wire_tls_options_of(&o->tls);

	if (o->insecure_plaintext && !wire_tls_options_given(&tls))
		log_notice("--insecure-plaintext: the channel to the intercepts is plain text");
	else if (o->insecure_plaintext)
		log_notice("--insecure-plaintext has no effect: the channel to the intercepts "
			   "uses TLS (--tls-*)");
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

/* --workers: how often a worker copies its statistics for the supervisor. */
#define PUBLISH_MS 1000

static void on_publish(struct loop *l, uint64_t timer_id, void *arg)
{
	struct daemon *d = arg;

	copy_snapshot(d->copy, d->slot);
	loop_timer_add(l, PUBLISH_MS, on_publish, d);
}

/* The supervisor is about to write --stats-file: numbers of now, please. */
static void on_publish_signal(struct loop *l, int signo, void *arg)
{
	struct daemon *d = arg;

	copy_snapshot(d->copy, d->slot);
}

/* A worker of --workers, once its replay is open: the drop to --user, then
 * the wait for the other workers (copy_workers.h). The supervisor does the
 * rest of start-up (pid file, -d, systemd). */
static void start_worker(struct daemon *d)
{
	char err[1024];
	uint64_t since;

	if (d->options.common.user && privileges_drop(d->options.common.user, err, sizeof(err)) < 0)
		log_fatalx("--user: %s", err);
	if (loop_add_signal(d->loop, COPY_WORKERS_PUBLISH_SIGNAL, on_publish_signal, d) < 0)
		log_fatal("signals");
	since = copy_workers_ready();
	if (!since)
		exit(1);
	copy_set_capture_since(d->copy, since);
	copy_snapshot(d->copy, d->slot);
	loop_timer_add(d->loop, PUBLISH_MS, on_publish, d);
	log_info("worker %u of %u started", d->options.worker_index, d->options.workers);
}

/* Everything up to READY=1: the loop, signals, the replay's sockets (or,
 * with --workers, the workers), the pid file, the drop of privileges, the
 * detach from the terminal. */
static void start(struct daemon *d, int ready_fd)
{
	char err[1024];

	d->loop = loop_new();
	if (!d->loop)
		log_fatal("loop");
	if (setup_signals(d, err, sizeof(err)) < 0)
		log_fatalx("%s", err);
	if (d->workers) {
		if (copy_workers_run(d->workers, d->loop, err, sizeof(err)) < 0)
			log_fatalx("%s", err);
	} else {
		d->copy = copy_new(&d->options, d->loop, err, sizeof(err));
		if (!d->copy)
			log_fatalx("%s", err);
	}
	if (d->slot) {
		start_worker(d);
		return;
	}
	if (daemon_start_finish(&d->options.common, ready_fd, err, sizeof(err)) < 0)
		log_fatalx("%s", err);
	if (d->options.common.user)
		log_info("running as %s, keeping CAP_NET_RAW and CAP_NET_ADMIN",
			 d->options.common.user);
	if (watchdog_start(&d->watchdog, d->loop) < 0)
		log_fatalx("out of memory for the watchdog timer");
	sd_notify_ready();
	log_info("doppel-copy %s started: %zu transfers, %zu intercepts%s", DOPPEL_VERSION,
		 d->options.transfer_count, d->options.intercept_count,
		 d->workers ? ", workers as below" : "");
	if (d->workers)
		log_info("%u workers, -m split: %" PRIu64 " bytes each", d->options.workers,
			 d->options.memory_bytes / d->options.workers);
}

/* After the loop: the exit status. A signal has stopped the replay
 * already; an offline replay that ended, or failed to start, not yet. */
static int finish(struct daemon *d)
{
	int status;

	if (d->workers) {
		/* Every worker has exited: their last numbers are in. */
		status = copy_workers_status(d->workers);
		copy_workers_report(d->workers);
		copy_workers_free(d->workers);
	} else {
		status = copy_failed(d->copy) ? 1 : 0;
		if (copy_finished(d->copy) || status != 0) {
			sd_notify_stopping();
			copy_stop(d->copy, copy_finished(d->copy) ? "offline replay done"
							      : "the replay could not start");
		}
		copy_report(d->copy);
		if (d->slot)
			copy_snapshot(d->copy, d->slot);
		copy_free(d->copy);
	}
	loop_free(d->loop);
	/* Written by start(), or the process would have exited; a worker
	 * wrote none. */
	if (!d->slot && d->options.common.pid_file && unlink(d->options.common.pid_file) < 0)
		log_debug("cannot remove -P %s: %s", d->options.common.pid_file, strerror(errno));
	log_info("stopped");
	copy_options_free(&d->options);
	return status;
}

int main(int argc, char **argv)
{
	struct daemon d;
	char err[1024];
	int ready_fd = -1;

	memset(&d, 0, sizeof(d));
	d.argc = argc;
	d.argv = argv;
	log_init("doppel-copy", LOG_LEVEL_INFO);
	parse_or_exit(&d, argc, argv);
	log_set_level(d.options.common.log_level);
	check_environment(&d);
	explain_options(&d.options);
	if (d.options.common.daemonize && (ready_fd = background_start(err, sizeof(err))) < 0)
		log_fatalx("-d: %s", err);
	if (d.options.workers > 1) {
		int role = copy_workers_start(&d.options, &d.workers, &d.slot, err, sizeof(err));

		if (role < 0)
			log_fatalx("%s", err);
		if (role == 1 && ready_fd >= 0) {
			close(ready_fd);	/* -d's: the supervisor's to release */
			ready_fd = -1;
		}
	}
	start(&d, ready_fd);
	if (loop_run(d.loop) < 0)
		log_warn("event loop");
	return finish(&d);
}
