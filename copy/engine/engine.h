/*
 * engine.h — the session engine: one emulated client TCP stack per replayed
 * connection.
 *
 * The engine is pure: it does no I/O and reads no clock. Every entry point
 * takes the current time (milliseconds, any monotonic origin) and the engine
 * acts only through the sink its owner gives it: packets to send, routes to
 * add and remove at intercept, sessions that ended. Capture, sockets and the
 * event loop live around it (copy/copy.c), so the same engine serves live
 * capture, pcap files, benchmarks and the unit tests.
 *
 * Every packet the engine builds is addressed to a target (key.target); it
 * never builds a packet for a client address.
 *
 * Behaviour, in short (the files named say more):
 * - The engine plays the client in the client's own sequence space and
 *   acknowledges the target itself: each target segment with data or FIN
 *   is acked at once (no delayed ack), with ack = the highest end of target
 *   data seen; the window advertised is the client's latest non-zero one.
 * - Pacing (session_pacing.h): a client packet sent after reading part of
 *   the online answer (its ack advanced: a new request) waits until the
 *   target's answer to what came before is exactly as long as the online
 *   one (each answer counted alone, from the previous such packet), or its
 *   answer ended, shorter or longer
 *   (its FIN, or a quiet period of pace_quiet_rtts smoothed RTTs, at least
 *   pace_quiet_min_ms, without a new byte, at least pace_timeout_ms for
 *   the client's FIN, then confirmed by a keep-alive probe; pace_timeout_ms
 *   when it sent nothing at all). Pipelined data (ack not moved) goes at
 *   once. -W: no waiting.
 * - Sessions whose SYN was not captured start from their first data, with
 *   a made-up SYN (seq - 1). If the target still holds that connection (a
 *   killed doppel-copy's), it answers the SYN with a bare ACK, which is
 *   reset (stale_resets, session_target.c). A captured FIN or RST with no
 *   session sends the target one RST at its seq (orphan_resets, once per
 *   4-tuple, session_client.c), so such a connection whose client sent no
 *   data since is freed too.
 * - After the target's FIN is acked last, the session lingers linger_ms to
 *   ack a retransmitted FIN, then ends END_CLOSED.
 * - Memory: past max_sessions or max_buffered_bytes new sessions are
 *   refused (sessions_refused_memory), except that at max_sessions a new
 *   session that comes with data (a missed start: a real client's request
 *   whose SYN was refused at the cap, or not captured) takes the place of
 *   the oldest session that has sent nothing but its SYN (a "bare" one),
 *   which ends END_MEMORY_LIMIT (RST to the target, sessions_evicted_syn).
 *   So a SYN flood holding the cap costs a refusal per SYN, and a real
 *   client, whose data follows its SYN within a round trip, is replayed
 *   from that data; sessions with data are never ended to make room. A
 *   real client refused at its SYN and started from its data counts in
 *   both sessions_refused_memory and sessions_started. With -O a new SYN
 *   takes a bare session's place instead (no start from data there). A
 *   session whose own data would pass
 *   max_buffered_bytes ends END_MEMORY_LIMIT (RST to the target). No byte
 *   is ever dropped silently. END_MEMORY_LIMIT is for those caps (and a
 *   failed allocation) only.
 * - Capture gaps: bytes the capture missed end the session END_CAPTURE_GAP,
 *   gap_timeout_ms after the in-order data last moved with pieces held
 *   past a hole, or at once when more than STREAM_MAX_PENDING (256) pieces
 *   pile up past it. Why that is the capture's loss: had the online server
 *   missed those bytes too, it would have acked the hole's start again and
 *   again, and the client would have sent them again after three duplicate
 *   acks, within about a round trip, where the capture sees it. The engine
 *   cannot prove it (the server's acks are not captured: the filter built
 *   from -x matches the clients' packets only, and the clients' acks are
 *   for the server's data), so the rare client with more than 256 pieces
 *   in flight past a real loss is ended as a capture gap too; either way
 *   the stream could not go on. capture_kernel_drops counts the loss.
 * - Giving a session up (timeouts, limits, abort) sends the target an RST
 *   first, so it frees the connection; not when the target reset it or
 *   the send path refused us.
 * - Port reuse (session_successor.c): a SYN with a new ISN on the key of a
 *   live session. The replay lags the online hosts, so the old connection,
 *   over online, may still be going on at the target:
 *   . still replaying (client data not yet acknowledged, or the client's
 *     FIN or RST captured and the close not finished, the target's FIN
 *     awaited included): the new connection's packets are held, in order,
 *     as the key's one successor (sessions_queued_successor); packets
 *     whose seq lies in the old connection's range [isn, its FIN] still go
 *     to the old session. When the old session ends, for any reason but
 *     END_ABORTED (shutdown or intercept lost: its successor is dropped
 *     with it), the successor starts before the engine call returns, its
 *     packets fed in as if captured then. The target never sees the new
 *     SYN while the old connection is open on the same 4-tuple. Its
 *     payload counts in max_buffered_bytes (and at most 512 packets are
 *     held): past that the new connection is refused like a new session
 *     (sessions_refused_memory) and the rest of its packets dropped.
 *     A third connection while one waits is held behind it, in capture
 *     order: when the old session ends the second starts, and the third
 *     waits for it in turn (bounded by the 512 packets and the memory cap
 *     above).
 *   . lingering (TIME_WAIT): the old one ends END_CLOSED and the new one
 *     starts at once; and a session with a successor does not linger at
 *     all once its ack of the target's FIN is out. The linger only re-acks
 *     a FIN the target sends again because our last ack was lost; the
 *     online client started its new connection at this point too, with
 *     the ISN (ours: the client's) that the online server accepted, and
 *     Linux accepts such a SYN even on a 4-tuple in TIME_WAIT (higher ISN
 *     or newer timestamp). The rare cost: a FIN retransmitted after that
 *     reaches the new session.
 *   . all data acknowledged and no FIN or RST captured: the capture missed
 *     the old connection's end (a client cannot reuse an open one);
 *     nothing of it is left to deliver, so it ends END_SUPERSEDED (RST)
 *     and the new one starts at once rather than wait for -t.
 *   A new connection whose SYN was not captured (a missed start) on a live
 *   key is told by its seq: data, FIN or RST more than 16 MiB from the end
 *   of the old session's captured stream, either way, is not the old
 *   connection's (session_client.c says why), and is handled as its SYN
 *   would be: queued as the successor, or the old session gives way and the
 *   new one starts from that data (counted in sessions_missed_start and
 *   sessions_missed_reuse). Its RST with no successor waiting is ignored.
 */
#ifndef DOPPEL_ENGINE_H
#define DOPPEL_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "copy/engine/auth.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"

/* A replayed session as the target sees it: client is the address the
 * target sees (after -c rewriting), target is the test server. */
struct session_key {
	struct dp_addr client;
	struct dp_addr target;
	uint16_t client_port;
	uint16_t target_port;
};

#define ENGINE_MAX_AUTH_PORTS 16

struct engine_config {
	uint64_t session_timeout_ms;	/* -t: give up a session silent this long (default 120 s) */
	uint64_t keepalive_timeout_ms;	/* -k: give up an established session whose client
					 * sent nothing this long (default 0 = never) */
	uint16_t mss_clamp;		/* -D: clamp the MSS sent in SYN and used to split; 0 = none */
	bool send_at_once;		/* -W: do not wait for the target's answer */
	bool full_sessions_only;	/* -O: start sessions only from a captured SYN */
	size_t max_sessions;		/* cap on live sessions (from -m); 0 = no cap */
	size_t max_buffered_bytes;	/* cap on buffered client data, all sessions
					 * (from -m); 0 = no cap */
	uint32_t rto_initial_ms;	/* first retransmission timeout (default 1000) */
	uint32_t rto_min_ms;		/* default 200 */
	uint32_t rto_max_ms;		/* default 60000 */
	unsigned syn_retries;		/* SYNs before giving up (default 6) */
	unsigned data_retries;		/* retransmissions of one segment (default 15) */
	uint8_t ttl;			/* of packets sent (default 64) */
	/* Added by the engine (compatible extensions): */
	uint32_t pace_timeout_ms;	/* pacing fallback: release a held packet this long
					 * after all our data was acknowledged when the
					 * target sent nothing of its answer (default 2000;
					 * 0 = wait for -t) */
	uint32_t pace_quiet_rtts;	/* pacing: the target's answer has ended when it sent
					 * no new byte for this many smoothed RTTs ... */
	uint32_t pace_quiet_min_ms;	/* ... and at least this long (defaults 8 and 200;
					 * the client's FIN: pace_timeout_ms) */
	uint32_t linger_ms;		/* keep a session that acked the target's FIN last
					 * this long, to re-ack a retransmitted FIN
					 * (default 2000) */
	uint32_t gap_timeout_ms;	/* a hole in the captured client stream not filled
					 * this long means the capture lost those bytes
					 * (the client will never send them again): the
					 * session ends, END_CAPTURE_GAP (default 5000;
					 * 0 = wait for -t) */
	uint64_t hash_seed;		/* seed of the session table's hash; the daemon
					 * sets a random one (default 0) */
	/* Protocol modules (docs/stateful.md): sessions to these target ports
	 * have their login replayed; passwords from auth_password. */
	struct engine_auth_port {
		uint16_t port;
		uint8_t protocol;	/* enum auth_protocol */
		uint8_t pooled;		/* sessions whose login was not captured log
					 * in with auth_pooled[protocol] (below) */
	} auth_ports[ENGINE_MAX_AUTH_PORTS];
	/* The login of pooled sessions, per protocol (the credentials file's
	 * "pooled" lines); the password comes from auth_password. */
	struct engine_pooled_login {
		char user[128];
		char database[128];	/* empty: PostgreSQL's default, no MySQL database */
	} auth_pooled[AUTH_PROTO_COUNT];
	size_t auth_port_count;
	auth_password_fn auth_password;
	auth_salted_fn auth_salted;	/* optional: SCRAM's SaltedPassword, cached */
	void *auth_password_ctx;
};

/* Fill *c with the defaults above. */
void engine_config_defaults(struct engine_config *c);

/* What became of a send; the sink maps errno to this. */
enum engine_send_result {
	ENGINE_SEND_OK,
	ENGINE_SEND_RETRY,	/* ENOBUFS, EAGAIN: keep the data, the retransmit timer resends */
	ENGINE_SEND_TOO_BIG,	/* EMSGSIZE: the engine lowers its MSS and resends smaller */
	ENGINE_SEND_FAILED,	/* EPERM and the rest: the session ends with a reason */
};

/* How a session ended, for statistics. */
enum engine_end_reason {
	END_CLOSED,		/* FIN exchanged both ways, or the client's RST replayed */
	END_TARGET_RESET,	/* the target sent RST */
	END_SESSION_TIMEOUT,	/* -t */
	END_KEEPALIVE_TIMEOUT,	/* -k */
	END_SYN_TIMEOUT,	/* the target never answered the SYN */
	END_RETRANSMIT_LIMIT,	/* the target never acknowledged our data */
	END_SEND_FAILED,	/* the send backend refused a packet */
	END_ABORTED,		/* engine_abort(): intercept lost, shutdown */
	END_PROTOCOL_ERROR,	/* the target broke TCP: its SYN-ACK acked the wrong seq
				 * syn_retries times (each answered with an RST
				 * <SEQ=SEG.ACK> and our SYN again: once, it is mostly
				 * the port's previous connection still half-open) */
	END_MEMORY_LIMIT,	/* this session's data would pass max_buffered_bytes
				 * (or an allocation failed) */
	END_SUPERSEDED,		/* the client opened a new connection on the same ports
				 * and this session gave way (see port reuse above) */
	END_CAPTURE_GAP,	/* client bytes the capture missed: a hole not filled in
				 * gap_timeout_ms, or more than STREAM_MAX_PENDING
				 * pieces past it; the stream cannot go on */
	END_AUTH_FAILED,	/* its login could not be replayed (auth_failed says why) */
	END_REASON_COUNT
};
const char *engine_end_reason_name(enum engine_end_reason r);

/* The sink's functions must not call back into the engine. */
struct engine_sink {
	void *ctx;
	/* Send one IP packet (headers and checksums complete). */
	enum engine_send_result (*send)(void *ctx, const struct session_key *k,
					const uint8_t *pkt, size_t len);
	/* Register the session at intercept before its SYN goes out.
	 * 0, or -1 when no intercept can take it (the session is refused). */
	int (*route_add)(void *ctx, const struct session_key *k);
	void (*route_del)(void *ctx, const struct session_key *k);
	/* route_add for a session whose protocol module needs the target's
	 * answer bytes (wanted per packet; 0xffff all); called again with 0
	 * once its login is done. NULL: such sessions are refused. */
	int (*route_add_payload)(void *ctx, const struct session_key *k, uint16_t wanted);
	/* The session ended (its route already removed); may be NULL. */
	void (*session_end)(void *ctx, const struct session_key *k,
			    enum engine_end_reason reason, const char *detail);
};

struct engine_counters {
	uint64_t client_packets;	/* captured packets fed in */
	uint64_t client_ignored;	/* fed in but not for a session we replay */
	uint64_t sessions_started;
	uint64_t sessions_active;
	uint64_t sessions_completed;	/* ended END_CLOSED */
	uint64_t sessions_failed;	/* ended any other way */
	uint64_t ended[END_REASON_COUNT];
	/* Refused sessions, each counted once however many of its packets
	 * were refused (its SYN, then its data as a missed start ...):
	 * refused_keys.h says how, and its bounds. */
	uint64_t sessions_refused_memory;	/* -m cap reached */
	uint64_t sessions_refused_route;	/* route_add failed (no intercept) */
	uint64_t sessions_missed_start;	/* data for a session whose SYN was not seen */
	uint64_t packets_sent;
	uint64_t bytes_replayed;	/* client payload bytes acknowledged by the target */
	uint64_t retransmissions;
	uint64_t send_errors;
	uint64_t summaries;		/* target packets fed in */
	uint64_t summaries_unmatched;	/* for no live session */
	uint64_t buffered_bytes;	/* client data held now */
	/* Added by the engine (compatible extensions): */
	uint64_t client_truncated;	/* data packets captured without all their payload
					 * (snaplen): dropped, the stream waits for a copy */
	uint64_t pace_timeouts;		/* held packets released because the target's answer
					 * ended short (quiet period) or never began
					 * (pace_timeout_ms) */
	uint64_t pace_waits;		/* client packets (requests, FINs) that waited for
					 * the target's answer */
	uint64_t pace_wait_ms;		/* the time they waited, in all */
	uint64_t pace_waiting;		/* sessions whose next packet waits now */
	uint64_t pace_probes;		/* keep-alive probes asking the target whether its
					 * answer ended (session_pacing.h) */
	uint64_t persist_probes;	/* zero-window probes sent */
	uint64_t fast_retransmits;	/* of retransmissions, those on 3 duplicate acks */
	uint64_t sessions_queued_successor;	/* new connections on a live session's ports
						 * held until it ended (see above) */
	uint64_t sessions_evicted_syn;	/* sessions that had sent only their SYN, ended
					 * (END_MEMORY_LIMIT) to make room at max_sessions */
	uint64_t stale_resets;		/* RSTs <SEQ=SEG.ACK> sent for a connection the
					 * target still held on a new session's ports
					 * (its answer to our SYN acked another seq) */
	uint64_t orphan_resets;		/* RSTs sent at the client's seq for a captured
					 * FIN or RST of a connection with no session
					 * (a killed copy's, still open at the target),
					 * one per 4-tuple */
	uint64_t sessions_restarted;	/* opened again: the target reset the connection,
					 * acknowledging nothing (no ACK flag), before it
					 * took any of our data or sent any */
	uint64_t sessions_missed_reuse;	/* new connections on a live session's key whose
					 * SYN was not captured, told by their seq (see
					 * above); each counts as a missed start too
					 * once it starts */
	/* Protocol modules (docs/stateful.md): */
	uint64_t auth_logins_replayed;		/* logins the target accepted */
	uint64_t auth_not_captured;		/* sessions to a protocol port whose login
						 * was not captured (SYN missed): not started */
	uint64_t auth_failed[AUTH_FAIL_COUNT];	/* logins not replayable, by cause */
	uint64_t auth_pooled_opened;		/* pooled sessions (login not captured, port
						 * opted in): doppel's own login accepted */
	uint64_t auth_pooled_failed;		/* ... refused or failed (also in auth_failed) */
	uint64_t auth_pooled_skipped_bytes;	/* captured client bytes dropped before a
						 * pooled session's first command boundary */
};

struct engine;

/* NULL on allocation failure. The sink is copied. */
struct engine *engine_new(const struct engine_config *cfg, const struct engine_sink *sink);
/* Frees everything without calling the sink. */
void engine_free(struct engine *e);

/*
 * A captured client packet. key names the replayed session (already
 * rewritten by the caller: -c client address, copies, target from -x);
 * p is the packet as captured (its addresses are the original ones and are
 * not used). The payload may be larger than the MSS (GRO): it is split.
 */
void engine_client_packet(struct engine *e, uint64_t now_ms,
			  const struct session_key *key, const struct packet *p);

/*
 * A packet from the target (a response summary): p->src is the target,
 * p->dst the client. p->payload_len is the original payload length even
 * when only headers are present.
 */
void engine_target_packet(struct engine *e, uint64_t now_ms, const struct packet *p);

/* Run the timers due at now_ms: retransmissions, pacing, timeouts. */
void engine_tick(struct engine *e, uint64_t now_ms);
/* When engine_tick() next has something to do; UINT64_MAX when nothing. */
uint64_t engine_next_deadline(const struct engine *e);

/* End one session (RST to the target, route removed) / every session. */
void engine_abort(struct engine *e, uint64_t now_ms, const struct session_key *k,
		  const char *detail);
void engine_abort_all(struct engine *e, uint64_t now_ms, const char *detail);
/* The send backend refused one of k's packets after the sink had taken it
 * (a batch flushed later): the session ends END_SEND_FAILED, as when the
 * sink refuses at once, without an RST. Unknown sessions are ignored. */
void engine_send_failed(struct engine *e, uint64_t now_ms, const struct session_key *k,
			const char *detail);

const struct engine_counters *engine_counters(const struct engine *e);

/* Where live sessions stand (state, bytes sent, acked and captured, the
 * target's bytes, flags, retries, armed timers), for an operator asking
 * what is stuck: fn is called for at most max of them, in no order;
 * returns how many are live. */
size_t engine_describe_sessions(const struct engine *e, size_t max,
				void (*fn)(void *ctx, const struct session_key *k,
					   const char *where),
				void *ctx);

#endif
