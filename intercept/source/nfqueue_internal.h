/*
 * nfqueue_internal.h — what source_nfqueue.c (the sockets, reading,
 * verdicts, losses; the queues read in the event loop) and
 * nfqueue_threads.c (--queue-threads: the queues read by threads) share.
 * Nothing else includes it.
 */
#ifndef DOPPEL_NFQUEUE_INTERNAL_H
#define DOPPEL_NFQUEUE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "intercept/source/handoff.h"
#include "intercept/source/source.h"
#include "lib/runtime/loop.h"

/* One queue per CPU is the most fanout uses; this bounds sockets and
 * receive buffers (16 MiB each at worst) well above any real need. */
#define NFQUEUE_QUEUES_MAX 1024

struct nfqueue;
struct nfqueue_reader;

/* A queue's counters. Written by the one thread that reads the queue,
 * read by the event loop: each is stored and loaded whole (relaxed atomic
 * operations), never updated by two threads. */
struct nfqueue_counters {
	uint64_t packets, malformed, lost, verdicts;
};

struct nfqueue_socket {
	struct nfqueue *owner;
	struct nfqueue_reader *reader;	/* the thread (or the loop) reading it */
	struct mnl_socket *socket;
	int fd;
	bool registered;	/* added to the loop */
	uint16_t queue_number;
	uint32_t next_id;	/* the id the kernel gives the next packet */
	uint32_t last_id;	/* the highest id read, to give a verdict to */
	uint32_t pending;	/* packets read and not yet given a verdict */
	uint32_t queue_dropped;	/* the kernel's queue-full count, last read */
	struct nfqueue_counters counters;
};

/* Whoever reads a set of queues: the event loop itself (no thread), or
 * one reader thread with its own buffer and its handoff to the loop. */
struct nfqueue_reader {
	struct nfqueue *owner;
	struct nfqueue_socket *sockets;	/* a slice of owner->sockets */
	size_t socket_count;
	uint8_t *receive_buffer;
	uint32_t seq;			/* of the messages this reader sends */
	uint64_t proc_read_ms;		/* when the queue-full counts were last read */
	/* Threads only. */
	struct handoff *handoff;
	bool handoff_registered;
	pthread_t thread;
	bool started;
	unsigned since_notify;		/* puts since the last handoff_notify */
};

struct nfqueue {
	struct source *source;
	struct loop *loop;
	uint16_t payload_prefix;
	size_t receive_size;
	struct nfqueue_socket *sockets;
	size_t socket_count;
	struct nfqueue_reader *readers;
	size_t reader_count;
	bool threaded;			/* --queue-threads >= 1 */
	int stop_fd;			/* threads: an eventfd written to stop them */
	int stopping;			/* threads: set (atomic) when they must stop */
};

/* source_nfqueue.c */
/* Read qs until EAGAIN; each packet goes to nfqueue_deliver(). */
void nfqueue_read_until_empty(struct nfqueue_socket *qs);
/* Verdicts for what r's queues read, and once a second the kernel's
 * queue-full drops; now_ms: a monotonic clock. */
void nfqueue_reader_flush(struct nfqueue_reader *r, uint64_t now_ms);
/* Add n to a counter owned by the calling thread. */
static inline void nfqueue_count(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

/* nfqueue_threads.c */
/* A packet read from qs: to the source's callback (no threads) or into
 * the reader's handoff. */
void nfqueue_deliver(struct nfqueue_socket *qs, const struct packet *p);
/* Register the handoffs with the loop (open), start the threads after
 * privileges are dropped (start), stop and join them (stop). */
int nfqueue_threads_prepare(struct nfqueue *nq, char *err, size_t errlen);
int nfqueue_threads_start(struct nfqueue *nq, char *err, size_t errlen);
void nfqueue_threads_stop(struct nfqueue *nq);

#endif
