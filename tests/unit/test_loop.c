/*
 * test_loop.c — the event loop's file events (real pipes and socketpairs),
 * removal inside callbacks, loop_stop, the before-sleep hook, loop_now_ms
 * and signals sent with kill(getpid()). Timers: test_loop_timers.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/runtime/loop.h"
#include "loop_fixture.h"

/* ---- file events ---- */

static void test_read_event(void **state)
{
	struct loop *l = *state;
	struct fixture_fd_record r = { .stop_after = 1, .drain = 1 };
	int p[2];

	fixture_pipe(p);
	assert_int_equal(loop_add_fd(l, p[0], LOOP_READ, fixture_record_fd, &r), 0);
	fixture_write_byte(p[1]);
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
	struct fixture_fd_record r = { .stop_after = 1 };
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(loop_add_fd(l, sv[0], LOOP_WRITE, fixture_record_fd, &r), 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(r.events, LOOP_WRITE);

	/* Now ask for reading too, with data waiting: both are reported. */
	fixture_write_byte(sv[1]);
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
	struct fixture_fd_record r = { .stop_after = 1 };
	int sv[2];

	/* Registered for nothing, yet the peer's close is an error/hangup. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(loop_add_fd(l, sv[0], 0, fixture_record_fd, &r), 0);
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
	struct fixture_fd_record r = { 0 };
	int p[2];

	fixture_pipe(p);
	assert_int_equal(loop_add_fd(l, p[0], LOOP_READ, fixture_record_fd, &r), 0);
	errno = 0;
	assert_int_equal(loop_add_fd(l, p[0], LOOP_READ, fixture_record_fd, &r), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(loop_mod_fd(l, p[0], 0x100), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(loop_del_fd(l, p[0]), 0);
	assert_int_equal(loop_del_fd(l, p[0]), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(loop_mod_fd(l, p[0], LOOP_READ), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(loop_add_fd(l, -1, LOOP_READ, fixture_record_fd, &r), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(loop_add_fd(l, p[0], 0x40, fixture_record_fd, &r), -1);
	assert_int_equal(errno, EINVAL);
	close(p[0]);
	close(p[1]);

	/* A closed fd: epoll refuses it and no entry is left behind, so the
	 * number can be registered again once it is reused. */
	assert_int_equal(loop_add_fd(l, p[0], LOOP_READ, fixture_record_fd, &r), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(loop_del_fd(l, p[0]), -1);
	assert_int_equal(errno, ENOENT);
}

/* The fd table grows to any fd number the process may open. */
static void test_large_fd(void **state)
{
	struct loop *l = *state;
	struct fixture_fd_record r = { .stop_after = 1, .drain = 1 };
	struct rlimit lim;
	int p[2], high;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &lim), 0);
	fixture_pipe(p);
	high = fcntl(p[0], F_DUPFD_CLOEXEC, lim.rlim_cur > 5000 ? 4000 : (int)lim.rlim_cur - 10);
	assert_true(high > 500);
	assert_int_equal(loop_add_fd(l, high, LOOP_READ, fixture_record_fd, &r), 0);
	fixture_write_byte(p[1]);
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
	struct fixture_fd_record *newcomer;
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
	fixture_pipe(p);	/* usually takes the victim's number by itself */
	if (p[0] != victim) {
		assert_int_not_equal(p[1], victim);
		assert_int_equal(dup3(p[0], victim, O_CLOEXEC), victim);
		close(p[0]);
	}
	self->replacement[0] = victim;
	self->replacement[1] = p[1];
	assert_int_equal(loop_add_fd(l, victim, LOOP_READ, fixture_record_fd, self->newcomer), 0);
	*other->fd = -1;
}

static void test_remove_other_in_same_batch(void **state)
{
	struct loop *l = *state;
	struct fixture_fd_record newcomer = { 0 };
	struct rival a = { 0 }, b = { 0 };
	int pa[2], pb[2];
	int fa, fb;

	fixture_pipe(pa);
	fixture_pipe(pb);
	fa = pa[0];
	fb = pb[0];
	a = (struct rival){ .fd = &fa, .other = &b, .newcomer = &newcomer };
	b = (struct rival){ .fd = &fb, .other = &a, .newcomer = &newcomer };
	assert_int_equal(loop_add_fd(l, fa, LOOP_READ, rival_fired, &a), 0);
	assert_int_equal(loop_add_fd(l, fb, LOOP_READ, rival_fired, &b), 0);
	fixture_write_byte(pa[1]);
	fixture_write_byte(pb[1]);
	assert_true(loop_timer_add(l, 30, fixture_stop_timer, NULL) != 0);
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

	fixture_pipe(p);
	assert_int_equal(loop_add_fd(l, p[0], LOOP_READ, remove_self, &calls), 0);
	fixture_write_byte(p[1]);
	assert_true(loop_timer_add(l, 20, fixture_stop_timer, NULL) != 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(calls, 1);	/* data still unread, but no longer watched */
	close(p[1]);
}

/* loop_stop() ends the batch at once; level triggering reports the other
 * fd again on the next run. */
static void test_stop_mid_batch(void **state)
{
	struct loop *l = *state;
	struct fixture_fd_record a = { .stop_after = 1 }, b = { .stop_after = 1 };
	int pa[2], pb[2];

	fixture_pipe(pa);
	fixture_pipe(pb);
	assert_int_equal(loop_add_fd(l, pa[0], LOOP_READ, fixture_record_fd, &a), 0);
	assert_int_equal(loop_add_fd(l, pb[0], LOOP_READ, fixture_record_fd, &b), 0);
	fixture_write_byte(pa[1]);
	fixture_write_byte(pb[1]);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(a.calls + b.calls, 1);
	struct fixture_fd_record *first = a.calls ? &a : &b;
	struct fixture_fd_record *second = a.calls ? &b : &a;
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

	fixture_pipe(p);
	loop_set_before_sleep(l, hook, &h);
	assert_int_equal(loop_add_fd(l, p[0], LOOP_READ, fd_sees_hook, &h), 0);
	fixture_write_byte(p[1]);
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

	fixture_pipe(pa);
	fixture_pipe(pb);
	assert_int_equal(loop_add_fd(l, pa[0], LOOP_READ, note_now, &n), 0);
	assert_int_equal(loop_add_fd(l, pb[0], LOOP_READ, note_now, &n), 0);
	fixture_write_byte(pa[1]);
	fixture_write_byte(pb[1]);
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
		cmocka_unit_test_setup_teardown(test_read_event, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_write_event_and_mod, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_error_event_always_reported, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_fd_errors, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_large_fd, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_remove_other_in_same_batch, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_remove_self, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_stop_mid_batch, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_before_sleep, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_now_fixed_within_iteration, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_signals, fixture_setup_loop,
						fixture_teardown_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
