/*
 * test_copy_saslprep.c — SCRAM passwords prepared as PostgreSQL prepares
 * them (copy/copy_saslprep.c, libidn's SASLprep profile): a non-ASCII
 * space becomes U+0020 and a soft hyphen goes; compatibility forms are
 * normalized (NFKC); ASCII, invalid UTF-8, prohibited or unassigned
 * characters and passwords that map to nothing are hashed raw; and the
 * credentials' SaltedPassword for such a password equals PBKDF2 of the
 * prepared string, computed independently (Python's hashlib).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "copy/copy_credentials.h"
#include "copy/copy_saslprep.h"
#include "copy/engine/auth_crypto.h"

/* "pass" U+00A0 "word" U+00AD U+00E9 "X" */
#define RAW "pass\xc2\xa0word\xc2\xad\xc3\xa9X"
#define PREPARED "pass word\xc3\xa9X"

static int prep(const char *in, char *out)
{
	return copy_saslprep((const uint8_t *)in, strlen(in), out, COPY_SASLPREP_MAX);
}

static void test_mapped(void **state)
{
	char out[COPY_SASLPREP_MAX];

	(void)state;
	assert_int_equal(prep(RAW, out), (int)strlen(PREPARED));
	assert_string_equal(out, PREPARED);
	/* NFKC: U+FB01 (the "fi" ligature) and U+210C (black-letter H) */
	assert_int_equal(prep("\xef\xac\x81\xe2\x84\x8c", out), 3);
	assert_string_equal(out, "fiH");
	/* U+3000 ideographic space, between non-ASCII letters */
	assert_int_equal(prep("\xc3\xa9\xe3\x80\x80\xc3\xa9", out), 5);
	assert_string_equal(out, "\xc3\xa9 \xc3\xa9");
}

/* PostgreSQL hashes these as they are. */
static void test_raw(void **state)
{
	char out[COPY_SASLPREP_MAX];
	static const char *const raw[] = {
		"pencil",			/* ASCII: unchanged */
		"tab\there",			/* ASCII control: PostgreSQL does not look */
		"\xff\xfe" "abc",		/* not UTF-8 */
		"\xc3\xa9\xc3",			/* cut in a character */
		"\xc3\xa9\x07",			/* U+0007 prohibited (C.2.1) */
		"\xc3\xa9\xef\xbf\xbd",		/* U+FFFD prohibited (C.6) */
		"\xc8\xa1x",			/* U+0221: unassigned in Unicode 3.2 */
		"\xc2\xad",			/* only a soft hyphen: nothing left */
		"\xd7\x90" "a",			/* Hebrew alef then L: bidi refused */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		memset(out, 'z', sizeof(out));
		if (prep(raw[i], out) != -1)
			fail_msg("case %zu prepared, not raw", i);
		for (size_t j = 0; j < sizeof(out); j++)
			assert_int_equal(out[j], out[j] == 'z' ? 'z' : 0);	/* wiped */
	}
	/* a NUL byte: not a C string, raw */
	assert_int_equal(copy_saslprep((const uint8_t *)"\xc3\xa9\0x", 4, out, sizeof(out)), -1);
	/* too long for out: raw (never a cut string) */
	assert_int_equal(copy_saslprep((const uint8_t *)RAW, strlen(RAW), out, 8), -1);
}

/* The credentials' SaltedPassword for the password above equals PBKDF2
 * of the prepared string, from
 * hashlib.pbkdf2_hmac("sha256", "pass word\u00e9X".encode(), bytes(range(1, 17)), 4096);
 * md5 and cleartext still get the raw bytes. */
static void test_salted_prepared(void **state)
{
	static const uint8_t want[32] = {
		0xc5, 0x3e, 0xeb, 0xa8, 0x54, 0x47, 0x95, 0xa8, 0x8b, 0x50, 0x80, 0xb4, 0x75, 0xef,
		0xc8, 0x4a, 0x3e, 0x77, 0x27, 0x5e, 0xfe, 0xcf, 0xe5, 0x3a, 0xe9, 0xe6, 0xa5, 0x17,
		0xef, 0x64, 0xc8, 0x50,
	};
	char path[64] = "/tmp/doppel-creds-XXXXXX", err[256];
	uint8_t salt[16], got[32];
	const uint8_t *pw;
	size_t len;
	int fd = mkstemp(path);

	(void)state;
	for (int i = 0; i < 16; i++)
		salt[i] = (uint8_t)(i + 1);
	assert_true(fd >= 0);
	static const char text[] = "postgres carol " RAW "\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, 0600), 0);
	close(fd);
	struct copy_credentials *c = copy_credentials_load(path, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(copy_credentials_salted(c, "carol", salt, 16, 4096, got), 0);
	assert_memory_equal(got, want, 32);
	assert_int_equal(copy_credentials_password(c, AUTH_PROTO_POSTGRES, "carol", &pw, &len), 0);
	assert_int_equal(len, strlen(RAW));
	assert_memory_equal(pw, RAW, len);
	copy_credentials_free(c);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mapped),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_salted_prepared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
