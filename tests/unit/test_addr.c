/*
 * test_addr.c — struct dp_addr helpers: parsing, printing, comparing, and
 * the zeroed tail that lets memcmp compare IPv4 addresses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "lib/net/addr.h"

static void test_parse_and_print(void **state)
{
	static const char *const good[] = {
		"198.18.0.1", "198.19.255.255", "0.0.0.0", "2001:2::1", "::",
		"fe80::1:2:3:4", "::ffff:198.18.0.1",
	};
	char buf[INET6_ADDRSTRLEN];
	struct dp_addr a;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(dp_addr_parse(good[i], &a), 0);
		assert_string_equal(dp_addr_str(&a, buf, sizeof(buf)), good[i]);
	}
	assert_int_equal(dp_addr_parse("198.18.0.1", &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(dp_addr_parse("2001:2::1", &a), 0);
	assert_int_equal(a.family, AF_INET6);
}

static void test_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"", "198.18.0", "198.18.0.256", "198.18.0.1/24", " 198.18.0.1",
		"2001:2::1::2", "[2001:2::1]", "host.example", "198.18.0.1:80",
	};
	struct dp_addr a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&a, 0x77, sizeof(a));
		assert_int_equal(dp_addr_parse(bad[i], &a), -1);
		assert_int_equal(a.family, 0);	/* not left half-filled */
	}
}

static void test_equal(void **state)
{
	struct dp_addr a, b, c;

	dp_addr_parse("198.18.0.1", &a);
	dp_addr_from_v4(&b, htonl(0xc6120001));
	assert_true(dp_addr_equal(&a, &b));
	assert_memory_equal(&a, &b, sizeof(a));	/* the tail is zero in both */
	dp_addr_from_v4(&b, htonl(0xc6120002));
	assert_false(dp_addr_equal(&a, &b));

	/* Same 16 bytes, different families: not equal. */
	dp_addr_parse("::", &c);
	dp_addr_from_v4(&b, 0);
	assert_false(dp_addr_equal(&b, &c));

	static const uint8_t v6[16] = { 0x20, 0x01, 0, 2, [15] = 1 };
	dp_addr_from_v6(&b, v6);
	dp_addr_parse("2001:2::1", &c);
	assert_true(dp_addr_equal(&b, &c));
	c.bytes[15] = 2;
	assert_false(dp_addr_equal(&b, &c));
}

static void test_str_edges(void **state)
{
	struct dp_addr a;
	char buf[INET6_ADDRSTRLEN], tiny[4];

	memset(&a, 0, sizeof(a));
	assert_string_equal(dp_addr_str(&a, buf, sizeof(buf)), "(no address)");
	dp_addr_parse("198.18.0.1", &a);
	/* Too small for the address: a marker, still terminated. */
	assert_string_equal(dp_addr_str(&a, tiny, sizeof(tiny)), "?");
}

/* What may carry the channel in plain text by default: loopback only. */
static void test_loopback(void **state)
{
	static const char *const yes[] = { "127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1" };
	static const char *const no[] = { "198.18.0.4", "0.0.0.0", "128.0.0.1", "::", "::2",
					  "2001:2::1", "::ffff:198.18.0.4", "::127.0.0.1" };
	struct dp_addr a;

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		assert_int_equal(dp_addr_parse(yes[i], &a), 0);
		assert_true(dp_addr_is_loopback(&a));
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		assert_int_equal(dp_addr_parse(no[i], &a), 0);
		assert_false(dp_addr_is_loopback(&a));
	}
	memset(&a, 0, sizeof(a));
	assert_false(dp_addr_is_loopback(&a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_print),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_str_edges),
		cmocka_unit_test(test_loopback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
