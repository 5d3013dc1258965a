/*
 * copy_options.c — doppel-copy's own options (the shared ones and the
 * parse itself are lib/runtime/daemon_options.c): its table, one function that
 * applies a value whichever way it came, and what is derived once all are
 * read; the checks of their combinations are copy_options_check.c.
 */
#include "copy/copy_options.h"
#include "copy/copy_options_check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy/compare/compare.h"
#include "copy/engine/engine.h"
#include "lib/runtime/options.h"
#include "lib/wire/wire.h"

enum { OPT_CAPTURE = 256, OPT_OFFLINE, OPT_SPEED, OPT_REPEAT, OPT_TUNNEL, OPT_TUNNEL_SOURCE,
       OPT_MIRROR, OPT_WIRE, OPT_PROTOCOL, OPT_CREDENTIALS, OPT_PORT_SHIFT,
       OPT_TLS_CERT, OPT_TLS_KEY, OPT_TLS_CA, OPT_TLS_PSK_FILE, OPT_INSECURE_PLAINTEXT,
       OPT_PACE_QUIET, OPT_WORKERS, OPT_CAPTURE_RING, OPT_TX_RING,
       OPT_COMPARE_FIRST, OPT_COMPARE_LAST = OPT_COMPARE_FIRST + COMPARE_OPT_COUNT - 1 };

static const struct option long_options[] = {
	{ "transfer", required_argument, NULL, 'x' },
	{ "intercept", required_argument, NULL, 's' },
	{ "intercept-port", required_argument, NULL, 'p' },
	{ "intercept-conns", required_argument, NULL, 'C' },
	{ "wire", required_argument, NULL, OPT_WIRE },
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
	{ "tls-ca", required_argument, NULL, OPT_TLS_CA },
	{ "tls-psk-file", required_argument, NULL, OPT_TLS_PSK_FILE },
	{ "insecure-plaintext", no_argument, NULL, OPT_INSECURE_PLAINTEXT },
	{ "client-ip", required_argument, NULL, 'c' },
	{ "copies", required_argument, NULL, 'n' },
	{ "port-shift", required_argument, NULL, OPT_PORT_SHIFT },
	{ "instance", required_argument, NULL, 'f' },
	{ "full-sessions-only", no_argument, NULL, 'O' },
	{ "lonely", no_argument, NULL, 'L' },
	{ "percent", required_argument, NULL, 'r' },
	{ "device", required_argument, NULL, 'i' },
	{ "filter", required_argument, NULL, 'F' },
	{ "capture", required_argument, NULL, OPT_CAPTURE },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "capture-ring", required_argument, NULL, OPT_CAPTURE_RING },
	{ "offline", required_argument, NULL, OPT_OFFLINE },
	{ "speed", required_argument, NULL, OPT_SPEED },
	{ "repeat", required_argument, NULL, OPT_REPEAT },
	{ "output-device", required_argument, NULL, 'o' },
	{ "tx-ring", required_argument, NULL, OPT_TX_RING },
	{ "tunnel", required_argument, NULL, OPT_TUNNEL },
	{ "tunnel-source", required_argument, NULL, OPT_TUNNEL_SOURCE },
	{ "mirror", required_argument, NULL, OPT_MIRROR },
	{ "session-timeout", required_argument, NULL, 't' },
	{ "keepalive-timeout", required_argument, NULL, 'k' },
	{ "memory", required_argument, NULL, 'm' },
	{ "mtu", required_argument, NULL, 'M' },
	{ "mss", required_argument, NULL, 'D' },
	{ "no-wait", no_argument, NULL, 'W' },
	{ "pace-quiet", required_argument, NULL, OPT_PACE_QUIET },
	{ "protocol", required_argument, NULL, OPT_PROTOCOL },
	{ "credentials", required_argument, NULL, OPT_CREDENTIALS },
	{ "compare", required_argument, NULL, OPT_COMPARE_FIRST + COMPARE_OPT_SPEC },
	{ "compare-log", required_argument, NULL, OPT_COMPARE_FIRST + COMPARE_OPT_LOG },
	{ "compare-log-size", required_argument, NULL, OPT_COMPARE_FIRST + COMPARE_OPT_LOG_SIZE },
	{ "compare-log-rate", required_argument, NULL, OPT_COMPARE_FIRST + COMPARE_OPT_LOG_RATE },
	{ "compare-head", required_argument, NULL, OPT_COMPARE_FIRST + COMPARE_OPT_HEAD },
	{ "compare-volatile", required_argument, NULL, OPT_COMPARE_FIRST + COMPARE_OPT_VOLATILE },
	{ "compare-sessions", required_argument, NULL, OPT_COMPARE_FIRST + COMPARE_OPT_SESSIONS },
	{ "compare-slower", required_argument, NULL, OPT_COMPARE_FIRST + COMPARE_OPT_SLOWER },
	DAEMON_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

/* TCPCopy's letters all parse: those doppel does not implement are refused
 * in apply() with the reason and what to use instead (docs/deployment.md,
 * "TCPCopy's command line"). */
static const char short_options[] =
	":x:s:p:C:c:n:f:r:i:F:o:t:k:m:M:D:WOLga:I:T:H:R:U:B:S:" DAEMON_SHORT_OPTIONS;

static const char usage_text[] =
	"usage: doppel-copy -x [srcIP:]port-dstIP:dport[,...] -s host[:port][,...] [options]\n"
	"  -x, --transfer LIST       what to capture and where to replay it; link-layer form\n"
	"                            port@srcmac-dstIP:dport@nexthopmac for -o\n"
	"  -s, --intercept LIST      intercepts to connect to: ADDR[:PORT][=WHAT[+WHAT..]],\n"
	"                            WHAT a target ADDR[:PORT] or a client range ADDR/LEN\n"
	"                            it serves (default: every session)\n"
	"  -p, --intercept-port N    their default port (36524)\n"
	"  -C, --intercept-conns N   connections per intercept, sessions spread over them\n"
	"      --wire DIALECT        doppel (default) | tcpcopy1: stock TCPCopy 1.0 intercepts\n"
	"      --tls-cert FILE       TLS 1.3 to the intercepts: our certificate (PEM), with\n"
	"      --tls-key FILE        its key (mode 0600) and\n"
	"      --tls-ca FILE         the CA that signed the intercepts' certificates\n"
	"      --tls-psk-file FILE   or TLS 1.3 with a pre-shared key: IDENTITY:HEX (mode 0600)\n"
	"      --insecure-plaintext  allow a plain-text channel to a non-loopback intercept\n"
	"                            (refused by default; needed for --wire tcpcopy1)\n"
	"  -c, --client-ip LIST      rewrite client addresses: a.b.c.d, a.b.c.x, a.b.c.d-e\n"
	"  -n, --copies N            replay each session N times (1)\n"
	"  -f, --instance N          TCPCopy's -f: every client port + N*2048 (0..1023), so that\n"
	"                            several instances on one client address do not collide\n"
	"      --port-shift N        copy i (-n) uses client port + i*N (2048)\n"
	"  -O, --full-sessions-only  replay only sessions whose SYN was captured\n"
	"  -L, --lonely              accepted (TCPCopy's): doppel-copy always outlives its\n"
	"                            intercepts and reconnects\n"
	"  -r, --percent N           replay N% of sessions (100)\n"
	"  -i, --device DEV          capture interface (all)\n"
	"  -F, --filter EXPR         tcpdump expression instead of the one built from -x\n"
	"      --capture KIND        afpacket (default) | pcap\n"
	"      --capture-ring SIZE   the capture's kernel ring, fixed (4m..1g; default:\n"
	"                            sized to the traffic, 8m..64m)\n"
	"      --mirror LIST         capture a traffic mirror: take the packets out of\n"
	"                            vxlan[:PORT], geneve[:PORT], gre (and ERSPAN) or all;\n"
	"                            -x/-F then filter the mirrored packets\n"
	"      --offline FILE        replay a pcap file instead of capturing\n"
	"      --speed F             offline speed factor (1; 0 = as fast as possible)\n"
	"      --repeat N            offline repeat count (1)\n"
	"  -a N, -T N                TCPCopy's offline -a (speed) and -T (repeat)\n"
	"  -o, --output-device DEV   send with AF_PACKET on DEV (needs the @mac form of -x)\n"
	"      --tx-ring yes|no      -o: write frames into a PACKET_TX_RING (yes; no: sendmmsg)\n"
	"      --tunnel KIND         send each packet to its target inside a tunnel, the\n"
	"                            host's own address outside: vxlan[:VNI[:PORT]][@MAC],\n"
	"                            ipip, gre or fou:PORT (the target decapsulates)\n"
	"      --tunnel-source LIST  the tunnel's outer source, one address per family\n"
	"                            (default: the route's; -o: the route to the target's)\n"
	"  -t, --session-timeout D   give up silent sessions (120s)\n"
	"  -k, --keepalive-timeout D give up sessions whose client is silent (0 = never)\n"
	"  -m, --memory SIZE         cap on sessions + buffered data (512m; a bare number: MB)\n"
	"      --workers N           replay with N processes, the capture spread by flow (1)\n"
	"  -M, --mtu N               MTU of the path to the target (1500)\n"
	"  -D, --mss N               MSS clamp\n"
	"  -W, --no-wait             send requests at once, no pacing by answers\n"
	"      --pace-quiet D[,N]    a target's answer that differs from the online one has\n"
	"                            ended after no new byte for N smoothed round trips, at\n"
	"                            least D (200ms,8)\n"
	"      --protocol PORT=NAME[:pooled][,...]  replay the logins of sessions to\n"
	"                            target PORT: NAME postgres or mysql; :pooled opens\n"
	"                            sessions whose login was not captured with doppel's\n"
	"                            own (docs/stateful.md)\n"
	"      --credentials FILE    \"PROTOCOL USER PASSWORD\" lines, mode 0600\n"
	"      --compare SPEC        compare the target's answers with the online server's:\n"
	"                            PROTO (raw|http|redis|postgres|mysql) or PORT=PROTO,...\n"
	"      --compare-log FILE    JSON lines, one per request answered differently\n"
	"      --compare-log-size S  rotate it past S (64m)   --compare-log-rate N lines/s (100)\n"
	"      --compare-head N      first answer bytes kept (256)\n"
	"      --compare-volatile L  HTTP headers not compared (Date,Server,ETag,...)\n"
	"      --compare-sessions N  sessions compared at once (10000)\n"
	"      --compare-slower MS   log requests the target answered MS ms and twice\n"
	"                            later than online (10; 0 = off)\n"
	"  -d, --daemon              fork to the background\n"
	"  -l, --log FILE            also log to FILE\n"
	"  -P, --pidfile FILE\n"
	"      --log-level LEVEL     err|warning|notice|info|debug (info)\n"
	"      --stats-file FILE     JSON statistics\n"
	"      --stats-interval D    how often to log and write them (30s)\n"
	"      --metrics ADDR:PORT   serve them for Prometheus at http://ADDR:PORT/metrics\n"
	"      --user USER           drop to USER, keeping CAP_NET_RAW and CAP_NET_ADMIN\n"
	"      --config FILE         long option names as keys: \"key = value\"\n"
	"  -h, --help                -v, --version\n"
	"      --list-stats          print the statistics (key, counter|gauge, help)\n";

const char *copy_options_usage(void)
{
	return usage_text;
}

static void set_defaults(struct copy_options *o)
{
	struct engine_config engine;

	memset(o, 0, sizeof(*o));
	o->intercept_port = WIRE_DEFAULT_PORT;
	o->intercept_conns = 1;
	o->copies = 1;
	o->workers = 1;
	o->port_shift = 2048;
	o->percent = 100;
	o->capture_kind = CAPTURE_AFPACKET;
	o->speed = 1.0;
	o->repeat = 1;
	o->session_timeout_ms = 120 * 1000;
	o->keepalive_timeout_ms = 0;
	o->memory_bytes = (uint64_t)512 << 20;
	o->mtu = 1500;
	engine_config_defaults(&engine);
	o->pace_quiet_ms = engine.pace_quiet_min_ms;
	o->pace_quiet_rtts = engine.pace_quiet_rtts;
	compare_options_defaults(&o->compare);
}

void copy_options_free(struct copy_options *o)
{
	char **strings[] = {
		&o->device, &o->filter, &o->offline_file, &o->output_device, &o->intercept_list,
		&o->credentials_file,
	};

	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		free(*strings[i]);
		*strings[i] = NULL;
	}
	free(o->client_addrs);
	o->client_addrs = NULL;
	compare_options_free(&o->compare);
	wire_tls_paths_free(&o->tls);
	o->client_addr_count = 0;
	daemon_options_free(&o->common);
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

/* One address, or an IPv4 and an IPv6 one separated by a comma. */
static int parse_tunnel_source(struct copy_options *o, const char *value, char *err,
			       size_t errlen)
{
	char buf[2 * INET6_ADDRSTRLEN + 2];
	char *next, *item = buf;

	if (strlen(value) >= sizeof(buf))
		return opt_error(err, errlen, "'%s' is too long (one address per family)", value);
	snprintf(buf, sizeof(buf), "%s", value);
	memset(&o->tunnel_src4, 0, sizeof(o->tunnel_src4));
	memset(&o->tunnel_src6, 0, sizeof(o->tunnel_src6));
	for (; item; item = next) {
		struct dp_addr a;
		struct dp_addr *slot;

		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		if (dp_addr_parse(item, &a) < 0)
			return opt_error(err, errlen, "'%s' is not an IPv4 or IPv6 address", item);
		slot = a.family == AF_INET ? &o->tunnel_src4 : &o->tunnel_src6;
		if (slot->family)
			return opt_error(err, errlen, "'%s': two addresses of one family", value);
		*slot = a;
	}
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

/* --pace-quiet D[,N]: the quiet period's floor (a duration, bare number:
 * milliseconds) and, optionally, how many smoothed round trips it lasts. */
static int parse_pace_quiet(struct copy_options *o, const char *value, char *err, size_t errlen)
{
	char buf[64];
	char *rtts;
	uint64_t ms;
	unsigned n = o->pace_quiet_rtts;

	if (strlen(value) >= sizeof(buf))
		return opt_error(err, errlen, "'%s' is too long (a duration, then maybe ,N)", value);
	snprintf(buf, sizeof(buf), "%s", value);
	rtts = strchr(buf, ',');
	if (rtts) {
		*rtts++ = '\0';
		if (parse_unsigned(rtts, 1, 1000, &n, err, errlen) < 0)
			return -1;
	}
	if (opt_parse_duration_ms(buf, 1, &ms, err, errlen) < 0)
		return -1;
	if (ms < 10 || ms > 60000)
		return opt_error(err, errlen, "'%s' is out of range 10ms..60s", buf);
	o->pace_quiet_ms = (unsigned)ms;
	o->pace_quiet_rtts = n;
	return 0;
}

/* TCPCopy's options that doppel does not take, each with the reason and
 * what doppel does instead. */
static int refuse_tcpcopy_option(int id, char *err, size_t errlen)
{
	switch (id) {
	case 'g':
		return opt_error(err, errlen, "TCPCopy's gradual replay is not implemented: doppel "
				 "replays -r N percent of sessions from the start; raise -r between runs");
	case 'I':
		return opt_error(err, errlen, "TCPCopy's offline gap threshold is not implemented: "
				 "doppel keeps the file's timing scaled by --speed (or -a); --speed 0 "
				 "replays as fast as possible");
	case 'H':
		return opt_error(err, errlen, "TCPCopy's loopback client rewrite is not implemented: "
				 "-c ADDR rewrites every client address");
	case 'R':
		return opt_error(err, errlen, "not needed: doppel's retransmission timer starts at 1 s "
				 "and follows the target's measured round trip; there is no default RTT "
				 "to set");
	case 'U':
		return opt_error(err, errlen, "not needed: doppel allocates sessions as they come, "
				 "within the -m memory cap");
	case 'B':
		return opt_error(err, errlen, "use --capture-ring SIZE: the capture's kernel ring "
				 "(64m by default)");
	default:	/* 'S' */
		return opt_error(err, errlen, "not implemented: doppel captures whole packets (it "
				 "replays their payload)");
	}
}

/* Apply one of doppel-copy's own options (id: the short letter or OPT_*;
 * see daemon_option_fn). */
static int apply(void *ctx, int id, const char *value, bool from_command_line, char *err,
		 size_t errlen)
{
	struct copy_options *o = ctx;
	uint64_t size;

	switch (id) {
	case 'x':
		return copy_parse_transfers(value, o->transfers, COPY_MAX_TRANSFERS,
					    &o->transfer_count, err, errlen);
	case 's': return daemon_set_string(&o->intercept_list, value, err, errlen);
	case 'p': return opt_parse_port(value, &o->intercept_port, err, errlen);
	case 'C': return parse_unsigned(value, 1, 64, &o->intercept_conns, err, errlen);
	case OPT_WIRE:
		if (strcmp(value, "doppel") != 0 && strcmp(value, "tcpcopy1") != 0)
			return opt_error(err, errlen, "'%s' is neither doppel nor tcpcopy1 "
					 "(TCPCopy 1.0's dialect, for stock intercepts)", value);
		o->wire_tcpcopy1 = strcmp(value, "tcpcopy1") == 0;
		return 0;
	case 'c': return parse_client_list(o, value, err, errlen);
	case 'n': return parse_unsigned(value, 1, COPY_MAX_COPIES, &o->copies, err, errlen);
	case OPT_PORT_SHIFT: return parse_u16(value, 1, 65535, &o->port_shift, err, errlen);
	case 'f': return parse_u16(value, 0, 1023, &o->instance, err, errlen);
	case 'O': return daemon_flag(value, &o->full_sessions_only, err, errlen);
	case 'L': return daemon_flag(value, &o->lonely, err, errlen);
	case 'a':
		o->offline_timing_given = true;
		return parse_unsigned(value, 1, 1000000, &o->accelerate, err, errlen);
	case 'T':
		o->offline_timing_given = true;
		return parse_unsigned(value, 1, 1000000, &o->repeat, err, errlen);
	case 'g': case 'I': case 'H': case 'R': case 'U': case 'B': case 'S':
		return refuse_tcpcopy_option(id, err, errlen);
	case 'r': return parse_unsigned(value, 1, 100, &o->percent, err, errlen);
	case 'i': return daemon_set_string(&o->device, value, err, errlen);
	case 'F': return daemon_set_string(&o->filter, value, err, errlen);
	case OPT_CAPTURE: return parse_capture_kind(value, &o->capture_kind, err, errlen);
	case OPT_WORKERS: return parse_unsigned(value, 1, COPY_MAX_WORKERS, &o->workers, err, errlen);
	case OPT_OFFLINE: return daemon_set_string(&o->offline_file, value, err, errlen);
	case OPT_SPEED: return parse_speed(value, &o->speed, err, errlen);
	case OPT_REPEAT: return parse_unsigned(value, 1, 1000000, &o->repeat, err, errlen);
	case 'o': return daemon_set_string(&o->output_device, value, err, errlen);
	case OPT_TX_RING: {
		bool ring;

		if (opt_parse_bool(value, &ring, err, errlen) < 0)
			return -1;
		o->no_tx_ring = !ring;
		return 0;
	}
	case OPT_TUNNEL:
		if (strcmp(value, "none") == 0) {
			memset(&o->tunnel, 0, sizeof(o->tunnel));
			return 0;
		}
		return encap_parse(value, &o->tunnel, err, errlen);
	case OPT_TUNNEL_SOURCE: return parse_tunnel_source(o, value, err, errlen);
	case OPT_MIRROR:
		if (strcmp(value, "none") == 0) {
			memset(&o->mirror, 0, sizeof(o->mirror));
			o->has_mirror = false;
			return 0;
		}
		o->has_mirror = true;
		return decap_parse_config(value, &o->mirror, err, errlen);
	case 't': return opt_parse_timeout_ms(value, 1000, &o->session_timeout_ms, err, errlen);
	case 'k': return opt_parse_timeout_ms(value, 0, &o->keepalive_timeout_ms, err, errlen);
	case 'm':
		/* TCPCopy's -m is in megabytes: a bare number is MB here too. */
		if (value[0] && strspn(value, "0123456789") == strlen(value)) {
			char mb[32];

			if (strlen(value) > 12)
				return opt_error(err, errlen, "'%s' is out of range 1..1048576 (MB)",
						 value);
			snprintf(mb, sizeof(mb), "%sm", value);
			if (opt_parse_size(mb, &size, err, errlen) < 0)
				return -1;
		} else if (opt_parse_size(value, &size, err, errlen) < 0) {
			return -1;
		}
		if (size < (1u << 20) || size > ((uint64_t)1 << 40))
			return opt_error(err, errlen, "'%s' is out of range 1m..1024g", value);
		o->memory_bytes = size;
		return 0;
	case 'M': return parse_u16(value, 576, 65535, &o->mtu, err, errlen);
	case 'D': return parse_u16(value, 64, 65495, &o->mss, err, errlen);
	case 'W': return daemon_flag(value, &o->no_wait, err, errlen);
	case OPT_PACE_QUIET: return parse_pace_quiet(o, value, err, errlen);
	case OPT_CAPTURE_RING:
		/* Kernel memory mapped into the daemon (its RSS): sized to the
		 * stall it must ride out at the host's packet rate. */
		if (opt_parse_size(value, &size, err, errlen) < 0)
			return -1;
		if (size < CAPTURE_RING_BYTES_MIN || size > CAPTURE_RING_BYTES_MAX)
			return opt_error(err, errlen, "'%s' is out of range 4m..1g", value);
		o->capture_ring_bytes = (uint32_t)size;
		return 0;
	case OPT_PROTOCOL:
		return copy_parse_protocols(value, o->protocols, ENGINE_MAX_AUTH_PORTS,
					    &o->protocol_count, err, errlen);
	case OPT_CREDENTIALS: return daemon_set_string(&o->credentials_file, value, err, errlen);
	case OPT_TLS_CERT:
	case OPT_TLS_KEY:
	case OPT_TLS_CA:
	case OPT_TLS_PSK_FILE:
		return wire_tls_paths_set(&o->tls, id - OPT_TLS_CERT, value, err, errlen);
	case OPT_INSECURE_PLAINTEXT:
		return daemon_flag(value, &o->insecure_plaintext, err, errlen);
	default:
		if (id >= OPT_COMPARE_FIRST && id <= OPT_COMPARE_LAST)
			return compare_option_apply(&o->compare, (enum compare_option)(id - OPT_COMPARE_FIRST),
						    value, err, errlen);
		return opt_error(err, errlen, "not handled");
	}
}

static int finish(struct copy_options *o, char *err, size_t errlen)
{
	char why[256];

	if (copy_options_check_transfers(o, err, errlen) < 0 || copy_options_check_protocols(o, err, errlen) < 0)
		return -1;
	if (!o->intercept_list)
		return opt_error(err, errlen, "-s is required (the intercepts to connect to)");
	if (copy_parse_intercepts(o->intercept_list, o->intercept_port, o->intercepts,
				  COPY_MAX_INTERCEPTS, &o->intercept_count, why, sizeof(why)) < 0)
		return opt_error(err, errlen, "-s '%s': %s", o->intercept_list, why);
	if (copy_options_check_served(o, err, errlen) < 0)
		return -1;
	struct wire_tls_options tls = wire_tls_options_of(&o->tls);
	if (wire_tls_options_check(&tls, err, errlen) < 0)
		return -1;
	if (o->wire_tcpcopy1 && wire_tls_options_given(&tls))
		return opt_error(err, errlen, "--tls-* with --wire tcpcopy1: a stock TCPCopy "
				 "intercept speaks no TLS");
	if (o->offline_file)
		o->capture_kind = CAPTURE_OFFLINE;
	if (o->offline_timing_given && !o->offline_file)
		return opt_error(err, errlen, "-a and -T are TCPCopy's offline options: give "
				 "--offline FILE (TCPCopy's offline -i FILE)");
	if (o->accelerate)
		o->speed = o->accelerate;
	if (copy_options_check_compare(o, err, errlen) < 0 || copy_options_check_workers(o, err, errlen) < 0)
		return -1;
	/* Copy i's port is (port - 1 + i * shift) mod 65535 + 1: two copies
	 * collide when their distance times the shift is a multiple of 65535. */
	for (unsigned distance = 1; distance < o->copies; distance++)
		if ((uint64_t)distance * o->port_shift % 65535 == 0)
			return opt_error(err, errlen, "--port-shift %u: copies %u apart would "
					 "share the client port", o->port_shift, distance);
	return 0;
}

enum copy_options_result copy_options_parse(struct copy_options *o, int argc, char **argv,
					    char *err, size_t errlen)
{
	const struct daemon_option_table table = { long_options, short_options, apply, o };

	set_defaults(o);
	switch (daemon_options_parse(&o->common, &table, argc, argv, err, errlen)) {
	case DAEMON_OPTIONS_RUN:
		break;
	case DAEMON_OPTIONS_HELP:
		return COPY_OPTIONS_HELP;
	case DAEMON_OPTIONS_VERSION:
		return COPY_OPTIONS_VERSION;
	case DAEMON_OPTIONS_LIST_STATS:
		return COPY_OPTIONS_LIST_STATS;
	case DAEMON_OPTIONS_ERROR:
		return COPY_OPTIONS_ERROR;
	}
	if (finish(o, err, errlen) < 0)
		return COPY_OPTIONS_ERROR;
	return COPY_OPTIONS_RUN;
}
