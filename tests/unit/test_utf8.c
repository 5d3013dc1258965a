/*
 * test_utf8.c — UTF-8 checking and cleaning (lib/wire/utf8.c): the well-formed
 * ranges of RFC 3629 and the ill-formed sequences just outside them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "lib/wire/utf8.h"

static size_t valid(const char *s)
{
	return utf8_valid_prefix((const uint8_t *)s, strlen(s));
}

static void test_valid_prefix(void **state)
{
	assert_int_equal(valid(""), 0);
	assert_int_equal(valid("plain ascii"), 11);
	assert_int_equal(valid("\xc2\x80"), 2);			/* U+0080, the first 2-byte */
	assert_int_equal(valid("caf\xc3\xa9"), 5);
	assert_int_equal(valid("\xe2\x82\xac"), 3);		/* U+20AC */
	assert_int_equal(valid("\xef\xbf\xbf"), 3);		/* U+FFFF */
	assert_int_equal(valid("\xf0\x90\x8d\x88"), 4);		/* U+10348 */
	assert_int_equal(valid("\xf4\x8f\xbf\xbf"), 4);		/* U+10FFFF, the last */
	/* Ill-formed: the valid prefix stops at the bad sequence. */
	assert_int_equal(valid("ab\x80"), 2);			/* lone continuation */
	assert_int_equal(valid("a\xc0\x80"), 1);		/* overlong NUL */
	assert_int_equal(valid("\xc1\xbf"), 0);			/* overlong */
	assert_int_equal(valid("\xe0\x80\x80"), 0);		/* overlong 3-byte */
	assert_int_equal(valid("\xe0\x9f\xbf"), 0);
	assert_int_equal(valid("\xed\xa0\x80"), 0);		/* surrogate U+D800 */
	assert_int_equal(valid("\xed\x9f\xbf"), 3);		/* U+D7FF is fine */
	assert_int_equal(valid("\xf0\x80\x80\x80"), 0);		/* overlong 4-byte */
	assert_int_equal(valid("\xf4\x90\x80\x80"), 0);		/* past U+10FFFF */
	assert_int_equal(valid("\xf5\x80\x80\x80"), 0);
	assert_int_equal(valid("\xff"), 0);
	assert_int_equal(valid("x\xe2\x82"), 1);		/* cut short */
	assert_int_equal(valid("\xe2\x28\xa1"), 0);		/* bad continuation */
	/* NUL counts as invalid: the text is for logs and C strings. */
	assert_int_equal(utf8_valid_prefix((const uint8_t *)"ab\0cd", 5), 2);
}

static void test_sanitize(void **state)
{
	uint8_t out[32];
	size_t n;

	n = utf8_sanitize(out, sizeof(out), "ok \xe2\x82\xac");
	assert_int_equal(n, 6);
	assert_memory_equal(out, "ok \xe2\x82\xac", 6);
	n = utf8_sanitize(out, sizeof(out), "\xff" "a\xed\xa0\x80" "b");
	assert_int_equal(n, 6);
	assert_memory_equal(out, "?a???b", 6);
	/* Never a character cut in two: 4 bytes of room, "ab" + 3-byte char. */
	assert_int_equal(utf8_sanitize(out, 4, "ab\xe2\x82\xac"), 2);
	assert_int_equal(utf8_sanitize(out, 5, "ab\xe2\x82\xac"), 5);
	assert_int_equal(utf8_sanitize(out, 0, "abc"), 0);
	assert_int_equal(utf8_sanitize(out, 2, "\xff\xff\xff"), 2);
	assert_int_equal(utf8_sanitize(out, sizeof(out), ""), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_prefix),
		cmocka_unit_test(test_sanitize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
