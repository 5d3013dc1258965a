/*
 * auth_mysql.c — MySQL's and MariaDB's login (protocol 10, 4.1 clients),
 * parsed only as far as authentication needs: the target's greeting (its
 * scramble), the client's HandshakeResponse41 with its auth response
 * recomputed for that scramble (mysql_native_password, and
 * caching_sha2_password's fast path), AuthSwitchRequest answered the same
 * way, and the target's OK or ERR. A client that set CLIENT_SSL is
 * negotiating TLS: not replayable.
 *
 * After the login, command packets start with sequence id 0: the client's
 * packets with another id at the head of what is buffered are its answers
 * to auth round trips the online server asked for and the target did not,
 * and are dropped.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "copy/engine/auth.h"
#include "copy/engine/auth_crypto.h"

enum {
	MY_GREETING = 0,	/* the target's initial handshake */
	MY_RESPONSE,		/* the client's HandshakeResponse */
	MY_RESULT,		/* the target's OK, ERR, AuthSwitch or AuthMoreData */
};

#define CLIENT_CONNECT_WITH_DB 0x8u
#define CLIENT_PROTOCOL_41 0x200u
#define CLIENT_SSL 0x800u
#define CLIENT_SECURE_CONNECTION 0x8000u
#define CLIENT_PLUGIN_AUTH 0x80000u
#define CLIENT_PLUGIN_AUTH_LENENC 0x200000u

#define ER_ACCESS_DENIED 1045

/* A whole packet at the head of b: its length with the 4-byte header,
 * or 0 when incomplete. */
static size_t packet(const struct auth_buf *b)
{
	if (b->len < 4)
		return 0;
	size_t len = (size_t)b->data[0] | (size_t)b->data[1] << 8 | (size_t)b->data[2] << 16;
	/* a login packet larger than that is none: let it fail as such */
	if (len > AUTH_MAX_BUFFER)
		len = AUTH_MAX_BUFFER - 4;
	return b->len >= len + 4 ? len + 4 : 0;
}

static enum auth_result greeting(struct auth_conv *c)
{
	size_t n = packet(&c->target);

	if (!n)
		return AUTH_CONTINUE;
	const uint8_t *p = c->target.data + 4, *end = c->target.data + n;
	if (p < end && p[0] == 0xff)
		return auth_fail(c, AUTH_FAIL_PROTOCOL, "target refused the connection (ERR)");
	if (p >= end || p[0] != 10)
		return auth_fail(c, AUTH_FAIL_PROTOCOL, "target greeting is not protocol 10");
	const uint8_t *v = memchr(p + 1, 0, (size_t)(end - p - 1));
	/* version\0, id(4), scramble 1 (8), filler, caps(2), charset, status(2),
	 * caps(2), scramble length, reserved(10), scramble 2 (12 + \0), plugin\0 */
	if (!v || end - v < 1 + 4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10 + 12)
		return auth_fail(c, AUTH_FAIL_PROTOCOL, "target greeting too short");
	const uint8_t *s1 = v + 1 + 4, *s2 = s1 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10;
	const uint8_t *caps = s1 + 8 + 1;
	c->server_caps = (uint32_t)caps[0] | (uint32_t)caps[1] << 8 | (uint32_t)caps[5] << 16 |
			 (uint32_t)caps[6] << 24;
	/* A MariaDB server (CLIENT_MYSQL, bit 0, clear) offers its extended
	 * capabilities in the last 4 reserved bytes. */
	c->server_ext_caps = c->server_caps & 1u ? 0 :
		(uint32_t)caps[14] | (uint32_t)caps[15] << 8 | (uint32_t)caps[16] << 16 |
		(uint32_t)caps[17] << 24;
	memcpy(c->scramble, s1, 8);
	memcpy(c->scramble + 8, s2, 12);
	const uint8_t *plugin = s2 + 13;
	c->plugin[0] = 0;
	if (plugin < end) {
		size_t l = strnlen((const char *)plugin, (size_t)(end - plugin));
		if (l < sizeof(c->plugin)) {
			memcpy(c->plugin, plugin, l);
			c->plugin[l] = 0;
		}
	}
	auth_buf_consume(&c->target, n);
	c->state = MY_RESPONSE;
	return AUTH_CONTINUE;
}

/* The auth response for plugin and the current scramble into out: its
 * length, or -1 (failure set). */
static int scramble_for(struct auth_conv *c, const char *plugin, uint8_t out[32])
{
	const uint8_t *pw;
	size_t pw_len;

	if (c->password(c->password_ctx, AUTH_PROTO_MYSQL, c->user, &pw, &pw_len) < 0) {
		auth_fail(c, AUTH_FAIL_UNKNOWN_USER, "no password for mysql user '%s'", c->user);
		return -1;
	}
	if (!pw_len)
		return 0;	/* an empty password answers with nothing */
	if (!strcmp(plugin, "mysql_native_password"))
		return auth_mysql_native(pw, pw_len, c->scramble, out) < 0 ? -1 : 20;
	if (!strcmp(plugin, "caching_sha2_password"))
		return auth_mysql_caching_sha2(pw, pw_len, c->scramble, out) < 0 ? -1 : 32;
	auth_fail(c, AUTH_FAIL_METHOD, "authentication plugin '%.32s'", plugin);
	return -1;
}

static int emit_packet(struct auth_conv *c, uint8_t seq, const uint8_t *a, size_t alen)
{
	uint8_t h[4] = { (uint8_t)alen, (uint8_t)(alen >> 8), (uint8_t)(alen >> 16), seq };

	return auth_emit(c, h, 4) < 0 || auth_emit(c, a, alen) < 0 ? -1 : 0;
}

/* What doppel's own handshake response asks for, pooled: what a 4.1
 * client without TLS usually does (libmariadb's defaults); commands do not
 * depend on these, only the answers' form does (below). */
#define CLIENT_LONG_PASSWORD 0x1u
#define CLIENT_LONG_FLAG 0x4u
#define CLIENT_TRANSACTIONS 0x2000u
#define CLIENT_MULTI_STATEMENTS 0x10000u
#define CLIENT_MULTI_RESULTS 0x20000u
#define CLIENT_PS_MULTI_RESULTS 0x40000u
#define POOLED_CAPS (CLIENT_LONG_PASSWORD | CLIENT_LONG_FLAG | CLIENT_PROTOCOL_41 | \
		     CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION | CLIENT_MULTI_STATEMENTS | \
		     CLIENT_MULTI_RESULTS | CLIENT_PS_MULTI_RESULTS | CLIENT_PLUGIN_AUTH)
#define POOLED_CHARSET 45	/* utf8mb4_general_ci */
/* Not asked: CLIENT_SESSION_TRACK (0x800000) and CLIENT_DEPRECATE_EOF
 * (0x1000000) change the answers' form (no EOF packets in result sets,
 * session state in OK packets), whose lengths pacing compares with
 * online's; Debian's libmariadb (sysbench) asks for neither. */
#define POOLED_CAPS_IF_OFFERED 0u
/* MariaDB's extended capabilities: all the server offers, as MariaDB
 * Connector/C asks (extended column metadata adds to every column
 * definition of the answers; with only some of them sysbench's answers
 * were 1-2 bytes shorter at the target than online, and pacing, which
 * compares lengths, held every request for a quiet period). */
#define POOLED_MARIADB_EXT 0xffffffffu

/* Pooled: doppel's own HandshakeResponse41, user and database from the
 * operator's credentials, proof for the greeting's plugin. */
static enum auth_result pooled_response(struct auth_conv *c)
{
	uint8_t a[4 + 4 + 1 + 23 + 128 + 1 + 32 + 128 + 40], proof[32];
	const char *plugin = !strcmp(c->plugin, "caching_sha2_password") ? c->plugin
			     : "mysql_native_password";
	uint32_t caps = POOLED_CAPS | (c->server_caps & POOLED_CAPS_IF_OFFERED) |
			(c->database[0] ? CLIENT_CONNECT_WITH_DB : 0);
	uint32_t ext = c->server_ext_caps & POOLED_MARIADB_EXT;
	if (!(c->server_caps & 1u))
		caps &= ~1u;	/* to a MariaDB server, as MariaDB's client library says */
	size_t n = 0;

	if (!c->user[0])
		return auth_fail(c, AUTH_FAIL_UNKNOWN_USER, "no mysql user for pooled sessions");
	int plen = scramble_for(c, plugin, proof);
	if (plen < 0)
		return AUTH_FAILED;
	memset(a, 0, 4 + 4 + 1 + 23);
	for (int i = 0; i < 4; i++)
		a[i] = (uint8_t)(caps >> (8 * i));
	a[6] = 0x00;
	a[7] = 0x01;	/* max packet 16 MiB */
	a[8] = POOLED_CHARSET;
	for (int i = 0; i < 4; i++)
		a[28 + i] = (uint8_t)(ext >> (8 * i));
	n = 32;
	memcpy(a + n, c->user, strlen(c->user) + 1);
	n += strlen(c->user) + 1;
	a[n++] = (uint8_t)plen;
	memcpy(a + n, proof, (size_t)plen);
	n += (size_t)plen;
	OPENSSL_cleanse(proof, sizeof(proof));
	if (c->database[0]) {
		memcpy(a + n, c->database, strlen(c->database) + 1);
		n += strlen(c->database) + 1;
	}
	memcpy(a + n, plugin, strlen(plugin) + 1);
	n += strlen(plugin) + 1;
	int rc = emit_packet(c, 1, a, n);
	OPENSSL_cleanse(a, sizeof(a));
	if (rc < 0)
		return auth_fail(c, AUTH_FAIL_PROTOCOL, "out of memory");
	c->state = MY_RESULT;
	return AUTH_CONTINUE;
}

static enum auth_result response(struct auth_conv *c)
{
	size_t n = packet(&c->client);

	if (c->pooled)
		return pooled_response(c);

	if (!n) {
		c->wants_client = true;
		return AUTH_CONTINUE;
	}
	const uint8_t *p = c->client.data + 4, *end = c->client.data + n;
	if (n >= 8 && n < 4 + 32 && (c->client.data[5] & (CLIENT_SSL >> 8)))
		return auth_fail(c, AUTH_FAIL_TLS, "the client negotiated TLS (SSLRequest)");
	if (n < 4 + 33)
		return auth_fail(c, AUTH_FAIL_PROTOCOL, "client handshake response too short");
	uint32_t caps = p[0] | p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	if (caps & CLIENT_SSL)
		return auth_fail(c, AUTH_FAIL_TLS, "the client negotiated TLS (CLIENT_SSL)");
	if (!(caps & CLIENT_PROTOCOL_41))
		return auth_fail(c, AUTH_FAIL_METHOD, "a pre-4.1 client handshake");
	const uint8_t *user = p + 32, *u_end = memchr(user, 0, (size_t)(end - user));
	if (!u_end || (size_t)(u_end - user) >= sizeof(c->user))
		return auth_fail(c, AUTH_FAIL_PROTOCOL, "client user name malformed");
	memcpy(c->user, user, (size_t)(u_end - user) + 1);
	/* the auth response, its length as the client encoded it */
	const uint8_t *ar = u_end + 1, *rest;
	size_t ar_len, hdr = 1;
	if (ar >= end)
		return auth_fail(c, AUTH_FAIL_PROTOCOL, "client handshake response truncated");
	if (caps & CLIENT_PLUGIN_AUTH_LENENC) {
		if (ar[0] >= 0xfb)
			return auth_fail(c, AUTH_FAIL_PROTOCOL, "auth response length too large");
		ar_len = ar[0];
	} else if (caps & CLIENT_SECURE_CONNECTION) {
		ar_len = ar[0];
	} else {
		return auth_fail(c, AUTH_FAIL_METHOD, "client without secure connection");
	}
	if ((size_t)(end - ar) < hdr + ar_len)
		return auth_fail(c, AUTH_FAIL_PROTOCOL, "auth response runs past the packet");
	rest = ar + hdr + ar_len;
	const char *plugin = c->plugin;
	if (caps & CLIENT_PLUGIN_AUTH) {
		const uint8_t *q = rest;
		if ((caps & CLIENT_CONNECT_WITH_DB) && q < end) {
			const uint8_t *z = memchr(q, 0, (size_t)(end - q));
			q = z ? z + 1 : end;
		}
		if (q < end && memchr(q, 0, (size_t)(end - q)))
			plugin = (const char *)q;
	}
	uint8_t proof[32], len_byte;
	int plen = scramble_for(c, plugin, proof);
	if (plen < 0)
		return AUTH_FAILED;
	len_byte = (uint8_t)plen;
	uint8_t seq = c->client.data[3];
	size_t len = (size_t)(ar - p) + 1 + (size_t)plen + (size_t)(end - rest);
	uint8_t h[4] = { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), seq };
	int rc = auth_emit(c, h, 4) < 0 || auth_emit(c, p, (size_t)(ar - p)) < 0 ||
		 auth_emit(c, &len_byte, 1) < 0 || auth_emit(c, proof, (size_t)plen) < 0 ||
		 auth_emit(c, rest, (size_t)(end - rest)) < 0;
	OPENSSL_cleanse(proof, sizeof(proof));
	if (rc)
		return auth_fail(c, AUTH_FAIL_PROTOCOL, "out of memory");
	auth_buf_consume(&c->client, n);
	c->state = MY_RESULT;
	return AUTH_CONTINUE;
}

static enum auth_result result(struct auth_conv *c)
{
	for (;;) {
		size_t n = packet(&c->target);
		if (!n)
			return AUTH_CONTINUE;
		const uint8_t *p = c->target.data + 4, *end = c->target.data + n;
		uint8_t seq = c->target.data[3];
		if (p == end)
			return auth_fail(c, AUTH_FAIL_PROTOCOL, "empty packet from the target");
		if (p[0] == 0x00 && c->pooled) {
			c->logged_in = true;
			c->target.len = 0;
			return auth_pooled_seek(c);
		}
		if (p[0] == 0x00) {
			/* OK: drop the client's answers to round trips the
			 * target did not ask for (sequence id not 0). */
			size_t m;
			while ((m = packet(&c->client)) && c->client.data[3] != 0)
				auth_buf_consume(&c->client, m);
			return auth_done(c);
		}
		if (p[0] == 0xff) {
			unsigned code = end - p >= 3 ? (unsigned)(p[1] | p[2] << 8) : 0;
			if (code == ER_ACCESS_DENIED)
				return auth_fail(c, AUTH_FAIL_WRONG_PASSWORD,
						 "target refused the password of mysql user '%s'",
						 c->user);
			return auth_fail(c, AUTH_FAIL_PROTOCOL, "target refused the login (error %u)",
					 code);
		}
		if (p[0] == 0xfe) {	/* AuthSwitchRequest: plugin\0, new scramble */
			const uint8_t *z = memchr(p + 1, 0, (size_t)(end - p - 1));
			char plugin[40];
			uint8_t proof[32];
			if (!z || end - (z + 1) < 20 || (size_t)(z - p - 1) >= sizeof(plugin))
				return auth_fail(c, AUTH_FAIL_PROTOCOL, "AuthSwitchRequest malformed");
			memcpy(plugin, p + 1, (size_t)(z - p - 1));
			plugin[z - p - 1] = 0;
			memcpy(c->scramble, z + 1, 20);
			int plen = scramble_for(c, plugin, proof);
			if (plen < 0)
				return AUTH_FAILED;
			int rc = emit_packet(c, (uint8_t)(seq + 1), proof, (size_t)plen);
			OPENSSL_cleanse(proof, sizeof(proof));
			if (rc < 0)
				return auth_fail(c, AUTH_FAIL_PROTOCOL, "out of memory");
			auth_buf_consume(&c->target, n);
			continue;
		}
		if (p[0] == 0x01 && end - p >= 2 && p[1] == 0x03) {	/* fast auth success */
			auth_buf_consume(&c->target, n);
			continue;
		}
		if (p[0] == 0x01 && end - p >= 2 && p[1] == 0x04 && !c->key_asked) {
			/* Full authentication, over a plain connection: ask for
			 * the server's public key (0x02) and send the password
			 * encrypted with it. */
			static const uint8_t ask = 0x02;
			if (emit_packet(c, (uint8_t)(seq + 1), &ask, 1) < 0)
				return auth_fail(c, AUTH_FAIL_PROTOCOL, "out of memory");
			c->key_asked = true;
			auth_buf_consume(&c->target, n);
			continue;
		}
		if (p[0] == 0x01 && c->key_asked && end - p > 1) {
			uint8_t cipher[1024];
			const uint8_t *pw;
			size_t pw_len;
			if (c->password(c->password_ctx, AUTH_PROTO_MYSQL, c->user, &pw, &pw_len) < 0)
				return auth_fail(c, AUTH_FAIL_UNKNOWN_USER,
						 "no password for mysql user '%s'", c->user);
			int len = auth_mysql_rsa_password(p + 1, (size_t)(end - p - 1), pw, pw_len,
							  c->scramble, cipher, sizeof(cipher));
			if (len < 0)
				return auth_fail(c, AUTH_FAIL_PROTOCOL,
						 "caching_sha2_password: the target's public key is not "
						 "an RSA key doppel can use");
			if (emit_packet(c, (uint8_t)(seq + 1), cipher, (size_t)len) < 0)
				return auth_fail(c, AUTH_FAIL_PROTOCOL, "out of memory");
			c->key_asked = false;
			auth_buf_consume(&c->target, n);
			continue;
		}
		return auth_fail(c, AUTH_FAIL_PROTOCOL, "target packet 0x%02x during login", p[0]);
	}
}

enum auth_result auth_mysql_step(struct auth_conv *c)
{
	switch (c->state) {
	case MY_GREETING:
		if (greeting(c) != AUTH_CONTINUE || c->state == MY_GREETING)
			return c->failure ? AUTH_FAILED : AUTH_CONTINUE;
		/* fall through */
	case MY_RESPONSE:
		if (response(c) != AUTH_CONTINUE || c->state == MY_RESPONSE)
			return c->failure ? AUTH_FAILED : AUTH_CONTINUE;
		/* fall through */
	default:
		return result(c);
	}
}
