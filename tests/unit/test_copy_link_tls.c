/*
 * test_copy_link_tls.c — doppel-copy's end of TLS 1.3 on the channel
 * (docs/protocol.md section 2.1): the intercept links against an intercept
 * in a thread (tls_peer.h) on 127.0.0.1. The intercept's certificate good,
 * from an untrusted CA, expired, or for another address; pre-shared key
 * right and wrong; TLS to a plain-text intercept; heartbeats over TLS and
 * a silent intercept given up. Each failure is one DOWN event whose reason
 * says why, and is counted.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "copy/link/intercept_link.h"
#include "lib/runtime/loop.h"
#include "lib/wire/wire.h"
#include "lib/wire/wire_tls.h"
#include "tls_files.h"
#include "tls_peer.h"

static struct tls_files files;

struct run {
	struct loop *loop;
	struct intercept_links *links;
	struct tls_peer *peer;
	unsigned up, down;
	char reason[256];
	bool stop_after_up;		/* else stop after the first DOWN */
};

static void on_event(void *ctx, size_t index, const char *name, enum intercept_link_event ev,
		     bool was_ready, const char *reason)
{
	struct run *r = ctx;

	if (ev == LINK_EVENT_UP)
		r->up++;
	if (ev == LINK_EVENT_DOWN) {
		r->down++;
		snprintf(r->reason, sizeof(r->reason), "%s", reason);
	}
}

static void check(struct loop *l, uint64_t id, void *arg)
{
	struct run *r = arg;
	bool peer_done = __atomic_load_n(&r->peer->done, __ATOMIC_ACQUIRE);

	if ((r->stop_after_up && r->up > 0 && peer_done) || (!r->stop_after_up && r->down > 0)) {
		loop_stop(l);
		return;
	}
	loop_timer_add(l, 10, check, r);
}

/* Links with client_tls to an intercept peer p; runs until the link is up
 * (and p done) or down once. Returns the counters. */
static struct intercept_link_counters run_link(struct run *r, struct wire_tls *client_tls,
					       struct tls_peer *p, uint32_t peer_dead_ms)
{
	struct intercept_link_config cfg = { 0 };
	struct intercept_endpoint end = { 0 };
	struct intercept_links_handlers h = { .ctx = r, .event = on_event };
	struct intercept_link_counters sum;
	uint16_t port;

	alarm(30);
	r->peer = p;
	r->loop = loop_new();
	assert_non_null(r->loop);
	p->listen_fd = tls_peer_listen(&port);
	assert_true(p->listen_fd >= 0);
	p->server = true;
	p->role = WIRE_ROLE_INTERCEPT;
	intercept_link_config_defaults(&cfg);
	cfg.tls = client_tls;
	cfg.backoff_initial_ms = 60000;	/* one attempt */
	cfg.heartbeat_idle_ms = 100;
	cfg.peer_dead_ms = peer_dead_ms;
	assert_int_equal(dp_addr_parse("127.0.0.1", &end.addr), 0);
	end.port = port;
	r->links = intercept_links_new(r->loop, &end, 1, &cfg, &h);
	assert_non_null(r->links);
	tls_peer_start(p);
	intercept_links_start(r->links);
	loop_timer_add(r->loop, 10, check, r);
	assert_int_equal(loop_run(r->loop), 0);
	intercept_links_counters(r->links, &sum);
	intercept_links_free(r->links);
	shutdown(p->listen_fd, SHUT_RDWR);	/* a thread still in accept() returns */
	tls_peer_join(p);
	close(p->listen_fd);
	loop_free(r->loop);
	alarm(0);
	return sum;
}

static struct wire_tls *copy_certs(void)
{
	return tls_files_context(files.client_cert, files.client_key, files.ca, NULL, false);
}

static void test_good_certificates(void **state)
{
	struct wire_tls *c = copy_certs();
	struct wire_tls *s = tls_files_context(files.server_cert, files.server_key, files.ca, NULL, true);
	struct tls_peer p = { .tls = s };
	struct run r = { .stop_after_up = true };
	struct intercept_link_counters sum = run_link(&r, c, &p, 20000);

	assert_int_equal(r.up, 1);
	assert_int_equal(p.handshake, 1);
	assert_true(p.hello_received);	/* our HELLO, inside TLS */
	assert_int_equal(sum.established, 1);
	assert_int_equal(sum.tls_handshake_failures, 0);
	wire_tls_free(c);
	wire_tls_free(s);
}

/* The intercept shows cert/key; the link must refuse it with reason. */
static void refused(const char *cert, const char *key, const char *reason)
{
	struct wire_tls *c = copy_certs();
	struct wire_tls *s = tls_files_context(cert, key, files.ca, NULL, true);
	struct tls_peer p = { .tls = s };
	struct run r = { 0 };
	struct intercept_link_counters sum = run_link(&r, c, &p, 20000);

	assert_int_equal(r.up, 0);
	assert_int_equal(r.down, 1);
	if (!strstr(r.reason, reason))
		fail_msg("reason '%s' does not say '%s'", r.reason, reason);
	assert_int_equal(sum.tls_handshake_failures, 1);
	assert_int_equal(sum.established, 0);
	assert_false(p.hello_received);
	wire_tls_free(c);
	wire_tls_free(s);
}

static void test_untrusted_intercept_certificate(void **state)
{
	refused(files.rogue_cert, files.rogue_key, "unable to get local issuer certificate");
}

static void test_expired_intercept_certificate(void **state)
{
	refused(files.expired_cert, files.expired_key, "certificate has expired");
}

static void test_certificate_for_another_address(void **state)
{
	refused(files.wrong_ip_cert, files.wrong_ip_key, "IP address mismatch");
}

static void test_good_and_wrong_psk(void **state)
{
	struct wire_tls *c = tls_files_context(NULL, NULL, NULL, files.psk, false);
	struct wire_tls *good = tls_files_context(NULL, NULL, NULL, files.psk, true);
	struct wire_tls *wrong = tls_files_context(NULL, NULL, NULL, files.psk_wrong, true);
	struct tls_peer p = { .tls = good }, q = { .tls = wrong };
	struct run r = { .stop_after_up = true }, w = { 0 };
	struct intercept_link_counters sum = run_link(&r, c, &p, 20000);

	assert_int_equal(r.up, 1);
	assert_true(p.hello_received);
	assert_int_equal(sum.tls_handshake_failures, 0);
	sum = run_link(&w, c, &q, 20000);
	assert_int_equal(w.up, 0);
	assert_int_equal(w.down, 1);
	assert_non_null(strstr(w.reason, "TLS handshake"));
	assert_int_equal(sum.tls_handshake_failures, 1);
	wire_tls_free(c);
	wire_tls_free(good);
	wire_tls_free(wrong);
}

/* A plain-text intercept: its HELLO is no TLS record. */
static void test_tls_to_plain_intercept(void **state)
{
	struct wire_tls *c = copy_certs();
	struct tls_peer p = { .tls = NULL };
	struct run r = { 0 };
	struct intercept_link_counters sum = run_link(&r, c, &p, 20000);

	assert_int_equal(r.up, 0);
	assert_non_null(strstr(r.reason, "TLS handshake"));
	assert_int_equal(sum.tls_handshake_failures, 1);
	wire_tls_free(c);
}

/* The link sends HEARTBEATs over TLS, and gives up an intercept that
 * completed the handshake and HELLO and then says nothing. */
static void test_heartbeat_and_dead_intercept_over_tls(void **state)
{
	struct wire_tls *c = tls_files_context(NULL, NULL, NULL, files.psk, false);
	struct wire_tls *s = tls_files_context(NULL, NULL, NULL, files.psk, true);
	struct tls_peer p = { .tls = s, .stay = true };
	struct run r = { 0 };
	struct intercept_link_counters sum = run_link(&r, c, &p, 1500);

	assert_int_equal(r.up, 1);
	assert_int_equal(r.down, 1);
	assert_non_null(strstr(r.reason, "nothing received for 1500 ms"));
	assert_true(sum.heartbeats_sent >= 1);
	assert_true(p.heartbeats >= 1);	/* they arrived, decrypted */
	assert_int_equal(sum.tls_handshake_failures, 0);
	wire_tls_free(c);
	wire_tls_free(s);
}

static int setup(void **state)
{
	signal(SIGPIPE, SIG_IGN);
	tls_files_make(&files);
	return 0;
}

static int teardown(void **state)
{
	tls_files_remove(&files);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_certificates),
		cmocka_unit_test(test_untrusted_intercept_certificate),
		cmocka_unit_test(test_expired_intercept_certificate),
		cmocka_unit_test(test_certificate_for_another_address),
		cmocka_unit_test(test_good_and_wrong_psk),
		cmocka_unit_test(test_tls_to_plain_intercept),
		cmocka_unit_test(test_heartbeat_and_dead_intercept_over_tls),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
