/*
 * test_loop_timers.c — the event loop's timers: order, cancel, stale ids,
 * re-arming, many timers, and sleeping until the next deadline. Asserts
 * order and "not before N ms", never an upper bound on time; "no busy
 * loop" is asserted by counting iterations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/runtime/loop.h"
#include "loop_fixture.h"

/* ---- timers ---- */

#define MAX_FIRED 64

struct timer_log {
	int fired;
	int tags[MAX_FIRED];
	uint64_t at_ms[MAX_FIRED];
	int iteration[MAX_FIRED];
	int iterations;		/* counted by the before-sleep hook */
	int stop_at;		/* loop_stop after this many firings */
};

struct tagged {
	struct timer_log *log;
	int tag;
};

static void log_timer(struct loop *l, uint64_t id, void *arg)
{
	struct tagged *t = arg;
	struct timer_log *log = t->log;

	assert_true(log->fired < MAX_FIRED);
	log->tags[log->fired] = t->tag;
	log->at_ms[log->fired] = loop_now_ms(l);
	log->iteration[log->fired] = log->iterations;
	log->fired++;
	if (log->fired == log->stop_at)
		loop_stop(l);
}

static void test_timers_fire_in_order(void **state)
{
	struct loop *l = *state;
	struct timer_log log = { .stop_at = 4 };
	struct tagged t30 = { &log, 30 }, t10 = { &log, 10 }, t20 = { &log, 20 },
		      t20b = { &log, 21 };
	uint64_t start = loop_clock_ms();

	assert_true(loop_timer_add(l, 30, log_timer, &t30) != 0);
	assert_true(loop_timer_add(l, 10, log_timer, &t10) != 0);
	assert_true(loop_timer_add(l, 20, log_timer, &t20) != 0);
	assert_true(loop_timer_add(l, 20, log_timer, &t20b) != 0);	/* same deadline: FIFO */
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(log.fired, 4);
	assert_int_equal(log.tags[0], 10);
	assert_int_equal(log.tags[1], 20);
	assert_int_equal(log.tags[2], 21);
	assert_int_equal(log.tags[3], 30);
	assert_true(log.at_ms[0] >= start + 10);
	assert_true(log.at_ms[1] >= start + 20);
	assert_true(log.at_ms[3] >= start + 30);
	assert_true(loop_clock_ms() >= start + 30);
}

static void test_timer_cancel(void **state)
{
	struct loop *l = *state;
	struct timer_log log = { .stop_at = 2 };
	struct tagged a = { &log, 1 }, b = { &log, 2 }, c = { &log, 3 };
	uint64_t id_a, id_b, id_c;

	id_a = loop_timer_add(l, 5, log_timer, &a);
	id_b = loop_timer_add(l, 10, log_timer, &b);
	id_c = loop_timer_add(l, 15, log_timer, &c);
	assert_true(id_a && id_b && id_c);
	assert_true(id_a != id_b && id_b != id_c && id_a != id_c);
	loop_timer_cancel(l, id_b);
	loop_timer_cancel(l, id_b);	/* twice: nothing */
	loop_timer_cancel(l, 0);	/* never an id */
	loop_timer_cancel(l, 12345);	/* never handed out */
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(log.fired, 2);
	assert_int_equal(log.tags[0], 1);
	assert_int_equal(log.tags[1], 3);
}

/* A fired timer's slot is reused by the next timer, under a new id: the
 * old id must not cancel the newcomer. */
static void test_cancel_fired_id(void **state)
{
	struct loop *l = *state;
	struct timer_log log = { .stop_at = 1 };
	struct tagged a = { &log, 1 }, b = { &log, 2 };
	uint64_t id_a, id_b;

	id_a = loop_timer_add(l, 1, log_timer, &a);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(log.fired, 1);
	id_b = loop_timer_add(l, 1, log_timer, &b);
	assert_true(id_b != id_a);
	assert_int_equal((uint32_t)id_b, (uint32_t)id_a);	/* the same slot, reused */
	loop_timer_cancel(l, id_a);
	log.stop_at = 2;
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(log.fired, 2);
	assert_int_equal(log.tags[1], 2);
}

struct rearm {
	int fired;
	int limit;
	uint64_t ids[8];
	uint64_t at_ms[8];
};

static void rearm_timer(struct loop *l, uint64_t id, void *arg)
{
	struct rearm *r = arg;

	loop_timer_cancel(l, id);	/* its own, already fired id: harmless */
	r->ids[r->fired] = id;
	r->at_ms[r->fired] = loop_now_ms(l);
	if (++r->fired == r->limit) {
		loop_stop(l);
		return;
	}
	assert_true(loop_timer_add(l, 5, rearm_timer, r) != 0);
}

static void test_timer_rearms_itself(void **state)
{
	struct loop *l = *state;
	struct rearm r = { .limit = 5 };

	assert_true(loop_timer_add(l, 5, rearm_timer, &r) != 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(r.fired, 5);
	for (int i = 1; i < 5; i++) {
		assert_true(r.ids[i] != r.ids[i - 1]);
		assert_true(r.at_ms[i] >= r.at_ms[i - 1] + 5);
	}
}

/* A zero-delay timer added by a timer callback is due, but waits for the
 * next iteration: re-arming at zero cannot starve everything else. */
static void add_zero_timer(struct loop *l, uint64_t id, void *arg)
{
	struct tagged *t = arg;
	static struct tagged next;

	log_timer(l, id, arg);
	next = (struct tagged){ t->log, 2 };
	assert_true(loop_timer_add(l, 0, log_timer, &next) != 0);
}

static void test_timer_added_in_dispatch_waits(void **state)
{
	struct loop *l = *state;
	struct timer_log log = { .stop_at = 2 };
	struct tagged first = { &log, 1 };

	loop_set_before_sleep(l, fixture_count_iteration, &log.iterations);
	assert_true(loop_timer_add(l, 0, add_zero_timer, &first) != 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(log.fired, 2);
	assert_int_equal(log.tags[1], 2);
	assert_true(log.iteration[1] > log.iteration[0]);
	loop_set_before_sleep(l, NULL, NULL);
}

/* Many timers with scattered deadlines, a third cancelled: the others fire
 * exactly once each, in deadline order. */
#define MANY 3000

struct many {
	int fired;
	int remaining;
	uint64_t last_deadline;
	int order_broken;
	uint64_t deadline[MANY];
	unsigned char seen[MANY];
};

static struct many many;

static void many_timer(struct loop *l, uint64_t id, void *arg)
{
	size_t i = (size_t)(uintptr_t)arg;

	if (many.deadline[i] < many.last_deadline)
		many.order_broken++;
	many.last_deadline = many.deadline[i];
	many.seen[i]++;
	many.fired++;
	if (--many.remaining == 0)
		loop_stop(l);
}

static void test_many_timers(void **state)
{
	struct loop *l = *state;
	static uint64_t ids[MANY];
	uint64_t base = loop_clock_ms();
	unsigned seed = 12345;
	int expected = 0;

	memset(&many, 0, sizeof(many));
	for (size_t i = 0; i < MANY; i++) {
		uint64_t delay = (seed = seed * 1103515245u + 12345u) >> 16 & 63;

		ids[i] = loop_timer_add(l, delay, many_timer, (void *)(uintptr_t)i);
		assert_true(ids[i] != 0);
		/* loop_timer_add refreshes the time outside a run, so the
		 * deadline is measured from when it was added. */
		many.deadline[i] = loop_now_ms(l) + delay;
		assert_true(many.deadline[i] >= base + delay);
	}
	for (size_t i = 0; i < MANY; i += 3)
		loop_timer_cancel(l, ids[i]);
	for (size_t i = 0; i < MANY; i++)
		expected += i % 3 != 0;
	many.remaining = expected;
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(many.fired, expected);
	assert_int_equal(many.order_broken, 0);
	for (size_t i = 0; i < MANY; i++)
		assert_int_equal(many.seen[i], i % 3 != 0);
}

/* ---- sleeping ---- */

/* One 50 ms timer and nothing else: the loop sleeps until it is due
 * instead of spinning, so only a handful of iterations pass. */
static void test_sleeps_until_timer(void **state)
{
	struct loop *l = *state;
	struct timer_log log = { .stop_at = 1 };
	struct tagged t = { &log, 1 };
	uint64_t start = loop_clock_ms();

	loop_set_before_sleep(l, fixture_count_iteration, &log.iterations);
	assert_true(loop_timer_add(l, 50, log_timer, &t) != 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(log.fired, 1);
	assert_true(log.at_ms[0] >= start + 50);
	assert_true(log.iterations <= 3);
	loop_set_before_sleep(l, NULL, NULL);
}

/* No timer at all: the loop blocks until the fd is readable. A child
 * writes after a pause; one or two iterations, not thousands. */
static void test_sleeps_without_timers(void **state)
{
	struct loop *l = *state;
	struct fixture_fd_record r = { .stop_after = 1, .drain = 1 };
	struct timer_log log = { 0 };
	int p[2];
	pid_t child;
	int status;

	fixture_pipe(p);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		usleep(100 * 1000);
		_exit(write(p[1], "x", 1) == 1 ? 0 : 1);
	}
	loop_set_before_sleep(l, fixture_count_iteration, &log.iterations);
	assert_int_equal(loop_add_fd(l, p[0], LOOP_READ, fixture_record_fd, &r), 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(r.calls, 1);
	assert_true(log.iterations <= 2);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(loop_del_fd(l, p[0]), 0);
	loop_set_before_sleep(l, NULL, NULL);
	close(p[0]);
	close(p[1]);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_timers_fire_in_order, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_timer_cancel, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_cancel_fired_id, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_timer_rearms_itself, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_timer_added_in_dispatch_waits, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_many_timers, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_sleeps_until_timer, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_sleeps_without_timers, fixture_setup_loop,
						fixture_teardown_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
