/*
 * daemon_reload.c — see daemon_reload.h.
 */
#include "lib/runtime/daemon_reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/runtime/log.h"

/* id's values in o, joined; "" when it was not given. */
static void joined(const struct daemon_options *o, int id, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < o->applied_count; i++) {
		if (o->applied[i].id != id)
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
				 o->applied[i].value);

		if (n < 0 || (size_t)n >= len - used) {
			used = len - 1;
			break;
		}
		used += (size_t)n;
	}
}

static bool seen_before(const struct daemon_options *o, size_t index)
{
	for (size_t i = 0; i < index; i++)
		if (o->applied[i].id == o->applied[index].id)
			return true;
	return false;
}

static bool in(const struct daemon_options *o, int id)
{
	for (size_t i = 0; i < o->applied_count; i++)
		if (o->applied[i].id == id)
			return true;
	return false;
}

#define RELOAD_MAX_CHANGES 128

static void collect(const struct daemon_options *a, const struct daemon_options *b,
		    const struct daemon_options *live, const struct daemon_options *fresh,
		    bool skip_common, struct daemon_reload_change *out, size_t *count)
{
	for (size_t i = 0; i < a->applied_count && *count < RELOAD_MAX_CHANGES; i++) {
		struct daemon_reload_change c = { .id = a->applied[i].id };

		if (seen_before(a, i) || (skip_common && in(b, c.id)))
			continue;
		snprintf(c.name, sizeof(c.name), "%s", a->applied[i].name);
		joined(live, c.id, c.before, sizeof(c.before));
		joined(fresh, c.id, c.after, sizeof(c.after));
		if (strcmp(c.before, c.after) != 0)
			out[(*count)++] = c;
	}
}

size_t daemon_reload_diff(const struct daemon_options *live, const struct daemon_options *fresh,
			  daemon_reload_fn fn, void *ctx)
{
	/* Collected first: fn may change live (daemon_reload_accepted). */
	struct daemon_reload_change *changes = calloc(RELOAD_MAX_CHANGES, sizeof(*changes));
	size_t count = 0;

	if (!changes) {
		log_warnx("SIGHUP: out of memory; nothing changed");
		return 0;
	}
	/* Every option of the running set, then those only the fresh one has. */
	collect(live, fresh, live, fresh, false, changes, &count);
	collect(fresh, live, live, fresh, true, changes, &count);
	for (size_t i = 0; i < count; i++)
		fn(ctx, &changes[i]);
	free(changes);
	return count;
}

void daemon_reload_accepted(struct daemon_options *live, const struct daemon_options *fresh,
			    int id)
{
	size_t kept = 0;

	for (size_t i = 0; i < live->applied_count; i++) {
		if (live->applied[i].id == id)
			free(live->applied[i].value);
		else
			live->applied[kept++] = live->applied[i];
	}
	live->applied_count = kept;
	for (size_t i = 0; i < fresh->applied_count; i++) {
		struct daemon_option_value *grown;
		char *copy;

		if (fresh->applied[i].id != id)
			continue;
		grown = realloc(live->applied, (live->applied_count + 1) * sizeof(*grown));
		copy = strdup(fresh->applied[i].value);
		if (grown)
			live->applied = grown;
		if (!grown || !copy) {
			free(copy);
			return;	/* the next SIGHUP reports it again: harmless */
		}
		live->applied[live->applied_count] = fresh->applied[i];
		live->applied[live->applied_count++].value = copy;
	}
}

static void take_string(char **live, char **fresh)
{
	free(*live);
	*live = *fresh;
	*fresh = NULL;
}

bool daemon_reload_common(struct daemon_options *live, struct daemon_options *fresh,
			  const struct daemon_reload_change *change)
{
	switch (change->id) {
	case DAEMON_OPT_LOG_LEVEL:
		live->log_level = fresh->log_level;
		log_set_level(live->log_level);
		break;
	case 'l':
		if (!fresh->log_file)
			return false;	/* no way to stop logging to a file but a restart */
		if (log_open_file(fresh->log_file) < 0) {
			log_warn("SIGHUP: -l %s: cannot open it; still logging to %s",
				 fresh->log_file, live->log_file ? live->log_file : "stderr only");
			return true;
		}
		take_string(&live->log_file, &fresh->log_file);
		break;
	case DAEMON_OPT_STATS_FILE:
		take_string(&live->stats_file, &fresh->stats_file);
		break;
	case DAEMON_OPT_STATS_INTERVAL:
		live->stats_interval_ms = fresh->stats_interval_ms;
		break;
	case DAEMON_OPT_METRICS:
		take_string(&live->metrics, &fresh->metrics);
		break;
	default:
		return false;
	}
	daemon_reload_applied(live, fresh, change);
	return true;
}

void daemon_reload_applied(struct daemon_options *live, const struct daemon_options *fresh,
			   const struct daemon_reload_change *change)
{
	daemon_reload_accepted(live, fresh, change->id);
	log_notice("SIGHUP: %s changed from '%s' to '%s'", change->name, change->before,
		   change->after);
}

void daemon_reload_refuse(const struct daemon_reload_change *change)
{
	log_warnx("SIGHUP: %s changed from '%s' to '%s': needs a restart; still running with '%s'",
		  change->name, change->before, change->after, change->before);
}
