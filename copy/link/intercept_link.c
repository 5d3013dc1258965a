/*
 * intercept_link.c — the connections to the intercepts: connecting, the
 * HELLO exchange, liveness, back-off and the route queue. Reading and
 * decoding what the intercept sends is intercept_link_input.c; the output
 * buffer is intercept_link_output.c.
 */
#include "copy/link/intercept_link.h"

#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "copy/link/intercept_link_private.h"
#include "lib/wire/wire.h"

/* What our HELLO announces: IPv6, payload prefixes, routes keyed by the
 * 4-tuple, and payload per route for the sessions whose protocol module
 * reads the target's answers. */
#define LINK_FEATURES (WIRE_FEAT_IPV6 | WIRE_FEAT_PAYLOAD_PREFIX | WIRE_FEAT_ROUTE_4TUPLE | \
		       WIRE_FEAT_ROUTE_PAYLOAD)

void intercept_link_config_defaults(struct intercept_link_config *c)
{
	c->heartbeat_idle_ms = WIRE_HEARTBEAT_IDLE_MS;
	c->peer_dead_ms = WIRE_PEER_DEAD_MS;
	c->backoff_initial_ms = 250;
	c->backoff_max_ms = 30000;
	c->max_output_bytes = (size_t)8 << 20;
	c->max_pending_routes = 1000000;
	c->conns = 1;
	c->outage_grace_ms = WIRE_PEER_DEAD_MS;
	c->tls_handshake_ms = WIRE_TLS_HANDSHAKE_MS;
}

uint64_t intercept_link_backoff_ms(const struct intercept_link_config *c, unsigned failures)
{
	uint64_t delay = c->backoff_initial_ms ? c->backoff_initial_ms : 1;

	for (unsigned i = 0; i < failures && delay < c->backoff_max_ms; i++)
		delay *= 2;
	return delay < c->backoff_max_ms ? delay : c->backoff_max_ms;
}

static void link_retry(struct loop *l, uint64_t timer_id, void *arg);
static void link_fd_event(struct loop *l, int fd, unsigned events, void *arg);

/* Forget the connection and schedule the next attempt. The handler is told
 * last, once the link is consistent: it may queue routes on other links. */
static void link_close_now(struct link *link, const char *reason);

void link_close(struct link *link, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	/* Inside the engine its owner must not hear of it (it would end
	 * sessions from within the engine): the next flush closes it. */
	if (link->owner->in_engine) {
		if (!link->close_pending) {
			link->close_pending = true;
			memcpy(link->close_reason, reason, sizeof(reason));
		}
		return;
	}
	link_close_now(link, reason);
}

static void link_close_now(struct link *link, const char *reason)
{
	struct intercept_links *links = link->owner;
	bool was_ready = link->state == LINK_READY;

	link->close_pending = false;
	if (link->fd >= 0) {
		loop_del_fd(links->loop, link->fd);
		wire_conn_free(&link->io);
		close(link->fd);
		link->fd = -1;
	}
	wire_decoder_free(&link->decoder);
	wire_output_reset(&link->out, 0);
	link->tc1_len = 0;
	link->pending_count = 0;
	link->queue_failed = false;
	link->want_write = false;
	link->output_waits = false;
	link->state = LINK_WAITING;
	if (was_ready) {
		links->counters.lost++;
		link->lost_ms = loop_now_ms(links->loop);
	}
	link->retry_delay_ms = intercept_link_backoff_ms(&links->cfg, link->failures);
	if (link->failures < 64)
		link->failures++;
	link->retry_timer = loop_timer_add(links->loop, link->retry_delay_ms, link_retry, link);
	if (links->handlers.event)
		links->handlers.event(links->handlers.ctx, link->index, link->name, LINK_EVENT_DOWN,
				      was_ready, reason);
}

static socklen_t endpoint_sockaddr(const struct link *link, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (link->addr.family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(link->port);
		memcpy(&sin6->sin6_addr, &link->addr.v6, 16);
		return sizeof(*sin6);
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	sin->sin_family = AF_INET;
	sin->sin_port = htons(link->port);
	sin->sin_addr = link->addr.v4;
	return sizeof(*sin);
}

static void link_tls_progress(struct link *link);

/* The TCP connection is up: with TLS, the handshake first (the link stays
 * CONNECTING until it is done); then send our HELLO and wait for the
 * peer's. */
static void link_connected(struct link *link)
{
	struct intercept_links *links = link->owner;
	struct wire_hello hello = {
		.version = WIRE_VERSION,
		.role = WIRE_ROLE_COPY,
		.features = LINK_FEATURES,
		.max_body = WIRE_MAX_BODY,
	};
	uint8_t frame[WIRE_HEADER_LEN + WIRE_HELLO_LEN];
	size_t len = wire_encode_hello(frame, sizeof(frame), &hello);

	if (links->cfg.tls && !link->io.ssl) {
		char addr[INET6_ADDRSTRLEN], err[200];

		dp_addr_str(&link->addr, addr, sizeof(addr));
		if (wire_conn_tls(&link->io, links->cfg.tls, link->fd, addr, err, sizeof(err)) < 0) {
			links->counters.tls_handshake_failures++;
			link_close(link, "%s", err);
			return;
		}
		link->state_since_ms = loop_now_ms(links->loop);
		link_tls_progress(link);
		return;
	}
	if (links->cfg.tcpcopy1) {
		tc1_link_connected(link);
		return;
	}
	if (wire_decoder_init(&link->decoder) < 0) {
		link_close(link, "out of memory for the decoder");
		return;
	}
	link->decoder.peer_role = WIRE_ROLE_INTERCEPT;
	link->decoder.features = LINK_FEATURES;
	link->state = LINK_HELLO;
	link->state_since_ms = loop_now_ms(links->loop);
	link->last_received_ms = link->state_since_ms;
	wire_output_reset(&link->out, link->state_since_ms);
	link->want_write = false;
	link->output_waits = false;
	if (loop_mod_fd(links->loop, link->fd, LOOP_READ) < 0) {
		link_close(link, "epoll: %s", strerror(errno));
		return;
	}
	if (link_output_append(link, frame, len) == 0)
		link_output_write(link);
}

static void link_connect(struct link *link)
{
	struct intercept_links *links = link->owner;
	struct sockaddr_storage ss;
	socklen_t sslen = endpoint_sockaddr(link, &ss);
	int one = 1;

	links->counters.attempts++;
	link->state = LINK_CONNECTING;
	link->state_since_ms = loop_now_ms(links->loop);
	link->fd = socket(link->addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (link->fd < 0) {
		link_close(link, "socket: %s", strerror(errno));
		return;
	}
	wire_conn_plain(&link->io, link->fd);
	/* Summaries drive the replay: no Nagle delay on our side either. */
	setsockopt(link->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (loop_add_fd(links->loop, link->fd, LOOP_WRITE, link_fd_event, link) < 0) {
		int saved = errno;

		close(link->fd);
		link->fd = -1;
		link_close(link, "epoll: %s", strerror(saved));
		return;
	}
	if (connect(link->fd, (struct sockaddr *)&ss, sslen) == 0) {
		link_connected(link);
		return;
	}
	if (errno != EINPROGRESS)
		link_close(link, "connect: %s", strerror(errno));
}

static void link_retry(struct loop *l, uint64_t timer_id, void *arg)
{
	struct link *link = arg;

	link->retry_timer = 0;
	link_connect(link);
}

static void link_connect_done(struct link *link)
{
	int error = 0;
	socklen_t len = sizeof(error);

	if (getsockopt(link->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
		error = errno;
	if (error) {
		link_close(link, "connect: %s", strerror(error));
		return;
	}
	link_connected(link);
}

/* Drive the TLS handshake; when done, the link goes on as connected. */
static void link_tls_progress(struct link *link)
{
	struct intercept_links *links = link->owner;
	int r = wire_conn_handshake(&link->io);

	if (r < 0) {
		links->counters.tls_handshake_failures++;
		link_close(link, "%s", link->io.error);
		return;
	}
	if (r == 0) {
		if (loop_mod_fd(links->loop, link->fd, link->io.want_write ? LOOP_WRITE : LOOP_READ) < 0)
			link_close(link, "epoll: %s", strerror(errno));
		return;
	}
	link_connected(link);
}

static void link_fd_event(struct loop *l, int fd, unsigned events, void *arg)
{
	struct link *link = arg;

	if (link->state == LINK_CONNECTING) {
		if (link->io.ssl)
			link_tls_progress(link);
		else
			link_connect_done(link);
		return;
	}
	/* A TLS session may wait for the socket to be writable to go on
	 * reading. */
	if ((events & (LOOP_READ | LOOP_ERROR)) || (link->io.ssl && (events & LOOP_WRITE))) {
		if (link->owner->cfg.tcpcopy1)
			tc1_link_input(link);
		else
			link_input(link);
	}
	if (link->fd == fd && (events & LOOP_WRITE))
		link_output_write(link);
}

/* The peer's HELLO arrived and was valid (the decoder checked magic,
 * version and role). */
void link_hello_received(struct link *link, const struct wire_hello *hello)
{
	struct intercept_links *links = link->owner;

	link->peer_max_body = hello->max_body < WIRE_MAX_BODY ? hello->max_body : WIRE_MAX_BODY;
	link->peer_features = hello->features;
	link->state = LINK_READY;
	link->expired = false;
	link->failures = 0;
	links->counters.established++;
	if (link->ever_ready)
		links->counters.reconnects++;
	link->ever_ready = true;
	/* The intercept forgot this connection's routes when it lost it (or
	 * never had them): register the live ones it serves before anything
	 * else goes out. */
	link_restore_routes(link);
	if (link->state == LINK_READY && link_output_routes(link) == 0)
		link_output_write(link);
	if (link->state == LINK_READY && links->handlers.event)
		links->handlers.event(links->handlers.ctx, link->index, link->name, LINK_EVENT_UP,
				      false, "hello exchanged");
}

/* A lost link whose grace ran out: its sessions are told to end. */
static void link_check_expired(struct link *link, uint64_t now)
{
	struct intercept_links *links = link->owner;

	if (!link->ever_ready || link->expired || link->state == LINK_READY ||
	    now - link->lost_ms < links->cfg.outage_grace_ms)
		return;
	link->expired = true;
	if (links->handlers.event)
		links->handlers.event(links->handlers.ctx, link->index, link->name,
				      LINK_EVENT_EXPIRED, true, "not back in time");
}

/* Heartbeats and dead peers, for every link, every tick. */
static void link_check_liveness(struct link *link, uint64_t now)
{
	const struct intercept_link_config *cfg = &link->owner->cfg;

	link_check_expired(link, now);
	switch (link->state) {
	case LINK_WAITING:
		return;
	case LINK_CONNECTING:
		if (link->io.ssl && now - link->state_since_ms >= cfg->tls_handshake_ms) {
			link->owner->counters.tls_handshake_failures++;
			link_close(link, "TLS handshake not done within %u ms", cfg->tls_handshake_ms);
		} else if (!link->io.ssl && now - link->state_since_ms >= cfg->peer_dead_ms) {
			link_close(link, "connect: no answer within %u ms", cfg->peer_dead_ms);
		}
		return;
	case LINK_HELLO:
	case LINK_READY:
		break;
	}
	/* A stock TCPCopy intercept sends nothing while idle and knows no
	 * heartbeat: TCP keep-alive watches it. */
	if (cfg->tcpcopy1)
		return;
	if (now - link->last_received_ms >= cfg->peer_dead_ms) {
		link_send_error(link, WIRE_ERR_TIMEOUT, "nothing received in time");
		link_close(link, "nothing received for %u ms%s", cfg->peer_dead_ms,
			   link->state == LINK_HELLO ? " (no HELLO)" : "");
		return;
	}
	/* No frame but HELLO may go before the peer's HELLO. */
	if (link->state == LINK_READY && wire_output_idle(&link->out, now, cfg->heartbeat_idle_ms)) {
		uint8_t frame[WIRE_HEADER_LEN + WIRE_HEARTBEAT_LEN];
		size_t len = wire_encode_heartbeat(frame, sizeof(frame), now);

		if (link_output_append(link, frame, len) == 0) {
			link->owner->counters.heartbeats_sent++;
			link_output_write(link);
		}
	}
}

static uint64_t tick_period(const struct intercept_link_config *cfg)
{
	uint64_t shortest = cfg->heartbeat_idle_ms < cfg->peer_dead_ms ?
			    cfg->heartbeat_idle_ms : cfg->peer_dead_ms;

	return shortest / 4 ? shortest / 4 : 1;
}

static void links_tick(struct loop *l, uint64_t timer_id, void *arg)
{
	struct intercept_links *links = arg;
	uint64_t now = loop_now_ms(l);

	for (size_t i = 0; i < links->count; i++)
		link_check_liveness(&links->links[i], now);
	links->tick_timer = loop_timer_add(l, tick_period(&links->cfg), links_tick, links);
}

struct intercept_links *intercept_links_new(struct loop *l, const struct intercept_endpoint *ends,
					    size_t count, const struct intercept_link_config *cfg,
					    const struct intercept_links_handlers *handlers)
{
	struct intercept_links *links;
	unsigned conns = cfg->conns ? cfg->conns : 1;

	if (count == 0)
		return NULL;
	links = calloc(1, sizeof(*links) + count * conns * sizeof(struct link));
	if (!links)
		return NULL;
	links->groups = calloc(count, sizeof(*links->groups));
	if (!links->groups) {
		free(links);
		return NULL;
	}
	memcpy(links->groups, ends, count * sizeof(*ends));
	links->group_count = count;
	links->loop = l;
	links->cfg = *cfg;
	links->cfg.conns = conns;
	links->handlers = *handlers;
	links->count = count * conns;
	/* Seed 0: the spread of sessions over connections is the same on
	 * every run, which makes a run's logs comparable to the next. */
	route_set_init(&links->routes, 0);
	for (size_t i = 0; i < links->count; i++) {
		struct link *link = &links->links[i];
		char addr[INET6_ADDRSTRLEN], conn[16] = "";

		link->owner = links;
		link->index = i;
		link->group = i / conns;
		link->conn = i % conns;
		link->fd = -1;
		wire_conn_plain(&link->io, -1);
		link->addr = ends[link->group].addr;
		link->port = ends[link->group].port;
		dp_addr_str(&link->addr, addr, sizeof(addr));
		if (conns > 1)
			snprintf(conn, sizeof(conn), "#%zu", link->conn + 1);
		snprintf(link->name, sizeof(link->name),
			 link->addr.family == AF_INET6 ? "[%s]:%u%s" : "%s:%u%s", addr, link->port,
			 conn);
	}
	return links;
}

void intercept_links_start(struct intercept_links *links)
{
	for (size_t i = 0; i < links->count; i++)
		if (links->links[i].state == LINK_WAITING && !links->links[i].retry_timer)
			link_connect(&links->links[i]);
	if (!links->tick_timer)
		links->tick_timer = loop_timer_add(links->loop, tick_period(&links->cfg),
						   links_tick, links);
}

void intercept_links_flush(struct intercept_links *links)
{
	for (size_t i = 0; i < links->count; i++) {
		struct link *link = &links->links[i];

		if (link->close_pending) {
			char reason[sizeof(link->close_reason)];

			memcpy(reason, link->close_reason, sizeof(reason));
			link_close_now(link, reason);
		}
		if (link->state != LINK_READY)
			continue;
		if (link_output_routes(link) < 0)
			continue;
		if (wire_output_queued(&link->out) > 0)
			link_output_write(link);
	}
}

size_t intercept_links_count(const struct intercept_links *links)
{
	return links->count;
}

size_t intercept_links_ready(const struct intercept_links *links)
{
	size_t ready = 0;

	for (size_t i = 0; i < links->count; i++)
		ready += links->links[i].state == LINK_READY && !links->links[i].close_pending;
	return ready;
}

void intercept_links_status(const struct intercept_links *links, size_t index,
			    struct intercept_link_status *status)
{
	const struct link *link = &links->links[index];

	status->state = link->state;
	status->failures = link->failures;
	status->retry_delay_ms = link->retry_delay_ms;
	status->pending_routes = link->pending_count;
	status->output_bytes = wire_output_queued(&link->out);
}

void intercept_links_counters(const struct intercept_links *links,
			      struct intercept_link_counters *sum)
{
	*sum = links->counters;
}

void intercept_links_shutdown(struct intercept_links *links)
{
	for (size_t i = 0; i < links->count; i++) {
		struct link *link = &links->links[i];

		if (link->state == LINK_READY) {
			link_output_routes(link);
			if (link->state == LINK_READY)
				link_send_error(link, WIRE_ERR_SHUTDOWN, "doppel-copy is stopping");
		}
		if (link->fd >= 0) {
			loop_del_fd(links->loop, link->fd);
			wire_conn_free(&link->io);
			close(link->fd);
			link->fd = -1;
		}
		if (link->retry_timer)
			loop_timer_cancel(links->loop, link->retry_timer);
		link->retry_timer = 0;
		wire_decoder_free(&link->decoder);
		link->state = LINK_WAITING;
	}
	if (links->tick_timer)
		loop_timer_cancel(links->loop, links->tick_timer);
	links->tick_timer = 0;
}

void intercept_links_free(struct intercept_links *links)
{
	if (!links)
		return;
	intercept_links_shutdown(links);
	for (size_t i = 0; i < links->count; i++) {
		wire_output_free(&links->links[i].out);
		free(links->links[i].pending);
		free(links->links[i].pending_type);
		free(links->links[i].tc1_in);
	}
	route_set_free(&links->routes);
	free(links->groups);
	free(links);
}
