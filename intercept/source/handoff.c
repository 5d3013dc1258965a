/*
 * handoff.c — the ring between one reader thread and the event loop (see
 * handoff.h for why). Positions run free as 64-bit counts of bytes; a
 * record is a header, the struct packet, and the bytes from the IP header
 * to the end of the copied payload, 8-byte aligned. A record never wraps:
 * when the end of the buffer is too close, a padding record fills it.
 *
 * Orders: the producer writes a record, then publishes head (release); the
 * consumer reads head (acquire), the records, then publishes tail
 * (release), which the producer reads (acquire) before it reuses the
 * space. The wake-up flag and head use sequentially consistent operations,
 * so that a put the consumer did not see when it cleared the flag is
 * always followed by an eventfd write.
 */
#include "intercept/source/handoff.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MIN_BYTES (64 * 1024)
#define ALIGN 8
#define PADDING_TAG 0xffffffffu

struct record {
	uint32_t size;		/* the whole record, aligned; PADDING_TAG in kind: padding */
	uint32_t kind;		/* the tag, or PADDING_TAG */
	struct packet packet;	/* pointers stored as offsets from bytes */
	uint8_t bytes[];
};

struct handoff {
	uint8_t *ring;
	size_t size;		/* a power of two */
	int fd;
	/* Written by the producer, read by the consumer. */
	uint64_t head __attribute__((aligned(64)));
	/* Written by the consumer, read by the producer. */
	uint64_t tail __attribute__((aligned(64)));
	/* 1: an eventfd write is pending, the consumer has not drained since. */
	int wake_pending __attribute__((aligned(64)));
};

static size_t aligned(size_t n)
{
	return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

struct handoff *handoff_new(size_t bytes)
{
	struct handoff *h;
	size_t size = MIN_BYTES;

	while (size < bytes && size < ((size_t)1 << 40))
		size <<= 1;
	if (posix_memalign((void **)&h, 64, sizeof(*h)) != 0) {
		errno = ENOMEM;
		return NULL;
	}
	memset(h, 0, sizeof(*h));
	h->size = size;
	h->ring = malloc(size);
	h->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!h->ring || h->fd < 0) {
		int e = h->ring ? errno : ENOMEM;

		handoff_free(h);
		errno = e;
		return NULL;
	}
	return h;
}

void handoff_free(struct handoff *h)
{
	if (!h)
		return;
	if (h->fd >= 0)
		close(h->fd);
	free(h->ring);
	free(h);
}

int handoff_fd(const struct handoff *h)
{
	return h->fd;
}

/* The bytes p's pointers cover: from the IP header to the end of the
 * headers or of the payload present, whichever is further. */
static size_t packet_span(const struct packet *p)
{
	size_t span = (size_t)(p->tcp - p->l3) + p->tcp_header_len;

	if (p->payload && p->payload_present) {
		size_t end = (size_t)(p->payload - p->l3) + p->payload_present;

		if (end > span)
			span = end;
	}
	return span;
}

bool handoff_put(struct handoff *h, const struct packet *p, uint16_t tag)
{
	uint64_t head = h->head;	/* only this thread writes it */
	uint64_t tail = __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE);
	size_t span = packet_span(p), offset = head & (h->size - 1);
	size_t need, to_end = h->size - offset;
	struct record *r;
	struct packet *q;

	if (span > HANDOFF_MAX_BYTES)
		span = HANDOFF_MAX_BYTES;
	need = aligned(sizeof(struct record) + span);
	/* Room for the record, and for padding to the end first if it
	 * would not fit there. */
	if (need > to_end) {
		if (head + to_end + need - tail > h->size)
			return false;
		r = (struct record *)(h->ring + offset);
		r->size = (uint32_t)to_end;
		r->kind = PADDING_TAG;
		head += to_end;
		offset = 0;
	} else if (head + need - tail > h->size) {
		return false;
	}
	r = (struct record *)(h->ring + offset);
	r->size = (uint32_t)need;
	r->kind = tag;
	memcpy(r->bytes, p->l3, span);
	q = &r->packet;
	*q = *p;
	/* Offsets from bytes, made pointers again by the consumer. */
	q->l3 = NULL;
	q->tcp = (const uint8_t *)(uintptr_t)(p->tcp - p->l3);
	if (p->payload) {
		size_t at = (size_t)(p->payload - p->l3);

		q->payload = (const uint8_t *)(uintptr_t)at;
		if (at >= span)
			q->payload_present = 0;
		else if (at + q->payload_present > span)
			q->payload_present = span - at;
	}
	__atomic_store_n(&h->head, head + need, __ATOMIC_SEQ_CST);
	return true;
}

void handoff_notify(struct handoff *h)
{
	uint64_t one = 1;

	if (__atomic_load_n(&h->head, __ATOMIC_SEQ_CST) ==
	    __atomic_load_n(&h->tail, __ATOMIC_SEQ_CST))
		return;
	if (__atomic_exchange_n(&h->wake_pending, 1, __ATOMIC_SEQ_CST) == 0) {
		/* EAGAIN (the counter at its maximum) still leaves it readable. */
		ssize_t n = write(h->fd, &one, sizeof(one));
		(void)n;
	}
}

size_t handoff_drain(struct handoff *h, size_t max, handoff_fn fn, void *ctx)
{
	uint64_t value, head, tail = h->tail;	/* only this thread writes it */
	size_t taken = 0;
	ssize_t n = read(h->fd, &value, sizeof(value));

	(void)n;
	__atomic_store_n(&h->wake_pending, 0, __ATOMIC_SEQ_CST);
	head = __atomic_load_n(&h->head, __ATOMIC_SEQ_CST);
	while (tail != head && taken < max) {
		struct record *r = (struct record *)(h->ring + (tail & (h->size - 1)));

		if (r->kind != PADDING_TAG) {
			struct packet p = r->packet;

			p.l3 = r->bytes;
			p.tcp = r->bytes + (uintptr_t)r->packet.tcp;
			if (p.payload)
				p.payload = r->bytes + (uintptr_t)r->packet.payload;
			fn(ctx, &p, (uint16_t)r->kind);
			taken++;
		}
		tail += r->size;
		__atomic_store_n(&h->tail, tail, __ATOMIC_RELEASE);
	}
	if (tail != head || tail != __atomic_load_n(&h->head, __ATOMIC_SEQ_CST)) {
		/* More came, or is left: come back after the other descriptors. */
		if (__atomic_exchange_n(&h->wake_pending, 1, __ATOMIC_SEQ_CST) == 0) {
			uint64_t one = 1;

			n = write(h->fd, &one, sizeof(one));
			(void)n;
		}
	}
	return taken;
}
