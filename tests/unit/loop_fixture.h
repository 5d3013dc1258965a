/*
 * loop_fixture.h — what the event loop's tests share: a loop per test
 * (with an alarm as a guard against hanging), pipes, and callbacks that
 * record what they were given.
 */
#ifndef DOPPEL_LOOP_FIXTURE_H
#define DOPPEL_LOOP_FIXTURE_H

#include <stdint.h>

#include "lib/runtime/loop.h"

/* cmocka setup and teardown: *state is a fresh loop. A broken loop that
 * blocks forever kills the test binary with SIGALRM after 20 s instead of
 * hanging the suite. */
int fixture_setup_loop(void **state);
int fixture_teardown_loop(void **state);

/* A non-blocking pipe; one byte written into it. */
void fixture_pipe(int fds[2]);
void fixture_write_byte(int fd);

/* An fd callback's record of its calls. */
struct fixture_fd_record {
	int calls;
	int fd;
	unsigned events;
	int stop_after;		/* loop_stop() on this call (0: never) */
	int drain;		/* read what is there */
};
void fixture_record_fd(struct loop *l, int fd, unsigned events, void *arg);

/* A timer callback that stops the loop. */
void fixture_stop_timer(struct loop *l, uint64_t id, void *arg);
/* A before-sleep hook counting iterations into the int at arg. */
void fixture_count_iteration(struct loop *l, void *arg);

#endif
