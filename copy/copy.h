/*
 * copy.h — doppel-copy's glue: the capture feeds the session engine, the
 * engine's packets go to the sender and its routes to the intercept links,
 * the links' summaries go back to the engine, and one loop timer follows
 * the engine's next deadline. main.c owns the process (signals, privileges,
 * systemd); this owns the replay.
 */
#ifndef DOPPEL_COPY_H
#define DOPPEL_COPY_H

#include <stdbool.h>
#include <stddef.h>

#include "copy/copy_options.h"
#include "copy/engine/engine.h"
#include "lib/runtime/loop.h"

struct copy;

/* The engine's configuration from the options: -t, -k, -W; -D and -M give
 * the MSS clamp (the smaller of -D and the MTU less 40 bytes of IPv4 and
 * TCP headers); -m splits into a quarter for sessions (512 bytes each) and
 * three quarters for buffered client data. */
void copy_engine_config(const struct copy_options *o, struct engine_config *cfg);

/* Open the sender, the capture and the intercept links (which start
 * connecting), and arm the statistics timer. A live capture starts at
 * once (sessions captured before the intercepts are ready are refused and
 * counted); an --offline file is played once every intercept is ready. NULL with err filled
 * ("capture: ...", "send: ..."). o must outlive the copy. */
struct copy *copy_new(const struct copy_options *o, struct loop *l, char *err, size_t errlen);

/* Log the statistics and write the --stats-file now. */
void copy_report(struct copy *c);
/* SIGUSR2: log the live sessions and where each stands (at most 200). */
void copy_log_sessions(struct copy *c);
/* SIGINT/SIGTERM: every session ends with an RST to its target, the routes
 * are deleted at the intercepts, the links closed. */
void copy_stop(struct copy *c, const char *why);
/* SIGHUP: --stats-interval changed (in the options c runs with). */
void copy_stats_rearm(struct copy *c);
/* SIGHUP: serve --metrics on address instead (NULL: not at all). On
 * failure (-1, err says why) the old endpoint stays. */
int copy_metrics_listen(struct copy *c, const char *address, char *err, size_t errlen);
/* An offline replay played its file to the end and every session ended
 * (the copy then stopped the loop itself). */
bool copy_finished(const struct copy *c);
/* Something that started after copy_new() failed (an --offline file opened
 * once the intercepts were ready): it was logged and the loop stopped. Or
 * the --offline file was damaged part-way (logged with its byte offset):
 * what came before was replayed and the replay finished. Exit 1 either way. */
bool copy_failed(const struct copy *c);
void copy_free(struct copy *c);

/* --workers (copy_workers.h): leave out packets the kernel stamped before
 * wall_us (CLOCK_REALTIME, microseconds), when every worker's socket had
 * joined the fanout group; and copy this worker's statistics into its
 * shared slot. */
void copy_set_capture_since(struct copy *c, uint64_t wall_us);
struct copy_worker_slot;
void copy_snapshot(struct copy *c, struct copy_worker_slot *slot);

#endif
