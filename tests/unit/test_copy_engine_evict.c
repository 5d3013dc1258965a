/*
 * The session cap under a SYN flood (engine.h, Memory): at max_sessions a
 * new SYN is refused, and a new session that comes with data takes the
 * place of the oldest session that sent nothing but its SYN (RST to the
 * target, END_MEMORY_LIMIT, sessions_evicted_syn; with -O a SYN does); a session
 * that has shown data is never ended to make room; when no bare session is
 * left the new one is refused as before; the byte cap is not helped by
 * evicting. And the stale connection at the target (a killed doppel-copy's):
 * its bare challenge ACK to our SYN is answered with RST <SEQ=SEG.ACK>
 * (stale_resets) and our SYN again; a FIN or RST with no session sends one
 * RST at its seq (orphan_resets).
 */
#include "engine_harness.h"
#include "copy/engine/engine_session.h"

#define CISN HARNESS_CLIENT_ISN
#define TISN HARNESS_TARGET_ISN
#define OACK (HARNESS_ONLINE_ISN + 1)

static void syn(struct harness *h, uint16_t port)
{
	struct session_key k = harness_key_v4(port);

	harness_client_plain(h, &k, TCPF_SYN, CISN, 0);
}

static bool live(struct harness *h, uint16_t port)
{
	struct session_key k = harness_key_v4(port), n;

	session_key_normalize(&n, &k);
	return session_table_find(&h->engine->table, &n) != NULL;
}

static void test_bare_syns_make_room_oldest_first(void **state)
{
	struct harness h;
	struct session_key a = harness_key_v4(46000), c = harness_key_v4(46003);
	struct session_key d = harness_key_v4(46004);

	harness_init(&h);
	h.cfg.max_sessions = 3;
	harness_start(&h);
	/* a: a real client, its request captured and held. */
	harness_establish(&h, &a, 65535);
	harness_client_data(&h, &a, CISN + 1, OACK, NULL, 100);
	harness_drain(&h);
	/* Two flood SYNs fill the cap. */
	syn(&h, 46001);
	h.now += 10;
	syn(&h, 46002);
	harness_drain(&h);
	assert_int_equal(harness_counters(&h)->sessions_active, 3);
	/* A third SYN is refused: cheap, whoever sent it. */
	syn(&h, 46003);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->sessions_refused_memory, 1);
	/* Its data: a real client. The oldest bare session (46001) makes
	 * room, with an RST for its SYN, and 46003 starts from its data. */
	harness_client_data(&h, &c, CISN + 1, OACK, NULL, 30);
	harness_expect(&h, TCPF_RST, CISN + 1, 0, 0);
	harness_expect(&h, TCPF_SYN, CISN, 0, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_last_end(&h)->reason, END_MEMORY_LIMIT);
	assert_int_equal(harness_last_end(&h)->key.client_port, 46001);
	assert_non_null(strstr(harness_last_end(&h)->detail, "nothing but its SYN"));
	assert_int_equal(harness_counters(&h)->sessions_evicted_syn, 1);
	assert_int_equal(harness_counters(&h)->sessions_missed_start, 1);
	assert_int_equal(harness_counters(&h)->sessions_active, 3);
	assert_false(live(&h, 46001));
	assert_true(live(&h, 46003));
	/* Data with no SYN seen at all does the same: 46002 goes, not a. */
	harness_client_data(&h, &d, CISN + 1, OACK, NULL, 30);
	assert_int_equal(harness_last_end(&h)->key.client_port, 46002);
	assert_true(live(&h, 46000));
	assert_true(live(&h, 46004));
	assert_int_equal(harness_counters(&h)->sessions_evicted_syn, 2);
	assert_int_equal(harness_counters(&h)->ended[END_MEMORY_LIMIT], 2);
	harness_finish(&h);
}

/* A session's first data takes it out of the bare ones, even before its
 * handshake with the target is done: it is a real client. */
static void test_data_protects_a_session(void **state)
{
	struct harness h;
	struct session_key b = harness_key_v4(46101), c = harness_key_v4(46102);
	struct session_key d = harness_key_v4(46103);

	harness_init(&h);
	h.cfg.max_sessions = 2;
	harness_start(&h);
	syn(&h, 46100);
	syn(&h, 46101);
	/* b's request, captured while its SYN to the target is unanswered. */
	harness_client_data(&h, &b, CISN + 1, OACK, NULL, 50);
	harness_drain(&h);
	/* 46100 is the only bare one: it makes room for c's data. */
	harness_client_data(&h, &c, CISN + 1, OACK, NULL, 50);
	assert_int_equal(harness_last_end(&h)->key.client_port, 46100);
	/* None bare now: d is refused, b and c stay. */
	harness_client_data(&h, &d, CISN + 1, OACK, NULL, 50);
	assert_true(live(&h, 46101));
	assert_true(live(&h, 46102));
	assert_false(live(&h, 46103));
	assert_int_equal(harness_counters(&h)->sessions_evicted_syn, 1);
	assert_int_equal(harness_counters(&h)->sessions_refused_memory, 1);
	/* b goes on: the target answers, its data is delivered. */
	harness_drain(&h);
	harness_target_plain(&h, &b, TCPF_SYN | TCPF_ACK, TISN, CISN + 1, 65535, 0);
	harness_expect(&h, TCPF_ACK, CISN + 1, TISN + 1, 0);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 1, TISN + 1, 50);
	harness_finish(&h);
}

/* No bare session left: new sessions are refused and counted, as before;
 * and a session ended any other way leaves the bare list whole. */
static void test_refused_when_all_have_data(void **state)
{
	struct harness h;
	struct session_key f = harness_key_v4(46205);

	harness_init(&h);
	h.cfg.max_sessions = 2;
	harness_start(&h);
	for (uint16_t port = 46200; port < 46202; port++) {
		struct session_key k = harness_key_v4(port);

		harness_establish(&h, &k, 65535);
		harness_client_data(&h, &k, CISN + 1, OACK, NULL, 10);
		harness_drain(&h);
	}
	harness_client_data(&h, &f, CISN + 1, OACK, NULL, 10);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->sessions_refused_memory, 1);
	assert_int_equal(harness_counters(&h)->sessions_evicted_syn, 0);
	assert_int_equal(h.end_count, 0);
	/* One ends: a bare session takes its place, then is aborted; the
	 * list must not keep it (ASan would see a use after free). */
	{
		struct session_key k = harness_key_v4(46200), n = harness_key_v4(46203);

		engine_abort(h.engine, h.now, &k, "test abort");
		syn(&h, 46203);
		engine_abort(h.engine, h.now, &n, "test abort");
		syn(&h, 46204);
		harness_client_data(&h, &f, CISN + 11, OACK, NULL, 10);
	}
	harness_drain(&h);
	assert_int_equal(harness_last_end(&h)->key.client_port, 46204);
	assert_int_equal(harness_counters(&h)->sessions_evicted_syn, 1);
	assert_true(live(&h, 46205));
	harness_finish(&h);
}

/* -O: no session starts from data, so there a new SYN takes the oldest
 * bare session's place. */
static void test_full_sessions_only_syn_makes_room(void **state)
{
	struct harness h;

	harness_init(&h);
	h.cfg.max_sessions = 2;
	h.cfg.full_sessions_only = true;
	harness_start(&h);
	syn(&h, 46600);
	syn(&h, 46601);
	harness_drain(&h);
	syn(&h, 46602);
	harness_expect(&h, TCPF_RST, CISN + 1, 0, 0);
	harness_expect(&h, TCPF_SYN, CISN, 0, 0);
	assert_int_equal(harness_last_end(&h)->key.client_port, 46600);
	assert_int_equal(harness_counters(&h)->sessions_evicted_syn, 1);
	assert_int_equal(harness_counters(&h)->sessions_refused_memory, 0);
	harness_finish(&h);
}

/* At the byte cap a bare session cannot help: nothing is evicted. */
static void test_byte_cap_evicts_nothing(void **state)
{
	struct harness h;
	struct session_key a = harness_key_v4(46300);

	harness_init(&h);
	h.cfg.max_sessions = 2;
	h.cfg.max_buffered_bytes = 100;
	harness_start(&h);
	harness_establish(&h, &a, 65535);
	syn(&h, 46301);
	harness_client_data(&h, &a, CISN + 1, OACK, NULL, 100);
	harness_drain(&h);
	syn(&h, 46302);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->sessions_evicted_syn, 0);
	assert_int_equal(harness_counters(&h)->sessions_refused_memory, 1);
	assert_true(live(&h, 46301));
	harness_finish(&h);
}

/* A flood of bare SYNs, many times the cap, with real clients among them
 * whose data comes 3 SYNs after their own: past the cap every SYN is
 * refused (cheap), every real client starts from its data in the place of
 * a flood session, and all of them are kept. */
static void test_flood_keeps_real_clients(void **state)
{
	struct harness h;
	unsigned real = 0;

	harness_init(&h);
	h.cfg.max_sessions = 64;
	harness_start(&h);
	for (unsigned i = 0; i < 5000; i++) {
		syn(&h, (uint16_t)(10000 + i));
		if (i % 125 == 10) {
			real++;
		} else if (i % 125 == 13) {
			struct session_key k = harness_key_v4((uint16_t)(10000 + i - 3));

			harness_client_data(&h, &k, CISN + 1, OACK, NULL, 20);
		}
		h.now++;
		harness_drain(&h);
		assert_true(harness_counters(&h)->sessions_active <= 64);
	}
	assert_int_equal(real, 40);
	for (unsigned i = 10; i < 5000; i += 125)
		assert_true(live(&h, (uint16_t)(10000 + i)));
	/* The first 64 SYNs started (one of them real); the other 4936 were
	 * refused, the 39 real ones among them started from their data, each
	 * in a flood session's place. */
	assert_int_equal(harness_counters(&h)->sessions_refused_memory, 5000 - 64);
	assert_int_equal(harness_counters(&h)->sessions_evicted_syn, 39);
	assert_int_equal(harness_counters(&h)->sessions_started, 64 + 39);
	assert_int_equal(harness_counters(&h)->sessions_active, 64);
	harness_finish(&h);
}

/* The target still holds the ports' connection (a killed doppel-copy's,
 * established): our SYN gets a bare challenge ACK whose ack is what that
 * connection expects next. RST <SEQ=SEG.ACK> frees it, our SYN goes again. */
static void test_challenge_ack_is_reset(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(46400);

	harness_init(&h);
	harness_start(&h);
	/* A restarted copy: the kept-alive connection's next request, no SYN. */
	harness_client_data(&h, &k, CISN + 5001, OACK, NULL, 100);
	harness_expect(&h, TCPF_SYN, CISN + 5000, 0, 0);
	harness_expect_none(&h);
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 900, CISN + 4000, 502, 0);
	harness_expect(&h, TCPF_RST, CISN + 4000, 0, 0);
	harness_expect(&h, TCPF_SYN, CISN + 5000, 0, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->stale_resets, 1);
	assert_int_equal(h.end_count, 0);
	/* The usual case after a restart: the dead copy had delivered all
	 * before this request, so the stale connection's ack is our ISN + 1
	 * (the made-up SYN is the data's seq - 1). Without SYN it is still
	 * the other connection's: reset it the same way. */
	harness_target_plain(&h, &k, TCPF_ACK, TISN + 900, CISN + 5001, 502, 0);
	harness_expect(&h, TCPF_RST, CISN + 5001, 0, 0);
	harness_expect(&h, TCPF_SYN, CISN + 5000, 0, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->stale_resets, 2);
	/* Now the fresh connection. */
	harness_target_plain(&h, &k, TCPF_SYN | TCPF_ACK, TISN, CISN + 5001, 65535, 0);
	harness_expect(&h, TCPF_ACK, CISN + 5001, TISN + 1, 0);
	harness_expect(&h, TCPF_ACK | TCPF_PSH, CISN + 5001, TISN + 1, 100);
	harness_finish(&h);
}

/* A restarted copy sees the FIN (or RST) of a connection the dead one was
 * replaying and no data before it: one RST at the FIN's seq to the target,
 * once per 4-tuple; nothing for a live session's FIN. */
static void test_orphan_fin_or_rst_is_reset_once(void **state)
{
	struct harness h;
	struct session_key k = harness_key_v4(46500), r = harness_key_v4(46501);
	struct session_key live_key = harness_key_v4(46502);

	harness_init(&h);
	harness_start(&h);
	harness_client_plain(&h, &k, TCPF_FIN | TCPF_ACK, CISN + 7001, OACK);
	harness_expect(&h, TCPF_RST, CISN + 7001, 0, 0);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->orphan_resets, 1);
	assert_int_equal(harness_counters(&h)->sessions_started, 0);
	/* Its FIN again, and its last ACK: nothing more. */
	harness_client_plain(&h, &k, TCPF_FIN | TCPF_ACK, CISN + 7001, OACK);
	harness_client_plain(&h, &k, TCPF_ACK, CISN + 7002, OACK + 1);
	harness_expect_none(&h);
	assert_int_equal(harness_counters(&h)->orphan_resets, 1);
	/* A client's RST likewise. */
	harness_client_plain(&h, &r, TCPF_RST, CISN + 9, 0);
	harness_expect(&h, TCPF_RST, CISN + 9, 0, 0);
	assert_int_equal(harness_counters(&h)->orphan_resets, 2);
	/* A live session's FIN is its own. */
	harness_establish(&h, &live_key, 65535);
	harness_client_plain(&h, &live_key, TCPF_FIN | TCPF_ACK, CISN + 1, OACK);
	harness_expect(&h, TCPF_FIN | TCPF_ACK, CISN + 1, TISN + 1, 0);
	assert_int_equal(harness_counters(&h)->orphan_resets, 2);
	harness_finish(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bare_syns_make_room_oldest_first),
		cmocka_unit_test(test_data_protects_a_session),
		cmocka_unit_test(test_refused_when_all_have_data),
		cmocka_unit_test(test_full_sessions_only_syn_makes_room),
		cmocka_unit_test(test_byte_cap_evicts_nothing),
		cmocka_unit_test(test_flood_keeps_real_clients),
		cmocka_unit_test(test_challenge_ack_is_reset),
		cmocka_unit_test(test_orphan_fin_or_rst_is_reset_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
