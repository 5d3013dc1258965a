/*
 * daemon_reload.h — what SIGHUP changes. The daemon parses its command
 * line and config file again into fresh options; the options whose values
 * (as written, in the order applied) differ from the running ones are
 * reported one by one, and the daemon applies those it can change without
 * dropping a session and refuses the rest, naming each.
 *
 * The comparison is of what was written, so an option given on the command
 * line over a config value that was edited counts as changed (the safe
 * side: a line says it needs a restart).
 */
#ifndef DOPPEL_DAEMON_RELOAD_H
#define DOPPEL_DAEMON_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/runtime/daemon_options.h"

struct daemon_reload_change {
	int id;
	char name[40];			/* "-x", "--log-level" */
	char before[256], after[256];	/* the values joined with ", "; "" when not given */
};

typedef void (*daemon_reload_fn)(void *ctx, const struct daemon_reload_change *change);

/* fn for each option whose values differ between live and fresh, in the
 * order they are first applied. Returns how many. */
size_t daemon_reload_diff(const struct daemon_options *live, const struct daemon_options *fresh,
			  daemon_reload_fn fn, void *ctx);

/* The shared options SIGHUP changes in place: --log-level (set here), -l
 * (the new file opened here), --stats-file, --stats-interval and --metrics
 * (moved from fresh into live; the daemon then re-arms its timer or moves
 * its endpoint). Logs what changed. false: not one of them (or -l could
 * not be opened: then live keeps the old one, and a line says why). */
bool daemon_reload_common(struct daemon_options *live, struct daemon_options *fresh,
			  const struct daemon_reload_change *change);

/* After the daemon applied a change itself: live now records fresh's
 * values for it (the next SIGHUP compares with them), and a line says
 * what changed. */
void daemon_reload_applied(struct daemon_options *live, const struct daemon_options *fresh,
			   const struct daemon_reload_change *change);
void daemon_reload_accepted(struct daemon_options *live, const struct daemon_options *fresh,
			    int id);

/* The line for an option that needs a restart. */
void daemon_reload_refuse(const struct daemon_reload_change *change);

#endif
