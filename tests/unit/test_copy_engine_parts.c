/*
 * The engine's parts on their own: the stream buffer's reassembly and
 * budget, the state machine's transitions, and the session table through
 * growth and removal. (The deadline heap is lib/net/heap.h: test_heap.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "copy/engine/engine_session.h"
#include "copy/engine/session_state.h"
#include "copy/engine/session_table.h"
#include "copy/engine/stream_buffer.h"

/* ---- stream buffer ---- */

struct appended {
	uint32_t seq[64], len[64], ack[64];
	size_t count;
};

static void record_append(void *ctx, uint32_t seq, uint32_t len, uint32_t ack)
{
	struct appended *a = ctx;

	assert_true(a->count < 64);
	a->seq[a->count] = seq;
	a->len[a->count] = len;
	a->ack[a->count] = ack;
	a->count++;
}

static void test_stream_reassembly(void **state)
{
	struct stream_buffer b;
	struct appended a = { .count = 0 };
	const char *text = "0123456789abcdefghijklmnopqrstuvwxyz";
	const uint8_t *t = (const uint8_t *)text;
	const uint8_t *got;
	uint32_t len;
	uint32_t base = 0xfffffff0u;	/* across the 2^32 wrap */

	stream_buffer_init(&b, base);
	assert_int_equal(stream_buffer_add(&b, base + 20, t + 20, 10, 3, SIZE_MAX, record_append, &a),
			 STREAM_ADDED);
	assert_int_equal(a.count, 0);
	assert_int_equal(b.pending_count, 1);
	assert_int_equal(stream_buffer_held(&b), 10);
	/* A copy already covered by a held segment is not kept twice. */
	stream_buffer_add(&b, base + 22, t + 22, 5, 3, SIZE_MAX, record_append, &a);
	assert_int_equal(b.pending_count, 1);
	stream_buffer_add(&b, base, t, 12, 1, SIZE_MAX, record_append, &a);
	assert_int_equal(a.count, 1);
	assert_int_equal(b.end, base + 12);
	/* Fills the gap and overlaps both sides: the held segment drains. */
	stream_buffer_add(&b, base + 10, t + 10, 15, 2, SIZE_MAX, record_append, &a);
	assert_int_equal(b.end, base + 30);
	assert_int_equal(b.pending_count, 0);
	assert_int_equal(a.count, 3);
	assert_int_equal(a.seq[1], base + 12);
	assert_int_equal(a.len[1], 13);
	assert_int_equal(a.ack[1], 2);
	assert_int_equal(a.seq[2], base + 25);
	assert_int_equal(a.len[2], 5);
	assert_int_equal(a.ack[2], 3);	/* the piece keeps its own packet's ack */
	got = stream_buffer_peek(&b, base, &len);
	assert_int_equal(len, 30);
	assert_memory_equal(got, text, 30);
	assert_int_equal(stream_buffer_held(&b), 30);
	/* Budget: nothing changes when it would be passed. */
	assert_int_equal(stream_buffer_add(&b, base + 30, t + 30, 6, 4, 5, record_append, &a),
			 STREAM_OVER_BUDGET);
	assert_int_equal(b.end, base + 30);
	assert_int_equal(stream_buffer_add(&b, base + 40, t, 6, 4, 5, record_append, &a),
			 STREAM_OVER_BUDGET);
	assert_int_equal(b.pending_count, 0);
	/* Consumed up to a point: peek from there. */
	stream_buffer_consume(&b, base + 16);
	got = stream_buffer_peek(&b, base + 16, &len);
	assert_int_equal(len, 14);
	assert_memory_equal(got, text + 16, 14);
	assert_null(stream_buffer_peek(&b, base + 10, &len));
	stream_buffer_consume(&b, base + 30);
	assert_int_equal(stream_buffer_held(&b), 0);
	assert_null(b.data);	/* empty: the array is freed */
	stream_buffer_release(&b);
}

/* Byte by byte through many compactions and growths. */
static void test_stream_grows_and_compacts(void **state)
{
	static uint8_t data[300000];
	struct stream_buffer b;
	uint32_t acked = 0, fed = 0, most_held = 0;
	const uint8_t *got;
	uint32_t len;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + i / 256);
	stream_buffer_init(&b, 1);
	while (fed < sizeof(data)) {
		uint32_t n = 1 + (fed * 7) % 3000;

		if (fed + n > sizeof(data))
			n = sizeof(data) - fed;
		assert_int_equal(stream_buffer_add(&b, 1 + fed, data + fed, n, 0, SIZE_MAX, NULL, NULL),
				 STREAM_ADDED);
		fed += n;
		if (fed - acked > most_held)
			most_held = fed - acked;
		if (fed - acked > 20000) {
			acked += (fed - acked) / 2;
			stream_buffer_consume(&b, 1 + acked);
		}
		got = stream_buffer_peek(&b, 1 + acked, &len);
		assert_int_equal(len, fed - acked);
		assert_memory_equal(got, data + acked, len);
		/* Bounded: the array never passes 4x the most ever held. */
		assert_true(b.capacity <= 2048 || b.capacity <= 4 * most_held);
	}
	stream_buffer_release(&b);
}

static void test_stream_pending_cap(void **state)
{
	struct stream_buffer b;
	uint8_t byte = 'x';

	stream_buffer_init(&b, 0);
	for (uint32_t i = 0; i < STREAM_MAX_PENDING; i++)
		assert_int_equal(stream_buffer_add(&b, 10 + 2 * i, &byte, 1, 0, SIZE_MAX, NULL, NULL),
				 STREAM_ADDED);
	assert_int_equal(stream_buffer_add(&b, 10 + 2 * STREAM_MAX_PENDING, &byte, 1, 0, SIZE_MAX,
					   NULL, NULL), STREAM_TOO_MANY_PENDING);
	/* Segments from another world (a GiB ahead) are not kept at all. */
	assert_int_equal(stream_buffer_add(&b, 0x50000000u, &byte, 1, 0, SIZE_MAX, NULL, NULL),
			 STREAM_ADDED);
	assert_int_equal(b.pending_count, STREAM_MAX_PENDING);
	stream_buffer_release(&b);
}

/* ---- state machine ---- */

static void test_state_transitions(void **state)
{
	/* Active close: FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT -> CLOSED. */
	assert_int_equal(session_state_next(STATE_SYN_SENT, EVENT_SYN_ACK), STATE_ESTABLISHED);
	assert_int_equal(session_state_next(STATE_ESTABLISHED, EVENT_FIN_SENT), STATE_FIN_WAIT_1);
	assert_int_equal(session_state_next(STATE_FIN_WAIT_1, EVENT_FIN_ACKED), STATE_FIN_WAIT_2);
	assert_int_equal(session_state_next(STATE_FIN_WAIT_2, EVENT_TARGET_FIN), STATE_TIME_WAIT);
	assert_int_equal(session_state_next(STATE_TIME_WAIT, EVENT_LINGER_DONE), STATE_CLOSED);
	/* Simultaneous close. */
	assert_int_equal(session_state_next(STATE_FIN_WAIT_1, EVENT_TARGET_FIN), STATE_CLOSING);
	assert_int_equal(session_state_next(STATE_CLOSING, EVENT_FIN_ACKED), STATE_TIME_WAIT);
	/* Passive close: no linger. */
	assert_int_equal(session_state_next(STATE_ESTABLISHED, EVENT_TARGET_FIN), STATE_CLOSE_WAIT);
	assert_int_equal(session_state_next(STATE_CLOSE_WAIT, EVENT_FIN_SENT), STATE_LAST_ACK);
	assert_int_equal(session_state_next(STATE_LAST_ACK, EVENT_FIN_ACKED), STATE_CLOSED);
	/* Events that do not apply change nothing; END ends from anywhere. */
	assert_int_equal(session_state_next(STATE_SYN_SENT, EVENT_FIN_SENT), STATE_SYN_SENT);
	assert_int_equal(session_state_next(STATE_FIN_WAIT_2, EVENT_FIN_SENT), STATE_FIN_WAIT_2);
	assert_int_equal(session_state_next(STATE_CLOSED, EVENT_SYN_ACK), STATE_CLOSED);
	for (int s = STATE_SYN_SENT; s <= STATE_CLOSED; s++) {
		assert_int_equal(session_state_next((enum session_state)s, EVENT_END), STATE_CLOSED);
		assert_string_not_equal(session_state_name((enum session_state)s), "?");
	}
}

/* ---- session table ---- */

static void test_table_grows_and_removes(void **state)
{
	enum { COUNT = 20000 };
	struct session *sessions = calloc(COUNT, sizeof(*sessions));
	struct session_table t;

	assert_non_null(sessions);
	assert_int_equal(session_table_init(&t, 42), 0);
	for (uint32_t i = 0; i < COUNT; i++) {
		struct session_key k = { .client_port = (uint16_t)i, .target_port = 80 };

		k.client.family = k.target.family = AF_INET;
		k.client.bytes[0] = 198;
		k.client.bytes[1] = 18;
		k.client.bytes[2] = (uint8_t)(i >> 16);
		k.client.pad[0] = 0xaa;	/* garbage the normalization must drop */
		k.client.bytes[9] = 0xbb;
		session_key_normalize(&sessions[i].key, &k);
		session_table_insert(&t, &sessions[i]);
	}
	assert_int_equal(t.count, COUNT);
	assert_true(t.mask + 1 >= COUNT);
	for (uint32_t i = 0; i < COUNT; i += 2)
		session_table_remove(&t, &sessions[i]);
	for (uint32_t i = 0; i < COUNT; i++) {
		struct session_key k;

		session_key_normalize(&k, &sessions[i].key);
		if (i % 2)
			assert_ptr_equal(session_table_find(&t, &k), &sessions[i]);
		else
			assert_null(session_table_find(&t, &k));
	}
	session_table_free(&t);
	free(sessions);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_reassembly),
		cmocka_unit_test(test_stream_grows_and_compacts),
		cmocka_unit_test(test_stream_pending_cap),
		cmocka_unit_test(test_state_transitions),
		cmocka_unit_test(test_table_grows_and_removes),
	};

	return cmocka_run_group_tests_name("copy_engine_parts", tests, NULL, NULL);
}
