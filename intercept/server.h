/*
 * server.h — doppel-intercept's side of the wire protocol: the listener
 * for copy daemons, one connection each, their routes, and the summaries
 * the sources hand in, routed and batched to the connection that owns
 * each session (docs/protocol.md).
 *
 * The server never logs: what the daemon should say (a connection
 * accepted, refused, closed and why) goes to a log callback as one
 * finished line, and the daemon decides.
 */
#ifndef DOPPEL_SERVER_H
#define DOPPEL_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "intercept/intercept_stats.h"
#include "lib/runtime/log.h"
#include "lib/runtime/loop.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"

/* Bytes a connection may have queued and unwritten before further
 * SUMMARIES frames to it are dropped (whole, counted). */
#define SERVER_OUTPUT_LIMIT (4u * 1024 * 1024)
/* Connections at once; more are refused with ERROR INTERNAL. */
#define SERVER_MAX_CONNECTIONS 4096
#define SERVER_MAX_ALLOW 64

typedef void (*server_log_fn)(void *ctx, enum log_level level, const char *line);

struct server_config {
	struct dp_addr bind;		/* family 0: every address (IPv6 and IPv4) */
	uint16_t port;			/* 0: any free port (tests) */
	struct dp_addr allow[SERVER_MAX_ALLOW];	/* -x; none = everyone */
	size_t allow_count;
	uint16_t payload_prefix;	/* bytes of payload to forward (0: headers only) */
	uint16_t route_payload;		/* --route-payload: the most answer bytes a route
					 * may have (ROUTE_PAYLOAD; 0: not offered) */
	size_t output_limit;		/* 0: SERVER_OUTPUT_LIMIT */
	uint64_t heartbeat_idle_ms;	/* 0: WIRE_HEARTBEAT_IDLE_MS */
	uint64_t peer_dead_ms;		/* 0: WIRE_PEER_DEAD_MS */
	/* --hold-unrouted: how long a response that matches no route waits
	 * for its ROUTE_ADD (0: dropped at once), and the holding's bounds
	 * (0: HOLDING_DEFAULT_MAX_*, intercept/holding.h). */
	uint64_t hold_unrouted_ms;
	size_t hold_max_entries, hold_max_bytes;
	server_log_fn log;		/* may be NULL */
	void *log_ctx;
	/* --tls-*: TLS 1.3 before any frame (docs/protocol.md section 2.1);
	 * NULL: plain text. Owned by the caller. */
	struct wire_tls *tls;
	uint64_t tls_handshake_ms;	/* 0: WIRE_TLS_HANDSHAKE_MS */
};

struct server;

/* The payload bytes of each response the source must copy: the global
 * prefix or what a route may want, whichever is more. */
static inline uint16_t server_payload_copied(const struct server_config *c)
{
	return c->payload_prefix > c->route_payload ? c->payload_prefix : c->route_payload;
}

/* Open the listener and register it with l. NULL with err filled. */
struct server *server_new(struct loop *l, const struct server_config *cfg,
			  struct intercept_stats *stats, char *err, size_t errlen);
/* Close every connection (best-effort ERROR SHUTDOWN first) and the listener. */
void server_free(struct server *s);

/* The port the listener is bound to. */
uint16_t server_port(const struct server *s);
size_t server_connection_count(const struct server *s);
size_t server_route_count(const struct server *s);
/* Responses held now, waiting for their route. */
size_t server_held_count(const struct server *s);

/* SIGHUP: a new -x allowlist (count 0: everyone) for the connections to
 * come; those open stay. */
void server_set_allow(struct server *s, const struct dp_addr *allow, size_t count);

/* One copy daemon's connection, for the metrics endpoint. */
struct server_peer {
	const char *peer;		/* "addr:port", "[v6]:port" */
	size_t routes;			/* routes it owns now */
	size_t output_queued;		/* bytes not yet taken by the kernel */
	uint64_t summaries_dropped;	/* its output was full */
};
typedef void (*server_peer_fn)(void *ctx, const struct server_peer *peer);
/* Call fn for each connection that has said HELLO. */
void server_each_peer(const struct server *s, server_peer_fn fn, void *ctx);

/* A response from a source: route it to its connection's batch, or hold
 * it for hold_unrouted_ms (then count it unrouted if no route came). p as
 * source_deliver_fn describes. */
void server_deliver(struct server *s, const struct packet *p);
/* Emit every pending batch and write what can be written: call it from the
 * loop's before-sleep hook. */
void server_flush(struct server *s);

#endif
