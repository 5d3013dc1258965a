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
 */
#include "copy/compare/answer.h"

#include <stdio.h>
#include <string.h>

enum { M_START = 0, M_COLS, M_AFTER_COLS, M_ROWS };

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

/* The whole packet is in (its first bytes in m->body): what it means. */
static void packet_done(struct answer *a)
{
	struct mysql_state *m = &a->st.mysql;
	uint32_t plen = (uint32_t)m->hdr[0] | (uint32_t)m->hdr[1] << 8 | (uint32_t)m->hdr[2] << 16;
	const uint8_t *b = m->body;
	size_t blen = m->body_len;

	m->packet++;
	if (!plen) {
		m->phase = M_START;
		return;
	}
	switch (m->phase) {
	case M_START:
		response_start(a);
		if (m->first == 0xff) {
			error_packet(a, b, blen);
			a->complete++;
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
		}
		break;
	case M_COLS:
		if (!--m->cols_left)
			m->phase = M_AFTER_COLS;
		break;
	case M_AFTER_COLS:
	case M_ROWS:
		if (m->first == 0xff) {
			error_packet(a, b, blen);
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
			m->streaming = m->phase != M_START ? (*p != 0xfe && *p != 0xff) : *p == 0xfb;
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
