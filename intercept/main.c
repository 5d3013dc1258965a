/*
 * main.c — doppel-intercept: options, then the listener and the source
 * opened as root, then privileges dropped, then the event loop until
 * SIGINT or SIGTERM. Only this file logs and exits.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/wire/wire_tls.h"
#include "lib/runtime/background.h"
#include "lib/runtime/daemon_start.h"
#include "intercept/intercept_options.h"
#include "intercept/intercept_stats.h"
#include "lib/runtime/daemon_reload.h"
#include "lib/runtime/metrics_http.h"
#include "lib/runtime/log.h"
#include "lib/runtime/loop.h"
#include "lib/runtime/sd_notify.h"
#include "intercept/server.h"
#include "intercept/source/source.h"
#include "lib/runtime/watchdog.h"

struct intercept {
	struct intercept_options options;
	struct intercept_stats stats;
	struct loop *loop;
	struct server *server;
	struct source source;
	bool source_open;
	struct watchdog watchdog;
	struct metrics_server *metrics;	/* --metrics, or NULL */
	struct wire_tls *tls;		/* --tls-*, or NULL for plain text */
	uint64_t stats_timer;
	int argc;			/* read again on SIGHUP */
	char **argv;
	int ready_fd;		/* -d: tells the waiting parent we are up */
	bool source_failed;	/* exit 1, for a supervisor to restart us */
};

static void on_deliver(void *ctx, const struct packet *p)
{
	server_deliver(ctx, p);
}

static void log_at(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void log_at(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

static void on_source_fail(void *ctx, const char *why)
{
	struct intercept *in = ctx;

	log_warnx("source %s: %s: stopping", in->options.source, why);
	in->source_failed = true;
	loop_stop(in->loop);
}

static void on_server_log(void *ctx, enum log_level level, const char *line)
{
	log_at(level, "%s", line);
}

static void before_sleep(struct loop *l, void *arg)
{
	struct intercept *in = arg;

	server_flush(in->server);
	if (in->source.ops->flush)
		in->source.ops->flush(&in->source);
}

static void stats_refresh(struct intercept *in)
{
	in->stats.values[ISTAT_SOURCE_MALFORMED] = in->source.counters.malformed;
	in->stats.values[ISTAT_SOURCE_LOST] = in->source.counters.lost;
}

static void stats_report(struct intercept *in)
{
	char line[2048];

	stats_refresh(in);
	intercept_stats_format(&in->stats, line, sizeof(line));
	log_info("stats: %s", line);
	/* best effort, for systemctl status */
	sd_notify_status("%llu copy daemons, %llu routes, %llu summaries routed, %llu unrouted",
			 (unsigned long long)in->stats.values[ISTAT_CONNECTIONS_ACTIVE],
			 (unsigned long long)in->stats.values[ISTAT_ROUTES_ACTIVE],
			 (unsigned long long)in->stats.values[ISTAT_SUMMARIES_ROUTED],
			 (unsigned long long)in->stats.values[ISTAT_SUMMARIES_UNROUTED]);
	if (in->options.common.stats_file &&
	    intercept_stats_write(&in->stats, in->options.common.stats_file) < 0)
		log_warn("stats file %s", in->options.common.stats_file);
}

/* Each copy daemon's connection, labelled with its address: one pass per
 * metric, as the text format wants each metric's samples together. */
static const struct stat_def peer_metrics[] = {
	{ "peer_routes", STAT_GAUGE, "routes a copy daemon's connection owns now", NULL, NULL, NULL },
	{ "peer_output_queued_bytes", STAT_GAUGE,
	  "bytes queued to a copy daemon, not yet taken by the kernel", NULL, NULL, NULL },
	{ "peer_summaries_dropped", STAT_COUNTER,
	  "responses dropped because that copy daemon's output was full", NULL, NULL, NULL },
};

struct peer_pass {
	struct metrics_text *out;
	size_t metric;
};

/* Each nfqueue queue's own counts, labelled with its number: which queue
 * the rule's fanout gave how much, and where losses were. */
static const struct stat_def queue_metrics[] = {
	{ "source_queue_packets", STAT_COUNTER, "responses the source delivered, by queue",
	  NULL, NULL, NULL },
	{ "source_queue_lost", STAT_COUNTER,
	  "responses lost before the daemon saw them, by queue", NULL, NULL, NULL },
};

struct queue_pass {
	struct metrics_text *out;
	size_t metric;
};

static void render_queue(void *ctx, uint16_t queue, const struct source_counters *c)
{
	struct queue_pass *pass = ctx;
	const struct stat_def *d = &queue_metrics[pass->metric];
	char number[8];
	const char *label[2] = { "queue", number };

	snprintf(number, sizeof(number), "%u", queue);
	metrics_text_sample(pass->out, d->name, d->type, label, 1,
			    pass->metric == 0 ? c->packets : c->lost);
}

static void render_peer(void *ctx, const struct server_peer *peer)
{
	struct peer_pass *pass = ctx;
	const struct stat_def *d = &peer_metrics[pass->metric];
	const char *label[2] = { "peer", peer->peer };
	uint64_t values[] = { peer->routes, peer->output_queued, peer->summaries_dropped };

	metrics_text_sample(pass->out, d->name, d->type, label, 1, values[pass->metric]);
}

/* The statistics, then the source's count labelled with its kind, then
 * the copy daemons' connections. A scrape reads what the loop keeps
 * anyway; nothing waits. */
static void render_metrics(void *ctx, struct metrics_text *out)
{
	struct intercept *in = ctx;
	const char *source[2] = { "source", in->options.source };

	stats_refresh(in);
	metrics_text_stats(out, &in->stats.stats);
	metrics_text_family(out, "source_packets", STAT_COUNTER,
			    "responses the source delivered, by source");
	metrics_text_sample(out, "source_packets", STAT_COUNTER, source, 1,
			    in->source.counters.packets);
	for (size_t i = 0; in->source.ops->each_queue &&
	     i < sizeof(queue_metrics) / sizeof(queue_metrics[0]); i++) {
		struct queue_pass pass = { out, i };

		metrics_text_family(out, queue_metrics[i].name, queue_metrics[i].type,
				    queue_metrics[i].help);
		in->source.ops->each_queue(&in->source, render_queue, &pass);
	}
	for (size_t i = 0; i < sizeof(peer_metrics) / sizeof(peer_metrics[0]); i++) {
		struct peer_pass pass = { out, i };

		metrics_text_family(out, peer_metrics[i].name, peer_metrics[i].type,
				    peer_metrics[i].help);
		server_each_peer(in->server, render_peer, &pass);
	}
	metrics_text_process(out, &in->stats.stats);
}

static void on_stats_timer(struct loop *l, uint64_t id, void *arg)
{
	struct intercept *in = arg;

	stats_report(in);
	in->stats_timer = loop_timer_add(l, in->options.common.stats_interval_ms, on_stats_timer, in);
}

static void render_metrics(void *ctx, struct metrics_text *out);

/* One option SIGHUP found changed: applied when it can be without
 * dropping a connection or a route, else refused with a line naming it. */
struct reload_ctx {
	struct intercept *in;
	struct intercept_options *fresh;
};

static void on_change(void *ctx, const struct daemon_reload_change *change)
{
	struct reload_ctx *r = ctx;
	struct intercept *in = r->in;
	struct daemon_options *live = &in->options.common;
	struct metrics_server *m = NULL;
	char err[512];

	switch (change->id) {
	case DAEMON_OPT_METRICS:
		if (r->fresh->common.metrics &&
		    !(m = metrics_server_open(in->loop, r->fresh->common.metrics, "doppel_intercept",
					      render_metrics, in, err, sizeof(err)))) {
			log_warnx("SIGHUP: %s; still serving %s", err,
				  live->metrics ? live->metrics : "no metrics");
			return;
		}
		metrics_server_free(in->metrics);
		in->metrics = m;
		break;
	case 'x':
		/* New connections only: a copy daemon connected already keeps
		 * its connection and routes. */
		memcpy(in->options.server_cfg.allow, r->fresh->server_cfg.allow,
		       sizeof(in->options.server_cfg.allow));
		in->options.server_cfg.allow_count = r->fresh->server_cfg.allow_count;
		server_set_allow(in->server, in->options.server_cfg.allow,
				 in->options.server_cfg.allow_count);
		daemon_reload_applied(live, &r->fresh->common, change);
		log_info("SIGHUP: the allowlist applies to new connections; those open stay");
		return;
	}
	if (!daemon_reload_common(live, &r->fresh->common, change)) {
		daemon_reload_refuse(change);
	} else if (change->id == DAEMON_OPT_STATS_INTERVAL && in->stats_timer) {
		loop_timer_cancel(in->loop, in->stats_timer);
		in->stats_timer = loop_timer_add(in->loop, live->stats_interval_ms, on_stats_timer, in);
	}
}

/* SIGHUP: the log file reopened (after logrotate), then the command line
 * and config file read again and what changed applied or refused. */
static void reload(struct intercept *in)
{
	struct intercept_options fresh;
	struct reload_ctx r = { in, &fresh };
	char err[4096];

	if (in->options.common.log_file && log_open_file(in->options.common.log_file) < 0)
		log_warn("SIGHUP: cannot reopen the log file %s", in->options.common.log_file);
	memset(&fresh, 0, sizeof(fresh));
	if (intercept_options_parse(&fresh, in->argc, in->argv, err, sizeof(err)) !=
	    INTERCEPT_OPTIONS_RUN ||
	    intercept_options_check_channel(&fresh, err, sizeof(err)) < 0)
		log_warnx("SIGHUP: %s; nothing changed", err);
	else if (daemon_reload_diff(&in->options.common, &fresh.common, on_change, &r) == 0)
		log_info("SIGHUP: the configuration is unchanged");
	intercept_options_free(&fresh);
}

static void on_signal(struct loop *l, int signo, void *arg)
{
	struct intercept *in = arg;

	switch (signo) {
	case SIGINT:
	case SIGTERM:
		log_notice("%s: stopping", strsignal(signo));
		loop_stop(l);
		break;
	case SIGUSR1:
		stats_report(in);
		break;
	case SIGHUP:
		reload(in);
		break;
	}
}

static void setup_signals(struct intercept *in)
{
	static const int signals[] = { SIGINT, SIGTERM, SIGUSR1, SIGHUP };

	/* A copy daemon that vanished must cost a write error, not the process. */
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (loop_add_signal(in->loop, signals[i], on_signal, in) < 0)
			log_fatal("signal %d", signals[i]);
}

static void open_server(struct intercept *in)
{
	char err[256];

	in->options.server_cfg.log = on_server_log;
	in->options.server_cfg.log_ctx = in;
	struct wire_tls_options tls = wire_tls_options_of(&in->options.tls);
	if (wire_tls_options_given(&tls)) {
		in->tls = wire_tls_new(&tls, true, err, sizeof(err));
		if (!in->tls)
			log_fatalx("TLS: %s", err);
		log_info("TLS 1.3 with the copy daemons, with %s", wire_tls_mode(in->tls));
		if (in->options.insecure_plaintext)
			log_notice("--insecure-plaintext has no effect: the channel uses TLS (--tls-*)");
	} else if (!dp_addr_is_loopback(&in->options.server_cfg.bind)) {
		log_notice("the channel is plain text (%s)",
			   in->options.server_cfg.allow_count ? "-x allowlist"
							      : "--insecure-plaintext");
	}
	in->options.server_cfg.tls = in->tls;
	in->server = server_new(in->loop, &in->options.server_cfg, &in->stats, err, sizeof(err));
	if (!in->server)
		log_fatalx("listener: %s", err);
	log_info("listening on port %u", server_port(in->server));
	if (in->options.server_cfg.hold_unrouted_ms)
		log_info("responses with no route yet are held for %llu ms (--hold-unrouted)",
			 (unsigned long long)in->options.server_cfg.hold_unrouted_ms);
}

static void open_metrics(struct intercept *in)
{
	char err[512];

	if (!in->options.common.metrics)
		return;
	in->metrics = metrics_server_open(in->loop, in->options.common.metrics,
					  "doppel_intercept", render_metrics, in, err, sizeof(err));
	if (!in->metrics)
		log_fatalx("%s", err);
	log_info("metrics on http://%s/metrics", in->options.common.metrics);
}

static void open_source(struct intercept *in)
{
	char err[512];

	in->source.ops = source_find(in->options.source);
	if (!in->source.ops)
		log_fatalx("--source %s: not built in", in->options.source);
	in->source.deliver = on_deliver;
	in->source.deliver_ctx = in->server;
	in->source.fail = on_source_fail;
	in->source.fail_ctx = in;
	if (in->source.ops->open(&in->source, in->loop, &in->options.source_cfg, err,
				 sizeof(err)) < 0)
		log_fatalx("source %s: %s", in->options.source, err);
	in->source_open = true;
	log_info("source %s open", in->options.source);
}

/* After privileges are dropped: the source's threads (nfqueue with
 * --queue-threads), which keep only the capabilities the daemon kept. */
static void start_source(struct intercept *in)
{
	char err[512];

	if (!in->source.ops->start)
		return;
	if (in->source.ops->start(&in->source, err, sizeof(err)) < 0)
		log_fatalx("source %s: %s", in->options.source, err);
	if (in->options.source_cfg.queue_threads)
		log_info("queues %u-%u read by %u threads", in->options.source_cfg.queue_first,
			 in->options.source_cfg.queue_last, in->options.source_cfg.queue_threads);
}

/* Before anything is opened (see daemon_start.h): the log file, and into
 * the background. A bad -l, a missing -i interface or a -P in a missing
 * folder is refused like a bad option. */
static void prepare(struct intercept *in)
{
	char err[4096];

	in->ready_fd = -1;
	/* Key and PSK files that are not private or not valid: refused like
	 * a bad option (exit 2), and read again when the server opens. */
	if (wire_tls_check(&in->options.tls, true, err, sizeof(err)) < 0) {
		fprintf(stderr, "doppel-intercept: TLS: %s\n", err);
		exit(2);
	}
	/* Plain text to anyone on the network: only when asked for. */
	if (intercept_options_check_channel(&in->options, err, sizeof(err)) < 0) {
		fprintf(stderr, "doppel-intercept: %s\n", err);
		exit(2);
	}
	if (daemon_check_device("-i", in->options.source_cfg.device, err, sizeof(err)) < 0 ||
	    daemon_start_prepare(&in->options.common, err, sizeof(err)) < 0) {
		fprintf(stderr, "doppel-intercept: %s\n", err);
		exit(2);
	}
	if (in->options.common.daemonize && (in->ready_fd = background_start(err, sizeof(err))) < 0)
		log_fatalx("-d: %s", err);
}

/* After the sockets are open: the pid file, the user, and -d's parent
 * told that start-up succeeded. */
static void settle(struct intercept *in)
{
	char err[4096];

	if (daemon_start_finish(&in->options.common, in->ready_fd, err, sizeof(err)) < 0)
		log_fatalx("%s", err);
	if (in->options.common.user)
		log_info("running as %s with CAP_NET_ADMIN and CAP_NET_RAW",
			 in->options.common.user);
}

static void start_timers(struct intercept *in)
{
	in->stats_timer = loop_timer_add(in->loop, in->options.common.stats_interval_ms,
					 on_stats_timer, in);
	if (!in->stats_timer)
		log_fatalx("out of memory for a timer");
	if (watchdog_start(&in->watchdog, in->loop) < 0)
		log_fatalx("out of memory for a timer");
}

static void shut_down(struct intercept *in)
{
	sd_notify_stopping();
	if (in->source_open)
		in->source.ops->close(&in->source);
	metrics_server_free(in->metrics);
	server_free(in->server);
	wire_tls_free(in->tls);
	stats_report(in);
	if (in->options.common.pid_file)
		unlink(in->options.common.pid_file);
	loop_free(in->loop);
}

int main(int argc, char **argv)
{
	static struct intercept in;
	char err[4096];	/* messages quote the value, which may be long */

	log_init("doppel-intercept", LOG_LEVEL_INFO);
	in.argc = argc;
	in.argv = argv;
	switch (intercept_options_parse(&in.options, argc, argv, err, sizeof(err))) {
	case INTERCEPT_OPTIONS_EXIT:
		return 0;
	case INTERCEPT_OPTIONS_LIST_STATS:
		intercept_stats_init(&in.stats);
		stats_list(&in.stats.stats, stdout);
		return 0;
	case INTERCEPT_OPTIONS_ERROR:
		fprintf(stderr, "doppel-intercept: %s\n", err);
		return 2;
	case INTERCEPT_OPTIONS_RUN:
		break;
	}
	log_set_level(in.options.common.log_level);
	intercept_stats_init(&in.stats);
	prepare(&in);
	in.loop = loop_new();
	if (!in.loop)
		log_fatal("event loop");
	setup_signals(&in);
	open_server(&in);
	open_source(&in);
	open_metrics(&in);
	settle(&in);
	start_source(&in);
	loop_set_before_sleep(in.loop, before_sleep, &in);
	start_timers(&in);
	sd_notify_ready();
	log_notice("doppel-intercept %s running (source %s, port %u)", DOPPEL_VERSION,
		   in.options.source, server_port(in.server));
	if (loop_run(in.loop) < 0)
		log_warn("event loop");
	shut_down(&in);
	intercept_options_free(&in.options);
	return in.source_failed ? 1 : 0;
}
