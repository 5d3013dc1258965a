/*
 * intercept_link.h — doppel-copy's side of docs/protocol.md: one TCP
 * connection to each intercept (-s), kept up for the whole run.
 *
 * Each link connects without blocking, sends its HELLO at once and waits
 * for the intercept's; then it is ready. Routes (ROUTE_ADD, ROUTE_DEL) are
 * queued in the order the engine asks for them and written in batches by
 * intercept_links_flush(), which the daemon calls before its loop sleeps.
 * Summaries are parsed and handed over one packet at a time. A link sends a
 * HEARTBEAT after heartbeat_idle_ms without sending, gives the peer up after
 * peer_dead_ms without receiving (also the limit for connecting and for the
 * peer's HELLO), and reconnects after a back-off that doubles from
 * backoff_initial_ms to backoff_max_ms and starts again once a connection
 * completes its HELLO exchange.
 *
 * Which intercept gets a session's route: an intercept (-s entry) may say
 * what it serves, targets (address, optionally port) and client ranges
 * (address/prefix); a route goes to every intercept that serves its session
 * (one that names nothing serves every session), and within an intercept
 * to one of its `conns` connections (-C), chosen by a hash of the 4-tuple.
 * A session can start only when each connection its route goes to is
 * ready, or was ready and is lost for less than outage_grace_ms: the
 * route is then registered when it comes back.
 *
 * Every live route is remembered (route_set.h). When a connection comes
 * back, its share of them is registered again, so an intercept restart
 * costs sessions only the answers lost meanwhile (the target retransmits
 * them). A connection lost for longer than outage_grace_ms is reported
 * (LINK_EVENT_EXPIRED) so that the daemon ends its share of the sessions:
 * losing one connection, or one intercept, touches only its sessions.
 *
 * Like the other helpers this never logs: what happens is reported through
 * the handlers with a reason, and the daemon logs it.
 */
#ifndef DOPPEL_INTERCEPT_LINK_H
#define DOPPEL_INTERCEPT_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "copy/engine/engine.h"
#include "lib/runtime/loop.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"

struct wire_tls;

struct intercept_link_config {
	uint32_t heartbeat_idle_ms;	/* default WIRE_HEARTBEAT_IDLE_MS */
	uint32_t peer_dead_ms;		/* default WIRE_PEER_DEAD_MS */
	uint32_t backoff_initial_ms;	/* default 250 */
	uint32_t backoff_max_ms;	/* default 30000 */
	size_t max_output_bytes;	/* unsent bytes before the peer is given up
					 * as not reading (default 8 MiB) */
	size_t max_pending_routes;	/* routes queued between flushes (default 1M) */
	unsigned conns;			/* connections per intercept, -C (default 1) */
	uint32_t outage_grace_ms;	/* a lost connection's sessions wait this long
					 * for it (default WIRE_PEER_DEAD_MS) */
	bool tcpcopy1;			/* --wire tcpcopy1: the intercepts are stock
					 * TCPCopy 1.0 ones (docs/protocol.md s. 15) */
	/* --tls-*: TLS 1.3 before any frame (docs/protocol.md section 2.1),
	 * the intercept's certificate checked against its address; NULL:
	 * plain text. Owned by the caller. */
	struct wire_tls *tls;
	uint32_t tls_handshake_ms;	/* default WIRE_TLS_HANDSHAKE_MS */
};
void intercept_link_config_defaults(struct intercept_link_config *c);

/* The delay before connection attempt number `failures` + 1 after
 * `failures` attempts in a row that did not end in a HELLO exchange:
 * initial * 2^failures, at most max. */
uint64_t intercept_link_backoff_ms(const struct intercept_link_config *c, unsigned failures);

enum intercept_link_state {
	LINK_WAITING,		/* for the back-off timer */
	LINK_CONNECTING,	/* connect() in progress */
	LINK_HELLO,		/* connected, our HELLO sent, waiting for the peer's */
	LINK_READY,
};

enum intercept_link_event {
	LINK_EVENT_UP,		/* HELLOs exchanged: the link is ready */
	LINK_EVENT_DOWN,	/* the connection or the attempt ended; reason says why */
	LINK_EVENT_SUMMARY_DROPPED,	/* a summary record whose data is not IP + TCP */
	LINK_EVENT_EXPIRED,	/* lost for outage_grace_ms: end its sessions
				 * (intercept_links_routes_of) */
};

struct intercept_links_handlers {
	void *ctx;
	/* A response summary: p->src is the target, p->dst the client,
	 * p->payload_len the original payload length. Valid during the call. */
	void (*summary)(void *ctx, const struct packet *p);
	/* name: "198.18.0.3:36524". was_ready: for DOWN, the link had been
	 * ready (its routes are gone at the intercept). */
	void (*event)(void *ctx, size_t index, const char *name, enum intercept_link_event ev,
		      bool was_ready, const char *reason);
};

struct intercept_link_counters {
	uint64_t attempts;		/* connect() calls */
	uint64_t established;		/* HELLO exchanges completed */
	uint64_t reconnects;		/* of those, not a link's first */
	uint64_t lost;			/* ready links that went down */
	uint64_t frames_in;
	uint64_t summaries_in;		/* records received */
	uint64_t summaries_dropped;	/* records whose data did not parse */
	uint64_t routes_added;		/* routes written in ROUTE_ADD frames */
	uint64_t routes_deleted;
	uint64_t routes_restored;	/* of routes_added: registered again after a reconnect */
	uint64_t heartbeats_sent;
	uint64_t bytes_out, bytes_in;
	uint64_t tls_handshake_failures;	/* attempts ended in or by the TLS handshake */
};

struct intercept_link_status {
	enum intercept_link_state state;
	unsigned failures;		/* attempts in a row without a HELLO exchange */
	uint64_t retry_delay_ms;	/* the back-off last chosen */
	size_t pending_routes;
	size_t output_bytes;		/* written but not yet accepted by the kernel */
};

/* What an intercept serves: a target (port 0: any of its ports) or a
 * range of client addresses (prefix_len bits of addr). */
struct intercept_serve {
	bool client_range;
	struct dp_addr addr;
	uint16_t port;
	uint8_t prefix_len;
};
#define INTERCEPT_MAX_SERVES 16

/* An intercept. With no serves it serves every session; with some, a
 * session whose target is one of the targets listed (if any are) and whose
 * client is in one of the ranges listed (if any are). */
struct intercept_endpoint {
	struct dp_addr addr;
	uint16_t port;
	struct intercept_serve serves[INTERCEPT_MAX_SERVES];
	size_t serve_count;
};

/* Does the intercept serve the session k? */
bool intercept_serves(const struct intercept_endpoint *e, const struct session_key *k);

struct intercept_links;

/* NULL on allocation failure (count must be at least 1). Each endpoint
 * gets cfg->conns links, numbered endpoint * conns + connection. Nothing is
 * connected until intercept_links_start(). */
struct intercept_links *intercept_links_new(struct loop *l, const struct intercept_endpoint *ends,
					    size_t count, const struct intercept_link_config *cfg,
					    const struct intercept_links_handlers *handlers);
/* Start connecting every link. */
void intercept_links_start(struct intercept_links *links);

/* The engine's route sink: 0 when every link the route goes to can take
 * it (ready: queued; lost within its grace: registered when it is back),
 * -1 otherwise (nothing queued): no intercept serves the session, one of
 * its links is not up, or an IPv6 session to an intercept without IPv6. */
int intercept_links_route_add(struct intercept_links *links, const struct session_key *k);
/* The same for a session that needs the first payload_wanted bytes of
 * each of the target's answers (a protocol module's greeting and
 * challenge; docs/stateful.md): -1 also when a link's intercept did not
 * announce ROUTE_PAYLOAD. Calling it again for a live route changes what
 * it wants (0: headers only from now on). */
int intercept_links_route_add_payload(struct intercept_links *links, const struct session_key *k,
				      uint16_t payload_wanted);
void intercept_links_route_del(struct intercept_links *links, const struct session_key *k);
/* Write queued routes (and whatever output is waiting). */
void intercept_links_flush(struct intercept_links *links);
/* Write the queued routes now, from inside the engine's sink: a failure
 * reports nothing yet, the link is closed (and reported) by the next
 * intercept_links_flush(). For routes that must precede packets the
 * sender may flush before the loop sleeps. */
void intercept_links_flush_routes(struct intercept_links *links);

/* The live routes (sessions) that go through link index: fn is called
 * with each (copies: fn may end sessions), or with fn NULL they are only
 * counted. Returns how many. */
size_t intercept_links_routes_of(struct intercept_links *links, size_t index,
				 void (*fn)(void *ctx, const struct session_key *k), void *ctx);

size_t intercept_links_count(const struct intercept_links *links);
size_t intercept_links_ready(const struct intercept_links *links);
void intercept_links_status(const struct intercept_links *links, size_t index,
			    struct intercept_link_status *status);
/* Sums over every link. */
void intercept_links_counters(const struct intercept_links *links,
			      struct intercept_link_counters *sum);

/* Stopping: write what is queued, an ERROR SHUTDOWN, and close (best
 * effort, without waiting). No event is reported. */
void intercept_links_shutdown(struct intercept_links *links);
void intercept_links_free(struct intercept_links *links);

#endif
