/*
 * utf8.c — well-formed UTF-8 as RFC 3629 defines it: no overlong forms, no
 * surrogates, nothing past U+10FFFF.
 */
#include "lib/wire/utf8.h"

#include <string.h>

static int in_range(uint8_t byte, uint8_t low, uint8_t high)
{
	return byte >= low && byte <= high;
}

/* The length of the character at s (at most len bytes), or 0 when the bytes
 * there are not a well-formed character (or are NUL). */
static size_t char_len(const uint8_t *s, size_t len)
{
	uint8_t lead = s[0];
	size_t need;
	uint8_t second_low = 0x80, second_high = 0xbf;

	if (lead == 0)
		return 0;
	if (lead < 0x80)
		return 1;
	if (in_range(lead, 0xc2, 0xdf)) {
		need = 2;
	} else if (in_range(lead, 0xe0, 0xef)) {
		need = 3;
		if (lead == 0xe0)
			second_low = 0xa0;	/* overlong below U+0800 */
		else if (lead == 0xed)
			second_high = 0x9f;	/* surrogates U+D800..U+DFFF */
	} else if (in_range(lead, 0xf0, 0xf4)) {
		need = 4;
		if (lead == 0xf0)
			second_low = 0x90;	/* overlong below U+10000 */
		else if (lead == 0xf4)
			second_high = 0x8f;	/* past U+10FFFF */
	} else {
		return 0;
	}
	if (len < need || !in_range(s[1], second_low, second_high))
		return 0;
	for (size_t i = 2; i < need; i++)
		if (!in_range(s[i], 0x80, 0xbf))
			return 0;
	return need;
}

size_t utf8_valid_prefix(const uint8_t *s, size_t len)
{
	size_t at = 0, n;

	while (at < len && (n = char_len(s + at, len - at)) != 0)
		at += n;
	return at;
}

size_t utf8_sanitize(uint8_t *dst, size_t cap, const char *src)
{
	const uint8_t *s = (const uint8_t *)src;
	size_t left = strlen(src), out = 0, n;

	while (left) {
		n = char_len(s, left);
		if (n == 0) {
			if (out == cap)
				break;
			dst[out++] = '?';
			s++;
			left--;
			continue;
		}
		if (n > cap - out)
			break;
		memcpy(dst + out, s, n);
		out += n;
		s += n;
		left -= n;
	}
	return out;
}
