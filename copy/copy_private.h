/*
 * copy_private.h — the state of one replay (struct copy: its capture,
 * engine, sender and intercept links, run by one event loop) shared by the
 * files that wire it: copy.c (setting up and tearing down),
 * copy_engine_glue.c (the engine's sink, the sender, the loop's hooks),
 * copy_capture_glue.c (the capture into the engine), copy_link_glue.c (the
 * intercept links) and copy_report.c (statistics and metrics). Not for use
 * outside copy/copy*.c.
 */
#ifndef DOPPEL_COPY_PRIVATE_H
#define DOPPEL_COPY_PRIVATE_H

#include "copy/copy.h"

#include "copy/capture/capture.h"
#include "copy/capture/capture_mirror.h"
#include "copy/copy_auth_log.h"
#include "copy/copy_compare.h"
#include "copy/copy_credentials.h"
#include "copy/copy_stats.h"
#include "copy/link/intercept_link.h"
#include "copy/send/send.h"
#include "lib/runtime/histogram.h"
#include "lib/runtime/log.h"
#include "lib/runtime/metrics_http.h"
#include "lib/wire/wire_tls.h"

/* Packets refused at flush time, waiting for engine_abort. Past this many
 * in one iteration the rest are left to the engine's own retransmission
 * limit. */
#define SEND_FAILURES_MAX 4096

struct send_failure {
	struct session_key key;
	int err;
};

struct copy {
	const struct copy_options *o;
	struct loop *loop;
	uint64_t seed;
	struct engine *engine;
	struct sender *sender;
	struct capture capture;
	bool capture_open;
	bool capture_done;	/* offline: the file was played to the end */
	bool finished;
	bool failed;		/* a deferred start failed: main exits 1 */
	bool file_damaged;	/* offline: the file ended early: main exits 1 */
	bool stopping;
	struct intercept_links *links;
	struct intercept_link_config link_cfg;
	struct wire_tls *tls;		/* --tls-*: NULL for plain text */
	struct session_key *keys;	/* o->copies of them, for each packet */

	uint64_t engine_timer;
	uint64_t engine_timer_deadline;
	uint64_t stats_timer;

	struct send_failure failures[SEND_FAILURES_MAX];
	size_t failure_count;
	uint64_t failures_dropped;
	uint64_t refused_not_target;

	struct copy_stats stats;
	/* --mirror's counters as they were when the capture closed, for the
	 * statistics written after it (the last report at exit). */
	struct capture_mirror_counters mirror_final;
	uint64_t *transfer_packets;	/* captured, per -x transfer (metrics) */
	uint64_t buffered_limit, sessions_limit;	/* the engine's, from -m */
	struct histogram capture_delay;	/* kernel capture to on_capture (live only) */
	struct metrics_server *metrics;	/* --metrics, or NULL */
	struct copy_compare *compare;	/* --compare, or NULL */
	uint64_t compare_tls_ended;	/* the engine's TLS login failures seen ended */
	struct log_ratelimit rl_refused, rl_link, rl_summary, rl_failure, rl_ended;
	struct copy_credentials *credentials;	/* --credentials, or NULL */
	struct copy_auth_log auth_log;
	uint64_t capture_since_us;	/* --workers: packets stamped before are left out */
};

/* copy_engine_glue.c */
void copy_sink_init(struct copy *c, struct engine_sink *sink);
int copy_open_sender(struct copy *c, char *err, size_t errlen);
void copy_flush_all(struct copy *c);
void copy_before_sleep(struct loop *l, void *arg);

/* copy_capture_glue.c */
int copy_open_capture(struct copy *c, char *err, size_t errlen);
int copy_check_offline_file(const struct copy_options *o, char *err, size_t errlen);
void copy_start_offline_capture(struct copy *c);

/* copy_link_glue.c */
int copy_open_links(struct copy *c, char *err, size_t errlen);

/* copy_report.c */
void copy_on_stats_timer(struct loop *l, uint64_t timer_id, void *arg);
void copy_render_metrics(void *ctx, struct metrics_text *out);

#endif
