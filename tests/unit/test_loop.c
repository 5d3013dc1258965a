/*
 * test_loop.c — the event loop with real pipes, socketpairs, timers and
 * signals. Timer tests assert order and "not before N ms", never an upper
 * bound on time; "no busy loop" is asserted by counting iterations.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "loop.h"

/* A guard against a broken loop blocking forever: the test process dies
 * with SIGALRM instead of hanging the suite. */
static int setup_loop(void **state)
{
	struct loop *l = loop_new();

	assert_non_null(l);
	*state = l;
	alarm(20);
	return 0;
}

static int teardown_loop(void **state)
{
	alarm(0);
	loop_free(*state);
	return 0;
}

static void make_pipe(int fds[2])
{
	assert_int_equal(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
}

static void write_byte(int fd)
{
	assert_int_equal(write(fd, "x", 1), 1);
}

/* ---- file events ---- */

struct fd_record {
	int calls;
	int fd;
	unsigned events;
	int stop_after;		/* loop_stop() on this call (0: never) */
	int drain;		/* read what is there */
};

static void record_fd(struct loop *l, int fd, unsigned events, void *arg)
{
	struct fd_record *r = arg;
	char buf[64];

	r->calls++;
	r->fd = fd;
	r->events = events;
	if (r->drain)
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	if (r->stop_after && r->calls == r->stop_after)
		loop_stop(l);
}

static void test_read_event(void **state)
{
	struct loop *l = *state;
	struct fd_record r = { .stop_after = 1, .drain = 1 };
	int p[2];

	make_pipe(p);
	assert_int_equal(loop_add_fd(l, p[0], LOOP_READ, record_fd, &r), 0);
	write_byte(p[1]);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.fd, p[0]);
	assert_int_equal(r.events, LOOP_READ);
	assert_int_equal(loop_del_fd(l, p[0]), 0);
	close(p[0]);
	close(p[1]);
}

static void test_write_event_and_mod(void **state)
{
	struct loop *l = *state;
	struct fd_record r = { .stop_after = 1 };
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(loop_add_fd(l, sv[0], LOOP_WRITE, record_fd, &r), 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(r.events, LOOP_WRITE);

	/* Now ask for reading too, with data waiting: both are reported. */
	write_byte(sv[1]);
	assert_int_equal(loop_mod_fd(l, sv[0], LOOP_READ | LOOP_WRITE), 0);
	r.stop_after = 2;
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(r.events, LOOP_READ | LOOP_WRITE);

	/* Read only: the byte still waiting is reported as READ alone. */
	r.drain = 1;
	assert_int_equal(loop_mod_fd(l, sv[0], LOOP_READ), 0);
	r.stop_after = 3;
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(r.events, LOOP_READ);
	assert_int_equal(r.calls, 3);
	assert_int_equal(loop_del_fd(l, sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
}

static void test_error_event_always_reported(void **state)
{
	struct loop *l = *state;
	struct fd_record r = { .stop_after = 1 };
	int sv[2];

	/* Registered for nothing, yet the peer's close is an error/hangup. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(loop_add_fd(l, sv[0], 0, record_fd, &r), 0);
	close(sv[1]);
	assert_int_equal(loop_run(l), 0);
	assert_true(r.events & LOOP_ERROR);
	assert_false(r.events & LOOP_READ);	/* not asked for */
	assert_int_equal(loop_del_fd(l, sv[0]), 0);
	close(sv[0]);
}

static void test_fd_errors(void **state)
{
	struct loop *l = *state;
	struct fd_record r = { 0 };
	int p[2];

	make_pipe(p);
	assert_int_equal(loop_add_fd(l, p[0], LOOP_READ, record_fd, &r), 0);
	errno = 0;
	assert_int_equal(loop_add_fd(l, p[0], LOOP_READ, record_fd, &r), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(loop_mod_fd(l, p[0], 0x100), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(loop_del_fd(l, p[0]), 0);
	assert_int_equal(loop_del_fd(l, p[0]), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(loop_mod_fd(l, p[0], LOOP_READ), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(loop_add_fd(l, -1, LOOP_READ, record_fd, &r), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(loop_add_fd(l, p[0], 0x40, record_fd, &r), -1);
	assert_int_equal(errno, EINVAL);
	close(p[0]);
	close(p[1]);

	/* A closed fd: epoll refuses it and no entry is left behind, so the
	 * number can be registered again once it is reused. */
	assert_int_equal(loop_add_fd(l, p[0], LOOP_READ, record_fd, &r), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(loop_del_fd(l, p[0]), -1);
	assert_int_equal(errno, ENOENT);
}

/* The fd table grows to any fd number the process may open. */
static void test_large_fd(void **state)
{
	struct loop *l = *state;
	struct fd_record r = { .stop_after = 1, .drain = 1 };
	struct rlimit lim;
	int p[2], high;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &lim), 0);
	make_pipe(p);
	high = fcntl(p[0], F_DUPFD_CLOEXEC, lim.rlim_cur > 5000 ? 4000 : (int)lim.rlim_cur - 10);
	assert_true(high > 500);
	assert_int_equal(loop_add_fd(l, high, LOOP_READ, record_fd, &r), 0);
	write_byte(p[1]);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(r.fd, high);
	assert_int_equal(loop_del_fd(l, high), 0);
	close(high);
	close(p[0]);
	close(p[1]);
}

/* Two readable fds in the same batch; whichever callback runs first
 * removes and closes the other and puts a fresh, empty pipe at the same
 * fd number, watched by another callback. The stale event for the old fd
 * must reach neither the old nor the new callback. */
struct rival {
	int calls;
	int *fd;			/* this one's fd */
	struct rival *other;
	int replacement[2];		/* the pipe put in the other's place */
	struct fd_record *newcomer;
};

static void rival_fired(struct loop *l, int fd, unsigned events, void *arg)
{
	struct rival *self = arg, *other = self->other;
	int victim = *other->fd;
	int p[2];

	self->calls++;
	if (self->calls > 1 || other->calls > 0)
		return;
	assert_int_equal(loop_del_fd(l, victim), 0);
	close(victim);
	make_pipe(p);	/* usually takes the victim's number by itself */
	if (p[0] != victim) {
		assert_int_not_equal(p[1], victim);
		assert_int_equal(dup3(p[0], victim, O_CLOEXEC), victim);
		close(p[0]);
	}
	self->replacement[0] = victim;
	self->replacement[1] = p[1];
	assert_int_equal(loop_add_fd(l, victim, LOOP_READ, record_fd, self->newcomer), 0);
	*other->fd = -1;
}

static void stop_timer(struct loop *l, uint64_t id, void *arg)
{
	loop_stop(l);
}

static void test_remove_other_in_same_batch(void **state)
{
	struct loop *l = *state;
	struct fd_record newcomer = { 0 };
	struct rival a = { 0 }, b = { 0 };
	int pa[2], pb[2];
	int fa, fb;

	make_pipe(pa);
	make_pipe(pb);
	fa = pa[0];
	fb = pb[0];
	a = (struct rival){ .fd = &fa, .other = &b, .newcomer = &newcomer };
	b = (struct rival){ .fd = &fb, .other = &a, .newcomer = &newcomer };
	assert_int_equal(loop_add_fd(l, fa, LOOP_READ, rival_fired, &a), 0);
	assert_int_equal(loop_add_fd(l, fb, LOOP_READ, rival_fired, &b), 0);
	write_byte(pa[1]);
	write_byte(pb[1]);
	assert_true(loop_timer_add(l, 30, stop_timer, NULL) != 0);
	assert_int_equal(loop_run(l), 0);

	/* One of them ran (possibly more than once: its pipe stays readable),
	 * the other never did, and the newcomer's empty pipe never fired. */
	assert_true((a.calls > 0) != (b.calls > 0));
	assert_int_equal(newcomer.calls, 0);

	struct rival *winner = a.calls ? &a : &b;
	int survivor = a.calls ? fa : fb;

	assert_int_equal(loop_del_fd(l, survivor), 0);
	assert_int_equal(loop_del_fd(l, winner->replacement[0]), 0);
	close(survivor);
	close(winner->replacement[0]);
	close(winner->replacement[1]);
	close(pa[1]);
	close(pb[1]);
}

static void remove_self(struct loop *l, int fd, unsigned events, void *arg)
{
	int *calls = arg;

	(*calls)++;
	assert_int_equal(loop_del_fd(l, fd), 0);
	close(fd);
}

static void test_remove_self(void **state)
{
	struct loop *l = *state;
	int calls = 0;
	int p[2];

	make_pipe(p);
	assert_int_equal(loop_add_fd(l, p[0], LOOP_READ, remove_self, &calls), 0);
	write_byte(p[1]);
	assert_true(loop_timer_add(l, 20, stop_timer, NULL) != 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(calls, 1);	/* data still unread, but no longer watched */
	close(p[1]);
}

/* loop_stop() ends the batch at once; level triggering reports the other
 * fd again on the next run. */
static void test_stop_mid_batch(void **state)
{
	struct loop *l = *state;
	struct fd_record a = { .stop_after = 1 }, b = { .stop_after = 1 };
	int pa[2], pb[2];

	make_pipe(pa);
	make_pipe(pb);
	assert_int_equal(loop_add_fd(l, pa[0], LOOP_READ, record_fd, &a), 0);
	assert_int_equal(loop_add_fd(l, pb[0], LOOP_READ, record_fd, &b), 0);
	write_byte(pa[1]);
	write_byte(pb[1]);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(a.calls + b.calls, 1);
	struct fd_record *first = a.calls ? &a : &b;
	struct fd_record *second = a.calls ? &b : &a;
	assert_int_equal(loop_del_fd(l, first->fd), 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(second->calls, 1);
	assert_int_equal(first->calls, 1);
	assert_int_equal(loop_del_fd(l, second->fd), 0);
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
}

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

static void count_iteration(struct loop *l, void *arg)
{
	struct timer_log *log = arg;

	log->iterations++;
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

	loop_set_before_sleep(l, count_iteration, &log);
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

	loop_set_before_sleep(l, count_iteration, &log);
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
	struct fd_record r = { .stop_after = 1, .drain = 1 };
	struct timer_log log = { 0 };
	int p[2];
	pid_t child;
	int status;

	make_pipe(p);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		usleep(100 * 1000);
		_exit(write(p[1], "x", 1) == 1 ? 0 : 1);
	}
	loop_set_before_sleep(l, count_iteration, &log);
	assert_int_equal(loop_add_fd(l, p[0], LOOP_READ, record_fd, &r), 0);
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

/* ---- before-sleep hook and loop_now_ms ---- */

struct hook_state {
	int hook_calls;
	int hook_calls_at_fd;
	int stop_in_hook;
};

static void hook(struct loop *l, void *arg)
{
	struct hook_state *h = arg;

	h->hook_calls++;
	if (h->stop_in_hook && h->hook_calls == h->stop_in_hook)
		loop_stop(l);
}

static void fd_sees_hook(struct loop *l, int fd, unsigned events, void *arg)
{
	struct hook_state *h = arg;
	char c;

	assert_int_equal(read(fd, &c, 1), 1);
	h->hook_calls_at_fd = h->hook_calls;
	loop_stop(l);
}

static void test_before_sleep(void **state)
{
	struct loop *l = *state;
	struct hook_state h = { 0 };
	int p[2];

	make_pipe(p);
	loop_set_before_sleep(l, hook, &h);
	assert_int_equal(loop_add_fd(l, p[0], LOOP_READ, fd_sees_hook, &h), 0);
	write_byte(p[1]);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(h.hook_calls_at_fd, 1);	/* ran before the first wait */

	/* Stopping from the hook returns without blocking, although the loop
	 * has nothing to wake it (the pipe is empty, no timer). */
	h = (struct hook_state){ .stop_in_hook = 1 };
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(h.hook_calls, 1);
	assert_int_equal(h.hook_calls_at_fd, 0);
	loop_set_before_sleep(l, NULL, NULL);
	assert_int_equal(loop_del_fd(l, p[0]), 0);
	close(p[0]);
	close(p[1]);
}

struct now_seen {
	int calls;
	uint64_t now[2];
};

static void note_now(struct loop *l, int fd, unsigned events, void *arg)
{
	struct now_seen *n = arg;

	if (n->calls < 2)
		n->now[n->calls] = loop_now_ms(l);
	n->calls++;
	usleep(3000);	/* time passes within the batch */
	if (n->calls == 2)
		loop_stop(l);
}

static void test_now_fixed_within_iteration(void **state)
{
	struct loop *l = *state;
	struct now_seen n = { 0 };
	uint64_t before = loop_clock_ms();
	int pa[2], pb[2];

	make_pipe(pa);
	make_pipe(pb);
	assert_int_equal(loop_add_fd(l, pa[0], LOOP_READ, note_now, &n), 0);
	assert_int_equal(loop_add_fd(l, pb[0], LOOP_READ, note_now, &n), 0);
	write_byte(pa[1]);
	write_byte(pb[1]);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(n.calls, 2);
	assert_true(n.now[0] == n.now[1]);
	assert_true(n.now[0] >= before);
	assert_true(loop_clock_ms() >= n.now[0] + 3);
	assert_int_equal(loop_del_fd(l, pa[0]), 0);
	assert_int_equal(loop_del_fd(l, pb[0]), 0);
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
}

/* ---- signals ---- */

struct signal_seen {
	int count;
	int signos[4];
	int stop_at;
};

static void note_signal(struct loop *l, int signo, void *arg)
{
	struct signal_seen *s = arg;

	if (s->count < 4)
		s->signos[s->count] = signo;
	if (++s->count == s->stop_at)
		loop_stop(l);
}

static void test_signals(void **state)
{
	struct loop *l = *state;
	struct signal_seen s = { .stop_at = 1 };
	sigset_t blocked;

	assert_int_equal(loop_add_signal(l, SIGUSR1, note_signal, &s), 0);
	assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &blocked), 0);
	assert_true(sigismember(&blocked, SIGUSR1));
	assert_int_equal(kill(getpid(), SIGUSR1), 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(s.count, 1);
	assert_int_equal(s.signos[0], SIGUSR1);

	/* A second signal joins the same signalfd; both arrive. */
	assert_int_equal(loop_add_signal(l, SIGUSR2, note_signal, &s), 0);
	s = (struct signal_seen){ .stop_at = 2 };
	assert_int_equal(kill(getpid(), SIGUSR2), 0);
	assert_int_equal(kill(getpid(), SIGUSR1), 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(s.count, 2);
	assert_true((s.signos[0] == SIGUSR1 && s.signos[1] == SIGUSR2) ||
		    (s.signos[0] == SIGUSR2 && s.signos[1] == SIGUSR1));

	assert_int_equal(loop_add_signal(l, 0, note_signal, &s), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(loop_add_signal(l, 1000, note_signal, &s), -1);
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_event, setup_loop, teardown_loop),
		cmocka_unit_test_setup_teardown(test_write_event_and_mod, setup_loop, teardown_loop),
		cmocka_unit_test_setup_teardown(test_error_event_always_reported, setup_loop,
						teardown_loop),
		cmocka_unit_test_setup_teardown(test_fd_errors, setup_loop, teardown_loop),
		cmocka_unit_test_setup_teardown(test_large_fd, setup_loop, teardown_loop),
		cmocka_unit_test_setup_teardown(test_remove_other_in_same_batch, setup_loop,
						teardown_loop),
		cmocka_unit_test_setup_teardown(test_remove_self, setup_loop, teardown_loop),
		cmocka_unit_test_setup_teardown(test_stop_mid_batch, setup_loop, teardown_loop),
		cmocka_unit_test_setup_teardown(test_timers_fire_in_order, setup_loop, teardown_loop),
		cmocka_unit_test_setup_teardown(test_timer_cancel, setup_loop, teardown_loop),
		cmocka_unit_test_setup_teardown(test_cancel_fired_id, setup_loop, teardown_loop),
		cmocka_unit_test_setup_teardown(test_timer_rearms_itself, setup_loop, teardown_loop),
		cmocka_unit_test_setup_teardown(test_timer_added_in_dispatch_waits, setup_loop,
						teardown_loop),
		cmocka_unit_test_setup_teardown(test_many_timers, setup_loop, teardown_loop),
		cmocka_unit_test_setup_teardown(test_sleeps_until_timer, setup_loop, teardown_loop),
		cmocka_unit_test_setup_teardown(test_sleeps_without_timers, setup_loop,
						teardown_loop),
		cmocka_unit_test_setup_teardown(test_before_sleep, setup_loop, teardown_loop),
		cmocka_unit_test_setup_teardown(test_now_fixed_within_iteration, setup_loop,
						teardown_loop),
		cmocka_unit_test_setup_teardown(test_signals, setup_loop, teardown_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
