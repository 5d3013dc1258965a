/*
 * engine_session.h — the engine's insides, shared by the files that make it
 * up (engine.c, session_*.c) and the engine's white-box tests; nothing
 * else in the daemon includes this: engine.h is the contract.
 *
 * Sequence spaces. The engine plays the client: it keeps the client's own
 * sequence numbers (our SYN carries the client's ISN, data keeps the
 * client's seq), so captured data maps to the stream without translation.
 * The target's sequence space is its own: we learn its ISN from its SYN-ACK
 * and acknowledge what it sends from the summaries; the captured client's
 * ack numbers (which acknowledge the online server) are never sent — they
 * only tell pacing when the client waited for an answer.
 */
#ifndef DOPPEL_ENGINE_SESSION_H
#define DOPPEL_ENGINE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/net/heap.h"
#include "lib/net/packet_build.h"
#include "copy/engine/engine.h"
#include "copy/engine/refused_keys.h"
#include "copy/engine/session_pacing.h"
#include "copy/engine/session_state.h"
#include "copy/engine/session_table.h"
#include "copy/engine/stream_buffer.h"

/* The client's data once some arrived; freed when all of it is
 * acknowledged, so an idle keep-alive session holds no buffer. */
struct session_stream {
	struct stream_buffer buf;
	struct pace_marks marks;
};

/* Session flags (struct session.flags). */
enum {
	SF_OFFER_TIMESTAMPS = 1 << 0,	/* the client used timestamps: our SYN offers them */
	SF_OFFER_WSCALE = 1 << 1,	/* the client offered window scaling */
	SF_TIMESTAMPS = 1 << 2,		/* timestamps agreed with the target */
	SF_WSCALE = 1 << 3,		/* window scaling agreed with the target */
	SF_MISSED_START = 1 << 4,	/* started from data, the SYN was not captured */
	SF_HAVE_DATA_ACK = 1 << 5,	/* last_data_ack holds something */
	SF_FIN_KNOWN = 1 << 6,		/* the client's FIN was captured at fin_seq */
	SF_FIN_PACED = 1 << 7,		/* the FIN waits for the target's answer */
	SF_RST_PENDING = 1 << 8,	/* the client reset: replay once its data is acked */
	SF_IN_RECOVERY = 1 << 9,	/* retransmitting until snd_una reaches recover */
	SF_PERSIST = 1 << 10,		/* rtx_at is a zero-window probe, not an RTO */
	SF_RTT_TIMING = 1 << 11,	/* rtt_seq/rtt_start time a segment sent once */
	SF_ACK_PENDING = 1 << 12,	/* the target sent data or FIN we have not acked */
	SF_PACE_EXPIRED = 1 << 13,	/* the pacing fallback fired for the next mark */
	SF_TARGET_FIN = 1 << 14,	/* the target's FIN arrived (rcv_nxt includes it) */
	SF_FIN_CHECKED = 1 << 15,	/* pacing has decided about the client's FIN */
	SF_RTT_MEASURED = 1 << 16,	/* srtt8 and rttvar4 hold a measurement */
	SF_ANSWER_PENDING = 1 << 17,	/* pacing: the answer counts from the target's ack of answer_seq */
	SF_PACE_PROBING = 1 << 18,	/* pacing: a probe asks the target whether its answer ended */
	SF_BARE = 1 << 19,		/* started from its SYN, no client data yet: in the
					 * engine's bare list, the first to make room at
					 * the session cap (session_lifecycle.c) */
};

struct session {
	struct session_key key;
	struct session *hash_next;	/* session_table chain; graveyard chain once ended */
	struct heap_node timer;	/* the earliest of the deadlines below */
	struct session_stream *stream;	/* NULL while no client data is held */
	struct session_successor *successor;	/* a new connection on the key waiting
						 * for this one to end; NULL: none */
	struct session_auth *auth;	/* its login replayed by a protocol module; NULL: none */
	struct session *bare_prev, *bare_next;	/* the bare list (SF_BARE), oldest first */

	uint64_t last_client_ms;	/* last captured client packet */
	uint64_t last_target_ms;	/* last summary from the target */
	uint64_t rtx_at;		/* SYN or data retransmission, or zero-window
					 * probe (SF_PERSIST); 0 = unarmed */
	uint64_t pace_at;		/* pacing: the quiet period or fallback ends; 0 = unarmed */
	uint64_t pace_held_since;	/* the packet at snd_nxt began to wait; 0 = not waiting */
	uint64_t pace_acked_ms;		/* ... and all our data was acknowledged; 0 = not yet */
	uint64_t answer_ms;		/* the target last sent a new byte (rcv_nxt moved) */
	uint64_t pace_probe_at;		/* SF_PACE_PROBING: when the last probe went */
	uint64_t linger_at;		/* end of TIME_WAIT; 0 = not lingering */
	uint64_t gap_at;		/* a hole in the client stream is given up; 0 = none */
	uint64_t rtt_start;		/* when the timed segment left */

	/* Our (the client's) sequence space. */
	uint32_t isn;
	uint32_t snd_una;		/* oldest byte the target has not acknowledged */
	uint32_t snd_nxt;		/* next new byte to send (highest sent) */
	uint32_t data_end;		/* end of the client data captured in order */
	uint32_t last_byte_seq;		/* the last data byte sent, for the pacing probe */
	uint8_t last_byte;		/* its value (valid when last_byte_seq + 1 == snd_nxt) */
	uint32_t recover;		/* snd_nxt when loss recovery began */
	uint32_t fin_seq;		/* the client's FIN (SF_FIN_KNOWN) */
	uint32_t fin_ack;		/* ack number the client's FIN carried */
	uint32_t rtt_seq;		/* the timed segment ends here */
	uint32_t snd_wnd;		/* the target's window, scaled */
	uint32_t wl1, wl2;		/* seq and ack of the segment that set snd_wnd */

	/* The target's sequence space. */
	uint32_t irs;			/* the target's ISN */
	uint32_t rcv_nxt;		/* highest end of target data/FIN seen: our ack */
	uint32_t rcv_mark;		/* the target's current answer counts from here: rcv_nxt
					 * when the last mark was passed (SF_ANSWER_PENDING: when
					 * the target acks what was let go at answer_seq) */

	uint32_t last_data_ack;		/* ack number of the latest in-order client data */
	uint32_t online_base;		/* the online answer counts from here: the client's
					 * first ack, then the ack of the last mark passed */
	uint32_t answer_seq;		/* SF_ANSWER_PENDING: the packet let go at the quiet period */
	uint32_t ts_val;		/* the client's latest tsval (never goes back) */
	uint32_t ts_recent;		/* the target's latest tsval, echoed */
	uint32_t srtt8;			/* smoothed RTT in ms, times 8 */
	uint32_t rttvar4;		/* RTT variation in ms, times 4 */
	uint32_t rto;			/* current RTO in ms, backed off */
	uint32_t flags;			/* SF_* */

	uint16_t syn_mss;		/* MSS our SYN advertised; 0 = none */
	uint16_t target_mss;		/* from the SYN-ACK */
	uint16_t mss_limit;		/* lowered after ENGINE_SEND_TOO_BIG; 0 = none */
	uint16_t syn_window;		/* window of the client's SYN */
	uint16_t client_window;		/* latest non-zero window the client advertised */
	uint8_t client_wscale;		/* the client's, advertised in our SYN */
	uint8_t target_wscale;
	uint8_t state;			/* enum session_state */
	uint16_t retries;		/* SYNs, retransmissions or probes without progress */
	uint8_t dupacks;
	uint8_t pace_probes;		/* probes sent for the packet waiting now */
	uint8_t restarts;		/* opened again: the target had lost the connection
					 * before it took any data (session_target.c) */
};

struct engine {
	struct engine_config cfg;
	struct engine_sink sink;
	struct engine_counters counters;
	struct session_table table;
	struct heap timers;
	struct session *graveyard;	/* ended, freed when the engine call returns */
	struct refused_keys refused;	/* so a refused session is counted once */
	struct refused_keys orphans_reset;	/* 4-tuples sent an orphan RST lately:
						 * one each (session_client.c) */
	struct session *bare_head, *bare_tail;	/* sessions that sent only their SYN,
						 * oldest first (SF_BARE) */
	struct session_successor *successors_ready;	/* their old session ended: start
							 * them before the engine call returns */
	uint16_t ip_id;
	uint8_t packet[PACKET_HEADERS_MAX + 65536];	/* built packets, one at a time */
};

/* session_lifecycle.c */
/* with_data: the session starts from a packet with data (it may take the
 * place of a bare one at the session cap). */
struct session *session_create(struct engine *e, uint64_t now, const struct session_key *k,
			       uint32_t isn, bool with_data);
void session_transition(struct engine *e, struct session *s, enum session_event ev, uint64_t now);
void session_finish(struct engine *e, struct session *s, enum engine_end_reason reason,
		    bool reset_target, const char *detail);
void session_free_graveyard(struct engine *e);
bool session_stream_ready(struct engine *e, struct session *s);
void session_stream_trim(struct engine *e, struct session *s);
void session_release(struct engine *e, struct session *s);
void session_bare_add(struct engine *e, struct session *s);
void session_bare_remove(struct engine *e, struct session *s);

static inline bool session_ended(const struct session *s)
{
	return s->state == STATE_CLOSED;
}

static inline struct session *session_from_timer(struct heap_node *n)
{
	return (struct session *)((char *)n - offsetof(struct session, timer));
}

/* engine.c: a captured client packet, counted already (the successor's
 * held packets come back through here). */
void engine_dispatch_client(struct engine *e, uint64_t now, const struct session_key *k,
			    const struct packet *p);

/* session_timers.c: the session's state, offsets and armed timers, for the
 * detail of an end that was not a close. */
void session_where(const struct session *s, char *buf, size_t len);

/* session_successor.c */
bool session_successor_claims(const struct session *s, const struct packet *p);
void session_successor_queue(struct engine *e, struct session *s, uint64_t now,
			     const struct packet *p);
void session_successor_hold(struct engine *e, struct session *s, uint64_t now,
			    const struct packet *p);
void session_successor_detach(struct engine *e, struct session *s, enum engine_end_reason reason);
void session_successor_release(struct engine *e, struct session *s);
size_t session_successor_bytes(const struct session *s);
void session_successors_start(struct engine *e, uint64_t now);
void session_successors_free(struct engine *e);

/* session_client.c */
void session_client_start(struct engine *e, uint64_t now, const struct session_key *k,
			  const struct packet *p);
void session_client_packet(struct engine *e, struct session *s, uint64_t now,
			   const struct packet *p);

void session_client_data(struct engine *e, struct session *s, uint64_t now,
			 const struct packet *p);

/* session_auth.c */
enum auth_protocol session_auth_protocol(const struct engine *e, const struct session_key *k);
int session_auth_start(struct engine *e, struct session *s, enum auth_protocol proto);
/* Whether sessions to k's target port whose login was not captured are
 * opened with doppel's own login (docs/stateful.md, "Pooled connections"). */
bool session_auth_pooled(const struct engine *e, const struct session_key *k);
/* Turn s's conversation (just started) into a pooled one. */
void session_auth_make_pooled(struct engine *e, struct session *s, uint64_t now);
void session_auth_free(struct engine *e, struct session *s);
bool session_auth_pending(const struct session *s);
/* The client reset while its login is replayed: true when the RST waits
 * for the login (the module holds what it needs of the client and waits
 * for the target), false when the session should end as it would without
 * a module (the module wants client bytes that will never come). */
bool session_auth_reset(struct session *s);
/* The client's RST waits for the login to finish (session_output). */
bool session_auth_rst_waits(const struct session *s);
/* A captured client packet of an auth session: false when the login took
 * it; true with *mapped the packet in replay sequence space. */
bool session_auth_client(struct engine *e, struct session *s, uint64_t now,
			 const struct packet *p, struct packet *mapped);
void session_auth_target(struct engine *e, struct session *s, uint64_t now,
			 const struct packet *p);

/* session_target.c */
void session_target_packet(struct engine *e, struct session *s, uint64_t now,
			   const struct packet *p);

/* session_output.c */
enum transmit_result {
	TRANSMIT_SENT,		/* sent, or lost on the way (ENGINE_SEND_RETRY) */
	TRANSMIT_TOO_BIG,	/* refused as too big; the MSS was lowered */
	TRANSMIT_DEAD,		/* the session ended (the send failed) */
};
enum transmit_result session_transmit(struct engine *e, struct session *s, uint32_t seq,
				      uint8_t flags, const uint8_t *payload, uint32_t len);
bool session_send_syn(struct engine *e, struct session *s);
bool session_send_ack(struct engine *e, struct session *s);
void session_send_reset(struct engine *e, struct session *s);
void engine_send_orphan_reset(struct engine *e, const struct session_key *k, uint32_t seq);
void session_output(struct engine *e, struct session *s, uint64_t now);
uint32_t session_mss(const struct engine *e, const struct session *s);

/* session_retransmit.c */
void session_rtt_sample(struct engine *e, struct session *s, uint64_t now);
void session_rto_reset(struct engine *e, struct session *s);
void session_arm_rtx(struct engine *e, struct session *s, uint64_t now);
bool session_retransmit_first(struct engine *e, struct session *s, uint64_t now);
void session_on_rtx_timer(struct engine *e, struct session *s, uint64_t now);
bool session_lower_mss(struct session *s, size_t failed_len, size_t payload_len);

/* session_timers.c */
void session_reschedule(struct engine *e, struct session *s, uint64_t now);
void session_on_timer(struct engine *e, struct session *s, uint64_t now);

#endif
