/*
 * handoff.h — parsed responses passed from one reader thread to the event
 * loop: a single-producer, single-consumer ring of copied packets and an
 * eventfd that wakes the loop.
 *
 * Why message passing and not locks: the router, the holding, the batches
 * and every copy daemon's connection stay owned by the event loop's thread
 * alone, as they were, so nothing there takes a lock and the loop never
 * waits for a reader thread (a lock held by a thread that the scheduler
 * took off the CPU would stall every connection). The readers do what costs
 * a system call per packet — the netlink receive, the parse, the verdicts
 * — and hand over a copy of the headers (and the payload prefix) through
 * memory only. The loop pays one eventfd read per wake-up, not per packet:
 * a reader writes the eventfd only when the loop has drained since its last
 * write.
 *
 * When the ring is full the reader waits (it stops reading; the kernel
 * keeps the packets in the socket's receive buffer, and what it cannot
 * keep shows as a gap in the queue's packet ids, counted as lost). The loop
 * is never held up by that.
 */
#ifndef DOPPEL_HANDOFF_H
#define DOPPEL_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/net/packet.h"

struct handoff;

/* A ring of about bytes (rounded up to a power of two, at least 64 KiB)
 * and its eventfd (non-blocking, close-on-exec). NULL on failure, errno set. */
struct handoff *handoff_new(size_t bytes);
void handoff_free(struct handoff *h);

/* The eventfd: readable when the loop should call handoff_drain(). */
int handoff_fd(const struct handoff *h);

/* Producer (the reader thread). Copy p (and the bytes it points at, as
 * source_deliver_fn describes them) with tag (the queue number) into the
 * ring. false: no room now (nothing copied). */
bool handoff_put(struct handoff *h, const struct packet *p, uint16_t tag);
/* Producer: wake the consumer if it may be asleep; call after a batch of
 * puts (a write to the eventfd only when the consumer has drained since). */
void handoff_notify(struct handoff *h);

/* Consumer (the loop). Called with each packet (pointers valid during the
 * call only) and its tag. */
typedef void (*handoff_fn)(void *ctx, const struct packet *p, uint16_t tag);
/* Read the eventfd, then take up to max packets. Returns how many were
 * taken; when more are left it writes the eventfd itself, so the loop
 * comes back after serving its other descriptors. */
size_t handoff_drain(struct handoff *h, size_t max, handoff_fn fn, void *ctx);

/* The largest packet handoff_put takes (headers plus 16 KiB of payload,
 * doppel-intercept's largest prefix); longer ones are cut to it. */
#define HANDOFF_MAX_BYTES (128 + 60 + 16384)

#endif
