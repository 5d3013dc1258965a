/*
 * test_copy_credentials.c — the credentials file: entries found by
 * protocol and user (passwords with blanks), a file others may read
 * refused, bad lines named by number without their password, and
 * --protocol's parser and checks.
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
#include "copy/engine/auth_crypto.h"
#include "copy/copy_options.h"

static void write_file(char *path, const char *text, mode_t mode)
{
	strcpy(path, "/tmp/doppel-creds-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_lookup(void **state)
{
	char path[64], err[256];
	const uint8_t *pw;
	size_t len;

	(void)state;
	write_file(path, "# doppel credentials\n\npostgres user pencil\n"
			 "  mysql\tsbtest  pass word with blanks\r\n"
			 "mariadb root r00t\n", 0600);
	struct copy_credentials *c = copy_credentials_load(path, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(copy_credentials_count(c), 3);
	assert_int_equal(copy_credentials_password(c, AUTH_PROTO_POSTGRES, "user", &pw, &len), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(pw, "pencil", 6);
	assert_int_equal(copy_credentials_password(c, AUTH_PROTO_MYSQL, "sbtest", &pw, &len), 0);
	assert_int_equal(len, strlen("pass word with blanks"));
	assert_memory_equal(pw, "pass word with blanks", len);
	assert_int_equal(copy_credentials_password(c, AUTH_PROTO_MYSQL, "root", &pw, &len), 0);
	/* the protocol is part of the key */
	assert_int_equal(copy_credentials_password(c, AUTH_PROTO_POSTGRES, "sbtest", &pw, &len), -1);
	assert_int_equal(copy_credentials_password(c, AUTH_PROTO_MYSQL, "nobody", &pw, &len), -1);
	copy_credentials_free(c);
	unlink(path);
}

/* SCRAM's SaltedPassword: what PBKDF2 gives, the same again for the same
 * salt (from the cache; this test cannot tell it from a recomputation),
 * another for another salt or iteration count; unknown users refused. */
static void test_salted_cache(void **state)
{
	char path[64], err[256];
	uint8_t want[32], got[32], again[32], other[32];
	const uint8_t salt[16] = { 7, 7, 7 }, salt2[16] = { 8 };

	(void)state;
	write_file(path, "postgres user pencil\n", 0600);
	struct copy_credentials *c = copy_credentials_load(path, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(auth_scram_salted((const uint8_t *)"pencil", 6, salt, 16, 4096, want), 0);
	assert_int_equal(copy_credentials_salted(c, "user", salt, 16, 4096, got), 0);
	assert_memory_equal(got, want, 32);
	assert_int_equal(copy_credentials_salted(c, "user", salt, 16, 4096, again), 0);
	assert_memory_equal(again, want, 32);
	assert_int_equal(copy_credentials_salted(c, "user", salt2, 16, 4096, other), 0);
	assert_memory_not_equal(other, want, 32);
	assert_int_equal(copy_credentials_salted(c, "user", salt, 16, 4097, other), 0);
	assert_memory_not_equal(other, want, 32);
	assert_int_equal(copy_credentials_salted(c, "nobody", salt, 16, 4096, other), -1);
	copy_credentials_free(c);
	unlink(path);
}

static void test_mode_refused(void **state)
{
	const mode_t modes[] = { 0644, 0640, 0604, 0620, 0602 };
	char path[64], err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		write_file(path, "postgres user pencil\n", modes[i]);
		assert_null(copy_credentials_load(path, err, sizeof(err)));
		assert_non_null(strstr(err, "chmod 600"));
		unlink(path);
	}
	write_file(path, "postgres user pencil\n", 0400);	/* stricter: fine */
	struct copy_credentials *c = copy_credentials_load(path, err, sizeof(err));
	assert_non_null(c);
	copy_credentials_free(c);
	unlink(path);
	assert_null(copy_credentials_load("/tmp", err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	assert_null(copy_credentials_load("/nonexistent/creds", err, sizeof(err)));
}

static void test_bad_lines(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "postgres user\n", "line 1: not \"PROTOCOL USER PASSWORD\"" },
		{ "# c\nredis user s3cret\n", "line 2: unknown protocol" },
		{ "postgres user s3cret\npostgres user s3cret2\n", "line 2: the user is listed twice" },
		{ "postgres\n", "line 1: not" },
		{ "mysql u s3cret\0x\n", NULL },
	};
	char path[64], err[256];

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		write_file(path, cases[i].text, 0600);
		assert_null(copy_credentials_load(path, err, sizeof(err)));
		assert_non_null(strstr(err, cases[i].want));
		assert_null(strstr(err, "s3cret"));	/* never the password */
		unlink(path);
	}
}

static void test_protocol_option(void **state)
{
	struct engine_auth_port p[ENGINE_MAX_AUTH_PORTS];
	size_t n = 0;
	char err[256];

	(void)state;
	assert_int_equal(copy_parse_protocols("5432=postgres,3306=mariadb", p, ENGINE_MAX_AUTH_PORTS,
					      &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].port, 5432);
	assert_int_equal(p[0].protocol, AUTH_PROTO_POSTGRES);
	assert_int_equal(p[1].protocol, AUTH_PROTO_MYSQL);
	assert_int_equal(copy_parse_protocols("5432=redis", p, 16, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown protocol"));
	assert_int_equal(copy_parse_protocols("0=postgres", p, 16, &n, err, sizeof(err)), -1);
	assert_int_equal(copy_parse_protocols("5432", p, 16, &n, err, sizeof(err)), -1);
	assert_int_equal(copy_parse_protocols("1=mysql,1=mysql", p, 16, &n, err, sizeof(err)), -1);
	assert_int_equal(n, 2);	/* untouched on error */
}

/* --protocol PORT=NAME:pooled and the credentials' "pooled" lines. */
static void test_pooled(void **state)
{
	struct engine_auth_port p[ENGINE_MAX_AUTH_PORTS];
	struct engine_config cfg;
	size_t n = 0;
	char path[64], err[256];
	const char *user, *db;

	(void)state;
	assert_int_equal(copy_parse_protocols("5432=postgres:pooled,3306=mysql", p, 16, &n, err,
					      sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_true(p[0].pooled);
	assert_false(p[1].pooled);
	assert_int_equal(copy_parse_protocols("5432=postgres:pool", p, 16, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown flag"));

	write_file(path, "pooled postgres app appdb\npostgres app s3cret\n"
			 "pooled mysql sb\nmysql sb s3cret\n", 0600);
	struct copy_credentials *c = copy_credentials_load(path, err, sizeof(err));
	assert_non_null(c);
	unlink(path);
	assert_int_equal(copy_credentials_count(c), 2);
	assert_int_equal(copy_credentials_pooled(c, AUTH_PROTO_POSTGRES, &user, &db), 0);
	assert_string_equal(user, "app");
	assert_string_equal(db, "appdb");
	assert_int_equal(copy_credentials_pooled(c, AUTH_PROTO_MYSQL, &user, &db), 0);
	assert_string_equal(db, "");
	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.auth_ports, p, 2 * sizeof(p[0]));
	cfg.auth_port_count = 2;
	assert_int_equal(copy_credentials_pooled_config(c, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.auth_pooled[AUTH_PROTO_POSTGRES].user, "app");
	assert_string_equal(cfg.auth_pooled[AUTH_PROTO_POSTGRES].database, "appdb");
	copy_credentials_free(c);

	/* a pooled port needs the protocol's pooled line, and its user a password */
	write_file(path, "pooled mysql sb\npostgres app s3cret\n", 0600);
	c = copy_credentials_load(path, err, sizeof(err));
	unlink(path);
	assert_int_equal(copy_credentials_pooled_config(c, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no \"pooled postgres USER [DATABASE]\" line"));
	copy_credentials_free(c);
	write_file(path, "pooled postgres nobody\npostgres app s3cret\n", 0600);
	c = copy_credentials_load(path, err, sizeof(err));
	unlink(path);
	assert_int_equal(copy_credentials_pooled_config(c, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no password for the pooled postgres user 'nobody'"));
	copy_credentials_free(c);

	static const char *const bad[] = {
		"pooled postgres\n", "pooled redis u\n", "pooled mysql a b c\n",
		"pooled mysql a\npooled mysql b\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i], 0600);
		assert_null(copy_credentials_load(path, err, sizeof(err)));
		assert_non_null(strstr(err, "line"));
		unlink(path);
	}
}

static enum copy_options_result parse(struct copy_options *o, char **argv, char *err, size_t len)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return copy_options_parse(o, argc, argv, err, len);
}

static void test_protocol_needs_credentials_and_a_transfer(void **state)
{
	struct copy_options o;
	char err[256];
	char *no_creds[] = { "doppel-copy", "-x", "5432-198.18.0.3:5432", "-s", "198.18.0.4",
			     "--protocol", "5432=postgres", NULL };
	char *no_port[] = { "doppel-copy", "-x", "5432-198.18.0.3:5433", "-s", "198.18.0.4",
			    "--protocol", "5432=postgres", "--credentials", "/x", NULL };
	char *good[] = { "doppel-copy", "-x", "5432-198.18.0.3:5432", "-s", "198.18.0.4",
			 "--protocol", "5432=postgres", "--credentials", "/x", NULL };

	(void)state;
	assert_int_equal(parse(&o, no_creds, err, sizeof(err)), COPY_OPTIONS_ERROR);
	assert_non_null(strstr(err, "--credentials"));
	copy_options_free(&o);
	assert_int_equal(parse(&o, no_port, err, sizeof(err)), COPY_OPTIONS_ERROR);
	assert_non_null(strstr(err, "target port 5432"));
	copy_options_free(&o);
	assert_int_equal(parse(&o, good, err, sizeof(err)), COPY_OPTIONS_RUN);
	assert_int_equal(o.protocol_count, 1);
	assert_string_equal(o.credentials_file, "/x");
	copy_options_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_salted_cache),
		cmocka_unit_test(test_mode_refused),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_protocol_option),
		cmocka_unit_test(test_pooled),
		cmocka_unit_test(test_protocol_needs_credentials_and_a_transfer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
