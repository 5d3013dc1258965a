/*
 * auth_conv.c — a login conversation's buffers and its dispatch to the
 * protocol (auth_pg.c, auth_mysql.c); see auth.h.
 */
#include "copy/engine/auth.h"
#include "copy/engine/auth_crypto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

const char *auth_protocol_name(enum auth_protocol p)
{
	switch (p) {
	case AUTH_PROTO_POSTGRES: return "postgres";
	case AUTH_PROTO_MYSQL: return "mysql";
	default: return "none";
	}
}

enum auth_protocol auth_protocol_parse(const char *name)
{
	if (!strcmp(name, "postgres") || !strcmp(name, "postgresql"))
		return AUTH_PROTO_POSTGRES;
	if (!strcmp(name, "mysql") || !strcmp(name, "mariadb"))
		return AUTH_PROTO_MYSQL;
	return AUTH_PROTO_NONE;
}

const char *auth_failure_name(enum auth_failure f)
{
	static const char *const names[AUTH_FAIL_COUNT] = {
		[AUTH_FAIL_NONE] = "none",
		[AUTH_FAIL_TLS] = "tls",
		[AUTH_FAIL_UNKNOWN_USER] = "unknown_user",
		[AUTH_FAIL_METHOD] = "unsupported_method",
		[AUTH_FAIL_WRONG_PASSWORD] = "wrong_password",
		[AUTH_FAIL_PROTOCOL] = "protocol",
	};
	return f < AUTH_FAIL_COUNT ? names[f] : "unknown";
}

void auth_conv_init(struct auth_conv *c, enum auth_protocol p, auth_password_fn fn, void *ctx)
{
	memset(c, 0, sizeof(*c));
	c->proto = p;
	c->password = fn;
	c->password_ctx = ctx;
	/* PostgreSQL's client speaks first; MySQL's server does. */
	c->wants_client = p == AUTH_PROTO_POSTGRES;
}

void auth_conv_init_pooled(struct auth_conv *c, enum auth_protocol p, auth_password_fn fn,
			   void *ctx, const char *user, const char *database,
			   const uint8_t nonce_seed[32])
{
	auth_conv_init(c, p, fn, ctx);
	c->pooled = true;
	c->wants_client = false;	/* doppel's own login goes first */
	snprintf(c->user, sizeof(c->user), "%s", user ? user : "");
	snprintf(c->database, sizeof(c->database), "%s", database ? database : "");
	/* 24 printable characters (RFC 5802: any but ','), from the seed. */
	auth_base64_encode(nonce_seed, 18, c->nonce, sizeof(c->nonce));
}

static void buf_free(struct auth_buf *b)
{
	if (b->data)
		OPENSSL_cleanse(b->data, b->cap);	/* proofs and user names */
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void auth_conv_free(struct auth_conv *c)
{
	buf_free(&c->client);
	buf_free(&c->target);
	buf_free(&c->out);
	OPENSSL_cleanse(c, sizeof(*c));
}

int auth_buf_put(struct auth_buf *b, const void *data, size_t len)
{
	if (!len)
		return 0;
	if (len > AUTH_MAX_CLIENT_BACKLOG * 2 - b->len)
		return -1;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 512;
		while (cap < b->len + len)
			cap *= 2;
		uint8_t *p = realloc(b->data, cap);
		if (!p)
			return -1;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

void auth_buf_consume(struct auth_buf *b, size_t n)
{
	if (n > b->len)
		n = b->len;
	if (!n)
		return;
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

enum auth_result auth_fail(struct auth_conv *c, enum auth_failure f, const char *fmt, ...)
{
	va_list ap;

	if (c->failure == AUTH_FAIL_NONE) {
		c->failure = f;
		va_start(ap, fmt);
		vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
		va_end(ap);
	}
	return AUTH_FAILED;
}

static int feed(struct auth_conv *c, struct auth_buf *b, const uint8_t *data, size_t len,
		size_t max)
{
	if (c->failure)
		return -1;
	if (b == &c->target && c->logged_in)
		return 0;	/* pooled, logged in: the answers are the session's */
	if (b->len + len > max || auth_buf_put(b, data, len) < 0) {
		auth_fail(c, AUTH_FAIL_PROTOCOL, "more than %zu bytes held during the login", max);
		return -1;
	}
	return 0;
}

int auth_conv_client(struct auth_conv *c, const uint8_t *data, size_t len)
{
	if (c->pooled && len && c->start_count < AUTH_POOLED_STARTS)
		c->starts[c->start_count++] = c->client_in;
	if (feed(c, &c->client, data, len, AUTH_MAX_CLIENT_BACKLOG) < 0)
		return -1;
	c->client_in += len;
	return 0;
}

int auth_conv_target(struct auth_conv *c, const uint8_t *data, size_t len)
{
	return feed(c, &c->target, data, len, AUTH_MAX_BUFFER);
}

int auth_emit(struct auth_conv *c, const void *data, size_t len)
{
	if (auth_buf_put(&c->out, data, len) < 0)
		return -1;
	c->out_total += len;
	return 0;
}

enum auth_result auth_done(struct auth_conv *c)
{
	if (auth_emit(c, c->client.data, c->client.len) < 0)
		return auth_fail(c, AUTH_FAIL_PROTOCOL, "out of memory");
	auth_buf_consume(&c->client, c->client.len);
	c->target.len = 0;
	return AUTH_DONE;
}

enum auth_result auth_conv_step(struct auth_conv *c)
{
	if (c->failure)
		return AUTH_FAILED;
	c->wants_client = false;
	if (c->logged_in) {
		c->wants_client = true;	/* a command boundary in its bytes */
		return auth_pooled_seek(c);
	}
	switch (c->proto) {
	case AUTH_PROTO_POSTGRES: return auth_pg_step(c);
	case AUTH_PROTO_MYSQL: return auth_mysql_step(c);
	default: return auth_done(c);
	}
}
