/*
 * auth_pooled.c — a pooled session's way back into the client's byte
 * stream (docs/stateful.md, "Pooled connections").
 *
 * The capture began in the middle of a connection: its first bytes may be
 * the tail of a command. Once the target accepted doppel's own login, the
 * captured bytes are passed on from the first captured segment that begins
 * with a whole command, and the bytes before it are dropped. Only segment
 * starts are tried (a client writes a command, or a batch of them, at
 * once, so segments begin at command starts; inside a command the bytes
 * are SQL text or parameters, where a look-alike header is possible): a
 * start qualifies when a command header is there, the command is complete
 * in the bytes held and every header after it in those bytes is valid too.
 */
#include <string.h>

#include "copy/engine/auth.h"

/* The largest first command a boundary may have: it must fit in what a
 * conversation may hold. */
#define POOLED_MAX_COMMAND (AUTH_MAX_CLIENT_BACKLOG / 2)

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* PostgreSQL frontend messages after the login. A boundary starts with a
 * command (not COPY data, which only follows a command). */
static const char pg_commands[] = "QPBEDCSHXF";
static const char pg_any[] = "QPBEDCSHXFdcf";

/* One message header at data: its whole length, or 0 when not valid. */
static size_t pg_header(const uint8_t *data, const char *types)
{
	if (!data[0] || !strchr(types, data[0]))
		return 0;
	uint32_t len = get32(data + 1);
	if (len < 4 || len > POOLED_MAX_COMMAND)
		return 0;
	/* Sync, Flush, Terminate have no body; a query is at least its NUL. */
	if (strchr("SHX", data[0]) ? len != 4 : data[0] == 'Q' && len < 5)
		return 0;
	return (size_t)len + 1;
}

int auth_pg_command_at(const uint8_t *data, size_t len)
{
	if (!len)
		return 0;
	if (!strchr(pg_commands, data[0]) || !data[0])
		return -1;
	if (len < 5)
		return 0;
	size_t n = pg_header(data, pg_commands);
	if (!n)
		return -1;
	if (len < n)
		return 0;
	if (data[0] == 'Q' && data[n - 1] != 0)
		return -1;	/* a query string ends with its NUL */
	for (size_t off = n; off + 5 <= len;) {
		size_t m = pg_header(data + off, pg_any);
		if (!m)
			return -1;
		off += m;
	}
	return 1;
}

/* MySQL client commands (the first byte of a packet with sequence id 0). */
static bool my_command(uint8_t cmd, size_t len)
{
	switch (cmd) {
	case 0x01:	/* COM_QUIT */
	case 0x09:	/* COM_STATISTICS */
	case 0x0e:	/* COM_PING */
	case 0x1f:	/* COM_RESET_CONNECTION */
		return len == 1;
	case 0x02:	/* COM_INIT_DB */
	case 0x03:	/* COM_QUERY */
	case 0x04:	/* COM_FIELD_LIST */
	case 0x16:	/* COM_STMT_PREPARE */
	case 0x17:	/* COM_STMT_EXECUTE */
	case 0x18:	/* COM_STMT_SEND_LONG_DATA */
	case 0x19:	/* COM_STMT_CLOSE */
	case 0x1a:	/* COM_STMT_RESET */
	case 0x1b:	/* COM_SET_OPTION */
	case 0x1c:	/* COM_STMT_FETCH */
		return len >= 2;
	default:
		return false;
	}
}

int auth_mysql_command_at(const uint8_t *data, size_t len)
{
	if (len < 5)
		return len >= 4 && data[3] != 0 ? -1 : 0;
	size_t plen = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16;
	/* 0xffffff: the first piece of a command longer than a packet */
	if (data[3] != 0 || !plen || plen >= 0xffffff || plen > POOLED_MAX_COMMAND ||
	    !my_command(data[4], plen))
		return -1;
	if (len < plen + 4)
		return 0;
	for (size_t off = plen + 4; off + 4 <= len;) {
		size_t l = (size_t)data[off] | (size_t)data[off + 1] << 8 | (size_t)data[off + 2] << 16;
		if (!l || l > POOLED_MAX_COMMAND)
			return -1;
		off += l + 4;
	}
	return 1;
}

/* Drop the first n client bytes: they belong to a command begun before
 * the capture. */
static void skip(struct auth_conv *c, size_t n)
{
	auth_buf_consume(&c->client, n);
	c->skipped += n;
}

/* A TLS record carrying application data (RFC 8446 5.1: type 23, legacy
 * version 3.1-3.4, length up to 2^14 + 2048): the connection was
 * encrypted before the capture began; no command will ever be seen. */
static bool tls_record(const uint8_t *d, size_t len)
{
	return len >= 5 && d[0] == 0x17 && d[1] == 0x03 && d[2] >= 0x01 && d[2] <= 0x04 &&
	       ((size_t)d[3] << 8 | d[4]) <= 16384 + 2048;
}

enum auth_result auth_pooled_seek(struct auth_conv *c)
{
	uint64_t base = c->client_in - c->client.len;	/* offset of client.data[0] */
	size_t i = 0;

	for (; i < c->start_count; i++) {
		if (c->starts[i] < base)
			continue;	/* dropped already */
		size_t off = (size_t)(c->starts[i] - base);
		if (tls_record(c->client.data + off, c->client.len - off))
			return auth_fail(c, AUTH_FAIL_TLS, "the pooled connection is encrypted (TLS "
					 "negotiated before the capture began)");
		int r = c->proto == AUTH_PROTO_MYSQL
				? auth_mysql_command_at(c->client.data + off, c->client.len - off)
				: auth_pg_command_at(c->client.data + off, c->client.len - off);
		if (r > 0) {
			skip(c, off);
			c->start_count = 0;
			return auth_done(c);
		}
		if (r == 0)
			break;	/* wait for the rest of this command */
	}
	/* Everything before the start still in question can go. */
	if (i < c->start_count) {
		skip(c, (size_t)(c->starts[i] - base));
		memmove(c->starts, c->starts + i, (c->start_count - i) * sizeof(c->starts[0]));
		c->start_count -= i;
	} else {
		skip(c, c->client.len);
		c->start_count = 0;
	}
	if (c->client_closed) {
		/* The client closed before a command boundary came: nothing
		 * to pass on; the session ends with its FIN. */
		skip(c, c->client.len);
		c->start_count = 0;
		return auth_done(c);
	}
	return AUTH_CONTINUE;
}
