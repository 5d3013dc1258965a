/*
 * metrics_http.h — the --metrics endpoint: a minimal HTTP/1.x server on
 * the daemon's event loop that answers GET /metrics with the text the
 * daemon renders (metrics_text.h). Everything is non-blocking and bounded:
 * at most max_connections at once (more are closed at accept), a request
 * of at most max_request bytes, each connection closed after timeout_ms
 * whatever it did, a response of at most max_response bytes. One request
 * per connection (Connection: close), which is what a scraper needs.
 */
#ifndef DOPPEL_METRICS_HTTP_H
#define DOPPEL_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/net/packet.h"
#include "lib/runtime/loop.h"
#include "lib/runtime/metrics_text.h"

struct metrics_server_config {
	struct dp_addr addr;		/* family 0: every address (IPv6 and IPv4) */
	uint16_t port;			/* 0: any free port (tests) */
	size_t max_connections;		/* 8 */
	size_t max_request;		/* 4096 bytes */
	size_t max_response;		/* 8 MiB */
	uint64_t timeout_ms;		/* 5000 */
};

struct metrics_server_counters {
	uint64_t accepted, refused_busy, scrapes, bad_requests, timeouts;
};

/* Fill out with the daemon's metrics (prefix set by the server). */
typedef void (*metrics_render_fn)(void *ctx, struct metrics_text *out);

/* What a request head (the bytes read so far) asks for. */
enum metrics_request {
	METRICS_REQUEST_INCOMPLETE,	/* no blank line yet, and room for more */
	METRICS_REQUEST_TOO_LARGE,	/* no blank line within max bytes */
	METRICS_REQUEST_BAD,		/* not "METHOD TARGET HTTP/1.x", or a NUL byte */
	METRICS_REQUEST_METHOD,		/* a method other than GET and HEAD */
	METRICS_REQUEST_NOT_FOUND,	/* a target other than /metrics[?...] */
	METRICS_REQUEST_METRICS,	/* GET or HEAD /metrics */
};

/* buf: len bytes received (any bytes); *head says whether the method was
 * HEAD (no body in the answer). Pure: the fuzz harness calls it. */
enum metrics_request metrics_parse_request(const char *buf, size_t len, size_t max, bool *head);

void metrics_server_config_defaults(struct metrics_server_config *cfg);
/* "ADDR:PORT", "[V6]:PORT" or ":PORT" (every address) into cfg. 0, or -1
 * with err saying what is wrong. */
int metrics_parse_address(const char *s, struct metrics_server_config *cfg, char *err,
			  size_t errlen);

struct metrics_server;

/* Listen and serve on l. NULL with err ("metrics 127.0.0.1:9100: Address
 * already in use"). prefix: "doppel_copy". */
struct metrics_server *metrics_server_new(struct loop *l, const struct metrics_server_config *cfg,
					  const char *prefix, metrics_render_fn render, void *ctx,
					  char *err, size_t errlen);
/* The same from --metrics' text, with the default limits. */
struct metrics_server *metrics_server_open(struct loop *l, const char *address, const char *prefix,
					   metrics_render_fn render, void *ctx, char *err,
					   size_t errlen);
uint16_t metrics_server_port(const struct metrics_server *m);
const struct metrics_server_counters *metrics_server_counters(const struct metrics_server *m);
/* Close the listener and every connection. NULL is fine. */
void metrics_server_free(struct metrics_server *m);

#endif
