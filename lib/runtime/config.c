/*
 * config.c — the config file reader declared in options.h: one
 * "key = value" (or "key value") per line, '#' comments, and errors that
 * name the file and line.
 */
#include "lib/runtime/options.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

/* Cut a comment ('#' at the start or after white space) and trailing
 * white space; return the first non-blank character. */
static char *strip_line(char *line)
{
	char *end;

	for (char *p = line; *p; p++) {
		if (*p == '#' && (p == line || is_space(p[-1]))) {
			*p = '\0';
			break;
		}
	}
	end = line + strlen(line);
	while (end > line && is_space(end[-1]))
		*--end = '\0';
	while (is_space(*line))
		line++;
	return line;
}

/* Split a stripped, non-empty line into key and value in place. 0, or -1
 * with what is wrong in why. */
static int split_line(char *line, char **key, char **value, char *why, size_t whylen)
{
	char *p = line;

	while (*p && !is_space(*p) && *p != '=')
		p++;
	if (p == line)
		return opt_error(why, whylen, "missing key before '='");
	for (char *k = line; k < p; k++) {
		if (is_key_char(*k))
			continue;
		if ((unsigned char)*k >= 0x20 && (unsigned char)*k < 0x7f)
			return opt_error(why, whylen, "bad character '%c' in key '%.*s'", *k,
					 (int)(p - line), line);
		return opt_error(why, whylen, "bad byte 0x%02x in key", (unsigned char)*k);
	}
	*key = line;
	while (is_space(*p))
		*p++ = '\0';
	if (*p == '=')
		*p++ = '\0';
	while (is_space(*p))
		p++;
	if (*p == '\0')
		return opt_error(why, whylen, "'%s' has no value", line);
	*value = p;
	return 0;
}

/* One line: skip it, hand it to cb, or fail with "FILE:LINE: why". */
static int parse_line(const char *path, unsigned line_no, char *line, size_t len,
		      config_line_fn cb, void *arg, char *err, size_t errlen)
{
	char why[256] = "";
	char *key = NULL, *value = NULL;
	int rc;

	if (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if (len > CONFIG_LINE_MAX)
		return opt_error(err, errlen, "%s:%u: line is longer than %d characters", path,
				 line_no, CONFIG_LINE_MAX);
	if (memchr(line, '\0', len))
		return opt_error(err, errlen, "%s:%u: line holds a NUL byte", path, line_no);
	line = strip_line(line);
	if (*line == '\0')
		return 0;
	if (split_line(line, &key, &value, why, sizeof(why)) < 0)
		return opt_error(err, errlen, "%s:%u: %s", path, line_no, why);
	rc = cb(key, value, line_no, arg, why, sizeof(why));
	if (rc != 0)
		opt_error(err, errlen, "%s:%u: %s", path, line_no, why[0] ? why : "rejected");
	return rc;
}

/* Room for the longest line allowed, its "\r\n" and a NUL. */
#define LINE_BUFFER (CONFIG_LINE_MAX + 3)

/*
 * Read one line, its newline kept, into buf (LINE_BUFFER bytes). Returns
 * its length (NUL bytes in it included), 0 at the end or on an error. A
 * line too long to be valid stops at LINE_BUFFER - 1 bytes without its
 * newline, and parse_line refuses it: the rest is never read, so a file
 * without newlines (--config /dev/zero) cannot take all the memory.
 */
static size_t read_line(FILE *f, char *buf)
{
	size_t len = 0;
	int c;

	while (len < LINE_BUFFER - 1 && (c = getc(f)) != EOF) {
		buf[len++] = (char)c;
		if (c == '\n')
			break;
	}
	buf[len] = '\0';
	return len;
}

int config_parse_file(const char *path, config_line_fn cb, void *arg, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *line = malloc(LINE_BUFFER);
	unsigned line_no = 0;
	size_t len;
	int rc = 0, saved;

	if (!f || !line) {
		saved = f ? ENOMEM : errno;
		opt_error(err, errlen, "%s: %s", path, strerror(saved));
		if (f)
			fclose(f);
		free(line);
		errno = saved;
		return -1;
	}
	errno = 0;
	while (rc == 0 && (len = read_line(f, line)) > 0) {
		rc = parse_line(path, ++line_no, line, len, cb, arg, err, errlen);
		errno = 0;
	}
	saved = errno;
	if (rc == 0 && ferror(f)) {
		opt_error(err, errlen, "%s: %s", path, strerror(saved ? saved : EIO));
		rc = -1;
	}
	free(line);
	fclose(f);
	errno = saved;
	return rc;
}
