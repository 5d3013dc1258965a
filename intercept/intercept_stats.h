/*
 * intercept_stats.h — doppel-intercept's counters, with the names of
 * CLI.md's statistics JSON, logged every --stats-interval and on SIGUSR1.
 */
#ifndef DOPPEL_INTERCEPT_STATS_H
#define DOPPEL_INTERCEPT_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/runtime/stats.h"

enum intercept_stat {
	ISTAT_SUMMARIES_IN,		/* responses the source delivered */
	ISTAT_SUMMARIES_ROUTED,		/* ... put in a connection's batch */
	ISTAT_SUMMARIES_UNROUTED,	/* ... matching no route: dropped (after the hold) */
	ISTAT_SUMMARIES_DROPPED,	/* routed, but the connection's output was full */
	ISTAT_SOURCE_MALFORMED,		/* the source's parser refused them */
	ISTAT_SOURCE_LOST,		/* lost before we saw them (ENOBUFS, ring drops) */
	ISTAT_FRAMES_OUT,		/* SUMMARIES frames queued to connections */
	ISTAT_BYTES_OUT,		/* bytes written to connections */
	ISTAT_CONNECTIONS_ACCEPTED,
	ISTAT_CONNECTIONS_REFUSED,	/* not in the -x allowlist */
	ISTAT_CONNECTIONS_ACTIVE,
	ISTAT_CONNECTIONS_CLOSED_MALFORMED,
	ISTAT_CONNECTIONS_CLOSED_TIMEOUT,
	ISTAT_ROUTES_ACTIVE,
	ISTAT_ROUTES_ADDED,
	ISTAT_ROUTES_DELETED,
	ISTAT_ROUTES_MOVED,		/* taken over by another connection */
	ISTAT_ROUTES_STALE_DELETES,	/* ROUTE_DEL of a route not owned */
	ISTAT_ROUTES_REFUSED,		/* table full or out of memory */
	ISTAT_SUMMARIES_HELD,		/* matched no route: held for --hold-unrouted */
	ISTAT_SUMMARIES_HELD_DELIVERED,	/* ... then routed when their ROUTE_ADD came */
	ISTAT_COUNT
};

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
/* Write the JSON file; 0, or -1 with errno. */
int intercept_stats_write(const struct intercept_stats *s, const char *path);

#endif
