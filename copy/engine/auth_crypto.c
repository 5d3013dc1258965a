/*
 * auth_crypto.c — the methods' proofs from their definitions (see
 * auth_crypto.h), with libcrypto's digests, HMAC and PBKDF2.
 */
#include "copy/engine/auth_crypto.h"

#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

static int digest(const EVP_MD *md, const void *a, size_t a_len, const void *b, size_t b_len,
		  uint8_t *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, md, NULL) && EVP_DigestUpdate(ctx, a, a_len) &&
		 (!b_len || EVP_DigestUpdate(ctx, b, b_len)) && EVP_DigestFinal_ex(ctx, out, NULL);

	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

static void hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = 0;
}

int auth_pg_md5(const char *user, const uint8_t *password, size_t password_len,
		const uint8_t salt[4], char out[36])
{
	uint8_t d[16];
	char inner[33];

	if (digest(EVP_md5(), password, password_len, user, strlen(user), d) < 0)
		return -1;
	hex(d, 16, inner);
	if (digest(EVP_md5(), inner, 32, salt, 4, d) < 0)
		return -1;
	memcpy(out, "md5", 3);
	hex(d, 16, out + 3);
	return 0;
}

static int hmac256(const uint8_t *key, size_t key_len, const void *msg, size_t len, uint8_t out[32])
{
	unsigned out_len = 0;

	return HMAC(EVP_sha256(), key, (int)key_len, msg, len, out, &out_len) && out_len == 32
		       ? 0 : -1;
}

int auth_scram_salted(const uint8_t *password, size_t password_len, const uint8_t *salt,
		      size_t salt_len, unsigned iterations, uint8_t salted[32])
{
	/* password as PostgreSQL hashes it: doppel-copy's credentials
	 * SASLprep it first (copy/copy_saslprep.c); an ASCII password is
	 * its own normal form. */
	return PKCS5_PBKDF2_HMAC((const char *)password, (int)password_len, salt, (int)salt_len,
				 (int)iterations, EVP_sha256(), 32, salted) ? 0 : -1;
}

int auth_scram_sha256(const uint8_t *password, size_t password_len,
		      const uint8_t *salt, size_t salt_len, unsigned iterations,
		      const char *auth_message, size_t auth_message_len,
		      uint8_t proof[32], uint8_t server_signature[32])
{
	uint8_t salted[32];
	int rc = auth_scram_salted(password, password_len, salt, salt_len, iterations, salted);

	if (rc == 0)
		rc = auth_scram_proof(salted, auth_message, auth_message_len, proof,
				      server_signature);
	OPENSSL_cleanse(salted, sizeof(salted));
	return rc;
}

int auth_scram_proof(const uint8_t salted[32], const char *auth_message, size_t auth_message_len,
		     uint8_t proof[32], uint8_t server_signature[32])
{
	uint8_t client_key[32], stored_key[32], signature[32], server_key[32];
	int rc = -1;

	if (hmac256(salted, 32, "Client Key", 10, client_key) < 0 ||
	    digest(EVP_sha256(), client_key, 32, NULL, 0, stored_key) < 0 ||
	    hmac256(stored_key, 32, auth_message, auth_message_len, signature) < 0 ||
	    hmac256(salted, 32, "Server Key", 10, server_key) < 0 ||
	    hmac256(server_key, 32, auth_message, auth_message_len, server_signature) < 0)
		goto out;
	for (int i = 0; i < 32; i++)
		proof[i] = client_key[i] ^ signature[i];
	rc = 0;
out:
	/* Password-derived keys do not outlive the call. */
	OPENSSL_cleanse(client_key, sizeof(client_key));
	OPENSSL_cleanse(stored_key, sizeof(stored_key));
	OPENSSL_cleanse(server_key, sizeof(server_key));
	return rc;
}

int auth_mysql_native(const uint8_t *password, size_t password_len,
		      const uint8_t scramble[20], uint8_t out[20])
{
	uint8_t stage1[20], stage2[20], mix[20];
	int rc = -1;

	if (digest(EVP_sha1(), password, password_len, NULL, 0, stage1) == 0 &&
	    digest(EVP_sha1(), stage1, 20, NULL, 0, stage2) == 0 &&
	    digest(EVP_sha1(), scramble, 20, stage2, 20, mix) == 0) {
		for (int i = 0; i < 20; i++)
			out[i] = stage1[i] ^ mix[i];
		rc = 0;
	}
	OPENSSL_cleanse(stage1, sizeof(stage1));
	OPENSSL_cleanse(stage2, sizeof(stage2));
	return rc;
}

int auth_mysql_caching_sha2(const uint8_t *password, size_t password_len,
			    const uint8_t scramble[20], uint8_t out[32])
{
	uint8_t d1[32], d2[32], mix[32];
	int rc = -1;

	if (digest(EVP_sha256(), password, password_len, NULL, 0, d1) == 0 &&
	    digest(EVP_sha256(), d1, 32, NULL, 0, d2) == 0 &&
	    digest(EVP_sha256(), d2, 32, scramble, 20, mix) == 0) {
		for (int i = 0; i < 32; i++)
			out[i] = d1[i] ^ mix[i];
		rc = 0;
	}
	OPENSSL_cleanse(d1, sizeof(d1));
	OPENSSL_cleanse(d2, sizeof(d2));
	return rc;
}

int auth_mysql_rsa_password(const uint8_t *pem, size_t pem_len, const uint8_t *password,
			    size_t password_len, const uint8_t scramble[20], uint8_t *out,
			    size_t cap)
{
	uint8_t plain[257];
	size_t out_len = cap;
	int rc = -1;
	BIO *bio = NULL;
	EVP_PKEY *key = NULL;
	EVP_PKEY_CTX *ctx = NULL;

	if (password_len + 1 > sizeof(plain) || pem_len > 16384)
		return -1;
	memcpy(plain, password, password_len);
	plain[password_len] = 0;
	for (size_t i = 0; i <= password_len; i++)
		plain[i] ^= scramble[i % 20];
	bio = BIO_new_mem_buf(pem, (int)pem_len);
	if (bio)
		key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	if (key && EVP_PKEY_base_id(key) == EVP_PKEY_RSA)
		ctx = EVP_PKEY_CTX_new(key, NULL);
	if (ctx && EVP_PKEY_encrypt_init(ctx) > 0 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
	    EVP_PKEY_encrypt(ctx, NULL, &out_len, plain, password_len + 1) > 0 && out_len <= cap &&
	    EVP_PKEY_encrypt(ctx, out, &out_len, plain, password_len + 1) > 0)
		rc = (int)out_len;
	OPENSSL_cleanse(plain, sizeof(plain));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(key);
	BIO_free(bio);
	return rc;
}

size_t auth_base64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t need = 4 * ((len + 2) / 3);

	if (cap < need + 1)
		return 0;
	return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

int auth_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	uint8_t tmp[512];
	int n;
	size_t pad = 0;

	if (len % 4 || len / 4 * 3 > sizeof(tmp))
		return -1;
	n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
	if (n < 0)
		return -1;
	while (pad < 2 && pad < len && in[len - 1 - pad] == '=')
		pad++;
	n -= (int)pad;
	if (n < 0 || (size_t)n > cap)
		return -1;
	memcpy(out, tmp, (size_t)n);
	return n;
}
