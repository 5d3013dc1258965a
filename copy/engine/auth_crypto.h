/*
 * auth_crypto.h — the proofs of the authentication methods doppel replays
 * (docs/stateful.md), computed from their definitions with OpenSSL's
 * libcrypto. Pure functions: no I/O, no clock, no randomness.
 */
#ifndef DOPPEL_AUTH_CRYPTO_H
#define DOPPEL_AUTH_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* PostgreSQL md5: "md5" + hex(md5(hex(md5(password + user)) + salt)),
 * 35 characters and a NUL into out[36]. 0, or -1 on a libcrypto failure. */
int auth_pg_md5(const char *user, const uint8_t *password, size_t password_len,
		const uint8_t salt[4], char out[36]);

/* SCRAM-SHA-256 (RFC 5802, 7677): the ClientProof and the ServerSignature
 * expected for auth_message, from the password, the salt and the
 * iteration count. 0, or -1. */
int auth_scram_sha256(const uint8_t *password, size_t password_len,
		      const uint8_t *salt, size_t salt_len, unsigned iterations,
		      const char *auth_message, size_t auth_message_len,
		      uint8_t proof[32], uint8_t server_signature[32]);

/* The same in two steps: SaltedPassword (PBKDF2-HMAC-SHA-256, the
 * expensive part, which a caller may keep per user, salt and iteration
 * count), then the proof from it. 0, or -1. */
int auth_scram_salted(const uint8_t *password, size_t password_len, const uint8_t *salt,
		      size_t salt_len, unsigned iterations, uint8_t salted[32]);
int auth_scram_proof(const uint8_t salted[32], const char *auth_message, size_t auth_message_len,
		     uint8_t proof[32], uint8_t server_signature[32]);

/* MySQL mysql_native_password: SHA1(password) XOR
 * SHA1(scramble + SHA1(SHA1(password))); 20 bytes. 0, or -1. */
int auth_mysql_native(const uint8_t *password, size_t password_len,
		      const uint8_t scramble[20], uint8_t out[20]);

/* MySQL caching_sha2_password's scramble (fast path): SHA256(password)
 * XOR SHA256(SHA256(SHA256(password)) + scramble); 32 bytes. 0, or -1. */
int auth_mysql_caching_sha2(const uint8_t *password, size_t password_len,
			    const uint8_t scramble[20], uint8_t out[32]);

/* caching_sha2_password's full authentication over a plain connection:
 * (password + NUL) XOR the scramble (repeated), encrypted with the
 * server's RSA public key (PEM, as the server sent it) with OAEP padding.
 * The ciphertext's length, or -1 (bad key, no room). OAEP draws random
 * bytes from libcrypto's generator: the one thing here that is not a
 * function of its input (no I/O or clock of ours). */
int auth_mysql_rsa_password(const uint8_t *pem, size_t pem_len, const uint8_t *password,
			    size_t password_len, const uint8_t scramble[20], uint8_t *out,
			    size_t cap);

/* Base64 (RFC 4648, padded): encode len bytes into out (cap with the NUL);
 * the length written, or 0 when it does not fit. Decode: the length
 * decoded, or -1 on bad input or no room. */
size_t auth_base64_encode(const uint8_t *in, size_t len, char *out, size_t cap);
int auth_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap);

#endif
