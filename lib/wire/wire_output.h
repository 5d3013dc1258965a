/*
 * wire_output.h — the one output buffer of a wire connection, for both
 * ends (copy/link/ towards each intercept, intercept/connection.c towards
 * each copy daemon): whole frames queued, written without blocking, the
 * rest kept until the socket is writable again.
 *
 * What "sent" means (docs/protocol.md, "Liveness"): bytes are sent when
 * the kernel has taken them (send() returned them). Queuing a frame is not
 * sending it. wire_output records when the kernel last took bytes, and the
 * peer, which counts any bytes it reads as a sign of life, sees exactly
 * that.
 *
 * Idle, the moment a HEARTBEAT is due: nothing waits in the buffer and
 * nothing was sent for idle_ms (wire_output_idle). While bytes wait, a
 * heartbeat would only queue behind them, so a side whose peer does not
 * read sends none (the peer-dead timeout ends such a connection).
 *
 * No event-loop code here: wire_output_write says whether bytes are left,
 * and the owner asks for LOOP_WRITE accordingly.
 */
#ifndef DOPPEL_WIRE_OUTPUT_H
#define DOPPEL_WIRE_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/wire/wire_tls.h"

struct wire_output {
	uint8_t *buf;		/* queued bytes: buf[start, end) */
	size_t start, end, cap;
	uint64_t last_sent_ms;	/* when the kernel last took bytes */
};

enum wire_output_status {
	WIRE_OUTPUT_DONE,	/* everything queued was sent */
	WIRE_OUTPUT_AGAIN,	/* the socket is full: write again when writable */
	WIRE_OUTPUT_ERROR,	/* send failed (errno says why): close */
};

/* Empty, counting the connection's start (now_ms) as the last send, so
 * the first heartbeat is due idle_ms after it. */
void wire_output_init(struct wire_output *o, uint64_t now_ms);
/* Free the buffer; the output is then as after init. */
void wire_output_free(struct wire_output *o);
/* Drop what is queued (the connection was closed), keep the buffer. */
void wire_output_reset(struct wire_output *o, uint64_t now_ms);

/* Bytes queued and not yet taken by the kernel. */
static inline size_t wire_output_queued(const struct wire_output *o)
{
	return o->end - o->start;
}

/* Room for len more bytes at the end of the queue, to encode a frame into
 * and then wire_output_commit(); NULL when out of memory. The caller
 * checks its own limit against wire_output_queued() first. */
uint8_t *wire_output_space(struct wire_output *o, size_t len);
/* The first len bytes of the last wire_output_space() are a frame. */
void wire_output_commit(struct wire_output *o, size_t len);
/* Queue a copy of frame (space + memcpy + commit). false: no memory. */
bool wire_output_append(struct wire_output *o, const void *frame, size_t len);

/* Write what the kernel takes now, without blocking (MSG_DONTWAIT) and
 * without SIGPIPE (MSG_NOSIGNAL). *written (may be NULL) gets the bytes
 * taken, for the owner's counters. */
enum wire_output_status wire_output_write(struct wire_output *o, int fd, uint64_t now_ms,
					  size_t *written);
/* The same through a transport, plain or TLS (lib/wire/wire_tls.h). With
 * TLS, "sent" is when the TLS session took the bytes (it writes them to
 * the kernel at once); WIRE_OUTPUT_AGAIN may then mean the session waits
 * to read (c->want_write false): the owner keeps reading, and writes again
 * after. */
enum wire_output_status wire_output_write_conn(struct wire_output *o, struct wire_conn *c,
					       uint64_t now_ms, size_t *written);

/* Nothing queued and nothing sent for idle_ms: a HEARTBEAT is due. */
static inline bool wire_output_idle(const struct wire_output *o, uint64_t now_ms,
				    uint64_t idle_ms)
{
	return wire_output_queued(o) == 0 && now_ms - o->last_sent_ms >= idle_ms;
}

#endif
