/*
 * answer_pg.c — PostgreSQL backend messages (protocol 3), incrementally:
 * a type byte, a 32-bit length that counts itself, the body.
 *
 * Digested: RowDescription ('T'), DataRow ('D') and NoData ('n') as they
 * are, CommandComplete ('C') tags, EmptyQueryResponse ('I'), and of an
 * ErrorResponse ('E') only its SQLSTATE: the message text names server
 * details and may be translated. Not digested: authentication requests
 * (they carry salts), ParameterStatus, BackendKeyData, notices,
 * notifications, ReadyForQuery: they differ between two servers by nature.
 * Counted: each CommandComplete, EmptyQuery and ErrorResponse (a
 * statement's outcome). The verdict: the first error's SQLSTATE, else the
 * first CommandComplete's command word (SELECT, INSERT, ...).
 */
#include "copy/compare/answer.h"

#include <string.h>

#define PG_MAX_MESSAGE (1u << 30)	/* the server's own limit on a message */

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool streamed(uint8_t type)
{
	return type == 'T' || type == 'D' || type == 'n';
}

static bool kept(uint8_t type)
{
	return type == 'E' || type == 'C';
}

/* ErrorResponse fields: a code byte, a C string, ...; 'C' is SQLSTATE. */
static void error_message(struct answer *a, const uint8_t *b, size_t len)
{
	const char *code = "?????";
	char buf[8];

	for (size_t i = 0; i < len && b[i];) {
		const uint8_t *end = memchr(b + i + 1, 0, len - i - 1);

		if (!end)
			break;
		if (b[i] == 'C' && end - (b + i + 1) == 5) {
			memcpy(buf, b + i + 1, 5);
			buf[5] = 0;
			code = buf;
			break;
		}
		i = (size_t)(end - b) + 1;
	}
	a->messages++;
	a->complete++;
	a->errors++;
	if (a->errors == 1)
		answer_set_verdict(a, "%s", code);
	answer_digest(a, "E", 1);
	answer_digest(a, code, 5);
}

static void command_complete(struct answer *a, const uint8_t *b, size_t len)
{
	size_t tag = strnlen((const char *)b, len);

	a->messages++;
	a->complete++;
	if (!a->errors && a->messages == 1) {
		size_t word = 0;

		while (word < tag && b[word] != ' ')
			word++;
		answer_set_verdict(a, "%.*s", (int)(word < 40 ? word : 40), (const char *)b);
	}
	answer_digest(a, "C", 1);
	answer_digest(a, b, tag);
}

static void message_done(struct answer *a)
{
	struct pg_state *g = &a->st.pg;

	if (g->type == 'E')
		error_message(a, g->body, g->body_len);
	else if (g->type == 'C')
		command_complete(a, g->body, g->body_len);
	else if (g->type == 'I') {
		a->messages++;
		a->complete++;
		answer_digest(a, "I", 1);
	}
	g->hdr_len = 0;
	g->body_len = 0;
}

/* stop_at reached and the ReadyForQuery after the outcomes taken: a
 * statement's answer ends there, not at its CommandComplete. */
static bool pg_stopped(const struct answer *a)
{
	return answer_stopped(a) && a->st.pg.hdr_len == 0 && a->st.pg.type == 'Z';
}

bool answer_pg_whole(const struct answer *a, const struct answer *model)
{
	const struct pg_state *g = &a->st.pg;

	if (a->malformed)
		return true;
	return g->hdr_len == 0 && (model->st.pg.type != 'Z' || g->type == 'Z');
}

size_t answer_pg_feed(struct answer *a, const uint8_t *p, size_t n)
{
	struct pg_state *g = &a->st.pg;
	size_t total = n;

	while (n && !a->malformed && !pg_stopped(a)) {
		if (g->hdr_len < 5) {
			g->hdr[g->hdr_len++] = *p++;
			n--;
			if (g->hdr_len < 5)
				continue;
			uint32_t len = get32(g->hdr + 1);

			if (len < 4 || len > PG_MAX_MESSAGE) {
				a->malformed = true;
				break;
			}
			g->type = g->hdr[0];
			g->left = len - 4;
			if (streamed(g->type))
				answer_digest(a, g->hdr, 1);
			if (!g->left)
				message_done(a);
			continue;
		}
		size_t used = g->left < n ? (size_t)g->left : n;

		if (streamed(g->type))
			answer_digest(a, p, used);
		if (kept(g->type) && g->body_len < sizeof(g->body)) {
			size_t take = sizeof(g->body) - g->body_len < used ? sizeof(g->body) - g->body_len : used;

			memcpy(g->body + g->body_len, p, take);
			g->body_len += (uint16_t)take;
		}
		g->left -= used;
		p += used;
		n -= used;
		if (!g->left)
			message_done(a);
	}
	if (a->malformed && n) {
		answer_digest(a, p, n);
		n = 0;
	}
	return total - n;
}
