/*
 * test_copy_engine_auth_session.c — the engine replaying a PostgreSQL
 * SCRAM-SHA-256 login (RFC 7677's nonces) for the target's challenge: the
 * route asks for answer bytes and lowers it once the login is done; the
 * recomputed final message has another length than the captured one and
 * the rest of the session is shifted by the difference, a retransmission
 * that straddles the rewritten bytes included; a session whose login was
 * not captured is counted, not started; a wrong password ends the session
 * with its cause counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth_msgs.h"
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

static const uint8_t startup[] = "\0\0\0\x1b\0\x03\0\0user\0user\0database\0db\0";	/* 27 + NUL */
static const char server_first[] = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
				   "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
static const char online_final[] = "c=biws,r=rOprNGfwEbeRWgbNEkqOONLINEONLINEONLINEONLINE,"
				   "p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
static const char want_final[] = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
				 "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";

static void start(struct harness *h, const struct session_key *k)
{
	harness_init(h);
	h->cfg.auth_ports[0].port = k->target_port;
	h->cfg.auth_ports[0].protocol = AUTH_PROTO_POSTGRES;
	h->cfg.auth_port_count = 1;
	h->cfg.auth_password = passwords;
	h->cfg.send_at_once = true;	/* -W: the shift, not pacing, is under test */
	harness_start(h);
	harness_establish(h, k, 65535);
	assert_int_equal(h->payload_routes, 1);
	assert_int_equal(h->payload_wanted, 0xffff);
}

static void test_scram_login_and_shift(void **state)
{
	struct session_key k = harness_key("198.18.0.10", 40000, "198.18.1.1", 5432);
	struct harness h;
	uint8_t m[512], body[128], stream[2048];
	uint32_t c = HARNESS_CLIENT_ISN + 1, t = HARNESS_TARGET_ISN + 1, a = HARNESS_ONLINE_ISN + 1;
	size_t n, high = 0, sent_len;

	(void)state;
	start(&h, &k);
	harness_client_data(&h, &k, c, a, startup, 27);
	c += 27;
	n = pg_auth(m, 10, "SCRAM-SHA-256\0\0", 15);
	harness_target(&h, &k, TCPF_ACK | TCPF_PSH, t, HARNESS_CLIENT_ISN + 28,
		       &(struct harness_segment){ .payload = m, .payload_len = n });
	t += (uint32_t)n;
	memcpy(body, "SCRAM-SHA-256\0\0\0\0\x20n,,n=user,r=rOprNGfwEbeRWgbNEkqO", 50);
	n = pg_msg(m, 'p', body, 50);
	harness_client_data(&h, &k, c, a += 20, m, n);
	c += (uint32_t)n;
	uint32_t replay = c;	/* the same so far */
	n = pg_auth(m, 11, server_first, strlen(server_first));
	harness_target(&h, &k, TCPF_ACK | TCPF_PSH, t, replay,
		       &(struct harness_segment){ .payload = m, .payload_len = n });
	t += (uint32_t)n;
	n = pg_msg(m, 'p', online_final, strlen(online_final));
	harness_client_data(&h, &k, c, a += 20, m, n);
	uint32_t final_start = c;
	c += (uint32_t)n;
	n = pg_msg(m, 'Q', "SELECT 1;", 10);
	harness_client_data(&h, &k, c, a, m, n);
	c += (uint32_t)n;
	sent_len = 5 + strlen(want_final);
	n = pg_auth(m, 12, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", 46);
	n += pg_auth(m + n, 0, "", 0);
	harness_target(&h, &k, TCPF_ACK | TCPF_PSH, t, replay + (uint32_t)sent_len,
		       &(struct harness_segment){ .payload = m, .payload_len = n });
	t += (uint32_t)n;
	assert_int_equal(harness_counters(&h)->auth_logins_replayed, 1);
	assert_int_equal(h.payload_wanted, 0);	/* lowered after the login */

	/* What reached the target: startup, initial, our final, the query. */
	harness_collect(&h, stream, sizeof(stream), &high);
	assert_memory_equal(stream, startup, 27);
	assert_int_equal(stream[replay - HARNESS_CLIENT_ISN - 1], 'p');
	assert_memory_equal(stream + replay - HARNESS_CLIENT_ISN - 1 + 5, want_final,
			    strlen(want_final));
	uint32_t q = replay + (uint32_t)sent_len;
	assert_int_equal(stream[q - HARNESS_CLIENT_ISN - 1], 'Q');
	assert_int_equal(high, q - HARNESS_CLIENT_ISN - 1 + 15);
	int32_t delta = (int32_t)(strlen(want_final) - strlen(online_final));
	assert_int_equal((int32_t)(q - (final_start + 5 + strlen(online_final))), delta);

	/* The target acks the query; the client retransmits the query with
	 * the last 4 bytes of its final message in front (straddling), then
	 * sends a second query: only the new bytes go, shifted. */
	harness_target_plain(&h, &k, TCPF_ACK, t, q + 15, 65535, 0);
	uint8_t straddle[32];
	memcpy(straddle, online_final + strlen(online_final) - 4, 4);
	n = pg_msg(straddle + 4, 'Q', "SELECT 1;", 10);
	harness_client_data(&h, &k, c - 15 - 4, a, straddle, 4 + n);
	harness_expect_none(&h);	/* all of it delivered before */
	n = pg_msg(m, 'Q', "SELECT 2;", 10);
	harness_client_data(&h, &k, c, a, m, n);
	const struct packet *p = harness_expect(&h, TCPF_ACK | TCPF_PSH, q + 15, t, 15);
	assert_memory_equal(p->payload, m, 15);
	/* FIN shifted too */
	harness_client_plain(&h, &k, TCPF_ACK | TCPF_FIN, c + 15, a);
	harness_target_plain(&h, &k, TCPF_ACK, t, q + 30, 65535, 0);
	p = harness_next(&h);
	assert_true(p->flags & TCPF_FIN);
	assert_int_equal(p->seq, q + 30);
	harness_finish(&h);
}

static void test_wrong_password_and_missed_login(void **state)
{
	struct session_key k = harness_key("198.18.0.10", 40001, "198.18.1.1", 5432);
	struct session_key late = harness_key("198.18.0.11", 40002, "198.18.1.1", 5432);
	struct harness h;
	uint8_t m[256];
	uint32_t c = HARNESS_CLIENT_ISN + 1, t = HARNESS_TARGET_ISN + 1;
	size_t n;
	static const uint8_t err[] = "SFATAL\0C28P01\0Mpassword authentication failed\0";

	(void)state;
	start(&h, &k);
	harness_client_data(&h, &k, c, HARNESS_ONLINE_ISN + 1, startup, 27);
	n = pg_auth(m, 5, "\1\2\3\4", 4);
	harness_target(&h, &k, TCPF_ACK | TCPF_PSH, t, c + 27,
		       &(struct harness_segment){ .payload = m, .payload_len = n });
	t += (uint32_t)n;
	n = pg_msg(m, 'p', "md5000000000000000000000000000000000", 36);
	harness_client_data(&h, &k, c + 27, HARNESS_ONLINE_ISN + 20, m, n);
	n = pg_msg(m, 'E', err, sizeof(err));
	harness_target(&h, &k, TCPF_ACK | TCPF_PSH, t, c + 27 + 41,
		       &(struct harness_segment){ .payload = m, .payload_len = n });
	assert_int_equal(harness_last_end(&h)->reason, END_AUTH_FAILED);
	assert_non_null(strstr(harness_last_end(&h)->detail, "wrong_password"));
	assert_int_equal(harness_counters(&h)->auth_failed[AUTH_FAIL_WRONG_PASSWORD], 1);
	assert_int_equal(harness_counters(&h)->ended[END_AUTH_FAILED], 1);

	/* data of a session whose SYN (and login) we never saw: counted once */
	harness_drain(&h);
	harness_client_data(&h, &late, 777, 888, "Qxxxx", 5);
	harness_client_data(&h, &late, 782, 888, "Qxxxx", 5);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->auth_not_captured, 1);
	harness_finish(&h);
}

/* A short session: the client's whole conversation, FIN included, is
 * captured before the target even sent its challenge (the replay lags).
 * Its md5 answer goes when the salt comes, then the query, then the FIN:
 * nothing is cut short. */
static void test_fin_before_login_done(void **state)
{
	struct session_key k = harness_key("198.18.0.10", 40003, "198.18.1.1", 5432);
	struct harness h;
	uint8_t m[256], stream[512];
	uint32_t c = HARNESS_CLIENT_ISN + 1, t = HARNESS_TARGET_ISN + 1;
	size_t n, high = 0;

	(void)state;
	start(&h, &k);
	harness_client_data(&h, &k, c, HARNESS_ONLINE_ISN + 1, startup, 27);
	c += 27;
	n = pg_msg(m, 'p', "md5000000000000000000000000000000000", 36);
	harness_client_data(&h, &k, c, HARNESS_ONLINE_ISN + 20, m, n);
	c += (uint32_t)n;
	n = pg_msg(m, 'Q', "SELECT 1;", 10);
	harness_client_data(&h, &k, c, HARNESS_ONLINE_ISN + 40, m, n);
	c += (uint32_t)n;
	harness_client_plain(&h, &k, TCPF_ACK | TCPF_FIN, c, HARNESS_ONLINE_ISN + 60);
	assert_int_equal(h.end_count, 0);
	n = pg_auth(m, 5, "\1\2\3\4", 4);
	harness_target(&h, &k, TCPF_ACK | TCPF_PSH, t, HARNESS_CLIENT_ISN + 28,
		       &(struct harness_segment){ .payload = m, .payload_len = n });
	t += (uint32_t)n;
	n = pg_auth(m, 0, "", 0);
	harness_target(&h, &k, TCPF_ACK | TCPF_PSH, t, HARNESS_CLIENT_ISN + 28 + 41,
		       &(struct harness_segment){ .payload = m, .payload_len = n });
	t += (uint32_t)n;
	assert_int_equal(harness_counters(&h)->auth_logins_replayed, 1);
	/* md5 answers have one length: no shift; the FIN right after the query */
	harness_target_plain(&h, &k, TCPF_ACK, t, c, 65535, 0);
	bool fin = false;
	while (harness_unread(&h)) {
		const struct packet *p = harness_next(&h);
		if (p->payload_len)
			memcpy(stream + (p->seq - HARNESS_CLIENT_ISN - 1), p->payload, p->payload_len);
		if (p->seq - HARNESS_CLIENT_ISN - 1 + p->payload_len > high)
			high = p->seq - HARNESS_CLIENT_ISN - 1 + p->payload_len;
		if (p->flags & TCPF_FIN) {
			fin = true;
			assert_int_equal(p->seq + p->payload_len, c);	/* after the query */
		}
	}
	assert_true(fin);
	assert_int_equal(high, c - HARNESS_CLIENT_ISN - 1);
	assert_int_equal(stream[27 + 41], 'Q');
	assert_memory_equal(stream + 27 + 5, "md5", 3);
	assert_memory_not_equal(stream + 27 + 8, "00000000", 8);	/* recomputed */
	harness_finish(&h);
}

/* The target's AuthenticationOk shares its packet with ParameterStatus
 * messages that intercept cut at --route-payload: the login needs none of
 * the cut bytes and goes on. A cut in the middle of a message the login
 * needs ends the session, counted as a protocol error. */
static void test_cut_answers(void **state)
{
	struct session_key k = harness_key("198.18.0.10", 40004, "198.18.1.1", 5432);
	struct harness h;
	uint8_t m[1024];
	uint32_t c = HARNESS_CLIENT_ISN + 1, t = HARNESS_TARGET_ISN + 1;
	size_t n;

	(void)state;
	start(&h, &k);
	harness_client_data(&h, &k, c, HARNESS_ONLINE_ISN + 1, startup, 27);
	c += 27;
	n = pg_auth(m, 5, "\1\2\3\4", 4);
	harness_target(&h, &k, TCPF_ACK | TCPF_PSH, t, c,
		       &(struct harness_segment){ .payload = m, .payload_len = n });
	t += (uint32_t)n;
	n = pg_msg(m, 'p', "md5000000000000000000000000000000000", 36);
	harness_client_data(&h, &k, c, HARNESS_ONLINE_ISN + 20, m, n);
	c += (uint32_t)n;
	/* AuthenticationOk then 600 bytes of ParameterStatus: 256 seen */
	n = pg_auth(m, 0, "", 0);
	memset(m + n, 'S', 600);
	harness_target_cut(&h, &k, t, c, m, n + 600, 256);
	assert_int_equal(harness_counters(&h)->auth_logins_replayed, 1);
	assert_int_equal(h.end_count, 0);
	harness_finish(&h);

	/* the salt itself cut off: the login cannot go on */
	k.client_port++;
	start(&h, &k);
	harness_client_data(&h, &k, HARNESS_CLIENT_ISN + 1, HARNESS_ONLINE_ISN + 1, startup, 27);
	n = pg_auth(m, 5, "\1\2\3\4", 4);
	harness_target_cut(&h, &k, HARNESS_TARGET_ISN + 1, HARNESS_CLIENT_ISN + 28, m, n, 6);
	assert_int_equal(harness_last_end(&h)->reason, END_AUTH_FAILED);
	assert_non_null(strstr(harness_last_end(&h)->detail, "--route-payload"));
	assert_int_equal(harness_counters(&h)->auth_failed[AUTH_FAIL_PROTOCOL], 1);
	harness_finish(&h);
}

/* A new connection on the ports while the old one's login is still being
 * replayed (its bytes wait in the module, none in the stream): the new one
 * waits as its successor, the old one is not superseded. */
static void test_reuse_during_login(void **state)
{
	struct session_key k = harness_key("198.18.0.10", 40010, "198.18.1.1", 5432);
	struct harness h;
	struct harness_segment syn = { .window = 64240, .opt = { .has_mss = true, .mss = 1460 } };

	(void)state;
	start(&h, &k);
	harness_client_data(&h, &k, HARNESS_CLIENT_ISN + 1, HARNESS_ONLINE_ISN + 1, startup, 27);
	/* the startup went; a password message waits for the target's salt */
	uint8_t m[64];
	size_t n = pg_msg(m, 'p', "md5000000000000000000000000000000000", 36);
	harness_client_data(&h, &k, HARNESS_CLIENT_ISN + 28, HARNESS_ONLINE_ISN + 20, m, n);
	harness_target_plain(&h, &k, TCPF_ACK, HARNESS_TARGET_ISN + 1, HARNESS_CLIENT_ISN + 28,
			     65535, 0);
	harness_client(&h, &k, TCPF_SYN, HARNESS_CLIENT_ISN + 100000, 0, &syn);
	assert_int_equal(h.end_count, 0);
	assert_int_equal(harness_counters(&h)->sessions_queued_successor, 1);
	harness_finish(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scram_login_and_shift),
		cmocka_unit_test(test_wrong_password_and_missed_login),
		cmocka_unit_test(test_fin_before_login_done),
		cmocka_unit_test(test_cut_answers),
		cmocka_unit_test(test_reuse_during_login),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
