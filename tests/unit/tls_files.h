/*
 * tls_files.h — certificates, keys and PSK files for the TLS tests, made
 * with OpenSSL's API into a fresh temporary folder: two CAs (A trusted, B
 * not), an intercept certificate for 127.0.0.1, a copy daemon's
 * certificate, one from CA B, an expired one, one for another address,
 * and PSK files (right, wrong, readable by others).
 */
#ifndef DOPPEL_TEST_TLS_FILES_H
#define DOPPEL_TEST_TLS_FILES_H

#include <stdbool.h>
#include <stddef.h>

struct tls_files {
	char dir[64];
	char ca[96], ca_other[96];			/* CA A, CA B */
	char server_cert[96], server_key[96];		/* A, IP 127.0.0.1 */
	char client_cert[96], client_key[96];		/* A */
	char rogue_cert[96], rogue_key[96];		/* B, IP 127.0.0.1 */
	char expired_cert[96], expired_key[96];		/* A, IP 127.0.0.1, expired */
	char wrong_ip_cert[96], wrong_ip_key[96];	/* A, IP 127.0.0.2 */
	char psk[96], psk_wrong[96], psk_open[96];	/* same identity; wrong key; mode 0644 */
};

/* Make them all; fails the test (cmocka) when OpenSSL cannot. */
void tls_files_make(struct tls_files *t);
struct wire_tls;
/* A context from these files (NULL paths: not given); fails the test
 * when it cannot be made. */
struct wire_tls *tls_files_context(const char *cert, const char *key, const char *ca,
				   const char *psk, bool server);
/* Remove the folder and what is in it. */
void tls_files_remove(struct tls_files *t);

#endif
