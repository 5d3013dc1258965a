/*
 * copy_auth_log.c — the rate-limited log lines of copy_auth_log.h.
 */
#include "copy/copy_auth_log.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/runtime/log.h"

/* true when a line of this cause may be written now; counts it otherwise. */
static bool due(struct copy_auth_log *l, unsigned cause, uint64_t now_ms, uint64_t n,
		uint64_t *unlogged)
{
	if (l->last_ms[cause] && now_ms - l->last_ms[cause] < COPY_AUTH_LOG_INTERVAL_MS) {
		l->unlogged[cause] += n;
		return false;
	}
	l->last_ms[cause] = now_ms ? now_ms : 1;
	*unlogged = l->unlogged[cause];
	l->unlogged[cause] = 0;
	return true;
}

void copy_auth_log_end(struct copy_auth_log *l, uint64_t now_ms, const struct session_key *k,
		       const char *detail)
{
	char client[INET6_ADDRSTRLEN], target[INET6_ADDRSTRLEN], tag[48];
	unsigned cause = AUTH_FAIL_COUNT + 1;
	uint64_t unlogged;

	for (unsigned f = 1; f < AUTH_FAIL_COUNT; f++) {
		snprintf(tag, sizeof(tag), "(%s)", auth_failure_name((enum auth_failure)f));
		if (detail && strstr(detail, tag))
			cause = f;
	}
	if (!due(l, cause, now_ms, 1, &unlogged))
		return;
	log_warnx("session %s:%u > %s:%u: %s (%llu more like it in the last minute)",
		    dp_addr_str(&k->client, client, sizeof(client)), k->client_port,
		    dp_addr_str(&k->target, target, sizeof(target)), k->target_port,
		    detail ? detail : "login not replayable", (unsigned long long)unlogged);
}

void copy_auth_log_counters(struct copy_auth_log *l, uint64_t now_ms,
			    const struct engine_counters *e)
{
	uint64_t n = e->auth_not_captured - l->not_captured_seen, unlogged;

	if (!n)
		return;
	l->not_captured_seen = e->auth_not_captured;
	if (due(l, AUTH_FAIL_COUNT, now_ms, n, &unlogged))
		log_warnx("%llu sessions to a protocol port not replayed: their login was not "
			    "captured (begun before doppel-copy: pooled connections)",
			    (unsigned long long)(n + unlogged));
}
