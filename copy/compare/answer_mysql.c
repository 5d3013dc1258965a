/*
 * answer_mysql.c — MySQL/MariaDB command responses, incrementally: packets
 * of a 3-byte little-endian length, a sequence id and the payload.
 *
 * A response starts with an OK (0x00), an ERR (0xFF), a LOCAL INFILE
 * request (0xFB) or a column count; a result set is the count, that many
 * column definitions, an EOF (not with CLIENT_DEPRECATE_EOF), the rows,
 * and a terminator (an EOF, 5 bytes, or an OK with the 0xFE header, 7 or
 * more), which tells the two forms apart without the capability flags.
 * Digested: result set packets as they are, an OK's affected-row count,
 * an ERR's code and SQLSTATE. Not digested: an OK's last insert id, status
 * flags, warnings and info, or sequence ids: they may differ between two
 * servers that agree. The verdict: "ERR <code>" for the first error, else
 * "OK" or "RESULT". A handshake packet (the greeting carries a salt) is
 * not a command response: the caller compares commands only.
 *
 * The form of some answers depends on the command (answer_set_request):
 * COM_STMT_PREPARE is answered by a PREPARE_OK (0x00, statement id,
 * column and parameter counts), then the parameters' definitions and the
 * columns', each list closed by an EOF unless CLIENT_DEPRECATE_EOF was
 * negotiated; read as one answer, verdict "PREPARED", digested by its
 * counts and definitions (the statement id is the server's own numbering).
 * COM_STMT_EXECUTE's result set has binary rows (0x00 first), read like
 * text rows, and with MariaDB's metadata cache no column definitions when
 * the count is followed by a 0 byte. COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA and COM_QUIT have no
 * answer: the answer belongs to the first command of the request that has
 * one. Whether the last list of definitions ends with an EOF cannot be
 * seen before the next answer begins; the online answer, over, tells the
 * target's (answer_follow), and without it the EOF is taken if it comes.
 */
#include "copy/compare/answer.h"

#include <stdio.h>
#include <string.h>

enum { M_START = 0, M_COLS, M_AFTER_COLS, M_ROWS, M_PREP_DEFS, M_PREP_TAIL, M_PREP_TAIL_EOF };
enum { EOF_UNKNOWN = 0, EOF_PRESENT, EOF_ABSENT };

#define COM_QUIT 0x01
#define COM_STMT_PREPARE 0x16
#define COM_STMT_SEND_LONG_DATA 0x18
#define COM_STMT_CLOSE 0x19

/* A length-encoded integer at b (len bytes available): its value, and its
 * size in *size (0 if it does not fit or is not one). */
static uint64_t lenenc(const uint8_t *b, size_t len, size_t *size)
{
	*size = 0;
	if (!len)
		return 0;
	size_t n = b[0] < 0xfb ? 1 : b[0] == 0xfc ? 3 : b[0] == 0xfd ? 4 : b[0] == 0xfe ? 9 : 0;

	if (!n || n > len)
		return 0;
	*size = n;
	if (n == 1)
		return b[0];
	uint64_t v = 0;

	for (size_t i = n - 1; i >= 1; i--)
		v = v << 8 | b[i];
	return v;
}

static void response_start(struct answer *a)
{
	a->messages++;
}

static void error_packet(struct answer *a, const uint8_t *b, size_t len)
{
	unsigned code = len >= 3 ? (unsigned)(b[1] | b[2] << 8) : 0;
	char state[6] = "?????";

	if (len >= 9 && b[3] == '#')
		memcpy(state, b + 4, 5);
	a->errors++;
	if (a->errors == 1)
		answer_set_verdict(a, "ERR %u", code);
	char d[32];
	int n = snprintf(d, sizeof(d), "ERR %u %s", code, state);

	answer_digest(a, d, (size_t)n);
}

static void ok_packet(struct answer *a, const uint8_t *b, size_t len)
{
	size_t size;
	uint64_t rows = lenenc(b + 1, len - 1, &size);
	char d[32];
	int n = snprintf(d, sizeof(d), "OK %llu", (unsigned long long)rows);

	if (!a->verdict[0])
		answer_set_verdict(a, "OK");
	answer_digest(a, d, (size_t)n);
}

/* An EOF packet (not a row or an OK that ends a result set). */
static bool is_eof(const struct mysql_state *m, uint32_t plen)
{
	return m->first == 0xfe && plen < 9;
}

/* PREPARE_OK: 0x00, statement id (4), columns (2), parameters (2),
 * filler, warnings (2). The id is left out: servers number on their own. */
static void prepare_ok(struct answer *a, const uint8_t *b, size_t len)
{
	struct mysql_state *m = &a->st.mysql;
	unsigned cols = len >= 9 ? (unsigned)(b[5] | b[6] << 8) : 0;
	unsigned params = len >= 9 ? (unsigned)(b[7] | b[8] << 8) : 0;
	char d[32];
	int n = snprintf(d, sizeof(d), "PREPARED %u %u", cols, params);

	if (!a->verdict[0])
		answer_set_verdict(a, "PREPARED");
	answer_digest(a, d, (size_t)n);
	m->cols_left = params ? params : cols;
	m->more_defs = (uint16_t)(params ? cols : 0);
	m->prep_defs = params || cols;
	m->phase = M_PREP_DEFS;
	if (!m->prep_defs) {
		m->phase = M_START;
		a->complete++;
	}
}

/* The last definition of a list came: the next list, or the end (after
 * an EOF when the form is known to have one). */
static void prepare_list_end(struct answer *a)
{
	struct mysql_state *m = &a->st.mysql;

	if (m->more_defs) {
		m->cols_left = m->more_defs;
		m->more_defs = 0;
		return;
	}
	if (m->eof_mode == EOF_PRESENT || m->eof_seen) {	/* the first list's EOF tells */
		m->phase = M_PREP_TAIL_EOF;
		return;
	}
	/* Unknown: whole now; an EOF that follows is still its own. */
	m->phase = m->eof_mode == EOF_ABSENT ? M_START : M_PREP_TAIL;
	a->complete++;
}

/* A packet of a prepare answer's definitions (or an EOF between them). */
static void prepare_packet(struct answer *a, uint32_t plen)
{
	struct mysql_state *m = &a->st.mysql;

	if (m->first == 0xff) {		/* not expected; an error all the same */
		error_packet(a, m->body, m->body_len);
		m->phase = M_START;
		a->complete++;
		return;
	}
	if (is_eof(m, plen)) {
		m->eof_seen = true;	/* between the lists: go on */
		return;
	}
	if (!m->cols_left || !--m->cols_left)
		prepare_list_end(a);
}

/* The first packet of a response. */
static void start_packet(struct answer *a)
{
	struct mysql_state *m = &a->st.mysql;
	const uint8_t *b = m->body;
	size_t blen = m->body_len;

	response_start(a);
	if (m->first == 0xff) {
		error_packet(a, b, blen);
		a->complete++;
	} else if (m->first == 0x00 && m->command == COM_STMT_PREPARE) {
		prepare_ok(a, b, blen);
	} else if (m->first == 0x00 || m->first == 0xfe) {
		ok_packet(a, b, blen);
		a->complete++;
	} else if (m->first != 0xfb) {
		size_t size;
		uint64_t cols = lenenc(b, blen, &size);

		if (!size) {
			a->malformed = true;
			return;
		}
		if (!a->verdict[0])
			answer_set_verdict(a, "RESULT");
		m->cols_left = cols;
		m->phase = cols ? M_COLS : M_ROWS;
		/* MariaDB's metadata cache (MARIADB_CLIENT_CACHE_METADATA): a
		 * byte after the count, 0 when the column definitions the client
		 * has (a prepared statement's) are not sent again. */
		if (cols && blen == size + 1 && b[size] == 0)
			m->phase = M_AFTER_COLS;
	}
}

/* The whole packet is in (its first bytes in m->body): what it means. */
static void packet_done(struct answer *a)
{
	struct mysql_state *m = &a->st.mysql;
	uint32_t plen = (uint32_t)m->hdr[0] | (uint32_t)m->hdr[1] << 8 | (uint32_t)m->hdr[2] << 16;

	m->packet++;
	if (!plen) {
		m->phase = M_START;
		return;
	}
	switch (m->phase) {
	case M_START:
		start_packet(a);
		break;
	case M_PREP_DEFS:
		prepare_packet(a, plen);
		break;
	case M_PREP_TAIL:
	case M_PREP_TAIL_EOF:
		if (is_eof(m, plen)) {
			m->eof_seen = true;
			if (m->phase == M_PREP_TAIL_EOF)
				a->complete++;
			m->phase = M_START;
			break;
		}
		/* No EOF: the prepare answer was whole; this begins the next. */
		if (m->phase == M_PREP_TAIL_EOF)
			a->complete++;
		m->phase = M_START;
		start_packet(a);
		break;
	case M_COLS:
		if (!--m->cols_left)
			m->phase = M_AFTER_COLS;
		break;
	case M_AFTER_COLS:
	case M_ROWS:
		if (m->first == 0xff) {
			error_packet(a, m->body, m->body_len);
			m->phase = M_START;
			a->complete++;
		} else if (m->first == 0xfe && plen < 0xffffff) {
			/* An EOF after the columns goes on to the rows; else the end. */
			m->phase = m->phase == M_AFTER_COLS && plen == 5 ? M_ROWS : M_START;
			if (m->phase == M_START)
				a->complete++;
		} else {
			m->phase = M_ROWS;
		}
		break;
	}
}

/* The first command of the request that has an answer: commands without
 * one (COM_STMT_CLOSE, ...) share a request with the next command, since
 * the server says nothing between them. A command packet's sequence id is
 * 0; a login's packets are not commands. */
void answer_mysql_request(struct answer *a, const uint8_t *req, size_t len)
{
	struct mysql_state *m = &a->st.mysql;

	m->command = 0;
	while (len >= 5 && req[3] == 0) {
		size_t plen = (size_t)req[0] | (size_t)req[1] << 8 | (size_t)req[2] << 16;
		uint8_t cmd = req[4];

		if (cmd != COM_STMT_CLOSE && cmd != COM_STMT_SEND_LONG_DATA && cmd != COM_QUIT) {
			m->command = cmd;
			return;
		}
		if (plen + 4 > len)
			return;
		req += plen + 4;
		len -= plen + 4;
	}
}

void answer_mysql_follow(struct answer *target, const struct answer *online)
{
	const struct mysql_state *o = &online->st.mysql;

	if (o->prep_defs && target->st.mysql.eof_mode == EOF_UNKNOWN)
		target->st.mysql.eof_mode = o->eof_seen ? EOF_PRESENT : EOF_ABSENT;
}

size_t answer_mysql_feed(struct answer *a, const uint8_t *p, size_t n)
{
	struct mysql_state *m = &a->st.mysql;
	size_t total = n;

	while (n && !a->malformed && !answer_stopped(a)) {
		if (m->hdr_len < 4) {
			m->hdr[m->hdr_len++] = *p++;
			n--;
			if (m->hdr_len < 4)
				continue;
			m->left = (uint64_t)m->hdr[0] | (uint64_t)m->hdr[1] << 8 | (uint64_t)m->hdr[2] << 16;
			m->body_len = 0;
			m->streaming = false;
			if (!m->left) {
				packet_done(a);
				m->hdr_len = 0;
			}
			continue;
		}
		if (!m->body_len && !m->streaming) {
			m->first = *p;
			/* Result set packets are digested whole, as they come. */
			bool starts = m->phase == M_START || m->phase == M_PREP_TAIL ||
				      m->phase == M_PREP_TAIL_EOF;

			m->streaming = starts ? *p == 0xfb : (*p != 0xfe && *p != 0xff);
		}
		size_t used = m->left < n ? (size_t)m->left : n;

		if (m->streaming)
			answer_digest(a, p, used);
		if (m->body_len < sizeof(m->body)) {
			size_t take = sizeof(m->body) - m->body_len < used ? sizeof(m->body) - m->body_len : used;

			memcpy(m->body + m->body_len, p, take);
			m->body_len += (uint16_t)take;
		}
		m->left -= used;
		p += used;
		n -= used;
		if (!m->left) {
			packet_done(a);
			m->hdr_len = 0;
		}
	}
	if (a->malformed && n) {
		answer_digest(a, p, n);
		n = 0;
	}
	return total - n;
}
