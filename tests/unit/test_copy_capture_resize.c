/*
 * test_copy_capture_resize.c — the afpacket capture's ring sized to the
 * traffic (capture_afpacket.c, "Sized to the traffic") on a real veth in
 * a namespace private to this process (skipped without root): a thread
 * injects numbered TCP segments from dpb at a steady rate while the
 * capture on dpa replaces its ring again and again.
 *
 * What is checked: across at least 10 switches under load (40,000 segments/s) every segment is
 * delivered exactly once and in the order sent (a loss is a gap in the
 * numbers, a duplicate a repeat, a reordering a step back), with no
 * kernel drop; a second stream at 15,000 segments/s makes the ring grow
 * by itself to hold two seconds of it; a capture with a fixed ring or in
 * a --workers fanout group refuses to resize; after the drop to --user
 * (CAP_NET_RAW and CAP_NET_ADMIN kept) a switch still opens its socket.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "copy/capture/capture.h"
#include "lib/runtime/privileges.h"
#include "netns_fixture.h"

#define FRAME_LEN 80
#define WAIT_MS 30000

static const char *skip_reason;

static int setup_link(void **state)
{
	netns_veth_pair(&skip_reason);
	return 0;
}

/* The stream: segments 198.18.0.2:40000 > 198.18.0.9:80 (an address dpa
 * does not have: its kernel drops them without answering), seq = 1000 + i. */
struct stream {
	uint8_t (*frames)[FRAME_LEN];
	size_t len;
	unsigned count;
	unsigned rate;		/* per second */
	atomic_uint sent;
	atomic_int failed;	/* the sender could not send one (errno) */
};

static void stream_build(struct stream *st, unsigned count, unsigned rate)
{
	uint8_t ip[FRAME_LEN];

	memset(st, 0, sizeof(*st));
	st->frames = calloc(count, FRAME_LEN);
	assert_non_null(st->frames);
	st->count = count;
	st->rate = rate;
	for (unsigned i = 0; i < count; i++) {
		size_t len = fixture_tcp_packet(ip, sizeof(ip), "198.18.0.2", 40000, "198.18.0.9",
						80, 1000 + i, 0);

		st->len = fixture_ethernet_frame(st->frames[i], FRAME_LEN, netns_mac_a,
						 netns_mac_b, ip, len);
		assert_true(st->len > 0);
	}
}

static void sleep_until(const struct timespec *start, uint64_t ns)
{
	struct timespec at = *start;

	at.tv_sec += (time_t)(ns / 1000000000u);
	at.tv_nsec += (long)(ns % 1000000000u);
	if (at.tv_nsec >= 1000000000L) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000L;
	}
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
}

/* No cmocka here (not thread-safe): failures go to st->failed. Sends in
 * bursts of 10 every 10/rate seconds: bounded in count and time. */
static void *sender(void *arg)
{
	struct stream *st = arg;
	struct sockaddr_ll at = { .sll_family = AF_PACKET };
	struct timespec start;
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

	at.sll_ifindex = (int)if_nametoindex("dpb");
	if (fd < 0 || bind(fd, (struct sockaddr *)&at, sizeof(at)) != 0) {
		st->failed = errno;
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (unsigned i = 0; i < st->count; i++) {
		int tries = 0;

		if (i % 10 == 0)
			sleep_until(&start, (uint64_t)i * 1000000000u / st->rate);
		while (send(fd, st->frames[i], st->len, 0) != (ssize_t)st->len) {
			if (errno != ENOBUFS || ++tries > 1000) {
				st->failed = errno;
				close(fd);
				return NULL;
			}
			usleep(100);
		}
		st->sent = i + 1;
	}
	close(fd);
	return NULL;
}

struct seen {
	struct loop *loop;
	struct capture *c;
	unsigned want;
	unsigned count;
	uint32_t next_seq;
	unsigned gaps, repeats, backwards;
	/* forced switches: every period_ms, through sizes[] in turn */
	uint64_t period_ms;
	unsigned switches, busy;
};

static void on_deliver(void *ctx, uint64_t ts_us, const struct packet *p)
{
	struct seen *s = ctx;

	if (p->dport != 80)
		return;
	if (p->seq > s->next_seq)
		s->gaps += p->seq - s->next_seq;
	else if (p->seq + 1 == s->next_seq)
		s->repeats++;
	else if (p->seq < s->next_seq)
		s->backwards++;
	if (p->seq >= s->next_seq)
		s->next_seq = p->seq + 1;
	if (++s->count == s->want)
		loop_stop(s->loop);
}

static void stop_loop(struct loop *l, uint64_t id, void *arg)
{
	loop_stop(l);
}

static void on_switch_timer(struct loop *l, uint64_t id, void *arg)
{
	/* never below 16 MiB (0.8 s at 40,000/s): a loaded machine's stall of the
	 * reader must not overflow the ring, which is not what is tested */
	static const uint32_t sizes[] = { 16u << 20, 32u << 20, 64u << 20, 32u << 20 };
	struct seen *s = arg;

	/* -1: the last one is still waiting on its thread */
	if (capture_afpacket_resize(s->c, sizes[s->switches % 4]) == 0)
		s->switches++;
	else
		s->busy++;
	if (s->count < s->want)
		loop_timer_add(l, s->period_ms, on_switch_timer, s);
}

static void open_capture(struct capture *c, struct loop *l, struct seen *s, bool ring_auto,
			 enum capture_fanout fanout)
{
	struct capture_config cfg = { .kind = CAPTURE_AFPACKET, .device = "dpa",
				      .filter = "tcp port 80", .ring_auto = ring_auto,
				      .fanout = fanout, .fanout_group = 4343 };
	char err[256] = "";

	memset(c, 0, sizeof(*c));
	s->loop = l;
	s->c = c;
	s->next_seq = 1000;
	c->ops = capture_ops_for(CAPTURE_AFPACKET);
	c->deliver = on_deliver;
	c->ctx = s;
	if (c->ops->open(c, l, &cfg, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
}

/* Run the stream into the capture; period_ms > 0 forces a switch that
 * often. */
static void run_stream(struct capture *c, struct loop *l, struct seen *s, struct stream *st,
		       uint64_t period_ms)
{
	pthread_t thread;
	uint64_t guard;

	s->want = st->count;
	s->period_ms = period_ms;
	if (period_ms)
		loop_timer_add(l, period_ms, on_switch_timer, s);
	guard = loop_timer_add(l, WAIT_MS, stop_loop, NULL);
	assert_int_equal(pthread_create(&thread, NULL, sender, st), 0);
	assert_int_equal(loop_run(l), 0);
	pthread_join(thread, NULL);
	loop_timer_cancel(l, guard);
	c->ops->update_stats(c);
	assert_int_equal(st->failed, 0);
	assert_int_equal(st->sent, st->count);
}

static void test_switches_lose_nothing(void **state)
{
	struct stream st;
	struct capture c;
	struct seen s = { 0 };
	struct loop *l;

	if (skip_reason)
		skip();
	/* 80,000 segments at 40,000/s, a switch every 50 ms (at this rate the
	 * naive hand-over, a second socket capturing beside the first until the
	 * first is drained and closed, delivered duplicates). */
	stream_build(&st, 80000, 40000);
	l = loop_new();
	assert_non_null(l);
	open_capture(&c, l, &s, true, CAPTURE_FANOUT_NONE);
	assert_int_equal(c.counters.ring_bytes, CAPTURE_RING_AUTO_MIN);
	run_stream(&c, l, &s, &st, 50);
	print_message("%u delivered, %llu switches (longest %llu us), %llu kernel drops\n",
		      s.count, (unsigned long long)c.counters.ring_resizes,
		      (unsigned long long)c.counters.ring_switch_us,
		      (unsigned long long)c.counters.kernel_drops);
	assert_int_equal(c.counters.kernel_drops, 0);
	assert_int_equal(s.gaps, 0);
	assert_int_equal(s.repeats, 0);
	assert_int_equal(s.backwards, 0);
	assert_int_equal(s.count, st.count);
	assert_int_equal(s.next_seq, 1000 + st.count);
	/* done switches (the sizing's own too: 40,000/s wants 64 MiB) */
	assert_true(c.counters.ring_resizes >= 10);
	assert_int_equal(c.counters.ring_resize_failures, 0);
	c.ops->close(&c);
	loop_free(l);
	free(st.frames);
}

/* 15,000 segments/s for 2.5 s: two seconds of it is 30,000 frames of 512
 * bytes, 15 MiB: the ring grows from 8 to 16 MiB by itself. */
static void test_grows_with_the_rate(void **state)
{
	struct stream st;
	struct capture c;
	struct seen s = { 0 };
	struct loop *l;

	if (skip_reason)
		skip();
	stream_build(&st, 37500, 15000);
	l = loop_new();
	assert_non_null(l);
	open_capture(&c, l, &s, true, CAPTURE_FANOUT_NONE);
	run_stream(&c, l, &s, &st, 0);
	print_message("%u delivered, ring %llu MiB after %llu resizes, %llu kernel drops\n",
		      s.count, (unsigned long long)(c.counters.ring_bytes >> 20),
		      (unsigned long long)c.counters.ring_resizes,
		      (unsigned long long)c.counters.kernel_drops);
	assert_true(c.counters.ring_resizes >= 1);
	assert_true(c.counters.ring_bytes >= 16u << 20);
	assert_true(c.counters.ring_bytes <= CAPTURE_RING_BYTES_DEFAULT);
	assert_int_equal(s.gaps + s.repeats + s.backwards, 0);
	assert_int_equal(s.count, st.count);
	c.ops->close(&c);
	loop_free(l);
	free(st.frames);
}

/* --capture-ring (no ring_auto) and --workers (a fanout group of
 * another kind) keep their ring. */
static void test_fixed_rings_refuse(void **state)
{
	struct capture c;
	struct seen s = { 0 };
	struct loop *l;

	if (skip_reason)
		skip();
	l = loop_new();
	assert_non_null(l);
	open_capture(&c, l, &s, false, CAPTURE_FANOUT_NONE);
	assert_int_equal(c.counters.ring_bytes, CAPTURE_RING_BYTES_DEFAULT);
	assert_int_equal(capture_afpacket_resize(&c, 16u << 20), -1);
	c.ops->close(&c);
	open_capture(&c, l, &s, true, CAPTURE_FANOUT_FLOW);
	assert_int_equal(c.counters.ring_bytes, CAPTURE_RING_BYTES_DEFAULT);
	assert_int_equal(capture_afpacket_resize(&c, 16u << 20), -1);
	c.ops->close(&c);
	loop_free(l);
}

/* Until the switch is done or failed, or 10 s. */
static void on_poll_switch(struct loop *l, uint64_t id, void *arg)
{
	struct capture *c = arg;
	static int polls;

	if (c->counters.ring_resizes || c->counters.ring_resize_failures || ++polls > 1000)
		loop_stop(l);
	else
		loop_timer_add(l, 10, on_poll_switch, c);
}

/* In a child, which exits 0 when the ring was replaced after the drop to
 * nobody, 2 + why otherwise (no cmocka there). */
static void resize_as_nobody(void)
{
	struct capture_config cfg = { .kind = CAPTURE_AFPACKET, .device = "dpa",
				      .filter = "tcp port 80", .ring_auto = true };
	struct capture c = { 0 };
	struct seen s = { 0 };
	struct loop *l = loop_new();
	char err[256];

	if (!l)
		_exit(2);
	c.ops = capture_ops_for(CAPTURE_AFPACKET);
	c.deliver = on_deliver;
	c.ctx = &s;
	if (c.ops->open(&c, l, &cfg, err, sizeof(err)) != 0)
		_exit(3);
	if (privileges_drop("nobody", err, sizeof(err)) != 0)
		_exit(4);
	if (capture_afpacket_resize(&c, 16u << 20) != 0)
		_exit(5);
	loop_timer_add(l, 10, on_poll_switch, &c);
	loop_run(l);
	if (c.counters.ring_resizes != 1 || c.counters.ring_bytes != 16u << 20)
		_exit(6);
	c.ops->close(&c);
	_exit(0);
}

static void test_resize_after_user_drop(void **state)
{
	int status = 0;
	pid_t pid;

	if (skip_reason)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		resize_as_nobody();
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_switches_lose_nothing),
		cmocka_unit_test(test_grows_with_the_rate),
		cmocka_unit_test(test_fixed_rings_refuse),
		cmocka_unit_test(test_resize_after_user_drop),
	};

	return cmocka_run_group_tests(tests, setup_link, NULL);
}
