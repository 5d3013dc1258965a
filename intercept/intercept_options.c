/*
 * intercept_options.c — one table of options serves getopt_long and the
 * config file (whose keys are the long names), and one function applies a
 * value whichever way it came.
 */
#include "intercept_options.h"

#include <getopt.h>
#include <pcap/pcap.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "wire.h"

enum {
	OPT_SOURCE = 256, OPT_QUEUES, OPT_PAYLOAD_PREFIX, OPT_MATCH, OPT_LOCAL_OUT,
	OPT_LOG_LEVEL, OPT_STATS_FILE, OPT_STATS_INTERVAL, OPT_USER, OPT_CONFIG,
	OPT_HOLD_UNROUTED,
};

static const struct option long_options[] = {
	{ "source", required_argument, NULL, OPT_SOURCE },
	{ "port", required_argument, NULL, 'p' },
	{ "bind", required_argument, NULL, 'b' },
	{ "allow", required_argument, NULL, 'x' },
	{ "device", required_argument, NULL, 'i' },
	{ "filter", required_argument, NULL, 'F' },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "queue-maxlen", required_argument, NULL, 'q' },
	{ "payload-prefix", required_argument, NULL, OPT_PAYLOAD_PREFIX },
	{ "match", required_argument, NULL, OPT_MATCH },
	{ "local-out", no_argument, NULL, OPT_LOCAL_OUT },
	{ "hold-unrouted", required_argument, NULL, OPT_HOLD_UNROUTED },
	{ "daemon", no_argument, NULL, 'd' },
	{ "log", required_argument, NULL, 'l' },
	{ "pidfile", required_argument, NULL, 'P' },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "stats-file", required_argument, NULL, OPT_STATS_FILE },
	{ "stats-interval", required_argument, NULL, OPT_STATS_INTERVAL },
	{ "user", required_argument, NULL, OPT_USER },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 },
};
static const char short_options[] = "p:b:x:i:F:q:dl:P:hv";

static const char usage_text[] =
	"Usage: doppel-intercept [options]\n"
	"Swallows the target's responses and sends their headers to the copy daemons.\n"
	"\n"
	"      --source KIND       nfqueue (default) | pcap | kmod\n"
	"  -p, --port N            listen port (36524)\n"
	"  -b, --bind ADDR         listen address (default all)\n"
	"  -x, --allow LIST        peer addresses allowed to connect (default all)\n"
	"  -i, --device DEV        pcap: interface (default any)\n"
	"  -F, --filter EXPR       pcap: tcpdump expression (default \"tcp\")\n"
	"      --queues A[-B]      nfqueue: queue numbers (default 0)\n"
	"  -q, --queue-maxlen N    nfqueue: queue length (default 65536)\n"
	"      --payload-prefix N  bytes of payload to forward after the TCP header (0)\n"
	"      --match ADDR:PORT|PORT  kmod: responses to take (repeatable)\n"
	"      --local-out         kmod: hook LOCAL_OUT (running on the target)\n"
	"      --hold-unrouted D   keep responses with no route yet for D (250ms; 0: drop at once)\n"
	"  -d, --daemon            fork to the background\n"
	"  -l, --log FILE          also log to FILE\n"
	"  -P, --pidfile FILE\n"
	"      --log-level LEVEL   err|warning|notice|info|debug (default info)\n"
	"      --stats-file FILE   JSON statistics, rewritten every --stats-interval\n"
	"      --stats-interval D  (default 30s)\n"
	"      --user USER         drop to USER, keeping CAP_NET_ADMIN and CAP_NET_RAW\n"
	"      --config FILE       \"long-option = value\" lines; the command line wins\n"
	"  -h, --help   -v, --version\n";

static void set_defaults(struct intercept_options *o)
{
	memset(o, 0, sizeof(*o));
	o->source = "nfqueue";
	o->source_cfg.queue_maxlen = INTERCEPT_DEFAULT_QUEUE_MAXLEN;
	o->server_cfg.port = WIRE_DEFAULT_PORT;
	o->server_cfg.hold_unrouted_ms = INTERCEPT_DEFAULT_HOLD_UNROUTED_MS;
	o->log_level = LOG_LEVEL_INFO;
	o->stats_interval_ms = INTERCEPT_DEFAULT_STATS_INTERVAL_MS;
}

static int replace_string(char **slot, const char *value, char *err, size_t errlen)
{
	char *copy = strdup(value);

	if (!copy)
		return opt_error(err, errlen, "out of memory");
	free(*slot);
	*slot = copy;
	return 0;
}

static int parse_source(struct intercept_options *o, const char *value, char *err, size_t errlen)
{
	static const char *const names[] = { "nfqueue", "pcap", "kmod" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(value, names[i]) != 0)
			continue;
		if (!source_find(names[i]))
			return opt_error(err, errlen, "the %s source is not built into this binary",
					 names[i]);
		o->source = names[i];
		return 0;
	}
	return opt_error(err, errlen, "unknown source (nfqueue, pcap or kmod)");
}

static int parse_allow(struct server_config *cfg, const char *value, char *err, size_t errlen)
{
	char *copy = strdup(value), *save = NULL;
	size_t count = 0;
	int r = 0;

	if (!copy)
		return opt_error(err, errlen, "out of memory");
	for (char *item = strtok_r(copy, ",", &save); item && r == 0;
	     item = strtok_r(NULL, ",", &save)) {
		if (count == SERVER_MAX_ALLOW)
			r = opt_error(err, errlen, "more than %d addresses", SERVER_MAX_ALLOW);
		else
			r = opt_parse_addr(item, &cfg->allow[count++], err, errlen);
	}
	free(copy);
	if (r == 0 && count == 0)
		r = opt_error(err, errlen, "no address");
	if (r == 0)
		cfg->allow_count = count;
	return r;
}

static int parse_queues(struct source_config *cfg, const char *value, char *err, size_t errlen)
{
	char first_text[16];
	const char *dash = strchr(value, '-');
	uint64_t first, last;

	if (!dash) {
		if (opt_parse_uint(value, 0, 65535, &first, err, errlen) < 0)
			return -1;
		last = first;
	} else {
		size_t n = (size_t)(dash - value);
		if (n == 0 || n >= sizeof(first_text))
			return opt_error(err, errlen, "expected A or A-B");
		memcpy(first_text, value, n);
		first_text[n] = '\0';
		if (opt_parse_uint(first_text, 0, 65535, &first, err, errlen) < 0 ||
		    opt_parse_uint(dash + 1, 0, 65535, &last, err, errlen) < 0)
			return -1;
		if (last < first)
			return opt_error(err, errlen, "%llu-%llu: the last queue is before the first",
					 (unsigned long long)first, (unsigned long long)last);
	}
	cfg->queue_first = (uint16_t)first;
	cfg->queue_last = (uint16_t)last;
	return 0;
}

static int parse_match(struct intercept_options *o, const char *value, bool from_command_line,
		       char *err, size_t errlen)
{
	struct source_config *cfg = &o->source_cfg;
	struct source_match m;
	uint64_t port;

	/* The command line's matches replace the config file's. */
	if (from_command_line && !o->matches_from_command_line) {
		cfg->match_count = 0;
		o->matches_from_command_line = true;
	}
	if (cfg->match_count == SOURCE_MAX_MATCHES)
		return opt_error(err, errlen, "more than %d rules", SOURCE_MAX_MATCHES);
	memset(&m, 0, sizeof(m));
	if (strspn(value, "0123456789") == strlen(value)) {
		if (opt_parse_uint(value, 1, 65535, &port, err, errlen) < 0)
			return -1;
		m.port = (uint16_t)port;
	} else if (opt_parse_host_port(value, 0, &m.addr, &m.port, err, errlen) < 0) {
		return -1;
	}
	cfg->matches[cfg->match_count++] = m;
	return 0;
}

static int parse_log_level(const char *value, enum log_level *level, char *err, size_t errlen)
{
	static const struct { const char *name; enum log_level level; } levels[] = {
		{ "err", LOG_LEVEL_ERR }, { "warning", LOG_LEVEL_WARNING },
		{ "notice", LOG_LEVEL_NOTICE }, { "info", LOG_LEVEL_INFO },
		{ "debug", LOG_LEVEL_DEBUG },
	};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (strcmp(value, levels[i].name) == 0) {
			*level = levels[i].level;
			return 0;
		}
	}
	return opt_error(err, errlen, "unknown level (err, warning, notice, info or debug)");
}

/* A -F expression is compiled once here so that a typo is refused with
 * the other bad options, before anything opens. */
static int check_filter(const char *value, char *err, size_t errlen)
{
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 256);
	struct bpf_program program;
	int r = 0;

	if (!dead)
		return opt_error(err, errlen, "out of memory");
	if (pcap_compile(dead, &program, value, 1, PCAP_NETMASK_UNKNOWN) < 0)
		r = opt_error(err, errlen, "%s", pcap_geterr(dead));
	else
		pcap_freecode(&program);
	pcap_close(dead);
	return r;
}

static int parse_user(struct intercept_options *o, const char *value, char *err, size_t errlen)
{
	if (!getpwnam(value))
		return opt_error(err, errlen, "no such user");
	return replace_string(&o->user, value, err, errlen);
}

/* A flag's value in a config file. */
static int parse_flag(const char *value, bool *out, char *err, size_t errlen)
{
	if (!strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(value, "no") || !strcmp(value, "false") || !strcmp(value, "0")) {
		*out = false;
		return 0;
	}
	return opt_error(err, errlen, "expected yes or no");
}

static int apply_numeric(struct intercept_options *o, int id, const char *value,
			 char *err, size_t errlen)
{
	uint64_t n;

	switch (id) {
	case 'p':
		return opt_parse_port(value, &o->server_cfg.port, err, errlen);
	case 'q':
		if (opt_parse_uint(value, 1, UINT32_MAX, &n, err, errlen) < 0)
			return -1;
		o->source_cfg.queue_maxlen = (uint32_t)n;
		return 0;
	case OPT_PAYLOAD_PREFIX:
		if (opt_parse_uint(value, 0, INTERCEPT_MAX_PAYLOAD_PREFIX, &n, err, errlen) < 0)
			return -1;
		o->source_cfg.payload_prefix = (uint16_t)n;
		o->server_cfg.payload_prefix = (uint16_t)n;
		return 0;
	case OPT_HOLD_UNROUTED:
		if (opt_parse_duration_ms(value, 1, &n, err, errlen) < 0)
			return -1;
		if (n > INTERCEPT_MAX_HOLD_UNROUTED_MS)
			return opt_error(err, errlen, "longer than %dms", INTERCEPT_MAX_HOLD_UNROUTED_MS);
		o->server_cfg.hold_unrouted_ms = n;
		return 0;
	case OPT_STATS_INTERVAL:
		if (opt_parse_duration_ms(value, 1000, &n, err, errlen) < 0)
			return -1;
		if (n < 100)
			return opt_error(err, errlen, "shorter than 100ms");
		o->stats_interval_ms = n;
		return 0;
	}
	return opt_error(err, errlen, "unknown option");
}

/* Apply one option (id as in long_options) with its value, whichever way
 * it came. flag_value is the value of an argument-less option. */
static int apply(struct intercept_options *o, int id, const char *value, bool flag_value,
		 bool from_command_line, char *err, size_t errlen)
{
	switch (id) {
	case OPT_SOURCE:
		return parse_source(o, value, err, errlen);
	case 'b':
		return opt_parse_addr(value, &o->server_cfg.bind, err, errlen);
	case 'x':
		return parse_allow(&o->server_cfg, value, err, errlen);
	case 'i':
		if (replace_string(&o->device, value, err, errlen) < 0)
			return -1;
		o->source_cfg.device = o->device;
		return 0;
	case 'F':
		if (check_filter(value, err, errlen) < 0 ||
		    replace_string(&o->filter, value, err, errlen) < 0)
			return -1;
		o->source_cfg.filter = o->filter;
		return 0;
	case OPT_QUEUES:
		return parse_queues(&o->source_cfg, value, err, errlen);
	case OPT_MATCH:
		return parse_match(o, value, from_command_line, err, errlen);
	case OPT_LOCAL_OUT:
		o->source_cfg.local_out = flag_value;
		return 0;
	case 'd':
		o->daemonize = flag_value;
		return 0;
	case 'l':
		return replace_string(&o->log_file, value, err, errlen);
	case 'P':
		return replace_string(&o->pid_file, value, err, errlen);
	case OPT_LOG_LEVEL:
		return parse_log_level(value, &o->log_level, err, errlen);
	case OPT_STATS_FILE:
		return replace_string(&o->stats_file, value, err, errlen);
	case OPT_USER:
		return parse_user(o, value, err, errlen);
	default:
		return apply_numeric(o, id, value, err, errlen);
	}
}

/* "-p" for an option with a short form, "--queues" otherwise. */
static void option_label(int id, char *buf, size_t len)
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
	snprintf(buf, len, "?");
}

static int config_line(const char *key, const char *value, unsigned line_no, void *arg,
		       char *err, size_t errlen)
{
	struct intercept_options *o = arg;
	char why[256];

	for (const struct option *opt = long_options; opt->name; opt++) {
		if (strcmp(opt->name, key) != 0)
			continue;
		if (opt->val == OPT_CONFIG || opt->val == 'h' || opt->val == 'v')
			return opt_error(err, errlen, "%s: not allowed in a config file", key);
		bool flag = true;
		if (opt->has_arg == no_argument && parse_flag(value, &flag, why, sizeof(why)) < 0)
			return opt_error(err, errlen, "%s '%s': %s", key, value, why);
		if (apply(o, opt->val, value, flag, false, why, sizeof(why)) < 0)
			return opt_error(err, errlen, "%s '%s': %s", key, value, why);
		return 0;
	}
	return opt_error(err, errlen, "unknown key '%s'", key);
}

/* First pass: only -h, -v and --config, and getopt's own complaints. */
static enum intercept_options_result first_pass(struct intercept_options *o, int argc,
						char **argv, char *err, size_t errlen)
{
	int id;

	opterr = 0;
	optind = 0;
	while ((id = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
		if (id == 'h') {
			fputs(usage_text, stdout);
			return INTERCEPT_OPTIONS_EXIT;
		}
		if (id == 'v') {
			printf("doppel-intercept %s\n", DOPPEL_VERSION);
			return INTERCEPT_OPTIONS_EXIT;
		}
		if (id == '?') {
			opt_error(err, errlen, "%s: unknown option or missing value (see --help)",
				  argv[optind - 1]);
			return INTERCEPT_OPTIONS_ERROR;
		}
		if (id == OPT_CONFIG && replace_string(&o->config_file, optarg, err, errlen) < 0)
			return INTERCEPT_OPTIONS_ERROR;
	}
	if (optind < argc) {
		opt_error(err, errlen, "'%s': unexpected argument", argv[optind]);
		return INTERCEPT_OPTIONS_ERROR;
	}
	return INTERCEPT_OPTIONS_RUN;
}

enum intercept_options_result intercept_options_parse(struct intercept_options *o,
						      int argc, char **argv,
						      char *err, size_t errlen)
{
	char why[256], label[32];
	enum intercept_options_result r;
	int id;

	set_defaults(o);
	r = first_pass(o, argc, argv, err, errlen);
	if (r != INTERCEPT_OPTIONS_RUN)
		return r;
	if (o->config_file && config_parse_file(o->config_file, config_line, o, err, errlen) != 0)
		return INTERCEPT_OPTIONS_ERROR;
	optind = 0;
	while ((id = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
		if (id == OPT_CONFIG)
			continue;
		if (apply(o, id, optarg, true, true, why, sizeof(why)) < 0) {
			option_label(id, label, sizeof(label));
			opt_error(err, errlen, "%s '%s': %s", label, optarg ? optarg : "", why);
			return INTERCEPT_OPTIONS_ERROR;
		}
	}
	return INTERCEPT_OPTIONS_RUN;
}

void intercept_options_free(struct intercept_options *o)
{
	free(o->log_file);
	free(o->pid_file);
	free(o->stats_file);
	free(o->user);
	free(o->config_file);
	free(o->device);
	free(o->filter);
	memset(o, 0, sizeof(*o));
}
