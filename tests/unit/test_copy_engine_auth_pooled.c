/*
 * test_copy_engine_auth_pooled.c — pooled sessions (docs/stateful.md,
 * "Pooled connections"): a session to a protocol port opted in, whose
 * login was never captured, is opened to the target with doppel's own
 * login (user and database from the configuration, the password from the
 * credentials callback); once the target accepts it, the captured bytes go
 * on from the first segment that starts a whole command, the bytes before
 * it dropped and counted, and everything after is shifted by the length of
 * doppel's login minus the bytes dropped. PostgreSQL SCRAM-SHA-256 and
 * MySQL native password; a refused pooled login; a client that closes
 * before any command boundary; the boundary checks themselves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "copy/engine/auth_crypto.h"
#include "auth_msgs.h"
#include "engine_harness.h"

static int passwords(void *ctx, enum auth_protocol p, const char *user, const uint8_t **pw,
		     size_t *len)
{
	(void)ctx;
	(void)p;
	if (strcmp(user, "app"))
		return -1;
	*pw = (const uint8_t *)"pencil";
	*len = 6;
	return 0;
}

static size_t my_packet(uint8_t *b, uint8_t seq, const void *payload, size_t len)
{
	b[0] = (uint8_t)len, b[1] = (uint8_t)(len >> 8), b[2] = (uint8_t)(len >> 16), b[3] = seq;
	memcpy(b + 4, payload, len);
	return len + 4;
}

#define ISN HARNESS_CLIENT_ISN	/* the SYN doppel makes up: first data seq - 1 */
#define C0 (HARNESS_CLIENT_ISN + 1)
#define T0 (HARNESS_TARGET_ISN + 1)
#define A0 (HARNESS_ONLINE_ISN + 5000)	/* the client's ack: after online's login */

static void start(struct harness *h, uint16_t port, enum auth_protocol proto, const char *db)
{
	harness_init(h);
	h->cfg.auth_ports[0].port = port;
	h->cfg.auth_ports[0].protocol = (uint8_t)proto;
	h->cfg.auth_ports[0].pooled = 1;
	h->cfg.auth_port_count = 1;
	snprintf(h->cfg.auth_pooled[proto].user, sizeof(h->cfg.auth_pooled[proto].user), "app");
	snprintf(h->cfg.auth_pooled[proto].database, sizeof(h->cfg.auth_pooled[proto].database),
		 "%s", db);
	h->cfg.auth_password = passwords;
	h->cfg.send_at_once = true;	/* the login and the shift are under test */
	harness_start(h);
}

/* The first captured bytes (mid-connection), the SYN doppel makes up, the
 * target's SYN-ACK. */
static void open_pooled(struct harness *h, const struct session_key *k, const void *tail,
			size_t tail_len)
{
	struct harness_segment synack = { .window = 65535, .opt = { .has_mss = true, .mss = 1460 } };

	harness_client_data(h, k, C0, A0, tail, tail_len);
	harness_expect(h, TCPF_SYN, ISN, 0, 0);
	harness_expect_none(h);
	assert_int_equal(h->payload_wanted, 0xffff);
	harness_target(h, k, TCPF_SYN | TCPF_ACK, HARNESS_TARGET_ISN, ISN + 1, &synack);
}

static void test_pg_pooled_scram(void **state)
{
	struct session_key k = harness_key("198.18.0.10", 41000, "198.18.1.1", 5432);
	struct harness h;
	uint8_t m[512], stream[4096];
	size_t n, high = 0;
	uint32_t t = T0;
	/* The tail of a query sent before the capture ('E', then not a length). */
	static const char tail[] = "LECT 1;";

	(void)state;
	start(&h, 5432, AUTH_PROTO_POSTGRES, "appdb");
	open_pooled(&h, &k, tail, 8);
	/* doppel's startup message, at once */
	harness_collect(&h, stream, sizeof(stream), &high);
	static const uint8_t want_startup[] = "\0\0\0\x21\0\x03\0\0user\0app\0database\0appdb\0";
	assert_int_equal(high, 33);
	assert_memory_equal(stream, want_startup, 33);

	/* SASL: doppel's SASLInitialResponse with its own nonce */
	n = pg_auth(m, 10, "SCRAM-SHA-256\0\0", 15);
	harness_target(&h, &k, TCPF_ACK | TCPF_PSH, t, ISN + 1 + 33,
		       &(struct harness_segment){ .payload = m, .payload_len = n });
	t += (uint32_t)n;
	harness_collect(&h, stream, sizeof(stream), &high);
	const uint8_t *init = stream + 33;
	assert_int_equal(init[0], 'p');
	assert_memory_equal(init + 5, "SCRAM-SHA-256\0", 14);
	size_t first_len = (size_t)init[21] << 8 | init[22];
	assert_int_equal(first_len, 8 + 24);
	assert_memory_equal(init + 23, "n,,n=,r=", 8);
	char nonce[25];
	memcpy(nonce, init + 31, 24);
	nonce[24] = 0;
	size_t init_len = 5 + 14 + 4 + first_len;
	assert_int_equal(high, 33 + init_len);

	/* server-first with the combined nonce; doppel's final message
	 * carries the proof RFC 5802 gives for the salt and "pencil" */
	char server_first[200], final_bare[200], am[600];
	snprintf(server_first, sizeof(server_first), "r=%sSERVERNONCE,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		 nonce);
	n = pg_auth(m, 11, server_first, strlen(server_first));
	harness_target(&h, &k, TCPF_ACK | TCPF_PSH, t, ISN + 1 + 33 + (uint32_t)init_len,
		       &(struct harness_segment){ .payload = m, .payload_len = n });
	t += (uint32_t)n;
	snprintf(final_bare, sizeof(final_bare), "c=biws,r=%sSERVERNONCE", nonce);
	snprintf(am, sizeof(am), "n=,r=%s,%s,%s", nonce, server_first, final_bare);
	uint8_t salt[16], proof[32], sig[32];
	int salt_len = auth_base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==", 24, salt, sizeof(salt));
	assert_int_equal(salt_len, 16);
	assert_int_equal(auth_scram_sha256((const uint8_t *)"pencil", 6, salt, 16, 4096, am,
					   strlen(am), proof, sig), 0);
	char want_final[300], proof64[64];
	auth_base64_encode(proof, 32, proof64, sizeof(proof64));
	snprintf(want_final, sizeof(want_final), "%s,p=%s", final_bare, proof64);
	harness_collect(&h, stream, sizeof(stream), &high);
	const uint8_t *fin = stream + 33 + init_len;
	assert_int_equal(fin[0], 'p');
	assert_memory_equal(fin + 5, want_final, strlen(want_final));
	size_t login_len = 33 + init_len + 5 + strlen(want_final);
	assert_int_equal(high, login_len);

	/* Meanwhile the client sent a whole query (its own segment). */
	uint8_t q1[32];
	size_t q1_len = pg_msg(q1, 'Q', "SELECT 2;", 10);
	harness_client_data(&h, &k, C0 + 8, A0 + 100, q1, q1_len);
	harness_expect_none(&h);	/* held until the login is done */

	/* SASLFinal, AuthenticationOk, a ParameterStatus, ReadyForQuery */
	n = pg_auth(m, 12, "v=xxxx", 6);
	n += pg_auth(m + n, 0, "", 0);
	n += pg_msg(m + n, 'S', "a\0b\0", 4);
	n += pg_msg(m + n, 'Z', "I", 1);
	harness_target(&h, &k, TCPF_ACK | TCPF_PSH, t, ISN + 1 + (uint32_t)login_len,
		       &(struct harness_segment){ .payload = m, .payload_len = n });
	t += (uint32_t)n;
	const struct engine_counters *c = harness_counters(&h);
	assert_int_equal(c->auth_pooled_opened, 1);
	assert_int_equal(c->auth_pooled_skipped_bytes, 8);	/* the tail */
	assert_int_equal(c->auth_logins_replayed, 0);
	assert_int_equal(c->auth_not_captured, 0);
	assert_int_equal(h.payload_wanted, 0);
	/* the query right after doppel's login; the tail never sent */
	harness_collect(&h, stream, sizeof(stream), &high);
	assert_int_equal(high, login_len + q1_len);
	assert_memory_equal(stream + login_len, q1, q1_len);

	/* Later client bytes move by delta = login_len - 8; so does the FIN. */
	uint32_t delta = (uint32_t)login_len - 8;
	harness_target_plain(&h, &k, TCPF_ACK, t, ISN + 1 + (uint32_t)(login_len + q1_len), 65535, 0);
	uint8_t q2[32];
	size_t q2_len = pg_msg(q2, 'Q', "SELECT 3;", 10);
	uint32_t q2_seq = C0 + 8 + (uint32_t)q1_len;
	harness_client_data(&h, &k, q2_seq, A0 + 200, q2, q2_len);
	const struct packet *p = harness_expect(&h, TCPF_ACK | TCPF_PSH, q2_seq + delta, t, q2_len);
	assert_memory_equal(p->payload, q2, q2_len);
	/* a retransmission of the dropped tail and the first query: nothing */
	harness_target_plain(&h, &k, TCPF_ACK, t, q2_seq + delta + (uint32_t)q2_len, 65535, 0);
	uint8_t both[64];
	memcpy(both, tail, 8);
	memcpy(both + 8, q1, q1_len);
	harness_client_data(&h, &k, C0, A0 + 100, both, 8 + q1_len);
	harness_expect_none(&h);
	harness_client_plain(&h, &k, TCPF_ACK | TCPF_FIN, q2_seq + (uint32_t)q2_len, A0 + 300);
	p = harness_next(&h);
	assert_true(p->flags & TCPF_FIN);
	assert_int_equal(p->seq, q2_seq + (uint32_t)q2_len + delta);
	harness_finish(&h);
}

static void test_mysql_pooled_native(void **state)
{
	struct session_key k = harness_key("198.18.0.10", 41001, "198.18.1.2", 3306);
	struct harness h;
	uint8_t m[512], stream[4096], greet[128];
	size_t n, high = 0;
	uint32_t t = T0;
	static const uint8_t scramble[20] = "ABCDEFGHIJKLMNOPQRST";

	(void)state;
	start(&h, 3306, AUTH_PROTO_MYSQL, "sbtest");
	/* the tail of a COM_QUERY begun before the capture: "... WHERE id=1" */
	open_pooled(&h, &k, "E id=1", 6);
	harness_expect(&h, TCPF_ACK, ISN + 1, T0, 0);
	harness_expect_none(&h);	/* MySQL: the server speaks first */

	/* greeting: protocol 10, version, id, scramble 1, filler, caps,
	 * charset, status, caps, length, reserved, scramble 2, plugin */
	size_t g = 0;
	greet[g++] = 10;
	memcpy(greet + g, "10.11.6-MariaDB\0", 16), g += 16;
	memset(greet + g, 7, 4), g += 4;
	memcpy(greet + g, scramble, 8), g += 8;
	greet[g++] = 0;
	greet[g++] = 0xff, greet[g++] = 0xf7, greet[g++] = 45, greet[g++] = 2, greet[g++] = 0;
	greet[g++] = 0xff, greet[g++] = 0x81, greet[g++] = 21;
	memset(greet + g, 0, 10), g += 10;
	memcpy(greet + g, scramble + 8, 12), g += 12;
	greet[g++] = 0;
	memcpy(greet + g, "mysql_native_password\0", 22), g += 22;
	n = my_packet(m, 0, greet, g);
	harness_target(&h, &k, TCPF_ACK | TCPF_PSH, t, ISN + 1,
		       &(struct harness_segment){ .payload = m, .payload_len = n });
	t += (uint32_t)n;
	harness_collect(&h, stream, sizeof(stream), &high);
	/* doppel's HandshakeResponse41: seq 1, user, native proof, database, plugin */
	size_t plen = stream[0] | stream[1] << 8 | stream[2] << 16;
	assert_int_equal(stream[3], 1);
	assert_int_equal(high, plen + 4);
	const uint8_t *r = stream + 4;
	uint32_t caps = r[0] | r[1] << 8 | (uint32_t)r[2] << 16 | (uint32_t)r[3] << 24;
	assert_true(caps & 0x200);	/* protocol 41 */
	assert_true(caps & 0x8);	/* with db */
	assert_false(caps & 0x800);	/* no TLS */
	assert_string_equal((const char *)r + 32, "app");
	assert_int_equal(r[36], 20);
	uint8_t want[20];
	assert_int_equal(auth_mysql_native((const uint8_t *)"pencil", 6, scramble, want), 0);
	assert_memory_equal(r + 37, want, 20);
	assert_string_equal((const char *)r + 57, "sbtest");
	assert_string_equal((const char *)r + 64, "mysql_native_password");
	assert_int_equal(plen, 64 + 22);
	size_t login_len = plen + 4;

	/* the client's next command, captured during the login */
	uint8_t q[64];
	size_t q_len = my_packet(q, 0, "\x03SELECT 1", 9);
	harness_client_data(&h, &k, C0 + 6, A0 + 50, q, q_len);
	harness_expect_none(&h);
	/* OK */
	n = my_packet(m, 2, "\0\0\0\2\0\0\0", 7);
	harness_target(&h, &k, TCPF_ACK | TCPF_PSH, t, ISN + 1 + (uint32_t)login_len,
		       &(struct harness_segment){ .payload = m, .payload_len = n });
	t += (uint32_t)n;
	assert_int_equal(harness_counters(&h)->auth_pooled_opened, 1);
	assert_int_equal(harness_counters(&h)->auth_pooled_skipped_bytes, 6);
	harness_collect(&h, stream, sizeof(stream), &high);
	assert_int_equal(high, login_len + q_len);
	assert_memory_equal(stream + login_len, q, q_len);
	/* shifted after it */
	harness_target_plain(&h, &k, TCPF_ACK, t, ISN + 1 + (uint32_t)(login_len + q_len), 65535, 0);
	size_t q2_len = my_packet(q, 0, "\x03SELECT 2", 9);
	uint32_t q2_seq = C0 + 6 + (uint32_t)q_len;
	harness_client_data(&h, &k, q2_seq, A0 + 100, q, q2_len);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, q2_seq + (uint32_t)login_len - 6, t, q2_len);
	harness_finish(&h);
}

/* A refused pooled login is counted as pooled and by cause; a session
 * whose client closes before any command boundary sends no byte of it. */
static void test_pooled_refused_and_closed(void **state)
{
	struct session_key k = harness_key("198.18.0.10", 41002, "198.18.1.1", 5432);
	struct session_key k2 = harness_key("198.18.0.10", 41003, "198.18.1.1", 5432);
	struct harness h;
	uint8_t m[256], stream[4096];
	size_t n, high = 0;
	static const uint8_t err[] = "SFATAL\0C28P01\0Mpassword authentication failed\0";

	(void)state;
	start(&h, 5432, AUTH_PROTO_POSTGRES, "");
	open_pooled(&h, &k, "Q\0\0\0\x0dSELECT 1;", 14);	/* whole: no database line */
	harness_collect(&h, stream, sizeof(stream), &high);
	assert_int_equal(high, 18);
	assert_memory_equal(stream, "\0\0\0\x12\0\x03\0\0user\0app\0\0", 18);
	n = pg_auth(m, 5, "\1\2\3\4", 4);
	harness_target(&h, &k, TCPF_ACK | TCPF_PSH, T0, ISN + 1 + 18,
		       &(struct harness_segment){ .payload = m, .payload_len = n });
	harness_collect(&h, stream, sizeof(stream), &high);
	char md5[36];
	assert_int_equal(auth_pg_md5("app", (const uint8_t *)"pencil", 6,
				     (const uint8_t *)"\1\2\3\4", md5), 0);
	assert_int_equal(stream[18], 'p');
	assert_memory_equal(stream + 18 + 5, md5, 36);
	n = pg_msg(m, 'E', err, sizeof(err));
	harness_target(&h, &k, TCPF_ACK | TCPF_PSH, T0 + 13, ISN + 1 + 18 + 41,
		       &(struct harness_segment){ .payload = m, .payload_len = n });
	assert_int_equal(harness_last_end(&h)->reason, END_AUTH_FAILED);
	assert_non_null(strstr(harness_last_end(&h)->detail, "pooled"));
	const struct engine_counters *c = harness_counters(&h);
	assert_int_equal(c->auth_pooled_failed, 1);
	assert_int_equal(c->auth_pooled_opened, 0);
	assert_int_equal(c->auth_failed[AUTH_FAIL_WRONG_PASSWORD], 1);

	/* second session: logged in, then only the tail of a command and FIN */
	harness_drain(&h);
	open_pooled(&h, &k2, "ECT 1;", 7);
	harness_drain(&h);
	n = pg_auth(m, 3, "", 0);
	harness_target(&h, &k2, TCPF_ACK | TCPF_PSH, T0, ISN + 1 + 18,
		       &(struct harness_segment){ .payload = m, .payload_len = n });
	harness_drain(&h);	/* the cleartext password: 5 + 7 */
	n = pg_auth(m, 0, "", 0);
	harness_target(&h, &k2, TCPF_ACK | TCPF_PSH, T0 + 9, ISN + 1 + 18 + 12,
		       &(struct harness_segment){ .payload = m, .payload_len = n });
	assert_int_equal(c->auth_pooled_opened, 1);
	high = 0;	/* still seeking a command: only an ack of the answer */
	assert_int_equal(harness_collect(&h, stream, sizeof(stream), &high), 0);
	harness_client_plain(&h, &k2, TCPF_ACK | TCPF_FIN, C0 + 7, A0 + 10);
	const struct packet *p = harness_next(&h);
	assert_true(p->flags & TCPF_FIN);
	assert_int_equal(p->payload_len, 0);
	assert_int_equal(p->seq, ISN + 1 + 30);	/* right after doppel's login */
	assert_int_equal(c->auth_pooled_skipped_bytes, 7);
	harness_finish(&h);
}

/* A connection encrypted before the capture: its segments are TLS
 * records, never a command; the session ends, counted as TLS. */
static void test_pooled_tls(void **state)
{
	struct session_key k = harness_key("198.18.0.10", 41004, "198.18.1.1", 5432);
	struct harness h;
	uint8_t m[64];
	size_t n;
	static const uint8_t record[] = { 0x17, 0x03, 0x03, 0x00, 0x20, 0xaa, 0xbb };

	(void)state;
	start(&h, 5432, AUTH_PROTO_POSTGRES, "");
	open_pooled(&h, &k, record, sizeof(record));
	harness_drain(&h);
	n = pg_auth(m, 0, "", 0);	/* trust: AuthenticationOk at once */
	harness_target(&h, &k, TCPF_ACK | TCPF_PSH, T0, ISN + 1 + 18,
		       &(struct harness_segment){ .payload = m, .payload_len = n });
	assert_int_equal(harness_last_end(&h)->reason, END_AUTH_FAILED);
	assert_int_equal(harness_counters(&h)->auth_failed[AUTH_FAIL_TLS], 1);
	assert_int_equal(harness_counters(&h)->auth_pooled_failed, 1);
	harness_finish(&h);
}

/* Paced (no -W): the commands held during doppel's login go each with
 * the ack its segment was captured with, counted from the boundary
 * command's: the first goes at once (the answers to the dropped tail never
 * come from the target), the next once the target answered the first as
 * long as online did. */
static void test_pooled_paced(void **state)
{
	struct session_key k = harness_key("198.18.0.10", 41005, "198.18.1.1", 5432);
	struct harness h;
	uint8_t m[64], q1[32], q2[32], stream[512];
	size_t n, high = 0;
	static const uint8_t startup[] = "\0\0\0\x12\0\x03\0\0user\0app\0\0";

	(void)state;
	harness_init(&h);
	h.cfg.auth_ports[0].port = 5432;
	h.cfg.auth_ports[0].protocol = AUTH_PROTO_POSTGRES;
	h.cfg.auth_ports[0].pooled = 1;
	h.cfg.auth_port_count = 1;
	snprintf(h.cfg.auth_pooled[AUTH_PROTO_POSTGRES].user, 8, "app");
	h.cfg.auth_password = passwords;
	harness_start(&h);
	open_pooled(&h, &k, "ECT 1;", 7);	/* the tail: dropped */
	harness_collect(&h, stream, sizeof(stream), &high);
	assert_memory_equal(stream, startup, 18);
	size_t q1_len = pg_msg(q1, 'Q', "SELECT 2;", 10);
	size_t q2_len = pg_msg(q2, 'Q', "SELECT 3;", 10);
	/* online answered the tail with 100 bytes, then q1 with 50 */
	harness_client_data(&h, &k, C0 + 7, A0 + 100, q1, q1_len);
	harness_client_data(&h, &k, C0 + 7 + (uint32_t)q1_len, A0 + 150, q2, q2_len);
	n = pg_auth(m, 0, "", 0);	/* trust */
	harness_target(&h, &k, TCPF_ACK | TCPF_PSH, T0, ISN + 1 + 18,
		       &(struct harness_segment){ .payload = m, .payload_len = n });
	uint32_t t = T0 + (uint32_t)n;
	/* q1 at once, q2 not yet */
	high = 0;
	memset(stream, 0, sizeof(stream));
	harness_collect(&h, stream, sizeof(stream), &high);
	assert_int_equal(high, 18 + q1_len);
	assert_memory_equal(stream + 18, q1, q1_len);
	/* the target answers q1 with 50 bytes: q2 goes */
	harness_target_plain(&h, &k, TCPF_ACK | TCPF_PSH, t, ISN + 1 + 18 + (uint32_t)q1_len, 65535, 50);
	high = 0;
	harness_collect(&h, stream, sizeof(stream), &high);
	assert_int_equal(high, 18 + q1_len + q2_len);
	assert_memory_equal(stream + 18 + q1_len, q2, q2_len);
	harness_finish(&h);
}

static void test_command_boundaries(void **state)
{
	uint8_t b[64];

	(void)state;
	size_t n = pg_msg(b, 'Q', "SELECT 1;", 10);
	assert_int_equal(auth_pg_command_at(b, n), 1);
	assert_int_equal(auth_pg_command_at(b, n - 1), 0);	/* incomplete */
	assert_int_equal(auth_pg_command_at(b, 3), 0);
	n += pg_msg(b + n, 'S', "", 0);
	assert_int_equal(auth_pg_command_at(b, n), 1);
	b[15] = 'x';	/* the message after it is no message */
	assert_int_equal(auth_pg_command_at(b, n), -1);
	assert_int_equal(auth_pg_command_at((const uint8_t *)"ELECT 1", 7), -1);
	assert_int_equal(auth_pg_command_at((const uint8_t *)"d\0\0\0\x05x", 6), -1);	/* COPY data */
	assert_int_equal(auth_pg_command_at((const uint8_t *)"Q\0\0\0\x06xy", 7), -1);	/* no NUL */
	assert_int_equal(auth_pg_command_at((const uint8_t *)"S\0\0\0\x05x", 6), -1);

	n = my_packet(b, 0, "\x03SELECT 1", 9);
	assert_int_equal(auth_mysql_command_at(b, n), 1);
	assert_int_equal(auth_mysql_command_at(b, n - 1), 0);
	b[3] = 1;	/* not sequence id 0: not a command's start */
	assert_int_equal(auth_mysql_command_at(b, n), -1);
	n = my_packet(b, 0, "\x42xx", 3);	/* not a command */
	assert_int_equal(auth_mysql_command_at(b, n), -1);
	n = my_packet(b, 0, "\x0e", 1);	/* COM_PING */
	assert_int_equal(auth_mysql_command_at(b, n), 1);
	n = my_packet(b, 0, "\x0ex", 2);
	assert_int_equal(auth_mysql_command_at(b, n), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pg_pooled_scram),
		cmocka_unit_test(test_mysql_pooled_native),
		cmocka_unit_test(test_pooled_refused_and_closed),
		cmocka_unit_test(test_pooled_tls),
		cmocka_unit_test(test_pooled_paced),
		cmocka_unit_test(test_command_boundaries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
