/*
 * tls_files.c — the certificates and keys of tls_files.h, made with
 * OpenSSL's API (P-256 keys, SHA-256 signatures).
 */
#include "tls_files.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/wire/wire_tls.h"

static EVP_PKEY *make_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	assert_non_null(k);
	return k;
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(cert, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* A certificate for key named cn, signed by issuer (NULL: self-signed
 * CA), valid from not_before to not_after seconds from now; ip adds an
 * IP subjectAltName. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
		       const char *ip, long not_before, long not_after)
{
	static long serial = 1;
	X509 *c = X509_new();
	X509_NAME *name;
	char san[64];

	assert_non_null(c);
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
	X509_gmtime_adj(X509_getm_notBefore(c), not_before);
	X509_gmtime_adj(X509_getm_notAfter(c), not_after);
	X509_set_pubkey(c, key);
	name = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
	if (!issuer) {
		add_ext(c, NULL, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(c, NULL, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(c, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(c, issuer, NID_ext_key_usage, "serverAuth,clientAuth");
	}
	if (ip) {
		snprintf(san, sizeof(san), "IP:%s", ip);
		add_ext(c, issuer, NID_subject_alt_name, san);
	}
	assert_true(X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
	return c;
}

static void write_cert(const char *path, X509 *c)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, c), 1);
	fclose(f);
}

static void write_key(const char *path, EVP_PKEY *k)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FILE *f = fdopen(fd, "w");

	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
}

#define PATH(field, name) snprintf(t->field, sizeof(t->field), "%s/%s", t->dir, name)

/* A leaf certificate and key signed by ca into cert_path and key_path. */
static void leaf(const char *cert_path, const char *key_path, const char *cn, X509 *ca,
		 EVP_PKEY *ca_key, const char *ip, long not_before, long not_after)
{
	EVP_PKEY *k = make_key();
	X509 *c = make_cert(k, cn, ca, ca_key, ip, not_before, not_after);

	write_cert(cert_path, c);
	write_key(key_path, k);
	X509_free(c);
	EVP_PKEY_free(k);
}

void tls_files_make(struct tls_files *t)
{
	const long day = 86400;
	EVP_PKEY *ka = make_key(), *kb = make_key();
	X509 *a, *b;

	snprintf(t->dir, sizeof(t->dir), "/tmp/doppel-tls-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	PATH(ca, "ca.pem");
	PATH(ca_other, "ca-other.pem");
	PATH(server_cert, "server.pem");
	PATH(server_key, "server.key");
	PATH(client_cert, "client.pem");
	PATH(client_key, "client.key");
	PATH(rogue_cert, "rogue.pem");
	PATH(rogue_key, "rogue.key");
	PATH(expired_cert, "expired.pem");
	PATH(expired_key, "expired.key");
	PATH(wrong_ip_cert, "wrong-ip.pem");
	PATH(wrong_ip_key, "wrong-ip.key");
	PATH(psk, "psk");
	PATH(psk_wrong, "psk-wrong");
	PATH(psk_open, "psk-open");
	a = make_cert(ka, "doppel test CA A", NULL, NULL, NULL, -day, 30 * day);
	b = make_cert(kb, "doppel test CA B", NULL, NULL, NULL, -day, 30 * day);
	write_cert(t->ca, a);
	write_cert(t->ca_other, b);
	leaf(t->server_cert, t->server_key, "intercept", a, ka, "127.0.0.1", -day, 30 * day);
	leaf(t->client_cert, t->client_key, "copy", a, ka, NULL, -day, 30 * day);
	leaf(t->rogue_cert, t->rogue_key, "rogue", b, kb, "127.0.0.1", -day, 30 * day);
	leaf(t->expired_cert, t->expired_key, "expired", a, ka, "127.0.0.1", -30 * day, -day);
	leaf(t->wrong_ip_cert, t->wrong_ip_key, "elsewhere", a, ka, "127.0.0.2", -day, 30 * day);
	write_text(t->psk, "doppel-test:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
		   0600);
	write_text(t->psk_wrong, "doppel-test:ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n",
		   0600);
	write_text(t->psk_open, "doppel-test:00112233445566778899aabbccddeeff\n", 0644);
	X509_free(a);
	X509_free(b);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
}

void tls_files_remove(struct tls_files *t)
{
	const char *files[] = {
		t->ca, t->ca_other, t->server_cert, t->server_key, t->client_cert, t->client_key,
		t->rogue_cert, t->rogue_key, t->expired_cert, t->expired_key, t->wrong_ip_cert,
		t->wrong_ip_key, t->psk, t->psk_wrong, t->psk_open,
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	rmdir(t->dir);
}

struct wire_tls *tls_files_context(const char *cert, const char *key, const char *ca,
				   const char *psk, bool server)
{
	struct wire_tls_options o = { cert, key, ca, psk };
	char err[256];
	struct wire_tls *t = wire_tls_new(&o, server, err, sizeof(err));

	if (!t)
		fail_msg("wire_tls_new: %s", err);
	return t;
}
