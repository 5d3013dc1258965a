/*
 * intercept_options.c — doppel-intercept's own options (the shared ones
 * and the parse itself are lib/runtime/daemon_options.c): its table and one
 * function that applies a value whichever way it came.
 */
#include "intercept/intercept_options.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/runtime/options.h"
#include "lib/wire/wire.h"

enum {
	OPT_SOURCE = 256, OPT_QUEUES, OPT_PAYLOAD_PREFIX, OPT_MATCH, OPT_LOCAL_OUT,
	OPT_HOLD_UNROUTED, OPT_ROUTE_PAYLOAD, OPT_QUEUE_THREADS,
	OPT_TLS_CERT, OPT_TLS_KEY, OPT_TLS_CA, OPT_TLS_PSK_FILE, OPT_INSECURE_PLAINTEXT,
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
	{ "queue-threads", required_argument, NULL, OPT_QUEUE_THREADS },
	{ "payload-prefix", required_argument, NULL, OPT_PAYLOAD_PREFIX },
	{ "route-payload", required_argument, NULL, OPT_ROUTE_PAYLOAD },
	{ "match", required_argument, NULL, OPT_MATCH },
	{ "local-out", no_argument, NULL, OPT_LOCAL_OUT },
	{ "hold-unrouted", required_argument, NULL, OPT_HOLD_UNROUTED },
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
	{ "tls-ca", required_argument, NULL, OPT_TLS_CA },
	{ "tls-psk-file", required_argument, NULL, OPT_TLS_PSK_FILE },
	{ "insecure-plaintext", no_argument, NULL, OPT_INSECURE_PLAINTEXT },
	DAEMON_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};
/* TCPCopy's intercept letters -n -s -D -c parse and are refused in apply()
 * with the reason (docs/deployment.md, "TCPCopy's command line"). */
static const char short_options[] = ":p:b:x:i:F:q:n:s:D:c" DAEMON_SHORT_OPTIONS;

static const char usage_text[] =
	"Usage: doppel-intercept [options]\n"
	"Swallows the target's responses and sends their headers to the copy daemons.\n"
	"\n"
	"      --source KIND       nfqueue (default) | pcap | kmod\n"
	"  -p, --port N            listen port (36524)\n"
	"  -b, --bind ADDR         listen address (default all)\n"
	"  -x, --allow LIST        peer addresses allowed to connect (default all)\n"
	"      --tls-cert FILE     TLS 1.3 with the copy daemons: our certificate (PEM), with\n"
	"      --tls-key FILE      its key (mode 0600) and\n"
	"      --tls-ca FILE       the CA that signed the copy daemons' certificates\n"
	"      --tls-psk-file FILE or TLS 1.3 with a pre-shared key: IDENTITY:HEX (mode 0600)\n"
	"      --insecure-plaintext  accept plain-text peers from anywhere (refused by default\n"
	"                          on a non-loopback address without TLS or -x)\n"
	"  -i, --device DEV        pcap: interface (default any)\n"
	"  -F, --filter EXPR       pcap: tcpdump expression (default \"tcp\")\n"
	"      --queues A[-B]      nfqueue: queue numbers (default 0)\n"
	"  -q, --queue-maxlen N    nfqueue: queue length (default 65536)\n"
	"      --queue-threads N   nfqueue: N threads read the queues (0: the event loop; default)\n"
	"      --payload-prefix N  bytes of payload to forward after the TCP header (0)\n"
	"      --route-payload N   most answer bytes a copy daemon may ask per route\n"
	"                          (256; 65535: whole packets; 0: none)\n"
	"      --match ADDR:PORT|PORT  kmod: responses to take (repeatable)\n"
	"      --local-out         kmod: hook LOCAL_OUT (running on the target)\n"
	"      --hold-unrouted D   keep responses with no route yet for D (250ms; 0: drop at once)\n"
	"  -d, --daemon            fork to the background\n"
	"  -l, --log FILE          also log to FILE\n"
	"  -P, --pidfile FILE\n"
	"      --log-level LEVEL   err|warning|notice|info|debug (default info)\n"
	"      --stats-file FILE   JSON statistics, rewritten every --stats-interval\n"
	"      --stats-interval D  (default 30s)\n"
	"      --metrics ADDR:PORT serve them for Prometheus at http://ADDR:PORT/metrics\n"
	"      --user USER         drop to USER, keeping CAP_NET_ADMIN and CAP_NET_RAW\n"
	"      --config FILE       \"long-option = value\" lines; the command line wins\n"
	"  -h, --help   -v, --version\n"
	"      --list-stats        print the statistics (key, counter|gauge, help)\n";

static void set_defaults(struct intercept_options *o)
{
	memset(o, 0, sizeof(*o));
	o->source = "nfqueue";
	o->source_cfg.queue_maxlen = INTERCEPT_DEFAULT_QUEUE_MAXLEN;
	o->server_cfg.port = WIRE_DEFAULT_PORT;
	o->server_cfg.hold_unrouted_ms = INTERCEPT_DEFAULT_HOLD_UNROUTED_MS;
	o->server_cfg.route_payload = INTERCEPT_DEFAULT_ROUTE_PAYLOAD;
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
	case OPT_QUEUE_THREADS:
		if (opt_parse_uint(value, 0, INTERCEPT_MAX_QUEUE_THREADS, &n, err, errlen) < 0)
			return -1;
		o->source_cfg.queue_threads = (uint16_t)n;
		return 0;
	case OPT_PAYLOAD_PREFIX:
		if (opt_parse_uint(value, 0, INTERCEPT_MAX_PAYLOAD_PREFIX, &n, err, errlen) < 0)
			return -1;
		o->server_cfg.payload_prefix = (uint16_t)n;
		return 0;
	case OPT_ROUTE_PAYLOAD:
		if (opt_parse_uint(value, 0, INTERCEPT_MAX_ROUTE_PAYLOAD, &n, err, errlen) < 0)
			return -1;
		o->server_cfg.route_payload = (uint16_t)n;
		return 0;
	case OPT_HOLD_UNROUTED:
		if (opt_parse_duration_ms(value, 1, &n, err, errlen) < 0)
			return -1;
		if (n > INTERCEPT_MAX_HOLD_UNROUTED_MS)
			return opt_error(err, errlen, "longer than %dms", INTERCEPT_MAX_HOLD_UNROUTED_MS);
		o->server_cfg.hold_unrouted_ms = n;
		return 0;
	}
	return opt_error(err, errlen, "unknown option");
}

/* Apply one of doppel-intercept's own options (id as in long_options;
 * see daemon_option_fn). */
static int apply(void *ctx, int id, const char *value, bool from_command_line, char *err,
		 size_t errlen)
{
	struct intercept_options *o = ctx;

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
		return daemon_flag(value, &o->source_cfg.local_out, err, errlen);
	case OPT_TLS_CERT:
	case OPT_TLS_KEY:
	case OPT_TLS_CA:
	case OPT_TLS_PSK_FILE:
		return wire_tls_paths_set(&o->tls, id - OPT_TLS_CERT, value, err, errlen);
	case OPT_INSECURE_PLAINTEXT:
		return daemon_flag(value, &o->insecure_plaintext, err, errlen);
	case 'n':
		return opt_error(err, errlen, "not needed: doppel-intercept puts as many summaries in "
				 "a batch as the copy daemon accepts (a stock tcpcopy: 16, the most its "
				 "dialect takes)");
	case 's':
		return opt_error(err, errlen, "not needed: the route table grows as routes come "
				 "(up to 16 Mi routes)");
	case 'D':
		return opt_error(err, errlen, "TCPCopy's docker address rewrite is not implemented: "
				 "have doppel-copy (-c) register the address the target answers");
	case 'c':
		return opt_error(err, errlen, "not needed: doppel-intercept never touches the "
				 "connections to its own port (its rules match only the target's "
				 "answers)");
	default:
		return apply_numeric(o, id, value, err, errlen);
	}
}

enum intercept_options_result intercept_options_parse(struct intercept_options *o,
						      int argc, char **argv,
						      char *err, size_t errlen)
{
	const struct daemon_option_table table = { long_options, short_options, apply, o };
	const struct source_ops *ops;

	set_defaults(o);
	switch (daemon_options_parse(&o->common, &table, argc, argv, err, errlen)) {
	case DAEMON_OPTIONS_RUN:
		/* The source copies what either the global prefix or a route
		 * may ask for; the server trims each summary to its route. */
		o->source_cfg.payload_prefix = server_payload_copied(&o->server_cfg);
		struct wire_tls_options tls = wire_tls_options_of(&o->tls);
		if (wire_tls_options_check(&tls, err, errlen) < 0)
			return INTERCEPT_OPTIONS_ERROR;
		/* A conflict within the source's options (kmod with -F) is a
		 * bad option too: refused now, not once the listener is open. */
		if (o->source_cfg.queue_threads && strcmp(o->source, "nfqueue") != 0) {
			snprintf(err, errlen, "--queue-threads: only the nfqueue source has "
				 "queues (this is --source %s)", o->source);
			return INTERCEPT_OPTIONS_ERROR;
		}
		ops = source_find(o->source);
		if (ops && ops->check && ops->check(&o->source_cfg, err, errlen) < 0)
			return INTERCEPT_OPTIONS_ERROR;
		return INTERCEPT_OPTIONS_RUN;
	case DAEMON_OPTIONS_HELP:
		fputs(usage_text, stdout);
		return INTERCEPT_OPTIONS_EXIT;
	case DAEMON_OPTIONS_VERSION:
		printf("doppel-intercept %s\n", DOPPEL_VERSION);
		return INTERCEPT_OPTIONS_EXIT;
	case DAEMON_OPTIONS_LIST_STATS:
		return INTERCEPT_OPTIONS_LIST_STATS;
	case DAEMON_OPTIONS_ERROR:
		break;
	}
	return INTERCEPT_OPTIONS_ERROR;
}

int intercept_options_check_channel(const struct intercept_options *o, char *err, size_t errlen)
{
	struct wire_tls_options tls = wire_tls_options_of(&o->tls);
	char where[INET6_ADDRSTRLEN + 8] = "every address";

	if (wire_tls_options_given(&tls) || o->server_cfg.allow_count > 0 ||
	    o->insecure_plaintext || dp_addr_is_loopback(&o->server_cfg.bind))
		return 0;
	if (o->server_cfg.bind.family) {
		strcpy(where, "-b ");
		dp_addr_str(&o->server_cfg.bind, where + 3, sizeof(where) - 3);
	}
	return opt_error(err, errlen, "listening on %s in plain text: any host that reaches port "
			 "%u could register routes and read the target's answers. Set up one "
			 "of: TLS 1.3 with certificates (--tls-cert FILE --tls-key FILE "
			 "--tls-ca FILE), or with a pre-shared key (--tls-psk-file FILE, one "
			 "line IDENTITY:HEX, mode 0600), the copy daemons set up the same way; "
			 "an allowlist of the copy daemons' addresses (-x ADDR[,ADDR...]), "
			 "which is also how a stock TCPCopy tcpcopy, which speaks no TLS, is "
			 "served; or --insecure-plaintext to accept anyone in plain text on "
			 "purpose (docs/deployment.md, \"The channel: TLS 1.3\")", where,
			 o->server_cfg.port);
}

void intercept_options_free(struct intercept_options *o)
{
	daemon_options_free(&o->common);
	free(o->device);
	free(o->filter);
	wire_tls_paths_free(&o->tls);
	memset(o, 0, sizeof(*o));
}
