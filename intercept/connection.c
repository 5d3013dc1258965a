/*
 * connection.c — one copy daemon's connection: the HELLO exchange, its
 * frames decoded as they arrive (TLS or not, doppel's dialect or
 * TCPCopy's), its routes, its heartbeat (its output: connection_output.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "intercept/server_internal.h"
#include "lib/wire/tcpcopy1.h"

/* Reads per readable event, so one busy peer cannot starve the others. */
#define READS_PER_EVENT 16

static void emit_summaries(void *ctx, const uint8_t *frame, size_t len, uint16_t count)
{
	connection_emit(ctx, frame, len, count);
}

void connection_update_gauges(struct server *s)
{
	s->stats->values[ISTAT_CONNECTIONS_ACTIVE] = s->connection_count;
	s->stats->values[ISTAT_ROUTES_ACTIVE] = s->router.count;
}

void connection_close(struct connection *c, enum log_level level, const char *reason)
{
	struct server *s = c->server;
	size_t routes = router_del_owner(&s->router, &c->routes);

	server_say(s, level, "copy %s: closed: %s (%zu routes removed, %llu summaries dropped)",
		   c->peer, reason, routes, (unsigned long long)c->summaries_dropped);
	istat_add(s->stats, ISTAT_ROUTES_DELETED, routes);
	if (c->failed)
		s->failed_count--;
	loop_del_fd(s->loop, c->fd);
	wire_conn_free(&c->io);
	close(c->fd);
	batch_free(&c->batch);
	wire_decoder_free(&c->decoder);
	wire_output_free(&c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->connections = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->connection_count--;
	connection_update_gauges(s);
	free(c);
}

void connection_fail(struct connection *c, uint16_t code, const char *reason)
{
	uint8_t frame[WIRE_HEADER_LEN + WIRE_ERROR_MIN_LEN + WIRE_ERROR_MAX_MSG];
	size_t len = wire_encode_error(frame, sizeof(frame), code, reason);

	/* One non-blocking attempt (docs/protocol.md section 11): what was
	 * queued before goes first, so the ERROR may not make it. A tcpcopy
	 * has no ERROR in its dialect: it is only closed. */
	if (len && !c->failed && !c->tcpcopy && c->io.handshake_done &&
	    connection_queue_control(c, frame, len) && !c->waiting_writable)
		connection_write(c);
	connection_close(c, code == WIRE_ERR_SHUTDOWN ? LOG_LEVEL_INFO : LOG_LEVEL_WARNING,
			 reason);
}

/* false: c was closed. */
static bool handle_hello(struct connection *c, const struct wire_frame *f)
{
	struct wire_hello hello;
	const char *why;

	if (wire_hello_parse(f, &hello, &why) < 0)
		return true;	/* the decoder validated it already */
	c->hello_received = true;
	c->prefix = (hello.features & WIRE_FEAT_PAYLOAD_PREFIX) &&
		    c->server->cfg.payload_prefix > 0;
	/* We always announce it: the peer's bit decides (an old copy daemon
	 * keeps the client address and port key). */
	c->four_tuple = (hello.features & WIRE_FEAT_ROUTE_4TUPLE) != 0;
	c->route_payload = (hello.features & WIRE_FEAT_ROUTE_PAYLOAD) &&
			   c->server->cfg.route_payload > 0;
	if (batch_init(&c->batch, &c->server->batches, hello.max_body, emit_summaries, c) < 0) {
		connection_fail(c, WIRE_ERR_INTERNAL, "out of memory for the summaries batch");
		return false;
	}
	server_say(c->server, LOG_LEVEL_INFO, "copy %s: hello (features 0x%x, max body %u)",
		   c->peer, (unsigned)hello.features, (unsigned)hello.max_body);
	return true;
}

void connection_add_route(struct connection *c, const struct wire_route *r)
{
	struct server *s = c->server;

	enum router_add_result added = c->four_tuple ?
		router_add_4tuple(&s->router, &c->routes, &r->client, r->client_port,
				  &r->target, r->target_port) :
		router_add(&s->router, &c->routes, &r->client, r->client_port,
			   &r->target, r->target_port);

	switch (added) {
	case ROUTER_ADDED:
		istat_inc(s->stats, ISTAT_ROUTES_ADDED);
		break;
	case ROUTER_UPDATED:
		break;
	case ROUTER_MOVED:
		istat_inc(s->stats, ISTAT_ROUTES_MOVED);
		break;
	case ROUTER_FULL:
		istat_inc(s->stats, ISTAT_ROUTES_REFUSED);
		if (!c->routes_refused_logged)
			server_say(s, LOG_LEVEL_WARNING, "copy %s: route table full (%zu routes): "
				   "routes refused", c->peer, s->router.count);
		c->routes_refused_logged = true;
		return;
	}
	/* A ROUTE_ADD of a route that exists sets its payload wanted again
	 * (docs/protocol.md section 7); without ROUTE_PAYLOAD it is 0. */
	router_set_payload_wanted(&s->router, &c->routes, &r->client, r->client_port,
				  c->four_tuple ? &r->target : NULL, r->target_port,
				  r->payload_wanted);
	/* The target's answers that beat this ROUTE_ADD here (its SYN-ACK,
	 * typically) go first, ahead of any that come after. */
	server_release_held(s, c, &r->client, r->client_port);
}

void connection_del_route(struct connection *c, const struct wire_route *r)
{
	struct server *s = c->server;

	if (c->four_tuple ?
	    router_del_4tuple(&s->router, &c->routes, &r->client, r->client_port,
			      &r->target, r->target_port) :
	    router_del(&s->router, &c->routes, &r->client, r->client_port))
		istat_inc(s->stats, ISTAT_ROUTES_DELETED);
	else
		istat_inc(s->stats, ISTAT_ROUTES_STALE_DELETES);
}

static void handle_routes(struct connection *c, const struct wire_frame *f)
{
	struct server *s = c->server;
	size_t n = wire_route_count(f);
	struct wire_route r;
	const char *why;

	for (size_t i = 0; i < n; i++) {
		if (wire_route_get(f, i, &r, &why) < 0)
			return;	/* validated by the decoder */
		if (f->type == WIRE_ROUTE_ADD)
			connection_add_route(c, &r);
		else
			connection_del_route(c, &r);
	}
	connection_update_gauges(s);
}

/* The peer's ERROR: log it and close. false: c is gone. */
static bool handle_error(struct connection *c, const struct wire_frame *f)
{
	uint16_t code = 0;
	const char *msg = "", *why;
	size_t msg_len = 0;
	char reason[WIRE_ERROR_MAX_MSG + 64];

	wire_error_parse(f, &code, &msg, &msg_len, &why);
	/* %.*s with the length: the message is not NUL-terminated. */
	snprintf(reason, sizeof(reason), "peer sent ERROR %u (%s): %.*s", code,
		 wire_error_name(code), (int)msg_len, msg);
	connection_close(c, code == WIRE_ERR_SHUTDOWN ? LOG_LEVEL_INFO : LOG_LEVEL_WARNING,
			 reason);
	return false;
}

/* Act on one frame. false: c was closed. */
static bool handle_frame(struct connection *c, const struct wire_frame *f)
{
	switch (f->type) {
	case WIRE_HELLO:
		return handle_hello(c, f);
	case WIRE_ROUTE_ADD:
	case WIRE_ROUTE_DEL:
		handle_routes(c, f);
		return true;
	case WIRE_ERROR:
		return handle_error(c, f);
	default:	/* HEARTBEAT: its arrival is all that counts */
		return true;
	}
}

/* Decode what arrived. false: c was closed. */
static bool decode(struct connection *c)
{
	struct wire_frame f;
	int r;

	while ((r = wire_decoder_next(&c->decoder, &f)) == 1)
		if (!handle_frame(c, &f))
			return false;
	if (r == 0)
		return true;
	char reason[200];
	snprintf(reason, sizeof(reason), "malformed frame: %s", c->decoder.error);
	istat_inc(c->server->stats, ISTAT_CONNECTIONS_CLOSED_MALFORMED);
	connection_fail(c, c->decoder.error_code ? c->decoder.error_code : WIRE_ERR_MALFORMED,
			reason);
	return false;
}

static bool send_hello(struct connection *c);

/* A stock tcpcopy speaks first and only understands its own dialect, so
 * our HELLO waits for the peer's first 8 bytes (docs/protocol.md section
 * 15): a doppel copy daemon's HELLO, or a tcpcopy's version message.
 * 1 when chosen, 0 when fewer than 8 bytes came, -1 when c was closed. */
static int choose_dialect(struct connection *c)
{
	const uint8_t *bytes = c->decoder.buf + c->decoder.start;
	size_t len = wire_decoder_pending(&c->decoder);
	int tcpcopy;

	/* A TLS ClientHello on a plain-text port (docs/protocol.md section
	 * 2.1): no frame header starts with 0x16. */
	if (!c->server->cfg.tls && len >= 1 && bytes[0] == WIRE_TLS_RECORD_HANDSHAKE) {
		istat_inc(c->server->stats, ISTAT_TLS_HANDSHAKE_FAILURES);
		connection_close(c, LOG_LEVEL_WARNING,
				 "TLS ClientHello on a plain-text port: refused (give doppel-intercept "
				 "the same --tls-* options as the copy daemon, or none to either)");
		return -1;
	}
	tcpcopy = tc1_detect(bytes, len, NULL);
	if (tcpcopy < 0)
		return 0;
	c->dialect_known = true;
	if (tcpcopy) {
		c->tcpcopy = true;
		return tcpcopy_conn_start(c, bytes, len) ? 1 : -1;
	}
	return send_hello(c) ? 1 : -1;
}

/* A TCPCopy peer: its bytes go to connection_tcpcopy.c, read here. */
static bool read_tcpcopy(struct connection *c)
{
	uint8_t buf[4096];

	for (int i = 0; i < READS_PER_EVENT; i++) {
		ssize_t n = wire_conn_read(&c->io, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0) {
			char reason[200];

			if (n < 0)
				snprintf(reason, sizeof(reason), "read failed: %s",
					 wire_conn_strerror(&c->io, errno));
			else
				snprintf(reason, sizeof(reason), "tcpcopy closed the connection%s",
					 c->tc1_in_len ? " in the middle of a message" : "");
			connection_close(c, n < 0 || c->tc1_in_len ? LOG_LEVEL_WARNING :
					 LOG_LEVEL_INFO, reason);
			return false;
		}
		c->last_received_ms = loop_now_ms(c->server->loop);
		if (!tcpcopy_conn_input(c, buf, (size_t)n))
			return false;
	}
	return true;
}

/* A handshake that failed or a peer that does not speak TLS: closed,
 * counted. */
static void tls_refuse(struct connection *c, const char *reason)
{
	istat_inc(c->server->stats, ISTAT_TLS_HANDSHAKE_FAILURES);
	connection_close(c, LOG_LEVEL_WARNING, reason);
}

/* With TLS: check the first byte, then drive the handshake. 1 done (go on
 * reading), 0 not yet, -1 c was closed. */
static int tls_progress(struct connection *c)
{
	char err[200];
	int r;

	if (!c->tls_checked) {
		uint8_t first;
		ssize_t n = recv(c->fd, &first, 1, MSG_PEEK | MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return 0;
		if (n <= 0) {
			snprintf(err, sizeof(err), "closed before the TLS handshake%s%s",
				 n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
			tls_refuse(c, err);
			return -1;
		}
		if (first != WIRE_TLS_RECORD_HANDSHAKE) {
			snprintf(err, sizeof(err), "plain-text peer on a TLS port: refused (first "
				 "byte 0x%02x; give the copy daemon the same --tls-* options)",
				 first);
			tls_refuse(c, err);
			return -1;
		}
		if (wire_conn_tls(&c->io, c->server->cfg.tls, c->fd, NULL, err, sizeof(err)) < 0) {
			tls_refuse(c, err);
			return -1;
		}
		c->tls_checked = true;
	}
	r = wire_conn_handshake(&c->io);
	if (r < 0) {
		tls_refuse(c, c->io.error);
		return -1;
	}
	connection_update_interest(c);
	if (r == 0)
		return 0;
	server_say(c->server, LOG_LEVEL_INFO, "copy %s: TLS established (%s)", c->peer,
		   wire_tls_mode(c->server->cfg.tls));
	return 1;
}

/* false: c was closed. */
static bool read_some(struct connection *c)
{
	if (!c->io.handshake_done) {
		int r = tls_progress(c);

		if (r <= 0)
			return r == 0;
	}
	if (c->tcpcopy)
		return read_tcpcopy(c);
	/* Bytes TLS decrypted already are not seen by epoll: read them all. */
	for (int i = 0; i < READS_PER_EVENT || wire_conn_pending(&c->io); i++) {
		size_t avail;
		uint8_t *space = wire_decoder_space(&c->decoder, &avail);
		if (!space)
			return decode(c);
		ssize_t n = wire_conn_read(&c->io, space, avail);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			connection_update_interest(c);	/* TLS may wait to write */
			return true;
		}
		if (n < 0) {
			char reason[200];
			snprintf(reason, sizeof(reason), "read failed: %s",
				 wire_conn_strerror(&c->io, errno));
			connection_close(c, LOG_LEVEL_WARNING, reason);
			return false;
		}
		if (n == 0) {
			char reason[128];
			size_t left = wire_decoder_pending(&c->decoder);
			if (left)
				snprintf(reason, sizeof(reason),
					 "peer closed in the middle of a frame (%zu bytes left over)", left);
			else
				snprintf(reason, sizeof(reason), "peer closed the connection");
			connection_close(c, left ? LOG_LEVEL_WARNING : LOG_LEVEL_INFO, reason);
			return false;
		}
		c->last_received_ms = loop_now_ms(c->server->loop);
		wire_decoder_commit(&c->decoder, (size_t)n);
		if (!c->dialect_known) {
			int dialect = choose_dialect(c);

			if (dialect < 0)
				return false;
			if (dialect == 0)
				continue;	/* fewer than 8 bytes yet */
			if (c->tcpcopy)
				return read_tcpcopy(c);
		}
		if (!decode(c))
			return false;
	}
	return true;
}

static void on_connection_event(struct loop *l, int fd, unsigned events, void *arg)
{
	struct connection *c = arg;

	if ((events & LOOP_WRITE) && !connection_write_or_close(c))
		return;
	/* A TLS session may wait for the socket to be writable to go on
	 * reading (or with its handshake). */
	if ((events & (LOOP_READ | LOOP_ERROR)) || (c->io.ssl && (events & LOOP_WRITE)))
		read_some(c);
}

/* What our HELLO announces; the decoder checks routes against it. */
static uint32_t own_features(const struct server *s)
{
	return WIRE_FEAT_IPV6 | WIRE_FEAT_ROUTE_4TUPLE |
	       (s->cfg.payload_prefix ? WIRE_FEAT_PAYLOAD_PREFIX : 0) |
	       (s->cfg.route_payload ? WIRE_FEAT_ROUTE_PAYLOAD : 0);
}

static bool send_hello(struct connection *c)
{
	struct wire_hello hello = {
		.version = WIRE_VERSION,
		.role = WIRE_ROLE_INTERCEPT,
		.features = own_features(c->server),
		.max_body = WIRE_MAX_BODY,
	};
	uint8_t frame[WIRE_HEADER_LEN + WIRE_HELLO_LEN];
	size_t len = wire_encode_hello(frame, sizeof(frame), &hello);

	return len && connection_send_control(c, frame, len);
}

struct connection *connection_open(struct server *s, int fd, const char *peer,
				   char *err, size_t errlen)
{
	struct connection *c = calloc(1, sizeof(*c));

	if (!c || wire_decoder_init(&c->decoder) < 0) {
		snprintf(err, errlen, "out of memory");
		free(c);
		close(fd);
		return NULL;
	}
	c->server = s;
	c->fd = fd;
	wire_conn_plain(&c->io, fd);
	/* With TLS, the first byte is checked and the handshake done before
	 * anything else (tls_progress). */
	c->io.handshake_done = s->cfg.tls == NULL;
	c->interest = LOOP_READ;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	c->decoder.peer_role = WIRE_ROLE_COPY;
	c->decoder.features = own_features(s);
	c->last_received_ms = loop_now_ms(s->loop);
	c->opened_ms = c->last_received_ms;
	wire_output_init(&c->out, c->last_received_ms);
	if (loop_add_fd(s->loop, fd, LOOP_READ, on_connection_event, c) < 0) {
		snprintf(err, errlen, "cannot watch the socket: %s", strerror(errno));
		wire_decoder_free(&c->decoder);
		free(c);
		close(fd);
		return NULL;
	}
	c->next = s->connections;
	if (c->next)
		c->next->prev = c;
	s->connections = c;
	s->connection_count++;
	connection_update_gauges(s);
	/* Our HELLO goes once the peer's first bytes say which dialect it
	 * speaks (choose_dialect). */
	return c;
}

bool connection_tick(struct connection *c, uint64_t now_ms)
{
	const struct server_config *cfg = &c->server->cfg;
	uint64_t dead_ms = cfg->peer_dead_ms ? cfg->peer_dead_ms : WIRE_PEER_DEAD_MS;
	uint64_t idle_ms = cfg->heartbeat_idle_ms ? cfg->heartbeat_idle_ms : WIRE_HEARTBEAT_IDLE_MS;

	/* TCPCopy's dialect has no heartbeat: an idle tcpcopy is silent, and
	 * only TCP (keep-alive, set when it was recognised) says it is gone. */
	if (c->tcpcopy)
		return true;
	if (!c->io.handshake_done) {
		uint64_t limit = cfg->tls_handshake_ms ? cfg->tls_handshake_ms : WIRE_TLS_HANDSHAKE_MS;

		if (now_ms - c->opened_ms >= limit) {
			char reason[96];

			snprintf(reason, sizeof(reason), "TLS handshake not done within %llu ms",
				 (unsigned long long)limit);
			tls_refuse(c, reason);
			return false;
		}
		return true;
	}
	if (now_ms - c->last_received_ms >= dead_ms) {
		char reason[96];
		snprintf(reason, sizeof(reason), "nothing received for %llu ms",
			 (unsigned long long)(now_ms - c->last_received_ms));
		istat_inc(c->server->stats, ISTAT_CONNECTIONS_CLOSED_TIMEOUT);
		connection_fail(c, WIRE_ERR_TIMEOUT, reason);
		return false;
	}
	/* Nothing but HELLO goes before our HELLO. */
	if (c->dialect_known && wire_output_idle(&c->out, now_ms, idle_ms)) {
		uint8_t frame[WIRE_HEADER_LEN + WIRE_HEARTBEAT_LEN];
		size_t len = wire_encode_heartbeat(frame, sizeof(frame), now_ms);
		if (len && !connection_send_control(c, frame, len))
			return false;
	}
	return true;
}

void connection_close_failed(struct server *s)
{
	struct connection *c = s->connections, *next;

	for (; c && s->failed_count > 0; c = next) {
		next = c->next;
		if (c->failed)
			connection_close(c, LOG_LEVEL_WARNING, c->failed_reason);
	}
}
