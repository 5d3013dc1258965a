/*
 * loop_fixture.c — see loop_fixture.h.
 */
#include "loop_fixture.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

#include <cmocka.h>

int fixture_setup_loop(void **state)
{
	struct loop *l = loop_new();

	assert_non_null(l);
	*state = l;
	alarm(20);
	return 0;
}

int fixture_teardown_loop(void **state)
{
	alarm(0);
	loop_free(*state);
	return 0;
}

void fixture_pipe(int fds[2])
{
	assert_int_equal(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
}

void fixture_write_byte(int fd)
{
	assert_int_equal(write(fd, "x", 1), 1);
}

void fixture_record_fd(struct loop *l, int fd, unsigned events, void *arg)
{
	struct fixture_fd_record *r = arg;
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

void fixture_stop_timer(struct loop *l, uint64_t id, void *arg)
{
	loop_stop(l);
}

void fixture_count_iteration(struct loop *l, void *arg)
{
	int *iterations = arg;

	(*iterations)++;
}
