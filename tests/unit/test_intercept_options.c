/*
 * test_intercept_options.c — doppel-intercept's command line and config
 * file: defaults, every option in its short and long form, the messages
 * for bad values (quoted as the user typed them), config keys, the command
 * line overriding the file, and --match lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "intercept/intercept_options.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

static enum intercept_options_result parse(struct intercept_options *o, char **argv,
					   char *err, size_t errlen)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	err[0] = '\0';
	return intercept_options_parse(o, argc, argv, err, errlen);
}

/* Parse and expect the error message exactly. */
static void expect_error(char **argv, const char *message)
{
	struct intercept_options o;
	char err[512];

	assert_int_equal(parse(&o, argv, err, sizeof(err)), INTERCEPT_OPTIONS_ERROR);
	assert_string_equal(err, message);
	intercept_options_free(&o);
}

static void test_defaults(void **state)
{
	char *argv[] = { "doppel-intercept", NULL };
	struct intercept_options o;
	char err[256];

	assert_int_equal(parse(&o, argv, err, sizeof(err)), INTERCEPT_OPTIONS_RUN);
	assert_string_equal(o.source, "nfqueue");
	assert_int_equal(o.server_cfg.port, 36524);
	assert_int_equal(o.server_cfg.bind.family, 0);
	assert_int_equal(o.server_cfg.allow_count, 0);
	assert_int_equal(o.source_cfg.queue_first, 0);
	assert_int_equal(o.source_cfg.queue_last, 0);
	assert_int_equal(o.source_cfg.queue_maxlen, 65536);
	/* the source copies what a route may ask for (ROUTE_PAYLOAD) */
	assert_int_equal(o.server_cfg.payload_prefix, 0);
	assert_int_equal(o.server_cfg.route_payload, 256);
	assert_int_equal(o.source_cfg.payload_prefix, 256);
	assert_null(o.source_cfg.device);
	assert_null(o.source_cfg.filter);
	assert_false(o.common.daemonize);
	assert_int_equal(o.common.log_level, LOG_LEVEL_INFO);
	assert_int_equal(o.common.stats_interval_ms, 30000);
	assert_null(o.common.stats_file);
	intercept_options_free(&o);
}

static void test_every_option(void **state)
{
	char *argv[] = {
		"doppel-intercept", "--source", "pcap", "-p", "4000", "-b", "198.18.0.1",
		"-x", "198.18.0.2,2001:db8::1", "-i", "veth0", "-F", "tcp port 80",
		"--queues", "2-5", "-q", "1024", "--payload-prefix", "64", "--route-payload", "32",
		"--match", "198.19.0.1:80", "--match", "8080", "--local-out", "-d",
		"-l", "/tmp/x.log", "-P", "/tmp/x.pid", "--log-level", "debug",
		"--stats-file", "/tmp/x.json", "--stats-interval", "5s", "--user", "root", NULL,
	};
	struct intercept_options o;
	char err[256], text[64];

	assert_int_equal(parse(&o, argv, err, sizeof(err)), INTERCEPT_OPTIONS_RUN);
	assert_string_equal(o.source, "pcap");
	assert_int_equal(o.server_cfg.port, 4000);
	assert_string_equal(dp_addr_str(&o.server_cfg.bind, text, sizeof(text)), "198.18.0.1");
	assert_int_equal(o.server_cfg.allow_count, 2);
	assert_string_equal(dp_addr_str(&o.server_cfg.allow[1], text, sizeof(text)), "2001:db8::1");
	assert_string_equal(o.source_cfg.device, "veth0");
	assert_string_equal(o.source_cfg.filter, "tcp port 80");
	assert_int_equal(o.source_cfg.queue_first, 2);
	assert_int_equal(o.source_cfg.queue_last, 5);
	assert_int_equal(o.source_cfg.queue_maxlen, 1024);
	assert_int_equal(o.source_cfg.payload_prefix, 64);	/* the larger of the two */
	assert_int_equal(o.server_cfg.payload_prefix, 64);
	assert_int_equal(o.server_cfg.route_payload, 32);
	assert_int_equal(o.source_cfg.match_count, 2);
	assert_string_equal(dp_addr_str(&o.source_cfg.matches[0].addr, text, sizeof(text)),
			    "198.19.0.1");
	assert_int_equal(o.source_cfg.matches[0].port, 80);
	assert_int_equal(o.source_cfg.matches[1].addr.family, 0);	/* any address */
	assert_int_equal(o.source_cfg.matches[1].port, 8080);
	assert_true(o.source_cfg.local_out);
	assert_true(o.common.daemonize);
	assert_string_equal(o.common.log_file, "/tmp/x.log");
	assert_string_equal(o.common.pid_file, "/tmp/x.pid");
	assert_int_equal(o.common.log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(o.common.stats_file, "/tmp/x.json");
	assert_int_equal(o.common.stats_interval_ms, 5000);
	assert_string_equal(o.common.user, "root");
	intercept_options_free(&o);
}

static void test_long_forms(void **state)
{
	char *argv[] = {
		"doppel-intercept", "--port=4001", "--bind", "::1", "--allow", "198.18.0.3",
		"--device", "any", "--filter", "tcp", "--queue-maxlen", "7", "--queues", "9",
		"--daemon", "--log", "/tmp/y.log", "--pidfile", "/tmp/y.pid", NULL,
	};
	struct intercept_options o;
	char err[256];

	assert_int_equal(parse(&o, argv, err, sizeof(err)), INTERCEPT_OPTIONS_RUN);
	assert_int_equal(o.server_cfg.port, 4001);
	assert_int_equal(o.server_cfg.bind.family, AF_INET6);
	assert_int_equal(o.server_cfg.allow_count, 1);
	assert_string_equal(o.source_cfg.device, "any");
	assert_int_equal(o.source_cfg.queue_maxlen, 7);
	assert_int_equal(o.source_cfg.queue_first, 9);
	assert_int_equal(o.source_cfg.queue_last, 9);
	assert_true(o.common.daemonize);
	assert_string_equal(o.common.pid_file, "/tmp/y.pid");
	intercept_options_free(&o);
}

static void test_bad_values(void **state)
{
	char *port[] = { "d", "-p", "0", NULL };
	char *port_text[] = { "d", "--port", "http", NULL };
	char *allow[] = { "d", "-x", "198.18.0.1,nothing", NULL };
	char *allow_empty[] = { "d", "-x", ",", NULL };
	char *bind[] = { "d", "-b", "198.18.0.256", NULL };
	char *queues[] = { "d", "--queues", "5-2", NULL };
	char *queues_big[] = { "d", "--queues", "0-70000", NULL };
	char *queues_form[] = { "d", "--queues", "-3", NULL };
	char *maxlen[] = { "d", "-q", "0", NULL };
	char *prefix[] = { "d", "--payload-prefix", "20000", NULL };
	char *match[] = { "d", "--match", "198.19.0.1", NULL };
	char *match_port[] = { "d", "--match", "0", NULL };
	char *level[] = { "d", "--log-level", "loud", NULL };
	char *interval[] = { "d", "--stats-interval", "10ms", NULL };
	char *source[] = { "d", "--source", "afpacket", NULL };
	char *user[] = { "d", "--user", "no-such-user-for-doppel", NULL };
	char *filter[] = { "d", "-F", "tcp port", NULL };
	char *threads_many[] = { "d", "--queues", "0-1", "--queue-threads", "3", NULL };
	char *threads_big[] = { "d", "--queue-threads", "65", NULL };
	char *threads_pcap[] = { "d", "--source", "pcap", "--queue-threads", "1", NULL };
	char *threads_ok[] = { "d", "--queues", "0-3", "--queue-threads", "2", NULL };

	expect_error(port, "-p '0': 0 is out of range 1..65535");
	expect_error(port_text, "-p 'http': 'http' is not a number");
	expect_error(allow, "-x '198.18.0.1,nothing': 'nothing' is not an IPv4 or IPv6 address");
	expect_error(allow_empty, "-x ',': no address");
	expect_error(bind, "-b '198.18.0.256': '198.18.0.256' is not an IPv4 or IPv6 address");
	expect_error(queues, "--queues '5-2': 5-2: the last queue is before the first");
	expect_error(queues_big, "--queues '0-70000': 70000 is out of range 0..65535");
	expect_error(queues_form, "--queues '-3': expected A or A-B");
	expect_error(maxlen, "-q '0': 0 is out of range 1..4294967295");
	expect_error(prefix, "--payload-prefix '20000': 20000 is out of range 0..16384");
	expect_error(match_port, "--match '0': 0 is out of range 1..65535");
	expect_error(level, "--log-level 'loud': 'loud' is not a log level "
		     "(err, warning, notice, info, debug)");
	expect_error(interval, "--stats-interval '10ms': '10ms' is out of range 1000ms..365 days");
	expect_error(source, "--source 'afpacket': unknown source (nfqueue, pcap or kmod)");
	expect_error(user, "--user 'no-such-user-for-doppel': no such user");
	expect_error(filter, "-F 'tcp port': can't parse filter expression: syntax error");
	expect_error(threads_many, "--queue-threads 3: more threads than the 2 queues of "
		     "--queues 0-1 (a queue is read by one thread)");
	expect_error(threads_big, "--queue-threads '65': 65 is out of range 0..64");
	expect_error(threads_pcap, "--queue-threads: only the nfqueue source has queues "
		     "(this is --source pcap)");

	/* an address without a port: the parser's own words, after the option */
	struct intercept_options o;
	char err[512];
	assert_int_equal(parse(&o, threads_ok, err, sizeof(err)), INTERCEPT_OPTIONS_RUN);
	assert_int_equal(o.source_cfg.queue_threads, 2);
	intercept_options_free(&o);
	assert_int_equal(parse(&o, match, err, sizeof(err)), INTERCEPT_OPTIONS_ERROR);
	assert_non_null(strstr(err, "--match '198.19.0.1': "));
	intercept_options_free(&o);
}

static void test_bad_command_lines(void **state)
{
	char *unknown[] = { "d", "--frobnicate", NULL };
	char *missing[] = { "d", "-p", NULL };
	char *extra[] = { "d", "-p", "1", "leftover", NULL };

	expect_error(unknown, "unknown option '--frobnicate' (see --help)");
	expect_error(missing, "-p needs a value");
	expect_error(extra, "unexpected argument 'leftover'");
}

static void test_too_many_allowed(void **state)
{
	char list[SERVER_MAX_ALLOW * 16 + 32] = "";
	char *argv[] = { "d", "-x", list, NULL };
	struct intercept_options o;
	char err[2048];	/* the message quotes the whole list first */

	for (int i = 0; i <= SERVER_MAX_ALLOW; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s198.18.1.%d",
			 i ? "," : "", i + 1);
	assert_int_equal(parse(&o, argv, err, sizeof(err)), INTERCEPT_OPTIONS_ERROR);
	assert_non_null(strstr(err, "more than 64 addresses"));
	intercept_options_free(&o);
}

static void write_config(char *path, const char *text)
{
	strcpy(path, "/tmp/doppel-intercept-options-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_config_file_and_override(void **state)
{
	char path[64];
	struct intercept_options o;
	char err[512];

	write_config(path,
		     "# doppel-intercept\n"
		     "source = pcap\n"
		     "port = 5000\n"
		     "device veth1\n"
		     "payload-prefix = 16\n"
		     "match = 80\n"
		     "match = 198.19.0.9:443\n"
		     "daemon = yes\n"
		     "local-out = no\n"
		     "stats-interval = 2m\n");
	char *argv[] = { "d", "--config", path, "-p", "6000", "--match", "8080", NULL };
	assert_int_equal(parse(&o, argv, err, sizeof(err)), INTERCEPT_OPTIONS_RUN);
	assert_string_equal(o.source, "pcap");
	assert_int_equal(o.server_cfg.port, 6000);	/* the command line wins */
	assert_string_equal(o.source_cfg.device, "veth1");
	assert_int_equal(o.server_cfg.payload_prefix, 16);
	assert_true(o.common.daemonize);
	assert_false(o.source_cfg.local_out);
	assert_int_equal(o.common.stats_interval_ms, 120000);
	/* the command line's --match list replaces the file's */
	assert_int_equal(o.source_cfg.match_count, 1);
	assert_int_equal(o.source_cfg.matches[0].port, 8080);
	intercept_options_free(&o);

	char *file_only[] = { "d", "--config", path, NULL };
	assert_int_equal(parse(&o, file_only, err, sizeof(err)), INTERCEPT_OPTIONS_RUN);
	assert_int_equal(o.server_cfg.port, 5000);
	assert_int_equal(o.source_cfg.match_count, 2);
	intercept_options_free(&o);
	unlink(path);
}

static void test_config_file_errors(void **state)
{
	char path[64], expected[256];
	char *argv[] = { "d", "--config", path, NULL };

	write_config(path, "port = 5000\nqueues = 3-1\n");
	snprintf(expected, sizeof(expected),
		 "%s:2: queues '3-1': 3-1: the last queue is before the first", path);
	expect_error(argv, expected);
	unlink(path);

	write_config(path, "colour = blue\n");
	snprintf(expected, sizeof(expected), "%s:1: unknown key 'colour'", path);
	expect_error(argv, expected);
	unlink(path);

	write_config(path, "daemon = perhaps\n");
	snprintf(expected, sizeof(expected), "%s:1: daemon 'perhaps': 'perhaps' is not yes or no",
		 path);
	expect_error(argv, expected);
	unlink(path);

	write_config(path, "config = /etc/other.conf\n");
	snprintf(expected, sizeof(expected), "%s:1: 'config' is not allowed in a config file", path);
	expect_error(argv, expected);
	unlink(path);

	char *missing[] = { "d", "--config", "/nonexistent/doppel.conf", NULL };
	struct intercept_options o;
	char err[512];
	assert_int_equal(parse(&o, missing, err, sizeof(err)), INTERCEPT_OPTIONS_ERROR);
	assert_non_null(strstr(err, "/nonexistent/doppel.conf"));
	intercept_options_free(&o);
}

/* The kmod source's conflicts are bad options like any other (exit 2
 * before the listener opens), on the command line and in a config file;
 * the same options are fine with the source that uses them. */
static void test_kmod_conflicts_are_option_errors(void **state)
{
	char path[64], expected[256];
	char *filter[] = { "d", "--source", "kmod", "--match", "80", "-F", "tcp", NULL };
	char *device[] = { "d", "--source", "kmod", "--match", "80", "-i", "eth0", NULL };
	char *no_match[] = { "d", "--source", "kmod", NULL };
	char *good[] = { "d", "--source", "kmod", "--match", "80", "--local-out", NULL };
	char *pcap[] = { "d", "--source", "pcap", "-F", "tcp", "-i", "eth0", NULL };
	char *from_file[] = { "d", "--config", path, NULL };
	struct intercept_options o;
	char err[512];

	expect_error(filter, "kmod: -F 'tcp': a tcpdump filter cannot be applied in the kernel; "
		     "the module matches source address and port: use --match ADDR:PORT or "
		     "--match PORT");
	expect_error(device, "kmod: -i eth0: the module hooks every interface of the namespace; "
		     "-i is for --source pcap");
	expect_error(no_match, "kmod: no --match: say which responses to take (--match "
		     "ADDR:PORT or --match PORT, the target's side)");
	assert_int_equal(parse(&o, good, err, sizeof(err)), INTERCEPT_OPTIONS_RUN);
	intercept_options_free(&o);
	assert_int_equal(parse(&o, pcap, err, sizeof(err)), INTERCEPT_OPTIONS_RUN);
	intercept_options_free(&o);

	write_config(path, "source = kmod\n");
	snprintf(expected, sizeof(expected), "kmod: no --match: say which responses to take "
		 "(--match ADDR:PORT or --match PORT, the target's side)");
	expect_error(from_file, expected);
	unlink(path);
}

static void test_tls_options(void **state)
{
	char *certs[] = { "d", "--tls-cert", "/etc/i.pem", "--tls-key", "/etc/i.key", "--tls-ca",
			  "/etc/ca.pem", NULL };
	char *half[] = { "d", "--tls-key", "/etc/i.key", NULL };
	char *both[] = { "d", "--tls-psk-file", "/etc/p", "--tls-cert", "/etc/i.pem", NULL };
	struct intercept_options o;
	char err[512];

	assert_int_equal(parse(&o, certs, err, sizeof(err)), INTERCEPT_OPTIONS_RUN);
	assert_string_equal(o.tls.cert, "/etc/i.pem");
	assert_string_equal(o.tls.key, "/etc/i.key");
	assert_string_equal(o.tls.ca, "/etc/ca.pem");
	intercept_options_free(&o);
	expect_error(half, "TLS with certificates needs all of --tls-cert, --tls-key and --tls-ca "
		     "(missing: --tls-cert --tls-ca)");
	expect_error(both, "--tls-psk-file excludes --tls-cert, --tls-key and --tls-ca: choose "
		     "certificates or a pre-shared key");
}

/* The channel's default: 0 (allowed) or -1 (refused) for this command line. */
static int channel_of(char **argv, char *err, size_t errlen)
{
	struct intercept_options o;
	int r;

	assert_int_equal(parse(&o, argv, err, errlen), INTERCEPT_OPTIONS_RUN);
	r = intercept_options_check_channel(&o, err, errlen);
	intercept_options_free(&o);
	return r;
}

/* Plain text only on loopback; TLS, -x or --insecure-plaintext otherwise. */
static void test_plaintext_channel(void **state)
{
	char *every[] = { "d", NULL };
	char *network[] = { "d", "-b", "198.18.0.4", "-p", "4000", NULL };
	char *v6[] = { "d", "-b", "2001:2::4", NULL };
	char *lo4[] = { "d", "-b", "127.0.0.1", NULL };
	char *lo6[] = { "d", "--bind", "::1", NULL };
	char *allow[] = { "d", "-x", "198.18.0.1", NULL };
	char *insecure[] = { "d", "-b", "198.18.0.4", "--insecure-plaintext", NULL };
	char *psk[] = { "d", "--tls-psk-file", "/etc/p", NULL };
	char *certs[] = { "d", "--tls-cert", "/c", "--tls-key", "/k", "--tls-ca", "/a", NULL };
	char *config[] = { "d", "--config", NULL, NULL };
	char err[1024], path[64];

	(void)state;
	assert_int_equal(channel_of(every, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "listening on every address in plain text: any host that "
				    "reaches port 36524 could register routes"));
	/* Every way out is named. */
	assert_non_null(strstr(err, "--tls-cert FILE --tls-key FILE --tls-ca FILE"));
	assert_non_null(strstr(err, "--tls-psk-file FILE"));
	assert_non_null(strstr(err, "-x ADDR[,ADDR...]"));
	assert_non_null(strstr(err, "stock TCPCopy tcpcopy"));
	assert_non_null(strstr(err, "--insecure-plaintext"));
	assert_int_equal(channel_of(network, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "listening on -b 198.18.0.4 in plain text"));
	assert_non_null(strstr(err, "port 4000"));
	assert_int_equal(channel_of(v6, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "-b 2001:2::4 in plain text"));
	assert_int_equal(channel_of(lo4, err, sizeof(err)), 0);
	assert_int_equal(channel_of(lo6, err, sizeof(err)), 0);
	assert_int_equal(channel_of(allow, err, sizeof(err)), 0);
	assert_int_equal(channel_of(insecure, err, sizeof(err)), 0);
	assert_int_equal(channel_of(psk, err, sizeof(err)), 0);
	assert_int_equal(channel_of(certs, err, sizeof(err)), 0);
	/* As a config file key. */
	write_config(path, "insecure-plaintext = yes\n");
	config[2] = path;
	assert_int_equal(channel_of(config, err, sizeof(err)), 0);
	unlink(path);
}

static void test_help_and_version_exit(void **state)
{
	char *help[] = { "d", "-p", "1", "--help", NULL };
	char *version[] = { "d", "-v", NULL };
	struct intercept_options o;
	char err[256];

	assert_int_equal(parse(&o, help, err, sizeof(err)), INTERCEPT_OPTIONS_EXIT);
	intercept_options_free(&o);
	assert_int_equal(parse(&o, version, err, sizeof(err)), INTERCEPT_OPTIONS_EXIT);
	intercept_options_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_option),
		cmocka_unit_test(test_long_forms),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_bad_command_lines),
		cmocka_unit_test(test_too_many_allowed),
		cmocka_unit_test(test_config_file_and_override),
		cmocka_unit_test(test_config_file_errors),
		cmocka_unit_test(test_help_and_version_exit),
		cmocka_unit_test(test_kmod_conflicts_are_option_errors),
		cmocka_unit_test(test_tls_options),
		cmocka_unit_test(test_plaintext_channel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
