/*
 * metrics_http.c — see metrics_http.h. A connection goes: reading the
 * request head, then writing the whole response, then closed. The text is
 * rendered once per request, in the loop's thread, from counters the
 * daemon already keeps, so a scrape costs a few microseconds of the loop
 * and never waits on the network: a slow or silent client only holds one
 * of the few slots until its timeout.
 */
#include "lib/runtime/metrics_http.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/runtime/options.h"

struct metrics_conn {
	struct metrics_server *server;
	int fd;
	uint64_t timer;
	size_t in_len;
	char *out;		/* the response once the request is read */
	size_t out_len, out_off;
	char in[];		/* max_request */
};

struct metrics_server {
	struct loop *loop;
	struct metrics_server_config cfg;
	const char *prefix;
	metrics_render_fn render;
	void *ctx;
	int fd;
	uint16_t port;
	struct metrics_conn **conns;	/* max_connections slots */
	size_t open;
	struct metrics_server_counters counters;
};

void metrics_server_config_defaults(struct metrics_server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_connections = 8;
	cfg->max_request = 4096;
	cfg->max_response = 8u << 20;
	cfg->timeout_ms = 5000;
}

int metrics_parse_address(const char *s, struct metrics_server_config *cfg, char *err,
			  size_t errlen)
{
	if (s[0] == ':') {
		memset(&cfg->addr, 0, sizeof(cfg->addr));
		return opt_parse_port(s + 1, &cfg->port, err, errlen);
	}
	return opt_parse_host_port(s, 0, &cfg->addr, &cfg->port, err, errlen);
}

static void conn_close(struct metrics_conn *c)
{
	struct metrics_server *m = c->server;

	loop_del_fd(m->loop, c->fd);
	close(c->fd);
	loop_timer_cancel(m->loop, c->timer);
	for (size_t i = 0; i < m->cfg.max_connections; i++)
		if (m->conns[i] == c)
			m->conns[i] = NULL;
	m->open--;
	free(c->out);
	free(c);
}

static void on_timeout(struct loop *l, uint64_t id, void *arg)
{
	struct metrics_conn *c = arg;

	(void)l;
	(void)id;
	c->timer = 0;
	c->server->counters.timeouts++;
	conn_close(c);
}

/* Write what the socket takes; close once all is out (or on an error). */
static void conn_write(struct metrics_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	shutdown(c->fd, SHUT_WR);
	conn_close(c);
}

/* The response: status line, headers, and body (not for HEAD). */
static void respond(struct metrics_conn *c, const char *status, const char *type,
		    const char *extra_header, const char *body, size_t body_len, bool head)
{
	char header[512];
	int n = snprintf(header, sizeof(header),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
			 "Connection: close\r\n\r\n",
			 status, type, body_len, extra_header ? extra_header : "");
	size_t len = (size_t)n + (head ? 0 : body_len);

	c->out = malloc(len);
	if (!c->out) {
		conn_close(c);
		return;
	}
	memcpy(c->out, header, (size_t)n);
	if (!head)
		memcpy(c->out + n, body, body_len);
	c->out_len = len;
	loop_mod_fd(c->server->loop, c->fd, LOOP_WRITE);
	conn_write(c);
}

static void respond_text(struct metrics_conn *c, const char *status, const char *extra_header,
			 const char *text, bool head)
{
	c->server->counters.bad_requests++;
	respond(c, status, "text/plain; charset=utf-8", extra_header, text, strlen(text), head);
}

/* The request line "METHOD SP TARGET SP HTTP/1.x" (RFC 9112 section 3):
 * three tokens, one space apart. */
static enum metrics_request parse_request_line(const char *line, size_t len, bool *head)
{
	const char *sp1 = memchr(line, ' ', len), *sp2, *target, *version;
	size_t method_len, target_len, version_len;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (!sp1 || !(sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - line))))
		return METRICS_REQUEST_BAD;
	method_len = (size_t)(sp1 - line);
	target = sp1 + 1;
	target_len = (size_t)(sp2 - target);
	version = sp2 + 1;
	version_len = len - (size_t)(version - line);
	if (method_len == 0 || target_len == 0 || version_len != 8 ||
	    memcmp(version, "HTTP/1.", 7) != 0 || version[7] < '0' || version[7] > '9' ||
	    memchr(version, ' ', version_len))
		return METRICS_REQUEST_BAD;
	*head = method_len == 4 && memcmp(line, "HEAD", 4) == 0;
	if (!*head && !(method_len == 3 && memcmp(line, "GET", 3) == 0))
		return METRICS_REQUEST_METHOD;
	if ((target_len == 8 && memcmp(target, "/metrics", 8) == 0) ||
	    (target_len > 8 && memcmp(target, "/metrics?", 9) == 0))
		return METRICS_REQUEST_METRICS;
	return METRICS_REQUEST_NOT_FOUND;
}

enum metrics_request metrics_parse_request(const char *buf, size_t len, size_t max, bool *head)
{
	const char *eol;

	*head = false;
	if (memchr(buf, '\0', len))
		return METRICS_REQUEST_BAD;
	if (!memmem(buf, len, "\r\n\r\n", 4) && !memmem(buf, len, "\n\n", 2))
		return len >= max ? METRICS_REQUEST_TOO_LARGE : METRICS_REQUEST_INCOMPLETE;
	eol = memchr(buf, '\n', len);	/* there is one: the blank line's */
	return parse_request_line(buf, (size_t)(eol - buf), head);
}

/* A complete head: the answer. */
static void handle_request(struct metrics_conn *c, enum metrics_request request, bool head)
{
	struct metrics_server *m = c->server;
	struct metrics_text text;

	switch (request) {
	case METRICS_REQUEST_INCOMPLETE:
		return;
	case METRICS_REQUEST_TOO_LARGE:
		respond_text(c, "431 Request Header Fields Too Large", NULL, "request too large\n",
			     false);
		return;
	case METRICS_REQUEST_BAD:
		respond_text(c, "400 Bad Request", NULL, "not an HTTP/1.x request\n", false);
		return;
	case METRICS_REQUEST_METHOD:
		respond_text(c, "405 Method Not Allowed", "Allow: GET, HEAD\r\n",
			     "only GET and HEAD\n", false);
		return;
	case METRICS_REQUEST_NOT_FOUND:
		respond_text(c, "404 Not Found", NULL, "the metrics are at /metrics\n", head);
		return;
	case METRICS_REQUEST_METRICS:
		break;
	}
	metrics_text_init(&text, m->prefix, m->cfg.max_response);
	m->render(m->ctx, &text);
	if (text.failed || !text.buf) {
		metrics_text_free(&text);
		respond_text(c, "500 Internal Server Error", NULL,
			     "the metrics did not fit in memory or the response cap\n", head);
		return;
	}
	m->counters.scrapes++;
	respond(c, "200 OK", METRICS_CONTENT_TYPE, NULL, text.buf, text.len, head);
	metrics_text_free(&text);
}

static void conn_read(struct metrics_conn *c)
{
	size_t max = c->server->cfg.max_request;

	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->in_len, max - c->in_len, MSG_DONTWAIT);
		enum metrics_request request;
		bool head;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {	/* closed before a whole request, or an error */
			conn_close(c);
			return;
		}
		c->in_len += (size_t)n;
		request = metrics_parse_request(c->in, c->in_len, max, &head);
		if (request != METRICS_REQUEST_INCOMPLETE) {
			handle_request(c, request, head);
			return;
		}
	}
}

static void on_conn(struct loop *l, int fd, unsigned events, void *arg)
{
	struct metrics_conn *c = arg;

	(void)l;
	(void)fd;
	if (c->out) {
		if (events & (LOOP_WRITE | LOOP_ERROR))
			conn_write(c);
	} else if (events & (LOOP_READ | LOOP_ERROR)) {
		conn_read(c);
	}
}

static void accept_one(struct metrics_server *m, int fd)
{
	struct metrics_conn *c;
	size_t slot;

	for (slot = 0; slot < m->cfg.max_connections && m->conns[slot]; slot++)
		;
	if (slot == m->cfg.max_connections ||
	    !(c = calloc(1, sizeof(*c) + m->cfg.max_request))) {
		m->counters.refused_busy++;
		close(fd);
		return;
	}
	c->server = m;
	c->fd = fd;
	c->timer = loop_timer_add(m->loop, m->cfg.timeout_ms, on_timeout, c);
	if (!c->timer || loop_add_fd(m->loop, fd, LOOP_READ, on_conn, c) < 0) {
		loop_timer_cancel(m->loop, c->timer);
		free(c);
		close(fd);
		m->counters.refused_busy++;
		return;
	}
	m->conns[slot] = c;
	m->open++;
	m->counters.accepted++;
}

static void on_listen(struct loop *l, int fd, unsigned events, void *arg)
{
	struct metrics_server *m = arg;

	(void)l;
	(void)events;
	/* A bounded batch per wakeup, so a flood of connects cannot hold the
	 * loop; the rest wait in the backlog for the next iteration. */
	for (int i = 0; i < 64; i++) {
		int conn = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (conn < 0)
			return;	/* EAGAIN, or EMFILE and the like: try again later */
		accept_one(m, conn);
	}
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	int saved = errno;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	n = strlen(err);
	if (saved && n < errlen)
		snprintf(err + n, errlen - n, ": %s", strerror(saved));
	return -1;
}

static int listen_on(struct metrics_server *m, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int family = m->cfg.addr.family ? m->cfg.addr.family : AF_INET6, one = 1, zero = 0;
	char where[80];

	if (m->cfg.addr.family)
		dp_addr_str(&m->cfg.addr, where, sizeof(where));
	else
		snprintf(where, sizeof(where), "every address");
	m->fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->fd < 0)
		return fail(err, errlen, "metrics socket");
	setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		if (!m->cfg.addr.family)	/* IPv4 peers too, mapped */
			setsockopt(m->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(m->cfg.port);
		if (m->cfg.addr.family)
			sin6->sin6_addr = m->cfg.addr.v6;
		len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(m->cfg.port);
		sin->sin_addr = m->cfg.addr.v4;
		len = sizeof(*sin);
	}
	if (bind(m->fd, (struct sockaddr *)&ss, len) < 0 || listen(m->fd, 16) < 0)
		return fail(err, errlen, "metrics: listen on %s port %u", where, m->cfg.port);
	len = sizeof(ss);
	if (getsockname(m->fd, (struct sockaddr *)&ss, &len) < 0)
		return fail(err, errlen, "metrics: getsockname");
	m->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						 : ((struct sockaddr_in6 *)&ss)->sin6_port);
	if (loop_add_fd(m->loop, m->fd, LOOP_READ, on_listen, m) < 0)
		return fail(err, errlen, "metrics: watch the listener");
	return 0;
}

struct metrics_server *metrics_server_new(struct loop *l, const struct metrics_server_config *cfg,
					  const char *prefix, metrics_render_fn render, void *ctx,
					  char *err, size_t errlen)
{
	struct metrics_server *m = calloc(1, sizeof(*m));

	errno = 0;
	if (!m || cfg->max_connections == 0 || cfg->max_request < 16 || cfg->timeout_ms == 0 ||
	    !(m->conns = calloc(cfg->max_connections, sizeof(*m->conns)))) {
		if (!errno)
			errno = EINVAL;
		fail(err, errlen, "metrics");
		if (m)
			free(m->conns);
		free(m);
		return NULL;
	}
	m->loop = l;
	m->cfg = *cfg;
	m->prefix = prefix;
	m->render = render;
	m->ctx = ctx;
	if (listen_on(m, err, errlen) < 0) {
		if (m->fd >= 0)
			close(m->fd);
		free(m->conns);
		free(m);
		return NULL;
	}
	return m;
}

struct metrics_server *metrics_server_open(struct loop *l, const char *address, const char *prefix,
					   metrics_render_fn render, void *ctx, char *err,
					   size_t errlen)
{
	struct metrics_server_config cfg;
	char why[256];

	metrics_server_config_defaults(&cfg);
	if (metrics_parse_address(address, &cfg, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "--metrics '%s': %s", address, why);
		return NULL;
	}
	return metrics_server_new(l, &cfg, prefix, render, ctx, err, errlen);
}

uint16_t metrics_server_port(const struct metrics_server *m)
{
	return m->port;
}

const struct metrics_server_counters *metrics_server_counters(const struct metrics_server *m)
{
	return &m->counters;
}

void metrics_server_free(struct metrics_server *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cfg.max_connections; i++)
		if (m->conns[i])
			conn_close(m->conns[i]);
	loop_del_fd(m->loop, m->fd);
	close(m->fd);
	free(m->conns);
	free(m);
}
