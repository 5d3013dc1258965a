/*
 * copy_stats.c — doppel-copy's statistics (the list in copy_stats.h),
 * collected from the parts that count them.
 */
#include "copy/copy_stats.h"

#include <stdio.h>
#include <string.h>

/* The list of copy_stats.h, with "ended_" + the engine's reason names
 * built once between its head and its tail. */
#define COPY_STAT_DEF_(id, key, type, help) [COPY_STAT_##id] = { key, type, help, NULL, NULL, NULL },
static struct stat_def defs[COPY_STAT_COUNT] = {
	COPY_STATS_HEAD(COPY_STAT_DEF_)
	COPY_STATS_TAIL(COPY_STAT_DEF_)
};
#undef COPY_STAT_DEF_
static char ended_names[END_REASON_COUNT][48];

static void build_names(void)
{
	if (defs[COPY_STAT_ENDED_FIRST].name)
		return;
	for (int r = 0; r < END_REASON_COUNT; r++) {
		const char *reason = engine_end_reason_name((enum engine_end_reason)r);

		snprintf(ended_names[r], sizeof(ended_names[r]), "ended_%s", reason);
		defs[COPY_STAT_ENDED_FIRST + r] = (struct stat_def){
			ended_names[r], STAT_COUNTER, "sessions ended, by reason (man doppel-copy)",
			"sessions_ended", "reason", reason,
		};
	}
}

void copy_stats_init(struct copy_stats *s)
{
	build_names();
	stats_init(&s->table, defs, s->values, COPY_STAT_COUNT);
}

const struct stat_def *copy_stats_def(enum copy_stat i)
{
	build_names();
	return i < COPY_STAT_COUNT ? &defs[i] : NULL;
}

const char *copy_stats_name(enum copy_stat i)
{
	const struct stat_def *d = copy_stats_def(i);

	return d ? d->name : NULL;
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
	v[COPY_STAT_SESSIONS_EVICTED_SYN] = e->sessions_evicted_syn;
	v[COPY_STAT_STALE_RESETS] = e->stale_resets;
	v[COPY_STAT_ORPHAN_RESETS] = e->orphan_resets;
	v[COPY_STAT_SESSIONS_QUEUED_SUCCESSOR] = e->sessions_queued_successor;
	v[COPY_STAT_SESSIONS_MISSED_START] = e->sessions_missed_start;
	v[COPY_STAT_SESSIONS_MISSED_REUSE] = e->sessions_missed_reuse;
	v[COPY_STAT_SESSIONS_RESTARTED] = e->sessions_restarted;
	v[COPY_STAT_AUTH_LOGINS_REPLAYED] = e->auth_logins_replayed;
	v[COPY_STAT_AUTH_NOT_CAPTURED] = e->auth_not_captured;
	v[COPY_STAT_AUTH_TLS] = e->auth_failed[AUTH_FAIL_TLS];
	v[COPY_STAT_AUTH_UNKNOWN_USER] = e->auth_failed[AUTH_FAIL_UNKNOWN_USER];
	v[COPY_STAT_AUTH_UNSUPPORTED_METHOD] = e->auth_failed[AUTH_FAIL_METHOD];
	v[COPY_STAT_AUTH_WRONG_PASSWORD] = e->auth_failed[AUTH_FAIL_WRONG_PASSWORD];
	v[COPY_STAT_AUTH_PROTOCOL_ERROR] = e->auth_failed[AUTH_FAIL_PROTOCOL];
	v[COPY_STAT_AUTH_POOLED_OPENED] = e->auth_pooled_opened;
	v[COPY_STAT_AUTH_POOLED_FAILED] = e->auth_pooled_failed;
	v[COPY_STAT_AUTH_POOLED_SKIPPED_BYTES] = e->auth_pooled_skipped_bytes;
	v[COPY_STAT_BYTES_REPLAYED] = e->bytes_replayed;
	v[COPY_STAT_RETRANSMISSIONS] = e->retransmissions;
	/* Refusals the engine saw at once (send_queue's own answer). */
	v[COPY_STAT_SEND_ERRORS] = e->send_errors;
	v[COPY_STAT_SUMMARIES] = e->summaries;
	v[COPY_STAT_SUMMARIES_UNMATCHED] = e->summaries_unmatched;
	v[COPY_STAT_PACE_WAITS] = e->pace_waits;
	v[COPY_STAT_PACE_WAIT_MS] = e->pace_wait_ms;
	v[COPY_STAT_PACE_WAITING] = e->pace_waiting;
	v[COPY_STAT_PACE_PROBES] = e->pace_probes;
	v[COPY_STAT_PACE_TIMEOUTS] = e->pace_timeouts;
	v[COPY_STAT_BUFFERED_BYTES] = e->buffered_bytes;
}

static void collect_compare(uint64_t *v, const struct copy_compare_counters *c)
{
	v[COPY_STAT_COMPARE_SESSIONS] = c->pairs.sessions;
	v[COPY_STAT_COMPARE_SESSIONS_SKIPPED] = c->pairs.sessions_skipped;
	v[COPY_STAT_COMPARE_REQUESTS] = c->pairs.requests;
	v[COPY_STAT_COMPARE_SAME] = c->pairs.kinds[COMPARE_SAME];
	v[COPY_STAT_COMPARE_DIFFERENT_STATUS] = c->pairs.kinds[COMPARE_STATUS];
	v[COPY_STAT_COMPARE_DIFFERENT_BODY] = c->pairs.kinds[COMPARE_BODY];
	v[COPY_STAT_COMPARE_MISSING] = c->pairs.kinds[COMPARE_MISSING];
	v[COPY_STAT_COMPARE_MALFORMED] = c->pairs.kinds[COMPARE_MALFORMED];
	v[COPY_STAT_COMPARE_PARTIAL] = c->pairs.partial;
	v[COPY_STAT_COMPARE_SLOWER] = c->pairs.slower;
	v[COPY_STAT_COMPARE_LOG_WRITTEN] = c->log_written;
	v[COPY_STAT_COMPARE_LOG_DROPPED] = c->log_dropped;
	v[COPY_STAT_COMPARE_MEMORY_REFUSED] = c->pairs.memory_refused;
	v[COPY_STAT_COMPARE_MEMORY_BYTES] = c->memory_bytes;
	v[COPY_STAT_COMPARE_MEMORY_LIMIT_BYTES] = c->memory_limit;
}

static void collect_mirror(uint64_t *v, const struct capture_mirror_counters *m)
{
	v[COPY_STAT_MIRROR_DECAPSULATED_VXLAN] = m->decapsulated_kind[DECAP_VXLAN];
	v[COPY_STAT_MIRROR_DECAPSULATED_GENEVE] = m->decapsulated_kind[DECAP_GENEVE];
	v[COPY_STAT_MIRROR_DECAPSULATED_GRE] = m->decapsulated_kind[DECAP_GRE];
	v[COPY_STAT_MIRROR_DECAPSULATED_ERSPAN1] = m->decapsulated_kind[DECAP_ERSPAN1];
	v[COPY_STAT_MIRROR_DECAPSULATED_ERSPAN2] = m->decapsulated_kind[DECAP_ERSPAN2];
	v[COPY_STAT_MIRROR_DECAPSULATED_ERSPAN3] = m->decapsulated_kind[DECAP_ERSPAN3];
	v[COPY_STAT_MIRROR_MALFORMED] = m->malformed;
	v[COPY_STAT_MIRROR_UNKNOWN] = m->not_encapsulated;
	v[COPY_STAT_MIRROR_FILTERED_OUT] = m->filtered_out;
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
		v[COPY_STAT_CAPTURE_RING_BYTES] = src->capture->ring_bytes;
		v[COPY_STAT_CAPTURE_RING_RESIZES] = src->capture->ring_resizes;
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
	if (src->links)
		v[COPY_STAT_INTERCEPT_TLS_HANDSHAKE_FAILURES] = src->links->tls_handshake_failures;
	if (src->links)
		v[COPY_STAT_INTERCEPT_ROUTES_RESTORED] = src->links->routes_restored;
	v[COPY_STAT_INTERCEPT_CONNECTED] = src->intercepts_connected;
	v[COPY_STAT_BUFFERED_LIMIT_BYTES] = src->buffered_limit;
	v[COPY_STAT_SESSIONS_LIMIT] = src->sessions_limit;
	if (src->capture_delay) {
		uint64_t p50 = histogram_quantile_us(src->capture_delay, 0.5);
		uint64_t p99 = histogram_quantile_us(src->capture_delay, 0.99);

		/* Past the last bound: say the last bound, not 2^64. */
		v[COPY_STAT_CAPTURE_DELAY_P50_US] = p50 == UINT64_MAX ? 128000 : p50;
		v[COPY_STAT_CAPTURE_DELAY_P99_US] = p99 == UINT64_MAX ? 128000 : p99;
	}
	if (src->compare)
		collect_compare(v, src->compare);
	if (src->mirror)
		collect_mirror(v, src->mirror);
}
