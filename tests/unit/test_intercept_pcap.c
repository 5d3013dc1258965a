/*
 * test_intercept_pcap.c — the pcap response source on a real veth pair in
 * a network namespace private to this process (skipped without root).
 * The source listens on dpa; frames are injected at dpb and arrive on dpa.
 *
 *   dpa 198.18.0.1 (source here) <──veth──> dpb (frames injected here)
 *
 * What it checks: a response is delivered parsed, headers in place and its
 * payload length from the IP header; -F filters; UDP does not pass the
 * default "tcp"; what dpa itself sends is not taken for a response; a TCP
 * header the parser refuses is counted malformed, not delivered; and a
 * device that goes away reaches the fail callback once and is no longer
 * watched (no spinning).
 *
 * Negative checks need no clock: frames on a veth arrive in order, so each
 * case ends with a frame that must be delivered; when it is, everything
 * sent before it has been seen or refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/runtime/loop.h"
#include "netns_fixture.h"
#include "lib/net/packet.h"
#include "intercept/source/source.h"

#define MARKER_PORT 9999	/* the last frame of each case goes to this port */

struct seen {
	struct loop *loop;
	int delivered;
	uint16_t dports[32];
	size_t payload_len[32], payload_present[32], headers_len[32];
	int fails;
	char why[256];
};

static const char *skip_reason;

static void on_deliver(void *ctx, const struct packet *p)
{
	struct seen *s = ctx;

	if (s->delivered < 32) {
		s->dports[s->delivered] = p->dport;
		s->payload_len[s->delivered] = p->payload_len;
		s->payload_present[s->delivered] = p->payload_present;
		s->headers_len[s->delivered] = p->ip_header_len + p->tcp_header_len;
	}
	s->delivered++;
	/* the headers are readable where the source said */
	assert_int_equal(p->l3[0] >> 4, 4);
	assert_ptr_equal(p->tcp, p->l3 + p->ip_header_len);
	if (p->dport == MARKER_PORT)
		loop_stop(s->loop);
}

static void on_fail(void *ctx, const char *why)
{
	struct seen *s = ctx;

	s->fails++;
	snprintf(s->why, sizeof(s->why), "%s", why);
	loop_stop(s->loop);
}

static int setup(void **state)
{
	netns_veth_pair(&skip_reason);
	return 0;
}

static void open_source(struct source *src, struct seen *s, const char *device,
			const char *filter, uint16_t prefix)
{
	struct source_config cfg;
	char err[256];

	memset(&cfg, 0, sizeof(cfg));
	cfg.device = device;
	cfg.filter = filter;
	cfg.payload_prefix = prefix;
	memset(src, 0, sizeof(*src));
	src->ops = source_find("pcap");
	assert_non_null(src->ops);
	src->deliver = on_deliver;
	src->deliver_ctx = s;
	src->fail = on_fail;
	src->fail_ctx = s;
	if (src->ops->open(src, s->loop, &cfg, err, sizeof(err)) != 0)
		fail_msg("open pcap on %s: %s", device, err);
}

/* A frame from dpb to dpa: 198.18.0.2:80 > 198.18.0.1:dport. */
static void inject_response(uint16_t dport, size_t payload_len)
{
	uint8_t ip[400], frame[420];
	size_t len = fixture_tcp_packet(ip, sizeof(ip), "198.18.0.2", 80, "198.18.0.1",
					dport, 1, payload_len);

	fixture_inject("dpb", frame, fixture_ethernet_frame(frame, sizeof(frame), netns_mac_a,
							    netns_mac_b, ip, len));
}

static void run_until_marker(struct seen *s)
{
	inject_response(MARKER_PORT, 0);
	assert_int_equal(loop_run(s->loop), 0);
}

static void test_response_delivered(void **state)
{
	struct seen s = { .loop = loop_new() };
	struct source src;

	if (skip_reason)
		skip();
	alarm(20);
	open_source(&src, &s, "dpa", NULL, 8);
	inject_response(40000, 100);
	run_until_marker(&s);
	assert_int_equal(s.delivered, 2);
	assert_int_equal(s.dports[0], 40000);
	assert_int_equal(s.payload_len[0], 100);	/* from the IP header */
	assert_int_equal(s.headers_len[0], 40);
	/* the snap length keeps the headers plus at least the prefix */
	assert_true(s.payload_present[0] >= 8);
	assert_int_equal(src.counters.packets, 2);
	assert_int_equal(src.counters.malformed, 0);
	src.ops->close(&src);
	loop_free(s.loop);
	alarm(0);
}

static void test_filter_and_default(void **state)
{
	struct seen s = { .loop = loop_new() };
	struct source src;
	uint8_t ip[64], frame[100];

	if (skip_reason)
		skip();
	alarm(20);
	/* default filter "tcp": a UDP datagram is not a response */
	open_source(&src, &s, "dpa", NULL, 0);
	size_t len = fixture_udp_packet(ip, sizeof(ip), "198.18.0.2", "198.18.0.1", 40000);
	fixture_inject("dpb", frame, fixture_ethernet_frame(frame, sizeof(frame), netns_mac_a,
							    netns_mac_b, ip, len));
	run_until_marker(&s);
	assert_int_equal(s.delivered, 1);
	src.ops->close(&src);

	/* -F: only what the expression lets through */
	loop_free(s.loop);
	memset(&s, 0, sizeof(s));
	s.loop = loop_new();
	open_source(&src, &s, "dpa", "tcp dst port 40001 or tcp dst port 9999", 0);
	inject_response(40002, 0);
	inject_response(40001, 0);
	run_until_marker(&s);
	assert_int_equal(s.delivered, 2);
	assert_int_equal(s.dports[0], 40001);
	src.ops->close(&src);
	loop_free(s.loop);
	alarm(0);
}

/* dpa's own output is not a response (nor counted malformed). */
static void test_own_output_ignored(void **state)
{
	struct seen s = { .loop = loop_new() };
	struct source src;
	uint8_t ip[200], frame[220];

	if (skip_reason)
		skip();
	alarm(20);
	open_source(&src, &s, "dpa", NULL, 0);
	size_t len = fixture_tcp_packet(ip, sizeof(ip), "198.18.0.1", 40000, "198.18.0.2", 80, 1, 10);
	fixture_inject("dpa", frame, fixture_ethernet_frame(frame, sizeof(frame), netns_mac_b,
							    netns_mac_a, ip, len));
	run_until_marker(&s);
	assert_int_equal(s.delivered, 1);
	assert_int_equal(src.counters.malformed, 0);
	src.ops->close(&src);
	loop_free(s.loop);
	alarm(0);
}

static void test_malformed_counted(void **state)
{
	struct seen s = { .loop = loop_new() };
	struct source src;
	uint8_t ip[200], frame[220];

	if (skip_reason)
		skip();
	alarm(20);
	open_source(&src, &s, "dpa", NULL, 0);
	size_t len = fixture_tcp_packet(ip, sizeof(ip), "198.18.0.2", 80, "198.18.0.1", 40000, 1, 0);
	ip[20 + 12] = 0x20;	/* TCP data offset 2: shorter than the 20-byte header */
	fixture_inject("dpb", frame, fixture_ethernet_frame(frame, sizeof(frame), netns_mac_a,
							    netns_mac_b, ip, len));
	run_until_marker(&s);
	assert_int_equal(s.delivered, 1);
	assert_int_equal(src.counters.malformed, 1);
	src.ops->close(&src);
	loop_free(s.loop);
	alarm(0);
}

/* Last: it deletes the link. */
static void test_device_gone_fails_once(void **state)
{
	struct seen s = { .loop = loop_new() };
	struct source src;

	if (skip_reason)
		skip();
	alarm(20);
	netns_sh("ip link add dpgone type veth peer name dpgone2 && ip link set dpgone up "
		 "&& ip link set dpgone2 up");
	open_source(&src, &s, "dpgone", NULL, 0);
	netns_sh("ip link del dpgone");
	assert_int_equal(loop_run(s.loop), 0);
	assert_int_equal(s.fails, 1);
	assert_non_null(strstr(s.why, "capture failed"));
	src.ops->close(&src);
	loop_free(s.loop);
	alarm(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_response_delivered),
		cmocka_unit_test(test_filter_and_default),
		cmocka_unit_test(test_own_output_ignored),
		cmocka_unit_test(test_malformed_counted),
		cmocka_unit_test(test_device_gone_fails_once),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
