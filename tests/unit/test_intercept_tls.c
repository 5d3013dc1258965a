/*
 * test_intercept_tls.c — doppel-intercept's end of TLS 1.3 on the channel
 * (docs/protocol.md section 2.1), with real sockets on 127.0.0.1 and a
 * copy daemon in a thread (tls_peer.h): certificates good, untrusted,
 * expired, or not trusted by the copy side; pre-shared key right and
 * wrong; plain text to a TLS port and TLS to a plain-text port; garbage;
 * a silent peer (handshake timeout); heartbeats over TLS and a dead peer
 * found; key and PSK files that others may read refused, never logged.
 * Each refusal ends with a log line that says why, and a counter.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "lib/wire/wire_tls.h"
#include "server_fixture.h"
#include "tls_files.h"
#include "tls_peer.h"

#define STAT(f, name) ((f)->stats.values[ISTAT_##name])

static struct tls_files files;

static struct wire_tls *server_certs(void)
{
	return tls_files_context(files.server_cert, files.server_key, files.ca, NULL, true);
}

static struct wire_tls *client_certs(const char *cert, const char *key, const char *ca)
{
	return tls_files_context(cert, key, ca, NULL, false);
}

static bool peer_done(struct server_fixture *f, void *arg)
{
	struct tls_peer *p = arg;

	return __atomic_load_n(&p->done, __ATOMIC_ACQUIRE) && server_connection_count(f->server) == 0;
}

/* A 10 ms timer so that the loop looks at the thread's progress often. */
static void poke(struct loop *l, uint64_t id, void *arg)
{
	loop_timer_add(l, 10, poke, arg);
}

/* Run a server with server_tls (NULL: plain text) against peer p until
 * p is done and the server has closed its connection. */
static void run(struct server_fixture *f, struct wire_tls *server_tls, struct tls_peer *p)
{
	f->cfg.tls = server_tls;
	fixture_server_start(f);
	loop_timer_add(f->loop, 10, poke, NULL);
	p->port = server_port(f->server);
	p->role = WIRE_ROLE_COPY;
	tls_peer_start(p);
	fixture_run_until(f, peer_done, p);
	tls_peer_join(p);
}

static void test_good_certificates(void **state)
{
	struct server_fixture f;
	struct wire_tls *s = server_certs(), *c = client_certs(files.client_cert, files.client_key,
								    files.ca);
	struct tls_peer p = { .tls = c };

	fixture_server_init(&f);
	run(&f, s, &p);
	assert_int_equal(p.handshake, 1);
	assert_true(p.hello_received);	/* the intercept's HELLO, inside TLS */
	assert_true(fixture_logged(&f, "TLS established", "certificates"));
	assert_true(fixture_logged(&f, "hello (features", NULL));
	assert_int_equal(STAT(&f, TLS_HANDSHAKE_FAILURES), 0);
	fixture_server_stop(&f);
	wire_tls_free(s);
	wire_tls_free(c);
}

/* The copy daemon's certificate is from a CA the intercept does not
 * trust: the intercept refuses it (TLS 1.3: the client learns it on its
 * first read). */
static void test_untrusted_client_certificate(void **state)
{
	struct server_fixture f;
	struct wire_tls *s = server_certs(), *c = client_certs(files.rogue_cert, files.rogue_key,
								    files.ca);
	struct tls_peer p = { .tls = c };

	fixture_server_init(&f);
	run(&f, s, &p);
	assert_false(p.hello_received);
	assert_int_equal(STAT(&f, TLS_HANDSHAKE_FAILURES), 1);
	assert_true(fixture_logged(&f, "TLS handshake", "peer certificate: unable to get local issuer"));
	assert_false(fixture_logged(&f, "hello (features", NULL));
	fixture_server_stop(&f);
	wire_tls_free(s);
	wire_tls_free(c);
}

static void test_expired_client_certificate(void **state)
{
	struct server_fixture f;
	struct wire_tls *s = server_certs(), *c = client_certs(files.expired_cert,
								    files.expired_key, files.ca);
	struct tls_peer p = { .tls = c };

	fixture_server_init(&f);
	run(&f, s, &p);
	assert_false(p.hello_received);
	assert_int_equal(STAT(&f, TLS_HANDSHAKE_FAILURES), 1);
	assert_true(fixture_logged(&f, "TLS handshake", "certificate has expired"));
	fixture_server_stop(&f);
	wire_tls_free(s);
	wire_tls_free(c);
}

/* The copy side trusts another CA: it refuses the intercept's certificate,
 * and the intercept sees the handshake fail. */
static void test_copy_side_wrong_ca(void **state)
{
	struct server_fixture f;
	struct wire_tls *s = server_certs(), *c = client_certs(files.client_cert, files.client_key,
								    files.ca_other);
	struct tls_peer p = { .tls = c };

	fixture_server_init(&f);
	run(&f, s, &p);
	assert_int_equal(p.handshake, -1);
	/* (the intercept sends CA A along: "self-signed certificate in
	 * certificate chain") */
	if (!strstr(p.error, "certificate verify failed (peer certificate:"))
		fail_msg("copy side: %s", p.error);
	assert_int_equal(STAT(&f, TLS_HANDSHAKE_FAILURES), 1);
	assert_true(fixture_logged(&f, "closed: TLS handshake", NULL));
	fixture_server_stop(&f);
	wire_tls_free(s);
	wire_tls_free(c);
}

static void test_good_psk(void **state)
{
	struct server_fixture f;
	struct wire_tls *s = tls_files_context(NULL, NULL, NULL, files.psk, true);
	struct wire_tls *c = tls_files_context(NULL, NULL, NULL, files.psk, false);
	struct tls_peer p = { .tls = c };

	fixture_server_init(&f);
	run(&f, s, &p);
	assert_int_equal(p.handshake, 1);
	assert_true(p.hello_received);
	assert_true(fixture_logged(&f, "TLS established", "pre-shared key"));
	assert_int_equal(STAT(&f, TLS_HANDSHAKE_FAILURES), 0);
	fixture_server_stop(&f);
	wire_tls_free(s);
	wire_tls_free(c);
}

static void test_wrong_psk(void **state)
{
	struct server_fixture f;
	struct wire_tls *s = tls_files_context(NULL, NULL, NULL, files.psk, true);
	struct wire_tls *c = tls_files_context(NULL, NULL, NULL, files.psk_wrong, false);
	struct tls_peer p = { .tls = c };

	fixture_server_init(&f);
	run(&f, s, &p);
	assert_int_equal(p.handshake, -1);
	assert_false(p.hello_received);
	assert_int_equal(STAT(&f, TLS_HANDSHAKE_FAILURES), 1);
	assert_true(fixture_logged(&f, "closed: TLS handshake", NULL));
	fixture_server_stop(&f);
	wire_tls_free(s);
	wire_tls_free(c);
}

/* A doppel copy daemon without TLS: its HELLO's first byte is 0. */
static void test_plain_text_to_tls_port(void **state)
{
	struct server_fixture f;
	struct wire_tls *s = server_certs();
	struct tls_peer p = { .tls = NULL };

	fixture_server_init(&f);
	run(&f, s, &p);
	assert_false(p.hello_received);
	assert_true(p.peer_closed);
	assert_int_equal(STAT(&f, TLS_HANDSHAKE_FAILURES), 1);
	assert_true(fixture_logged(&f, "plain-text peer on a TLS port", "0x00"));
	fixture_server_stop(&f);
	wire_tls_free(s);
}

static void test_tls_to_plain_port(void **state)
{
	struct server_fixture f;
	struct wire_tls *c = client_certs(files.client_cert, files.client_key, files.ca);
	struct tls_peer p = { .tls = c };

	fixture_server_init(&f);
	run(&f, NULL, &p);
	assert_int_equal(p.handshake, -1);
	assert_int_equal(STAT(&f, TLS_HANDSHAKE_FAILURES), 1);
	assert_true(fixture_logged(&f, "TLS ClientHello on a plain-text port", NULL));
	fixture_server_stop(&f);
	wire_tls_free(c);
}

/* Bytes that look like a TLS record but are not one, and bytes that look
 * like nothing. */
static void test_garbage(void **state)
{
	static const uint8_t fake_record[] = { 0x16, 0x03, 0x01, 0x00, 0x10, 0xde, 0xad, 0xbe,
					       0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	static const char http[] = "GET / HTTP/1.0\r\n\r\n";
	struct server_fixture f;
	struct wire_tls *s = server_certs();
	struct tls_peer p = { .raw = fake_record, .raw_len = sizeof(fake_record) };
	struct tls_peer q = { .raw = http, .raw_len = sizeof(http) - 1 };

	fixture_server_init(&f);
	run(&f, s, &p);
	assert_true(p.peer_closed);
	assert_int_equal(STAT(&f, TLS_HANDSHAKE_FAILURES), 1);
	assert_true(fixture_logged(&f, "closed: TLS handshake", NULL));
	q.port = p.port;
	q.role = WIRE_ROLE_COPY;
	tls_peer_start(&q);
	fixture_run_until(&f, peer_done, &q);
	tls_peer_join(&q);
	assert_true(q.peer_closed);
	assert_int_equal(STAT(&f, TLS_HANDSHAKE_FAILURES), 2);
	assert_true(fixture_logged(&f, "plain-text peer on a TLS port", "0x47"));
	fixture_server_stop(&f);
	wire_tls_free(s);
}

/* A peer that connects and says nothing is given up after the handshake
 * limit. */
static void test_handshake_timeout(void **state)
{
	struct server_fixture f;
	struct wire_tls *s = server_certs();
	struct tls_peer p = { .silent = true };

	fixture_server_init(&f);
	f.cfg.tls_handshake_ms = 300;
	run(&f, s, &p);
	assert_true(p.peer_closed);
	assert_int_equal(STAT(&f, TLS_HANDSHAKE_FAILURES), 1);
	assert_true(fixture_logged(&f, "TLS handshake not done within 300 ms", NULL));
	fixture_server_stop(&f);
	wire_tls_free(s);
}

/* Over TLS the intercept still sends HEARTBEATs when idle, and still
 * gives up a peer that sends nothing. */
static void test_heartbeat_and_dead_peer_over_tls(void **state)
{
	struct server_fixture f;
	struct wire_tls *s = tls_files_context(NULL, NULL, NULL, files.psk, true);
	struct wire_tls *c = tls_files_context(NULL, NULL, NULL, files.psk, false);
	struct tls_peer p = { .tls = c, .stay = true };

	fixture_server_init(&f);
	f.cfg.heartbeat_idle_ms = 100;
	f.cfg.peer_dead_ms = 2500;
	run(&f, s, &p);
	assert_int_equal(p.handshake, 1);
	assert_true(p.hello_received);
	assert_true(p.heartbeats >= 1);
	assert_true(p.peer_closed);
	assert_int_equal(STAT(&f, CONNECTIONS_CLOSED_TIMEOUT), 1);
	assert_true(fixture_logged(&f, "nothing received for", NULL));
	assert_int_equal(STAT(&f, TLS_HANDSHAKE_FAILURES), 0);
	fixture_server_stop(&f);
	wire_tls_free(s);
	wire_tls_free(c);
}

/* Secrets readable by others are refused, with the file named and the
 * way out said; a PSK never appears in a message. */
static void test_private_files(void **state)
{
	struct wire_tls_options psk_open = { .psk_file = files.psk_open };
	struct wire_tls_options key_open = { files.server_cert, files.server_key, files.ca, NULL };
	struct wire_tls_options half = { .cert = files.server_cert };
	struct wire_tls_options both = { files.server_cert, files.server_key, files.ca, files.psk };
	char err[256];

	assert_null(wire_tls_new(&psk_open, true, err, sizeof(err)));
	assert_non_null(strstr(err, files.psk_open));
	assert_non_null(strstr(err, "chmod 600"));
	assert_null(strstr(err, "00112233"));
	assert_int_equal(chmod(files.server_key, 0640), 0);
	assert_null(wire_tls_new(&key_open, true, err, sizeof(err)));
	assert_non_null(strstr(err, "mode 640"));
	assert_int_equal(chmod(files.server_key, 0600), 0);
	assert_null(wire_tls_new(&half, true, err, sizeof(err)));
	assert_non_null(strstr(err, "--tls-key"));
	assert_null(wire_tls_new(&both, true, err, sizeof(err)));
	assert_non_null(strstr(err, "excludes"));
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
		cmocka_unit_test(test_untrusted_client_certificate),
		cmocka_unit_test(test_expired_client_certificate),
		cmocka_unit_test(test_copy_side_wrong_ca),
		cmocka_unit_test(test_good_psk),
		cmocka_unit_test(test_wrong_psk),
		cmocka_unit_test(test_plain_text_to_tls_port),
		cmocka_unit_test(test_tls_to_plain_port),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_handshake_timeout),
		cmocka_unit_test(test_heartbeat_and_dead_peer_over_tls),
		cmocka_unit_test(test_private_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
