/*
 * test_copy_send_raw.c — the raw send backend and the queue it shares
 * with the packet backend (send_raw.c, send.c), sending for real on
 * netns_veth_pair()'s link in a namespace private to this process
 * (skipped without root). An observer socket on dpb sees what left dpa.
 *
 * What is checked: packets go out in sendmmsg batches (full batches at
 * queue time, the rest at send_flush), byte for byte; the kernel's
 * refusals (ENETUNREACH with no route, EMSGSIZE over the link's MTU, EPERM
 * from an nftables drop rule in the namespace) are
 * counted and reported once per session, from send_flush only; a fail
 * callback may queue more (an RST) and it goes out in the same flush; the
 * mtu check refuses at queue time; IPv6 goes through its own socket;
 * nonsense is refused; send_close sends what is still queued.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netns_fixture.h"
#include "copy/send/send.h"

#define WAIT_MS 3000

static const char *skip_reason;

static int setup_link(void **state)
{
	netns_veth_pair(&skip_reason);
	return 0;
}

struct failures {
	int calls;
	int err[16];
	struct session_key key[16];
	/* Set to queue one packet from the callback, as the daemon's
	 * engine_abort does with its RST. */
	struct sender *sender;
	const uint8_t *queue_pkt;
	size_t queue_len;
};

static void on_fail(void *ctx, const struct session_key *k, int err)
{
	struct failures *f = ctx;
	struct session_key rst_key = { .client_port = 9 };

	assert_true(f->calls < 16);
	f->err[f->calls] = err;
	f->key[f->calls] = *k;
	f->calls++;
	if (f->queue_pkt)
		assert_int_equal(send_queue(f->sender, &rst_key, f->queue_pkt, f->queue_len),
				 ENGINE_SEND_OK);
}

static struct sender *open_raw(unsigned batch, uint32_t mtu, struct failures *f)
{
	struct send_config cfg = { .kind = SEND_RAW, .batch = batch, .mtu = mtu };
	char err[256] = "";
	struct sender *s;

	memset(f, 0, sizeof(*f));
	s = send_open(&cfg, on_fail, f, err, sizeof(err));
	if (!s)
		fail_msg("send_open: %s", err);
	f->sender = s;
	return s;
}

static struct session_key key_for(uint16_t client_port)
{
	struct session_key k;

	memset(&k, 0, sizeof(k));
	dp_addr_parse("198.18.0.1", &k.client);
	dp_addr_parse("198.18.0.2", &k.target);
	k.client_port = client_port;
	k.target_port = 80;
	return k;
}

static void test_batches_and_delivers(void **state)
{
	struct session_key key = key_for(40000);
	struct failures f;
	struct sender *s;
	int observer;
	uint8_t pkt[200], seen[300];
	size_t len = 0, seen_len = 0, total = 0;

	if (skip_reason)
		skip();
	observer = fixture_observer_open("dpb");
	s = open_raw(4, 0, &f);
	for (uint32_t i = 0; i < 10; i++) {
		len = fixture_tcp_packet(pkt, sizeof(pkt), "198.18.0.1", 40000, "198.18.0.2", 80,
					 1000 + i * 10, 10);
		total += len;
		assert_int_equal(send_queue(s, &key, pkt, len), ENGINE_SEND_OK);
	}
	/* The 5th and the 9th packet found a full batch and sent it. */
	assert_int_equal(send_counters(s)->packets, 8);
	assert_int_equal(send_counters(s)->batches, 2);
	send_flush(s);
	assert_int_equal(send_counters(s)->packets, 10);
	assert_int_equal(send_counters(s)->batches, 3);
	assert_int_equal(send_counters(s)->bytes, total);
	assert_int_equal(f.calls, 0);
	assert_int_equal(fixture_observer_count(observer, 80, 10, WAIT_MS, seen, sizeof(seen),
						&seen_len), 10);
	/* The last one as it was queued (the kernel fills only a zero IP
	 * id and the IP checksum: compare from the TCP header on). */
	assert_int_equal(seen_len, 14 + len);
	assert_memory_equal(seen + 14 + 20, pkt + 20, len - 20);
	send_close(s);
	close(observer);
}

static void test_refusals_reported_on_flush(void **state)
{
	struct session_key a = key_for(1), b = key_for(2);
	struct failures f;
	struct sender *s;
	uint8_t pkt[200];
	/* 198.19.0.0/16 has no route in the namespace. */
	size_t len = fixture_tcp_packet(pkt, sizeof(pkt), "198.18.0.1", 1, "198.19.0.1", 80, 1, 0);

	if (skip_reason)
		skip();
	s = open_raw(2, 0, &f);
	for (int i = 0; i < 3; i++)
		assert_int_equal(send_queue(s, &a, pkt, len), ENGINE_SEND_OK);
	for (int i = 0; i < 2; i++)
		assert_int_equal(send_queue(s, &b, pkt, len), ENGINE_SEND_OK);
	/* Two full batches went at queue time, and were refused: nobody
	 * was told yet (send_queue runs inside the engine). */
	assert_int_equal(send_counters(s)->failed, 4);
	assert_int_equal(f.calls, 0);
	send_flush(s);
	assert_int_equal(send_counters(s)->failed, 5);
	assert_int_equal(send_counters(s)->packets, 0);
	/* Once per session, in the order they failed. */
	assert_int_equal(f.calls, 2);
	assert_int_equal(f.err[0], ENETUNREACH);
	assert_int_equal(f.err[1], ENETUNREACH);
	assert_memory_equal(&f.key[0], &a, sizeof(a));
	assert_memory_equal(&f.key[1], &b, sizeof(b));
	/* Reported once: a second flush has nothing to say. */
	send_flush(s);
	assert_int_equal(f.calls, 2);
	send_close(s);
}

static void test_firewall_refusal(void **state)
{
	struct session_key a = key_for(8);
	struct failures f;
	struct sender *s;
	uint8_t pkt[200];
	size_t len = fixture_tcp_packet(pkt, sizeof(pkt), "198.18.0.1", 8, "198.18.0.2", 82, 1, 0);

	if (skip_reason)
		skip();
	/* A firewall on the output path, as TCPCopy users meet it: EPERM. */
	netns_sh("nft -f - <<'EOF'\n"
		 "table inet doppel_test {\n"
		 "  chain out { type filter hook output priority 0; tcp dport 82 drop; }\n"
		 "}\n"
		 "EOF");
	s = open_raw(0, 0, &f);
	assert_int_equal(send_queue(s, &a, pkt, len), ENGINE_SEND_OK);
	send_flush(s);
	netns_sh("nft delete table inet doppel_test");
	assert_int_equal(send_counters(s)->failed, 1);
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.err[0], EPERM);
	send_close(s);
}

static void test_fail_callback_may_queue(void **state)
{
	struct session_key a = key_for(3);
	struct failures f;
	struct sender *s;
	uint8_t bad[200], rst[200];
	size_t bad_len = fixture_tcp_packet(bad, sizeof(bad), "198.18.0.1", 3, "198.19.0.1", 80, 1, 0);
	int observer;

	if (skip_reason)
		skip();
	observer = fixture_observer_open("dpb");
	s = open_raw(8, 0, &f);
	f.queue_len = fixture_tcp_packet(rst, sizeof(rst), "198.18.0.1", 3, "198.18.0.2", 80, 7, 0);
	f.queue_pkt = rst;
	assert_int_equal(send_queue(s, &a, bad, bad_len), ENGINE_SEND_OK);
	send_flush(s);
	assert_int_equal(f.calls, 1);
	/* What the callback queued went out in the same flush. */
	assert_int_equal(send_counters(s)->packets, 1);
	assert_int_equal(fixture_observer_count(observer, 80, 1, WAIT_MS, NULL, 0, NULL), 1);
	send_close(s);
	close(observer);
}

static void test_too_big(void **state)
{
	struct session_key a = key_for(4);
	struct failures f;
	struct sender *s;
	uint8_t pkt[1500];
	size_t len = fixture_tcp_packet(pkt, sizeof(pkt), "198.18.0.1", 4, "198.18.0.2", 80, 1, 1360);

	if (skip_reason)
		skip();
	/* The kernel's check: 1400 bytes over a 1280-byte link. */
	netns_sh("ip link set dpa mtu 1280");
	s = open_raw(0, 0, &f);
	assert_int_equal(send_queue(s, &a, pkt, len), ENGINE_SEND_OK);
	send_flush(s);
	netns_sh("ip link set dpa mtu 1500");
	assert_int_equal(send_counters(s)->too_big, 1);
	assert_int_equal(send_counters(s)->failed, 0);
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.err[0], EMSGSIZE);
	send_close(s);

	/* Ours, at queue time, when an mtu is configured. */
	s = open_raw(0, 1000, &f);
	assert_int_equal(send_queue(s, &a, pkt, len), ENGINE_SEND_TOO_BIG);
	send_flush(s);
	assert_int_equal(send_counters(s)->batches, 0);
	assert_int_equal(f.calls, 0);
	send_close(s);
}

static void test_ipv6(void **state)
{
	struct session_key a = key_for(5);
	struct failures f;
	struct sender *s;
	uint8_t pkt[200];
	size_t len;
	int observer;

	if (skip_reason)
		skip();
	/* To ::1 over the namespace's own lo, and to an unrouted address. */
	observer = fixture_observer_open("lo");
	s = open_raw(0, 0, &f);
	len = fixture_tcp_packet(pkt, sizeof(pkt), "::1", 5, "::1", 80, 1, 8);
	assert_int_equal(send_queue(s, &a, pkt, len), ENGINE_SEND_OK);
	len = fixture_tcp_packet(pkt, sizeof(pkt), "::1", 5, "2001:2::1", 80, 1, 8);
	assert_int_equal(send_queue(s, &a, pkt, len), ENGINE_SEND_OK);
	send_flush(s);
	assert_int_equal(send_counters(s)->packets, 1);
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.err[0], ENETUNREACH);
	assert_true(fixture_observer_count(observer, 80, 1, WAIT_MS, NULL, 0, NULL) == 1);
	send_close(s);
	close(observer);
}

static void test_nonsense_refused(void **state)
{
	struct session_key a = key_for(6);
	struct failures f;
	struct sender *s;
	static uint8_t pkt[70000];
	size_t len;

	if (skip_reason)
		skip();
	s = open_raw(0, 0, &f);
	len = fixture_tcp_packet(pkt, sizeof(pkt), "198.18.0.1", 6, "198.18.0.2", 80, 1, 0);
	pkt[0] = 0x55;	/* IP version 5 */
	assert_int_equal(send_queue(s, &a, pkt, len), ENGINE_SEND_FAILED);
	pkt[0] = 0x45;
	assert_int_equal(send_queue(s, &a, pkt, 19), ENGINE_SEND_FAILED);
	assert_int_equal(send_queue(s, &a, pkt, 0), ENGINE_SEND_FAILED);
	assert_int_equal(send_queue(s, &a, pkt, sizeof(pkt)), ENGINE_SEND_FAILED);
	send_flush(s);
	assert_int_equal(send_counters(s)->batches, 0);
	assert_int_equal(f.calls, 0);
	send_close(s);
	send_close(NULL);
}

static void test_close_sends_queued(void **state)
{
	struct session_key a = key_for(7);
	struct failures f;
	struct sender *s;
	uint8_t pkt[200];
	size_t len = fixture_tcp_packet(pkt, sizeof(pkt), "198.18.0.1", 7, "198.18.0.2", 81, 1, 0);
	int observer;

	if (skip_reason)
		skip();
	observer = fixture_observer_open("dpb");
	s = open_raw(0, 0, &f);
	assert_int_equal(send_queue(s, &a, pkt, len), ENGINE_SEND_OK);
	assert_int_equal(send_queue(s, &a, pkt, len), ENGINE_SEND_OK);
	send_close(s);
	assert_int_equal(fixture_observer_count(observer, 81, 2, WAIT_MS, NULL, 0, NULL), 2);
	close(observer);
}

static void test_open_refused(void **state)
{
	struct send_config cfg = { .kind = SEND_RAW, .batch = 5000 };
	struct failures f;
	char err[256] = "";

	assert_null(send_open(&cfg, on_fail, &f, err, sizeof(err)));
	assert_non_null(strstr(err, "batch 5000"));
	cfg.batch = 0;
	assert_null(send_open(&cfg, NULL, &f, err, sizeof(err)));
	assert_non_null(strstr(err, "fail callback"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batches_and_delivers),
		cmocka_unit_test(test_refusals_reported_on_flush),
		cmocka_unit_test(test_firewall_refusal),
		cmocka_unit_test(test_fail_callback_may_queue),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_nonsense_refused),
		cmocka_unit_test(test_close_sends_queued),
		cmocka_unit_test(test_open_refused),
	};

	return cmocka_run_group_tests(tests, setup_link, NULL);
}
