/*
 * test_copy_compare_holes.c — copy/compare/compare.c: holes in the
 * target's stream (a summary the pcap source lost, which the engine
 * acknowledges past, so its bytes never come). A hole makes the answers it
 * overlaps partial, and never shifts the later ones: issue 15 saw, in
 * pgbench's long connections replayed with the pcap source, one answer
 * start mid-message, take the rest of the session (23 KB) and leave every
 * later request missing; and a hole that swallowed a whole answer gave
 * every later answer to the request before its own.
 *
 * The session here is PostgreSQL's simple query protocol: each request a
 * Query, each answer a DataRow, a CommandComplete and a ReadyForQuery.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "copy/compare/compare.h"

#define N 6	/* requests in the session */

struct seen {
	size_t n;
	struct {
		enum compare_kind kind;
		bool partial;
		uint64_t target_bytes;
		char target_verdict[ANSWER_VERDICT_MAX];
	} r[N];
};

static void on_result(void *ctx, const struct compare_result *res)
{
	struct seen *s = ctx;

	assert_true(s->n < N);
	assert_int_equal(res->request, s->n);
	s->r[s->n].kind = res->kind;
	s->r[s->n].partial = res->partial;
	s->r[s->n].target_bytes = res->target->bytes;
	strcpy(s->r[s->n].target_verdict, res->target->verdict);
	s->n++;
}

static struct session_key key;
static const uint32_t CISN = 1000, OISN = 50000, TISN = 900000;

static int setup(void **state)
{
	(void)state;
	memset(&key, 0, sizeof(key));
	key.client.family = key.target.family = AF_INET;
	key.client.bytes[0] = key.target.bytes[0] = 198;
	key.client.bytes[1] = key.target.bytes[1] = 18;
	key.client.bytes[3] = 1;
	key.target.bytes[3] = 3;
	key.client_port = 40000;
	key.target_port = 5432;
	return 0;
}

static struct packet pkt(uint8_t flags, uint32_t seq, const uint8_t *data, size_t len)
{
	struct packet p;

	memset(&p, 0, sizeof(p));
	p.family = AF_INET;
	p.flags = flags;
	p.seq = seq;
	p.payload = data;
	p.payload_len = p.payload_present = len;
	return p;
}

static struct packet from_target(uint32_t seq, const uint8_t *data, size_t len)
{
	struct packet p = pkt(TCPF_ACK, seq, data, len);

	p.src = key.target;
	p.dst = key.client;
	p.sport = key.target_port;
	p.dport = key.client_port;
	return p;
}

static void put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

/* A message: type, length (counting itself), body. */
static size_t msg(uint8_t *out, uint8_t type, const void *body, size_t len)
{
	out[0] = type;
	put32(out + 1, (uint32_t)(len + 4));
	memcpy(out + 5, body, len);
	return len + 5;
}

/* Request i: a Query; its answer: a row with a value of its own (so an
 * answer given to another request differs), the tag (request 3 is an
 * UPDATE: given to another request it differs in status), ReadyForQuery. */
static uint8_t req[N][64], ans[N][128], tans[N][128];
static size_t rl[N], al[N], tal[N];	/* tans: the target's answers */

static size_t answer_of(uint8_t *out, int i, int value)
{
	char text[24];
	uint8_t row[32];
	const char *tag = i == 3 ? "UPDATE 1" : "SELECT 1";
	size_t vl = (size_t)snprintf(text, sizeof(text), "value-%d", value);
	size_t len;

	row[0] = 0;
	row[1] = 1;	/* one column */
	put32(row + 2, (uint32_t)vl);
	memcpy(row + 6, text, vl);
	len = msg(out, 'D', row, 6 + vl);
	len += msg(out + len, 'C', tag, strlen(tag) + 1);
	len += msg(out + len, 'Z', "I", 1);
	return len;
}

static void build(void)
{
	for (int i = 0; i < N; i++) {
		char sql[48];

		snprintf(sql, sizeof(sql), "SELECT v FROM t WHERE id=%d", i);
		rl[i] = msg(req[i], 'Q', sql, strlen(sql) + 1);
		al[i] = tal[i] = answer_of(ans[i], i, 100 + i);
		memcpy(tans[i], ans[i], al[i]);
	}
}

/* The comparison, the handshake, then the online conversation whole (the
 * answers as built). */
static struct compare *begin(struct seen *seen)
{
	struct compare_config cfg = { .max_sessions = 4, .transfer_count = 1 };

	cfg.compared[0] = true;
	cfg.answer[0].proto = COMPARE_POSTGRES;
	cfg.answer[0].head_bytes = 32;
	memset(seen, 0, sizeof(*seen));
	struct compare *c = compare_new(&cfg, on_result, seen);

	assert_non_null(c);
	/* The handshake, then the online conversation whole. */
	struct packet p = pkt(TCPF_SYN, CISN, NULL, 0);

	compare_client_packet(c, 0, 0, &key, &p);
	p = pkt(TCPF_SYN | TCPF_ACK, OISN, NULL, 0);
	compare_online_packet(c, 1, &key, &p);
	p = from_target(TISN, NULL, 0);
	p.flags = TCPF_SYN | TCPF_ACK;
	compare_target_packet(c, 2, &p);
	uint32_t cs = CISN + 1, os = OISN + 1;

	for (int i = 0; i < N; i++) {
		p = pkt(TCPF_ACK, cs, req[i], rl[i]);
		compare_client_packet(c, 10 + (uint64_t)i, 0, &key, &p);
		p = pkt(TCPF_ACK, os, ans[i], al[i]);
		compare_online_packet(c, 10 + (uint64_t)i, &key, &p);
		cs += (uint32_t)rl[i];
		os += (uint32_t)al[i];
	}
	return c;
}

static struct compare *start(struct seen *seen)
{
	build();
	return begin(seen);
}

/* Where request i starts in the client's stream, answer i in the target's. */
static uint32_t req_seq(int i)
{
	uint32_t s = CISN + 1;

	for (int k = 0; k < i; k++)
		s += (uint32_t)rl[k];
	return s;
}

static uint32_t ans_seq(int i)
{
	uint32_t s = TISN + 1;

	for (int k = 0; k < i; k++)
		s += (uint32_t)tal[k];
	return s;
}

static void send_req(struct compare *c, int i)
{
	struct packet p = pkt(TCPF_ACK, req_seq(i), req[i], rl[i]);

	compare_target_sent(c, 100 + (uint64_t)i, &key, &p);
}

/* Answer i from byte `from` of it on (what a hole left). */
static void answer(struct compare *c, int i, size_t from)
{
	struct packet p = from_target(ans_seq(i) + (uint32_t)from, tans[i] + from, tal[i] - from);

	compare_target_packet(c, 200 + (uint64_t)i, &p);
}

/* Every pair but those in `partial` the same, whole, with its own answer. */
static void check(struct compare *c, struct seen *seen, const bool *partial)
{
	const struct compare_counters *n = compare_counters(c);

	compare_session_end(c, 1000, &key);
	assert_int_equal(seen->n, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(seen->r[i].kind, COMPARE_SAME);
		assert_int_equal(seen->r[i].partial, partial[i]);
		if (!partial[i]) {
			assert_int_equal(seen->r[i].target_bytes, tal[i]);
			assert_string_equal(seen->r[i].target_verdict, i == 3 ? "UPDATE" : "SELECT");
		}
	}
	for (int k = COMPARE_SAME + 1; k < COMPARE_KIND_COUNT; k++)
		assert_int_equal(n->kinds[k], 0);
	compare_free(c);
}

/* The hole ends inside answer 2's DataRow: its bytes after the hole are
 * not read as messages (a length out of the row's middle would swallow
 * the rest of the session); the engine lets request 3 go when the
 * target's stream has advanced by answer 2's length, and answer 3 is read
 * from there. */
static void test_hole_ends_mid_message(void **state)
{
	struct seen seen;
	struct compare *c = start(&seen);
	const bool partial[N] = { false, false, true, false, false, false };

	(void)state;
	for (int i = 0; i < N; i++) {
		send_req(c, i);
		answer(c, i, i == 2 ? 7 : 0);
	}
	check(c, &seen, partial);
}

/* The hole is answer 2 whole; the engine let request 3 go at its quiet
 * period, before anything of it came. The next bytes, where answer 2's
 * length says answer 3 starts, are answer 3's: not request 2's (every
 * later answer would go to the request before its own). */
static void test_hole_swallows_a_whole_answer(void **state)
{
	struct seen seen;
	struct compare *c = start(&seen);
	const bool partial[N] = { false, false, true, false, false, false };

	(void)state;
	for (int i = 0; i < N; i++) {
		send_req(c, i);
		if (i != 2)
			answer(c, i, 0);
	}
	check(c, &seen, partial);
}

/* Two answers lost whole, then the third's first bytes: the answers the
 * hole overlaps are partial, the next one after it is read whole. */
static void test_hole_over_several_answers(void **state)
{
	struct seen seen;
	struct compare *c = start(&seen);
	const bool partial[N] = { false, true, true, true, false, false };

	(void)state;
	for (int i = 0; i < N; i++) {
		send_req(c, i);
		if (i == 3)
			answer(c, i, 9);
		else if (i != 1 && i != 2)
			answer(c, i, 0);
	}
	check(c, &seen, partial);
}

/* Request 3 left before anything of answer 2 came (the quiet period), and
 * the hole ends inside answer 2: the bytes after it may be answer 2's or
 * 3's, so both are partial; the next request's answer, where the online
 * lengths say it starts, is read whole again. */
static void test_hole_after_an_early_request(void **state)
{
	struct seen seen;
	struct compare *c = start(&seen);
	const bool partial[N] = { false, false, true, true, false, false };

	(void)state;
	for (int i = 0; i < N; i++) {
		if (i == 2) {
			send_req(c, 2);
			send_req(c, 3);
			answer(c, 2, 12);
			answer(c, 3, 0);
			continue;
		}
		if (i == 3)
			continue;
		send_req(c, i);
		answer(c, i, 0);
	}
	check(c, &seen, partial);
}

/* The same answers fed in pieces of 5 bytes, with the hole inside answer
 * 1's tag: the pieces after the hole are counted, not read. */
static void test_hole_in_pieces(void **state)
{
	struct seen seen;
	struct compare *c = start(&seen);
	const bool partial[N] = { false, true, false, false, false, false };

	(void)state;
	for (int i = 0; i < N; i++) {
		send_req(c, i);
		for (size_t off = i == 1 ? 22 : 0; off < tal[i]; off += 5) {
			size_t len = tal[i] - off < 5 ? tal[i] - off : 5;
			struct packet p = from_target(ans_seq(i) + (uint32_t)off, tans[i] + off, len);

			compare_target_packet(c, 300, &p);
		}
	}
	check(c, &seen, partial);
}

/* The answer the hole overlaps is longer at the target than online (a
 * value that differs): the online lengths added from before the hole never
 * meet the target's stream again, so no later answer's start is known and
 * the rest of the session is partial: not compared, never different. */
static void test_hole_in_an_answer_of_another_length(void **state)
{
	struct seen seen;
	struct compare *c = start(&seen);
	const bool partial[N] = { false, true, true, true, true, true };

	(void)state;
	tal[1] = answer_of(tans[1], 1, 1000001);
	for (int i = 0; i < N; i++) {
		send_req(c, i);
		answer(c, i, i == 1 ? 8 : 0);
	}
	check(c, &seen, partial);
}

/* No hole, but the target's answer 2 has fewer messages than online's (an
 * error where online had two outcomes) in as many bytes: the engine lets
 * request 3 go at that length, which marks where answer 3 starts, so
 * answer 2 ends there (a status difference) and does not take answer 3's
 * outcome for its second one, which would shift every later pair. */
static void test_known_start_ends_the_answer_before(void **state)
{
	struct seen seen;
	uint8_t body[32];

	(void)state;
	build();
	/* online: two statements' outcomes; target: an error, as long */
	al[2] = msg(ans[2], 'C', "SELECT 1", 9);
	al[2] += msg(ans[2] + al[2], 'C', "SELECT 1", 9);
	al[2] += msg(ans[2] + al[2], 'Z', "I", 1);
	memcpy(body, "SERROR\0C42P01\0Mnope!!\0\0", 23);
	tal[2] = msg(tans[2], 'E', body, 23);
	tal[2] += msg(tans[2] + tal[2], 'Z', "I", 1);
	assert_int_equal(tal[2], al[2]);
	struct compare *c = begin(&seen);

	for (int i = 0; i < N; i++) {
		send_req(c, i);
		answer(c, i, 0);
	}
	compare_session_end(c, 1000, &key);
	assert_int_equal(seen.n, N);
	for (int i = 0; i < N; i++) {
		assert_false(seen.r[i].partial);
		assert_int_equal(seen.r[i].target_bytes, tal[i]);
		assert_int_equal(seen.r[i].kind, i == 2 ? COMPARE_STATUS : COMPARE_SAME);
	}
	assert_string_equal(seen.r[2].target_verdict, "42P01");
	compare_free(c);
}

/* No hole: answer 1's packet ends between its CommandComplete and its
 * ReadyForQuery, and request 2 left before the rest came (pipelined): the
 * ReadyForQuery is still answer 1's. Given to request 2, its answer began
 * two bytes into a message, a length read from the middle swallowed the
 * rest of the session, and every later request was missing (1,482 in one
 * pgbench connection with the pcap source under load). */
static void test_ready_for_query_in_the_next_packet(void **state)
{
	struct seen seen;
	struct compare *c = start(&seen);
	const bool partial[N] = { false };
	uint8_t rest[256];
	struct packet p;

	(void)state;
	send_req(c, 0);
	answer(c, 0, 0);
	send_req(c, 1);
	p = from_target(ans_seq(1), tans[1], tal[1] - 2);
	compare_target_packet(c, 200, &p);
	send_req(c, 2);
	memcpy(rest, tans[1] + tal[1] - 2, 2);
	memcpy(rest + 2, tans[2], tal[2]);
	p = from_target(ans_seq(2) - 2, rest, tal[2] + 2);
	compare_target_packet(c, 201, &p);
	for (int i = 3; i < N; i++) {
		send_req(c, i);
		answer(c, i, 0);
	}
	check(c, &seen, partial);
}

/* No hole: the engine runs ahead (its pacing counts bytes, and after a
 * quiet period it goes on a whole answer early), so requests leave long
 * before the target answers the ones before them, while older answers
 * come in. Where the target's stream was when a request left then says
 * nothing of where its answer starts, even when the bytes since an
 * earlier request left add up to an online length by chance: every pair
 * is read whole and the same (taken for a start, such a position ended
 * answer 2 before its bytes came, and the session shifted by one). */
static void test_requests_far_ahead_of_the_answers(void **state)
{
	struct seen seen;
	struct compare *c = start(&seen);
	const bool partial[N] = { false };

	(void)state;
	assert_int_equal(tal[0], tal[2]);	/* the chance the old rule took */
	send_req(c, 0);
	send_req(c, 1);
	send_req(c, 2);
	for (int i = 0; i < N; i++) {
		answer(c, i, 0);
		if (i + 3 < N)
			send_req(c, i + 3);
	}
	check(c, &seen, partial);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_hole_ends_mid_message, setup),
		cmocka_unit_test_setup(test_hole_swallows_a_whole_answer, setup),
		cmocka_unit_test_setup(test_hole_over_several_answers, setup),
		cmocka_unit_test_setup(test_hole_after_an_early_request, setup),
		cmocka_unit_test_setup(test_hole_in_pieces, setup),
		cmocka_unit_test_setup(test_hole_in_an_answer_of_another_length, setup),
		cmocka_unit_test_setup(test_known_start_ends_the_answer_before, setup),
		cmocka_unit_test_setup(test_ready_for_query_in_the_next_packet, setup),
		cmocka_unit_test_setup(test_requests_far_ahead_of_the_answers, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
