/*
 * test_intercept_handoff.c — the ring between an nfqueue reader thread and
 * the event loop (intercept/source/handoff.c): a packet comes out as it
 * went in (fields, headers, payload prefix, its queue), a full ring refuses
 * without copying, records wrap around the end intact, the eventfd is
 * written once until the consumer drains, a drain bounded by max leaves
 * the fd readable for the rest, and a real second thread putting 200,000
 * packets while the consumer sleeps in poll() on the fd loses none and
 * reorders none (a lost wake-up would leave the consumer asleep: the test
 * then fails at its bound).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "intercept/source/handoff.h"
#include "lib/net/packet.h"
#include "lib/net/packet_build.h"

/* A response with payload_len bytes of which the buffer holds present,
 * its sequence number seq. */
struct sample {
	uint8_t bytes[2048];
	struct packet p;
};

static void make_sample(struct sample *s, uint32_t seq, size_t payload_len, size_t present)
{
	uint8_t payload[1500];
	struct packet_spec spec = {
		.sport = 80, .dport = 40000, .seq = seq, .ack = 7, .flags = 0x18, .window = 512,
		.payload = payload, .payload_len = payload_len,
	};
	const char *why;
	size_t len;

	for (size_t i = 0; i < payload_len; i++)
		payload[i] = (uint8_t)(seq + i);
	assert_int_equal(dp_addr_parse("198.18.0.2", &spec.src), 0);
	assert_int_equal(dp_addr_parse("198.18.0.1", &spec.dst), 0);
	len = packet_build(s->bytes, sizeof(s->bytes), &spec);
	assert_true(len > 0);
	/* Cut as the source's copy range cuts it. */
	len -= payload_len - present;
	assert_int_equal(packet_parse(s->bytes, len, PACKET_TRUNCATED_OK, &s->p, &why), 0);
	assert_int_equal(s->p.payload_present, present);
}

struct taken {
	uint32_t seq[64];
	uint16_t tag[64];
	size_t present[64];
	size_t count;
	bool bad;
};

/* Check the packet against what make_sample built, and note it. */
static void take(void *ctx, const struct packet *p, uint16_t tag)
{
	struct taken *t = ctx;
	char src[64];

	if (t->count < 64) {
		t->seq[t->count] = p->seq;
		t->tag[t->count] = tag;
		t->present[t->count] = p->payload_present;
	}
	t->count++;
	if (p->sport != 80 || p->dport != 40000 || p->ack != 7 || p->flags != 0x18 ||
	    p->tcp != p->l3 + p->ip_header_len ||
	    strcmp(dp_addr_str(&p->src, src, sizeof(src)), "198.18.0.2") != 0)
		t->bad = true;
	/* The headers are the bytes they were: the TCP header's seq field. */
	if (((uint32_t)p->tcp[4] << 24 | (uint32_t)p->tcp[5] << 16 | (uint32_t)p->tcp[6] << 8 |
	     p->tcp[7]) != p->seq)
		t->bad = true;
	for (size_t i = 0; i < p->payload_present; i++)
		if (p->payload[i] != (uint8_t)(p->seq + i))
			t->bad = true;
}

static uint64_t fd_value(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	return v;
}

static void test_round_trip(void **state)
{
	struct handoff *h = handoff_new(0);
	struct sample a, b;
	struct taken t = { 0 };

	assert_non_null(h);
	make_sample(&a, 1000, 300, 300);
	make_sample(&b, 2000, 1400, 0);
	assert_true(handoff_put(h, &a.p, 3));
	assert_true(handoff_put(h, &b.p, 65534));
	handoff_notify(h);
	assert_int_equal(handoff_drain(h, 100, take, &t), 2);
	assert_false(t.bad);
	assert_int_equal(t.seq[0], 1000);
	assert_int_equal(t.tag[0], 3);
	assert_int_equal(t.present[0], 300);
	assert_int_equal(t.seq[1], 2000);
	assert_int_equal(t.tag[1], 65534);
	assert_int_equal(t.present[1], 0);
	/* Empty now. */
	assert_int_equal(handoff_drain(h, 100, take, &t), 0);
	handoff_free(h);
}

/* A full ring refuses (nothing copied), takes again once drained, and
 * records of every size wrap around the end intact and in order. */
static void test_full_and_wrap(void **state)
{
	struct handoff *h = handoff_new(0);	/* the smallest: 64 KiB */
	struct sample s;
	struct taken t = { 0 };
	uint32_t seq = 0, expected = 0;
	size_t accepted = 0;

	assert_non_null(h);
	make_sample(&s, seq, 1400, 1400);
	while (handoff_put(h, &s.p, 1))
		make_sample(&s, ++seq, 1400, 1400), accepted++;
	/* About 64 KiB / 1.6 KiB records. */
	assert_true(accepted >= 30 && accepted <= 45);
	assert_int_equal(handoff_drain(h, 1000, take, &t), accepted);
	assert_false(t.bad);
	/* The refused one was not half-copied: it goes in now. */
	assert_true(handoff_put(h, &s.p, 1));
	/* Sizes that do not divide the ring, put and taken in turns, many
	 * times round it. */
	memset(&t, 0, sizeof(t));
	t.count = 0;
	expected = seq;
	for (int round = 0; round < 3000; round++) {
		size_t present = (size_t)(round * 37) % 1401;

		make_sample(&s, ++seq, 1400, present);
		while (!handoff_put(h, &s.p, (uint16_t)round)) {
			struct taken drained = { 0 };

			handoff_drain(h, 7, take, &drained);
			assert_false(drained.bad);
			for (size_t i = 0; i < drained.count && i < 64; i++)
				assert_int_equal(drained.seq[i], expected + i);
			expected += (uint32_t)drained.count;
		}
	}
	while (true) {
		struct taken drained = { 0 };

		if (handoff_drain(h, 50, take, &drained) == 0)
			break;
		assert_false(drained.bad);
		for (size_t i = 0; i < drained.count && i < 50; i++)
			assert_int_equal(drained.seq[i], expected + i);
		expected += (uint32_t)drained.count;
	}
	assert_int_equal(expected, seq + 1);
	handoff_free(h);
}

/* One eventfd write per drain, whatever the notifies; a drain stopped by
 * max writes it again for the rest. */
static void test_wakeups(void **state)
{
	struct handoff *h = handoff_new(0);
	struct sample s;
	struct taken t = { 0 };
	int fd;

	assert_non_null(h);
	fd = handoff_fd(h);
	handoff_notify(h);	/* nothing in it: no write */
	assert_int_equal(fd_value(fd), 0);
	make_sample(&s, 5, 10, 10);
	for (int i = 0; i < 10; i++) {
		assert_true(handoff_put(h, &s.p, 0));
		handoff_notify(h);
	}
	assert_int_equal(fd_value(fd), 1);
	/* fd_value read it: the drain's own read finds nothing, fine. */
	assert_int_equal(handoff_drain(h, 4, take, &t), 4);
	assert_int_equal(fd_value(fd), 1);	/* six left: come back */
	assert_int_equal(handoff_drain(h, 100, take, &t), 6);
	assert_int_equal(fd_value(fd), 0);
	assert_false(t.bad);
	handoff_free(h);
}

#define THREAD_PACKETS 200000

static void *producer(void *arg)
{
	struct handoff *h = arg;
	struct sample s;

	for (uint32_t seq = 1; seq <= THREAD_PACKETS; seq++) {
		make_sample(&s, seq, 100, seq % 101);
		while (!handoff_put(h, &s.p, (uint16_t)(seq & 1))) {
			handoff_notify(h);
			usleep(50);
		}
		if (seq % 17 == 0)
			handoff_notify(h);
	}
	handoff_notify(h);
	return NULL;
}

struct ordered {
	uint32_t next;
	bool bad;
};

static void take_in_order(void *ctx, const struct packet *p, uint16_t tag)
{
	struct ordered *o = ctx;

	if (p->seq != o->next || tag != (p->seq & 1) || p->payload_present != p->seq % 101)
		o->bad = true;
	for (size_t i = 0; i < p->payload_present; i++)
		if (p->payload[i] != (uint8_t)(p->seq + i))
			o->bad = true;
	o->next++;
}

static void test_two_threads(void **state)
{
	struct handoff *h = handoff_new(256 * 1024);
	struct ordered o = { .next = 1 };
	pthread_t thread;
	int idle_polls = 0;

	assert_non_null(h);
	assert_int_equal(pthread_create(&thread, NULL, producer, h), 0);
	/* The consumer drains only when the fd says so, as the loop does.
	 * Bounded: 30 s of silence in a row fails. */
	while (o.next <= THREAD_PACKETS && idle_polls < 300) {
		struct pollfd p = { .fd = handoff_fd(h), .events = POLLIN };

		if (poll(&p, 1, 100) == 0) {
			idle_polls++;
			continue;
		}
		idle_polls = 0;
		handoff_drain(h, 1000, take_in_order, &o);
	}
	pthread_join(thread, NULL);
	assert_false(o.bad);
	assert_int_equal(o.next, THREAD_PACKETS + 1);
	handoff_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_full_and_wrap),
		cmocka_unit_test(test_wakeups),
		cmocka_unit_test(test_two_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
