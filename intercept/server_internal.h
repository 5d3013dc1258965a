/*
 * server_internal.h — what server.c (listener, routing, timers) and
 * connection.c (one copy daemon's connection) share. Nothing else
 * includes it.
 */
#ifndef DOPPEL_SERVER_INTERNAL_H
#define DOPPEL_SERVER_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "intercept/batch.h"
#include "intercept/holding.h"
#include "intercept/intercept_stats.h"
#include "lib/runtime/log.h"
#include "lib/runtime/loop.h"
#include "intercept/router.h"
#include "intercept/server.h"
#include "lib/wire/wire.h"
#include "lib/wire/wire_output.h"
#include "lib/wire/wire_tls.h"

struct connection {
	struct server *server;
	int fd;
	struct wire_conn io;		/* reads and writes: plain or TLS */
	bool tls_checked;		/* with TLS: the first byte was 0x16 */
	unsigned interest;		/* LOOP_READ | LOOP_WRITE now asked for */
	uint64_t opened_ms;
	char peer[64];			/* "addr port N" for log lines */
	struct wire_decoder decoder;
	bool hello_received;
	bool prefix;			/* both sides announced PAYLOAD_PREFIX */
	bool four_tuple;		/* both announced ROUTE_4TUPLE: routes keyed by it */
	bool route_payload;		/* both sides announced ROUTE_PAYLOAD */
	bool dialect_known;		/* the first 8 bytes came: our HELLO went, or */
	bool tcpcopy;			/* a stock TCPCopy 1.0 peer (connection_tcpcopy.c) */
	uint8_t tc1_in[14];		/* a TCPCopy client message being received */
	size_t tc1_in_len;
	bool tc1_versioned;		/* its version message was read */
	struct router_owner routes;
	struct batch batch;		/* set up when the peer's HELLO comes */
	struct wire_output out;		/* queued frames; when bytes were last sent */
	bool waiting_writable;		/* LOOP_WRITE is on */
	uint64_t last_received_ms;
	uint64_t summaries_dropped;
	bool routes_refused_logged;
	bool failed;			/* broken: closed by server_flush */
	char failed_reason[128];
	struct connection *prev, *next;
};

struct server {
	struct loop *loop;
	struct server_config cfg;
	struct intercept_stats *stats;
	int listen_fd;
	bool listen_paused;		/* out of descriptors: accepting resumes at the next tick */
	uint16_t port;
	uint64_t tick_timer;
	struct router router;
	struct holding holding;		/* unrouted responses; used when hold_unrouted_ms */
	uint64_t hold_timer;		/* armed only while something is held */
	struct batch_set batches;
	struct connection *connections;
	size_t connection_count;
	size_t failed_count;		/* connections marked failed, not closed yet */
};

void server_say(struct server *s, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* After c's ROUTE_ADD for client:client_port: hand c the responses held
 * for that route, oldest first, ahead of any that come later. */
void server_release_held(struct server *s, struct connection *c,
			 const struct dp_addr *client, uint16_t client_port);

/* connection.c */
/* Take over fd (connected, non-blocking) from peer: send our HELLO and
 * watch it. NULL on failure (fd closed, the reason in err). */
struct connection *connection_open(struct server *s, int fd, const char *peer,
				   char *err, size_t errlen);
/* Remove its routes, close and free it; reason goes to the log. */
void connection_close(struct connection *c, enum log_level level, const char *reason);
/* Best effort: queue ERROR code/message, try one write, close. */
void connection_fail(struct connection *c, uint16_t code, const char *reason);
/* Route changes from a peer, counted; the held answers of an added route
 * handed over. */
void connection_add_route(struct connection *c, const struct wire_route *r);
void connection_del_route(struct connection *c, const struct wire_route *r);
/* Queue bytes of summaries (dropped whole and counted when the peer does
 * not keep up) and write; count: the summaries they hold. From inside
 * c's batch a failure only marks c. */
void connection_emit(struct connection *c, const uint8_t *bytes, size_t len, uint16_t count);
void connection_update_gauges(struct server *s);

/* connection_output.c */
/* LOOP_WRITE while output waits, or while the TLS session waits to write
 * (for a read or the handshake as well). */
void connection_update_interest(struct connection *c);
/* Write what is queued without blocking. false if the connection broke:
 * it is then marked failed, and the caller closes it if it may. */
bool connection_write(struct connection *c);
/* connection_write, closing c if it broke (not from inside c's batch).
 * false: c is gone. */
bool connection_write_or_close(struct connection *c);
/* Queue a control frame (HELLO, HEARTBEAT, ERROR) past the summaries'
 * limit; false when even that is full. */
bool connection_queue_control(struct connection *c, const uint8_t *frame, size_t len);
/* Queue a control frame, then write. false: c broke and is gone. */
bool connection_send_control(struct connection *c, const uint8_t *frame, size_t len);

/* connection_tcpcopy.c: a stock TCPCopy 1.0 tcpcopy as the peer
 * (docs/protocol.md section 15). */
/* Its first bytes were its version message: take the connection over
 * (bytes: what was received so far). false: c was closed. */
bool tcpcopy_conn_start(struct connection *c, const uint8_t *bytes, size_t len);
/* What it sent next. false: c was closed. */
bool tcpcopy_conn_input(struct connection *c, const uint8_t *bytes, size_t len);

/* Close the connections marked failed (a write broke inside a batch). */
void connection_close_failed(struct server *s);
/* Queue a HEARTBEAT if nothing was sent for heartbeat_idle_ms, give the
 * peer up after peer_dead_ms of silence. Returns false if it was closed. */
bool connection_tick(struct connection *c, uint64_t now_ms);

#endif
