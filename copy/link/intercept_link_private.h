/*
 * intercept_link_private.h — what intercept_link.c, intercept_link_input.c
 * and intercept_link_output.c share. No other file includes it.
 */
#ifndef DOPPEL_INTERCEPT_LINK_PRIVATE_H
#define DOPPEL_INTERCEPT_LINK_PRIVATE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "copy/link/intercept_link.h"
#include "copy/link/route_set.h"
#include "lib/wire/wire.h"
#include "lib/wire/wire_output.h"
#include "lib/wire/wire_tls.h"

struct intercept_links;

struct link {
	struct intercept_links *owner;
	size_t index;			/* group * conns + conn */
	size_t group, conn;		/* its intercept (endpoint), its place there */
	struct dp_addr addr;
	uint16_t port;
	char name[64];			/* "addr:port" for the handlers */

	enum intercept_link_state state;
	int fd;				/* -1 while LINK_WAITING */
	struct wire_conn io;		/* reads and writes: plain or TLS */
	struct wire_decoder decoder;
	uint32_t peer_max_body;
	uint32_t peer_features;
	bool ever_ready;		/* for counters.reconnects; peer_features hold
					 * the last HELLO's */
	bool expired;			/* lost longer than outage_grace_ms (reported) */
	uint64_t lost_ms;		/* when it last stopped being ready */
	bool want_write;		/* LOOP_WRITE is on */
	bool output_waits;		/* output is left for the socket to take */
	bool queue_failed;		/* a route could not be queued (memory) */
	bool close_pending;		/* closed from inside the engine: done at the next flush */
	char close_reason[256];

	uint64_t state_since_ms;	/* CONNECTING and HELLO started */
	uint64_t last_received_ms;	/* (when the kernel last took bytes: out) */
	unsigned failures;		/* attempts in a row without a HELLO exchange */
	uint64_t retry_delay_ms;
	uint64_t retry_timer;		/* 0 when none */

	/* Frames queued and not yet taken by the kernel; knows when bytes
	 * were last sent (lib/wire/wire_output.h says what counts). */
	struct wire_output out;

	/* --wire tcpcopy1: a combined batch being received */
	uint8_t *tc1_in;
	size_t tc1_len;

	/* Routes queued since the last flush, in order; types[i] is
	 * WIRE_ROUTE_ADD or WIRE_ROUTE_DEL. */
	struct wire_route *pending;
	uint8_t *pending_type;
	size_t pending_count, pending_cap;
};

struct intercept_links {
	struct loop *loop;
	struct intercept_link_config cfg;
	struct intercept_links_handlers handlers;
	struct intercept_link_counters counters;
	uint64_t tick_timer;
	bool in_engine;			/* intercept_links_flush_routes() is running */
	struct route_set routes;	/* every live route */
	struct intercept_endpoint *groups;	/* the intercepts, group_count of them */
	size_t group_count;
	size_t count;			/* links: group_count * cfg.conns */
	struct link links[];
};

/* intercept_link.c */
void link_close(struct link *link, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void link_hello_received(struct link *link, const struct wire_hello *hello);

/* intercept_link_routes.c */
/* A link just exchanged HELLOs: queue ROUTE_ADD for its share of the live
 * routes. */
void link_restore_routes(struct link *link);

/* intercept_link_tcpcopy.c: a stock TCPCopy 1.0 intercept */
/* Connected: send the version message; the link is ready at once (a
 * stock intercept says nothing back). */
void tc1_link_connected(struct link *link);
/* Encode the queued routes as 14-byte messages. -1 if the link closed. */
int tc1_link_output_routes(struct link *link);
/* Read batches of records and hand them over as summaries. */
void tc1_link_input(struct link *link);

/* intercept_link_input.c: read what is there and act on each frame. */
void link_input(struct link *link);

/* intercept_link_output.c */
/* LOOP_READ, and LOOP_WRITE while output waits or the TLS session waits
 * to write. */
void link_update_interest(struct link *link);
/* Append a whole frame to the output. 0, or -1 after closing the link
 * (the peer has not read for too long, or no memory). */
int link_output_append(struct link *link, const uint8_t *frame, size_t len);
/* Write what the kernel takes; LOOP_WRITE while something is left. May
 * close the link. */
void link_output_write(struct link *link);
/* Encode the queued routes into frames on the output. -1 if the link was
 * closed on the way. */
int link_output_routes(struct link *link);
void link_queue_route(struct link *link, uint8_t type, const struct wire_route *r);
/* Best effort, right now: an ERROR frame behind what is queued and one
 * write attempt (the caller closes the link next). */
void link_send_error(struct link *link, uint16_t code, const char *message);

#endif
