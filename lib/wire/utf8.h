/*
 * utf8.h — checking and cleaning UTF-8 text (RFC 3629) that crosses the
 * wire, such as ERROR messages. NUL counts as invalid here: the text is
 * meant for logs and C strings.
 */
#ifndef DOPPEL_UTF8_H
#define DOPPEL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length of the longest prefix of s that is well-formed UTF-8 without
 * NUL: len when all of it is. */
size_t utf8_valid_prefix(const uint8_t *s, size_t len);

/* Copy the C string src into dst (cap bytes, no NUL added), each byte that
 * does not start a well-formed character replaced with '?', stopping before
 * the first character that would not fit whole. Returns the bytes written. */
size_t utf8_sanitize(uint8_t *dst, size_t cap, const char *src);

#endif
