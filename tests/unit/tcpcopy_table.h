/*
 * tcpcopy_table.h — the tables of docs/deployment.md section 10 ("TCPCopy's
 * command line") read row by row, so that a test can give each row's *try*
 * to a daemon's option parser and check its *result* ("runs", or "exit 2:"
 * and words of the line printed). Header-only: the helper files of
 * tests/unit are linked into every test binary.
 */
#ifndef DOPPEL_TEST_TCPCOPY_TABLE_H
#define DOPPEL_TEST_TCPCOPY_TABLE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define TABLE_MAX_ARGS 16

struct tcpcopy_row {
	char option[16];		/* the TCPCopy option, for messages */
	char try_text[128];
	char *argv[TABLE_MAX_ARGS];	/* try split on spaces (into try_text) */
	int argc;
	bool runs;			/* else: exit 2 */
	char words[200];		/* with exit 2: part of the line printed */
};

/* Column i (0-based) of a "| a | b |" row, trimmed, without backticks. */
static inline void table_column(const char *line, int i, char *out, size_t len)
{
	const char *p = line;

	for (int col = 0; col < i && p; col++)
		p = strchr(p + 1, '|');
	out[0] = '\0';
	if (!p)
		return;
	p++;
	const char *end = strchr(p, '|');
	size_t n = end ? (size_t)(end - p) : strlen(p);
	while (n && (*p == ' ' || *p == '`')) {
		p++;
		n--;
	}
	while (n && (p[n - 1] == ' ' || p[n - 1] == '`'))
		n--;
	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* The rows of the table under the heading that starts with `heading`;
 * returns how many (fails the test on a row it cannot read). */
static inline size_t tcpcopy_table_read(const char *path, const char *heading,
					struct tcpcopy_row *rows, size_t max)
{
	FILE *f = fopen(path, "r");
	char line[1024], result[200];
	bool in_section = false;
	size_t n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "###", 3) == 0 || strncmp(line, "## ", 3) == 0) {
			in_section = strncmp(line, heading, strlen(heading)) == 0;
			continue;
		}
		if (!in_section || strncmp(line, "| `-", 4) != 0)
			continue;
		assert_true(n < max);
		struct tcpcopy_row *r = &rows[n];
		memset(r, 0, sizeof(*r));
		table_column(line, 0, r->option, sizeof(r->option));
		table_column(line, 3, r->try_text, sizeof(r->try_text));
		table_column(line, 4, result, sizeof(result));
		if (strcmp(result, "runs") == 0) {
			r->runs = true;
		} else if (strncmp(result, "exit 2: ", 8) == 0) {
			snprintf(r->words, sizeof(r->words), "%s", result + 8);
		} else {
			fail_msg("%s: row %s: result '%s' is neither 'runs' nor 'exit 2: ...'",
				 path, r->option, result);
		}
		for (char *save = NULL, *tok = strtok_r(r->try_text, " ", &save); tok;
		     tok = strtok_r(NULL, " ", &save)) {
			assert_true(r->argc < TABLE_MAX_ARGS);
			r->argv[r->argc++] = tok;
		}
		assert_true(r->argc > 0);
		n++;
	}
	fclose(f);
	return n;
}

#endif
