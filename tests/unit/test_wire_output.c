/*
 * test_wire_output.c — lib/wire/wire_output.h, the output buffer both ends
 * of the wire use, over a real socketpair: what counts as sent (the kernel
 * took the bytes, not queuing them), when the output is idle (nothing
 * queued and nothing sent for idle_ms), bytes kept in order through a full
 * socket, compaction and growth, and a closed peer as an error, not a
 * SIGPIPE.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/wire/wire_output.h"

static void pair(int sv[2])
{
	int small = 4096;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
}

/* Read what is there into buf (up to cap); the count. */
static size_t drain(int fd, uint8_t *buf, size_t cap)
{
	size_t got = 0;

	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

/* Queuing is not sending; the kernel taking the bytes is. */
static void test_sent_means_taken(void **state)
{
	struct wire_output o;
	uint8_t got[16];
	size_t written = 99;
	int sv[2];

	(void)state;
	pair(sv);
	wire_output_init(&o, 1000);
	assert_false(wire_output_idle(&o, 1999, 1000));
	assert_true(wire_output_idle(&o, 2000, 1000));

	assert_true(wire_output_append(&o, "hello", 5));
	assert_int_equal(wire_output_queued(&o), 5);
	assert_int_equal(o.last_sent_ms, 1000);	/* queued, not sent */
	assert_false(wire_output_idle(&o, 5000, 1000));	/* something waits */

	assert_int_equal(wire_output_write(&o, sv[0], 3000, &written), WIRE_OUTPUT_DONE);
	assert_int_equal(written, 5);
	assert_int_equal(wire_output_queued(&o), 0);
	assert_int_equal(o.last_sent_ms, 3000);
	assert_false(wire_output_idle(&o, 3999, 1000));
	assert_true(wire_output_idle(&o, 4000, 1000));
	assert_int_equal(drain(sv[1], got, sizeof(got)), 5);
	assert_memory_equal(got, "hello", 5);

	/* Nothing queued: a write sends nothing and is not a send. */
	assert_int_equal(wire_output_write(&o, sv[0], 9000, &written), WIRE_OUTPUT_DONE);
	assert_int_equal(written, 0);
	assert_int_equal(o.last_sent_ms, 3000);
	wire_output_free(&o);
	close(sv[0]);
	close(sv[1]);
}

/* A peer that does not read: AGAIN, the rest kept; a write the kernel
 * takes nothing of is not a send; once the peer reads, every byte arrives
 * in order, through compaction and growth of the buffer. */
static void test_full_socket_keeps_order(void **state)
{
	enum { FRAME = 1000, FRAMES = 600 };
	struct wire_output o;
	uint8_t frame[FRAME];
	uint8_t *got = malloc((size_t)FRAME * FRAMES);
	size_t received = 0, written, sent = 0;
	uint64_t now = 10;
	int sv[2], appended = 0;

	(void)state;
	assert_non_null(got);
	pair(sv);
	wire_output_init(&o, 0);
	/* Fill until the socket is full. */
	while (appended < FRAMES) {
		memset(frame, appended & 0xff, sizeof(frame));
		assert_true(wire_output_append(&o, frame, sizeof(frame)));
		appended++;
		if (wire_output_write(&o, sv[0], now, &written) == WIRE_OUTPUT_AGAIN) {
			sent += written;
			break;
		}
		sent += written;
	}
	assert_true(appended < FRAMES);
	assert_true(wire_output_queued(&o) > 0);
	assert_int_equal(sent + wire_output_queued(&o), (size_t)appended * FRAME);

	/* Still full: nothing taken, last_sent_ms stays; not idle either. */
	assert_int_equal(wire_output_write(&o, sv[0], now + 5000, &written), WIRE_OUTPUT_AGAIN);
	assert_int_equal(written, 0);
	assert_int_equal(o.last_sent_ms, now);
	assert_false(wire_output_idle(&o, now + 5000, 1000));

	/* The peer reads while more frames are queued. */
	while (appended < FRAMES || wire_output_queued(&o) > 0) {
		if (appended < FRAMES) {
			memset(frame, appended & 0xff, sizeof(frame));
			assert_true(wire_output_append(&o, frame, sizeof(frame)));
			appended++;
		}
		now++;
		(void)wire_output_write(&o, sv[0], now, &written);
		if (written)
			assert_int_equal(o.last_sent_ms, now);
		received += drain(sv[1], got + received, (size_t)FRAME * FRAMES - received);
	}
	received += drain(sv[1], got + received, (size_t)FRAME * FRAMES - received);
	assert_int_equal(received, (size_t)FRAME * FRAMES);
	for (size_t i = 0; i < received; i++)
		assert_int_equal(got[i], (i / FRAME) & 0xff);
	wire_output_free(&o);
	free(got);
	close(sv[0]);
	close(sv[1]);
}

/* Encoding in place: space, then commit only what was written. */
static void test_space_and_commit(void **state)
{
	struct wire_output o;
	uint8_t *space;

	(void)state;
	wire_output_init(&o, 0);
	space = wire_output_space(&o, 100000);
	assert_non_null(space);
	memcpy(space, "abc", 3);
	wire_output_commit(&o, 3);
	assert_int_equal(wire_output_queued(&o), 3);
	assert_memory_equal(o.buf + o.start, "abc", 3);
	assert_true(o.cap >= 100000);
	wire_output_reset(&o, 77);
	assert_int_equal(wire_output_queued(&o), 0);
	assert_int_equal(o.last_sent_ms, 77);
	wire_output_free(&o);
	assert_null(o.buf);
}

/* A closed peer: ERROR with EPIPE, and the process lives (MSG_NOSIGNAL). */
static void test_closed_peer_is_an_error(void **state)
{
	struct wire_output o;
	int sv[2];

	(void)state;
	pair(sv);
	close(sv[1]);
	wire_output_init(&o, 0);
	assert_true(wire_output_append(&o, "x", 1));
	errno = 0;
	assert_int_equal(wire_output_write(&o, sv[0], 1, NULL), WIRE_OUTPUT_ERROR);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(wire_output_queued(&o), 1);
	assert_int_equal(o.last_sent_ms, 0);
	wire_output_free(&o);
	close(sv[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sent_means_taken),
		cmocka_unit_test(test_full_socket_keeps_order),
		cmocka_unit_test(test_space_and_commit),
		cmocka_unit_test(test_closed_peer_is_an_error),
	};

	return cmocka_run_group_tests_name("wire_output", tests, NULL, NULL);
}
