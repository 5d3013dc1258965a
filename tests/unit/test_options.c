/*
 * test_options.c — every value parser's accepted forms and its exact error
 * messages, and config files written to a temp directory, good and bad.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/runtime/options.h"

#define ERR_LEN 256

/* Every parse writes its message here. */
static char err[ERR_LEN];
static const size_t errlen = sizeof(err);

/* A parse that must fail with exactly this message. */
#define assert_refused(call, message)                 \
	do {                                          \
		err[0] = '\0';                        \
		assert_int_equal((call), -1);         \
		assert_string_equal(err, (message));  \
	} while (0)

static void test_uint(void **state)
{
	uint64_t v = 99;

	assert_int_equal(opt_parse_uint("0", 0, 10, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 0);
	assert_int_equal(opt_parse_uint("010", 0, 10, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 10);	/* decimal, never octal */
	assert_int_equal(opt_parse_uint("18446744073709551615", 0, UINT64_MAX, &v, err,
					sizeof(err)), 0);
	assert_true(v == UINT64_MAX);

	v = 99;
	assert_refused(opt_parse_uint("", 0, 10, &v, err, errlen), "empty value");
	assert_refused(opt_parse_uint(NULL, 0, 10, &v, err, errlen), "empty value");
	assert_refused(opt_parse_uint("12x", 0, 100, &v, err, errlen), "'12x' is not a number");
	assert_refused(opt_parse_uint("x12", 0, 100, &v, err, errlen), "'x12' is not a number");
	assert_refused(opt_parse_uint(" 12", 0, 100, &v, err, errlen), "' 12' is not a number");
	assert_refused(opt_parse_uint("12 ", 0, 100, &v, err, errlen), "'12 ' is not a number");
	assert_refused(opt_parse_uint("+12", 0, 100, &v, err, errlen), "'+12' is not a number");
	assert_refused(opt_parse_uint("0x10", 0, 100, &v, err, errlen), "'0x10' is not a number");
	assert_refused(opt_parse_uint("-1", 0, UINT64_MAX, &v, err, errlen), "'-1' is negative");
	assert_refused(opt_parse_uint("-", 0, 100, &v, err, errlen), "'-' is not a number");
	assert_refused(opt_parse_uint("18446744073709551616", 0, UINT64_MAX, &v, err, errlen),
		       "'18446744073709551616' is too large");
	assert_refused(opt_parse_uint("11", 1, 10, &v, err, errlen), "11 is out of range 1..10");
	assert_refused(opt_parse_uint("0", 1, 10, &v, err, errlen), "0 is out of range 1..10");
	assert_int_equal(v, 99);	/* untouched by every failure */

	/* No err buffer at all is allowed. */
	assert_int_equal(opt_parse_uint("x", 0, 1, &v, NULL, 0), -1);
}

static void test_port(void **state)
{
	uint16_t port = 7;

	assert_int_equal(opt_parse_port("1", &port, err, sizeof(err)), 0);
	assert_int_equal(port, 1);
	assert_int_equal(opt_parse_port("65535", &port, err, sizeof(err)), 0);
	assert_int_equal(port, 65535);
	assert_refused(opt_parse_port("70000", &port, err, errlen),
		       "70000 is out of range 1..65535");
	assert_refused(opt_parse_port("0", &port, err, errlen), "0 is out of range 1..65535");
	assert_refused(opt_parse_port("http", &port, err, errlen), "'http' is not a number");
	assert_refused(opt_parse_port("", &port, err, errlen), "empty value");
	assert_int_equal(port, 65535);
}

static void test_duration(void **state)
{
	uint64_t ms = 0;

	assert_int_equal(opt_parse_duration_ms("250ms", 1000, &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(opt_parse_duration_ms("5s", 1, &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 5000);
	assert_int_equal(opt_parse_duration_ms("2m", 1, &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 120000);
	assert_int_equal(opt_parse_duration_ms("3h", 1, &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 3 * 3600 * 1000);
	assert_int_equal(opt_parse_duration_ms("0", 1000, &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 0);
	/* A bare number counts in the caller's unit. */
	assert_int_equal(opt_parse_duration_ms("60", 1000, &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 60000);
	assert_int_equal(opt_parse_duration_ms("60", 1, &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 60);

	assert_refused(opt_parse_duration_ms("5q", 1, &ms, err, errlen), "unknown unit 'q' in '5q'");
	assert_refused(opt_parse_duration_ms("5S", 1, &ms, err, errlen), "unknown unit 'S' in '5S'");
	assert_refused(opt_parse_duration_ms("5 s", 1, &ms, err, errlen),
		       "unknown unit ' s' in '5 s'");
	assert_refused(opt_parse_duration_ms("5sec", 1, &ms, err, errlen),
		       "unknown unit 'sec' in '5sec'");
	assert_refused(opt_parse_duration_ms("s", 1, &ms, err, errlen), "'s' is not a number");
	assert_refused(opt_parse_duration_ms("", 1, &ms, err, errlen), "empty value");
	assert_refused(opt_parse_duration_ms("-5s", 1, &ms, err, errlen), "'-5s' is negative");
	assert_refused(opt_parse_duration_ms("1.5s", 1, &ms, err, errlen),
		       "'1.5s' has a fraction: use a whole number of a smaller unit");
	assert_refused(opt_parse_duration_ms("5124095576030432h", 1, &ms, err, errlen),
		       "'5124095576030432h' is too large");
	assert_refused(opt_parse_duration_ms("99999999999999999999ms", 1, &ms, err, errlen),
		       "'99999999999999999999ms' is too large");
	assert_int_equal(ms, 60);
}

static void test_size(void **state)
{
	uint64_t size = 0;

	assert_int_equal(opt_parse_size("512", &size, err, sizeof(err)), 0);
	assert_int_equal(size, 512);
	assert_int_equal(opt_parse_size("4k", &size, err, sizeof(err)), 0);
	assert_int_equal(size, 4096);
	assert_int_equal(opt_parse_size("4K", &size, err, sizeof(err)), 0);
	assert_int_equal(size, 4096);
	assert_int_equal(opt_parse_size("3m", &size, err, sizeof(err)), 0);
	assert_int_equal(size, 3 * 1024 * 1024);
	assert_int_equal(opt_parse_size("2G", &size, err, sizeof(err)), 0);
	assert_true(size == 2ull << 30);
	assert_int_equal(opt_parse_size("17179869183g", &size, err, sizeof(err)), 0);
	assert_true(size == 17179869183ull << 30);

	assert_refused(opt_parse_size("17179869184g", &size, err, errlen),
		       "'17179869184g' is too large");
	assert_refused(opt_parse_size("4kb", &size, err, errlen), "unknown unit 'kb' in '4kb'");
	assert_refused(opt_parse_size("4t", &size, err, errlen), "unknown unit 't' in '4t'");
	assert_refused(opt_parse_size("k", &size, err, errlen), "'k' is not a number");
	assert_refused(opt_parse_size("-4k", &size, err, errlen), "'-4k' is negative");
	assert_refused(opt_parse_size("1.5m", &size, err, errlen),
		       "'1.5m' has a fraction: use a whole number of a smaller unit");
}

static void test_addr(void **state)
{
	struct dp_addr a, expected;

	memset(&a, 0xaa, sizeof(a));
	assert_int_equal(opt_parse_addr("198.18.0.1", &a, err, sizeof(err)), 0);
	memset(&expected, 0, sizeof(expected));
	expected.family = AF_INET;
	inet_pton(AF_INET, "198.18.0.1", &expected.v4);
	assert_memory_equal(&a, &expected, sizeof(a));	/* the rest is zeroed */

	assert_int_equal(opt_parse_addr("2001:db8::1", &a, err, sizeof(err)), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(a.bytes[0], 0x20);
	assert_int_equal(a.bytes[15], 1);

	assert_refused(opt_parse_addr("198.18.0.256", &a, err, errlen),
		       "'198.18.0.256' is not an IPv4 or IPv6 address");
	assert_refused(opt_parse_addr("example.com", &a, err, errlen),
		       "'example.com' is not an IPv4 or IPv6 address");
	assert_refused(opt_parse_addr("fe80::1%eth0", &a, err, errlen),
		       "'fe80::1%eth0' is not an IPv4 or IPv6 address");
	assert_refused(opt_parse_addr("", &a, err, errlen), "empty value");
	assert_int_equal(a.family, AF_INET6);
}

static void test_host_port(void **state)
{
	struct dp_addr a;
	uint16_t port = 0;

	assert_int_equal(opt_parse_host_port("198.18.0.1:8080", 80, &a, &port, err, sizeof(err)), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(port, 8080);
	assert_int_equal(a.bytes[0], 198);
	assert_int_equal(a.bytes[3], 1);
	assert_int_equal(opt_parse_host_port("198.18.0.2", 36524, &a, &port, err, sizeof(err)), 0);
	assert_int_equal(port, 36524);
	assert_int_equal(a.bytes[3], 2);
	assert_int_equal(opt_parse_host_port("[2001:db8::5]:443", 80, &a, &port, err, sizeof(err)),
			 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(a.bytes[15], 5);
	assert_int_equal(port, 443);
	assert_int_equal(opt_parse_host_port("[::1]", 80, &a, &port, err, sizeof(err)), 0);
	assert_int_equal(port, 80);
	assert_int_equal(a.bytes[15], 1);
	/* A bare IPv6 address: all of it is the address. */
	assert_int_equal(opt_parse_host_port("2001:db8::7", 81, &a, &port, err, sizeof(err)), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(a.bytes[15], 7);
	assert_int_equal(port, 81);

	assert_refused(opt_parse_host_port("198.18.0.1:70000", 80, &a, &port, err, errlen),
		       "bad port in '198.18.0.1:70000': 70000 is out of range 1..65535");
	assert_refused(opt_parse_host_port("198.18.0.1:", 80, &a, &port, err, errlen),
		       "bad port in '198.18.0.1:': empty value");
	assert_refused(opt_parse_host_port("198.18.0.1:8o", 80, &a, &port, err, errlen),
		       "bad port in '198.18.0.1:8o': '8o' is not a number");
	assert_refused(opt_parse_host_port(":80", 80, &a, &port, err, errlen),
		       "no address before the port in ':80'");
	assert_refused(opt_parse_host_port("example.com:80", 80, &a, &port, err, errlen),
		       "'example.com' is not an IPv4 or IPv6 address");
	assert_refused(opt_parse_host_port("198.18.0.1", 0, &a, &port, err, errlen),
		       "'198.18.0.1' has no port");
	assert_refused(opt_parse_host_port("[::1]", 0, &a, &port, err, errlen),
		       "'[::1]' has no port");
	assert_refused(opt_parse_host_port("[::1:80", 80, &a, &port, err, errlen),
		       "missing ']' in '[::1:80'");
	assert_refused(opt_parse_host_port("[::1]80", 80, &a, &port, err, errlen),
		       "unexpected '80' after ']' in '[::1]80'");
	assert_refused(opt_parse_host_port("[198.18.0.1]:80", 80, &a, &port, err, errlen),
		       "'198.18.0.1' is not an IPv6 address");
	assert_refused(opt_parse_host_port("[]:80", 80, &a, &port, err, errlen),
		       "'[]:80' does not hold an IPv6 address in brackets");
	assert_refused(opt_parse_host_port("[::1]:0", 80, &a, &port, err, errlen),
		       "bad port in '[::1]:0': 0 is out of range 1..65535");
	assert_refused(opt_parse_host_port("", 80, &a, &port, err, errlen), "empty value");
	assert_int_equal(port, 81);	/* untouched by the failures */
	assert_int_equal(a.bytes[15], 7);
}

static void test_mac(void **state)
{
	uint8_t mac[6] = { 0 };
	const uint8_t expected[6] = { 0x02, 0x00, 0x5e, 0x10, 0xAB, 0xcd };
	static const char *const bad[] = {
		"02:00:5e:10:ab", "02:00:5e:10:ab:cd:", "02:00:5e:10:ab:cd:ef", "02-00-5e-10-ab-cd",
		"2:00:5e:10:ab:cd", "02:00:5e:10:ab:cg", "02:00:5e:10:ab:c", "020:0:5e:10:ab:cd",
		"g2:00:5e:10:ab:cd",
	};

	assert_int_equal(opt_parse_mac("02:00:5e:10:AB:cd", mac, err, sizeof(err)), 0);
	assert_memory_equal(mac, expected, 6);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char message[ERR_LEN];

		snprintf(message, sizeof(message),
			 "'%s' is not a MAC address (expected six hex pairs like 02:00:5e:10:00:01)",
			 bad[i]);
		assert_refused(opt_parse_mac(bad[i], mac, err, errlen), message);
	}
	assert_refused(opt_parse_mac("", mac, err, errlen), "empty value");
	assert_memory_equal(mac, expected, 6);
}

/* ---- config files ---- */

struct seen {
	int lines;
	char text[1024];	/* "line:key=value;" for each call */
	const char *refuse_key;	/* the callback rejects this key */
};

static int record_line(const char *key, const char *value, unsigned line_no, void *arg,
		       char *why, size_t whylen)
{
	struct seen *s = arg;
	size_t used = strlen(s->text);

	if (s->refuse_key && strcmp(key, s->refuse_key) == 0)
		return opt_error(why, whylen, "unknown key '%s'", key);
	s->lines++;
	snprintf(s->text + used, sizeof(s->text) - used, "%u:%s=%s;", line_no, key, value);
	return 0;
}

static char config_dir[64];

static int make_dir(void **state)
{
	snprintf(config_dir, sizeof(config_dir), "/tmp/doppel-test-config-XXXXXX");
	return mkdtemp(config_dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/doppel.conf", config_dir);
	unlink(path);
	return rmdir(config_dir);
}

/* Write content (len bytes: it may hold NULs) to the config file. */
static const char *write_config(const char *content, size_t len)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/doppel.conf", config_dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	fclose(f);
	return path;
}

#define CONFIG(text) write_config(text, sizeof(text) - 1)

static void test_config_good(void **state)
{
	struct seen s = { 0 };
	const char *path = CONFIG("# doppel-copy configuration\n"
				  "\n"
				  "target = 198.18.0.2:8080\n"
				  "port 80\n"
				  "   filter   =  tcp port 80 and not host 198.18.0.9   # inline\n"
				  "\tlog-file\t/var/log/doppel.log\n"
				  "key=value\n"
				  "url = http://example/#anchor\n"
				  "windows = yes\r\n"
				  "   # indented comment\n"
				  "last.key = no newline at the end");

	err[0] = '\0';
	assert_int_equal(config_parse_file(path, record_line, &s, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(s.lines, 8);
	assert_string_equal(s.text, "3:target=198.18.0.2:8080;"
				    "4:port=80;"
				    "5:filter=tcp port 80 and not host 198.18.0.9;"
				    "6:log-file=/var/log/doppel.log;"
				    "7:key=value;"
				    "8:url=http://example/#anchor;"
				    "9:windows=yes;"
				    "11:last.key=no newline at the end;");
}

static void expect_config_error(const char *path, const char *message)
{
	struct seen s = { 0 };
	char expected[ERR_LEN];

	snprintf(expected, sizeof(expected), "%s:%s", path, message);
	assert_int_equal(config_parse_file(path, record_line, &s, err, sizeof(err)), -1);
	assert_string_equal(err, expected);
}

static void test_config_errors(void **state)
{
	static char long_line[CONFIG_LINE_MAX + 16];
	static char just_fits[CONFIG_LINE_MAX + 2];
	struct seen s = { 0 };
	const char *path;

	expect_config_error(CONFIG("port 80\nfilter\n"), "2: 'filter' has no value");
	expect_config_error(CONFIG("port =   # nothing\n"), "1: 'port' has no value");
	expect_config_error(CONFIG("\n\n= 80\n"), "3: missing key before '='");
	expect_config_error(CONFIG("po;rt = 80\n"), "1: bad character ';' in key 'po;rt'");
	expect_config_error(CONFIG("p\x01rt = 80\n"), "1: bad byte 0x01 in key");
	expect_config_error(write_config("port = 8\0" "0\n", 10), "1: line holds a NUL byte");

	/* CONFIG_LINE_MAX characters pass; one more is refused. */
	memset(just_fits, 'v', CONFIG_LINE_MAX);
	memcpy(just_fits, "k ", 2);
	just_fits[CONFIG_LINE_MAX] = '\n';
	path = write_config(just_fits, CONFIG_LINE_MAX + 1);
	assert_int_equal(config_parse_file(path, record_line, &s, err, sizeof(err)), 0);
	assert_int_equal(s.lines, 1);
	memset(long_line, 'v', CONFIG_LINE_MAX + 1);
	memcpy(long_line, "k ", 2);
	long_line[CONFIG_LINE_MAX + 1] = '\n';
	expect_config_error(write_config(long_line, CONFIG_LINE_MAX + 2),
			    "1: line is longer than 4096 characters");
}

/* The callback's refusal stops the file there, prefixed with FILE:LINE. */
static void test_config_callback_refuses(void **state)
{
	struct seen s = { .refuse_key = "bogus" };
	char expected[ERR_LEN];
	const char *path = CONFIG("port 80\nbogus = 1\nnever = seen\n");

	assert_int_equal(config_parse_file(path, record_line, &s, err, sizeof(err)), -1);
	snprintf(expected, sizeof(expected), "%s:2: unknown key 'bogus'", path);
	assert_string_equal(err, expected);
	assert_string_equal(s.text, "1:port=80;");
}

static void test_config_unreadable(void **state)
{
	struct seen s = { 0 };
	char expected[ERR_LEN];
	char missing[128];

	snprintf(missing, sizeof(missing), "%s/absent.conf", config_dir);
	errno = 0;
	assert_int_equal(config_parse_file(missing, record_line, &s, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	snprintf(expected, sizeof(expected), "%s: No such file or directory", missing);
	assert_string_equal(err, expected);

	/* A directory opens but cannot be read. */
	assert_int_equal(config_parse_file(config_dir, record_line, &s, err, sizeof(err)), -1);
	assert_int_equal(errno, EISDIR);
	snprintf(expected, sizeof(expected), "%s: Is a directory", config_dir);
	assert_string_equal(err, expected);
	assert_int_equal(s.lines, 0);
}

static void test_timeout(void **state)
{
	uint64_t ms = 7;

	assert_int_equal(opt_parse_timeout_ms("90", 1000, &ms, err, errlen), 0);
	assert_int_equal(ms, 90000);
	assert_int_equal(opt_parse_timeout_ms("0", 0, &ms, err, errlen), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(opt_parse_timeout_ms("365h", 1000, &ms, err, errlen), 0);
	assert_int_equal(ms, 365ull * 3600 * 1000);
	assert_refused(opt_parse_timeout_ms("500ms", 1000, &ms, err, errlen),
		       "'500ms' is out of range 1000ms..365 days");
	assert_refused(opt_parse_timeout_ms("8761h", 0, &ms, err, errlen),
		       "'8761h' is out of range 0ms..365 days");
	assert_refused(opt_parse_timeout_ms("2 s", 0, &ms, err, errlen),
		       "unknown unit ' s' in '2 s'");
	assert_int_equal(ms, 365ull * 3600 * 1000);
}

static void test_log_level_and_bool(void **state)
{
	enum log_level level = LOG_LEVEL_INFO;
	bool flag = false;

	assert_int_equal(opt_parse_log_level("debug", &level, err, errlen), 0);
	assert_int_equal(level, LOG_LEVEL_DEBUG);
	assert_int_equal(opt_parse_log_level("err", &level, err, errlen), 0);
	assert_int_equal(level, LOG_LEVEL_ERR);
	assert_refused(opt_parse_log_level("Debug", &level, err, errlen),
		       "'Debug' is not a log level (err, warning, notice, info, debug)");
	assert_refused(opt_parse_log_level("", &level, err, errlen), "empty value");
	assert_int_equal(level, LOG_LEVEL_ERR);

	assert_int_equal(opt_parse_bool("yes", &flag, err, errlen), 0);
	assert_true(flag);
	assert_int_equal(opt_parse_bool("0", &flag, err, errlen), 0);
	assert_false(flag);
	assert_int_equal(opt_parse_bool("true", &flag, err, errlen), 0);
	assert_true(flag);
	assert_refused(opt_parse_bool("maybe", &flag, err, errlen), "'maybe' is not yes or no");
	assert_refused(opt_parse_bool(NULL, &flag, err, errlen), "empty value");
	assert_true(flag);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_host_port),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_log_level_and_bool),
		cmocka_unit_test(test_config_good),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_config_callback_refuses),
		cmocka_unit_test(test_config_unreadable),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
