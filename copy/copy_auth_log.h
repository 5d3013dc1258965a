/*
 * copy_auth_log.h — one log line per cause per minute for the logins the
 * protocol modules could not replay (docs/stateful.md): the first of a
 * cause is logged at once, the next ones of that cause at most once a
 * minute with how many were not logged since. Counted in any case
 * (auth_* statistics).
 */
#ifndef DOPPEL_COPY_AUTH_LOG_H
#define DOPPEL_COPY_AUTH_LOG_H

#include <stdint.h>

#include "copy/engine/engine.h"

#define COPY_AUTH_LOG_INTERVAL_MS 60000

struct copy_auth_log {
	/* by enum auth_failure, then AUTH_FAIL_COUNT: a login not captured,
	 * AUTH_FAIL_COUNT + 1: another end during the login */
	uint64_t last_ms[AUTH_FAIL_COUNT + 2];
	uint64_t unlogged[AUTH_FAIL_COUNT + 2];
	uint64_t not_captured_seen;
};

/* A session ended END_AUTH_FAILED, with the engine's detail. */
void copy_auth_log_end(struct copy_auth_log *l, uint64_t now_ms, const struct session_key *k,
		       const char *detail);
/* Log sessions newly counted auth_not_captured (they have no end). */
void copy_auth_log_counters(struct copy_auth_log *l, uint64_t now_ms,
			    const struct engine_counters *e);

#endif
