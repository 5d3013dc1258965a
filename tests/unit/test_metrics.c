/*
 * test_metrics.c — the --metrics endpoint: the text exposition format from
 * a stats table (counters with _total, gauges, a labelled family, HELP and
 * label escaping, the size cap), ADDR:PORT parsing, and the HTTP server on
 * a real socket on 127.0.0.1 driven by the real event loop: GET and HEAD
 * /metrics, 404, 405, 400, a request too large, a silent client closed by
 * the timeout, and connections past the limit closed at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/runtime/metrics_http.h"
#include "lib/runtime/metrics_text.h"
#include "loop_fixture.h"

static const struct stat_def defs[] = {
	{ "packets", STAT_COUNTER, "packets seen", NULL, NULL, NULL },
	{ "ended_a", STAT_COUNTER, "ended, by reason", "ended", "reason", "a" },
	{ "active", STAT_GAUGE, "live now", NULL, NULL, NULL },
	{ "ended_b", STAT_COUNTER, "ended, by reason", "ended", "reason", "b" },
};
static uint64_t values[4];

static const char expected_stats[] =
	"# HELP t_packets_total packets seen\n"
	"# TYPE t_packets_total counter\n"
	"t_packets_total 7\n"
	"# HELP t_ended_total ended, by reason\n"
	"# TYPE t_ended_total counter\n"
	"t_ended_total{reason=\"a\"} 1\n"
	"t_ended_total{reason=\"b\"} 18446744073709551615\n"
	"# HELP t_active live now\n"
	"# TYPE t_active gauge\n"
	"t_active 3\n";

static void fill(struct stats *s)
{
	stats_init(s, defs, values, 4);
	values[0] = 7, values[1] = 1, values[2] = 3, values[3] = UINT64_MAX;
}

static void test_text_stats(void **state)
{
	struct stats s;
	struct metrics_text t;

	(void)state;
	fill(&s);
	metrics_text_init(&t, "t", 1 << 20);
	metrics_text_stats(&t, &s);
	assert_false(t.failed);
	assert_string_equal(t.buf, expected_stats);
	metrics_text_process(&t, &s);
	assert_non_null(strstr(t.buf, "# TYPE t_build_info gauge\nt_build_info{version=\""
				      DOPPEL_VERSION "\"} 1\n"));
	assert_non_null(strstr(t.buf, "# TYPE t_uptime_seconds gauge\nt_uptime_seconds 0\n"));
	metrics_text_free(&t);
}

static void test_text_escaping_and_cap(void **state)
{
	struct metrics_text t;
	const char *labels[4] = { "peer", "a\"b\\c\nd", "x", "" };

	(void)state;
	metrics_text_init(&t, "p", 1 << 20);
	metrics_text_family(&t, "m", STAT_GAUGE, "help with \\ and\nnewline \"quoted\"");
	metrics_text_sample(&t, "m", STAT_GAUGE, labels, 2, 5);
	assert_string_equal(t.buf, "# HELP p_m help with \\\\ and\\nnewline \"quoted\"\n"
				   "# TYPE p_m gauge\n"
				   "p_m{peer=\"a\\\"b\\\\c\\nd\",x=\"\"} 5\n");
	metrics_text_free(&t);

	/* Past the cap: marked failed, never a part taken for the whole. */
	metrics_text_init(&t, "p", 40);
	metrics_text_family(&t, "m", STAT_GAUGE, "a help text long enough to pass forty bytes");
	assert_true(t.failed);
	metrics_text_sample(&t, "m", STAT_GAUGE, NULL, 0, 1);
	assert_true(t.failed);
	metrics_text_free(&t);
}

/* Quantiles are the bound of the bucket that holds them; the text has
 * cumulative buckets in seconds, then _sum and _count. */
static void test_histogram(void **state)
{
	struct histogram h;
	struct metrics_text t;

	(void)state;
	memset(&h, 0, sizeof(h));
	assert_int_equal(histogram_quantile_us(&h, 0.99), 0);
	for (int i = 0; i < 98; i++)
		histogram_add(&h, 300);		/* bucket <= 500 */
	histogram_add(&h, 1000);		/* <= 1000, inclusive */
	histogram_add(&h, 5000);		/* <= 8000 */
	assert_int_equal(histogram_quantile_us(&h, 0.5), 500);
	assert_int_equal(histogram_quantile_us(&h, 0.98), 500);
	assert_int_equal(histogram_quantile_us(&h, 0.99), 1000);
	assert_int_equal(histogram_quantile_us(&h, 1.0), 8000);
	histogram_add(&h, 10000000);		/* past the last bound */
	assert_int_equal(histogram_quantile_us(&h, 1.0), UINT64_MAX);
	metrics_text_init(&t, "p", 1 << 20);
	metrics_text_histogram(&t, "d", "a delay", &h);
	assert_non_null(strstr(t.buf, "# HELP p_d_seconds a delay\n# TYPE p_d_seconds histogram\n"
				      "p_d_seconds_bucket{le=\"5e-05\"} 0\n"));
	assert_non_null(strstr(t.buf, "p_d_seconds_bucket{le=\"0.0005\"} 98\n"));
	assert_non_null(strstr(t.buf, "p_d_seconds_bucket{le=\"0.001\"} 99\n"));
	assert_non_null(strstr(t.buf, "p_d_seconds_bucket{le=\"0.128\"} 100\n"
				      "p_d_seconds_bucket{le=\"+Inf\"} 101\n"
				      "p_d_seconds_sum 10.035400\np_d_seconds_count 101\n"));
	metrics_text_free(&t);
}

static void test_parse_address(void **state)
{
	struct metrics_server_config c;
	char err[256], text[64];

	(void)state;
	metrics_server_config_defaults(&c);
	assert_int_equal(metrics_parse_address("127.0.0.1:9100", &c, err, sizeof(err)), 0);
	assert_int_equal(c.addr.family, AF_INET);
	assert_int_equal(c.port, 9100);
	assert_int_equal(metrics_parse_address("[2001:2::1]:9101", &c, err, sizeof(err)), 0);
	assert_int_equal(c.addr.family, AF_INET6);
	assert_string_equal(dp_addr_str(&c.addr, text, sizeof(text)), "2001:2::1");
	assert_int_equal(c.port, 9101);
	assert_int_equal(metrics_parse_address(":9102", &c, err, sizeof(err)), 0);
	assert_int_equal(c.addr.family, 0);
	assert_int_equal(c.port, 9102);
	assert_int_equal(metrics_parse_address("127.0.0.1", &c, err, sizeof(err)), -1);
	assert_int_equal(metrics_parse_address("127.0.0.1:0", &c, err, sizeof(err)), -1);
	assert_int_equal(metrics_parse_address("127.0.0.1:65536", &c, err, sizeof(err)), -1);
	assert_int_equal(metrics_parse_address("localhost:9100", &c, err, sizeof(err)), -1);
	assert_int_equal(metrics_parse_address(":", &c, err, sizeof(err)), -1);
}

static void test_parse_request(void **state)
{
	static const struct {
		const char *text;
		size_t len;	/* 0: strlen */
		enum metrics_request want;
		bool head;
	} cases[] = {
		{ "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 0, METRICS_REQUEST_METRICS, false },
		{ "HEAD /metrics?x HTTP/1.0\n\n", 0, METRICS_REQUEST_METRICS, true },
		{ "GET /metrics HTTP/1.1\r\nHost: a\r\n", 0, METRICS_REQUEST_INCOMPLETE, false },
		{ "GET /metricsx HTTP/1.1\r\n\r\n", 0, METRICS_REQUEST_NOT_FOUND, false },
		{ "HEAD / HTTP/1.1\r\n\r\n", 0, METRICS_REQUEST_NOT_FOUND, true },
		{ "PUT /metrics HTTP/1.1\r\n\r\n", 0, METRICS_REQUEST_METHOD, false },
		{ "GETX /metrics HTTP/1.1\r\n\r\n", 0, METRICS_REQUEST_METHOD, false },
		{ "GET /metrics HTTP/2.0\r\n\r\n", 0, METRICS_REQUEST_BAD, false },
		{ "GET /metrics HTTP/1.1 x\r\n\r\n", 0, METRICS_REQUEST_BAD, false },
		{ "GET  /metrics HTTP/1.1\r\n\r\n", 0, METRICS_REQUEST_BAD, false },
		{ "GET /metrics\r\n\r\n", 0, METRICS_REQUEST_BAD, false },
		{ "\r\n\r\n", 0, METRICS_REQUEST_BAD, false },
		{ "GET /metrics HTTP/1.1\r\n\0\r\n\r\n", 27, METRICS_REQUEST_BAD, false },
		{ "GET /metrics HTTP/1.1\r\nX: aaaaaaaa", 0, METRICS_REQUEST_TOO_LARGE, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
		bool head = !cases[i].head;

		/* max 34: only the last case, 34 bytes without an end, is too large */
		assert_int_equal(metrics_parse_request(cases[i].text, len, 34, &head), cases[i].want);
		if (cases[i].want >= METRICS_REQUEST_NOT_FOUND)
			assert_int_equal(head, cases[i].head);
	}
}

/* ---- the server on a real socket ---- */

static void render(void *ctx, struct metrics_text *out)
{
	metrics_text_stats(out, ctx);
}

struct client {
	int fd;
	char resp[8192];
	size_t len;
	int closed;
};

static void on_client(struct loop *l, int fd, unsigned events, void *arg)
{
	struct client *c = arg;
	ssize_t n;

	(void)events;
	while ((n = recv(fd, c->resp + c->len, sizeof(c->resp) - 1 - c->len, 0)) > 0)
		c->len += (size_t)n;
	c->resp[c->len] = '\0';
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		c->closed = 1;
		loop_del_fd(l, fd);
		loop_stop(l);
	}
}

static void client_open(struct client *c, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };

	memset(c, 0, sizeof(*c));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
}

/* Send request (may be NULL), then run the loop until the server closes. */
static void client_run(struct loop *l, struct client *c, const char *request, size_t len)
{
	if (request)
		assert_int_equal(send(c->fd, request, len, MSG_NOSIGNAL), (ssize_t)len);
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	assert_int_equal(loop_add_fd(l, c->fd, LOOP_READ, on_client, c), 0);
	while (!c->closed)
		assert_int_equal(loop_run(l), 0);
	close(c->fd);
}

static struct metrics_server *start(struct loop *l, struct stats *s, size_t max_conns,
				    uint64_t timeout_ms)
{
	struct metrics_server_config cfg;
	struct metrics_server *m;
	char err[256];

	metrics_server_config_defaults(&cfg);
	assert_int_equal(metrics_parse_address("127.0.0.1:1", &cfg, err, sizeof(err)), 0);
	cfg.port = 0;	/* any free port */
	cfg.max_connections = max_conns;
	cfg.timeout_ms = timeout_ms;
	cfg.max_request = 512;
	m = metrics_server_new(l, &cfg, "t", render, s, err, sizeof(err));
	if (!m)
		fail_msg("%s", err);
	assert_true(metrics_server_port(m) > 0);
	return m;
}

static void exchange(struct loop *l, struct metrics_server *m, const char *request,
		     struct client *c)
{
	client_open(c, metrics_server_port(m));
	client_run(l, c, request, strlen(request));
}

static void test_get_and_head(void **state)
{
	struct loop *l = *state;
	struct stats s;
	struct metrics_server *m;
	struct client c;
	char header[256];

	fill(&s);
	m = start(l, &s, 4, 10000);
	exchange(l, m, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", &c);
	snprintf(header, sizeof(header),
		 "HTTP/1.1 200 OK\r\nContent-Type: " METRICS_CONTENT_TYPE
		 "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", strlen(expected_stats));
	assert_memory_equal(c.resp, header, strlen(header));
	assert_string_equal(c.resp + strlen(header), expected_stats);

	/* Values are read at each scrape. */
	values[2] = 4;
	exchange(l, m, "GET /metrics?x=1 HTTP/1.0\n\n", &c);
	assert_non_null(strstr(c.resp, "\nt_active 4\n"));

	exchange(l, m, "HEAD /metrics HTTP/1.1\r\n\r\n", &c);
	assert_memory_equal(c.resp, header, strlen(header));
	assert_int_equal(c.len, strlen(header));	/* no body */
	assert_int_equal(metrics_server_counters(m)->scrapes, 3);
	metrics_server_free(m);
}

static void test_refusals(void **state)
{
	struct loop *l = *state;
	struct stats s;
	struct metrics_server *m;
	struct client c;
	char big[600];

	fill(&s);
	m = start(l, &s, 4, 10000);
	exchange(l, m, "GET /other HTTP/1.1\r\n\r\n", &c);
	assert_non_null(strstr(c.resp, "HTTP/1.1 404 Not Found\r\n"));
	exchange(l, m, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &c);
	assert_non_null(strstr(c.resp, "HTTP/1.1 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(c.resp, "\r\nAllow: GET, HEAD\r\n"));
	exchange(l, m, "SSH-2.0-OpenSSH\r\n\r\n", &c);
	assert_non_null(strstr(c.resp, "HTTP/1.1 400 Bad Request\r\n"));
	client_open(&c, metrics_server_port(m));
	client_run(l, &c, "GET /metrics HTTP/1.1\r\nX: a\0b\r\n\r\n", 31);
	assert_non_null(strstr(c.resp, "HTTP/1.1 400 Bad Request\r\n"));
	/* A head that never ends within max_request (512). */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
	exchange(l, m, big, &c);
	assert_non_null(strstr(c.resp, "HTTP/1.1 431 "));
	assert_int_equal(metrics_server_counters(m)->scrapes, 0);
	metrics_server_free(m);
}

/* A client that says nothing is closed by the timeout; while it holds the
 * only slot, another connection is closed at once without an answer; then
 * the slot is free again. */
static void test_timeout_and_limit(void **state)
{
	struct loop *l = *state;
	struct stats s;
	struct metrics_server *m;
	struct client silent, extra, later;

	fill(&s);
	m = start(l, &s, 1, 300);
	client_open(&silent, metrics_server_port(m));
	client_open(&extra, metrics_server_port(m));
	/* Both are accepted in one wakeup: the first takes the slot, the
	 * second is closed at once. */
	client_run(l, &extra, "GET /metrics HTTP/1.1\r\n\r\n", 25);
	assert_int_equal(extra.len, 0);
	assert_int_equal(metrics_server_counters(m)->refused_busy, 1);
	client_run(l, &silent, NULL, 0);
	assert_int_equal(silent.len, 0);
	assert_int_equal(metrics_server_counters(m)->timeouts, 1);
	exchange(l, m, "GET /metrics HTTP/1.1\r\n\r\n", &later);
	assert_non_null(strstr(later.resp, "HTTP/1.1 200 OK\r\n"));
	metrics_server_free(m);
}

/* The address in use: an error that names it. */
static void test_address_in_use(void **state)
{
	struct loop *l = *state;
	struct stats s;
	struct metrics_server *a, *b;
	struct metrics_server_config cfg;
	char err[256];

	fill(&s);
	a = start(l, &s, 1, 1000);
	metrics_server_config_defaults(&cfg);
	assert_int_equal(metrics_parse_address("127.0.0.1:1", &cfg, err, sizeof(err)), 0);
	cfg.port = metrics_server_port(a);
	b = metrics_server_new(l, &cfg, "t", render, &s, err, sizeof(err));
	assert_null(b);
	assert_non_null(strstr(err, "127.0.0.1"));
	assert_non_null(strstr(err, "Address already in use"));
	metrics_server_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_stats),
		cmocka_unit_test(test_text_escaping_and_cap),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_parse_address),
		cmocka_unit_test(test_parse_request),
		cmocka_unit_test_setup_teardown(test_get_and_head, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_refusals, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_timeout_and_limit, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_address_in_use, fixture_setup_loop,
						fixture_teardown_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
