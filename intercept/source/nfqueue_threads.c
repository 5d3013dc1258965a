/*
 * nfqueue_threads.c — --queue-threads N: the nfqueue queues read by N
 * threads, each owning a contiguous share of the queues (their sockets,
 * ids, verdicts and loss counts) and handing what it parsed to the event
 * loop through a handoff ring of its own (handoff.h says why message
 * passing and not a shared routing table under a lock).
 *
 * A thread: poll() on its queues' sockets and the stop eventfd; drain each
 * readable socket until EAGAIN, each packet copied into the handoff; then,
 * before it sleeps again, the verdicts for what it read, one eventfd write
 * to wake the loop (only if the loop has drained since the last), and once
 * a second the kernel's queue-full drops for its queues. When the handoff
 * is full the thread waits for the loop (polling every 100 us, bounded by
 * the stop flag); the packets meanwhile wait in the socket, and what the
 * kernel cannot keep there is counted as lost by the id gaps.
 *
 * The threads start after privileges are dropped (source_ops.start): a
 * verdict is a netfilter netlink message, which the kernel accepts only
 * from a thread holding CAP_NET_ADMIN, and a thread gets the capabilities
 * its creator has when it is created (capset(2) is per thread). Signals
 * are blocked in them: the loop's signalfd takes every signal.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "intercept/source/nfqueue_internal.h"

/* Handoff ring per thread: about 8,000 summaries of 500 bytes, 30 ms at
 * 250,000 a second; the socket's 16 MiB receive buffer is behind it. */
#define HANDOFF_BYTES (4u * 1024 * 1024)
/* Wake the loop at least every this many packets during a long drain. */
#define NOTIFY_EVERY 64
/* The loop takes at most this many packets per wake-up from one thread,
 * so that a busy reader cannot starve the copy daemons' connections. */
#define DRAIN_MAX 4096
/* Waiting for room in a full handoff. */
#define FULL_WAIT_NS 100000
#define POLL_TIMEOUT_MS 1000

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool stopping(const struct nfqueue *nq)
{
	return __atomic_load_n(&nq->stopping, __ATOMIC_ACQUIRE) != 0;
}

void nfqueue_deliver(struct nfqueue_socket *qs, const struct packet *p)
{
	struct nfqueue *nq = qs->owner;
	struct nfqueue_reader *r = qs->reader;
	struct source *s = nq->source;

	if (!nq->threaded) {
		if (s->deliver)
			s->deliver(s->deliver_ctx, p);
		return;
	}
	while (!handoff_put(r->handoff, p, qs->queue_number)) {
		const struct timespec wait = { 0, FULL_WAIT_NS };

		handoff_notify(r->handoff);
		r->since_notify = 0;
		if (stopping(nq))
			return;
		nanosleep(&wait, NULL);
	}
	if (++r->since_notify >= NOTIFY_EVERY) {
		handoff_notify(r->handoff);
		r->since_notify = 0;
	}
}

static void *reader_main(void *arg)
{
	struct nfqueue_reader *r = arg;
	struct nfqueue *nq = r->owner;
	size_t n = r->socket_count;
	struct pollfd *fds = calloc(n + 1, sizeof(*fds));

	if (!fds)
		return NULL;	/* the daemon sees no packets: counted nowhere, see open */
	for (size_t i = 0; i < n; i++)
		fds[i] = (struct pollfd){ .fd = r->sockets[i].fd, .events = POLLIN };
	fds[n] = (struct pollfd){ .fd = nq->stop_fd, .events = POLLIN };
	while (!stopping(nq)) {
		int ready = poll(fds, n + 1, POLL_TIMEOUT_MS);

		if (ready < 0 && errno != EINTR)
			break;
		for (size_t i = 0; ready > 0 && i < n; i++)
			if (fds[i].revents)
				nfqueue_read_until_empty(&r->sockets[i]);
		/* Before sleeping: the loop woken for what was handed over,
		 * then the verdicts (the packets are copied already). */
		handoff_notify(r->handoff);
		r->since_notify = 0;
		nfqueue_reader_flush(r, monotonic_ms());
	}
	free(fds);
	return NULL;
}

static void deliver_handed(void *ctx, const struct packet *p, uint16_t queue)
{
	struct source *s = ctx;

	(void)queue;
	if (s->deliver)
		s->deliver(s->deliver_ctx, p);
}

static void on_handoff(struct loop *l, int fd, unsigned events, void *arg)
{
	struct nfqueue_reader *r = arg;

	handoff_drain(r->handoff, DRAIN_MAX, deliver_handed, r->owner->source);
}

int nfqueue_threads_prepare(struct nfqueue *nq, char *err, size_t errlen)
{
	nq->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (nq->stop_fd < 0) {
		snprintf(err, errlen, "nfqueue: eventfd: %s", strerror(errno));
		return -1;
	}
	for (size_t t = 0; t < nq->reader_count; t++) {
		struct nfqueue_reader *r = &nq->readers[t];

		r->handoff = handoff_new(HANDOFF_BYTES);
		if (!r->handoff) {
			snprintf(err, errlen, "nfqueue: thread %zu's ring: %s", t, strerror(errno));
			return -1;
		}
		if (loop_add_fd(nq->loop, handoff_fd(r->handoff), LOOP_READ, on_handoff, r) < 0) {
			snprintf(err, errlen, "nfqueue: event loop: %s", strerror(errno));
			return -1;
		}
		r->handoff_registered = true;
	}
	return 0;
}

int nfqueue_threads_start(struct nfqueue *nq, char *err, size_t errlen)
{
	sigset_t all, old;
	int rc = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (size_t t = 0; t < nq->reader_count && rc == 0; t++) {
		struct nfqueue_reader *r = &nq->readers[t];
		char name[16];

		rc = pthread_create(&r->thread, NULL, reader_main, r);
		if (rc != 0) {
			snprintf(err, errlen, "nfqueue: starting reader thread %zu: %s", t,
				 strerror(rc));
			break;
		}
		r->started = true;
		/* Named for top -H and /proc/PID/task: "nfq-r0". */
		snprintf(name, sizeof(name), "nfq-r%u", (unsigned)(t % 1000));
		pthread_setname_np(r->thread, name);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0 ? 0 : -1;
}

void nfqueue_threads_stop(struct nfqueue *nq)
{
	uint64_t one = 1;

	if (!nq->threaded)
		return;
	__atomic_store_n(&nq->stopping, 1, __ATOMIC_RELEASE);
	if (nq->stop_fd >= 0) {
		ssize_t n = write(nq->stop_fd, &one, sizeof(one));
		(void)n;
	}
	for (size_t t = 0; t < nq->reader_count; t++) {
		struct nfqueue_reader *r = &nq->readers[t];

		if (r->started)
			pthread_join(r->thread, NULL);
		r->started = false;
		if (r->handoff_registered)
			loop_del_fd(nq->loop, handoff_fd(r->handoff));
		r->handoff_registered = false;
	}
}
