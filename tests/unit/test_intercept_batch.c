/*
 * test_intercept_batch.c — summaries coalesced into SUMMARIES frames:
 * many records in one frame, each connection's records in its own frame,
 * a full frame sent before the next record, records that can never fit,
 * and, with a real event loop, one frame per loop iteration flushed by the
 * before-sleep hook (a lone summary is not held back).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "intercept/batch.h"
#include "lib/runtime/loop.h"
#include "loop_fixture.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"
#include "lib/net/packet_build.h"
#include "lib/wire/wire.h"

/* What an emit callback saw: every frame decoded back into records. */
struct sink {
	int frames;
	int records;
	size_t largest_frame;
	uint16_t last_count;
	uint32_t payload_lens[1024];	/* payload_len of each record, in order */
	struct loop *stop_loop;		/* loop_stop() on each frame when set */
};

static void decode_into(struct sink *sink, const uint8_t *frame, size_t len)
{
	struct wire_hello hello = { WIRE_VERSION, WIRE_ROLE_INTERCEPT, 0, WIRE_MAX_BODY };
	uint8_t hello_frame[WIRE_HEADER_LEN + WIRE_HELLO_LEN];
	struct wire_decoder d;
	struct wire_frame f;
	struct wire_summary_iter it;
	struct wire_summary s;
	const char *why;

	assert_int_equal(wire_decoder_init(&d), 0);
	d.peer_role = WIRE_ROLE_INTERCEPT;
	size_t hello_len = wire_encode_hello(hello_frame, sizeof(hello_frame), &hello);
	assert_int_equal(wire_decoder_feed(&d, hello_frame, hello_len), 0);
	assert_int_equal(wire_decoder_next(&d, &f), 1);
	assert_int_equal(wire_decoder_feed(&d, frame, len), 0);
	assert_int_equal(wire_decoder_next(&d, &f), 1);
	assert_int_equal(f.type, WIRE_SUMMARIES);
	wire_summary_iter_init(&it, &f);
	while (wire_summary_next(&it, &s, &why) == 1) {
		assert_true(sink->records < 1024);
		sink->payload_lens[sink->records++] = s.payload_len;
	}
	assert_int_equal(wire_decoder_pending(&d), 0);
	wire_decoder_free(&d);
}

static void sink_emit(void *ctx, const uint8_t *frame, size_t len, uint16_t count)
{
	struct sink *sink = ctx;
	int before = sink->records;

	sink->frames++;
	sink->last_count = count;
	if (len > sink->largest_frame)
		sink->largest_frame = len;
	decode_into(sink, frame, len);
	assert_int_equal(sink->records - before, count);
	if (sink->stop_loop)
		loop_stop(sink->stop_loop);
}

/* A response's IPv4 + TCP headers (with timestamps: 52 bytes). */
static size_t response(uint8_t *buf, size_t cap)
{
	struct packet_spec spec;

	memset(&spec, 0, sizeof(spec));
	dp_addr_from_v4(&spec.src, htonl(0xc6130001u));
	dp_addr_from_v4(&spec.dst, htonl(0xc6120001u));
	spec.sport = 80;
	spec.dport = 40000;
	spec.flags = TCPF_ACK;
	spec.opt.has_timestamp = true;
	size_t len = packet_build(buf, cap, &spec);
	assert_int_equal(len, 52);
	return len;
}

static void test_coalesce_until_flush(void **state)
{
	struct batch_set set;
	struct batch b;
	struct sink sink = { 0 };
	uint8_t pkt[128];
	size_t len = response(pkt, sizeof(pkt));

	batch_set_init(&set);
	assert_int_equal(batch_init(&b, &set, WIRE_MAX_BODY, sink_emit, &sink), 0);
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(batch_add(&b, 0, 100 + i, pkt, len), 0);
	assert_int_equal(sink.frames, 0);	/* nothing leaves before the flush */
	batch_set_flush(&set);
	assert_int_equal(sink.frames, 1);
	assert_int_equal(sink.last_count, 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(sink.payload_lens[i], 100 + i);	/* in arrival order */
	batch_set_flush(&set);
	assert_int_equal(sink.frames, 1);	/* nothing pending: no empty frame */
	batch_free(&b);
}

static void test_each_connection_its_own_frame(void **state)
{
	struct batch_set set;
	struct batch a, b, idle;
	struct sink sink_a = { 0 }, sink_b = { 0 }, sink_idle = { 0 };
	uint8_t pkt[128];
	size_t len = response(pkt, sizeof(pkt));

	batch_set_init(&set);
	assert_int_equal(batch_init(&a, &set, WIRE_MAX_BODY, sink_emit, &sink_a), 0);
	assert_int_equal(batch_init(&b, &set, WIRE_MAX_BODY, sink_emit, &sink_b), 0);
	assert_int_equal(batch_init(&idle, &set, WIRE_MAX_BODY, sink_emit, &sink_idle), 0);
	for (uint32_t i = 0; i < 6; i++)
		assert_int_equal(batch_add(i % 3 ? &a : &b, 0, i, pkt, len), 0);
	batch_set_flush(&set);
	assert_int_equal(sink_a.frames, 1);
	assert_int_equal(sink_a.records, 4);
	assert_int_equal(sink_b.frames, 1);
	assert_int_equal(sink_b.records, 2);
	assert_int_equal(sink_b.payload_lens[0], 0);
	assert_int_equal(sink_b.payload_lens[1], 3);
	assert_int_equal(sink_idle.frames, 0);
	batch_free(&a);
	batch_free(&b);
	batch_free(&idle);
}

/* max body 4096: a 52-byte record takes 60 bytes and the body starts with
 * 4, so (4096 - 4) / 60 = 68 records fill a frame. 150 records: two full
 * frames leave while adding, the last 14 at the flush. */
static void test_full_frame_goes_before_the_next_record(void **state)
{
	struct batch_set set;
	struct batch b;
	struct sink sink = { 0 };
	uint8_t pkt[128];
	size_t len = response(pkt, sizeof(pkt));

	batch_set_init(&set);
	assert_int_equal(batch_init(&b, &set, WIRE_MIN_MAX_BODY, sink_emit, &sink), 0);
	for (uint32_t i = 0; i < 150; i++) {
		assert_int_equal(batch_add(&b, 0, i, pkt, len), 0);
		assert_int_equal(sink.frames, (int)(i / 68));
	}
	assert_int_equal(sink.last_count, 68);
	batch_set_flush(&set);
	assert_int_equal(sink.frames, 3);
	assert_int_equal(sink.last_count, 150 - 2 * 68);
	assert_int_equal(sink.records, 150);
	for (int i = 0; i < 150; i++)
		assert_int_equal(sink.payload_lens[i], i);
	assert_true(sink.largest_frame <= WIRE_HEADER_LEN + WIRE_MIN_MAX_BODY);
	batch_free(&b);
}

static void test_record_that_never_fits(void **state)
{
	struct batch_set set;
	struct batch b;
	struct sink sink = { 0 };
	uint8_t big[5000], pkt[128], garbage[64];
	size_t len = response(pkt, sizeof(pkt));

	memset(big, 0, sizeof(big));
	memcpy(big, pkt, len);
	memset(garbage, 0x11, sizeof(garbage));	/* IP version 1 */
	batch_set_init(&set);
	assert_int_equal(batch_init(&b, &set, WIRE_MIN_MAX_BODY, sink_emit, &sink), 0);
	assert_int_equal(batch_add(&b, 0, 1, pkt, len), 0);
	/* larger than the peer's max body: refused without sending the
	 * pending frame early */
	assert_int_equal(batch_add(&b, 0, 2, big, sizeof(big)), -1);
	assert_int_equal(batch_add(&b, 0, 3, garbage, sizeof(garbage)), -1);
	assert_int_equal(batch_add(&b, 0, 4, pkt, 39), -1);	/* under 40 bytes */
	assert_int_equal(batch_add(&b, 0x2, 5, pkt, len), -1);	/* unknown flag */
	assert_int_equal(sink.frames, 0);
	assert_int_equal(batch_add(&b, 0, 6, pkt, len), 0);
	batch_set_flush(&set);
	assert_int_equal(sink.frames, 1);
	assert_int_equal(sink.records, 2);
	assert_int_equal(sink.payload_lens[0], 1);
	assert_int_equal(sink.payload_lens[1], 6);
	batch_free(&b);
}

/* A connection closed with records pending: they are dropped, and the set
 * no longer knows the batch. */
static void test_free_with_pending_records(void **state)
{
	struct batch_set set;
	struct batch a, b;
	struct sink sink_a = { 0 }, sink_b = { 0 };
	uint8_t pkt[128];
	size_t len = response(pkt, sizeof(pkt));

	batch_set_init(&set);
	assert_int_equal(batch_init(&a, &set, WIRE_MAX_BODY, sink_emit, &sink_a), 0);
	assert_int_equal(batch_init(&b, &set, WIRE_MAX_BODY, sink_emit, &sink_b), 0);
	assert_int_equal(batch_add(&a, 0, 1, pkt, len), 0);
	assert_int_equal(batch_add(&b, 0, 2, pkt, len), 0);
	batch_free(&a);
	batch_set_flush(&set);
	assert_int_equal(sink_a.frames, 0);
	assert_int_equal(sink_b.frames, 1);
	batch_free(&b);
	assert_null(set.first);
}

/* With a real loop: summaries added by fd callbacks during one iteration
 * leave as one frame from the before-sleep hook. */
struct loop_case {
	struct batch_set set;
	struct batch batch;
	struct sink sink;
	uint8_t pkt[128];
	size_t len;
	int iterations;
};

static void on_readable(struct loop *l, int fd, unsigned events, void *arg)
{
	struct loop_case *lc = arg;
	char byte;

	assert_int_equal(read(fd, &byte, 1), 1);
	assert_int_equal(batch_add(&lc->batch, 0, (uint32_t)fd, lc->pkt, lc->len), 0);
}

static void before_sleep(struct loop *l, void *arg)
{
	struct loop_case *lc = arg;

	lc->iterations++;
	batch_set_flush(&lc->set);
}

static void test_flush_per_loop_iteration(void **state)
{
	struct loop *l = *state;
	struct loop_case lc;
	int pipes[3][2];

	memset(&lc, 0, sizeof(lc));
	lc.len = response(lc.pkt, sizeof(lc.pkt));
	lc.sink.stop_loop = l;
	batch_set_init(&lc.set);
	assert_int_equal(batch_init(&lc.batch, &lc.set, WIRE_MAX_BODY, sink_emit, &lc.sink), 0);
	for (int i = 0; i < 3; i++) {
		fixture_pipe(pipes[i]);
		assert_int_equal(loop_add_fd(l, pipes[i][0], LOOP_READ, on_readable, &lc), 0);
	}
	loop_set_before_sleep(l, before_sleep, &lc);

	/* A lone summary: no timer exists, yet it leaves before the loop
	 * sleeps (the emit stops the loop; a held-back summary would hang
	 * until the fixture's alarm). */
	fixture_write_byte(pipes[0][1]);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(lc.sink.frames, 1);
	assert_int_equal(lc.sink.last_count, 1);

	/* Three ready fds in one iteration: one frame of three records. */
	for (int i = 0; i < 3; i++)
		fixture_write_byte(pipes[i][1]);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(lc.sink.frames, 2);
	assert_int_equal(lc.sink.last_count, 3);
	assert_int_equal(lc.sink.records, 4);

	for (int i = 0; i < 3; i++) {
		loop_del_fd(l, pipes[i][0]);
		close(pipes[i][0]);
		close(pipes[i][1]);
	}
	batch_free(&lc.batch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_coalesce_until_flush),
		cmocka_unit_test(test_each_connection_its_own_frame),
		cmocka_unit_test(test_full_frame_goes_before_the_next_record),
		cmocka_unit_test(test_record_that_never_fits),
		cmocka_unit_test(test_free_with_pending_records),
		cmocka_unit_test_setup_teardown(test_flush_per_loop_iteration,
						fixture_setup_loop, fixture_teardown_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
