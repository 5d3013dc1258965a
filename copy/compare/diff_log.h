/*
 * diff_log.h — the comparison's diff log: one JSON object a line for each
 * request the two servers answered differently (docs/compare.md has the
 * fields), appended to a file that is rotated past a size (FILE.1 kept)
 * and written at most rate lines a second (the rest counted, not queued:
 * the log never holds the daemon up or grows its memory).
 */
#ifndef DOPPEL_COMPARE_DIFF_LOG_H
#define DOPPEL_COMPARE_DIFF_LOG_H

#include <stdint.h>

#include "copy/compare/compare.h"

struct diff_log;

/* NULL with err set when the file cannot be opened. */
struct diff_log *diff_log_open(const char *path, uint64_t max_size, unsigned rate, char *err,
			       size_t errlen);
void diff_log_close(struct diff_log *d);

/* Write one differing pair; now_ms (monotonic) paces the rate, the
 * wall-clock time in the line is read here. */
void diff_log_write(struct diff_log *d, uint64_t now_ms, const char *transfer,
		    enum compare_proto proto, const struct compare_result *r);

uint64_t diff_log_written(const struct diff_log *d);
uint64_t diff_log_dropped(const struct diff_log *d);

/* Append s (len bytes) to buf as a JSON string body: quotes, backslashes
 * and control characters escaped, bytes from 0x80 as \u00XX. Returns the
 * new length (never past cap - 1; output NUL-terminated). */
size_t diff_log_json_escape(char *buf, size_t at, size_t cap, const uint8_t *s, size_t len);

#endif
