/*
 * session_pacing.h — when a client packet may go to the target.
 *
 * The rule, answer by answer. A captured client packet's ack number says
 * how much of the online server's answer the client had received when it
 * sent it. Where a data segment's ack is higher than the previous data
 * segment's, the client read more of the answer before sending it — a
 * client byte after server bytes, where a request starts: a mark at its
 * first byte carries that ack. The online answer it followed is the bytes
 * between the previous mark's ack (or the client's first ack: the
 * handshake's, or its first data's when the SYN was missed) and this one's.
 * The target's answer is what it sent since the previous mark was passed.
 * So the target is never told "here is the next request" or "I am done"
 * (the FIN) before its answer to what came before has ended — a FIN sent
 * while a 4 MiB download is still coming makes the server stop sending.
 * Counting each answer alone (not all bytes from the ISNs) keeps a longer
 * answer from letting the next requests go early, and a shorter one from
 * costing more than one quiet period.
 *
 * Data whose ack did not move (the same request going on, pipelined
 * requests sent before the answer came) has no mark and goes at once; so
 * does a FIN that acks no more than the data before it (a client that
 * half-closes right after its request). A mark is passed when
 *   - the target's answer is exactly as long as the online one (the same
 *     answer, ended), or, for a request, at least as long (a longer answer
 *     may go on: the request is then pipelined, and the next answer,
 *     counted alone, waits for the rest; session_pacing.c says why a
 *     request does not wait for the longer answer's end), or
 *   - the target's answer has ended, shorter (or longer, for the FIN): its
 *     FIN came, or — all our data being acknowledged — it sent no new byte
 *     for the quiet period
 *         quiet = max(pace_quiet_rtts * SRTT, pace_quiet_min_ms)
 *     (SRTT: this session's smoothed round trip to the target through
 *     intercept; the RTO while none is measured), counted from its last new
 *     byte; for the client's FIN at least pace_timeout_ms (a FIN that
 *     comes early cuts the answer, a request that comes early is only
 *     pipelined). Then the target is asked with a keep-alive probe whether
 *     it sent more than we saw (silence may be a stall on our side): the
 *     packet goes when the probe's answer shows nothing more and no new
 *     byte came meanwhile, after PACE_PROBES_MAX (3) probes unanswered, or
 *     waits a quiet period again when more comes (pace_probes). A target
 *     that has sent nothing at all since the previous mark was passed is
 *     still thinking, not done: it gets pace_timeout_ms counted from when
 *     all our data was acknowledged. Both are counted in pace_timeouts.
 *     After such a release the next answer counts from when the target
 *     acknowledges the packet let go (bytes it sent before are still of
 *     the answer before: it may only have paused). A longer answer is
 *     acknowledged to its end, with the client's window, so nothing is cut;
 *   - -W (send_at_once): nothing waits.
 * Each packet that waits counts once in pace_waits, the time it waited in
 * pace_wait_ms, and pace_waiting says how many wait now.
 */
#ifndef DOPPEL_SESSION_PACING_H
#define DOPPEL_SESSION_PACING_H

#include <stdbool.h>
#include <stdint.h>

struct engine;
struct session;
struct packet;

/* A place where the client had read more of the answer: its data from
 * seq on was sent having received the online answer up to ack. */
struct pace_mark {
	uint32_t seq;
	uint32_t ack;
};

/* The marks not yet passed, oldest first (a ring). */
struct pace_marks {
	struct pace_mark *ring;
	uint32_t head;
	uint32_t count;
	uint32_t capacity;	/* a power of two, or 0 */
};

void pace_marks_release(struct pace_marks *m);

/* stream_append_fn for the session's stream (ctx: the session): puts a
 * mark where the client's ack advanced. */
void pacing_on_append(void *ctx, uint32_t seq, uint32_t len, uint32_t ack);
/* The client's FIN was captured (or the data reached it): decide whether
 * the FIN must wait for the answer. */
void pacing_client_fin(struct engine *e, struct session *s);
/* Where the client's ack number is first known (the handshake's ACK, or the
 * first data of a session whose SYN was missed): the online server's
 * answer is counted from there. */
void pacing_client_ack(struct session *s, uint32_t ack);

/* The first mark at or after snd_nxt, limiting how far data may go now;
 * false when there is none. */
bool pacing_next_mark(const struct session *s, struct pace_mark *mark);
/* Whether what starts at snd_nxt may go now. When it waits, arms the
 * quiet period or the fallback (pace_at); when it goes, the mark is passed. */
bool pacing_may_send(struct engine *e, struct session *s, uint64_t now);
/* pace_at passed: probe the target, or let the packet go
 * (SF_PACE_EXPIRED). */
void pacing_on_timer(struct engine *e, struct session *s, uint64_t now);
/* A summary was processed (old_rcv_nxt: rcv_nxt before it): the answer to
 * a probe, or more of the answer. */
void pacing_on_target(struct engine *e, struct session *s, const struct packet *p,
		      uint32_t old_rcv_nxt);
/* The target acknowledged more of our data (snd_una moved; call before
 * the segment's own data is counted): a packet let go at the quiet period
 * has arrived, and what the answer before it fell short by is known. */
void pacing_on_ack(struct session *s);
/* The session ends: it no longer waits. */
void pacing_session_end(struct engine *e, struct session *s);

#endif
