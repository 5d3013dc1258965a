/*
 * copy_stats.h — doppel-copy's statistics: the flat table of counters whose
 * names are the JSON keys of CLI.md, filled from the engine, the capture,
 * the sender and the intercept links, then logged as one line or written
 * as JSON (lib/runtime/stats.h).
 */
#ifndef DOPPEL_COPY_STATS_H
#define DOPPEL_COPY_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "copy/capture/capture.h"
#include "copy/engine/engine.h"
#include "copy/link/intercept_link.h"
#include "copy/send/send.h"
#include "lib/runtime/stats.h"

enum copy_stat {
	COPY_STAT_PACKETS_CAPTURED,
	COPY_STAT_PACKETS_MALFORMED,
	COPY_STAT_CAPTURE_KERNEL_DROPS,
	COPY_STAT_SESSIONS_STARTED,
	COPY_STAT_SESSIONS_ACTIVE,
	COPY_STAT_SESSIONS_COMPLETED,
	COPY_STAT_SESSIONS_FAILED,
	COPY_STAT_ENDED_FIRST,		/* ended_<reason>, END_REASON_COUNT of them */
	COPY_STAT_SESSIONS_REFUSED_MEMORY = COPY_STAT_ENDED_FIRST + END_REASON_COUNT,
	COPY_STAT_SESSIONS_REFUSED_ROUTE,
	COPY_STAT_SESSIONS_QUEUED_SUCCESSOR,
	COPY_STAT_PACKETS_SENT,
	COPY_STAT_BYTES_REPLAYED,
	COPY_STAT_RETRANSMISSIONS,
	COPY_STAT_SEND_ERRORS,
	COPY_STAT_SUMMARIES,
	COPY_STAT_SUMMARIES_UNMATCHED,
	COPY_STAT_INTERCEPT_CONNECTED,
	COPY_STAT_INTERCEPT_RECONNECTS,
	COPY_STAT_COUNT
};

struct copy_stats {
	struct stats table;
	uint64_t values[COPY_STAT_COUNT];
};

/* Where the numbers come from; any pointer may be NULL (counted as 0). */
struct copy_stats_sources {
	const struct engine_counters *engine;
	const struct capture_counters *capture;
	const struct send_counters *send;
	const struct intercept_link_counters *links;
	uint64_t intercepts_connected;
};

void copy_stats_init(struct copy_stats *s);
/* Overwrite every value from the sources. */
void copy_stats_collect(struct copy_stats *s, const struct copy_stats_sources *src);
/* The key of a counter ("ended_closed" ...). */
const char *copy_stats_name(enum copy_stat i);

#endif
