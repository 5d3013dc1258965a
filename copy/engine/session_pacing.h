/*
 * session_pacing.h — when the next request may go to the target.
 *
 * The captured client packet's ack number tells how much of the online
 * server's answer the client had received when it sent that data. Where a
 * data segment's ack is higher than the previous data segment's, the client
 * waited for an answer before sending it: we put a mark at its first byte.
 * A mark is passed only once the target has answered since the previous
 * request went out — the target acknowledged all our data and sent data (or
 * its FIN) after we released the previous request — or, so that a target
 * that never answers cannot stall the session, once pace_timeout_ms has
 * passed since all our data was acknowledged (counted in pace_timeouts).
 * Data whose ack did not advance (the same request going on, or pipelined
 * requests) goes at once. The client's FIN is paced the same way. -W
 * (send_at_once) puts no marks.
 */
#ifndef DOPPEL_SESSION_PACING_H
#define DOPPEL_SESSION_PACING_H

#include <stdbool.h>
#include <stdint.h>

struct engine;
struct session;

/* The sequence numbers of the marks not yet passed, oldest first (a ring). */
struct pace_marks {
	uint32_t *seq;
	uint32_t head;
	uint32_t count;
	uint32_t capacity;	/* a power of two, or 0 */
};

void pace_marks_release(struct pace_marks *m);

/* stream_append_fn for the session's stream (ctx: the session): puts a
 * mark where the client's ack advanced, and the FIN's mark when the data
 * reaches it. */
void pacing_on_append(void *ctx, uint32_t seq, uint32_t len, uint32_t ack);
/* The client's FIN was captured (or the data reached it): decide whether
 * the FIN must wait for an answer. */
void pacing_client_fin(struct engine *e, struct session *s);
/* Where the client's ack number is first known (the handshake's ACK, or the
 * first data of a session whose SYN was missed). */
void pacing_client_ack(struct session *s, uint32_t ack);

/* The first mark after snd_nxt, limiting how far data may go now; false
 * when there is none. */
bool pacing_next_mark(const struct session *s, uint32_t *seq);
/* Whether what starts at snd_nxt may go now. When it waits, arms the
 * fallback; when it goes, the mark is passed. */
bool pacing_may_send(struct engine *e, struct session *s, uint64_t now);

#endif
