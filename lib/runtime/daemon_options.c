/*
 * daemon_options.c — the shared options of daemon_options.h and the
 * two-pass parse (argv, config file, argv again) both daemons run. One
 * table serves getopt_long and the config keys (the long names), and one
 * path applies a value whichever way it came, so an option cannot mean
 * one thing on the command line and another in the file.
 */
#include "lib/runtime/daemon_options.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/runtime/metrics_http.h"
#include "lib/runtime/options.h"

int daemon_set_string(char **field, const char *value, char *err, size_t errlen)
{
	char *copy;

	if (!value || !*value)
		return opt_error(err, errlen, "empty value");
	copy = strdup(value);
	if (!copy)
		return opt_error(err, errlen, "out of memory");
	free(*field);
	*field = copy;
	return 0;
}

int daemon_flag(const char *value, bool *on, char *err, size_t errlen)
{
	if (!value) {
		*on = true;
		return 0;
	}
	return opt_parse_bool(value, on, err, errlen);
}

/* Refused at start rather than after the sockets are open, when the drop
 * to it would fail. */
static int set_user(struct daemon_options *common, const char *value, char *err, size_t errlen)
{
	if (*value && !getpwnam(value))
		return opt_error(err, errlen, "no such user");
	return daemon_set_string(&common->user, value, err, errlen);
}

/* Checked now, opened by the daemon with its other sockets. */
static int set_metrics(struct daemon_options *common, const char *value, char *err,
		       size_t errlen)
{
	struct metrics_server_config cfg;

	metrics_server_config_defaults(&cfg);
	if (metrics_parse_address(value, &cfg, err, errlen) < 0)
		return -1;
	return daemon_set_string(&common->metrics, value, err, errlen);
}

static bool is_common(int id)
{
	return id == 'd' || id == 'l' || id == 'P' ||
	       (id >= DAEMON_OPT_LOG_LEVEL && id <= DAEMON_OPT_METRICS);
}

static int apply_common(struct daemon_options *common, int id, const char *value,
			char *err, size_t errlen)
{
	switch (id) {
	case 'd': return daemon_flag(value, &common->daemonize, err, errlen);
	case 'l': return daemon_set_string(&common->log_file, value, err, errlen);
	case 'P': return daemon_set_string(&common->pid_file, value, err, errlen);
	case DAEMON_OPT_LOG_LEVEL: return opt_parse_log_level(value, &common->log_level, err, errlen);
	case DAEMON_OPT_STATS_FILE: return daemon_set_string(&common->stats_file, value, err, errlen);
	case DAEMON_OPT_STATS_INTERVAL:
		return opt_parse_timeout_ms(value, 1000, &common->stats_interval_ms, err, errlen);
	case DAEMON_OPT_USER: return set_user(common, value, err, errlen);
	case DAEMON_OPT_CONFIG: return daemon_set_string(&common->config_file, value, err, errlen);
	case DAEMON_OPT_METRICS: return set_metrics(common, value, err, errlen);
	default: return opt_error(err, errlen, "not a shared option");
	}
}

/* "-x" for an option with a letter, "--speed" for the rest. */
static void option_name(const struct option *long_options, int id, char *buf, size_t len)
{
	for (const struct option *opt = long_options; opt->name; opt++) {
		if (opt->val != id)
			continue;
		if (id < 256)
			snprintf(buf, len, "-%c", id);
		else
			snprintf(buf, len, "--%s", opt->name);
		return;
	}
	/* A letter with no long name (TCPCopy's letters that are refused). */
	if (id > ' ' && id < 127)
		snprintf(buf, len, "-%c", id);
	else
		snprintf(buf, len, "option %d", id);
}

static void option_name(const struct option *long_options, int id, char *buf, size_t len);

static int remember(struct daemon_options *common, const struct option *long_options, int id,
		    const char *value, char *err, size_t errlen)
{
	struct daemon_option_value *grown = realloc(common->applied, (common->applied_count + 1) *
								    sizeof(*grown));
	char *copy = strdup(value ? value : "");

	if (grown)
		common->applied = grown;
	if (!grown || !copy) {
		free(copy);
		return opt_error(err, errlen, "out of memory");
	}
	common->applied[common->applied_count] = (struct daemon_option_value){ .id = id, .value = copy };
	option_name(long_options, id, common->applied[common->applied_count].name,
		    sizeof(common->applied[0].name));
	common->applied_count++;
	return 0;
}

/* Apply one option, shared or the daemon's; err names it as given. */
static int apply_named(struct daemon_options *common, const struct daemon_option_table *table,
		       int id, const char *name, const char *value, bool from_command_line,
		       char *err, size_t errlen)
{
	char why[512];
	int rc;

	if (is_common(id))
		rc = apply_common(common, id, value, why, sizeof(why));
	else
		rc = table->apply(table->ctx, id, value, from_command_line, why, sizeof(why));
	if (rc == 0)
		return remember(common, table->long_options, id, value, err, errlen);
	if (value)
		return opt_error(err, errlen, "%s '%s': %s", name, value, why);
	return opt_error(err, errlen, "%s: %s", name, why);
}

struct config_context {
	struct daemon_options *common;
	const struct daemon_option_table *table;
};

static int config_line(const char *key, const char *value, unsigned line_no, void *arg,
		       char *err, size_t errlen)
{
	struct config_context *c = arg;

	for (const struct option *opt = c->table->long_options; opt->name; opt++) {
		if (strcmp(opt->name, key) != 0)
			continue;
		if (opt->val == 'h' || opt->val == 'v' || opt->val == DAEMON_OPT_CONFIG ||
		    opt->val == DAEMON_OPT_LIST_STATS)
			return opt_error(err, errlen, "'%s' is not allowed in a config file", key);
		return apply_named(c->common, c->table, opt->val, key, value, false, err, errlen);
	}
	return opt_error(err, errlen, "unknown key '%s'", key);
}

/* A file that cannot be opened is the option's fault ("--config 'x': ..."),
 * a bad line the file's ("x:3: ..."). */
static int read_config(struct daemon_options *common, const struct daemon_option_table *table,
		       char *err, size_t errlen)
{
	struct config_context context = { common, table };
	FILE *f = fopen(common->config_file, "r");

	if (!f)
		return opt_error(err, errlen, "--config '%s': %s", common->config_file,
				 strerror(errno));
	fclose(f);
	return config_parse_file(common->config_file, config_line, &context, err, errlen) != 0
		       ? -1 : 0;
}

static int getopt_error(int c, char **argv, char *err, size_t errlen)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return opt_error(err, errlen, "%s needs a value", arg);
	if (optopt)
		return opt_error(err, errlen, "unknown option '-%c' (see --help)", optopt);
	return opt_error(err, errlen, "unknown option '%s' (see --help)", arg);
}

/* First pass: only -h, -v, --list-stats, --config and the syntax of the
 * line. -h
 * wins over anything, even a bad option after it. */
static enum daemon_options_result first_pass(struct daemon_options *common,
					     const struct daemon_option_table *table,
					     int argc, char **argv, char *err, size_t errlen)
{
	enum daemon_options_result result = DAEMON_OPTIONS_RUN;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, table->short_options, table->long_options,
				NULL)) != -1) {
		if (c == '?' || c == ':') {
			getopt_error(c, argv, err, errlen);
			return DAEMON_OPTIONS_ERROR;
		}
		if (c == 'h')
			return DAEMON_OPTIONS_HELP;
		if (c == 'v')
			result = DAEMON_OPTIONS_VERSION;
		if (c == DAEMON_OPT_LIST_STATS)
			result = DAEMON_OPTIONS_LIST_STATS;
		if (c == DAEMON_OPT_CONFIG &&
		    apply_named(common, table, c, "--config", optarg, true, err, errlen) < 0)
			return DAEMON_OPTIONS_ERROR;
	}
	if (optind < argc) {
		opt_error(err, errlen, "unexpected argument '%s'", argv[optind]);
		return DAEMON_OPTIONS_ERROR;
	}
	return result;
}

/* A flag has no value on the command line (whatever optarg holds). */
static bool takes_value(const struct option *long_options, int id)
{
	for (const struct option *opt = long_options; opt->name; opt++)
		if (opt->val == id)
			return opt->has_arg != no_argument;
	return true;
}

static int second_pass(struct daemon_options *common, const struct daemon_option_table *table,
		       int argc, char **argv, char *err, size_t errlen)
{
	char name[64];
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, table->short_options, table->long_options,
				NULL)) != -1) {
		if (c == DAEMON_OPT_CONFIG || c == DAEMON_OPT_LIST_STATS)
			continue;
		option_name(table->long_options, c, name, sizeof(name));
		if (apply_named(common, table, c, name,
				takes_value(table->long_options, c) ? optarg : NULL, true,
				err, errlen) < 0)
			return -1;
	}
	return 0;
}

static void set_defaults(struct daemon_options *common)
{
	memset(common, 0, sizeof(*common));
	common->log_level = LOG_LEVEL_INFO;
	common->stats_interval_ms = DAEMON_DEFAULT_STATS_INTERVAL_MS;
}

enum daemon_options_result daemon_options_parse(struct daemon_options *common,
						const struct daemon_option_table *table,
						int argc, char **argv, char *err, size_t errlen)
{
	enum daemon_options_result result;

	set_defaults(common);
	result = first_pass(common, table, argc, argv, err, errlen);
	if (result != DAEMON_OPTIONS_RUN)
		return result;
	if (common->config_file && read_config(common, table, err, errlen) < 0)
		return DAEMON_OPTIONS_ERROR;
	if (second_pass(common, table, argc, argv, err, errlen) < 0)
		return DAEMON_OPTIONS_ERROR;
	return DAEMON_OPTIONS_RUN;
}

void daemon_options_free(struct daemon_options *common)
{
	char **strings[] = {
		&common->log_file, &common->pid_file, &common->stats_file, &common->user,
		&common->config_file, &common->metrics,
	};

	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		free(*strings[i]);
		*strings[i] = NULL;
	}
	for (size_t i = 0; i < common->applied_count; i++)
		free(common->applied[i].value);
	free(common->applied);
	common->applied = NULL;
	common->applied_count = 0;
}
