/*
 * daemon_options.h — the options doppel-copy and doppel-intercept share
 * (-d, -l, -P, --log-level, --stats-file, --stats-interval, --user,
 * --config, --metrics, -h, -v, --list-stats) and the one parse that serves both daemons:
 *
 *   1. argv once for -h, -v, --list-stats, --config and getopt's own
 *      complaints;
 *   2. the --config file, whose keys are the long option names;
 *   3. argv again, every option applied over the file's values.
 *
 * A daemon lists its own options with DAEMON_LONG_OPTIONS in one table
 * and gives a function that applies one of its own; the shared ones land
 * in struct daemon_options. Errors name the option as it was written
 * ("-p '0': ...", "--speed needs a value", "FILE:3: copies '0': ..."),
 * for main to print after the daemon's name before exiting 2. Nothing
 * here logs or exits.
 */
#ifndef DOPPEL_DAEMON_OPTIONS_H
#define DOPPEL_DAEMON_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/runtime/log.h"

/* Ids of the shared long-only options. A daemon's own long-only options
 * take ids from 256 to 511; its short ones are their letter. */
enum {
	DAEMON_OPT_LOG_LEVEL = 512, DAEMON_OPT_STATS_FILE, DAEMON_OPT_STATS_INTERVAL,
	DAEMON_OPT_USER, DAEMON_OPT_CONFIG, DAEMON_OPT_METRICS,
	/* Like -h and -v, seen only by the first pass. */
	DAEMON_OPT_LIST_STATS = 600,
};

/* After the daemon's own letters in its short option string, which starts
 * with ':' (a missing value is then told apart from an unknown option). */
#define DAEMON_SHORT_OPTIONS "dl:P:hv"

/* The last entries of a daemon's long option table, before its { NULL }. */
#define DAEMON_LONG_OPTIONS                                                   \
	{ "daemon", no_argument, NULL, 'd' },                                 \
	{ "log", required_argument, NULL, 'l' },                              \
	{ "pidfile", required_argument, NULL, 'P' },                          \
	{ "log-level", required_argument, NULL, DAEMON_OPT_LOG_LEVEL },       \
	{ "stats-file", required_argument, NULL, DAEMON_OPT_STATS_FILE },     \
	{ "stats-interval", required_argument, NULL, DAEMON_OPT_STATS_INTERVAL }, \
	{ "user", required_argument, NULL, DAEMON_OPT_USER },                 \
	{ "config", required_argument, NULL, DAEMON_OPT_CONFIG },             \
	{ "metrics", required_argument, NULL, DAEMON_OPT_METRICS },           \
	{ "help", no_argument, NULL, 'h' },                                   \
	{ "version", no_argument, NULL, 'v' },                                \
	{ "list-stats", no_argument, NULL, DAEMON_OPT_LIST_STATS }

#define DAEMON_DEFAULT_STATS_INTERVAL_MS 30000

/* One option as it was applied (config file or command line), kept for
 * SIGHUP to tell what changed. value "" for a flag without one. */
struct daemon_option_value {
	int id;
	char name[40];		/* "-x", or "--speed" for one without a letter */
	char *value;
};

struct daemon_options {
	bool daemonize;			/* -d */
	char *log_file;			/* -l */
	char *pid_file;			/* -P */
	enum log_level log_level;	/* --log-level (info) */
	char *stats_file;		/* --stats-file */
	uint64_t stats_interval_ms;	/* --stats-interval: 1s..365 days (30s) */
	char *user;			/* --user: a user that exists */
	char *config_file;		/* --config */
	char *metrics;			/* --metrics ADDR:PORT (checked), or NULL */
	struct daemon_option_value *applied;	/* in the order applied */
	size_t applied_count;
};

/* Apply one of the daemon's own options. value is NULL for a flag given
 * on the command line (it is on) and the file's text for any option from
 * the config file (from_command_line false); daemon_flag() reads both.
 * 0, or -1 with err saying what is wrong with the value (the caller adds
 * the option's name). */
typedef int (*daemon_option_fn)(void *ctx, int id, const char *value, bool from_command_line,
				char *err, size_t errlen);

struct daemon_option_table {
	const struct option *long_options;	/* ending in DAEMON_LONG_OPTIONS, { NULL } */
	const char *short_options;		/* ":" own letters DAEMON_SHORT_OPTIONS */
	daemon_option_fn apply;
	void *ctx;
};

enum daemon_options_result {
	DAEMON_OPTIONS_RUN,	/* every option is valid: run */
	DAEMON_OPTIONS_HELP,	/* -h: print the usage, exit 0 */
	DAEMON_OPTIONS_VERSION,	/* -v */
	DAEMON_OPTIONS_LIST_STATS, /* --list-stats: print the statistics' list, exit 0 */
	DAEMON_OPTIONS_ERROR,	/* err says what; exit 2 */
};

/* Set *common's defaults, then parse as above. The daemon sets its own
 * defaults before. Free *common with daemon_options_free() whatever the
 * result. */
enum daemon_options_result daemon_options_parse(struct daemon_options *common,
						const struct daemon_option_table *table,
						int argc, char **argv, char *err, size_t errlen);
void daemon_options_free(struct daemon_options *common);

/* A flag's value: on without one (the command line), else yes/no. */
int daemon_flag(const char *value, bool *on, char *err, size_t errlen);
/* Replace *field with a copy of value, which may not be empty. */
int daemon_set_string(char **field, const char *value, char *err, size_t errlen);

#endif
