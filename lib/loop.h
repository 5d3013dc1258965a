/*
 * loop.h — a small epoll event loop: file events, millisecond timers kept
 * in a binary heap, signals through signalfd, and a before-sleep hook.
 * It knows nothing of what the file descriptors carry.
 */
#ifndef DOPPEL_LOOP_H
#define DOPPEL_LOOP_H

#include <stdint.h>

struct loop;

#define LOOP_READ  0x1u	/* EPOLLIN */
#define LOOP_WRITE 0x4u	/* EPOLLOUT */
#define LOOP_ERROR 0x8u	/* EPOLLERR or EPOLLHUP (always reported) */

typedef void (*loop_fd_fn)(struct loop *l, int fd, unsigned events, void *arg);
typedef void (*loop_timer_fn)(struct loop *l, uint64_t timer_id, void *arg);
typedef void (*loop_signal_fn)(struct loop *l, int signo, void *arg);
typedef void (*loop_hook_fn)(struct loop *l, void *arg);

/* NULL with errno on failure. */
struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Watch fd for events (LOOP_READ | LOOP_WRITE). 0, or -1 with errno. */
int loop_add_fd(struct loop *l, int fd, unsigned events, loop_fd_fn fn, void *arg);
int loop_mod_fd(struct loop *l, int fd, unsigned events);
int loop_del_fd(struct loop *l, int fd);

/* A one-shot timer after delay_ms. Returns its id (never 0), or 0 on
 * allocation failure. A timer may re-arm itself from its callback. */
uint64_t loop_timer_add(struct loop *l, uint64_t delay_ms, loop_timer_fn fn, void *arg);
/* Cancelling an id that already fired or was cancelled does nothing. */
void loop_timer_cancel(struct loop *l, uint64_t timer_id);

/* Deliver signo through a signalfd (the signal is blocked for the process).
 * 0, or -1 with errno. */
int loop_add_signal(struct loop *l, int signo, loop_signal_fn fn, void *arg);

/* Called every iteration before the loop blocks in epoll_wait: the place to
 * flush batched output. */
void loop_set_before_sleep(struct loop *l, loop_hook_fn fn, void *arg);

/* Run until loop_stop(). 0, or -1 with errno if epoll itself fails. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

/* CLOCK_MONOTONIC in milliseconds, refreshed once per iteration. */
uint64_t loop_now_ms(const struct loop *l);
/* Read CLOCK_MONOTONIC now (milliseconds), outside any loop. */
uint64_t loop_clock_ms(void);

#endif
