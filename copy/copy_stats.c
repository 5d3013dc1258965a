/*
 * copy_stats.c — the counters of doppel-copy's statistics, named as in
 * CLI.md, collected from the parts that count them.
 */
#include "copy/copy_stats.h"

#include <string.h>

/* "ended_" + the engine's reason names, built once. */
static char ended_names[END_REASON_COUNT][48];
static const char *names[COPY_STAT_COUNT];

static void build_names(void)
{
	static const char *const fixed[] = {
		[COPY_STAT_PACKETS_CAPTURED] = "packets_captured",
		[COPY_STAT_PACKETS_MALFORMED] = "packets_malformed",
		[COPY_STAT_CAPTURE_KERNEL_DROPS] = "capture_kernel_drops",
		[COPY_STAT_SESSIONS_STARTED] = "sessions_started",
		[COPY_STAT_SESSIONS_ACTIVE] = "sessions_active",
		[COPY_STAT_SESSIONS_COMPLETED] = "sessions_completed",
		[COPY_STAT_SESSIONS_FAILED] = "sessions_failed",
		[COPY_STAT_SESSIONS_REFUSED_MEMORY] = "sessions_refused_memory",
		[COPY_STAT_SESSIONS_REFUSED_ROUTE] = "sessions_refused_route",
		[COPY_STAT_SESSIONS_QUEUED_SUCCESSOR] = "sessions_queued_successor",
		[COPY_STAT_PACKETS_SENT] = "packets_sent",
		[COPY_STAT_BYTES_REPLAYED] = "bytes_replayed",
		[COPY_STAT_RETRANSMISSIONS] = "retransmissions",
		[COPY_STAT_SEND_ERRORS] = "send_errors",
		[COPY_STAT_SUMMARIES] = "summaries",
		[COPY_STAT_SUMMARIES_UNMATCHED] = "summaries_unmatched",
		[COPY_STAT_INTERCEPT_CONNECTED] = "intercept_connected",
		[COPY_STAT_INTERCEPT_RECONNECTS] = "intercept_reconnects",
	};

	if (names[0])
		return;
	for (size_t i = 0; i < COPY_STAT_COUNT; i++)
		names[i] = i < sizeof(fixed) / sizeof(fixed[0]) ? fixed[i] : NULL;
	for (int r = 0; r < END_REASON_COUNT; r++) {
		strcpy(ended_names[r], "ended_");
		strncat(ended_names[r], engine_end_reason_name((enum engine_end_reason)r),
			sizeof(ended_names[r]) - 7);
		names[COPY_STAT_ENDED_FIRST + r] = ended_names[r];
	}
}

void copy_stats_init(struct copy_stats *s)
{
	build_names();
	memset(s->values, 0, sizeof(s->values));
	stats_init(&s->table, names, s->values, COPY_STAT_COUNT);
}

const char *copy_stats_name(enum copy_stat i)
{
	build_names();
	return i < COPY_STAT_COUNT ? names[i] : NULL;
}

static void collect_engine(uint64_t *v, const struct engine_counters *e)
{
	v[COPY_STAT_SESSIONS_STARTED] = e->sessions_started;
	v[COPY_STAT_SESSIONS_ACTIVE] = e->sessions_active;
	v[COPY_STAT_SESSIONS_COMPLETED] = e->sessions_completed;
	v[COPY_STAT_SESSIONS_FAILED] = e->sessions_failed;
	for (int r = 0; r < END_REASON_COUNT; r++)
		v[COPY_STAT_ENDED_FIRST + r] = e->ended[r];
	v[COPY_STAT_SESSIONS_REFUSED_MEMORY] = e->sessions_refused_memory;
	v[COPY_STAT_SESSIONS_REFUSED_ROUTE] = e->sessions_refused_route;
	v[COPY_STAT_SESSIONS_QUEUED_SUCCESSOR] = e->sessions_queued_successor;
	v[COPY_STAT_BYTES_REPLAYED] = e->bytes_replayed;
	v[COPY_STAT_RETRANSMISSIONS] = e->retransmissions;
	/* Refusals the engine saw at once (send_queue's own answer). */
	v[COPY_STAT_SEND_ERRORS] = e->send_errors;
	v[COPY_STAT_SUMMARIES] = e->summaries;
	v[COPY_STAT_SUMMARIES_UNMATCHED] = e->summaries_unmatched;
}

void copy_stats_collect(struct copy_stats *s, const struct copy_stats_sources *src)
{
	uint64_t *v = s->values;

	memset(v, 0, sizeof(s->values));
	if (src->engine)
		collect_engine(v, src->engine);
	if (src->capture) {
		v[COPY_STAT_PACKETS_CAPTURED] = src->capture->packets;
		v[COPY_STAT_PACKETS_MALFORMED] = src->capture->malformed;
		v[COPY_STAT_CAPTURE_KERNEL_DROPS] = src->capture->kernel_drops;
	}
	if (src->send) {
		/* Packets the kernel accepted; and the refusals it made at
		 * flush time, which the engine did not see as they happened. */
		v[COPY_STAT_PACKETS_SENT] = src->send->packets;
		v[COPY_STAT_SEND_ERRORS] += src->send->retry + src->send->too_big +
					    src->send->failed;
	}
	if (src->links)
		v[COPY_STAT_INTERCEPT_RECONNECTS] = src->links->reconnects;
	v[COPY_STAT_INTERCEPT_CONNECTED] = src->intercepts_connected;
}
