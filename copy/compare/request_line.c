/*
 * request_line.c — naming a request by its first bytes (request_line.h).
 */
#include "copy/compare/request_line.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Up to n bytes of s as printable ASCII, upper-cased if upper. */
static size_t put(char *out, size_t cap, size_t at, const uint8_t *s, size_t n, bool upper)
{
	for (size_t i = 0; i < n && at + 1 < cap; i++) {
		unsigned char ch = s[i];

		out[at++] = (char)(isprint(ch) ? (upper ? toupper(ch) : ch) : '?');
	}
	out[at] = '\0';
	return at;
}

/* The first two words of an SQL text, upper-cased. */
static void sql_words(const uint8_t *q, size_t len, char *out, size_t cap)
{
	size_t at = 0, i = 0;

	for (int word = 0; word < 2; word++) {
		while (i < len && (isspace(q[i]) || q[i] == '('))
			i++;
		size_t start = i;

		while (i < len && q[i] && !isspace(q[i]) && q[i] != '(' && q[i] != ';' && i - start < 32)
			i++;
		if (i == start)
			break;
		if (word)
			at = put(out, cap, at, (const uint8_t *)" ", 1, false);
		at = put(out, cap, at, q + start, i - start, true);
	}
	if (!at)
		snprintf(out, cap, "(empty query)");
}

static void http_line(const uint8_t *h, size_t len, char *out, size_t cap)
{
	const uint8_t *sp = memchr(h, ' ', len);

	if (!sp) {
		put(out, cap, 0, h, len < 16 ? len : 16, false);
		return;
	}
	size_t at = put(out, cap, 0, h, (size_t)(sp - h) + 1, false);
	size_t i = (size_t)(sp - h) + 1, start = i;

	while (i < len && h[i] != ' ' && h[i] != '?' && h[i] != '\r' && h[i] != '\n' && i - start < 80)
		i++;
	put(out, cap, at, h + start, i - start, false);
}

static void redis_line(const uint8_t *h, size_t len, char *out, size_t cap)
{
	size_t i = 0;

	if (len && h[0] == '*') {	/* *N\r\n$L\r\nCMD\r\n */
		const uint8_t *nl = memchr(h, '\n', len);

		if (nl && (size_t)(nl - h) + 1 < len && nl[1] == '$') {
			const uint8_t *nl2 = memchr(nl + 1, '\n', len - (size_t)(nl + 1 - h));

			if (nl2)
				i = (size_t)(nl2 - h) + 1;
		}
	}
	size_t start = i;

	while (i < len && h[i] != '\r' && h[i] != '\n' && h[i] != ' ' && i - start < 32)
		i++;
	if (i == start)
		snprintf(out, cap, "(not a command)");
	else
		put(out, cap, 0, h + start, i - start, true);
}

static void pg_line(const uint8_t *h, size_t len, char *out, size_t cap)
{
	if (len > 5 && h[0] == 'Q') {
		sql_words(h + 5, len - 5, out, cap);
	} else if (len > 5 && h[0] == 'P') {	/* Parse: name\0 query\0 ... */
		const uint8_t *z = memchr(h + 5, 0, len - 5);

		if (z)
			sql_words(z + 1, len - (size_t)(z + 1 - h), out, cap);
		else
			snprintf(out, cap, "(parse)");
	} else if (len) {
		snprintf(out, cap, "(message %c)", isprint(h[0]) ? h[0] : '?');
	} else {
		snprintf(out, cap, "(empty)");
	}
}

static void mysql_line(const uint8_t *h, size_t len, char *out, size_t cap)
{
	if (len > 5 && (h[4] == 0x03 || h[4] == 0x16))	/* COM_QUERY, COM_STMT_PREPARE */
		sql_words(h + 5, len - 5, out, cap);
	else if (len > 4)
		snprintf(out, cap, "(command 0x%02x)", h[4]);
	else
		snprintf(out, cap, "(empty)");
}

void compare_request_line(enum compare_proto proto, const uint8_t *head, size_t len, char *out,
			  size_t cap)
{
	out[0] = '\0';
	switch (proto) {
	case COMPARE_HTTP: http_line(head, len, out, cap); break;
	case COMPARE_REDIS: redis_line(head, len, out, cap); break;
	case COMPARE_POSTGRES: pg_line(head, len, out, cap); break;
	case COMPARE_MYSQL: mysql_line(head, len, out, cap); break;
	default: snprintf(out, cap, "(%zu bytes)", len); break;
	}
}
