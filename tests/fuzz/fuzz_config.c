/*
 * fuzz_config.c — libFuzzer harness for the config file reader,
 * config_parse_file() (lib/runtime/config.c, grammar in lib/runtime/options.h).
 *
 * The input is the file: written to a memfd and read back through
 * /proc/self/fd/N, so the reader's own fopen/getline path runs. The
 * callback accepts every line except key "reject" (returns 7 with a
 * message) and "reject-silently" (returns 1, no message). Checked against
 * the grammar options.h documents, line by line of the input:
 *   - each key handed over is non-empty letters, digits, '_', '-', '.';
 *     each value non-empty, without NUL, newline, surrounding white space
 *     or a comment; the stripped line is the key, a separator, the value;
 *   - line numbers increase; a line with no callback before the end is
 *     blank or a comment, or is the line the error names;
 *   - an error is "FILE:LINE: what" with the line of the last one read;
 *     a callback's return value comes back as it was;
 *   - a line longer than CONFIG_LINE_MAX is never handed over.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_check.h"
#include "lib/runtime/options.h"

/* The input's lines, as getline() splits them (the newline not counted). */
struct lines {
	const char *text;
	size_t count;
	const char *start[1 + 65536];
	size_t len[1 + 65536];		/* index 1..count */
};

static struct lines lines;
static int memfd = -1;
static char path[64];

struct seen {
	unsigned last_line;
	unsigned called;
	bool lines_called[1 + 65536];
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

/* Split the input at '\n'; false when it has more lines than we track. */
static bool split_lines(const char *text, size_t size)
{
	size_t at = 0;

	lines.text = text;
	lines.count = 0;
	while (at < size) {
		const char *nl = memchr(text + at, '\n', size - at);
		size_t end = nl ? (size_t)(nl - text) : size;

		if (lines.count == 65536)
			return false;
		lines.count++;
		lines.start[lines.count] = text + at;
		lines.len[lines.count] = end - at;
		at = end + 1;
	}
	return true;
}

/* A line with its '\r' (one, before the newline) and surrounding white space cut. */
static void stripped(unsigned n, const char **out, size_t *out_len)
{
	const char *s = lines.start[n];
	size_t len = lines.len[n];

	while (len > 0 && is_space(s[len - 1]))
		len--;
	while (len > 0 && is_space(*s)) {
		s++;
		len--;
	}
	*out = s;
	*out_len = len;
}

static void check_pair(const char *key, const char *value, unsigned line_no)
{
	size_t key_len = strlen(key), value_len = strlen(value), len, sep;
	const char *line;

	REQUIRE(line_no >= 1 && line_no <= lines.count);
	REQUIRE(lines.len[line_no] <= CONFIG_LINE_MAX + 1);	/* at most its '\r' more */
	REQUIRE(key_len > 0 && value_len > 0);
	for (size_t i = 0; i < key_len; i++)
		REQUIRE(is_key_char(key[i]));
	REQUIRE(!is_space(value[0]) && !is_space(value[value_len - 1]));
	REQUIRE(!strchr(value, '\n'));
	for (size_t i = 1; i < value_len; i++)
		REQUIRE(!(value[i] == '#' && is_space(value[i - 1])));
	/* The line: key, white space and at most one '=', the value, and a
	 * comment or nothing after it. */
	stripped(line_no, &line, &len);
	REQUIRE(len >= key_len + value_len && memcmp(line, key, key_len) == 0);
	sep = 0;
	while (key_len + sep < len && is_space(line[key_len + sep]))
		sep++;
	if (key_len + sep < len && line[key_len + sep] == '=')
		sep++;
	while (key_len + sep < len && is_space(line[key_len + sep]))
		sep++;
	REQUIRE(key_len + sep + value_len <= len);
	REQUIRE(memcmp(line + key_len + sep, value, value_len) == 0);
	if (key_len + sep + value_len < len) {
		const char *rest = line + key_len + sep + value_len;

		REQUIRE(is_space(rest[0]));
		while (is_space(*rest))
			rest++;
		REQUIRE(*rest == '#');
	}
}

static int on_line(const char *key, const char *value, unsigned line_no, void *arg,
		   char *err, size_t errlen)
{
	struct seen *seen = arg;

	REQUIRE(line_no > seen->last_line);
	check_pair(key, value, line_no);
	seen->last_line = line_no;
	seen->lines_called[line_no] = true;
	seen->called++;
	if (strcmp(key, "reject") == 0) {
		opt_error(err, errlen, "harness says no to '%s'", value);
		return 7;
	}
	if (strcmp(key, "reject-silently") == 0)
		return 1;
	return 0;
}

/* A line nobody was called for: blank, or a comment. */
static bool blank_or_comment(unsigned n)
{
	const char *line;
	size_t len;

	stripped(n, &line, &len);
	return len == 0 || line[0] == '#';
}

/* "PATH:LINE: " at the start of err; the line number, or 0. */
static unsigned error_line(const char *err)
{
	size_t n = strlen(path);
	char *end;
	unsigned long line;

	REQUIRE(strncmp(err, path, n) == 0 && err[n] == ':');
	line = strtoul(err + n + 1, &end, 10);
	REQUIRE(end != err + n + 1 && strncmp(end, ": ", 2) == 0 && end[2] != '\0');
	return (unsigned)line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen seen;
	char err[512];
	unsigned failed_at = 0;
	int rc;

	if (memfd < 0) {
		memfd = memfd_create("fuzz_config", 0);
		REQUIRE(memfd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (!split_lines((const char *)data, size))
		return 0;
	REQUIRE(ftruncate(memfd, 0) == 0);
	REQUIRE(pwrite(memfd, data, size, 0) == (ssize_t)size);
	memset(&seen, 0, sizeof(seen));
	err[0] = '\0';
	rc = config_parse_file(path, on_line, &seen, err, sizeof(err));
	if (rc != 0) {
		failed_at = error_line(err);
		REQUIRE(failed_at >= 1 && failed_at <= lines.count);
		REQUIRE(failed_at >= seen.last_line);
		if (rc == 7)
			REQUIRE(failed_at == seen.last_line &&
				strstr(err, ": harness says no to '") != NULL);
		else if (rc == 1)
			REQUIRE(failed_at == seen.last_line && strstr(err, ": rejected") != NULL);
		else
			REQUIRE(rc == -1 && failed_at > seen.last_line);
	}
	/* Every line up to the end (or the failing one) was handed over,
	 * or is one the grammar skips. */
	for (unsigned n = 1; n <= (rc ? failed_at - 1 : lines.count); n++)
		REQUIRE(seen.lines_called[n] || blank_or_comment(n));
	for (unsigned n = 1; n <= lines.count; n++)
		if (lines.len[n] > CONFIG_LINE_MAX + 1)
			REQUIRE(!seen.lines_called[n] && (rc == 0 ? false : failed_at <= n));
	return 0;
}
