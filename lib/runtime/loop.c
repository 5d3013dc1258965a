/*
 * loop.c — the event loop behind loop.h: one epoll instance, a table of
 * file callbacks indexed by fd, one-shot timers in a binary heap, and one
 * signalfd for every signal the daemon handles.
 *
 * epoll is used level-triggered. A callback may read only part of what is
 * ready, and loop_stop() may end an iteration with events still undelivered;
 * with level triggering the kernel simply reports those fds again on the
 * next epoll_wait, so nothing is lost and no callback has to drain its fd.
 */
#include "lib/runtime/loop.h"

#include "lib/net/heap.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_BATCH 64		/* events taken per epoll_wait */
#define LOOP_FILES_MIN 64	/* first size of the fd table */
#define LOOP_TIMERS_MIN 16	/* first size of the timer tables */
#define NO_FREE_SLOT UINT32_MAX

/* One watched fd. registration tells a stale epoll event (for an fd that
 * was removed, and perhaps re-added, earlier in the same batch) from a
 * live one: it is stored with the fd in the event's data. */
struct loop_file {
	loop_fd_fn fn;
	void *arg;
	unsigned events;	/* LOOP_READ | LOOP_WRITE asked for */
	uint32_t registration;	/* 0: not watched */
};

/* A timer slot. The id handed out is generation << 32 | (slot + 1); the
 * generation changes whenever the slot is freed, so an old id (fired or
 * cancelled) never matches the slot's next tenant. The heap node's key is
 * the deadline and its tie the creation order, so equal deadlines fire
 * FIFO. */
struct loop_timer {
	struct heap_node node;	/* in the loop's heap while armed */
	loop_timer_fn fn;
	void *arg;
	uint32_t generation;
	uint32_t next_free;	/* free-list link while the slot is unused */
};

struct loop_signal {
	loop_signal_fn fn;
	void *arg;
};

struct loop {
	int epoll_fd;
	bool running;
	bool stop;
	uint64_t now_ms;	/* refreshed once per iteration while running */

	struct loop_file *files;
	size_t files_len;
	uint32_t next_registration;

	struct loop_timer *timers;	/* slots, addressed by id */
	struct heap heap;		/* armed timers, earliest deadline first */
	uint32_t timers_len;		/* slots allocated */
	uint32_t free_head;		/* first unused slot, or NO_FREE_SLOT */
	uint64_t next_order;

	int signal_fd;
	sigset_t signal_mask;
	struct loop_signal signals[_NSIG];

	loop_hook_fn before_sleep;
	void *before_sleep_arg;
};

uint64_t loop_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epoll_fd < 0) {
		int saved = errno;

		free(l);
		errno = saved;
		return NULL;
	}
	l->signal_fd = -1;
	sigemptyset(&l->signal_mask);
	l->free_head = NO_FREE_SLOT;
	heap_init(&l->heap);
	l->now_ms = loop_clock_ms();
	return l;
}

/* Blocked signals stay blocked: unblocking them here would deliver any
 * pending one with its default action, usually killing the process. */
void loop_free(struct loop *l)
{
	if (!l)
		return;
	if (l->signal_fd >= 0)
		close(l->signal_fd);
	close(l->epoll_fd);
	free(l->files);
	free(l->timers);
	heap_free(&l->heap);
	free(l);
}

/* ---- file events ---- */

static uint32_t epoll_mask(unsigned events)
{
	uint32_t mask = 0;

	if (events & LOOP_READ)
		mask |= EPOLLIN;
	if (events & LOOP_WRITE)
		mask |= EPOLLOUT;
	return mask;
}

static unsigned loop_mask(uint32_t epoll_events)
{
	unsigned events = 0;

	if (epoll_events & EPOLLIN)
		events |= LOOP_READ;
	if (epoll_events & EPOLLOUT)
		events |= LOOP_WRITE;
	if (epoll_events & (EPOLLERR | EPOLLHUP))
		events |= LOOP_ERROR;
	return events;
}

static struct loop_file *file_entry(struct loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->files_len || !l->files[fd].registration)
		return NULL;
	return &l->files[fd];
}

static int files_reserve(struct loop *l, int fd)
{
	size_t len = l->files_len ? l->files_len : LOOP_FILES_MIN;
	struct loop_file *files;

	if ((size_t)fd < l->files_len)
		return 0;
	while (len <= (size_t)fd)
		len *= 2;
	files = realloc(l->files, len * sizeof(*files));
	if (!files)
		return -1;
	memset(files + l->files_len, 0, (len - l->files_len) * sizeof(*files));
	l->files = files;
	l->files_len = len;
	return 0;
}

static int epoll_update(struct loop *l, int op, int fd, const struct loop_file *f)
{
	struct epoll_event ev = {
		.events = epoll_mask(f->events),
		.data.u64 = (uint64_t)f->registration << 32 | (uint32_t)fd,
	};

	return epoll_ctl(l->epoll_fd, op, fd, &ev);
}

int loop_add_fd(struct loop *l, int fd, unsigned events, loop_fd_fn fn, void *arg)
{
	struct loop_file *f;

	if (fd < 0 || !fn || (events & ~(LOOP_READ | LOOP_WRITE))) {
		errno = fd < 0 ? EBADF : EINVAL;
		return -1;
	}
	if (file_entry(l, fd)) {
		errno = EEXIST;
		return -1;
	}
	if (files_reserve(l, fd) < 0)
		return -1;
	f = &l->files[fd];
	if (++l->next_registration == 0)	/* 0 means "not watched" */
		l->next_registration = 1;
	*f = (struct loop_file){ fn, arg, events, l->next_registration };
	if (epoll_update(l, EPOLL_CTL_ADD, fd, f) < 0) {
		f->registration = 0;
		return -1;
	}
	return 0;
}

int loop_mod_fd(struct loop *l, int fd, unsigned events)
{
	struct loop_file *f = file_entry(l, fd);
	unsigned old;

	if (!f) {
		errno = ENOENT;
		return -1;
	}
	if (events & ~(LOOP_READ | LOOP_WRITE)) {
		errno = EINVAL;
		return -1;
	}
	old = f->events;
	f->events = events;
	if (epoll_update(l, EPOLL_CTL_MOD, fd, f) < 0) {
		f->events = old;
		return -1;
	}
	return 0;
}

/* The entry is forgotten even when epoll_ctl fails (the fd was already
 * closed, say), so no stale callback can ever run; the error is still
 * returned. Remove an fd before closing it. */
int loop_del_fd(struct loop *l, int fd)
{
	struct loop_file *f = file_entry(l, fd);

	if (!f) {
		errno = ENOENT;
		return -1;
	}
	f->registration = 0;
	return epoll_ctl(l->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
}

/* Callbacks may add, modify and remove any fd, so the table is looked up
 * afresh for every event (it may have been reallocated) and the event's
 * registration must still match. */
static void dispatch_files(struct loop *l, const struct epoll_event *evs, int n)
{
	for (int i = 0; i < n && !l->stop; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t registration = (uint32_t)(evs[i].data.u64 >> 32);
		struct loop_file *f = file_entry(l, fd);
		unsigned events;

		if (!f || f->registration != registration)
			continue;
		/* Drop what a callback earlier in the batch stopped asking for. */
		events = loop_mask(evs[i].events) & (f->events | LOOP_ERROR);
		if (events)
			f->fn(l, fd, events, f->arg);
	}
}

/* ---- timers ---- */

static struct loop_timer *timer_of(struct heap_node *n)
{
	return (struct loop_timer *)((char *)n - offsetof(struct loop_timer, node));
}

/* Take the timer in slot out of the heap and return the slot to the free
 * list, retiring its id. */
static void timer_release(struct loop *l, uint32_t slot)
{
	struct loop_timer *t = &l->timers[slot];

	heap_remove(&l->heap, &t->node);
	t->generation++;
	t->next_free = l->free_head;
	l->free_head = slot;
}

/* Double the slot table. It is copied, not realloc'ed, so the heap can be
 * pointed from the old nodes to the new ones before the old are freed. */
static int timers_grow(struct loop *l)
{
	uint32_t len = l->timers_len ? l->timers_len * 2 : LOOP_TIMERS_MIN;
	struct loop_timer *timers;

	if (l->timers_len >= UINT32_MAX / 4)
		return -1;
	timers = malloc(len * sizeof(*timers));
	if (!timers)
		return -1;
	if (l->timers_len) {
		memcpy(timers, l->timers, l->timers_len * sizeof(*timers));
		heap_rebase(&l->heap, l->timers, timers);
	}
	free(l->timers);
	l->timers = timers;
	for (uint32_t slot = len; slot-- > l->timers_len;) {
		timers[slot] = (struct loop_timer){ .node.index = HEAP_NOT_QUEUED,
						    .next_free = l->free_head };
		l->free_head = slot;
	}
	l->timers_len = len;
	return 0;
}

uint64_t loop_timer_add(struct loop *l, uint64_t delay_ms, loop_timer_fn fn, void *arg)
{
	struct loop_timer *t;
	uint32_t slot;

	if (!fn)
		return 0;
	/* Outside loop_run the cached time may be old: set-up can take a while. */
	if (!l->running)
		l->now_ms = loop_clock_ms();
	if (l->free_head == NO_FREE_SLOT && timers_grow(l) < 0)
		return 0;
	slot = l->free_head;
	t = &l->timers[slot];
	t->node.key = l->now_ms + delay_ms < l->now_ms ? UINT64_MAX : l->now_ms + delay_ms;
	t->node.tie = l->next_order;
	if (heap_push(&l->heap, &t->node) < 0)
		return 0;	/* the slot stays free */
	l->free_head = t->next_free;
	l->next_order++;
	t->fn = fn;
	t->arg = arg;
	return (uint64_t)t->generation << 32 | (slot + 1);
}

void loop_timer_cancel(struct loop *l, uint64_t timer_id)
{
	uint32_t slot = (uint32_t)timer_id - 1;
	uint32_t generation = (uint32_t)(timer_id >> 32);

	if ((uint32_t)timer_id == 0 || slot >= l->timers_len)
		return;
	if (!heap_queued(&l->timers[slot].node) ||
	    l->timers[slot].generation != generation)
		return;
	timer_release(l, slot);
}

/* Fire every timer due at now_ms that existed when this pass began. A
 * timer added by a callback of this pass waits for the next iteration even
 * with a zero delay, so a timer re-arming itself cannot starve file events. */
static void dispatch_timers(struct loop *l)
{
	uint64_t pass_end = l->next_order;
	struct heap_node *n;

	while ((n = heap_top(&l->heap)) && !l->stop) {
		struct loop_timer *t = timer_of(n);
		uint32_t slot = (uint32_t)(t - l->timers);
		uint64_t id = (uint64_t)t->generation << 32 | (slot + 1);
		loop_timer_fn fn = t->fn;
		void *arg = t->arg;

		/* The heap is ordered by (deadline, order), and a timer added
		 * in this pass is due no earlier than now_ms, so once the top
		 * is not fireable nothing behind it is. */
		if (n->key > l->now_ms || n->tie >= pass_end)
			break;
		timer_release(l, slot);	/* first, so cancelling id is a no-op */
		fn(l, id, arg);
	}
}

/* Milliseconds epoll_wait may sleep: until the nearest deadline, 0 when
 * one is already due, -1 (forever) with no timer at all. */
static int sleep_timeout(const struct loop *l)
{
	const struct heap_node *n = heap_top(&l->heap);
	uint64_t now, when;

	if (!n)
		return -1;
	when = n->key;
	now = loop_clock_ms();
	if (when <= now)
		return 0;
	return when - now > INT_MAX ? INT_MAX : (int)(when - now);
}

/* ---- signals ---- */

static void dispatch_signals(struct loop *l, int fd, unsigned events, void *arg)
{
	struct signalfd_siginfo info;

	(void)events;
	(void)arg;
	while (!l->stop && read(fd, &info, sizeof(info)) == (ssize_t)sizeof(info)) {
		struct loop_signal *s;

		if (info.ssi_signo >= _NSIG)
			continue;
		s = &l->signals[info.ssi_signo];
		if (s->fn)
			s->fn(l, (int)info.ssi_signo, s->arg);
	}
}

int loop_add_signal(struct loop *l, int signo, loop_signal_fn fn, void *arg)
{
	sigset_t one;
	int fd;

	if (signo <= 0 || signo >= _NSIG || !fn) {
		errno = EINVAL;
		return -1;
	}
	sigemptyset(&one);
	if (sigaddset(&one, signo) < 0)
		return -1;
	/* Blocked first, so the signal is queued for the signalfd rather than
	 * delivered with its default action. */
	if (sigprocmask(SIG_BLOCK, &one, NULL) < 0)
		return -1;
	sigaddset(&l->signal_mask, signo);
	fd = signalfd(l->signal_fd, &l->signal_mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		int saved = errno;

		sigdelset(&l->signal_mask, signo);
		errno = saved;
		return -1;
	}
	if (l->signal_fd < 0) {
		if (loop_add_fd(l, fd, LOOP_READ, dispatch_signals, NULL) < 0) {
			int saved = errno;

			close(fd);
			sigdelset(&l->signal_mask, signo);
			errno = saved;
			return -1;
		}
		l->signal_fd = fd;
	}
	l->signals[signo] = (struct loop_signal){ fn, arg };
	return 0;
}

/* ---- running ---- */

void loop_set_before_sleep(struct loop *l, loop_hook_fn fn, void *arg)
{
	l->before_sleep = fn;
	l->before_sleep_arg = arg;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}

uint64_t loop_now_ms(const struct loop *l)
{
	return l->now_ms;
}

int loop_run(struct loop *l)
{
	struct epoll_event evs[LOOP_BATCH];

	l->stop = false;
	l->running = true;
	while (!l->stop) {
		int n;

		if (l->before_sleep) {
			l->before_sleep(l, l->before_sleep_arg);
			if (l->stop)
				break;
		}
		n = epoll_wait(l->epoll_fd, evs, LOOP_BATCH, sleep_timeout(l));
		if (n < 0) {
			if (errno != EINTR) {
				l->running = false;
				return -1;
			}
			n = 0;
		}
		l->now_ms = loop_clock_ms();
		dispatch_files(l, evs, n);
		dispatch_timers(l);
	}
	l->running = false;
	return 0;
}
