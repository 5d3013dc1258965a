/*
 * copy_options.c — doppel-copy's command line and config file: one table
 * of options serves getopt_long and the config keys (the long names), and
 * one function applies a value whichever way it came.
 */
#include "copy_options.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "wire.h"

enum {
	OPT_CAPTURE = 256, OPT_OFFLINE, OPT_SPEED, OPT_REPEAT, OPT_LOG_LEVEL, OPT_STATS_FILE,
	OPT_STATS_INTERVAL, OPT_USER, OPT_CONFIG,
};

static const struct option long_options[] = {
	{ "transfer", required_argument, NULL, 'x' },
	{ "intercept", required_argument, NULL, 's' },
	{ "intercept-port", required_argument, NULL, 'p' },
	{ "intercept-conns", required_argument, NULL, 'C' },
	{ "client-ip", required_argument, NULL, 'c' },
	{ "copies", required_argument, NULL, 'n' },
	{ "port-shift", required_argument, NULL, 'f' },
	{ "percent", required_argument, NULL, 'r' },
	{ "device", required_argument, NULL, 'i' },
	{ "filter", required_argument, NULL, 'F' },
	{ "capture", required_argument, NULL, OPT_CAPTURE },
	{ "offline", required_argument, NULL, OPT_OFFLINE },
	{ "speed", required_argument, NULL, OPT_SPEED },
	{ "repeat", required_argument, NULL, OPT_REPEAT },
	{ "output-device", required_argument, NULL, 'o' },
	{ "session-timeout", required_argument, NULL, 't' },
	{ "keepalive-timeout", required_argument, NULL, 'k' },
	{ "memory", required_argument, NULL, 'm' },
	{ "mtu", required_argument, NULL, 'M' },
	{ "mss", required_argument, NULL, 'D' },
	{ "no-wait", no_argument, NULL, 'W' },
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

/* The leading ':' makes getopt report a missing value as ':'. */
static const char short_options[] = ":x:s:p:C:c:n:f:r:i:F:o:t:k:m:M:D:Wdl:P:hv";

static const char usage_text[] =
	"usage: doppel-copy -x [srcIP:]port-dstIP:dport[,...] -s host[:port][,...] [options]\n"
	"  -x, --transfer LIST       what to capture and where to replay it; link-layer form\n"
	"                            port@srcmac-dstIP:dport@nexthopmac for -o\n"
	"  -s, --intercept LIST      intercepts to connect to\n"
	"  -p, --intercept-port N    their default port (36524)\n"
	"  -C, --intercept-conns N   connections per intercept (accepted; one is used)\n"
	"  -c, --client-ip LIST      rewrite client addresses: a.b.c.d, a.b.c.x, a.b.c.d-e\n"
	"  -n, --copies N            replay each session N times (1)\n"
	"  -f, --port-shift N        copy i uses client port + i*N (2048)\n"
	"  -r, --percent N           replay N%% of sessions (100)\n"
	"  -i, --device DEV          capture interface (all)\n"
	"  -F, --filter EXPR         tcpdump expression instead of the one built from -x\n"
	"      --capture KIND        afpacket (default) | pcap\n"
	"      --offline FILE        replay a pcap file instead of capturing\n"
	"      --speed F             offline speed factor (1; 0 = as fast as possible)\n"
	"      --repeat N            offline repeat count (1)\n"
	"  -o, --output-device DEV   send with AF_PACKET on DEV (needs the @mac form of -x)\n"
	"  -t, --session-timeout D   give up silent sessions (120s)\n"
	"  -k, --keepalive-timeout D give up sessions whose client is silent (0 = never)\n"
	"  -m, --memory SIZE         cap on sessions + buffered data (512m)\n"
	"  -M, --mtu N               MTU of the path to the target (1500)\n"
	"  -D, --mss N               MSS clamp\n"
	"  -W, --no-wait             send requests at once, no pacing by answers\n"
	"  -d, --daemon              fork to the background\n"
	"  -l, --log FILE            also log to FILE\n"
	"  -P, --pidfile FILE\n"
	"      --log-level LEVEL     err|warning|notice|info|debug (info)\n"
	"      --stats-file FILE     JSON statistics\n"
	"      --stats-interval D    how often to log and write them (30s)\n"
	"      --user USER           drop to USER, keeping CAP_NET_RAW and CAP_NET_ADMIN\n"
	"      --config FILE         long option names as keys: \"key = value\"\n"
	"  -h, --help                -v, --version\n";

const char *copy_options_usage(void)
{
	return usage_text;
}

static void set_defaults(struct copy_options *o)
{
	memset(o, 0, sizeof(*o));
	o->intercept_port = WIRE_DEFAULT_PORT;
	o->intercept_conns = 1;
	o->copies = 1;
	o->port_shift = 2048;
	o->percent = 100;
	o->capture_kind = CAPTURE_AFPACKET;
	o->speed = 1.0;
	o->repeat = 1;
	o->session_timeout_ms = 120 * 1000;
	o->keepalive_timeout_ms = 0;
	o->memory_bytes = (uint64_t)512 << 20;
	o->mtu = 1500;
	o->log_level = LOG_LEVEL_INFO;
	o->stats_interval_ms = 30 * 1000;
}

void copy_options_free(struct copy_options *o)
{
	char **strings[] = {
		&o->device, &o->filter, &o->offline_file, &o->output_device, &o->log_file,
		&o->pidfile, &o->stats_file, &o->user, &o->config_file, &o->intercept_list,
	};

	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		free(*strings[i]);
		*strings[i] = NULL;
	}
	free(o->client_addrs);
	o->client_addrs = NULL;
	o->client_addr_count = 0;
}

static int set_string(char **field, const char *value, char *err, size_t errlen)
{
	char *copy;

	if (!*value)
		return opt_error(err, errlen, "empty value");
	copy = strdup(value);
	if (!copy)
		return opt_error(err, errlen, "out of memory");
	free(*field);
	*field = copy;
	return 0;
}

static int parse_unsigned(const char *value, uint64_t min, uint64_t max, unsigned *out,
			  char *err, size_t errlen)
{
	uint64_t v;

	if (opt_parse_uint(value, min, max, &v, err, errlen) < 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_u16(const char *value, uint64_t min, uint64_t max, uint16_t *out,
		     char *err, size_t errlen)
{
	unsigned v;

	if (parse_unsigned(value, min, max, &v, err, errlen) < 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int parse_speed(const char *value, double *out, char *err, size_t errlen)
{
	char *end;
	double v;

	if (!*value)
		return opt_error(err, errlen, "empty value");
	errno = 0;
	v = strtod(value, &end);
	if (*end != '\0' || errno != 0 || !isfinite(v) || value[0] == '-' || value[0] == ' ')
		return opt_error(err, errlen, "'%s' is not a number (a factor like 1, 2.5 or 0)",
				 value);
	if (v < 0 || v > 1e6)
		return opt_error(err, errlen, "%s is out of range 0..1000000", value);
	*out = v;
	return 0;
}

static int parse_capture_kind(const char *value, enum capture_kind *out, char *err, size_t errlen)
{
	if (strcmp(value, "afpacket") == 0)
		*out = CAPTURE_AFPACKET;
	else if (strcmp(value, "pcap") == 0)
		*out = CAPTURE_PCAP;
	else
		return opt_error(err, errlen, "'%s' is not a capture kind (afpacket or pcap)", value);
	return 0;
}

static int parse_client_list(struct copy_options *o, const char *value, char *err, size_t errlen)
{
	struct dp_addr *addrs;
	size_t count;

	if (copy_parse_client_addrs(value, &addrs, &count, err, errlen) < 0)
		return -1;
	free(o->client_addrs);
	o->client_addrs = addrs;
	o->client_addr_count = count;
	return 0;
}

static int parse_duration(const char *value, uint64_t min_ms, uint64_t *out, char *err,
			  size_t errlen)
{
	uint64_t ms;

	if (opt_parse_duration_ms(value, 1000, &ms, err, errlen) < 0)
		return -1;
	if (ms < min_ms || ms > (uint64_t)365 * 24 * 3600 * 1000)
		return opt_error(err, errlen, "'%s' is out of range %llums..365 days", value,
				 (unsigned long long)min_ms);
	*out = ms;
	return 0;
}

/* Apply one option's value (id: the short letter or OPT_*). */
static int apply(struct copy_options *o, int id, const char *value, char *err, size_t errlen)
{
	uint64_t size;

	switch (id) {
	case 'x':
		return copy_parse_transfers(value, o->transfers, COPY_MAX_TRANSFERS,
					    &o->transfer_count, err, errlen);
	case 's': return set_string(&o->intercept_list, value, err, errlen);
	case 'p': return opt_parse_port(value, &o->intercept_port, err, errlen);
	case 'C': return parse_unsigned(value, 1, 64, &o->intercept_conns, err, errlen);
	case 'c': return parse_client_list(o, value, err, errlen);
	case 'n': return parse_unsigned(value, 1, COPY_MAX_COPIES, &o->copies, err, errlen);
	case 'f': return parse_u16(value, 1, 65535, &o->port_shift, err, errlen);
	case 'r': return parse_unsigned(value, 1, 100, &o->percent, err, errlen);
	case 'i': return set_string(&o->device, value, err, errlen);
	case 'F': return set_string(&o->filter, value, err, errlen);
	case OPT_CAPTURE: return parse_capture_kind(value, &o->capture_kind, err, errlen);
	case OPT_OFFLINE: return set_string(&o->offline_file, value, err, errlen);
	case OPT_SPEED: return parse_speed(value, &o->speed, err, errlen);
	case OPT_REPEAT: return parse_unsigned(value, 1, 1000000, &o->repeat, err, errlen);
	case 'o': return set_string(&o->output_device, value, err, errlen);
	case 't': return parse_duration(value, 1000, &o->session_timeout_ms, err, errlen);
	case 'k': return parse_duration(value, 0, &o->keepalive_timeout_ms, err, errlen);
	case 'm':
		if (opt_parse_size(value, &size, err, errlen) < 0)
			return -1;
		if (size < (1u << 20) || size > ((uint64_t)1 << 40))
			return opt_error(err, errlen, "'%s' is out of range 1m..1024g", value);
		o->memory_bytes = size;
		return 0;
	case 'M': return parse_u16(value, 576, 65535, &o->mtu, err, errlen);
	case 'D': return parse_u16(value, 64, 65495, &o->mss, err, errlen);
	case 'l': return set_string(&o->log_file, value, err, errlen);
	case 'P': return set_string(&o->pidfile, value, err, errlen);
	case OPT_LOG_LEVEL: return opt_parse_log_level(value, &o->log_level, err, errlen);
	case OPT_STATS_FILE: return set_string(&o->stats_file, value, err, errlen);
	case OPT_STATS_INTERVAL:
		return parse_duration(value, 1000, &o->stats_interval_ms, err, errlen);
	case OPT_USER: return set_string(&o->user, value, err, errlen);
	default: return opt_error(err, errlen, "not handled");
	}
}

/* Flags as config keys take a boolean; on the command line they are on. */
static int apply_flag(struct copy_options *o, int id, const char *value, char *err, size_t errlen)
{
	bool on = true;

	if (value && opt_parse_bool(value, &on, err, errlen) < 0)
		return -1;
	if (id == 'W')
		o->no_wait = on;
	else
		o->daemonize = on;
	return 0;
}

/* "-x" for options with a letter, "--speed" for the rest. */
static void option_name(int id, char *buf, size_t len)
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
	snprintf(buf, len, "option %d", id);
}

static int apply_named(struct copy_options *o, int id, const char *name, const char *value,
		       char *err, size_t errlen)
{
	char why[512];
	int rc;

	if (id == 'W' || id == 'd')
		rc = apply_flag(o, id, value, why, sizeof(why));
	else
		rc = apply(o, id, value, why, sizeof(why));
	if (rc < 0) {
		if (value)
			return opt_error(err, errlen, "%s '%s': %s", name, value, why);
		return opt_error(err, errlen, "%s: %s", name, why);
	}
	return 0;
}

static int config_line(const char *key, const char *value, unsigned line_no, void *arg,
		       char *err, size_t errlen)
{
	struct copy_options *o = arg;

	for (const struct option *opt = long_options; opt->name; opt++) {
		if (strcmp(opt->name, key) != 0)
			continue;
		if (opt->val == 'h' || opt->val == 'v' || opt->val == OPT_CONFIG)
			return opt_error(err, errlen, "'%s' is not allowed in a config file", key);
		return apply_named(o, opt->val, key, value, err, errlen);
	}
	return opt_error(err, errlen, "unknown key '%s'", key);
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

/* First pass: only -h, -v and --config, and the syntax of the line. */
static enum copy_options_result first_pass(struct copy_options *o, int argc, char **argv,
					   char *err, size_t errlen)
{
	enum copy_options_result result = COPY_OPTIONS_RUN;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
		if (c == '?' || c == ':') {
			getopt_error(c, argv, err, errlen);
			return COPY_OPTIONS_ERROR;
		}
		if (c == 'h')
			return COPY_OPTIONS_HELP;
		if (c == 'v')
			result = COPY_OPTIONS_VERSION;
		if (c == OPT_CONFIG && set_string(&o->config_file, optarg, err, errlen) < 0)
			return COPY_OPTIONS_ERROR;
	}
	if (optind < argc) {
		opt_error(err, errlen, "unexpected argument '%s'", argv[optind]);
		return COPY_OPTIONS_ERROR;
	}
	return result;
}

static int second_pass(struct copy_options *o, int argc, char **argv, char *err, size_t errlen)
{
	char name[32];
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
		if (c == OPT_CONFIG)
			continue;
		option_name(c, name, sizeof(name));
		if (c == 'W' || c == 'd') {
			if (apply_flag(o, c, NULL, err, errlen) < 0)
				return -1;
			continue;
		}
		if (apply_named(o, c, name, optarg, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* Checks that need every option: required ones, and combinations. */
static int check_transfers(const struct copy_options *o, char *err, size_t errlen)
{
	const struct copy_transfer *first = &o->transfers[0];

	if (o->transfer_count == 0)
		return opt_error(err, errlen, "-x is required (what to capture and where to replay it)");
	for (size_t i = 0; i < o->transfer_count; i++) {
		const struct copy_transfer *t = &o->transfers[i];

		if (o->client_addr_count && o->client_addrs[0].family != t->target_addr.family)
			return opt_error(err, errlen, "-c: its addresses are not of the family of "
					 "the -x targets");
		if (!o->output_device)
			continue;
		if (!t->has_next_hop_mac)
			return opt_error(err, errlen, "-o needs the link-layer form of -x "
					 "(port@srcmac-dstIP:dport@nexthopmac) for every transfer");
		if (memcmp(t->next_hop_mac, first->next_hop_mac, 6) != 0 ||
		    t->has_src_mac != first->has_src_mac ||
		    memcmp(t->src_mac, first->src_mac, 6) != 0)
			return opt_error(err, errlen, "-x: with -o every transfer must use the same "
					 "MAC addresses (one output device)");
	}
	return 0;
}

static int finish(struct copy_options *o, char *err, size_t errlen)
{
	char why[256];

	if (check_transfers(o, err, errlen) < 0)
		return -1;
	if (!o->intercept_list)
		return opt_error(err, errlen, "-s is required (the intercepts to connect to)");
	if (copy_parse_intercepts(o->intercept_list, o->intercept_port, o->intercepts,
				  COPY_MAX_INTERCEPTS, &o->intercept_count, why, sizeof(why)) < 0)
		return opt_error(err, errlen, "-s '%s': %s", o->intercept_list, why);
	if (o->offline_file)
		o->capture_kind = CAPTURE_OFFLINE;
	/* Copy i's port is (port - 1 + i * shift) mod 65535 + 1: two copies
	 * collide when their distance times the shift is a multiple of 65535. */
	for (unsigned distance = 1; distance < o->copies; distance++)
		if ((uint64_t)distance * o->port_shift % 65535 == 0)
			return opt_error(err, errlen, "-f %u: copies %u apart would share the "
					 "client port", o->port_shift, distance);
	return 0;
}

/* A file that cannot be opened is the option's fault ("--config 'x': ..."),
 * a bad line the file's ("x:3: ..."). */
static int read_config(struct copy_options *o, char *err, size_t errlen)
{
	FILE *f = fopen(o->config_file, "r");

	if (!f)
		return opt_error(err, errlen, "--config '%s': %s", o->config_file, strerror(errno));
	fclose(f);
	return config_parse_file(o->config_file, config_line, o, err, errlen) != 0 ? -1 : 0;
}

enum copy_options_result copy_options_parse(struct copy_options *o, int argc, char **argv,
					    char *err, size_t errlen)
{
	enum copy_options_result result;

	set_defaults(o);
	result = first_pass(o, argc, argv, err, errlen);
	if (result != COPY_OPTIONS_RUN)
		return result;
	if (o->config_file && read_config(o, err, errlen) < 0)
		return COPY_OPTIONS_ERROR;
	if (second_pass(o, argc, argv, err, errlen) < 0 || finish(o, err, errlen) < 0)
		return COPY_OPTIONS_ERROR;
	return COPY_OPTIONS_RUN;
}
