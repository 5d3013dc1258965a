/*
 * intercept_stats.c — doppel-intercept's statistics (the list in
 * intercept_stats.h): the table, the log line and the file.
 */
#include "intercept/intercept_stats.h"

#include <string.h>

#define ISTAT_DEF_(id, key, type, help) [ISTAT_##id] = { key, type, help, NULL, NULL, NULL },
static const struct stat_def defs[ISTAT_COUNT] = {
	INTERCEPT_STATS(ISTAT_DEF_)
};
#undef ISTAT_DEF_

const struct stat_def *intercept_stats_def(enum intercept_stat i)
{
	return (unsigned)i < ISTAT_COUNT ? &defs[i] : NULL;
}

void intercept_stats_init(struct intercept_stats *s)
{
	memset(s, 0, sizeof(*s));
	stats_init(&s->stats, defs, s->values, ISTAT_COUNT);
}

size_t intercept_stats_format(const struct intercept_stats *s, char *buf, size_t len)
{
	return stats_format_line(&s->stats, buf, len, 1);
}

int intercept_stats_write(const struct intercept_stats *s, const char *path)
{
	return stats_write_json(&s->stats, NULL, path);
}
