/*
 * test_copy_engine_auth_tls.c — a PostgreSQL client that negotiates TLS
 * with the online server (SSLRequest, online answers 'S', the client's
 * ClientHello follows) is counted once in auth_tls and its session ends,
 * whatever the order in which the engine learns the pieces: the target's
 * answer ('N': the target has no TLS; or 'S') before or after the
 * ClientHello, the answer in a summary without its payload, the client's
 * FIN and RST before the target answered at all (e2e pg-login-md5 lost the
 * count that way once: the target's backend logged "failed to send SSL
 * negotiation response: Connection reset by peer"), retransmissions of
 * every piece. Nothing beyond the SSLRequest reaches the target.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_harness.h"

static int passwords(void *ctx, enum auth_protocol p, const char *user, const uint8_t **pw,
		     size_t *len)
{
	(void)ctx;
	if (p != AUTH_PROTO_POSTGRES || strcmp(user, "user"))
		return -1;
	*pw = (const uint8_t *)"pencil";
	*len = 6;
	return 0;
}

#define C0 (HARNESS_CLIENT_ISN + 1)	/* the client's first byte */
#define T0 (HARNESS_TARGET_ISN + 1)	/* the target's */
#define A0 (HARNESS_ONLINE_ISN + 1)	/* online's, in the client's acks */

static const uint8_t ssl_request[8] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };
/* The start of a TLS record holding a ClientHello (the rest is opaque here). */
static uint8_t hello[200];
#define HELLO_AT (C0 + 8)

static void start(struct harness *h, const struct session_key *k)
{
	hello[0] = 0x16, hello[1] = 3, hello[2] = 1, hello[3] = 0, hello[4] = 195, hello[5] = 1;
	harness_init(h);
	h->cfg.auth_ports[0].port = k->target_port;
	h->cfg.auth_ports[0].protocol = AUTH_PROTO_POSTGRES;
	h->cfg.auth_port_count = 1;
	h->cfg.auth_password = passwords;
	h->cfg.send_at_once = true;
	harness_start(h);
	harness_establish(h, k, 65535);
}

static void ssl_request_in(struct harness *h, const struct session_key *k)
{
	harness_client_data(h, k, C0, A0, ssl_request, 8);
}

/* online answered 'S' (1 byte): the client's ack moves past it */
static void hello_in(struct harness *h, const struct session_key *k)
{
	harness_client_data(h, k, HELLO_AT, A0 + 1, hello, sizeof(hello));
}

/* The target's one-byte answer; present: how many payload bytes the
 * summary carries (1, or 0 when intercept sent only the header). */
static void answer_in(struct harness *h, const struct session_key *k, char answer, size_t present)
{
	uint8_t b = (uint8_t)answer;

	harness_target_cut(h, k, T0, C0 + 8, &b, 1, present);
}

/* Counted once as TLS, ended once as a failed login; the target got the
 * SSLRequest and nothing else but the RST that gives up; no session is
 * left. */
static void expect_tls_once(struct harness *h)
{
	const struct engine_counters *n = harness_counters(h);
	bool rst = false;

	assert_int_equal(n->auth_failed[AUTH_FAIL_TLS], 1);
	for (int f = 0; f < AUTH_FAIL_COUNT; f++)
		if (f != AUTH_FAIL_TLS)
			assert_int_equal(n->auth_failed[f], 0);
	assert_int_equal(n->auth_logins_replayed, 0);
	assert_int_equal(h->end_count, 1);
	assert_int_equal(harness_last_end(h)->reason, END_AUTH_FAILED);
	assert_non_null(strstr(harness_last_end(h)->detail, "tls"));
	assert_int_equal(n->ended[END_CLOSED], 0);
	for (size_t i = 0; i < h->sent_count; i++) {
		const struct packet *p = &h->sent[i].p;
		if (p->payload_len) {
			assert_int_equal(p->seq, C0);
			assert_int_equal(p->payload_len, 8);
			assert_memory_equal(p->payload, ssl_request, 8);
		}
		rst |= (p->flags & TCPF_RST) != 0;
	}
	assert_true(rst);
	assert_int_equal(n->sessions_active, 0);
}

/* The order the lab mostly sees: the target's 'N' before the ClientHello. */
static void test_answer_then_hello(void **state)
{
	struct session_key k = harness_key("198.18.0.10", 41000, "198.18.1.1", 5432);
	struct harness h;

	(void)state;
	start(&h, &k);
	ssl_request_in(&h, &k);
	answer_in(&h, &k, 'N', 1);
	assert_int_equal(h.end_count, 0);
	hello_in(&h, &k);
	expect_tls_once(&h);
	harness_finish(&h);
}

/* The ClientHello captured before the target's 'N' comes through
 * intercept: the client's bytes alone say online accepted TLS. The answer
 * that comes later belongs to no session. */
static void test_hello_then_answer(void **state)
{
	struct session_key k = harness_key("198.18.0.10", 41001, "198.18.1.1", 5432);
	struct harness h;

	(void)state;
	start(&h, &k);
	ssl_request_in(&h, &k);
	hello_in(&h, &k);
	answer_in(&h, &k, 'N', 1);
	expect_tls_once(&h);
	harness_finish(&h);
}

/* The e2e flake: the target's backend is slow to answer; the client's
 * whole TLS session, its FIN and its RST (online's close_notify came
 * after the client closed) are captured first. */
static void test_reset_before_answer(void **state)
{
	struct session_key k = harness_key("198.18.0.10", 41002, "198.18.1.1", 5432);
	struct harness h;
	uint32_t end = HELLO_AT + sizeof(hello) + 500;
	uint8_t records[500];

	(void)state;
	start(&h, &k);
	ssl_request_in(&h, &k);
	harness_target_plain(&h, &k, TCPF_ACK, T0, C0 + 8, 65535, 0);	/* acked, no answer yet */
	hello_in(&h, &k);
	memset(records, 0x17, sizeof(records));	/* application data records */
	harness_client_data(&h, &k, HELLO_AT + sizeof(hello), A0 + 3000, records, sizeof(records));
	harness_client_plain(&h, &k, TCPF_ACK | TCPF_FIN, end, A0 + 3500);
	harness_client_plain(&h, &k, TCPF_RST, end + 1, 0);
	answer_in(&h, &k, 'N', 1);
	expect_tls_once(&h);
	assert_int_equal(harness_counters(&h)->auth_not_captured, 0);
	harness_finish(&h);
}

/* The target's answer in a summary without its payload (intercept cut
 * it): after the ClientHello it does not matter; before it, the session
 * cannot go on either way and is counted once, as the protocol error it
 * is (the answer's bytes are missing), not twice. */
static void test_answer_without_payload(void **state)
{
	struct session_key k = harness_key("198.18.0.10", 41003, "198.18.1.1", 5432);
	struct harness h;

	(void)state;
	start(&h, &k);
	ssl_request_in(&h, &k);
	hello_in(&h, &k);
	answer_in(&h, &k, 'N', 0);
	expect_tls_once(&h);
	harness_finish(&h);

	k.client_port++;
	start(&h, &k);
	ssl_request_in(&h, &k);
	answer_in(&h, &k, 'N', 0);
	hello_in(&h, &k);
	const struct engine_counters *n = harness_counters(&h);
	uint64_t all = 0;
	for (int f = 0; f < AUTH_FAIL_COUNT; f++)
		all += n->auth_failed[f];
	assert_int_equal(all, 1);
	assert_int_equal(n->auth_failed[AUTH_FAIL_PROTOCOL], 1);
	assert_int_equal(h.end_count, 1);
	assert_int_equal(harness_last_end(&h)->reason, END_AUTH_FAILED);
	harness_finish(&h);
}

/* A target that has TLS too ('S'): TLS whichever comes first. */
static void test_target_accepts(void **state)
{
	struct session_key k = harness_key("198.18.0.10", 41005, "198.18.1.1", 5432);
	struct harness h;

	(void)state;
	start(&h, &k);
	ssl_request_in(&h, &k);
	answer_in(&h, &k, 'S', 1);
	expect_tls_once(&h);
	hello_in(&h, &k);	/* no session: ignored */
	assert_int_equal(h.end_count, 1);
	harness_finish(&h);

	k.client_port++;
	start(&h, &k);
	ssl_request_in(&h, &k);
	hello_in(&h, &k);
	answer_in(&h, &k, 'S', 1);
	expect_tls_once(&h);
	harness_finish(&h);
}

/* Retransmissions of the SSLRequest (before and after the answer), of the
 * target's answer and of the ClientHello: one count, one end, the
 * SSLRequest sent once. */
static void test_retransmissions(void **state)
{
	struct session_key k = harness_key("198.18.0.10", 41007, "198.18.1.1", 5432);
	struct harness h;

	(void)state;
	start(&h, &k);
	ssl_request_in(&h, &k);
	ssl_request_in(&h, &k);
	answer_in(&h, &k, 'N', 1);
	answer_in(&h, &k, 'N', 1);
	ssl_request_in(&h, &k);
	assert_int_equal(h.end_count, 0);
	hello_in(&h, &k);
	hello_in(&h, &k);
	answer_in(&h, &k, 'N', 1);
	expect_tls_once(&h);
	harness_finish(&h);

	/* the ClientHello first in two pieces, the first one twice */
	k.client_port++;
	start(&h, &k);
	ssl_request_in(&h, &k);
	harness_client_data(&h, &k, HELLO_AT, A0 + 1, hello, 3);
	harness_client_data(&h, &k, HELLO_AT, A0 + 1, hello, 3);
	harness_client_data(&h, &k, HELLO_AT + 3, A0 + 1, hello + 3, sizeof(hello) - 3);
	answer_in(&h, &k, 'N', 1);
	expect_tls_once(&h);
	harness_finish(&h);
}

/* Not TLS: the client gave up after its SSLRequest (RST) before any
 * answer: the RST waits for the target's answer (the module waits for the
 * target, not the client); then the module wants a startup packet that
 * will never come and the session ends as the client's reset; nothing is
 * counted as TLS (nothing says online accepted it). */
static void test_reset_without_hello(void **state)
{
	struct session_key k = harness_key("198.18.0.10", 41009, "198.18.1.1", 5432);
	struct harness h;

	(void)state;
	start(&h, &k);
	ssl_request_in(&h, &k);
	harness_target_plain(&h, &k, TCPF_ACK, T0, C0 + 8, 65535, 0);
	harness_client_plain(&h, &k, TCPF_RST, C0 + 8, 0);
	assert_int_equal(h.end_count, 0);
	answer_in(&h, &k, 'N', 1);
	assert_int_equal(harness_counters(&h)->auth_failed[AUTH_FAIL_TLS], 0);
	assert_int_equal(h.end_count, 1);
	assert_int_equal(harness_last_end(&h)->reason, END_CLOSED);
	harness_finish(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_then_hello),
		cmocka_unit_test(test_hello_then_answer),
		cmocka_unit_test(test_reset_before_answer),
		cmocka_unit_test(test_answer_without_payload),
		cmocka_unit_test(test_target_accepts),
		cmocka_unit_test(test_retransmissions),
		cmocka_unit_test(test_reset_without_hello),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
