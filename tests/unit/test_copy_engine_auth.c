/*
 * test_copy_engine_auth.c — the protocol modules' proofs against fixed
 * vectors (RFC 7677's SCRAM-SHA-256 example; PostgreSQL md5; MySQL native
 * and caching_sha2 checked the way the server checks them), and whole
 * login conversations: PostgreSQL SCRAM with the RFC's nonces, MySQL
 * native password, TLS, unknown users and wrong passwords counted by cause.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "copy/engine/auth.h"
#include "copy/engine/auth_crypto.h"

static void sha(const EVP_MD *md, const void *a, size_t al, const void *b, size_t bl, uint8_t *out)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	assert_non_null(c);
	assert_true(EVP_DigestInit_ex(c, md, NULL) && EVP_DigestUpdate(c, a, al));
	if (bl)
		assert_true(EVP_DigestUpdate(c, b, bl));
	assert_true(EVP_DigestFinal_ex(c, out, NULL));
	EVP_MD_CTX_free(c);
}

static void test_scram_rfc7677(void **state)
{
	const char *am = "n=user,r=rOprNGfwEbeRWgbNEkqO,"
			 "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
			 "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
			 "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
	uint8_t salt[32], proof[32], sig[32];
	char b64[64];
	int salt_len = auth_base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==", 24, salt, sizeof(salt));

	(void)state;
	assert_int_equal(salt_len, 16);
	assert_int_equal(auth_scram_sha256((const uint8_t *)"pencil", 6, salt, 16, 4096, am,
					   strlen(am), proof, sig), 0);
	assert_int_equal(auth_base64_encode(proof, 32, b64, sizeof(b64)), 44);
	assert_string_equal(b64, "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
	auth_base64_encode(sig, 32, b64, sizeof(b64));
	assert_string_equal(b64, "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
}

static void test_pg_md5(void **state)
{
	const uint8_t salt[4] = { 1, 2, 3, 4 };
	char out[36];

	(void)state;
	assert_int_equal(auth_pg_md5("postgres", (const uint8_t *)"secret", 6, salt, out), 0);
	/* md5 + md5(md5("secretpostgres") in hex + salt), by Python's hashlib */
	assert_string_equal(out, "md5bb41a296aab6baccb36ff243a562abff");
}

/* The server's check: stage1' = reply XOR SHA1(scramble + stored);
 * SHA1(stage1') == stored, stored = SHA1(SHA1(password)) (MySQL's
 * PASSWORD('password') is *2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19). */
static void test_mysql_native(void **state)
{
	static const uint8_t stored[20] = {
		0x24, 0x70, 0xC0, 0xC0, 0x6D, 0xEE, 0x42, 0xFD, 0x16, 0x18,
		0xBB, 0x99, 0x00, 0x5A, 0xDC, 0xA2, 0xEC, 0x9D, 0x1E, 0x19,
	};
	uint8_t scramble[20], reply[20], mix[20], check[20];

	(void)state;
	for (int i = 0; i < 20; i++)
		scramble[i] = (uint8_t)(0x21 + i * 3);
	assert_int_equal(auth_mysql_native((const uint8_t *)"password", 8, scramble, reply), 0);
	sha(EVP_sha1(), scramble, 20, stored, 20, mix);
	for (int i = 0; i < 20; i++)
		mix[i] ^= reply[i];
	sha(EVP_sha1(), mix, 20, NULL, 0, check);
	assert_memory_equal(check, stored, 20);
}

/* caching_sha2's fast path, checked as the server does: stored =
 * SHA256(SHA256(password)); SHA256(reply XOR SHA256(stored + scramble))
 * == stored. */
static void test_mysql_caching_sha2(void **state)
{
	uint8_t scramble[20], reply[32], d1[32], stored[32], mix[32], check[32];

	(void)state;
	for (int i = 0; i < 20; i++)
		scramble[i] = (uint8_t)(0x41 + i);
	sha(EVP_sha256(), "secret", 6, NULL, 0, d1);
	sha(EVP_sha256(), d1, 32, NULL, 0, stored);
	assert_int_equal(auth_mysql_caching_sha2((const uint8_t *)"secret", 6, scramble, reply), 0);
	sha(EVP_sha256(), stored, 32, scramble, 20, mix);
	for (int i = 0; i < 32; i++)
		mix[i] ^= reply[i];
	sha(EVP_sha256(), mix, 32, NULL, 0, check);
	assert_memory_equal(check, stored, 32);
	/* a wrong password fails the server's check */
	assert_int_equal(auth_mysql_caching_sha2((const uint8_t *)"secreT", 6, scramble, reply), 0);
	sha(EVP_sha256(), stored, 32, scramble, 20, mix);
	for (int i = 0; i < 32; i++)
		mix[i] ^= reply[i];
	sha(EVP_sha256(), mix, 32, NULL, 0, check);
	assert_memory_not_equal(check, stored, 32);
}

/* ---- conversations ---- */

static int passwords(void *ctx, enum auth_protocol p, const char *user, const uint8_t **pw,
		     size_t *len)
{
	(void)ctx;
	if (p == AUTH_PROTO_POSTGRES && !strcmp(user, "user")) {
		*pw = (const uint8_t *)"pencil";
		*len = 6;
		return 0;
	}
	if (p == AUTH_PROTO_MYSQL && !strcmp(user, "sbtest")) {
		*pw = (const uint8_t *)"password";
		*len = 8;
		return 0;
	}
	return -1;
}

static size_t pg_msg(uint8_t *b, char type, const void *body, size_t len)
{
	b[0] = (uint8_t)type;
	b[1] = (uint8_t)((len + 4) >> 24);
	b[2] = (uint8_t)((len + 4) >> 16);
	b[3] = (uint8_t)((len + 4) >> 8);
	b[4] = (uint8_t)(len + 4);
	memcpy(b + 5, body, len);
	return len + 5;
}

static size_t pg_auth(uint8_t *b, uint32_t code, const void *data, size_t len)
{
	uint8_t body[256] = { (uint8_t)(code >> 24), (uint8_t)(code >> 16), (uint8_t)(code >> 8),
			      (uint8_t)code };

	memcpy(body + 4, data, len);
	return pg_msg(b, 'R', body, len + 4);
}

static size_t pg_startup(uint8_t *b, const char *user)
{
	size_t n = 8;

	n += (size_t)sprintf((char *)b + n, "user") + 1;
	n += (size_t)sprintf((char *)b + n, "%s", user) + 1;
	n += (size_t)sprintf((char *)b + n, "database") + 1;
	n += (size_t)sprintf((char *)b + n, "bench") + 1;
	b[n++] = 0;
	b[0] = 0, b[1] = 0, b[2] = (uint8_t)(n >> 8), b[3] = (uint8_t)n;
	b[4] = 0, b[5] = 3, b[6] = 0, b[7] = 0;
	return n;
}

static void test_pg_scram_conversation(void **state)
{
	static const char first[] = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
	static const char server_first[] = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
					   "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
	/* what the online server's challenge made the client send */
	static const char online_final[] = "c=biws,r=rOprNGfwEbeRWgbNEkqOONLINEONLINEONLINE,"
					   "p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	struct auth_conv c;
	uint8_t m[512], body[256];
	size_t n, startup_len;

	(void)state;
	auth_conv_init(&c, AUTH_PROTO_POSTGRES, passwords, NULL);
	startup_len = pg_startup(m, "user");
	assert_int_equal(auth_conv_client(&c, m, startup_len), 0);
	assert_int_equal(auth_conv_step(&c), AUTH_CONTINUE);
	assert_int_equal(c.out.len, startup_len);	/* passed on as it is */
	c.out.len = 0;

	n = pg_auth(m, 10, "SCRAM-SHA-256\0\0", 15);
	assert_int_equal(auth_conv_target(&c, m, n), 0);
	assert_int_equal(auth_conv_step(&c), AUTH_CONTINUE);
	assert_int_equal(c.out.len, 0);		/* the client's answer not captured yet */
	memcpy(body, "SCRAM-SHA-256\0\0\0\0\x20", 18);
	memcpy(body + 18, first, 32);
	n = pg_msg(m, 'p', body, 50);
	assert_int_equal(auth_conv_client(&c, m, n), 0);
	assert_int_equal(auth_conv_step(&c), AUTH_CONTINUE);
	assert_int_equal(c.out.len, n);
	assert_memory_equal(c.out.data, m, n);
	c.out.len = 0;

	n = pg_auth(m, 11, server_first, strlen(server_first));
	assert_int_equal(auth_conv_target(&c, m, n), 0);
	n = pg_msg(m, 'p', online_final, strlen(online_final));
	assert_int_equal(auth_conv_client(&c, m, n), 0);
	/* and the client's first query, captured before the login is done */
	n = pg_msg(m, 'Q', "SELECT 1;", 10);
	assert_int_equal(auth_conv_client(&c, m, n), 0);
	assert_int_equal(auth_conv_step(&c), AUTH_CONTINUE);
	static const char want[] = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
				   "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
	assert_int_equal(c.out.len, 5 + strlen(want));
	assert_int_equal(c.out.data[0], 'p');
	assert_memory_equal(c.out.data + 5, want, strlen(want));
	c.out.len = 0;

	n = pg_auth(m, 12, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", 46);
	n += pg_auth(m + n, 0, "", 0);
	assert_int_equal(auth_conv_target(&c, m, n), 0);
	assert_int_equal(auth_conv_step(&c), AUTH_DONE);
	/* the query passes through unchanged */
	assert_int_equal(c.out.len, 15);
	assert_int_equal(c.out.data[0], 'Q');
	/* the shift: the recomputed final message is shorter than the online one */
	assert_int_equal((int64_t)c.out_total - (int64_t)c.client_in,
			 (int64_t)strlen(want) - (int64_t)strlen(online_final));
	auth_conv_free(&c);
}

static void test_pg_md5_conversation_and_causes(void **state)
{
	struct auth_conv c;
	uint8_t m[512];
	size_t n;

	(void)state;
	auth_conv_init(&c, AUTH_PROTO_POSTGRES, passwords, NULL);
	n = pg_startup(m, "user");
	auth_conv_client(&c, m, n);
	n = pg_auth(m, 5, "\x01\x02\x03\x04", 4);
	auth_conv_target(&c, m, n);
	n = pg_msg(m, 'p', "md5000000000000000000000000000000000", 36);
	auth_conv_client(&c, m, n);
	assert_int_equal(auth_conv_step(&c), AUTH_CONTINUE);
	n = c.out.len;
	assert_int_equal(c.out.data[n - 41], 'p');
	assert_memory_equal(c.out.data + n - 36, "md5", 3);
	/* the target says the password is wrong */
	static const uint8_t err[] = "SFATAL\0C28P01\0Mpassword authentication failed\0";
	n = pg_msg(m, 'E', err, sizeof(err));
	auth_conv_target(&c, m, n);
	assert_int_equal(auth_conv_step(&c), AUTH_FAILED);
	assert_int_equal(c.failure, AUTH_FAIL_WRONG_PASSWORD);
	auth_conv_free(&c);

	/* unknown user */
	auth_conv_init(&c, AUTH_PROTO_POSTGRES, passwords, NULL);
	n = pg_startup(m, "nobody");
	auth_conv_client(&c, m, n);
	assert_int_equal(auth_conv_step(&c), AUTH_FAILED);
	assert_int_equal(c.failure, AUTH_FAIL_UNKNOWN_USER);
	assert_non_null(strstr(c.detail, "nobody"));
	auth_conv_free(&c);

	/* SSLRequest accepted by the target: TLS */
	auth_conv_init(&c, AUTH_PROTO_POSTGRES, passwords, NULL);
	auth_conv_client(&c, (const uint8_t *)"\0\0\0\x08\x04\xd2\x16\x2f", 8);
	assert_int_equal(auth_conv_step(&c), AUTH_CONTINUE);
	auth_conv_target(&c, (const uint8_t *)"S", 1);
	assert_int_equal(auth_conv_step(&c), AUTH_FAILED);
	assert_int_equal(c.failure, AUTH_FAIL_TLS);
	auth_conv_free(&c);

	/* SSLRequest refused by both: the client goes on in the clear */
	auth_conv_init(&c, AUTH_PROTO_POSTGRES, passwords, NULL);
	auth_conv_client(&c, (const uint8_t *)"\0\0\0\x08\x04\xd2\x16\x2f", 8);
	auth_conv_target(&c, (const uint8_t *)"N", 1);
	n = pg_startup(m, "user");
	auth_conv_client(&c, m, n);
	assert_int_equal(auth_conv_step(&c), AUTH_CONTINUE);
	assert_int_equal(c.out.len, 8 + n);
	n = pg_auth(m, 7, "", 0);	/* GSS */
	auth_conv_target(&c, m, n);
	assert_int_equal(auth_conv_step(&c), AUTH_FAILED);
	assert_int_equal(c.failure, AUTH_FAIL_METHOD);
	auth_conv_free(&c);
}

static size_t my_packet(uint8_t *b, uint8_t seq, const void *p, size_t len)
{
	b[0] = (uint8_t)len, b[1] = (uint8_t)(len >> 8), b[2] = (uint8_t)(len >> 16), b[3] = seq;
	memcpy(b + 4, p, len);
	return len + 4;
}

static size_t my_greeting(uint8_t *b, const uint8_t scramble[20])
{
	uint8_t p[128];
	size_t n = 0;

	p[n++] = 10;
	n += (size_t)sprintf((char *)p + n, "10.11.6-MariaDB") + 1;
	memset(p + n, 7, 4), n += 4;
	memcpy(p + n, scramble, 8), n += 8;
	p[n++] = 0;
	p[n++] = 0xfe, p[n++] = 0xf7;	/* caps */
	p[n++] = 8;
	p[n++] = 2, p[n++] = 0;
	p[n++] = 0xff, p[n++] = 0x81;
	p[n++] = 21;
	memset(p + n, 0, 10), n += 10;
	memcpy(p + n, scramble + 8, 12), n += 12;
	p[n++] = 0;
	n += (size_t)sprintf((char *)p + n, "mysql_native_password") + 1;
	return my_packet(b, 0, p, n);
}

static size_t my_response(uint8_t *b, uint32_t caps, const char *user)
{
	uint8_t p[256];
	size_t n = 0;

	p[n++] = (uint8_t)caps, p[n++] = (uint8_t)(caps >> 8), p[n++] = (uint8_t)(caps >> 16);
	p[n++] = (uint8_t)(caps >> 24);
	memset(p + n, 0, 28), n += 28;
	n += (size_t)sprintf((char *)p + n, "%s", user) + 1;
	p[n++] = 20;
	memset(p + n, 0xaa, 20), n += 20;	/* the online server's answer */
	n += (size_t)sprintf((char *)p + n, "sbtest") + 1;	/* database */
	n += (size_t)sprintf((char *)p + n, "mysql_native_password") + 1;
	return my_packet(b, 1, p, n);
}

#define CAPS (0x8u | 0x200u | 0x8000u | 0x80000u)

static void test_mysql_native_conversation(void **state)
{
	uint8_t scramble[20], m[512], want[20];
	struct auth_conv c;
	size_t n, resp;

	(void)state;
	for (int i = 0; i < 20; i++)
		scramble[i] = (uint8_t)(0x30 + i);
	auth_conv_init(&c, AUTH_PROTO_MYSQL, passwords, NULL);
	n = my_greeting(m, scramble);
	auth_conv_target(&c, m, n);
	assert_int_equal(auth_conv_step(&c), AUTH_CONTINUE);
	resp = my_response(m, CAPS, "sbtest");
	auth_conv_client(&c, m, resp);
	/* a command (seq 0) right behind it */
	n = my_packet(m + resp, 0, "\x03SELECT 1", 9);
	auth_conv_client(&c, m + resp, n);
	assert_int_equal(auth_conv_step(&c), AUTH_CONTINUE);
	assert_int_equal(c.out.len, resp);	/* the same length: 20 bytes for 20 */
	assert_int_equal(auth_mysql_native((const uint8_t *)"password", 8, scramble, want), 0);
	assert_memory_equal(c.out.data + 4 + 32 + 7 + 1, want, 20);
	assert_memory_equal(c.out.data, m, 4 + 32 + 7 + 1);	/* header .. user unchanged */
	c.out.len = 0;
	n = my_packet(m, 2, "\x00\x00\x00\x02\x00\x00\x00", 7);	/* OK */
	auth_conv_target(&c, m, n);
	assert_int_equal(auth_conv_step(&c), AUTH_DONE);
	assert_int_equal(c.out.len, 13);
	assert_int_equal(c.out_total, c.client_in);
	auth_conv_free(&c);
}

static void test_mysql_causes(void **state)
{
	uint8_t scramble[20] = { 0 }, m[512];
	struct auth_conv c;
	size_t n;

	(void)state;
	/* CLIENT_SSL: TLS */
	auth_conv_init(&c, AUTH_PROTO_MYSQL, passwords, NULL);
	n = my_greeting(m, scramble);
	auth_conv_target(&c, m, n);
	n = my_response(m, CAPS | 0x800u, "sbtest");
	auth_conv_client(&c, m, n);
	assert_int_equal(auth_conv_step(&c), AUTH_FAILED);
	assert_int_equal(c.failure, AUTH_FAIL_TLS);
	auth_conv_free(&c);
	/* unknown user */
	auth_conv_init(&c, AUTH_PROTO_MYSQL, passwords, NULL);
	n = my_greeting(m, scramble);
	auth_conv_target(&c, m, n);
	n = my_response(m, CAPS, "root");
	auth_conv_client(&c, m, n);
	assert_int_equal(auth_conv_step(&c), AUTH_FAILED);
	assert_int_equal(c.failure, AUTH_FAIL_UNKNOWN_USER);
	auth_conv_free(&c);
	/* access denied */
	auth_conv_init(&c, AUTH_PROTO_MYSQL, passwords, NULL);
	n = my_greeting(m, scramble);
	auth_conv_target(&c, m, n);
	n = my_response(m, CAPS, "sbtest");
	auth_conv_client(&c, m, n);
	assert_int_equal(auth_conv_step(&c), AUTH_CONTINUE);
	n = my_packet(m, 2, "\xff\x15\x04#28000Access denied", 22);
	auth_conv_target(&c, m, n);
	assert_int_equal(auth_conv_step(&c), AUTH_FAILED);
	assert_int_equal(c.failure, AUTH_FAIL_WRONG_PASSWORD);
	auth_conv_free(&c);
	/* garbage instead of a greeting */
	auth_conv_init(&c, AUTH_PROTO_MYSQL, passwords, NULL);
	n = my_packet(m, 0, "\x09xyz", 4);
	auth_conv_target(&c, m, n);
	assert_int_equal(auth_conv_step(&c), AUTH_FAILED);
	assert_int_equal(c.failure, AUTH_FAIL_PROTOCOL);
	auth_conv_free(&c);
}

/* caching_sha2_password's full authentication over a plain connection:
 * the target asks for it (0x01 0x04), we ask for its key (0x02), it sends
 * its PEM key, we send the password XOR the scramble encrypted with it
 * (decrypted here with the private key), then OK. */
static void test_mysql_caching_sha2_full(void **state)
{
	uint8_t scramble[20], m[2048], plain[64];
	struct auth_conv c;
	size_t n, resp;
	EVP_PKEY *key = EVP_RSA_gen(2048);
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;

	(void)state;
	assert_non_null(key);
	assert_true(PEM_write_bio_PUBKEY(bio, key) == 1);
	long pem_len = BIO_get_mem_data(bio, &pem);
	for (int i = 0; i < 20; i++)
		scramble[i] = (uint8_t)(0x50 + i);
	auth_conv_init(&c, AUTH_PROTO_MYSQL, passwords, NULL);
	n = my_greeting(m, scramble);
	auth_conv_target(&c, m, n);
	resp = my_response(m, CAPS, "sbtest");
	auth_conv_client(&c, m, resp);
	assert_int_equal(auth_conv_step(&c), AUTH_CONTINUE);
	c.out.len = 0;
	n = my_packet(m, 2, "\x01\x04", 2);
	auth_conv_target(&c, m, n);
	assert_int_equal(auth_conv_step(&c), AUTH_CONTINUE);
	assert_int_equal(c.out.len, 5);
	assert_memory_equal(c.out.data, "\x01\0\0\x03\x02", 5);	/* seq 3: ask for the key */
	c.out.len = 0;
	m[4] = 0x01;
	memcpy(m + 5, pem, (size_t)pem_len);
	n = (size_t)pem_len + 1;
	m[0] = (uint8_t)n, m[1] = (uint8_t)(n >> 8), m[2] = 0, m[3] = 4;
	auth_conv_target(&c, m, n + 4);
	assert_int_equal(auth_conv_step(&c), AUTH_CONTINUE);
	assert_int_equal(c.out.len, 4 + 256);
	assert_int_equal(c.out.data[3], 5);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	size_t plain_len = sizeof(plain);
	assert_true(EVP_PKEY_decrypt_init(ctx) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0);
	uint8_t big[512];
	plain_len = sizeof(big);
	assert_true(EVP_PKEY_decrypt(ctx, big, &plain_len, c.out.data + 4, 256) > 0);
	assert_int_equal(plain_len, 9);
	for (size_t i = 0; i < plain_len; i++)
		plain[i] = big[i] ^ scramble[i % 20];
	assert_memory_equal(plain, "password\0", 9);
	c.out.len = 0;
	n = my_packet(m, 6, "\x00\x00\x00\x02\x00\x00\x00", 7);
	auth_conv_target(&c, m, n);
	assert_int_equal(auth_conv_step(&c), AUTH_DONE);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(key);
	BIO_free(bio);
	auth_conv_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scram_rfc7677),
		cmocka_unit_test(test_pg_md5),
		cmocka_unit_test(test_mysql_native),
		cmocka_unit_test(test_mysql_caching_sha2),
		cmocka_unit_test(test_pg_scram_conversation),
		cmocka_unit_test(test_pg_md5_conversation_and_causes),
		cmocka_unit_test(test_mysql_native_conversation),
		cmocka_unit_test(test_mysql_causes),
		cmocka_unit_test(test_mysql_caching_sha2_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
