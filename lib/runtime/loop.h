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

/* Watch fd for events (LOOP_READ | LOOP_WRITE; 0 for errors only). 0, or
 * -1 with errno (EEXIST: already watched; ENOENT for mod/del: not watched).
 * The callback gets every ready event of the fd at once. Any fd may be
 * added, changed or removed from any callback: an event still pending in
 * the current batch for a removed fd is dropped. Remove an fd before
 * closing it. */
int loop_add_fd(struct loop *l, int fd, unsigned events, loop_fd_fn fn, void *arg);
int loop_mod_fd(struct loop *l, int fd, unsigned events);
int loop_del_fd(struct loop *l, int fd);

/* A one-shot timer after delay_ms, counted from loop_now_ms() (from the
 * clock itself when called outside loop_run). Returns its id (never 0), or
 * 0 on allocation failure. Equal deadlines fire in the order added. A
 * timer may re-arm itself from its callback; a timer added by a timer
 * callback runs in a later iteration even with delay 0. Cancel is O(log n). */
uint64_t loop_timer_add(struct loop *l, uint64_t delay_ms, loop_timer_fn fn, void *arg);
/* Cancelling an id that already fired or was cancelled does nothing. */
void loop_timer_cancel(struct loop *l, uint64_t timer_id);

/* Deliver signo through a signalfd (the signal is blocked with sigprocmask:
 * call it before starting any thread). It stays blocked after loop_free.
 * 0, or -1 with errno. */
int loop_add_signal(struct loop *l, int signo, loop_signal_fn fn, void *arg);

/* Called every iteration before the loop blocks in epoll_wait: the place to
 * flush batched output. */
void loop_set_before_sleep(struct loop *l, loop_hook_fn fn, void *arg);

/* Run until loop_stop(). 0, or -1 with errno if epoll itself fails.
 * loop_stop() takes effect when the calling callback returns: no further
 * callback runs in that iteration, and what was left is delivered by the
 * next loop_run. Blocks in epoll_wait until the nearest timer is due, or
 * indefinitely with no timer. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

/* CLOCK_MONOTONIC in milliseconds, refreshed once per iteration. */
uint64_t loop_now_ms(const struct loop *l);
/* Read CLOCK_MONOTONIC now (milliseconds), outside any loop. */
uint64_t loop_clock_ms(void);

#endif
