/*
 * test_copy_options.c — doppel-copy's command line and config file: every
 * option accepted in its forms and refused with a message naming it; -x in
 * its plain and link-layer forms; -c lists and ranges; -s against -p;
 * config keys, flags, errors with FILE:LINE, and the command line winning.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "copy/copy_options.h"

static char err[1024];

#define MAX_ARGS 64

/* Parse "doppel-copy" + the NULL-terminated arguments. */
static enum copy_options_result parse_args(struct copy_options *o, const char *first, ...)
{
	char *argv[MAX_ARGS + 2];
	int argc = 0;
	va_list ap;
	const char *a;

	argv[argc++] = (char *)"doppel-copy";
	va_start(ap, first);
	for (a = first; a && argc <= MAX_ARGS; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	return copy_options_parse(o, argc, argv, err, sizeof(err));
}

#define BASE "-x", "80-198.18.0.3:8080", "-s", "198.18.0.4"

/* The arguments must be refused with exactly this message. */
#define assert_refused(message, ...)                                          \
	do {                                                                  \
		struct copy_options o_;                                       \
		assert_int_equal(parse_args(&o_, __VA_ARGS__, NULL),          \
				 COPY_OPTIONS_ERROR);                         \
		assert_string_equal(err, (message));                          \
		copy_options_free(&o_);                                       \
	} while (0)

static void assert_addr(const struct dp_addr *a, const char *text)
{
	char buf[INET6_ADDRSTRLEN];

	assert_string_equal(dp_addr_str(a, buf, sizeof(buf)), text);
}

static void test_defaults(void **state)
{
	struct copy_options o;

	assert_int_equal(parse_args(&o, BASE, NULL), COPY_OPTIONS_RUN);
	assert_int_equal(o.transfer_count, 1);
	assert_false(o.transfers[0].has_online_addr);
	assert_int_equal(o.transfers[0].online_port, 80);
	assert_addr(&o.transfers[0].target_addr, "198.18.0.3");
	assert_int_equal(o.transfers[0].target_port, 8080);
	assert_int_equal(o.intercept_count, 1);
	assert_addr(&o.intercepts[0].addr, "198.18.0.4");
	assert_int_equal(o.intercepts[0].port, 36524);
	assert_int_equal(o.intercept_conns, 1);
	assert_null(o.client_addrs);
	assert_int_equal(o.copies, 1);
	assert_int_equal(o.port_shift, 2048);
	assert_int_equal(o.percent, 100);
	assert_null(o.device);
	assert_null(o.filter);
	assert_int_equal(o.capture_kind, CAPTURE_AFPACKET);
	assert_true(o.speed == 1.0);
	assert_int_equal(o.repeat, 1);
	assert_null(o.output_device);
	assert_int_equal(o.session_timeout_ms, 120000);
	assert_int_equal(o.keepalive_timeout_ms, 0);
	assert_int_equal(o.memory_bytes, 512u << 20);
	assert_int_equal(o.mtu, 1500);
	assert_int_equal(o.mss, 0);
	assert_false(o.no_wait);
	assert_int_equal(o.pace_quiet_ms, 200);
	assert_int_equal(o.pace_quiet_rtts, 8);
	assert_false(o.common.daemonize);
	assert_int_equal(o.common.log_level, LOG_LEVEL_INFO);
	assert_int_equal(o.common.stats_interval_ms, 30000);
	assert_null(o.common.stats_file);
	assert_null(o.common.user);
	copy_options_free(&o);
}

static void test_every_option_short(void **state)
{
	struct copy_options o;

	assert_int_equal(parse_args(&o, "-x", "198.18.0.2:80-198.18.0.3:8080,6379-198.18.0.3:6380",
				    "-s", "198.18.0.4,198.18.0.5:4000", "-p", "5000", "-C", "2",
				    "-c", "198.19.200.1", "-n", "3", "-f", "100", "-r", "50",
				    "-i", "eth1", "-F", "tcp port 80", "-o", "eth2",
				    "-t", "30", "-k", "2m", "-m", "64m", "-M", "9000", "-D", "1400",
				    "-W", "-d", "-l", "/tmp/x.log", "-P", "/tmp/x.pid", NULL),
			 COPY_OPTIONS_ERROR);
	/* -o needs the @mac form: the same line with it passes. */
	assert_string_equal(err, "-o needs the link-layer form of -x "
			    "(port@srcmac-dstIP:dport@nexthopmac) for every transfer");
	copy_options_free(&o);

	assert_int_equal(parse_args(&o, "-x", "198.18.0.2:80-198.18.0.3:8080@02:00:00:00:00:03,"
				    "6379-198.18.0.3:6380@02:00:00:00:00:03",
				    "-s", "198.18.0.4,198.18.0.5:4000", "-p", "5000", "-C", "2",
				    "-c", "198.19.200.1", "-n", "3", "-f", "100", "-r", "50",
				    "-i", "eth1", "-F", "tcp port 80", "-o", "eth2",
				    "-t", "30", "-k", "2m", "-m", "64m", "-M", "9000", "-D", "1400",
				    "-W", "-O", "-L", "-d", "-l", "/tmp/x.log", "-P", "/tmp/x.pid", NULL),
			 COPY_OPTIONS_RUN);
	assert_int_equal(o.transfer_count, 2);
	assert_true(o.transfers[0].has_online_addr);
	assert_addr(&o.transfers[0].online_addr, "198.18.0.2");
	assert_int_equal(o.transfers[1].online_port, 6379);
	assert_int_equal(o.transfers[1].target_port, 6380);
	assert_int_equal(o.intercept_count, 2);
	assert_int_equal(o.intercepts[0].port, 5000);	/* from -p, given after -s */
	assert_int_equal(o.intercepts[1].port, 4000);
	assert_int_equal(o.intercept_conns, 2);
	assert_int_equal(o.client_addr_count, 1);
	assert_int_equal(o.copies, 3);
	assert_int_equal(o.instance, 100);	/* TCPCopy's -f */
	assert_int_equal(o.port_shift, 2048);
	assert_true(o.full_sessions_only);
	assert_true(o.lonely);
	assert_int_equal(o.percent, 50);
	assert_string_equal(o.device, "eth1");
	assert_string_equal(o.filter, "tcp port 80");
	assert_string_equal(o.output_device, "eth2");
	assert_int_equal(o.session_timeout_ms, 30000);
	assert_int_equal(o.keepalive_timeout_ms, 120000);
	assert_int_equal(o.memory_bytes, 64u << 20);
	assert_int_equal(o.mtu, 9000);
	assert_int_equal(o.mss, 1400);
	assert_true(o.no_wait);
	assert_true(o.common.daemonize);
	assert_string_equal(o.common.log_file, "/tmp/x.log");
	assert_string_equal(o.common.pid_file, "/tmp/x.pid");
	copy_options_free(&o);
}

static void test_every_option_long(void **state)
{
	struct copy_options o;

	assert_int_equal(parse_args(&o, "--transfer", "80-198.18.0.3:80", "--intercept",
				    "198.18.0.4", "--intercept-port=7000", "--intercept-conns", "1",
				    "--client-ip", "198.19.200.x", "--copies", "2", "--port-shift", "7",
				    "--percent", "1", "--device", "any", "--filter", "tcp",
				    "--capture", "pcap", "--offline", "/tmp/f.pcap", "--speed", "2.5",
				    "--repeat", "4", "--session-timeout", "500ms",
				    "--keepalive-timeout", "1h", "--memory", "1g", "--mtu", "576",
				    "--mss", "536", "--no-wait", "--daemon", "--log", "l",
				    "--pidfile", "p", "--log-level", "debug", "--stats-file", "s.json",
				    "--stats-interval", "5s", "--user", "nobody", NULL),
			 COPY_OPTIONS_ERROR);
	/* -t is at least a second. */
	assert_string_equal(err, "-t '500ms': '500ms' is out of range 1000ms..365 days");
	copy_options_free(&o);

	assert_int_equal(parse_args(&o, "--transfer", "80-198.18.0.3:80", "--intercept",
				    "198.18.0.4", "--intercept-port=7000", "--client-ip",
				    "198.19.200.x", "--copies", "2", "--port-shift", "7",
				    "--percent", "1", "--capture", "pcap", "--offline", "/tmp/f.pcap",
				    "--speed", "2.5", "--repeat", "4", "--session-timeout", "90s",
				    "--keepalive-timeout", "1h", "--memory", "1g", "--mtu", "576",
				    "--mss", "536", "--no-wait", "--log-level", "debug",
				    "--stats-file", "s.json", "--stats-interval", "5s",
				    "--user", "nobody", NULL),
			 COPY_OPTIONS_RUN);
	assert_int_equal(o.intercepts[0].port, 7000);
	assert_int_equal(o.client_addr_count, 254);
	assert_int_equal(o.copies, 2);
	assert_int_equal(o.port_shift, 7);
	assert_int_equal(o.percent, 1);
	/* --offline wins over --capture. */
	assert_int_equal(o.capture_kind, CAPTURE_OFFLINE);
	assert_string_equal(o.offline_file, "/tmp/f.pcap");
	assert_true(o.speed == 2.5);
	assert_int_equal(o.repeat, 4);
	assert_int_equal(o.session_timeout_ms, 90000);
	assert_int_equal(o.keepalive_timeout_ms, 3600000);
	assert_int_equal(o.memory_bytes, 1u << 30);
	assert_int_equal(o.mtu, 576);
	assert_int_equal(o.mss, 536);
	assert_int_equal(o.common.log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(o.common.stats_file, "s.json");
	assert_int_equal(o.common.stats_interval_ms, 5000);
	assert_string_equal(o.common.user, "nobody");
	copy_options_free(&o);
}

static void test_help_version(void **state)
{
	struct copy_options o;

	assert_int_equal(parse_args(&o, "-h", NULL), COPY_OPTIONS_HELP);
	copy_options_free(&o);
	/* -h needs nothing else, even with a bad option after it. */
	assert_int_equal(parse_args(&o, "--help", "-x", "junk", NULL), COPY_OPTIONS_HELP);
	copy_options_free(&o);
	assert_int_equal(parse_args(&o, "-v", NULL), COPY_OPTIONS_VERSION);
	copy_options_free(&o);
	assert_int_equal(parse_args(&o, "--version", NULL), COPY_OPTIONS_VERSION);
	copy_options_free(&o);
	assert_non_null(strstr(copy_options_usage(), "--transfer"));
}

static void test_command_line_errors(void **state)
{
	assert_refused("-x is required (what to capture and where to replay it)",
		       "-s", "198.18.0.4");
	assert_refused("-s is required (the intercepts to connect to)", "-x", "80-198.18.0.3:80");
	assert_refused("unknown option '-Z' (see --help)", BASE, "-Z");
	assert_refused("unknown option '--bogus' (see --help)", BASE, "--bogus");
	assert_refused("-x needs a value", "-x");
	assert_refused("--speed needs a value", BASE, "--speed");
	assert_refused("unexpected argument 'extra'", BASE, "extra");
	assert_refused("--config 'nonexistent-doppel.conf': No such file or directory", BASE,
		       "--config", "nonexistent-doppel.conf");
}

static void test_value_errors(void **state)
{
	assert_refused("-p '0': 0 is out of range 1..65535", BASE, "-p", "0");
	assert_refused("-C '0': 0 is out of range 1..64", BASE, "-C", "0");
	assert_refused("-n '0': 0 is out of range 1..1000", BASE, "-n", "0");
	assert_refused("-n 'two': 'two' is not a number", BASE, "-n", "two");
	assert_refused("-f '1024': 1024 is out of range 0..1023", BASE, "-f", "1024");
	assert_refused("--port-shift '0': 0 is out of range 1..65535", BASE, "--port-shift", "0");
	assert_refused("-r '101': 101 is out of range 1..100", BASE, "-r", "101");
	assert_refused("-r '0': 0 is out of range 1..100", BASE, "-r", "0");
	assert_refused("-i '': empty value", BASE, "-i", "");
	assert_refused("--capture 'kmod': 'kmod' is not a capture kind (afpacket or pcap)",
		       BASE, "--capture", "kmod");
	assert_refused("--speed '-1': '-1' is not a number (a factor like 1, 2.5 or 0)",
		       BASE, "--speed", "-1");
	assert_refused("--speed 'nan': 'nan' is not a number (a factor like 1, 2.5 or 0)",
		       BASE, "--speed", "nan");
	assert_refused("--speed '1e9': 1e9 is out of range 0..1000000", BASE, "--speed", "1e9");
	assert_refused("--repeat '0': 0 is out of range 1..1000000", BASE, "--repeat", "0");
	assert_refused("-t '2 s': unknown unit ' s' in '2 s'", BASE, "-t", "2 s");
	assert_refused("-k '1d': unknown unit 'd' in '1d'", BASE, "-k", "1d");
	assert_refused("-m '100k': '100k' is out of range 1m..1024g", BASE, "-m", "100k");
	assert_refused("-m 'lots': 'lots' is not a number", BASE, "-m", "lots");
	assert_refused("-M '100': 100 is out of range 576..65535", BASE, "-M", "100");
	assert_refused("-D '65496': 65496 is out of range 64..65495", BASE, "-D", "65496");
	assert_refused("--log-level 'verbose': 'verbose' is not a log level "
		       "(err, warning, notice, info, debug)", BASE, "--log-level", "verbose");
	assert_refused("--stats-interval '0': '0' is out of range 1000ms..365 days",
		       BASE, "--stats-interval", "0");
	assert_refused("--port-shift 65535: copies 1 apart would share the client port",
		       BASE, "-n", "2", "--port-shift", "65535");
}

static void test_tunnel(void **state)
{
	struct copy_options o;

	assert_int_equal(parse_args(&o, BASE, NULL), COPY_OPTIONS_RUN);
	assert_int_equal(o.tunnel.kind, ENCAP_NONE);
	copy_options_free(&o);
	assert_int_equal(parse_args(&o, BASE, "--tunnel", "vxlan:42:8472", "--tunnel-source",
				    "198.18.0.9,2001:2::9", NULL), COPY_OPTIONS_RUN);
	assert_int_equal(o.tunnel.kind, ENCAP_VXLAN);
	assert_int_equal(o.tunnel.vni, 42);
	assert_int_equal(o.tunnel.port, 8472);
	assert_addr(&o.tunnel_src4, "198.18.0.9");
	assert_addr(&o.tunnel_src6, "2001:2::9");
	copy_options_free(&o);
	assert_int_equal(parse_args(&o, BASE, "--tunnel", "gre", "--tunnel", "none", NULL),
			 COPY_OPTIONS_RUN);
	assert_int_equal(o.tunnel.kind, ENCAP_NONE);
	copy_options_free(&o);
	assert_refused("--tunnel 'vpn': 'vpn' is not a tunnel (vxlan[:VNI[:PORT]][@MAC], ipip, "
		       "gre or fou:PORT)", BASE, "--tunnel", "vpn");
	assert_refused("--tunnel 'fou:0': the fou port must be 1..65535", BASE,
		       "--tunnel", "fou:0");
	assert_refused("--tunnel-source 'here': 'here' is not an IPv4 or IPv6 address", BASE,
		       "--tunnel-source", "here");
	assert_refused("--tunnel-source '198.18.0.1,198.18.0.2': '198.18.0.1,198.18.0.2': two "
		       "addresses of one family", BASE, "--tunnel-source", "198.18.0.1,198.18.0.2");
}

static void test_transfer_forms(void **state)
{
	struct copy_transfer t[4];
	size_t n = 0;

	assert_int_equal(copy_parse_transfers("[2001:db8::1]:80-[2001:db8::2]:8080", t, 4, &n,
					      err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_true(t[0].has_online_addr);
	assert_addr(&t[0].online_addr, "2001:db8::1");
	assert_addr(&t[0].target_addr, "2001:db8::2");
	assert_int_equal(t[0].target_port, 8080);

	/* TCPCopy's link-layer form, with and without the source MAC. */
	assert_int_equal(copy_parse_transfers("80@02:00:00:00:00:01-198.18.0.3:80@02:00:00:00:00:0a,"
					      "81-198.18.0.3:81@02:00:00:00:00:0b", t, 4, &n,
					      err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_true(t[0].has_src_mac);
	assert_int_equal(t[0].src_mac[5], 0x01);
	assert_true(t[0].has_next_hop_mac);
	assert_int_equal(t[0].next_hop_mac[5], 0x0a);
	assert_false(t[1].has_src_mac);
	assert_true(t[1].has_next_hop_mac);
	assert_int_equal(t[1].online_port, 81);
}

#define assert_transfer_refused(text, message)                                            \
	do {                                                                              \
		struct copy_transfer t_[4];                                               \
		size_t n_ = 99;                                                           \
		assert_int_equal(copy_parse_transfers(text, t_, 4, &n_, err, sizeof(err)), -1); \
		assert_string_equal(err, message);                                        \
		assert_int_equal(n_, 99);                                                 \
	} while (0)

static void test_transfer_errors(void **state)
{
	assert_transfer_refused("", "empty value");
	assert_transfer_refused("80", "'80' is not [srcIP:]port-dstIP:dport (no '-')");
	assert_transfer_refused("80-198.18.0.3", "missing the target port in '80-198.18.0.3'");
	assert_transfer_refused("80-[2001:db8::2]", "bad target in '80-[2001:db8::2]': "
				"'[2001:db8::2]' has no port");
	assert_transfer_refused("-198.18.0.3:80", "no online port before '-' in '-198.18.0.3:80'");
	assert_transfer_refused("0-198.18.0.3:80", "bad online port in '0-198.18.0.3:80': "
				"0 is out of range 1..65535");
	assert_transfer_refused("80-198.18.0.3:80-1", "'80-198.18.0.3:80-1' has more than one '-'");
	assert_transfer_refused("80-host:80", "bad target in '80-host:80': "
				"'host' is not an IPv4 or IPv6 address");
	assert_transfer_refused("1.2.3:80-198.18.0.3:80", "bad online address in "
				"'1.2.3:80-198.18.0.3:80': '1.2.3' is not an IPv4 or IPv6 address");
	assert_transfer_refused("80-198.18.0.3:80,", "empty item in the list");
	assert_transfer_refused("80-198.18.0.3:80,80-198.18.0.5:80",
				"'80-198.18.0.5:80' captures the same address and port as an "
				"earlier transfer");
	assert_transfer_refused("198.18.0.2:80-[2001:db8::2]:80",
				"'198.18.0.2:80-[2001:db8::2]:80' mixes IPv4 and IPv6");
	assert_transfer_refused("80-198.18.0.3:80@zz", "in '80-198.18.0.3:80@zz': 'zz' is not a "
				"MAC address (expected six hex pairs like 02:00:5e:10:00:01)");
	assert_transfer_refused("80@02:00:00:00:00:01-198.18.0.3:80",
				"'80@02:00:00:00:00:01-198.18.0.3:80' gives a source MAC but no "
				"next-hop MAC (port@srcmac-dstIP:dport@nexthopmac)");
	assert_transfer_refused("80-198.18.0.3:80@02:00:00:00:00:01@02:00:00:00:00:01",
				"'80-198.18.0.3:80@02:00:00:00:00:01@02:00:00:00:00:01' has more "
				"than one '@'");
	assert_transfer_refused("1-198.18.0.3:1,2-198.18.0.3:1,3-198.18.0.3:1,4-198.18.0.3:1,"
				"5-198.18.0.3:1", "more than 4 transfers");
	/* Through the command line the option is named. */
	assert_refused("-x '80-198.18.0.3': missing the target port in '80-198.18.0.3'",
		       "-x", "80-198.18.0.3", "-s", "198.18.0.4");
}

static void test_output_device_macs(void **state)
{
	struct copy_options o;

	assert_int_equal(parse_args(&o, "-x", "80-198.18.0.3:80@02:00:00:00:00:03", "-s",
				    "198.18.0.4", "-o", "eth0", NULL), COPY_OPTIONS_RUN);
	assert_false(o.transfers[0].has_src_mac);
	copy_options_free(&o);
	assert_refused("-x: with -o every transfer must use the same MAC addresses "
		       "(one output device)",
		       "-x", "80-198.18.0.3:80@02:00:00:00:00:03,81-198.18.0.3:81@02:00:00:00:00:04",
		       "-s", "198.18.0.4", "-o", "eth0");
	/* Without -o the MACs are accepted (and unused). */
	assert_int_equal(parse_args(&o, "-x", "80-198.18.0.3:80@02:00:00:00:00:03", "-s",
				    "198.18.0.4", NULL), COPY_OPTIONS_RUN);
	copy_options_free(&o);
}

static void test_client_addresses(void **state)
{
	struct dp_addr *a = NULL;
	size_t n = 0;

	assert_int_equal(copy_parse_client_addrs("198.19.200.x", &a, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 254);
	assert_addr(&a[0], "198.19.200.1");
	assert_addr(&a[253], "198.19.200.254");
	free(a);

	assert_int_equal(copy_parse_client_addrs("198.19.0.5,198.19.1.10-12,198.19.2.0-0", &a, &n,
						 err, sizeof(err)), 0);
	assert_int_equal(n, 5);
	assert_addr(&a[0], "198.19.0.5");
	assert_addr(&a[1], "198.19.1.10");
	assert_addr(&a[3], "198.19.1.12");
	assert_addr(&a[4], "198.19.2.0");
	free(a);

	assert_int_equal(copy_parse_client_addrs("2001:db8::1,2001:db8::2", &a, &n, err,
						 sizeof(err)), 0);
	assert_int_equal(n, 2);
	free(a);
}

#define assert_clients_refused(text, message)                                            \
	do {                                                                             \
		struct dp_addr *a_ = NULL;                                               \
		size_t n_ = 0;                                                           \
		assert_int_equal(copy_parse_client_addrs(text, &a_, &n_, err, sizeof(err)), -1); \
		assert_string_equal(err, message);                                       \
		assert_null(a_);                                                         \
	} while (0)

static void test_client_address_errors(void **state)
{
	assert_clients_refused("", "empty value");
	assert_clients_refused("198.19.0.x,", "empty item in the list");
	assert_clients_refused("198.19.0", "'198.19.0' is not an IPv4 or IPv6 address");
	assert_clients_refused("198.19.0.y", "'198.19.0.y' is not an IPv4 or IPv6 address");
	assert_clients_refused("198.19.0.9-3", "range '198.19.0.9-3' ends before it starts");
	assert_clients_refused("198.19.0.1-256", "bad range in '198.19.0.1-256': "
			       "256 is out of range 0..255");
	assert_clients_refused("198.19.0.-3", "bad range in '198.19.0.-3': empty value");
	assert_clients_refused("198.19.x", "'198.19.x' is not an IPv4 range (a.b.c.x or a.b.c.d-e)");
	assert_clients_refused("300.19.0.x", "'300.19.0.x' is not an IPv4 range (a.b.c.x or "
			       "a.b.c.d-e)");
	assert_clients_refused("198.19.0.1,2001:db8::1", "mixes IPv4 and IPv6 addresses");
	assert_refused("-c: its addresses are not of the family of the -x targets",
		       BASE, "-c", "2001:db8::1");
	assert_refused("-c '1.2.3.4,': empty item in the list", BASE, "-c", "1.2.3.4,");
}

static void test_intercepts(void **state)
{
	struct copy_endpoint e[3];
	size_t n = 0;

	assert_int_equal(copy_parse_intercepts("198.18.0.4,[2001:db8::4]:99,2001:db8::5", 36524, e,
					       3, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_int_equal(e[0].port, 36524);
	assert_int_equal(e[1].port, 99);
	assert_int_equal(e[2].port, 36524);
	assert_int_equal(copy_parse_intercepts("198.18.0.4,198.18.0.4:36524", 36524, e, 3, &n,
					       err, sizeof(err)), -1);
	assert_string_equal(err, "'198.18.0.4:36524' is listed twice");
	assert_int_equal(copy_parse_intercepts("a,b,c,d", 1, e, 3, &n, err, sizeof(err)), -1);
	assert_string_equal(err, "'a' is not an IPv4 or IPv6 address");
	assert_refused("-s 'intercept.example': 'intercept.example' is not an IPv4 or IPv6 address",
		       "-x", "80-198.18.0.3:80", "-s", "intercept.example");
	assert_refused("-s '198.18.0.4:0': bad port in '198.18.0.4:0': 0 is out of range 1..65535",
		       "-x", "80-198.18.0.3:80", "-s", "198.18.0.4:0");
}

/* -s ADDR[:PORT]=WHAT[+WHAT...]: what each intercept serves. */
static void test_intercept_serves(void **state)
{
	struct copy_endpoint e[3];
	size_t n = 0;
	char addr[INET6_ADDRSTRLEN];

	assert_int_equal(copy_parse_intercepts("198.18.0.4=198.19.0.1:80+198.19.0.2,"
					       "[2001:db8::4]:99=2001:db8::/32+[2001:db8::9]:443,"
					       "198.18.0.5", 36524, e, 3, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_int_equal(e[0].port, 36524);
	assert_int_equal(e[0].serve_count, 2);
	assert_false(e[0].serves[0].client_range);
	assert_string_equal(dp_addr_str(&e[0].serves[0].addr, addr, sizeof(addr)), "198.19.0.1");
	assert_int_equal(e[0].serves[0].port, 80);
	assert_int_equal(e[0].serves[1].port, 0);	/* any port */
	assert_int_equal(e[1].port, 99);
	assert_int_equal(e[1].serve_count, 2);
	assert_true(e[1].serves[0].client_range);
	assert_int_equal(e[1].serves[0].prefix_len, 32);
	assert_int_equal(e[1].serves[1].port, 443);
	assert_int_equal(e[2].serve_count, 0);	/* everything */
	assert_int_equal(copy_parse_intercepts("198.18.0.4=", 36524, e, 3, &n, err, sizeof(err)), -1);
	assert_string_equal(err, "'198.18.0.4=': empty target or client range after '='");
	assert_int_equal(copy_parse_intercepts("198.18.0.4=198.18.0.0/33", 36524, e, 3, &n, err,
					       sizeof(err)), -1);
	assert_non_null(strstr(err, "client range prefix length '33'"));
	assert_int_equal(copy_parse_intercepts("198.18.0.4=nowhere", 36524, e, 3, &n, err,
					       sizeof(err)), -1);
	assert_non_null(strstr(err, "target 'nowhere'"));
	/* a -x target no intercept serves: refused at start */
	assert_refused("-s: no intercept serves the target 198.18.0.3:8080 of -x (name it after "
		       "'=' in an -s entry, or list an entry without '=')",
		       "-x", "80-198.18.0.3:8080", "-s", "198.18.0.4=198.18.0.3:80");
	struct copy_options o;
	char *ok[] = { "doppel-copy", "-x", "80-198.18.0.3:8080", "-s",
		       "198.18.0.4=198.18.0.3:80,198.18.0.5=198.18.9.0/24", NULL };
	/* an entry with client ranges only may serve it */
	assert_int_equal(copy_options_parse(&o, 5, ok, err, sizeof(err)), COPY_OPTIONS_RUN);
	copy_options_free(&o);
}

static void test_last_occurrence_wins(void **state)
{
	struct copy_options o;

	assert_int_equal(parse_args(&o, "-x", "81-198.18.0.3:81,82-198.18.0.3:82", BASE, "-n", "2",
				    "-n", "5", "-c", "198.19.0.x", "-c", "198.19.1.1", NULL),
			 COPY_OPTIONS_RUN);
	assert_int_equal(o.transfer_count, 1);
	assert_int_equal(o.transfers[0].online_port, 80);
	assert_int_equal(o.copies, 5);
	assert_int_equal(o.client_addr_count, 1);
	copy_options_free(&o);
}

static void test_filter_from_transfers(void **state)
{
	struct copy_options o;
	char filter[256];

	assert_int_equal(parse_args(&o, "-x", "80-198.18.0.3:80,198.18.0.2:6379-198.18.0.3:6379",
				    "-s", "198.18.0.4", NULL), COPY_OPTIONS_RUN);
	assert_int_equal(copy_options_build_filter(&o, filter, sizeof(filter)), 0);
	assert_string_equal(filter, "tcp and (dst port 80 or (dst host 198.18.0.2 and dst port 6379))");
	assert_int_equal(copy_options_build_filter(&o, filter, 20), -1);
	copy_options_free(&o);
}

/* ---- config files ---- */

static char config_path[64];

static void write_config(const char *text)
{
	FILE *f;

	strcpy(config_path, "/tmp/test_copy_options.XXXXXX");
	int fd = mkstemp(config_path);

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_config_file(void **state)
{
	struct copy_options o;

	write_config("# doppel-copy\n"
		     "transfer = 80-198.18.0.3:8080\n"
		     "intercept = 198.18.0.4\n"
		     "intercept-port = 4000\n"
		     "copies = 2\n"
		     "no-wait = yes\n"
		     "daemon = no\n"
		     "session-timeout = 10s\n"
		     "log-level = notice\n"
		     "stats-file = /run/doppel/copy/stats.json\n");
	assert_int_equal(parse_args(&o, "--config", config_path, NULL), COPY_OPTIONS_RUN);
	assert_int_equal(o.transfers[0].target_port, 8080);
	assert_int_equal(o.intercepts[0].port, 4000);
	assert_int_equal(o.copies, 2);
	assert_true(o.no_wait);
	assert_false(o.common.daemonize);
	assert_int_equal(o.session_timeout_ms, 10000);
	assert_int_equal(o.common.log_level, LOG_LEVEL_NOTICE);
	assert_string_equal(o.common.stats_file, "/run/doppel/copy/stats.json");
	copy_options_free(&o);

	/* The command line wins, whether before or after --config. */
	assert_int_equal(parse_args(&o, "-n", "7", "--config", config_path, "-p", "5000", NULL),
			 COPY_OPTIONS_RUN);
	assert_int_equal(o.copies, 7);
	assert_int_equal(o.intercepts[0].port, 5000);
	assert_true(o.no_wait);
	copy_options_free(&o);
	unlink(config_path);
}

static void assert_config_refused(const char *text, const char *message_after_path)
{
	struct copy_options o;
	char expected[512];

	write_config(text);
	assert_int_equal(parse_args(&o, "--config", config_path, NULL), COPY_OPTIONS_ERROR);
	snprintf(expected, sizeof(expected), "%s:%s", config_path, message_after_path);
	assert_string_equal(err, expected);
	copy_options_free(&o);
	unlink(config_path);
}

/* --pace-quiet D[,N]: the floor as a duration (bare: ms), the round
 * trips optional; nonsense refused with what was wrong. */
static void test_pace_quiet(void **state)
{
	struct copy_options o;

	assert_int_equal(parse_args(&o, BASE, "--pace-quiet", "500ms", NULL), COPY_OPTIONS_RUN);
	assert_int_equal(o.pace_quiet_ms, 500);
	assert_int_equal(o.pace_quiet_rtts, 8);
	copy_options_free(&o);
	assert_int_equal(parse_args(&o, BASE, "--pace-quiet", "1s,20", NULL), COPY_OPTIONS_RUN);
	assert_int_equal(o.pace_quiet_ms, 1000);
	assert_int_equal(o.pace_quiet_rtts, 20);
	copy_options_free(&o);
	assert_int_equal(parse_args(&o, BASE, "--pace-quiet", "300", NULL), COPY_OPTIONS_RUN);
	assert_int_equal(o.pace_quiet_ms, 300);
	copy_options_free(&o);
	write_config("transfer = 80-198.18.0.3:80\nintercept = 198.18.0.4\n"
		     "pace-quiet = 750ms,4\n");
	assert_int_equal(parse_args(&o, "--config", config_path, NULL), COPY_OPTIONS_RUN);
	assert_int_equal(o.pace_quiet_ms, 750);
	assert_int_equal(o.pace_quiet_rtts, 4);
	copy_options_free(&o);
	unlink(config_path);
	assert_refused("--pace-quiet '5ms': '5ms' is out of range 10ms..60s", BASE,
		       "--pace-quiet", "5ms");
	assert_refused("--pace-quiet '2m': '2m' is out of range 10ms..60s", BASE,
		       "--pace-quiet", "2m");
	assert_refused("--pace-quiet '200ms,0': 0 is out of range 1..1000", BASE,
		       "--pace-quiet", "200ms,0");
	assert_refused("--pace-quiet 'x': 'x' is not a number", BASE, "--pace-quiet", "x");
}

/* --capture-ring: the ring's size within 4m..1g, 0 (the default) when
 * not given; TCPCopy's -B points to it. */
static void test_capture_ring(void **state)
{
	struct copy_options o;

	assert_int_equal(parse_args(&o, BASE, NULL), COPY_OPTIONS_RUN);
	assert_int_equal(o.capture_ring_bytes, 0);
	copy_options_free(&o);
	assert_int_equal(parse_args(&o, BASE, "--capture-ring", "8m", NULL), COPY_OPTIONS_RUN);
	assert_int_equal(o.capture_ring_bytes, 8u << 20);
	copy_options_free(&o);
	assert_int_equal(parse_args(&o, BASE, "--capture-ring", "1g", NULL), COPY_OPTIONS_RUN);
	assert_int_equal(o.capture_ring_bytes, 1u << 30);
	copy_options_free(&o);
	assert_refused("--capture-ring '1m': '1m' is out of range 4m..1g", BASE,
		       "--capture-ring", "1m");
	assert_refused("--capture-ring '2g': '2g' is out of range 4m..1g", BASE,
		       "--capture-ring", "2g");
	assert_refused("--capture-ring 'big': 'big' is not a number", BASE,
		       "--capture-ring", "big");
	assert_refused("-B '64': use --capture-ring SIZE: the capture's kernel ring (64m by default)",
		       BASE, "-B", "64");
}

/* --tx-ring: on unless no is given; a value that is not yes or no is
 * refused. */
static void test_tx_ring(void **state)
{
	struct copy_options o;

	assert_int_equal(parse_args(&o, BASE, NULL), COPY_OPTIONS_RUN);
	assert_false(o.no_tx_ring);
	copy_options_free(&o);
	assert_int_equal(parse_args(&o, BASE, "--tx-ring", "no", NULL), COPY_OPTIONS_RUN);
	assert_true(o.no_tx_ring);
	copy_options_free(&o);
	assert_int_equal(parse_args(&o, BASE, "--tx-ring", "no", "--tx-ring", "yes", NULL),
			 COPY_OPTIONS_RUN);
	assert_false(o.no_tx_ring);
	copy_options_free(&o);
	assert_refused("--tx-ring 'off': 'off' is not yes or no", BASE, "--tx-ring", "off");
}

/* --tls-*: paths kept as given (the files are read at start, by
 * wire_tls); combinations refused with what is missing. */
static void test_tls_options(void **state)
{
	struct copy_options o;

	assert_int_equal(parse_args(&o, BASE, "--tls-cert", "/etc/c.pem", "--tls-key", "/etc/c.key",
				    "--tls-ca", "/etc/ca.pem", NULL), COPY_OPTIONS_RUN);
	assert_string_equal(o.tls.cert, "/etc/c.pem");
	assert_string_equal(o.tls.key, "/etc/c.key");
	assert_string_equal(o.tls.ca, "/etc/ca.pem");
	assert_null(o.tls.psk_file);
	copy_options_free(&o);
	assert_int_equal(parse_args(&o, BASE, "--tls-psk-file", "/etc/p", NULL), COPY_OPTIONS_RUN);
	assert_string_equal(o.tls.psk_file, "/etc/p");
	copy_options_free(&o);
	assert_refused("TLS with certificates needs all of --tls-cert, --tls-key and --tls-ca "
		       "(missing: --tls-key --tls-ca)", BASE, "--tls-cert", "/etc/c.pem");
	assert_refused("--tls-psk-file excludes --tls-cert, --tls-key and --tls-ca: choose "
		       "certificates or a pre-shared key", BASE, "--tls-psk-file", "/etc/p",
		       "--tls-ca", "/etc/ca.pem");
	assert_refused("--tls-* with --wire tcpcopy1: a stock TCPCopy intercept speaks no TLS",
		       BASE, "--wire", "tcpcopy1", "--tls-psk-file", "/etc/p");
	assert_refused("--tls-key '': empty value", BASE, "--tls-key", "");
	assert_refused("TLS with certificates needs all of --tls-cert, --tls-key and --tls-ca "
		       "(missing: --tls-key)", BASE, "--tls-cert", "/etc/c.pem", "--tls-ca", "/c");
}

/* The channel's default: plain text only to loopback intercepts; TLS or
 * --insecure-plaintext (also as a config key) otherwise. */
static enum copy_options_result channel_of(const char *intercepts, const char *extra,
					   const char *extra_value)
{
	struct copy_options o;
	enum copy_options_result r;

	r = parse_args(&o, "-x", "80-198.18.0.3:8080", "-s", intercepts, extra, extra_value, NULL);
	assert_int_equal(r, COPY_OPTIONS_RUN);
	r = copy_options_check_channel(&o, err, sizeof(err)) == 0 ? COPY_OPTIONS_RUN
								   : COPY_OPTIONS_ERROR;
	copy_options_free(&o);
	return r;
}

static void test_plaintext_channel(void **state)
{
	struct copy_options o;

	(void)state;
	/* Loopback in plain text: allowed, both families. */
	assert_int_equal(channel_of("127.0.0.1,[::1]:4000", NULL, NULL), COPY_OPTIONS_RUN);
	/* A network address in plain text: refused, naming it and every way out. */
	assert_int_equal(channel_of("127.0.0.1,198.18.0.4", NULL, NULL), COPY_OPTIONS_ERROR);
	assert_non_null(strstr(err, "-s 198.18.0.4: the channel to this intercept would be plain "
				    "text on the network"));
	assert_non_null(strstr(err, "--tls-cert FILE --tls-key FILE --tls-ca FILE"));
	assert_non_null(strstr(err, "--tls-psk-file FILE"));
	assert_non_null(strstr(err, "--insecure-plaintext"));
	assert_int_equal(channel_of("[2001:2::4]", NULL, NULL), COPY_OPTIONS_ERROR);
	assert_non_null(strstr(err, "-s 2001:2::4:"));
	/* TCPCopy's intercept cannot do TLS: the message says so. */
	assert_int_equal(channel_of("198.18.0.4", "--wire", "tcpcopy1"), COPY_OPTIONS_ERROR);
	assert_non_null(strstr(err, "speaks no TLS"));
	assert_non_null(strstr(err, "--insecure-plaintext"));
	/* Each way out. */
	assert_int_equal(channel_of("198.18.0.4", "--insecure-plaintext", NULL), COPY_OPTIONS_RUN);
	assert_int_equal(channel_of("198.18.0.4", "--tls-psk-file", "/etc/p"), COPY_OPTIONS_RUN);
	assert_int_equal(parse_args(&o, BASE, "--wire", "tcpcopy1", "--insecure-plaintext", NULL),
			 COPY_OPTIONS_RUN);
	assert_true(o.insecure_plaintext);
	assert_int_equal(copy_options_check_channel(&o, err, sizeof(err)), 0);
	copy_options_free(&o);
	assert_int_equal(parse_args(&o, BASE, "--tls-cert", "/c", "--tls-key", "/k", "--tls-ca",
				    "/a", NULL), COPY_OPTIONS_RUN);
	assert_int_equal(copy_options_check_channel(&o, err, sizeof(err)), 0);
	copy_options_free(&o);
	/* As a config file key, as the sample config shows it. */
	write_config("transfer = 80-198.18.0.3:8080\nintercept = 198.18.0.4\n"
		     "insecure-plaintext = yes\n");
	assert_int_equal(parse_args(&o, "--config", config_path, NULL), COPY_OPTIONS_RUN);
	assert_int_equal(copy_options_check_channel(&o, err, sizeof(err)), 0);
	copy_options_free(&o);
	unlink(config_path);
}

static void test_config_errors(void **state)
{
	assert_config_refused("transfer = 80-198.18.0.3:80\nbogus = 1\n", "2: unknown key 'bogus'");
	assert_config_refused("copies = 0\n", "1: copies '0': 0 is out of range 1..1000");
	assert_config_refused("\n\ntransfer = 80\n",
			      "3: transfer '80': '80' is not [srcIP:]port-dstIP:dport (no '-')");
	assert_config_refused("no-wait = maybe\n", "1: no-wait 'maybe': 'maybe' is not yes or no");
	assert_config_refused("help = yes\n", "1: 'help' is not allowed in a config file");
	assert_config_refused("config = /etc/other\n", "1: 'config' is not allowed in a config file");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_option_short),
		cmocka_unit_test(test_every_option_long),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_command_line_errors),
		cmocka_unit_test(test_value_errors),
		cmocka_unit_test(test_transfer_forms),
		cmocka_unit_test(test_transfer_errors),
		cmocka_unit_test(test_output_device_macs),
		cmocka_unit_test(test_client_addresses),
		cmocka_unit_test(test_client_address_errors),
		cmocka_unit_test(test_intercepts),
		cmocka_unit_test(test_intercept_serves),
		cmocka_unit_test(test_last_occurrence_wins),
		cmocka_unit_test(test_filter_from_transfers),
		cmocka_unit_test(test_tunnel),
		cmocka_unit_test(test_config_file),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_tls_options),
		cmocka_unit_test(test_plaintext_channel),
		cmocka_unit_test(test_pace_quiet),
		cmocka_unit_test(test_capture_ring),
		cmocka_unit_test(test_tx_ring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
