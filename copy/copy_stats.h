/*
 * copy_stats.h — doppel-copy's statistics: the one list of its keys (name,
 * counter or gauge, help), filled from the engine, the capture, the sender
 * and the intercept links, then logged as one line, written as JSON
 * (lib/runtime/stats.h), listed by --list-stats (which the man-page check
 * in tests/ops reads) and served by the metrics endpoint. To add a
 * statistic, add one X() line here and fill it in copy_stats_collect();
 * document it in man/doppel-copy.8 (tests/ops fails until you do).
 */
#ifndef DOPPEL_COPY_STATS_H
#define DOPPEL_COPY_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "copy/capture/capture.h"
#include "copy/capture/capture_mirror.h"
#include "copy/copy_compare.h"
#include "copy/engine/engine.h"
#include "copy/link/intercept_link.h"
#include "copy/send/send.h"
#include "lib/runtime/histogram.h"
#include "lib/runtime/stats.h"

/* X(ID, key, type, help), in the order of the JSON file and the man page.
 * ended_<reason> (one per engine_end_reason, the family sessions_ended
 * with label reason) sits between the HEAD and the TAIL. */
#define COPY_STATS_HEAD(X) \
	X(PACKETS_CAPTURED, "packets_captured", STAT_COUNTER, "packets the capture handed over") \
	X(PACKETS_MALFORMED, "packets_malformed", STAT_COUNTER, "captured packets the parser refused") \
	X(CAPTURE_KERNEL_DROPS, "capture_kernel_drops", STAT_COUNTER, \
	  "packets the kernel dropped before the daemon read them (ring full)") \
	X(CAPTURE_RING_BYTES, "capture_ring_bytes", STAT_GAUGE, \
	  "the afpacket capture ring's size now") \
	X(CAPTURE_RING_RESIZES, "capture_ring_resizes", STAT_COUNTER, \
	  "capture rings replaced by one of another size (sized to the traffic)") \
	X(MIRROR_DECAPSULATED_VXLAN, "mirror_decapsulated_vxlan", STAT_COUNTER, \
	  "--mirror: packets taken out of VXLAN") \
	X(MIRROR_DECAPSULATED_GENEVE, "mirror_decapsulated_geneve", STAT_COUNTER, \
	  "--mirror: packets taken out of GENEVE") \
	X(MIRROR_DECAPSULATED_GRE, "mirror_decapsulated_gre", STAT_COUNTER, \
	  "--mirror: packets taken out of GRE (gretap, or IP in GRE)") \
	X(MIRROR_DECAPSULATED_ERSPAN1, "mirror_decapsulated_erspan1", STAT_COUNTER, \
	  "--mirror: packets taken out of ERSPAN type I") \
	X(MIRROR_DECAPSULATED_ERSPAN2, "mirror_decapsulated_erspan2", STAT_COUNTER, \
	  "--mirror: packets taken out of ERSPAN type II") \
	X(MIRROR_DECAPSULATED_ERSPAN3, "mirror_decapsulated_erspan3", STAT_COUNTER, \
	  "--mirror: packets taken out of ERSPAN type III") \
	X(MIRROR_MALFORMED, "mirror_malformed", STAT_COUNTER, \
	  "--mirror: encapsulations of a kind taken but malformed (also in packets_malformed)") \
	X(MIRROR_UNKNOWN, "mirror_unknown", STAT_COUNTER, \
	  "--mirror: frames that are no encapsulation --mirror takes, skipped") \
	X(MIRROR_FILTERED_OUT, "mirror_filtered_out", STAT_COUNTER, \
	  "--mirror: mirrored packets the -x/-F filter left out") \
	X(SESSIONS_STARTED, "sessions_started", STAT_COUNTER, "sessions begun") \
	X(SESSIONS_ACTIVE, "sessions_active", STAT_GAUGE, "sessions live now") \
	X(SESSIONS_COMPLETED, "sessions_completed", STAT_COUNTER, \
	  "sessions ended cleanly (FIN both ways)") \
	X(SESSIONS_FAILED, "sessions_failed", STAT_COUNTER, "sessions ended any other way")
#define COPY_STATS_TAIL(X) \
	X(SESSIONS_REFUSED_MEMORY, "sessions_refused_memory", STAT_COUNTER, \
	  "sessions not started: the -m memory cap") \
	X(SESSIONS_REFUSED_ROUTE, "sessions_refused_route", STAT_COUNTER, \
	  "sessions not started: no intercept connected to take their route") \
	X(SESSIONS_EVICTED_SYN, "sessions_evicted_syn", STAT_COUNTER, \
	  "sessions that had sent only their SYN, ended to make room at the -m session cap") \
	X(STALE_RESETS, "stale_resets", STAT_COUNTER, \
	  "RSTs that freed a connection the target still held on a new session's ports") \
	X(ORPHAN_RESETS, "orphan_resets", STAT_COUNTER, \
	  "RSTs sent to the target for a client's FIN or RST of a connection with no session") \
	X(SESSIONS_QUEUED_SUCCESSOR, "sessions_queued_successor", STAT_COUNTER, \
	  "new connections held until the old session on their client port ended") \
	X(SESSIONS_RESTARTED, "sessions_restarted", STAT_COUNTER, \
	  "sessions opened again: the target lost the connection before it took any data") \
	X(SESSIONS_MISSED_START, "sessions_missed_start", STAT_COUNTER, \
	  "sessions started from data: their SYN was not captured") \
	X(SESSIONS_MISSED_REUSE, "sessions_missed_reuse", STAT_COUNTER, \
	  "of those, new connections told from a live session on their port by their seq") \
	X(AUTH_LOGINS_REPLAYED, "auth_logins_replayed", STAT_COUNTER, \
	  "logins a protocol module replayed and the target accepted") \
	X(AUTH_NOT_CAPTURED, "auth_not_captured", STAT_COUNTER, \
	  "sessions to a protocol port whose login was not captured: not started") \
	X(AUTH_TLS, "auth_tls", STAT_COUNTER, "logins not replayed: the client negotiated TLS") \
	X(AUTH_UNKNOWN_USER, "auth_unknown_user", STAT_COUNTER, \
	  "logins not replayed: no password for the user") \
	X(AUTH_UNSUPPORTED_METHOD, "auth_unsupported_method", STAT_COUNTER, \
	  "logins not replayed: an authentication method doppel does not replay") \
	X(AUTH_WRONG_PASSWORD, "auth_wrong_password", STAT_COUNTER, \
	  "logins the target refused: the password in the credentials is wrong") \
	X(AUTH_PROTOCOL_ERROR, "auth_protocol_error", STAT_COUNTER, \
	  "logins not replayed: bytes not of the protocol, too large, or not seen") \
	X(AUTH_POOLED_OPENED, "auth_pooled_opened", STAT_COUNTER, \
	  "pooled sessions (login not captured, --protocol PORT=NAME:pooled) whose doppel " \
	  "login the target accepted") \
	X(AUTH_POOLED_FAILED, "auth_pooled_failed", STAT_COUNTER, \
	  "pooled sessions ended unreplayed: doppel's login failed, or TLS (also by cause)") \
	X(AUTH_POOLED_SKIPPED_BYTES, "auth_pooled_skipped_bytes", STAT_COUNTER, \
	  "client bytes of pooled sessions dropped before their first command boundary") \
	X(PACKETS_SENT, "packets_sent", STAT_COUNTER, "packets sent to the target") \
	X(BYTES_REPLAYED, "bytes_replayed", STAT_COUNTER, \
	  "client payload bytes the target acknowledged") \
	X(RETRANSMISSIONS, "retransmissions", STAT_COUNTER, "packets sent again") \
	X(SEND_ERRORS, "send_errors", STAT_COUNTER, "packets the kernel refused") \
	X(SUMMARIES, "summaries", STAT_COUNTER, "response summaries received from intercept") \
	X(SUMMARIES_UNMATCHED, "summaries_unmatched", STAT_COUNTER, \
	  "response summaries for no live session") \
	X(PACE_WAITS, "pace_waits", STAT_COUNTER, \
	  "client packets held until the target had sent as much of its answer") \
	X(PACE_WAIT_MS, "pace_wait_ms", STAT_COUNTER, "milliseconds those packets were held, in all") \
	X(PACE_WAITING, "pace_waiting", STAT_GAUGE, "sessions whose next packet is held now") \
	X(PACE_PROBES, "pace_probes", STAT_COUNTER, \
	  "keep-alive probes asking the target whether its answer had ended") \
	X(PACE_TIMEOUTS, "pace_timeouts", STAT_COUNTER, \
	  "held packets let go because the target's answer ended short or never began") \
	X(INTERCEPT_CONNECTED, "intercept_connected", STAT_GAUGE, "intercepts connected now") \
	X(INTERCEPT_ROUTES_RESTORED, "intercept_routes_restored", STAT_COUNTER, \
	  "routes of live sessions registered again after an intercept came back") \
	X(INTERCEPT_RECONNECTS, "intercept_reconnects", STAT_COUNTER, \
	  "reconnections made to intercepts") \
	X(INTERCEPT_TLS_HANDSHAKE_FAILURES, "intercept_tls_handshake_failures", STAT_COUNTER, \
	  "connection attempts to an intercept that failed in the TLS handshake") \
	X(BUFFERED_BYTES, "buffered_bytes", STAT_GAUGE, \
	  "client data held now, against buffered_limit_bytes") \
	X(BUFFERED_LIMIT_BYTES, "buffered_limit_bytes", STAT_GAUGE, \
	  "the share of -m for buffered client data") \
	X(SESSIONS_LIMIT, "sessions_limit", STAT_GAUGE, \
	  "the sessions -m allows at once, against sessions_active") \
	X(CAPTURE_DELAY_P50_US, "capture_delay_p50_us", STAT_GAUGE, \
	  "median time from a packet's capture by the kernel to the daemon, us (bucket bound)") \
	X(CAPTURE_DELAY_P99_US, "capture_delay_p99_us", STAT_GAUGE, \
	  "99th percentile of the same, us (bucket bound)") \
	X(COMPARE_SESSIONS, "compare_sessions", STAT_COUNTER, "sessions compared (--compare)") \
	X(COMPARE_SESSIONS_SKIPPED, "compare_sessions_skipped", STAT_COUNTER, \
	  "sessions not compared: --compare-sessions reached, or too many requests in flight") \
	X(COMPARE_REQUESTS, "compare_requests", STAT_COUNTER, \
	  "requests whose two answers were compared") \
	X(COMPARE_SAME, "compare_same", STAT_COUNTER, "requests answered the same") \
	X(COMPARE_DIFFERENT_STATUS, "compare_different_status", STAT_COUNTER, \
	  "requests answered with another status or error") \
	X(COMPARE_DIFFERENT_BODY, "compare_different_body", STAT_COUNTER, \
	  "requests answered with the same status and another body") \
	X(COMPARE_MISSING, "compare_missing", STAT_COUNTER, \
	  "requests the online server answered and the target did not") \
	X(COMPARE_MALFORMED, "compare_malformed", STAT_COUNTER, \
	  "requests one server answered in bytes not of the protocol") \
	X(COMPARE_PARTIAL, "compare_partial", STAT_COUNTER, \
	  "compared requests whose target answer came cut (intercept's --route-payload)") \
	X(COMPARE_SLOWER, "compare_slower", STAT_COUNTER, \
	  "compared requests the target answered much later (--compare-slower)") \
	X(COMPARE_LOG_WRITTEN, "compare_log_written", STAT_COUNTER, "lines written to --compare-log") \
	X(COMPARE_LOG_DROPPED, "compare_log_dropped", STAT_COUNTER, \
	  "differences not logged: past --compare-log-rate, or the write failed") \
	X(COMPARE_MEMORY_REFUSED, "compare_memory_refused", STAT_COUNTER, \
	  "sessions not compared, or no longer, because the comparison's share of -m was full") \
	X(COMPARE_MEMORY_BYTES, "compare_memory_bytes", STAT_GAUGE, \
	  "memory the comparison holds now, against compare_memory_limit_bytes") \
	X(COMPARE_MEMORY_LIMIT_BYTES, "compare_memory_limit_bytes", STAT_GAUGE, \
	  "the share of -m for the comparison (an eighth; 0 without --compare)")

#define COPY_STAT_ENUM_(id, key, type, help) COPY_STAT_##id,
enum copy_stat {
	COPY_STATS_HEAD(COPY_STAT_ENUM_)
	COPY_STAT_ENDED_FIRST,		/* ended_<reason>, END_REASON_COUNT of them */
	COPY_STAT_ENDED_LAST = COPY_STAT_ENDED_FIRST + END_REASON_COUNT - 1,
	COPY_STATS_TAIL(COPY_STAT_ENUM_)
	COPY_STAT_COUNT
};
#undef COPY_STAT_ENUM_

struct copy_stats {
	struct stats table;
	uint64_t values[COPY_STAT_COUNT];
};

/* Where the numbers come from; any pointer may be NULL (counted as 0). */
struct copy_stats_sources {
	const struct engine_counters *engine;
	const struct capture_counters *capture;
	const struct send_counters *send;
	const struct intercept_link_counters *links;
	uint64_t intercepts_connected;
	uint64_t buffered_limit, sessions_limit;	/* from the engine's configuration */
	const struct histogram *capture_delay;	/* live capture only, or NULL */
	const struct copy_compare_counters *compare;	/* --compare */
	const struct capture_mirror_counters *mirror;	/* --mirror */
};

void copy_stats_init(struct copy_stats *s);
/* Overwrite every value from the sources. */
void copy_stats_collect(struct copy_stats *s, const struct copy_stats_sources *src);
/* The key of a statistic ("ended_closed" ...), and its whole entry. */
const char *copy_stats_name(enum copy_stat i);
const struct stat_def *copy_stats_def(enum copy_stat i);

#endif
