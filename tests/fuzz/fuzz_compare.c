/*
 * fuzz_compare.c — libFuzzer harness for the comparison's answer parsers
 * (copy/compare/answer*.c): HTTP/1.x, RESP2/3, PostgreSQL and MySQL
 * responses, from a server the operator does not control.
 *
 * Input: byte 0 picks the protocol (byte 0 % 5) and the request the
 * answer is of (byte 0 / 5 % 4: none, MySQL's COM_STMT_PREPARE,
 * COM_STMT_EXECUTE, COM_STMT_CLOSE then COM_STMT_PREPARE), byte 1 a piece
 * size; the rest is the answer. A third copy follows the whole one
 * (answer_follow) and stops at its count, as the pairing feeds a target. Invariants: no crash or sanitizer report; feeding the answer
 * whole and in pieces gives the same digest, verdict and counts (a TCP
 * segment may end anywhere); errors never exceed messages for protocols
 * that count outcomes; the kept head is the answer's first bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "copy/compare/answer.h"
#include "copy/compare/verdict.h"
#include "fuzz_check.h"

static const uint8_t requests[4][16] = {
	{ 0 },
	{ 1, 0, 0, 0, 0x16 },
	{ 1, 0, 0, 0, 0x17 },
	{ 5, 0, 0, 0, 0x19, 1, 0, 0, 0, 1, 0, 0, 0, 0x16 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	struct answer_config cfg = {
		.proto = (enum compare_proto)(data[0] % 5),
		.head_bytes = 32,
	};
	size_t step = (size_t)data[1] % 17 + 1;
	const uint8_t *b = data + 2;
	size_t n = size - 2;
	struct answer whole, split, follower;
	const uint8_t *req = requests[data[0] / 5 % 4];

	REQUIRE(answer_init(&whole, &cfg) == 0);
	REQUIRE(answer_init(&split, &cfg) == 0);
	answer_set_request(&whole, req, sizeof(requests[0]));
	answer_set_request(&split, req, sizeof(requests[0]));
	answer_feed(&whole, b, n, 1);
	for (size_t i = 0; i < n; i += step)
		answer_feed(&split, b + i, n - i < step ? n - i : step, 1 + i);
	answer_finish(&whole);
	answer_finish(&split);
	REQUIRE(answer_init(&follower, &cfg) == 0);
	answer_set_request(&follower, req, sizeof(requests[0]));
	answer_follow(&follower, &whole);
	follower.stop_at = whole.complete;
	size_t used = 0;

	for (size_t i = 0; i < n; i += step)
		used += answer_feed(&follower, b + i, n - i < step ? n - i : step, 1 + i);
	answer_finish(&follower);
	REQUIRE(used <= n && follower.bytes == used && follower.complete <= follower.messages);
	REQUIRE(memcmp(whole.digest, split.digest, sizeof(whole.digest)) == 0);
	REQUIRE(strcmp(whole.verdict, split.verdict) == 0);
	REQUIRE(whole.messages == split.messages && whole.errors == split.errors);
	REQUIRE(whole.complete == split.complete && whole.complete <= whole.messages);
	REQUIRE(whole.malformed == split.malformed && whole.digested == split.digested);
	REQUIRE(whole.bytes == n);
	REQUIRE(whole.head_len == (n < 32 ? n : 32));
	REQUIRE(memcmp(whole.head, b, whole.head_len) == 0);
	REQUIRE(memchr(whole.verdict, 0, sizeof(whole.verdict)) != NULL);
	if (cfg.proto != COMPARE_HTTP && cfg.proto != COMPARE_REDIS)
		REQUIRE(whole.errors <= whole.messages);
	REQUIRE(compare_answers(&whole, &split) == COMPARE_SAME || !n);
	return 0;
}
