/*
 * test_intercept_holding.c — the holding of unrouted responses
 * (intercept/holding.c) on its own, with the time passed in: held copies
 * handed to their route in arrival order, declined ones left to wait,
 * expiry at exactly hold_ms, the bounds by count and by bytes (the oldest
 * expired first, memory never past the limit, a full ring used to its last
 * byte), a response too large for
 * the bytes ring, holes left by a release reclaimed, IPv6 keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "intercept/holding.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"
#include "lib/net/packet_build.h"

#define TARGET "198.19.0.1"
#define CLIENT "198.18.0.1"

/* One response as a source hands it over: src:sport -> dst:dport with
 * payload_len bytes of payload, all in buf. */
struct response {
	uint8_t buf[256];
	struct packet packet;
};

static void make_response(struct response *r, const char *src, uint16_t sport,
			  const char *dst, uint16_t dport, size_t payload_len)
{
	static const uint8_t payload[128] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
	struct packet_spec spec;
	const char *why;

	assert_true(payload_len <= sizeof(payload));
	memset(&spec, 0, sizeof(spec));
	assert_int_equal(dp_addr_parse(src, &spec.src), 0);
	assert_int_equal(dp_addr_parse(dst, &spec.dst), 0);
	spec.sport = sport;
	spec.dport = dport;
	spec.seq = 1000 + (uint32_t)payload_len;
	spec.flags = TCPF_ACK;
	spec.payload = payload;
	spec.payload_len = payload_len;
	size_t len = packet_build(r->buf, sizeof(r->buf), &spec);
	assert_true(len > 0);
	assert_int_equal(packet_parse(r->buf, len, 0, &r->packet, &why), 0);
}

/* Hold a response to CLIENT:port from TARGET:80 at now_ms; returns the
 * number of entries it pushed out. */
static size_t hold(struct holding *h, uint16_t port, size_t payload_len, size_t prefix_max,
		   uint64_t now_ms)
{
	struct response r;
	size_t evicted = 0;

	make_response(&r, TARGET, 80, CLIENT, port, payload_len);
	assert_int_equal(holding_add(h, &r.packet, prefix_max, now_ms, &evicted), 0);
	return evicted;
}

static void init(struct holding *h, uint64_t hold_ms, size_t max_entries, size_t max_bytes)
{
	struct holding_config cfg = {
		.hold_ms = hold_ms, .max_entries = max_entries, .max_bytes = max_bytes,
		.seed = 0x1234,
	};

	assert_int_equal(holding_init(h, &cfg), 0);
}

/* What a release saw, in order. */
struct taken {
	size_t count;
	uint32_t payload_len[16];
	uint16_t port[16];
	struct held_summary last;
	bool accept;
	uint8_t last_data[256];
};

static bool take(void *ctx, const struct held_summary *s)
{
	struct taken *t = ctx;

	if (!t->accept)
		return false;
	assert_true(t->count < 16);
	t->payload_len[t->count] = s->payload_len;
	t->port[t->count] = s->client_port;
	t->count++;
	t->last = *s;
	memcpy(t->last_data, s->data, s->header_len + s->payload_present);
	return true;
}

static size_t release(struct holding *h, const char *client, uint16_t port, struct taken *t)
{
	struct dp_addr a;

	assert_int_equal(dp_addr_parse(client, &a), 0);
	return holding_release(h, &a, port, take, t);
}

static void test_release_in_arrival_order(void **state)
{
	struct holding h;
	struct taken t = { .accept = true };

	init(&h, 250, 0, 0);
	hold(&h, 40000, 1, 0, 10);
	hold(&h, 40001, 2, 0, 11);	/* another client port */
	hold(&h, 40000, 3, 0, 12);
	hold(&h, 40000, 4, 0, 13);
	assert_int_equal(holding_count(&h), 4);
	assert_int_equal(holding_bytes(&h), 4 * 40);	/* headers only, no prefix */

	assert_int_equal(release(&h, CLIENT, 40000, &t), 3);
	assert_int_equal(t.count, 3);
	assert_int_equal(t.payload_len[0], 1);
	assert_int_equal(t.payload_len[1], 3);
	assert_int_equal(t.payload_len[2], 4);
	assert_int_equal(holding_count(&h), 1);
	/* A second release finds nothing more for that route. */
	assert_int_equal(release(&h, CLIENT, 40000, &t), 0);
	/* The other one is still there, and goes to its own route. */
	assert_int_equal(release(&h, CLIENT, 40001, &t), 1);
	assert_int_equal(t.port[3], 40001);
	assert_int_equal(holding_count(&h), 0);
	assert_int_equal(holding_bytes(&h), 0);
	uint64_t when;
	assert_false(holding_next_expiry(&h, &when));
	holding_free(&h);
}

/* The copy carries the addresses, ports and bytes of the response, with
 * at most prefix_max bytes of its payload. */
static void test_copy_is_faithful(void **state)
{
	struct holding h;
	struct response r;
	struct taken t = { .accept = true };
	size_t evicted = 0;

	init(&h, 250, 0, 0);
	make_response(&r, TARGET, 8080, CLIENT, 40000, 44);
	assert_int_equal(holding_add(&h, &r.packet, 16, 5, &evicted), 0);
	assert_int_equal(evicted, 0);
	assert_int_equal(release(&h, CLIENT, 40000, &t), 1);
	assert_int_equal(t.last.source_port, 8080);
	assert_int_equal(t.last.client_port, 40000);
	assert_true(dp_addr_equal(&t.last.source, &r.packet.src));
	assert_true(dp_addr_equal(&t.last.client, &r.packet.dst));
	assert_int_equal(t.last.header_len, 40);
	assert_int_equal(t.last.payload_present, 16);
	assert_int_equal(t.last.payload_len, 44);
	assert_int_equal(t.last.arrival_ms, 5);
	assert_memory_equal(t.last_data, r.buf, 40 + 16);
	holding_free(&h);
}

/* A release that declines (the route does not match the response's
 * sender, say) leaves the entry to wait and expire. */
static void test_declined_entries_stay(void **state)
{
	struct holding h;
	struct taken t = { .accept = false };

	init(&h, 250, 0, 0);
	hold(&h, 40000, 0, 0, 100);
	hold(&h, 40000, 0, 0, 101);
	assert_int_equal(release(&h, CLIENT, 40000, &t), 0);
	assert_int_equal(holding_count(&h), 2);
	assert_int_equal(holding_expire(&h, 351), 2);
	assert_int_equal(holding_count(&h), 0);
	holding_free(&h);
}

static void test_expiry_by_time(void **state)
{
	struct holding h;
	uint64_t when;

	init(&h, 250, 0, 0);
	hold(&h, 1, 0, 0, 1000);
	hold(&h, 2, 0, 0, 1100);
	assert_true(holding_next_expiry(&h, &when));
	assert_int_equal(when, 1250);
	assert_int_equal(holding_expire(&h, 500), 0);	/* a time before both: nothing */
	assert_int_equal(holding_expire(&h, 1249), 0);
	assert_int_equal(holding_expire(&h, 1250), 1);	/* exactly hold_ms later */
	assert_true(holding_next_expiry(&h, &when));
	assert_int_equal(when, 1350);
	assert_int_equal(holding_expire(&h, 1349), 0);
	assert_int_equal(holding_count(&h), 1);
	assert_int_equal(holding_expire(&h, 5000), 1);
	assert_false(holding_next_expiry(&h, &when));
	/* An expired entry is not handed out any more. */
	struct taken t = { .accept = true };
	assert_int_equal(release(&h, CLIENT, 1, &t), 0);
	holding_free(&h);
}

/* The oldest waiting entry's arrival time, which these tests make equal
 * to the number of the response. */
static uint64_t oldest(const struct holding *h)
{
	uint64_t when;

	assert_true(holding_next_expiry(h, &when));
	return when - h->cfg.hold_ms;
}

static void test_bound_by_count_oldest_first(void **state)
{
	struct holding h;
	size_t evicted = 0;

	init(&h, 1000, 4, 0);
	for (uint16_t i = 0; i < 4; i++)
		evicted += hold(&h, 100 + i, 0, 0, i);
	assert_int_equal(evicted, 0);
	evicted += hold(&h, 104, 0, 0, 4);
	evicted += hold(&h, 105, 0, 0, 5);
	assert_int_equal(evicted, 2);
	assert_int_equal(holding_count(&h), 4);
	assert_int_equal(oldest(&h), 2);
	/* 100 and 101 went, 102..105 stayed. */
	struct taken t = { .accept = true };
	assert_int_equal(release(&h, CLIENT, 100, &t), 0);
	assert_int_equal(release(&h, CLIENT, 101, &t), 0);
	assert_int_equal(release(&h, CLIENT, 102, &t), 1);
	assert_int_equal(release(&h, CLIENT, 105, &t), 1);
	holding_free(&h);
}

/* Responses of 40 to 127 bytes kept (a prefix of up to 87 bytes) in a
 * 1000-byte ring: the bytes held never pass the limit, every eviction
 * takes the oldest (the survivors are always the newest ones), and the
 * counts add up. */
static void test_bound_by_bytes_oldest_first(void **state)
{
	struct holding h;
	size_t evicted = 0, expected_bytes = 0;
	size_t sizes[600];

	init(&h, 100000, 0, 1000);
	for (size_t i = 0; i < 600; i++) {
		size_t payload = (i * 37) % 88;
		sizes[i] = 40 + payload;
		evicted += hold(&h, (uint16_t)(1000 + i), payload, 128, i);
		assert_true(holding_bytes(&h) <= 1000);
		assert_int_equal(evicted + holding_count(&h), i + 1);
		assert_int_equal(oldest(&h), evicted);
	}
	for (size_t i = evicted; i < 600; i++)
		expected_bytes += sizes[i];
	assert_int_equal(holding_bytes(&h), expected_bytes);
	/* A ring of 1000 bytes keeps at least 1000 / 127 - 1 responses. */
	assert_true(holding_count(&h) >= 6);
	holding_free(&h);
}

/* Five 40-byte responses fill a 200-byte ring exactly; the sixth pushes
 * out one, the oldest, and takes its bytes at the ring's start. */
static void test_bytes_ring_fills_exactly(void **state)
{
	struct holding h;
	size_t evicted = 0;

	init(&h, 1000, 0, 200);
	for (uint16_t i = 0; i < 5; i++)
		evicted += hold(&h, i, 0, 0, i);
	assert_int_equal(evicted, 0);
	assert_int_equal(holding_bytes(&h), 200);
	evicted += hold(&h, 5, 0, 0, 5);
	assert_int_equal(evicted, 1);
	assert_int_equal(holding_count(&h), 5);
	assert_int_equal(oldest(&h), 1);
	assert_int_equal(h.bytes_tail, 40);	/* wrapped to the start */
	holding_free(&h);
}

static void test_too_large_is_refused(void **state)
{
	struct holding h;
	struct response r;
	size_t evicted = 0;

	init(&h, 250, 0, 100);
	hold(&h, 1, 0, 0, 0);
	make_response(&r, TARGET, 80, CLIENT, 2, 100);
	/* 140 bytes with its prefix: could never fit, and pushes nothing out. */
	assert_int_equal(holding_add(&h, &r.packet, 100, 1, &evicted), -1);
	assert_int_equal(evicted, 0);
	assert_int_equal(holding_count(&h), 1);
	/* Its headers alone (no prefix asked) fit. */
	assert_int_equal(holding_add(&h, &r.packet, 0, 1, &evicted), 0);
	assert_int_equal(holding_count(&h), 2);
	holding_free(&h);
}

/* Releasing from the middle leaves a hole that holds its slot until the
 * head reaches it; then the slot is free again. */
static void test_holes_are_reclaimed(void **state)
{
	struct holding h;
	struct taken t = { .accept = true };

	init(&h, 100, 3, 0);
	hold(&h, 1, 0, 0, 0);
	hold(&h, 2, 0, 0, 1);
	hold(&h, 3, 0, 0, 2);
	assert_int_equal(release(&h, CLIENT, 2, &t), 1);
	assert_int_equal(holding_count(&h), 2);
	assert_int_equal(h.used, 3);	/* the hole still counts against the bound */
	assert_int_equal(holding_expire(&h, 100), 1);	/* the first: the hole goes too */
	assert_int_equal(h.used, 1);
	assert_int_equal(hold(&h, 4, 0, 0, 101), 0);
	assert_int_equal(hold(&h, 5, 0, 0, 101), 0);
	assert_int_equal(holding_count(&h), 3);
	/* Releasing the oldest pops it at once. */
	assert_int_equal(release(&h, CLIENT, 3, &t), 1);
	assert_int_equal(h.used, 2);
	assert_int_equal(oldest(&h), 101);
	holding_free(&h);
}

static void test_ipv6_keys(void **state)
{
	struct holding h;
	struct response r;
	struct taken t = { .accept = true };
	size_t evicted = 0;

	init(&h, 250, 0, 0);
	make_response(&r, "2001:db8::2", 443, "2001:db8::1", 40000, 3);
	assert_int_equal(holding_add(&h, &r.packet, 0, 0, &evicted), 0);
	make_response(&r, "2001:db8::2", 443, "2001:db8::9", 40000, 4);
	assert_int_equal(holding_add(&h, &r.packet, 0, 0, &evicted), 0);
	assert_int_equal(release(&h, "2001:db8::1", 40000, &t), 1);
	assert_int_equal(t.last.header_len, 60);
	assert_int_equal(t.last.payload_len, 3);
	/* An IPv4 address does not match an IPv6 key. */
	assert_int_equal(release(&h, "198.18.0.9", 40000, &t), 0);
	assert_int_equal(holding_count(&h), 1);
	holding_free(&h);
}

static void test_bad_config_refused(void **state)
{
	struct holding h;
	struct holding_config zero_time = { .hold_ms = 0 }, tiny = { .hold_ms = 1, .max_bytes = 39 };

	assert_int_equal(holding_init(&h, &zero_time), -1);
	assert_int_equal(holding_init(&h, &tiny), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_release_in_arrival_order),
		cmocka_unit_test(test_copy_is_faithful),
		cmocka_unit_test(test_declined_entries_stay),
		cmocka_unit_test(test_expiry_by_time),
		cmocka_unit_test(test_bound_by_count_oldest_first),
		cmocka_unit_test(test_bound_by_bytes_oldest_first),
		cmocka_unit_test(test_bytes_ring_fills_exactly),
		cmocka_unit_test(test_too_large_is_refused),
		cmocka_unit_test(test_holes_are_reclaimed),
		cmocka_unit_test(test_ipv6_keys),
		cmocka_unit_test(test_bad_config_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
