/*
 * server.c — the listener (-p, -b), the allowlist (-x), the periodic tick
 * for heartbeats and dead peers, and the routing of each response to the
 * connection that owns its session.
 */
#include "intercept/server_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SERVER_TICK_MS 1000
#define ACCEPTS_PER_EVENT 64

static void expire_held(struct server *s);

void server_say(struct server *s, enum log_level level, const char *fmt, ...)
{
	char line[1200];
	va_list ap;

	if (!s->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->cfg.log(s->cfg.log_ctx, level, line);
}

/* The peer's address, with an IPv4-mapped IPv6 address (from the
 * dual-stack listener) turned back into IPv4 so -x compares like with like. */
static void peer_address(const struct sockaddr_storage *ss, struct dp_addr *a, uint16_t *port)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		dp_addr_from_v4(a, sin->sin_addr.s_addr);
		*port = ntohs(sin->sin_port);
		return;
	}
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		uint32_t v4;
		memcpy(&v4, sin6->sin6_addr.s6_addr + 12, 4);
		dp_addr_from_v4(a, v4);
	} else {
		dp_addr_from_v6(a, sin6->sin6_addr.s6_addr);
	}
	*port = ntohs(sin6->sin6_port);
}

/* "what: strerror(errno)" into err; returns -1. */
static int fail_errno(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail_errno(char *err, size_t errlen, const char *fmt, ...)
{
	int saved = errno;
	char what[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: %s", what, strerror(saved));
	return -1;
}

static bool allowed(const struct server *s, const struct dp_addr *a)
{
	if (s->cfg.allow_count == 0)
		return true;
	for (size_t i = 0; i < s->cfg.allow_count; i++)
		if (dp_addr_equal(&s->cfg.allow[i], a))
			return true;
	return false;
}

/* Refuse with an ERROR (best effort) rather than a bare close, so the copy
 * daemon's log says why. */
static void refuse_full(int fd)
{
	uint8_t frame[256];
	size_t len = wire_encode_error(frame, sizeof(frame), WIRE_ERR_INTERNAL,
				       "intercept is at its connection limit");

	if (len && send(fd, frame, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* nothing more to do: the close says the rest */
	}
	close(fd);
}

static void accept_one(struct server *s, int fd, const struct sockaddr_storage *ss)
{
	struct dp_addr a;
	uint16_t port;
	char text[INET6_ADDRSTRLEN], peer[64], err[128];

	peer_address(ss, &a, &port);
	dp_addr_str(&a, text, sizeof(text));
	snprintf(peer, sizeof(peer), a.family == AF_INET6 ? "[%s]:%u" : "%s:%u", text, port);
	if (!allowed(s, &a)) {
		istat_inc(s->stats, ISTAT_CONNECTIONS_REFUSED);
		server_say(s, LOG_LEVEL_WARNING, "copy %s: refused: not in the allowlist (-x)", peer);
		close(fd);
		return;
	}
	if (s->connection_count >= SERVER_MAX_CONNECTIONS) {
		istat_inc(s->stats, ISTAT_CONNECTIONS_REFUSED);
		server_say(s, LOG_LEVEL_WARNING, "copy %s: refused: %d connections already",
			   peer, SERVER_MAX_CONNECTIONS);
		refuse_full(fd);
		return;
	}
	int one = 1;
	/* Summaries drive the copy side's TCP emulation: no Nagle delay. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	istat_inc(s->stats, ISTAT_CONNECTIONS_ACCEPTED);
	server_say(s, LOG_LEVEL_INFO, "copy %s: connected", peer);
	if (!connection_open(s, fd, peer, err, sizeof(err)))
		server_say(s, LOG_LEVEL_WARNING, "copy %s: dropped: %s", peer, err);
}

/* Out of descriptors or memory: the pending connection stays in the
 * backlog and the listener stays readable, so watching it would spin.
 * Stop until the next tick. */
static void pause_listener(struct server *s)
{
	server_say(s, LOG_LEVEL_WARNING, "accept: %s: not accepting for a second",
		   strerror(errno));
	loop_del_fd(s->loop, s->listen_fd);
	s->listen_paused = true;
}

static void on_listen_event(struct loop *l, int fd, unsigned events, void *arg);

static void resume_listener(struct server *s)
{
	if (!s->listen_paused)
		return;
	if (loop_add_fd(s->loop, s->listen_fd, LOOP_READ, on_listen_event, s) == 0)
		s->listen_paused = false;
}

static void on_listen_event(struct loop *l, int fd, unsigned events, void *arg)
{
	struct server *s = arg;

	for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int client = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (client < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				pause_listener(s);
			else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				 errno != ECONNABORTED)
				server_say(s, LOG_LEVEL_WARNING, "accept: %s", strerror(errno));
			return;
		}
		accept_one(s, client, &ss);
	}
}

static void on_tick(struct loop *l, uint64_t id, void *arg)
{
	struct server *s = arg;
	uint64_t now = loop_now_ms(l);
	struct connection *c = s->connections, *next;

	for (; c; c = next) {
		next = c->next;
		connection_tick(c, now);
	}
	resume_listener(s);
	if (s->cfg.hold_unrouted_ms)
		expire_held(s);	/* in case the hold timer could not be armed */
	s->tick_timer = loop_timer_add(l, SERVER_TICK_MS, on_tick, s);
}

static int listen_socket(const struct server_config *cfg, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int family = cfg->bind.family ? cfg->bind.family : AF_INET6;
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 && !cfg->bind.family && errno == EAFNOSUPPORT) {
		family = AF_INET;	/* no IPv6 on this host: IPv4 only */
		fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		return fail_errno(err, errlen, "socket");
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		/* Unbound: one socket for IPv6 and IPv4 (mapped) peers. */
		if (!cfg->bind.family)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(cfg->port);
		if (cfg->bind.family)
			memcpy(&sin6->sin6_addr, cfg->bind.bytes, 16);
		len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(cfg->port);
		if (cfg->bind.family)
			memcpy(&sin->sin_addr, cfg->bind.bytes, 4);
		len = sizeof(*sin);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return fail_errno(err, errlen, "listen on port %u", cfg->port);
	}
	return fd;
}

static uint16_t bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int hold_init(struct server *s, char *err, size_t errlen)
{
	struct holding_config hc = {
		.hold_ms = s->cfg.hold_unrouted_ms,
		.max_entries = s->cfg.hold_max_entries,
		.max_bytes = s->cfg.hold_max_bytes,
		/* The route table's secret seed, mixed so the two differ. */
		.seed = s->router.seed ^ 0x6a09e667f3bcc909ull,
	};

	if (holding_init(&s->holding, &hc) == 0)
		return 0;
	if (errno == EINVAL)
		snprintf(err, errlen, "holding unrouted responses: a limit is out of range");
	else
		fail_errno(err, errlen, "holding unrouted responses");
	return -1;
}

struct server *server_new(struct loop *l, const struct server_config *cfg,
			  struct intercept_stats *stats, char *err, size_t errlen)
{
	struct server *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->loop = l;
	s->cfg = *cfg;
	s->stats = stats;
	batch_set_init(&s->batches);
	if (router_init(&s->router) < 0) {
		snprintf(err, errlen, "out of memory for the route table");
		free(s);
		return NULL;
	}
	if (cfg->hold_unrouted_ms && hold_init(s, err, errlen) < 0)
		goto fail_router;
	s->listen_fd = listen_socket(cfg, err, errlen);
	if (s->listen_fd < 0)
		goto fail_holding;
	s->port = bound_port(s->listen_fd);
	if (loop_add_fd(l, s->listen_fd, LOOP_READ, on_listen_event, s) < 0) {
		fail_errno(err, errlen, "watch the listener");
		goto fail_listener;
	}
	s->tick_timer = loop_timer_add(l, SERVER_TICK_MS, on_tick, s);
	if (!s->tick_timer) {
		snprintf(err, errlen, "out of memory for a timer");
		goto fail_watch;
	}
	return s;
fail_watch:
	loop_del_fd(l, s->listen_fd);
fail_listener:
	close(s->listen_fd);
fail_holding:
	if (cfg->hold_unrouted_ms)
		holding_free(&s->holding);
fail_router:
	router_free(&s->router);
	free(s);
	return NULL;
}

void server_free(struct server *s)
{
	if (!s)
		return;
	server_flush(s);
	while (s->connections)
		connection_fail(s->connections, WIRE_ERR_SHUTDOWN, "intercept is stopping");
	loop_timer_cancel(s->loop, s->tick_timer);
	if (s->cfg.hold_unrouted_ms) {
		/* Still waiting at the end: dropped for lack of a route. */
		istat_add(s->stats, ISTAT_SUMMARIES_UNROUTED, holding_count(&s->holding));
		loop_timer_cancel(s->loop, s->hold_timer);
		holding_free(&s->holding);
	}
	if (!s->listen_paused)
		loop_del_fd(s->loop, s->listen_fd);
	close(s->listen_fd);
	router_free(&s->router);
	free(s);
}

uint16_t server_port(const struct server *s)
{
	return s->port;
}

size_t server_connection_count(const struct server *s)
{
	return s->connection_count;
}

size_t server_route_count(const struct server *s)
{
	return s->router.count;
}

void server_set_allow(struct server *s, const struct dp_addr *allow, size_t count)
{
	if (count > SERVER_MAX_ALLOW)
		count = SERVER_MAX_ALLOW;
	memcpy(s->cfg.allow, allow, count * sizeof(*allow));
	s->cfg.allow_count = count;
}

void server_each_peer(const struct server *s, server_peer_fn fn, void *ctx)
{
	for (const struct connection *c = s->connections; c; c = c->next) {
		struct server_peer peer = {
			c->peer, c->routes.count, wire_output_queued(&c->out), c->summaries_dropped,
		};

		if (c->hello_received)
			fn(ctx, &peer);
	}
}

static struct connection *connection_of(struct router_owner *owner)
{
	return (struct connection *)((char *)owner - offsetof(struct connection, routes));
}

/* Put one summary in c's batch: the headers, then the payload bytes c
 * asked for: the global prefix, or its route's payload wanted
 * (ROUTE_PAYLOAD), whichever is more. false: the batch refused it
 * (counted dropped). */
static bool route_summary(struct server *s, struct connection *c, const uint8_t *data,
			  size_t header_len, size_t payload_present, uint32_t payload_len,
			  uint16_t wanted)
{
	size_t len = header_len, want = c->prefix ? s->cfg.payload_prefix : 0;
	uint8_t flags = 0;

	if (c->route_payload && wanted > want)
		want = wanted == WIRE_PAYLOAD_ALL ? SIZE_MAX : wanted;
	if (want > 0 && payload_len > 0) {
		size_t prefix = payload_present < want ? payload_present : want;
		size_t room = batch_record_max(&c->batch) - header_len;

		/* A GRO/TSO packet's whole payload (--route-payload 65535)
		 * may not fit one record: cut to what does. */
		if (prefix > room)
			prefix = room;
		/* The source copied less than asked and less than the packet
		 * had (or the record could not hold it): the copy side sees
		 * it from the record's lengths. */
		if (prefix < want && prefix < payload_len)
			istat_inc(s->stats, ISTAT_PAYLOAD_SHORT);
		len += prefix;
		flags = WIRE_SUMMARY_PREFIX;
	}
	if (batch_add(&c->batch, flags, payload_len, data, len) < 0) {
		istat_inc(s->stats, ISTAT_SUMMARIES_DROPPED);
		return false;
	}
	istat_inc(s->stats, ISTAT_SUMMARIES_ROUTED);
	return true;
}

static void expire_held(struct server *s)
{
	size_t expired = holding_expire(&s->holding, loop_now_ms(s->loop));

	istat_add(s->stats, ISTAT_SUMMARIES_UNROUTED, expired);
}

static void on_hold_timer(struct loop *l, uint64_t id, void *arg);

/* A timer at the oldest held response's expiry, armed only while
 * something is held: routed summaries never wait for it. */
static void arm_hold_timer(struct server *s)
{
	uint64_t when, now = loop_now_ms(s->loop);

	if (s->hold_timer || !holding_next_expiry(&s->holding, &when))
		return;
	/* 0 (out of memory): the one-second tick expires them instead. */
	s->hold_timer = loop_timer_add(s->loop, when > now ? when - now : 0, on_hold_timer, s);
}

static void on_hold_timer(struct loop *l, uint64_t id, void *arg)
{
	struct server *s = arg;

	s->hold_timer = 0;
	expire_held(s);
	arm_hold_timer(s);
}

/* No route (yet): hold a copy, or count it unrouted at once. */
static void hold_unrouted(struct server *s, const struct packet *p)
{
	size_t evicted = 0;

	if (!s->cfg.hold_unrouted_ms) {
		istat_inc(s->stats, ISTAT_SUMMARIES_UNROUTED);
		return;
	}
	expire_held(s);
	if (holding_add(&s->holding, p, server_payload_copied(&s->cfg), loop_now_ms(s->loop),
			&evicted) < 0)
		istat_inc(s->stats, ISTAT_SUMMARIES_UNROUTED);
	else
		istat_inc(s->stats, ISTAT_SUMMARIES_HELD);
	/* Pushed out, oldest first, to make room: dropped for lack of a route. */
	istat_add(s->stats, ISTAT_SUMMARIES_UNROUTED, evicted);
	arm_hold_timer(s);
}

void server_deliver(struct server *s, const struct packet *p)
{
	istat_inc(s->stats, ISTAT_SUMMARIES_IN);
	uint16_t wanted = 0;
	struct router_owner *owner = router_lookup_wanted(&s->router, &p->dst, p->dport, &p->src,
							  p->sport, &wanted);
	if (!owner) {
		hold_unrouted(s, p);
		return;
	}
	route_summary(s, connection_of(owner), p->l3, p->ip_header_len + p->tcp_header_len,
		      p->payload_present, (uint32_t)p->payload_len, wanted);
}

struct release {
	struct server *server;
	struct connection *connection;
};

/* A held response goes to the connection whose ROUTE_ADD came only if the
 * route table now sends it there (the route's target checked as for any
 * response). */
static bool take_held(void *ctx, const struct held_summary *h)
{
	struct release *r = ctx;
	struct server *s = r->server;
	uint16_t wanted = 0;
	struct router_owner *owner = router_lookup_wanted(&s->router, &h->client, h->client_port,
							  &h->source, h->source_port, &wanted);

	if (owner != &r->connection->routes)
		return false;
	if (route_summary(s, r->connection, h->data, h->header_len, h->payload_present,
			  h->payload_len, wanted))
		istat_inc(s->stats, ISTAT_SUMMARIES_HELD_DELIVERED);
	return true;
}

void server_release_held(struct server *s, struct connection *c,
			 const struct dp_addr *client, uint16_t client_port)
{
	struct release r = { s, c };

	if (!s->cfg.hold_unrouted_ms || holding_count(&s->holding) == 0)
		return;
	/* Nothing older than --hold-unrouted is handed out, timer or not. */
	expire_held(s);
	holding_release(&s->holding, client, client_port, take_held, &r);
}

size_t server_held_count(const struct server *s)
{
	return s->cfg.hold_unrouted_ms ? holding_count(&s->holding) : 0;
}

void server_flush(struct server *s)
{
	batch_set_flush(&s->batches);
	if (s->failed_count)
		connection_close_failed(s);
}
