/*
 * copy_workers.h — doppel-copy on several cores (--workers N): N worker
 * processes, each a whole replay of its own (struct copy: capture socket,
 * engine, sender, intercept connections, event loop), and the process that
 * started them, the supervisor, which serves what is about all of them:
 * the pid file, systemd's notifications, --stats-file and --metrics (the
 * workers' statistics added up, and some per worker), and the signals,
 * which it passes on.
 *
 * Why processes, not threads: the engine stays single-threaded and
 * unchanged, a worker needs no lock anywhere, and a crash shows as one
 * exit status. The price is that the statistics cross a process boundary:
 * each worker copies its numbers into a slot of a shared mapping once a
 * second (and when it stops), and the supervisor adds them up.
 *
 * One session lives on one worker: the workers' capture sockets are one
 * PACKET_FANOUT group (capture_fanout.c: by flow, or by address with -n),
 * joined before any packet counts (packets the kernel stamped before the
 * last worker joined are left out: the spread was not final). A worker
 * that dies would leave the group and move flows to the others, splitting
 * their sessions: the supervisor then stops every worker and exits 1
 * (systemd's Restart= starts it again). -m is split evenly between the
 * workers, and so are the -c addresses (copy_map_client). --offline,
 * --capture pcap, --mirror and --compare take --workers 1 (copy_options.c).
 */
#ifndef DOPPEL_COPY_WORKERS_H
#define DOPPEL_COPY_WORKERS_H

#include <signal.h>
#include <stdint.h>

#include "copy/copy_metrics.h"
#include "copy/copy_options.h"
#include "copy/copy_stats.h"
#include "lib/runtime/histogram.h"
#include "lib/runtime/loop.h"

/* One worker's numbers, in memory shared with the supervisor. seq is odd
 * while the worker writes (copy_snapshot). */
struct copy_worker_slot {
	uint32_t seq;
	int32_t pid;
	uint64_t values[COPY_STAT_COUNT];
	struct histogram capture_delay;
	uint64_t transfer_packets[COPY_MAX_TRANSFERS];
	uint64_t links[COPY_MAX_INTERCEPTS][COPY_LINK_METRICS];
};

struct copy_workers;

/* The supervisor asks every worker for fresh numbers with this signal
 * before it writes --stats-file, and writes once each has answered (or
 * after COPY_WORKERS_FRESH_MS): the file is never older than the request. */
#define COPY_WORKERS_PUBLISH_SIGNAL SIGUSR2
#define COPY_WORKERS_FRESH_MS 500

/* Fork o->workers workers. In each worker this returns 1 with
 * o->worker_index and o->fanout_group set and *slot its shared slot; the
 * worker then builds its replay (copy_new), drops privileges and calls
 * copy_workers_ready(). In the supervisor it returns 0 once every worker is
 * ready, with *out set; -1 (err filled) when a worker could not start
 * (the others are stopped). */
int copy_workers_start(struct copy_options *o, struct copy_workers **out,
		       struct copy_worker_slot **slot, char *err, size_t errlen);
/* In a worker, once its sockets are open and privileges dropped: tells the
 * supervisor, waits for every other worker, and returns the wall-clock
 * time (us) from which its captured packets count. 0 on failure (logged:
 * the worker exits). */
uint64_t copy_workers_ready(void);

/* In the supervisor: its loop's part (signals passed on, workers watched,
 * statistics timer, --metrics). 0, or -1 with err filled. */
int copy_workers_run(struct copy_workers *w, struct loop *l, char *err, size_t errlen);
/* Log the totals and write --stats-file now. */
void copy_workers_report(struct copy_workers *w);
/* Pass a signal on to every live worker. */
void copy_workers_signal(struct copy_workers *w, int signo);
/* SIGINT/SIGTERM: the workers stop; the loop stops when the last exited. */
void copy_workers_stop(struct copy_workers *w);
void copy_workers_stats_rearm(struct copy_workers *w);
int copy_workers_metrics_listen(struct copy_workers *w, const char *address, char *err,
				size_t errlen);
/* 1 when a worker failed or exited on its own, else 0. */
int copy_workers_status(const struct copy_workers *w);
void copy_workers_free(struct copy_workers *w);

/* The workers' slots added up (exposed for the tests): counters and most
 * gauges summed; intercept_connected the fewest any worker has; the
 * capture delay's percentiles from the merged histogram; per intercept,
 * up only when up in every worker, failures the most, queues summed. */
void copy_workers_sum(const struct copy_worker_slot *slots, unsigned n, size_t transfers,
		      size_t intercepts, struct copy_worker_slot *total);

#endif
