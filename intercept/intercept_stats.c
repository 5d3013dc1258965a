/*
 * intercept_stats.c — the counter names (CLI.md's JSON keys, plus a few
 * that explain where summaries and routes went), logging and the file.
 */
#include "intercept/intercept_stats.h"

#include <string.h>

static const char *const intercept_stat_names[ISTAT_COUNT] = {
	[ISTAT_SUMMARIES_IN] = "summaries_in",
	[ISTAT_SUMMARIES_ROUTED] = "summaries_routed",
	[ISTAT_SUMMARIES_UNROUTED] = "summaries_unrouted",
	[ISTAT_SUMMARIES_DROPPED] = "summaries_dropped",
	[ISTAT_SOURCE_MALFORMED] = "source_malformed",
	[ISTAT_SOURCE_LOST] = "source_lost",
	[ISTAT_FRAMES_OUT] = "frames_out",
	[ISTAT_BYTES_OUT] = "bytes_out",
	[ISTAT_CONNECTIONS_ACCEPTED] = "connections_accepted",
	[ISTAT_CONNECTIONS_REFUSED] = "connections_refused",
	[ISTAT_CONNECTIONS_ACTIVE] = "connections_active",
	[ISTAT_CONNECTIONS_CLOSED_MALFORMED] = "connections_closed_malformed",
	[ISTAT_CONNECTIONS_CLOSED_TIMEOUT] = "connections_closed_timeout",
	[ISTAT_ROUTES_ACTIVE] = "routes_active",
	[ISTAT_ROUTES_ADDED] = "routes_added",
	[ISTAT_ROUTES_DELETED] = "routes_deleted",
	[ISTAT_ROUTES_MOVED] = "routes_moved",
	[ISTAT_ROUTES_STALE_DELETES] = "routes_stale_deletes",
	[ISTAT_ROUTES_REFUSED] = "routes_refused",
	[ISTAT_SUMMARIES_HELD] = "summaries_held",
	[ISTAT_SUMMARIES_HELD_DELIVERED] = "summaries_held_delivered",
};

void intercept_stats_init(struct intercept_stats *s)
{
	memset(s, 0, sizeof(*s));
	stats_init(&s->stats, intercept_stat_names, s->values, ISTAT_COUNT);
}

size_t intercept_stats_format(const struct intercept_stats *s, char *buf, size_t len)
{
	return stats_format_line(&s->stats, buf, len, 1);
}

int intercept_stats_write(const struct intercept_stats *s, const char *path)
{
	return stats_write_json(&s->stats, NULL, path);
}
