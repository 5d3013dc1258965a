/*
 * intercept_stats.h — doppel-intercept's statistics: the one list of its
 * keys (name, counter or gauge, help), logged every --stats-interval and
 * on SIGUSR1, written as JSON, listed by --list-stats (which the man-page
 * check in tests/ops reads) and served by the metrics endpoint. To add a
 * statistic, add one X() line here and count it with istat_inc/istat_add;
 * document it in man/doppel-intercept.8 (tests/ops fails until you do).
 */
#ifndef DOPPEL_INTERCEPT_STATS_H
#define DOPPEL_INTERCEPT_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/runtime/stats.h"

/* X(ID, key, type, help), in the order of the JSON file. */
#define INTERCEPT_STATS(X) \
	X(SUMMARIES_IN, "summaries_in", STAT_COUNTER, "responses the source delivered") \
	X(SUMMARIES_ROUTED, "summaries_routed", STAT_COUNTER, \
	  "responses put in a connection's batch") \
	X(SUMMARIES_UNROUTED, "summaries_unrouted", STAT_COUNTER, \
	  "responses matching no route: dropped (after the hold)") \
	X(SUMMARIES_DROPPED, "summaries_dropped", STAT_COUNTER, \
	  "routed responses dropped: the connection's output was full") \
	X(SOURCE_MALFORMED, "source_malformed", STAT_COUNTER, "responses the source's parser refused") \
	X(SOURCE_LOST, "source_lost", STAT_COUNTER, \
	  "responses lost before the daemon saw them (ENOBUFS, ring drops)") \
	X(FRAMES_OUT, "frames_out", STAT_COUNTER, "SUMMARIES frames queued to connections") \
	X(BYTES_OUT, "bytes_out", STAT_COUNTER, "bytes written to connections") \
	X(CONNECTIONS_ACCEPTED, "connections_accepted", STAT_COUNTER, "connections accepted") \
	X(CONNECTIONS_REFUSED, "connections_refused", STAT_COUNTER, \
	  "connections refused: not in the -x allowlist") \
	X(CONNECTIONS_ACTIVE, "connections_active", STAT_GAUGE, "connections open now") \
	X(CONNECTIONS_TCPCOPY, "connections_tcpcopy", STAT_COUNTER, \
	  "connections from a stock TCPCopy 1.0 tcpcopy, served in its dialect") \
	X(CONNECTIONS_CLOSED_MALFORMED, "connections_closed_malformed", STAT_COUNTER, \
	  "connections closed for a malformed frame") \
	X(CONNECTIONS_CLOSED_TIMEOUT, "connections_closed_timeout", STAT_COUNTER, \
	  "connections closed for silence") \
	X(TLS_HANDSHAKE_FAILURES, "tls_handshake_failures", STAT_COUNTER, \
	  "connections closed before any frame: TLS handshake failed or timed out, " \
	  "plain text on a TLS port, or TLS on a plain-text port") \
	X(ROUTES_ACTIVE, "routes_active", STAT_GAUGE, "routes in the table now") \
	X(ROUTES_ADDED, "routes_added", STAT_COUNTER, "routes added") \
	X(ROUTES_DELETED, "routes_deleted", STAT_COUNTER, "routes deleted") \
	X(ROUTES_MOVED, "routes_moved", STAT_COUNTER, "routes taken over by another connection") \
	X(ROUTES_STALE_DELETES, "routes_stale_deletes", STAT_COUNTER, \
	  "deletions of a route the connection did not own") \
	X(ROUTES_REFUSED, "routes_refused", STAT_COUNTER, "routes refused: table full or out of memory") \
	X(SUMMARIES_HELD, "summaries_held", STAT_COUNTER, \
	  "responses matching no route, held for --hold-unrouted") \
	X(SUMMARIES_HELD_DELIVERED, "summaries_held_delivered", STAT_COUNTER, \
	  "held responses routed when their route came") \
	X(PAYLOAD_SHORT, "summaries_payload_short", STAT_COUNTER, \
	  "summaries with fewer payload bytes than their route wanted (the source copied less)")

#define ISTAT_ENUM_(id, key, type, help) ISTAT_##id,
enum intercept_stat {
	INTERCEPT_STATS(ISTAT_ENUM_)
	ISTAT_COUNT
};
#undef ISTAT_ENUM_

struct intercept_stats {
	struct stats stats;
	uint64_t values[ISTAT_COUNT];
};

void intercept_stats_init(struct intercept_stats *s);
static inline void istat_inc(struct intercept_stats *s, enum intercept_stat i)
{
	s->values[i]++;
}
static inline void istat_add(struct intercept_stats *s, enum intercept_stat i, uint64_t n)
{
	s->values[i] += n;
}

/* "name=value ..." (all counters) into buf, for the daemon's log line. */
size_t intercept_stats_format(const struct intercept_stats *s, char *buf, size_t len);
/* The entry of a statistic in the list. */
const struct stat_def *intercept_stats_def(enum intercept_stat i);
/* Write the JSON file; 0, or -1 with errno. */
int intercept_stats_write(const struct intercept_stats *s, const char *path);

#endif
