/*
 * test_copy_engine_auth_reset.c — a client that resets its connection
 * while its login is still being replayed. One that logged in and sent
 * its commands before the RST (online ran them) has them replayed: the
 * RST waits for the login and for the target to take the held bytes, and
 * the login is counted. One that reset in the middle of its login ends as
 * a client's reset as soon as the module wants bytes it will never send,
 * not at the session's timeout.
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
	if (strcmp(user, "user"))
		return -1;
	*pw = (const uint8_t *)"pencil";
	*len = 6;
	return 0;
}

#define C0 (HARNESS_CLIENT_ISN + 1)
#define T0 (HARNESS_TARGET_ISN + 1)
#define A0 (HARNESS_ONLINE_ISN + 1)

static const uint8_t startup[] = "\0\0\0\x1b\0\x03\0\0user\0user\0database\0db\0";	/* 27 */

static void start(struct harness *h, const struct session_key *k, enum auth_protocol proto)
{
	harness_init(h);
	h->cfg.auth_ports[0].port = k->target_port;
	h->cfg.auth_ports[0].protocol = proto;
	h->cfg.auth_port_count = 1;
	h->cfg.auth_password = passwords;
	h->cfg.send_at_once = true;
	harness_start(h);
	harness_establish(h, k, 65535);
}

static void target_msg(struct harness *h, const struct session_key *k, uint32_t seq, uint32_t ack,
		       const uint8_t *m, size_t n)
{
	harness_target(h, k, TCPF_ACK | TCPF_PSH, seq, ack,
		       &(struct harness_segment){ .payload = m, .payload_len = n });
}

/* Whether an RST went to the target, and the furthest client byte sent. */
static bool collect(struct harness *h, uint8_t *stream, size_t cap, size_t *high)
{
	bool rst = false;

	while (harness_unread(h)) {
		const struct packet *p = harness_next(h);
		uint32_t off = p->seq - C0;

		rst |= (p->flags & TCPF_RST) != 0;
		if (!p->payload_len)
			continue;
		assert_true(off + p->payload_len <= cap);
		memcpy(stream + off, p->payload, p->payload_len);
		if (off + p->payload_len > *high)
			*high = off + p->payload_len;
	}
	return rst;
}

/* md5: startup, password and a query captured, then the client's RST,
 * all before the target asked for the password (it acked the startup
 * packet: all the stream held was delivered, and the RST used to go at
 * once). */
static void test_reset_after_commands(void **state)
{
	struct session_key k = harness_key("198.18.0.10", 42000, "198.18.1.1", 5432);
	struct harness h;
	uint8_t m[256], stream[512];
	uint32_t c = C0, t = T0;
	size_t n, q, high = 0;

	(void)state;
	start(&h, &k, AUTH_PROTO_POSTGRES);
	harness_client_data(&h, &k, c, A0, startup, 27);
	c += 27;
	n = pg_msg(m, 'p', "md5000000000000000000000000000000000", 36);
	harness_client_data(&h, &k, c, A0 + 20, m, n);
	c += (uint32_t)n;
	q = pg_msg(m, 'Q', "SELECT 1;", 10);
	harness_client_data(&h, &k, c, A0 + 40, m, q);
	c += (uint32_t)q;
	/* the target took the startup packet, its request not yet sent */
	harness_target_plain(&h, &k, TCPF_ACK, t, C0 + 27, 65535, 0);
	harness_client_plain(&h, &k, TCPF_RST, c, 0);
	assert_int_equal(h.end_count, 0);	/* it waits for the login */
	n = pg_auth(m, 5, "\1\2\3\4", 4);
	target_msg(&h, &k, t, C0 + 27, m, n);
	t += (uint32_t)n;
	assert_int_equal(h.end_count, 0);
	n = pg_auth(m, 0, "", 0);
	target_msg(&h, &k, t, C0 + 27 + 41, m, n);
	t += (uint32_t)n;
	assert_int_equal(harness_counters(&h)->auth_logins_replayed, 1);
	/* the query went; the RST only once the target took it */
	assert_false(collect(&h, stream, sizeof(stream), &high));
	assert_int_equal(high, c - C0);
	assert_int_equal(stream[27 + 41], 'Q');
	assert_int_equal(h.end_count, 0);
	harness_target_plain(&h, &k, TCPF_ACK, t, c, 65535, 0);
	assert_true(collect(&h, stream, sizeof(stream), &high));
	assert_int_equal(h.end_count, 1);
	assert_int_equal(harness_last_end(&h)->reason, END_CLOSED);
	for (int f = 0; f < AUTH_FAIL_COUNT; f++)
		assert_int_equal(harness_counters(&h)->auth_failed[f], 0);
	harness_finish(&h);
}

/* The client reset after its startup packet only (online asked for the
 * password it never sent): the target's request ends the session as the
 * client's reset, at once. */
static void test_reset_mid_login(void **state)
{
	struct session_key k = harness_key("198.18.0.10", 42001, "198.18.1.1", 5432);
	struct harness h;
	uint8_t m[64];
	size_t n;

	(void)state;
	start(&h, &k, AUTH_PROTO_POSTGRES);
	harness_client_data(&h, &k, C0, A0, startup, 27);
	harness_client_plain(&h, &k, TCPF_RST, C0 + 27, 0);
	assert_int_equal(h.end_count, 0);
	n = pg_auth(m, 5, "\1\2\3\4", 4);
	target_msg(&h, &k, T0, C0 + 27, m, n);
	assert_int_equal(h.end_count, 1);
	assert_int_equal(harness_last_end(&h)->reason, END_CLOSED);
	assert_non_null(strstr(harness_last_end(&h)->detail, "during its login"));
	assert_int_equal(harness_counters(&h)->auth_logins_replayed, 0);
	harness_finish(&h);

	/* reset before a byte of its startup packet: ends at once */
	k.client_port++;
	start(&h, &k, AUTH_PROTO_POSTGRES);
	harness_client_plain(&h, &k, TCPF_RST, C0, 0);
	assert_int_equal(h.end_count, 1);
	assert_int_equal(harness_last_end(&h)->reason, END_CLOSED);
	harness_finish(&h);

	/* half a startup packet: the module wants the rest: at once */
	k.client_port++;
	start(&h, &k, AUTH_PROTO_POSTGRES);
	harness_client_data(&h, &k, C0, A0, startup, 10);
	harness_client_plain(&h, &k, TCPF_RST, C0 + 10, 0);
	assert_int_equal(h.end_count, 1);
	harness_finish(&h);
}

/* MySQL: the server speaks first. A client that reset before the greeting
 * came waits for it; then the module wants the client's handshake
 * response, which never comes. */
static void test_reset_mysql_before_greeting(void **state)
{
	struct session_key k = harness_key("198.18.0.10", 42010, "198.18.1.1", 3306);
	struct harness h;
	uint8_t g[128];
	size_t n = 0;

	(void)state;
	start(&h, &k, AUTH_PROTO_MYSQL);
	harness_client_plain(&h, &k, TCPF_RST, C0, 0);
	assert_int_equal(h.end_count, 0);
	/* a greeting: protocol 10, version, thread id, scramble, caps ... */
	g[4 + n++] = 10;
	memcpy(g + 4 + n, "10.11\0", 6), n += 6;
	memset(g + 4 + n, 1, 4), n += 4;
	memcpy(g + 4 + n, "abcdefgh\0", 9), n += 9;
	g[4 + n++] = 0x00, g[4 + n++] = 0xa2;	/* caps: 4.1, secure connection */
	g[4 + n++] = 33, g[4 + n++] = 2, g[4 + n++] = 0;
	g[4 + n++] = 0x08, g[4 + n++] = 0x00;	/* caps high: plugin auth */
	g[4 + n++] = 21;
	memset(g + 4 + n, 0, 10), n += 10;
	memcpy(g + 4 + n, "ijklmnopqrst\0", 13), n += 13;
	memcpy(g + 4 + n, "mysql_native_password\0", 22), n += 22;
	g[0] = (uint8_t)n, g[1] = 0, g[2] = 0, g[3] = 0;
	target_msg(&h, &k, T0, C0, g, n + 4);
	assert_int_equal(h.end_count, 1);
	assert_int_equal(harness_last_end(&h)->reason, END_CLOSED);
	assert_int_equal(harness_counters(&h)->auth_failed[AUTH_FAIL_PROTOCOL], 0);
	harness_finish(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_after_commands),
		cmocka_unit_test(test_reset_mid_login),
		cmocka_unit_test(test_reset_mysql_before_greeting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
