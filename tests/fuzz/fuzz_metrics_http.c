/*
 * fuzz_metrics_http.c — libFuzzer harness for the --metrics endpoint's
 * request parser, metrics_parse_request() (lib/runtime/metrics_http.c):
 * the bytes a scraper, or anyone who reaches the port, sends. The first
 * input byte picks max (1..256), the rest is the request. Checked:
 *   - the answer is one of the enum's, and the same on a second call;
 *   - INCOMPLETE only without a blank line and below max; TOO_LARGE only
 *     without a blank line at or past max; anything else has a blank line
 *     and no NUL byte;
 *   - METRICS only for a first line "GET /metrics..." or "HEAD /metrics...",
 *     and head says which;
 *   - a request split anywhere answers INCOMPLETE for the first part, or
 *     what the whole answers when the part already holds the blank line.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "lib/runtime/metrics_http.h"

static bool has_end(const char *buf, size_t len)
{
	return memmem(buf, len, "\r\n\r\n", 4) || memmem(buf, len, "\n\n", 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf;
	size_t len, max;
	bool head, head2;
	enum metrics_request r, r2;

	if (size < 1)
		return 0;
	max = (size_t)data[0] + 1;
	buf = (const char *)data + 1;
	len = size - 1;
	r = metrics_parse_request(buf, len, max, &head);
	REQUIRE(r >= METRICS_REQUEST_INCOMPLETE && r <= METRICS_REQUEST_METRICS);
	r2 = metrics_parse_request(buf, len, max, &head2);
	REQUIRE(r2 == r && head2 == head);
	if (memchr(buf, '\0', len)) {
		REQUIRE(r == METRICS_REQUEST_BAD);
		return 0;
	}
	if (r == METRICS_REQUEST_INCOMPLETE)
		REQUIRE(!has_end(buf, len) && len < max);
	else if (r == METRICS_REQUEST_TOO_LARGE)
		REQUIRE(!has_end(buf, len) && len >= max);
	else
		REQUIRE(has_end(buf, len));
	if (r == METRICS_REQUEST_METRICS) {
		REQUIRE((!head && len >= 13 && memcmp(buf, "GET /metrics", 12) == 0) ||
			(head && len >= 14 && memcmp(buf, "HEAD /metrics", 13) == 0));
	}
	/* Split at every point of a short input: the prefix is read first. */
	for (size_t cut = 0; cut < len && len <= 64; cut++) {
		bool h;
		enum metrics_request part = metrics_parse_request(buf, cut, max, &h);

		if (has_end(buf, cut))
			REQUIRE(part == metrics_parse_request(buf, cut, max, &h));
		else
			REQUIRE(part == METRICS_REQUEST_INCOMPLETE || part == METRICS_REQUEST_TOO_LARGE);
	}
	return 0;
}
