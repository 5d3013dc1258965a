/*
 * request_line.h — a request's name for the report, from its first bytes:
 * HTTP method and path (no query string), the Redis command, the first
 * two words of an SQL statement (PostgreSQL simple or extended query,
 * MySQL COM_QUERY); a short label for anything else. Pure.
 */
#ifndef DOPPEL_COMPARE_REQUEST_LINE_H
#define DOPPEL_COMPARE_REQUEST_LINE_H

#include <stddef.h>
#include <stdint.h>

#include "copy/compare/answer.h"

/* Writes a NUL-terminated name into out (cap > 0), printable ASCII only. */
void compare_request_line(enum compare_proto proto, const uint8_t *head, size_t len, char *out,
			  size_t cap);

#endif
