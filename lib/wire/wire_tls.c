/*
 * wire_tls.c — the transport of wire_tls.h: OpenSSL contexts for TLS 1.3
 * with mutual certificates or an external pre-shared key, and the
 * non-blocking read, write and handshake of one connection, plain or TLS.
 */
#include "lib/wire/wire_tls.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define PSK_MAX_IDENTITY 128
#define PSK_MIN_KEY 16
#define PSK_MAX_KEY 48		/* what an SSL_SESSION's master key holds */

struct wire_tls {
	SSL_CTX *ctx;
	bool server;
	bool psk;
	char identity[PSK_MAX_IDENTITY + 1];
	unsigned char key[PSK_MAX_KEY];
	size_t key_len;
};

int wire_tls_paths_set(struct wire_tls_paths *p, int which, const char *value, char *err,
		       size_t errlen)
{
	char **field[] = { &p->cert, &p->key, &p->ca, &p->psk_file };
	char *copy;

	if (which < 0 || which > 3 || !value || !*value) {
		snprintf(err, errlen, "empty value");
		return -1;
	}
	copy = strdup(value);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(*field[which]);
	*field[which] = copy;
	return 0;
}

void wire_tls_paths_free(struct wire_tls_paths *p)
{
	free(p->cert);
	free(p->key);
	free(p->ca);
	free(p->psk_file);
	*p = (struct wire_tls_paths){ 0 };
}

bool wire_tls_options_given(const struct wire_tls_options *o)
{
	return o->cert || o->key || o->ca || o->psk_file;
}

int wire_tls_options_check(const struct wire_tls_options *o, char *err, size_t errlen)
{
	bool certs = o->cert || o->key || o->ca;

	if (o->psk_file && certs) {
		snprintf(err, errlen, "--tls-psk-file excludes --tls-cert, --tls-key and --tls-ca: "
			 "choose certificates or a pre-shared key");
		return -1;
	}
	if (certs && !(o->cert && o->key && o->ca)) {
		char missing[48] = "";

		if (!o->cert)
			strcat(missing, " --tls-cert");
		if (!o->key)
			strcat(missing, " --tls-key");
		if (!o->ca)
			strcat(missing, " --tls-ca");
		snprintf(err, errlen, "TLS with certificates needs all of --tls-cert, --tls-key and "
			 "--tls-ca (missing:%s)", missing);
		return -1;
	}
	return 0;
}

/* The last OpenSSL error as text (the queue emptied), or fallback. */
static void openssl_reason(char *buf, size_t len, const char *fallback)
{
	unsigned long e = ERR_peek_last_error();

	if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "%s", fallback);
	ERR_clear_error();
}

/* A secret must be readable by its owner only: refused when group or
 * others may read or write it. */
static int check_private_file(const char *path, const char *what, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s: not a regular file", what, path);
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "%s %s: mode %03o lets group or others read it; "
			 "chmod 600 it", what, path, (unsigned)(st.st_mode & 0777));
		return -1;
	}
	return 0;
}

static int hex_value(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* "IDENTITY:HEX" with an optional newline. Errors name the file and what
 * is wrong, never the key. */
static int read_psk_file(struct wire_tls *t, const char *path, char *err, size_t errlen)
{
	char line[PSK_MAX_IDENTITY + 2 * PSK_MAX_KEY + 8];
	FILE *f;
	size_t n;
	char *colon, *hex;

	if (check_private_file(path, "PSK file", err, errlen) < 0)
		return -1;
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "PSK file %s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (strchr(line, '\n') || n == sizeof(line) - 1) {
		snprintf(err, errlen, "PSK file %s: one line IDENTITY:HEX expected", path);
		goto bad;
	}
	colon = strchr(line, ':');
	if (!colon || colon == line || colon - line > PSK_MAX_IDENTITY) {
		snprintf(err, errlen, "PSK file %s: IDENTITY:HEX expected, the identity 1 to %d "
			 "characters", path, PSK_MAX_IDENTITY);
		goto bad;
	}
	for (const char *p = line; p < colon; p++)
		if (!isprint((unsigned char)*p)) {
			snprintf(err, errlen, "PSK file %s: the identity has a character that is "
				 "not printable", path);
			goto bad;
		}
	hex = colon + 1;
	n = strlen(hex);
	if (n % 2 || n / 2 < PSK_MIN_KEY || n / 2 > PSK_MAX_KEY) {
		snprintf(err, errlen, "PSK file %s: the key must be %d to %d bytes in hexadecimal "
			 "(an even number of digits)", path, PSK_MIN_KEY, PSK_MAX_KEY);
		goto bad;
	}
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_value((unsigned char)hex[2 * i]), lo = hex_value((unsigned char)hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			snprintf(err, errlen, "PSK file %s: the key is not hexadecimal", path);
			goto bad;
		}
		t->key[i] = (unsigned char)(hi << 4 | lo);
	}
	t->key_len = n / 2;
	memcpy(t->identity, line, (size_t)(colon - line));
	t->identity[colon - line] = '\0';
	OPENSSL_cleanse(line, sizeof(line));
	return 0;
bad:
	OPENSSL_cleanse(line, sizeof(line));
	return -1;
}

/* An SSL_SESSION carrying the external PSK (RFC 8446 2.2), the way
 * OpenSSL's TLS 1.3 PSK callbacks want it. */
static SSL_SESSION *psk_session(SSL *ssl, const struct wire_tls *t)
{
	static const unsigned char aes128gcm_sha256[] = { 0x13, 0x01 };
	const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, aes128gcm_sha256);
	SSL_SESSION *s;

	if (!cipher)
		return NULL;
	s = SSL_SESSION_new();
	if (!s)
		return NULL;
	if (!SSL_SESSION_set1_master_key(s, t->key, t->key_len) ||
	    !SSL_SESSION_set_cipher(s, cipher) ||
	    !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
		SSL_SESSION_free(s);
		return NULL;
	}
	return s;
}

static int psk_use_session(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
			   SSL_SESSION **sess)
{
	const struct wire_tls *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

	*sess = NULL;
	/* Our PSK is for SHA-256 only (TLS_AES_128_GCM_SHA256). */
	if (md && md != EVP_sha256())
		return 1;
	*sess = psk_session(ssl, t);
	if (!*sess)
		return 0;
	*id = (const unsigned char *)t->identity;
	*idlen = strlen(t->identity);
	return 1;
}

static int psk_find_session(SSL *ssl, const unsigned char *identity, size_t identity_len,
			    SSL_SESSION **sess)
{
	const struct wire_tls *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

	*sess = NULL;
	/* An unknown identity: no PSK, and with no certificate the
	 * handshake fails. */
	if (identity_len != strlen(t->identity) || memcmp(identity, t->identity, identity_len))
		return 1;
	*sess = psk_session(ssl, t);
	return *sess ? 1 : 0;
}

static int load_certificates(struct wire_tls *t, const struct wire_tls_options *o, char *err,
			     size_t errlen)
{
	char why[200];

	if (check_private_file(o->key, "TLS key", err, errlen) < 0)
		return -1;
	if (SSL_CTX_use_certificate_chain_file(t->ctx, o->cert) != 1) {
		openssl_reason(why, sizeof(why), "unreadable");
		snprintf(err, errlen, "TLS certificate %s: %s", o->cert, why);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(t->ctx, o->key, SSL_FILETYPE_PEM) != 1) {
		openssl_reason(why, sizeof(why), "unreadable");
		snprintf(err, errlen, "TLS key %s: %s", o->key, why);
		return -1;
	}
	if (SSL_CTX_check_private_key(t->ctx) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "TLS key %s does not belong to the certificate %s", o->key,
			 o->cert);
		return -1;
	}
	if (SSL_CTX_load_verify_locations(t->ctx, o->ca, NULL) != 1) {
		openssl_reason(why, sizeof(why), "unreadable");
		snprintf(err, errlen, "TLS CA file %s: %s", o->ca, why);
		return -1;
	}
	/* The intercept requires the copy daemon's certificate; the copy
	 * daemon checks the intercept's. */
	SSL_CTX_set_verify(t->ctx, t->server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT :
			   SSL_VERIFY_PEER, NULL);
	return 0;
}

struct wire_tls *wire_tls_new(const struct wire_tls_options *o, bool server, char *err,
			      size_t errlen)
{
	struct wire_tls *t;

	if (wire_tls_options_check(o, err, errlen) < 0)
		return NULL;
	if (!wire_tls_options_given(o)) {
		snprintf(err, errlen, "no TLS option given");
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->server = server;
	t->psk = o->psk_file != NULL;
	t->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!t->ctx) {
		snprintf(err, errlen, "cannot make a TLS context");
		goto fail;
	}
	SSL_CTX_set_app_data(t->ctx, t);
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_3_VERSION);
	/* wire_output resends from a buffer that may move or grow between
	 * tries, and takes what a partial write took. */
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* A peer that closes without close_notify is a peer that closed: the
	 * daemons close by closing. */
	SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
	/* No resumption: one long connection per pair, and no tickets means
	 * no writes the event loop did not ask for. */
	SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF);
	if (server)
		SSL_CTX_set_num_tickets(t->ctx, 0);
	if (t->psk) {
		if (read_psk_file(t, o->psk_file, err, errlen) < 0)
			goto fail;
		if (SSL_CTX_set_ciphersuites(t->ctx, "TLS_AES_128_GCM_SHA256") != 1) {
			snprintf(err, errlen, "OpenSSL refuses TLS_AES_128_GCM_SHA256");
			goto fail;
		}
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
		if (server)
			SSL_CTX_set_psk_find_session_callback(t->ctx, psk_find_session);
		else
			SSL_CTX_set_psk_use_session_callback(t->ctx, psk_use_session);
	} else if (load_certificates(t, o, err, errlen) < 0) {
		goto fail;
	}
	return t;
fail:
	ERR_clear_error();
	wire_tls_free(t);
	return NULL;
}

void wire_tls_free(struct wire_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	OPENSSL_cleanse(t->key, sizeof(t->key));
	free(t);
}

int wire_tls_check(const struct wire_tls_paths *p, bool server, char *err, size_t errlen)
{
	struct wire_tls_options o = wire_tls_options_of(p);
	struct wire_tls *t;

	if (!wire_tls_options_given(&o))
		return 0;
	t = wire_tls_new(&o, server, err, errlen);
	wire_tls_free(t);
	return t ? 0 : -1;
}

const char *wire_tls_mode(const struct wire_tls *t)
{
	return t->psk ? "pre-shared key" : "certificates";
}

void wire_conn_plain(struct wire_conn *c, int fd)
{
	*c = (struct wire_conn){ .fd = fd, .handshake_done = true };
}

int wire_conn_tls(struct wire_conn *c, struct wire_tls *t, int fd, const char *peer_host,
		  char *err, size_t errlen)
{
	SSL *ssl;

	wire_conn_plain(c, fd);
	ssl = SSL_new(t->ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		ERR_clear_error();
		snprintf(err, errlen, "cannot make a TLS session");
		return -1;
	}
	if (!t->server && !t->psk && peer_host) {
		unsigned char buf[16];
		bool ip = inet_pton(AF_INET, peer_host, buf) == 1 ||
			  inet_pton(AF_INET6, peer_host, buf) == 1;
		int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), peer_host) :
			      SSL_set1_host(ssl, peer_host) &&
			      SSL_set_tlsext_host_name(ssl, peer_host);

		if (ok != 1) {
			SSL_free(ssl);
			ERR_clear_error();
			snprintf(err, errlen, "cannot check the certificate against %s", peer_host);
			return -1;
		}
	}
	if (t->server)
		SSL_set_accept_state(ssl);
	else
		SSL_set_connect_state(ssl);
	c->ssl = ssl;
	c->handshake_done = false;
	return 0;
}

void wire_conn_free(struct wire_conn *c)
{
	SSL_free(c->ssl);
	wire_conn_plain(c, c->fd);
}

/* After an SSL call returned ret <= 0: -1 with errno, and c->want_write
 * or c->error set. 0 for a clean close. */
static ssize_t tls_result(struct wire_conn *c, int ret, const char *what)
{
	int saved = errno;
	int e = SSL_get_error(c->ssl, ret);
	char why[160];

	switch (e) {
	case SSL_ERROR_WANT_READ:
		c->want_write = false;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		c->want_write = true;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (saved == 0)
			return 0;	/* EOF (SSL_OP_IGNORE_UNEXPECTED_EOF) */
		errno = saved;
		return -1;
	default:
		openssl_reason(why, sizeof(why), "TLS error");
		snprintf(c->error, sizeof(c->error), "TLS %s: %s", what, why);
		errno = EPROTO;
		return -1;
	}
}

int wire_conn_handshake(struct wire_conn *c)
{
	int ret;
	ssize_t r;

	if (c->handshake_done)
		return 1;
	ERR_clear_error();
	errno = 0;
	ret = SSL_do_handshake(c->ssl);
	if (ret == 1) {
		c->handshake_done = true;
		c->want_write = false;
		return 1;
	}
	r = tls_result(c, ret, "handshake");
	if (r < 0 && errno == EAGAIN)
		return 0;
	if (r == 0) {
		snprintf(c->error, sizeof(c->error),
			 "TLS handshake: the peer closed the connection (it may speak plain text, "
			 "or refused our certificate or key)");
	} else if (errno != EPROTO) {
		snprintf(c->error, sizeof(c->error), "TLS handshake: %s", strerror(errno));
	}
	/* Say why our side refused the peer's certificate, not just that it
	 * did. */
	long v = SSL_get_verify_result(c->ssl);
	if (v != X509_V_OK) {
		size_t used = strlen(c->error);

		snprintf(c->error + used, sizeof(c->error) - used, " (peer certificate: %s)",
			 X509_verify_cert_error_string(v));
	}
	return -1;
}

ssize_t wire_conn_read(struct wire_conn *c, void *buf, size_t len)
{
	size_t got = 0;
	int ret;

	if (!c->ssl)
		return read(c->fd, buf, len);
	ERR_clear_error();
	errno = 0;
	ret = SSL_read_ex(c->ssl, buf, len, &got);
	if (ret == 1)
		return (ssize_t)got;
	return tls_result(c, 0, "read");
}

ssize_t wire_conn_write(struct wire_conn *c, const void *buf, size_t len)
{
	size_t put = 0;
	int ret;

	if (!c->ssl)
		return send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (len == 0)
		return 0;
	ERR_clear_error();
	errno = 0;
	ret = SSL_write_ex(c->ssl, buf, len, &put);
	if (ret == 1)
		return (ssize_t)put;
	ssize_t r = tls_result(c, 0, "write");
	if (r == 0) {	/* a write to a closed session */
		errno = EPIPE;
		return -1;
	}
	return r;
}

bool wire_conn_pending(const struct wire_conn *c)
{
	return c->ssl && SSL_pending(c->ssl) > 0;
}

const char *wire_conn_strerror(const struct wire_conn *c, int err)
{
	return err == EPROTO && c->error[0] ? c->error : strerror(err);
}
