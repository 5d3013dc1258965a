/*
 * server_fixture.h — an intercept server on an ephemeral loopback port,
 * its statistics and log lines, a loop run until a condition holds, and
 * responses to hand it as a source would. Header-only (static functions):
 * the helper files of tests/unit are linked into every test binary, and
 * only the test_intercept_* ones have the server.
 */
#ifndef DOPPEL_TEST_SERVER_FIXTURE_H
#define DOPPEL_TEST_SERVER_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "intercept/intercept_stats.h"
#include "lib/runtime/loop.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"
#include "lib/net/packet_build.h"
#include "intercept/server.h"
#include "wire_client.h"

#define FIXTURE_LOG_LINES 64

struct server_fixture {
	struct loop *loop;
	struct server *server;
	struct intercept_stats stats;
	struct server_config cfg;
	char log[FIXTURE_LOG_LINES][256];
	int log_count;
	bool (*done)(struct server_fixture *f, void *arg);
	void *done_arg;
};

static void fixture_log(void *ctx, enum log_level level, const char *line)
{
	struct server_fixture *f = ctx;

	if (f->log_count < FIXTURE_LOG_LINES)
		snprintf(f->log[f->log_count++], sizeof(f->log[0]), "%s", line);
}

/* Does some log line contain both words? */
static inline bool fixture_logged(const struct server_fixture *f, const char *a, const char *b)
{
	for (int i = 0; i < f->log_count; i++)
		if (strstr(f->log[i], a) && (!b || strstr(f->log[i], b)))
			return true;
	return false;
}

/* Fill f->cfg's defaults; change f->cfg, then fixture_server_start(). */
static inline void fixture_server_init(struct server_fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->loop = loop_new();
	assert_non_null(f->loop);
	intercept_stats_init(&f->stats);
	f->cfg.port = 0;	/* any free port */
	f->cfg.log = fixture_log;
	f->cfg.log_ctx = f;
	alarm(30);	/* a guard: a hung test dies instead of hanging the suite */
}

static inline void fixture_server_start(struct server_fixture *f)
{
	char err[256];

	f->server = server_new(f->loop, &f->cfg, &f->stats, err, sizeof(err));
	if (!f->server)
		fail_msg("server_new: %s", err);
	assert_true(server_port(f->server) > 0);
}

static inline void fixture_server_stop(struct server_fixture *f)
{
	server_free(f->server);
	loop_free(f->loop);
	alarm(0);
}

static void fixture_before_sleep(struct loop *l, void *arg)
{
	struct server_fixture *f = arg;

	if (f->server)
		server_flush(f->server);
	if (f->done(f, f->done_arg))
		loop_stop(l);
}

/* Run the loop until done(f, arg) holds when it is about to sleep. The
 * server's one-second tick wakes the loop when nothing else does. */
static inline void fixture_run_until(struct server_fixture *f,
				     bool (*done)(struct server_fixture *, void *), void *arg)
{
	f->done = done;
	f->done_arg = arg;
	loop_set_before_sleep(f->loop, fixture_before_sleep, f);
	assert_int_equal(loop_run(f->loop), 0);
	loop_set_before_sleep(f->loop, NULL, NULL);
}

/* A response from target:target_port to client:client_port, with payload
 * bytes, parsed as a source hands it over. buf must outlive p's use. */
static inline void fixture_response(uint8_t *buf, size_t cap, struct packet *p,
				    const char *target, uint16_t target_port,
				    const char *client, uint16_t client_port, size_t payload_len)
{
	static const uint8_t payload[64] = "HTTP/1.1 200 OK\r\n";
	struct packet_spec spec;
	const char *why;

	assert_true(payload_len <= sizeof(payload));
	memset(&spec, 0, sizeof(spec));
	assert_int_equal(dp_addr_parse(target, &spec.src), 0);
	assert_int_equal(dp_addr_parse(client, &spec.dst), 0);
	spec.sport = target_port;
	spec.dport = client_port;
	spec.flags = TCPF_ACK | (payload_len ? TCPF_PSH : 0);
	spec.payload = payload;
	spec.payload_len = payload_len;
	size_t len = packet_build(buf, cap, &spec);
	assert_true(len > 0);
	assert_int_equal(packet_parse(buf, len, 0, p, &why), 0);
}

static inline void fixture_deliver(struct server_fixture *f, const char *target,
				   uint16_t target_port, const char *client, uint16_t client_port,
				   size_t payload_len)
{
	uint8_t buf[256];
	struct packet p;

	fixture_response(buf, sizeof(buf), &p, target, target_port, client, client_port,
			 payload_len);
	server_deliver(f->server, &p);
}

/* Conditions for fixture_run_until. */
struct stat_wait {
	enum intercept_stat stat;
	uint64_t value;
};

static inline bool fixture_stat_reached(struct server_fixture *f, void *arg)
{
	struct stat_wait *w = arg;

	return f->stats.values[w->stat] >= w->value;
}

static inline bool fixture_client_closed(struct server_fixture *f, void *arg)
{
	return ((struct wire_client *)arg)->closed;
}

#endif
