/*
 * test_copy_capture_fanout.c — two afpacket captures in one PACKET_FANOUT
 * group (--workers) on a real veth in a private namespace (skipped without
 * root; netns_fixture.h): frames injected from dpb reach dpa's two sockets.
 *
 * What is checked: by flow, every packet of one flow (both directions)
 * reaches the same socket, and 24 flows use both; by address (the classic
 * BPF program, IPv4 and IPv6), every packet between two addresses reaches
 * the same socket whatever its ports, and 8 client addresses use both; no
 * packet is delivered twice or lost; a socket of another mode cannot join
 * the group, and says so.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "copy/capture/capture.h"
#include "loop_fixture.h"
#include "netns_fixture.h"

#define WAIT_MS 3000
#define GROUP 4242

static const char *skip_reason;

struct sink {
	struct loop *loop;
	int index;		/* which of the two sockets */
	int *total, want;
	/* the socket each key went to, -1 until seen: key = client byte * 64 + port % 64 */
	int *owner;
	bool by_address;	/* the key ignores the port */
	int count;
	bool split;		/* one key reached both sockets */
};

static int setup_link(void **state)
{
	netns_veth_pair(&skip_reason);
	return 0;
}

/* The client side of a packet: the end that is not 198.18.0.1 / 2001:2::1. */
static void on_deliver(void *ctx, uint64_t ts_us, const struct packet *p)
{
	struct sink *s = ctx;
	bool from_client = p->dport == 80;
	const struct dp_addr *client = from_client ? &p->src : &p->dst;
	uint16_t port = from_client ? p->sport : p->dport;
	int len = client->family == AF_INET6 ? 16 : 4;
	int key = client->bytes[len - 1] * 64 + (s->by_address ? 0 : port % 64);

	s->count++;
	if (s->owner[key] < 0)
		s->owner[key] = s->index;
	else if (s->owner[key] != s->index)
		s->split = true;
	if (++*s->total == s->want)
		loop_stop(s->loop);
}

static void stop_loop(struct loop *l, uint64_t id, void *arg)
{
	loop_stop(l);
}

static int join(struct capture *c, struct loop *l, struct sink *s, enum capture_fanout how,
		char *err, size_t errlen)
{
	struct capture_config cfg = { .kind = CAPTURE_AFPACKET, .device = "dpa",
				      .filter = "tcp", .ring_bytes = 4u << 20,
				      .fanout = how, .fanout_group = GROUP };

	memset(c, 0, sizeof(*c));
	c->ops = capture_ops_for(CAPTURE_AFPACKET);
	c->deliver = on_deliver;
	c->ctx = s;
	return c->ops->open(c, l, &cfg, err, errlen);
}

static void inject(const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
	uint8_t ip[200], frame[220];
	size_t len = fixture_tcp_packet(ip, sizeof(ip), src, sport, dst, dport, 1, 10);

	fixture_inject("dpb", frame, fixture_ethernet_frame(frame, sizeof(frame), netns_mac_a,
							    netns_mac_b, ip, len));
}

/* Open two sockets in the group, inject, run until every packet came (or
 * WAIT_MS), and check: none twice, none lost, no key split, both used. */
static void run(struct loop *l, enum capture_fanout how, bool v6, int clients, int ports)
{
	static int owner[256 * 64];
	struct capture c[2];
	struct sink s[2];
	int total = 0, want = clients * ports * 2;
	char err[256];

	memset(owner, 0xff, sizeof(owner));
	for (int i = 0; i < 2; i++) {
		s[i] = (struct sink){ l, i, &total, want, owner, how == CAPTURE_FANOUT_ADDRESS, 0, false };
		if (join(&c[i], l, &s[i], how, err, sizeof(err)) != 0)
			fail_msg("open %d: %s", i, err);
	}
	for (int a = 0; a < clients; a++) {
		char client[64];

		snprintf(client, sizeof(client), v6 ? "2001:2::%x" : "198.18.7.%d", 10 + a);
		for (int p = 0; p < ports; p++) {
			/* the request and the answer, as a capture with --compare sees them */
			inject(client, (uint16_t)(40000 + p), v6 ? "2001:2::1" : "198.18.0.1", 80);
			inject(v6 ? "2001:2::1" : "198.18.0.1", 80, client, (uint16_t)(40000 + p));
		}
	}
	uint64_t timer = loop_timer_add(l, WAIT_MS, stop_loop, NULL);
	assert_int_equal(loop_run(l), 0);
	loop_timer_cancel(l, timer);
	assert_int_equal(s[0].count + s[1].count, want);
	assert_false(s[0].split || s[1].split);
	assert_true(s[0].count > 0 && s[1].count > 0);
	for (int i = 0; i < 2; i++)
		c[i].ops->close(&c[i]);
}

static void test_by_flow(void **state)
{
	if (skip_reason)
		skip();
	run(*state, CAPTURE_FANOUT_FLOW, false, 1, 24);
}

static void test_by_address_ipv4(void **state)
{
	if (skip_reason)
		skip();
	run(*state, CAPTURE_FANOUT_ADDRESS, false, 8, 6);
}

static void test_by_address_ipv6(void **state)
{
	if (skip_reason)
		skip();
	run(*state, CAPTURE_FANOUT_ADDRESS, true, 8, 6);
}

static void test_other_mode_refused(void **state)
{
	struct capture a, b;
	struct sink s = { 0 };
	char err[256] = "";

	if (skip_reason)
		skip();
	assert_int_equal(join(&a, *state, &s, CAPTURE_FANOUT_ADDRESS, err, sizeof(err)), 0);
	assert_int_not_equal(join(&b, *state, &s, CAPTURE_FANOUT_FLOW, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "PACKET_FANOUT, group 4242"));
	a.ops->close(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_by_flow, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_by_address_ipv4, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_by_address_ipv6, fixture_setup_loop,
						fixture_teardown_loop),
		cmocka_unit_test_setup_teardown(test_other_mode_refused, fixture_setup_loop,
						fixture_teardown_loop),
	};

	return cmocka_run_group_tests(tests, setup_link, NULL);
}
