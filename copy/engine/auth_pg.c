/*
 * auth_pg.c — PostgreSQL's login (protocol 3.0), parsed only as far as
 * authentication needs: the startup message (its user), SSLRequest and
 * GSSENCRequest (TLS: not replayable unless the target refuses it as the
 * online server did), and the target's Authentication requests answered
 * for the target's salt or nonce: cleartext, md5, SCRAM-SHA-256 (no
 * channel binding). Each password message the target asks for takes the
 * place of one the client sent ('p'), so the replay keeps its pace.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "copy/engine/auth.h"
#include "copy/engine/auth_crypto.h"

enum {
	PG_STARTUP = 0,		/* the client's startup packet (or SSLRequest) */
	PG_SSL_ANSWER,		/* the target's one-byte answer to SSLRequest */
	PG_AUTH,		/* the target's Authentication messages */
};

#define PG_SSL_REQUEST 80877103u
#define PG_GSSENC_REQUEST 80877104u
#define PG_CANCEL_REQUEST 80877102u
#define PG_PROTOCOL_3 196608u

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A typed message (type, u32 length counting itself) complete at the head
 * of b: its whole length, 0 when incomplete, -1 when malformed. */
static long typed_message(const struct auth_buf *b)
{
	if (b->len < 5)
		return 0;
	uint32_t len = get32(b->data + 1);
	if (len < 4 || len > AUTH_MAX_BUFFER)
		return -1;
	return b->len >= (size_t)len + 1 ? (long)len + 1 : 0;
}

/* Emit a password message 'p' with body. */
static int emit_p(struct auth_conv *c, const void *body, size_t len)
{
	uint8_t h[5] = { 'p' };

	put32(h + 1, (uint32_t)len + 4);
	return auth_emit(c, h, 5) < 0 || auth_emit(c, body, len) < 0 ? -1 : 0;
}

/* Pooled: doppel's own startup message, user and database from the
 * operator's credentials. */
static enum auth_result pooled_startup(struct auth_conv *c)
{
	uint8_t m[8 + 5 + 128 + 9 + 128 + 1];
	size_t n = 8;
	const uint8_t *pw;
	size_t pw_len;

	if (!c->user[0])
		return auth_fail(c, AUTH_FAIL_UNKNOWN_USER, "no postgres user for pooled sessions");
	if (c->password(c->password_ctx, AUTH_PROTO_POSTGRES, c->user, &pw, &pw_len) < 0)
		return auth_fail(c, AUTH_FAIL_UNKNOWN_USER, "no password for postgres user '%s'",
				 c->user);
	put32(m + 4, PG_PROTOCOL_3);
	memcpy(m + n, "user", 5);
	n += 5;
	memcpy(m + n, c->user, strlen(c->user) + 1);
	n += strlen(c->user) + 1;
	if (c->database[0]) {
		memcpy(m + n, "database", 9);
		n += 9;
		memcpy(m + n, c->database, strlen(c->database) + 1);
		n += strlen(c->database) + 1;
	}
	m[n++] = 0;
	put32(m, (uint32_t)n);
	if (auth_emit(c, m, n) < 0)
		return auth_fail(c, AUTH_FAIL_PROTOCOL, "out of memory");
	c->state = PG_AUTH;
	return AUTH_CONTINUE;
}

static enum auth_result startup(struct auth_conv *c)
{
	const uint8_t *m = c->client.data;

	if (c->pooled)
		return pooled_startup(c);

	if (c->client.len >= 1 && m[0] == 0x16)
		return auth_fail(c, AUTH_FAIL_TLS, "the client negotiated TLS");
	c->wants_client = true;	/* until its startup packet is whole */
	if (c->client.len < 8)
		return AUTH_CONTINUE;
	uint32_t len = get32(m), code = get32(m + 4);
	if (len < 8 || len > 10000)
		return auth_fail(c, AUTH_FAIL_PROTOCOL, "startup packet length %u", len);
	if (c->client.len < len)
		return AUTH_CONTINUE;
	c->wants_client = false;
	if (code == PG_SSL_REQUEST || code == PG_GSSENC_REQUEST) {
		/* Pass it on: a target that refuses it ('N') as the online
		 * server did lets the client go on in the clear. */
		if (auth_emit(c, m, len) < 0)
			return auth_fail(c, AUTH_FAIL_PROTOCOL, "out of memory");
		auth_buf_consume(&c->client, len);
		c->state = PG_SSL_ANSWER;
		return AUTH_CONTINUE;
	}
	if (code == PG_CANCEL_REQUEST)
		return auth_done(c);
	if (code != PG_PROTOCOL_3)
		return auth_fail(c, AUTH_FAIL_PROTOCOL, "startup protocol version 0x%x", code);
	/* name\0value\0 pairs, then \0 */
	for (size_t i = 8; i < len && m[i];) {
		const char *name = (const char *)m + i;
		size_t nlen = strnlen(name, len - i);
		if (i + nlen + 1 >= len)
			break;
		const char *value = name + nlen + 1;
		size_t vlen = strnlen(value, len - i - nlen - 1);
		if (!strcmp(name, "user") && vlen < sizeof(c->user))
			memcpy(c->user, value, vlen + 1);
		i += nlen + 1 + vlen + 1;
	}
	if (!c->user[0])
		return auth_fail(c, AUTH_FAIL_PROTOCOL, "startup packet without a user");
	const uint8_t *pw;
	size_t pw_len;
	if (c->password(c->password_ctx, AUTH_PROTO_POSTGRES, c->user, &pw, &pw_len) < 0)
		return auth_fail(c, AUTH_FAIL_UNKNOWN_USER, "no password for postgres user '%s'",
				 c->user);
	if (auth_emit(c, m, len) < 0)
		return auth_fail(c, AUTH_FAIL_PROTOCOL, "out of memory");
	auth_buf_consume(&c->client, len);
	c->state = PG_AUTH;
	return AUTH_CONTINUE;
}

/* The client's next password message, consumed: 1, or 0 when not yet
 * captured; -1 when the client sent something else. body/len point into
 * a copy the caller owns (cap bytes). */
static int take_client_p(struct auth_conv *c, uint8_t *body, size_t cap, size_t *len)
{
	long n = typed_message(&c->client);

	if (c->pooled) {	/* no client login to take the place of */
		*len = 0;
		return 1;
	}

	if (n == 0) {
		c->wants_client = true;
		return 0;
	}
	if (n < 0 || c->client.data[0] != 'p')
		return -1;
	*len = (size_t)n - 5 < cap ? (size_t)n - 5 : cap;
	memcpy(body, c->client.data + 5, *len);
	auth_buf_consume(&c->client, (size_t)n);
	return 1;
}

static const char *attr(const char *msg, size_t len, char key, size_t *vlen)
{
	for (size_t i = 0; i + 2 <= len;) {
		size_t end = i;
		while (end < len && msg[end] != ',')
			end++;
		if (msg[i] == key && msg[i + 1] == '=') {
			*vlen = end - i - 2;
			return msg + i + 2;
		}
		i = end + 1;
	}
	return NULL;
}

/* What a handler of one target request did. */
#define PG_FAILED (-1)
#define PG_WAIT 0	/* the client's message is not captured yet: keep the request */
#define PG_ANSWERED 1

static int failed(enum auth_result r)
{
	(void)r;
	return PG_FAILED;
}

static int sasl_initial(struct auth_conv *c, const uint8_t *mechs, size_t mlen)
{
	uint8_t body[512];
	size_t len;
	int r;
	bool scram = false;

	for (size_t i = 0; i < mlen && mechs[i];) {
		const char *m = (const char *)mechs + i;
		size_t l = strnlen(m, mlen - i);
		if (l == 13 && !memcmp(m, "SCRAM-SHA-256", 13))
			scram = true;
		i += l + 1;
	}
	if (!scram)
		return failed(auth_fail(c, AUTH_FAIL_METHOD, "target offers no SCRAM-SHA-256"));
	if (c->pooled) {
		/* SASLInitialResponse: mechanism, the first message's length,
		 * "n,,n=,r=NONCE" (the user is the startup message's, as libpq
		 * does). */
		int fl = snprintf((char *)body + 18, sizeof(body) - 18, "n,,n=,r=%s", c->nonce);
		memcpy(body, "SCRAM-SHA-256", 14);
		put32(body + 14, (uint32_t)fl);
		len = 18 + (size_t)fl;
	} else if ((r = take_client_p(c, body, sizeof(body), &len)) <= 0) {
		return r == 0 ? PG_WAIT
			      : failed(auth_fail(c, AUTH_FAIL_METHOD, "client answered SASL with no password message"));
	}
	size_t ml = strnlen((const char *)body, len);
	if (ml != 13 || memcmp(body, "SCRAM-SHA-256", 13) || len < ml + 5)
		return failed(auth_fail(c, AUTH_FAIL_METHOD, "client chose SASL mechanism '%.*s'",
				 (int)(ml < 40 ? ml : 40), body));
	const char *first = (const char *)body + ml + 5;
	size_t flen = len - ml - 5;
	if (flen < 3 || (first[0] != 'n' && first[0] != 'y'))
		return failed(auth_fail(c, AUTH_FAIL_METHOD, "SCRAM with channel binding"));
	/* gs2 header: "n,," or "y,,", an optional authzid between the commas */
	const char *comma = memchr(first + 2, ',', flen - 2);
	if (!comma || (size_t)(comma + 1 - first) >= sizeof(c->gs2) ||
	    flen - (size_t)(comma + 1 - first) >= sizeof(c->client_first_bare))
		return failed(auth_fail(c, AUTH_FAIL_PROTOCOL, "SCRAM client-first-message malformed"));
	size_t glen = (size_t)(comma + 1 - first);
	memcpy(c->gs2, first, glen);
	c->gs2[glen] = 0;
	size_t blen = flen - glen;
	memcpy(c->client_first_bare, comma + 1, blen);
	c->client_first_bare[blen] = 0;
	size_t nlen;
	const char *nonce = attr(c->client_first_bare, blen, 'r', &nlen);
	if (!nonce || nlen >= sizeof(c->client_nonce))
		return failed(auth_fail(c, AUTH_FAIL_PROTOCOL, "SCRAM client-first-message without a nonce"));
	memcpy(c->client_nonce, nonce, nlen);
	c->client_nonce[nlen] = 0;
	/* The client's own first message, nonce and all: nothing in it
	 * depends on the server. */
	if (emit_p(c, body, len) < 0)
		return failed(auth_fail(c, AUTH_FAIL_PROTOCOL, "out of memory"));
	return PG_ANSWERED;
}

static int sasl_continue(struct auth_conv *c, const uint8_t *data, size_t dlen)
{
	char server_first[512], final[512], am[1400], b64[64];
	uint8_t salt[128], proof[32], signature[32], body[512];
	size_t len, rlen, slen, ilen;
	int r, n, salt_len;
	const uint8_t *pw;
	size_t pw_len;

	if (dlen >= sizeof(server_first))
		return failed(auth_fail(c, AUTH_FAIL_PROTOCOL, "SCRAM server-first-message too long"));
	memcpy(server_first, data, dlen);
	server_first[dlen] = 0;
	const char *nonce = attr(server_first, dlen, 'r', &rlen);
	const char *salt64 = attr(server_first, dlen, 's', &slen);
	const char *iter = attr(server_first, dlen, 'i', &ilen);
	if (!nonce || !salt64 || !iter || rlen < strlen(c->client_nonce) ||
	    memcmp(nonce, c->client_nonce, strlen(c->client_nonce)) ||
	    (salt_len = auth_base64_decode(salt64, slen, salt, sizeof(salt))) <= 0)
		return failed(auth_fail(c, AUTH_FAIL_PROTOCOL, "SCRAM server-first-message malformed"));
	unsigned iterations = 0;
	for (size_t i = 0; i < ilen; i++) {
		if (iter[i] < '0' || iter[i] > '9' || iterations > 10000000)
			return failed(auth_fail(c, AUTH_FAIL_PROTOCOL, "SCRAM iteration count malformed"));
		iterations = iterations * 10 + (unsigned)(iter[i] - '0');
	}
	if (!iterations)
		return failed(auth_fail(c, AUTH_FAIL_PROTOCOL, "SCRAM iteration count 0"));
	if ((r = take_client_p(c, body, sizeof(body), &len)) <= 0)
		return r == 0 ? PG_WAIT
			      : failed(auth_fail(c, AUTH_FAIL_PROTOCOL, "client sent no SCRAM final message"));
	OPENSSL_cleanse(body, sizeof(body));
	if (!auth_base64_encode((const uint8_t *)c->gs2, strlen(c->gs2), b64, sizeof(b64)))
		return failed(auth_fail(c, AUTH_FAIL_PROTOCOL, "SCRAM gs2 header too long"));
	n = snprintf(final, sizeof(final), "c=%s,r=%.*s", b64, (int)rlen, nonce);
	if (n < 0 || (size_t)n >= sizeof(final) - 60)
		return failed(auth_fail(c, AUTH_FAIL_PROTOCOL, "SCRAM nonce too long"));
	int am_len = snprintf(am, sizeof(am), "%s,%s,%s", c->client_first_bare, server_first, final);
	if (am_len < 0 || (size_t)am_len >= sizeof(am))
		return failed(auth_fail(c, AUTH_FAIL_PROTOCOL, "SCRAM messages too long"));
	uint8_t salted[32];
	int got = c->salted ? c->salted(c->password_ctx, c->user, salt, (size_t)salt_len,
					iterations, salted)
		  : c->password(c->password_ctx, AUTH_PROTO_POSTGRES, c->user, &pw, &pw_len) < 0 ? -1
		  : auth_scram_salted(pw, pw_len, salt, (size_t)salt_len, iterations, salted) < 0 ? -2
		  : 0;
	if (got == -1)
		return failed(auth_fail(c, AUTH_FAIL_UNKNOWN_USER, "no password for postgres user '%s'",
				 c->user));
	if (got < 0 || auth_scram_proof(salted, am, (size_t)am_len, proof, signature) < 0) {
		OPENSSL_cleanse(salted, sizeof(salted));
		return failed(auth_fail(c, AUTH_FAIL_PROTOCOL, "libcrypto failed"));
	}
	OPENSSL_cleanse(salted, sizeof(salted));
	memcpy(final + n, ",p=", 3);
	size_t plen = auth_base64_encode(proof, 32, final + n + 3, sizeof(final) - (size_t)n - 3);
	OPENSSL_cleanse(proof, sizeof(proof));
	if (emit_p(c, final, (size_t)n + 3 + plen) < 0)
		return failed(auth_fail(c, AUTH_FAIL_PROTOCOL, "out of memory"));
	return PG_ANSWERED;
}

static int password_answer(struct auth_conv *c, uint32_t code, const uint8_t *data,
					size_t dlen)
{
	uint8_t body[512];
	size_t len;
	int r;
	const uint8_t *pw;
	size_t pw_len;

	if (code == 5 && dlen < 4)
		return failed(auth_fail(c, AUTH_FAIL_PROTOCOL, "md5 request without a salt"));
	if ((r = take_client_p(c, body, sizeof(body), &len)) <= 0)
		return r == 0 ? PG_WAIT
			      : failed(auth_fail(c, AUTH_FAIL_METHOD, "client sent no password message"));
	OPENSSL_cleanse(body, sizeof(body));
	if (c->password(c->password_ctx, AUTH_PROTO_POSTGRES, c->user, &pw, &pw_len) < 0)
		return failed(auth_fail(c, AUTH_FAIL_UNKNOWN_USER, "no password for postgres user '%s'",
				 c->user));
	if (code == 5) {
		char md5[36];
		if (auth_pg_md5(c->user, pw, pw_len, data, md5) < 0)
			return failed(auth_fail(c, AUTH_FAIL_PROTOCOL, "libcrypto failed"));
		r = emit_p(c, md5, 36);
	} else {
		uint8_t clear[257];
		if (pw_len >= sizeof(clear))
			return failed(auth_fail(c, AUTH_FAIL_PROTOCOL, "password too long"));
		memcpy(clear, pw, pw_len);
		clear[pw_len] = 0;
		r = emit_p(c, clear, pw_len + 1);
		OPENSSL_cleanse(clear, sizeof(clear));
	}
	return r < 0 ? failed(auth_fail(c, AUTH_FAIL_PROTOCOL, "out of memory")) : PG_ANSWERED;
}

/* An ErrorResponse: 28P01 is a wrong password; anything else a refusal. */
static enum auth_result target_error(struct auth_conv *c, const uint8_t *m, size_t len)
{
	const char *code = "", *text = "";

	for (size_t i = 5; i < len && m[i];) {
		const char *v = (const char *)m + i + 1;
		size_t vl = strnlen(v, len - i - 1);
		if (m[i] == 'C')
			code = v;
		else if (m[i] == 'M')
			text = v;
		i += vl + 2;
	}
	if (!strcmp(code, "28P01"))
		return auth_fail(c, AUTH_FAIL_WRONG_PASSWORD,
				 "target refused the password of postgres user '%s'", c->user);
	return auth_fail(c, AUTH_FAIL_PROTOCOL, "target refused the login (%.8s): %.80s", code,
			 text);
}

static enum auth_result auth_request(struct auth_conv *c)
{
	for (;;) {
		long n = typed_message(&c->target);
		if (n <= 0)
			return n == 0 ? AUTH_CONTINUE
				      : auth_fail(c, AUTH_FAIL_PROTOCOL, "target message malformed");
		const uint8_t *m = c->target.data;
		int r;
		if (m[0] == 'E')
			return target_error(c, m, (size_t)n);
		if (m[0] != 'R') {
			if (m[0] == 'v') {	/* NegotiateProtocolVersion: the client goes on */
				auth_buf_consume(&c->target, (size_t)n);
				continue;
			}
			return auth_fail(c, AUTH_FAIL_PROTOCOL, "target sent '%c' during login",
					 m[0] >= 32 && m[0] < 127 ? m[0] : '?');
		}
		if (n < 9)
			return auth_fail(c, AUTH_FAIL_PROTOCOL, "Authentication message too short");
		uint32_t code = get32(m + 5);
		const uint8_t *data = m + 9;
		size_t dlen = (size_t)n - 9;
		switch (code) {
		case 0:		/* AuthenticationOk */
			if (c->pooled) {
				c->logged_in = true;
				c->target.len = 0;
				return auth_pooled_seek(c);
			}
			/* Extra password messages the online server asked for
			 * and the target did not: the client's, dropped. */
			while (typed_message(&c->client) > 0 && c->client.data[0] == 'p')
				auth_buf_consume(&c->client, (size_t)typed_message(&c->client));
			return auth_done(c);
		case 3:
		case 5:
			r = password_answer(c, code, data, dlen);
			break;
		case 10:
			r = sasl_initial(c, data, dlen);
			break;
		case 11:
			r = sasl_continue(c, data, dlen);
			break;
		case 12:	/* SASLFinal: the server's signature; nothing to send */
			r = PG_ANSWERED;
			break;
		default:
			return auth_fail(c, AUTH_FAIL_METHOD, "authentication method %u", code);
		}
		if (r == PG_FAILED)
			return AUTH_FAILED;
		if (r == PG_WAIT)
			return AUTH_CONTINUE;
		auth_buf_consume(&c->target, (size_t)n);
	}
}

enum auth_result auth_pg_step(struct auth_conv *c)
{
	enum auth_result r;

	for (;;) {
		int before = c->state;
		switch (c->state) {
		case PG_STARTUP:
			r = startup(c);
			break;
		case PG_SSL_ANSWER:
			/* A TLS record (ClientHello) after the SSLRequest says
			 * online answered 'S': TLS whatever the target answers,
			 * so do not wait for it. Waiting lost the count when the
			 * client's FIN and RST were captured before the target's
			 * answer came (a slow backend): the RST ended the session
			 * as closed. */
			if (c->client.len && c->client.data[0] == 0x16)
				return auth_fail(c, AUTH_FAIL_TLS,
						 "the client negotiated TLS (online accepted its SSLRequest)");
			if (!c->target.len)
				return AUTH_CONTINUE;
			if (c->target.data[0] != 'N')
				return auth_fail(c, AUTH_FAIL_TLS, "the target accepted TLS ('%c')",
						 c->target.data[0] >= 32 && c->target.data[0] < 127
							 ? c->target.data[0] : '?');
			auth_buf_consume(&c->target, 1);
			c->state = PG_STARTUP;
			r = AUTH_CONTINUE;
			break;
		default:
			return auth_request(c);
		}
		if (r != AUTH_CONTINUE || c->state == before)
			return r;
	}
}
