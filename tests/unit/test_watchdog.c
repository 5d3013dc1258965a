/*
 * test_watchdog.c — WATCHDOG=1 pings from a real loop to a real AF_UNIX
 * datagram socket standing for systemd: they keep coming while the loop
 * runs when WATCHDOG_USEC asks for them, and no timer is armed when it
 * does not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/runtime/loop.h"
#include "lib/runtime/watchdog.h"

struct systemd {
	int fd;
	char dir[64];
	char path[128];
	int pings;
	int other;		/* anything that is not WATCHDOG=1 */
	int gave_up;		/* the guard timer fired */
};

static void listen_as_systemd(struct systemd *s)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/doppel-test-watchdog-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/notify", s->dir);
	strcpy(addr.sun_path, s->path);
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	setenv("NOTIFY_SOCKET", s->path, 1);
	unsetenv("WATCHDOG_PID");
}

static void stop_listening(struct systemd *s)
{
	close(s->fd);
	unlink(s->path);
	rmdir(s->dir);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
}

/* Count datagrams; after three pings the test has seen the timer re-arm. */
static void on_datagram(struct loop *l, int fd, unsigned events, void *arg)
{
	struct systemd *s = arg;
	char buf[256];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) >= 0) {
		buf[n] = '\0';
		if (strcmp(buf, "WATCHDOG=1") == 0)
			s->pings++;
		else
			s->other++;
	}
	if (s->pings >= 3)
		loop_stop(l);
}

static void on_guard(struct loop *l, uint64_t id, void *arg)
{
	struct systemd *s = arg;

	s->gave_up = 1;
	loop_stop(l);
}

static void test_pings_while_the_loop_runs(void **state)
{
	struct watchdog w;
	struct systemd s;
	struct loop *l = loop_new();

	assert_non_null(l);
	listen_as_systemd(&s);
	setenv("WATCHDOG_USEC", "20000", 1);	/* 20ms: a ping every 10ms */
	assert_int_equal(watchdog_start(&w, l), 0);
	assert_int_equal(w.period_ms, 10);
	assert_int_equal(loop_add_fd(l, s.fd, LOOP_READ, on_datagram, &s), 0);
	/* Only a guard against a hang, far past three periods. */
	assert_true(loop_timer_add(l, 30000, on_guard, &s) != 0);
	assert_int_equal(loop_run(l), 0);
	assert_false(s.gave_up);
	assert_int_equal(s.pings, 3);
	assert_int_equal(s.other, 0);
	loop_del_fd(l, s.fd);
	loop_free(l);
	stop_listening(&s);
}

static void on_stop(struct loop *l, uint64_t id, void *arg)
{
	loop_stop(l);
}

static void test_nothing_without_watchdog_usec(void **state)
{
	struct watchdog w;
	struct systemd s;
	struct loop *l = loop_new();
	char buf[64];

	assert_non_null(l);
	listen_as_systemd(&s);
	unsetenv("WATCHDOG_USEC");
	assert_int_equal(watchdog_start(&w, l), 0);
	assert_int_equal(w.period_ms, 0);
	/* The loop's only timer is this one: a watchdog timer would be due
	 * at once with a zero period and ping. */
	assert_true(loop_timer_add(l, 20, on_stop, NULL) != 0);
	assert_int_equal(loop_run(l), 0);
	assert_true(recv(s.fd, buf, sizeof(buf), 0) < 0);
	loop_free(l);
	stop_listening(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pings_while_the_loop_runs),
		cmocka_unit_test(test_nothing_without_watchdog_usec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
