/*
 * compare.h — the comparison of the online server's answers with the
 * target's, request by request (docs/compare.md).
 *
 * Fed four kinds of events by doppel-copy's glue (copy/copy.c), each with
 * the session key the engine uses and a time in microseconds:
 *   - a captured client packet (the requests, online);
 *   - a captured packet of the online server (its answers);
 *   - a packet the engine sent to the target (when a request left);
 *   - a summary from intercept (the target's answers, with payload);
 * and the end of a session. It pairs request k of a session with answer k
 * on both sides and hands each finished pair to a callback. Pure: no I/O,
 * no clock.
 *
 * Requests are told apart by the direction of the online conversation: a
 * client byte that comes after server bytes starts the next request, so a
 * pipelined burst and its answers are one pair (compared as a whole, the
 * same on both sides). Online answer k is over when request k+1 starts or
 * the server closes; the target's answer k is over when the engine sends
 * request k+1's first byte or the target closes; both, at the latest, when
 * the session ends. Only in-order bytes are read (each side from its own
 * SYN-ACK), so a retransmission is taken once and a session whose SYN or
 * SYN-ACK was not seen is not compared.
 *
 * Bounds: at most max_sessions compared sessions (more are skipped and
 * counted) and COMPARE_PENDING_MAX requests in flight per session,
 * COMPARE_PENDING_TOTAL_MAX in all (a session that would pass either
 * stops being compared, counted as skipped). Memory: each session costs
 * COMPARE_SESSION_BYTES and each request in flight COMPARE_REQUEST_BYTES
 * against max_bytes (doppel-copy's share of -m): a session that does not
 * fit is not compared, and one whose next request does not fit stops being
 * compared; both count in memory_refused (and sessions_skipped).
 */
#ifndef DOPPEL_COMPARE_H
#define DOPPEL_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "copy/compare/answer.h"
#include "copy/compare/latency.h"
#include "copy/compare/verdict.h"
#include "copy/engine/engine.h"
#include "lib/net/packet.h"

/* Requests in flight: the replay lags the online conversation (it waits
 * for the target's answers), so a session's online side may be many
 * requests ahead (a long sysbench or pgbench connection: thousands); each
 * costs compare_request_bytes() until both answers are over, within
 * max_bytes. */
#define COMPARE_PENDING_MAX 4096	/* per session */
#define COMPARE_PENDING_TOTAL_MAX 32768	/* all sessions */
#define COMPARE_REQUEST_HEAD 96	/* first request bytes kept for the diff log */
#define COMPARE_TRANSFERS_MAX 64

/* One finished pair, for the callback (valid during the call only). */
struct compare_result {
	const struct session_key *key;
	size_t transfer;
	uint64_t request;		/* 0, 1, ... within the session */
	enum compare_kind kind;
	bool slower;			/* the target's first byte came much later
					 * (compare_config.slower_min_us, twice) */
	bool partial;			/* bytes of an answer were not seen (intercept's
					 * --route-payload, a lost summary, a capture
					 * gap): bodies not compared */
	const struct answer *online, *target;
	const uint8_t *request_head;
	size_t request_head_len;
	uint64_t online_ttfb_us, target_ttfb_us;	/* request to first answer byte; 0 unknown */
	uint64_t online_ttlb_us, target_ttlb_us;	/* request to last answer byte */
};

struct compare_counters {
	uint64_t sessions;		/* sessions compared */
	uint64_t sessions_skipped;	/* not compared: the cap, or too many requests in flight */
	uint64_t requests;		/* pairs compared */
	uint64_t kinds[COMPARE_KIND_COUNT];	/* by result; [COMPARE_SAME] the same */
	uint64_t partial;		/* pairs with bytes of an answer not seen */
	uint64_t slower;		/* pairs whose target answered much later */
	uint64_t memory_refused;	/* sessions refused or stopped: max_bytes full */
};

/* What a compared session and a request in flight cost against max_bytes:
 * their structures, and each answer's SHA-256 context (OpenSSL allocates
 * it: EVP_MD_CTX, the provider's context and the SHA-256 state, about
 * 300 bytes with OpenSSL 3; counted with room). */
#define COMPARE_DIGEST_STATE_BYTES 512
size_t compare_session_bytes(void);
size_t compare_request_bytes(void);

struct compare_config {
	size_t max_sessions;
	size_t max_bytes;		/* memory for sessions and requests; 0: no cap */
	/* A pair is slower when the target's time to first byte is more than
	 * twice the online one and more than this much longer; 0: never. */
	uint64_t slower_min_us;
	size_t transfer_count;
	/* per transfer: compared or not, and how */
	bool compared[COMPARE_TRANSFERS_MAX];
	struct answer_config answer[COMPARE_TRANSFERS_MAX];
};

typedef void (*compare_result_fn)(void *ctx, const struct compare_result *r);

struct compare;

struct compare *compare_new(const struct compare_config *cfg, compare_result_fn fn, void *ctx);
void compare_free(struct compare *c);	/* pending pairs are dropped, not reported */

bool compare_transfer_on(const struct compare *c, size_t transfer);

/* A captured client packet (key: the engine's, of copy 0). */
void compare_client_packet(struct compare *c, uint64_t now_us, size_t transfer,
			   const struct session_key *key, const struct packet *p);
/* A captured packet of the online server to that client. */
void compare_online_packet(struct compare *c, uint64_t now_us, const struct session_key *key,
			   const struct packet *p);
/* A packet the engine sent to the target. */
void compare_target_sent(struct compare *c, uint64_t now_us, const struct session_key *key,
			 const struct packet *p);
/* A summary from the target (p->src the target, p->dst the client). */
void compare_target_packet(struct compare *c, uint64_t now_us, const struct packet *p);
/* The engine ended the session: every pending pair is finished. */
void compare_session_end(struct compare *c, uint64_t now_us, const struct session_key *key);
/* Stop comparing key's session, reporting nothing: the engine refused it
 * (its end would never come), or its answers' bytes cannot be had.
 * Counted in sessions_skipped; nothing happens if key is not compared. */
void compare_forget(struct compare *c, const struct session_key *key);
/* Whether key is being compared (its route then asks for the payload). */
bool compare_wants(const struct compare *c, const struct session_key *key);

const struct compare_counters *compare_counters(const struct compare *c);
const struct latency_table *compare_latency(const struct compare *c, size_t transfer);
size_t compare_active(const struct compare *c);
/* Bytes charged now against max_bytes (sessions and requests in flight). */
size_t compare_memory(const struct compare *c);

#endif
