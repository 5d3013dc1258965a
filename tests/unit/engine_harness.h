/*
 * engine_harness.h — drives the session engine in the unit tests
 * (test_copy_engine_*.c): a sink that records every packet the engine sends
 * (parsed back with packet_parse), its routes and the sessions that ended;
 * builders for captured client packets and target summaries; and a clock
 * that runs the engine's timers at the exact times they fall due.
 *
 * Header-only (static inline) on purpose: every non-test_ file of
 * tests/unit/ is linked into every unit test binary, the library-only ones
 * too, and those do not link the engine.
 *
 * Every packet the engine sends is checked here: it must be a valid packet
 * from the session's client address to its target, never to a client.
 */
#ifndef DOPPEL_ENGINE_HARNESS_H
#define DOPPEL_ENGINE_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "copy/engine/engine.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"
#include "lib/net/packet_build.h"
#include "lib/net/tcp_options.h"

struct harness_packet {
	struct session_key key;		/* as the sink was told */
	uint8_t *buf;
	size_t len;
	struct packet p;		/* parsed, pointing into buf */
	uint64_t at;			/* harness time it was sent */
};

struct harness_end {
	struct session_key key;
	enum engine_end_reason reason;
	char detail[256];
	uint64_t at;
};

#define HARNESS_MAX_SCRIPT 64

struct harness {
	struct engine_config cfg;
	struct engine *engine;
	uint64_t now;

	bool record;			/* keep sent packets (default true) */
	struct harness_packet *sent;
	size_t sent_count, sent_capacity, sent_read;
	uint64_t sent_total;

	/* Results the sink returns, in order, before going back to OK. */
	enum engine_send_result script[HARNESS_MAX_SCRIPT];
	size_t script_head, script_count;

	int route_add_result;
	uint64_t routes_added, routes_deleted;
	uint16_t payload_wanted;	/* the last route_add_payload's */
	uint64_t payload_routes;	/* route_add_payload calls */
	struct harness_end *ends;
	size_t end_count, end_capacity;

	/* Called for each packet sent (after the checks), e.g. by a
	 * simulated target. Must not call into the engine. */
	void (*on_send)(struct harness *h, const struct harness_packet *sp);
	void *user;
};

/* The test sessions' sequence numbers. */
#define HARNESS_CLIENT_ISN 1000000u
#define HARNESS_TARGET_ISN 5000000u
#define HARNESS_ONLINE_ISN 9000000u	/* the online server's, seen in client acks */

/* ---- the sink ---- */

static inline enum engine_send_result harness_sink_send(void *ctx, const struct session_key *k,
							const uint8_t *pkt, size_t len)
{
	struct harness *h = ctx;
	struct harness_packet sp = { .key = *k, .len = len, .at = h->now };
	const char *why = NULL;
	enum engine_send_result r = ENGINE_SEND_OK;

	sp.buf = malloc(len);
	assert_non_null(sp.buf);
	memcpy(sp.buf, pkt, len);
	if (packet_parse(sp.buf, len, 0, &sp.p, &why) != 0)
		fail_msg("engine sent a packet packet_parse refuses: %s", why);
	/* Never to a client: every packet goes from key.client to key.target. */
	assert_true(dp_addr_equal(&sp.p.dst, &k->target));
	assert_true(dp_addr_equal(&sp.p.src, &k->client));
	assert_int_equal(sp.p.dport, k->target_port);
	assert_int_equal(sp.p.sport, k->client_port);
	/* Sent while a route is at intercept, so the answer cannot escape;
	 * but an orphan RST (a 4-tuple with no session) needs none: only a
	 * challenge ACK answers it, and intercept drops what it cannot route. */
	assert_true(h->routes_added > h->routes_deleted || sp.p.flags == TCPF_RST);
	h->sent_total++;
	if (h->script_count) {
		r = h->script[h->script_head];
		h->script_head = (h->script_head + 1) % HARNESS_MAX_SCRIPT;
		h->script_count--;
	}
	if (h->on_send)
		h->on_send(h, &sp);
	if (!h->record) {
		free(sp.buf);
		return r;
	}
	if (h->sent_count == h->sent_capacity) {
		h->sent_capacity = h->sent_capacity ? h->sent_capacity * 2 : 64;
		h->sent = realloc(h->sent, h->sent_capacity * sizeof(*h->sent));
		assert_non_null(h->sent);
	}
	h->sent[h->sent_count++] = sp;
	return r;
}

static inline int harness_sink_route_add(void *ctx, const struct session_key *k)
{
	struct harness *h = ctx;

	if (h->route_add_result < 0)
		return -1;
	h->routes_added++;
	return 0;
}

static inline int harness_sink_route_add_payload(void *ctx, const struct session_key *k,
						  uint16_t wanted)
{
	struct harness *h = ctx;

	h->payload_routes++;
	h->payload_wanted = wanted;
	if (wanted == 0)	/* the same route again, asking for no more bytes */
		return 0;
	return harness_sink_route_add(ctx, k);
}

static inline void harness_sink_route_del(void *ctx, const struct session_key *k)
{
	struct harness *h = ctx;

	h->routes_deleted++;
	assert_true(h->routes_deleted <= h->routes_added);
}

static inline void harness_sink_end(void *ctx, const struct session_key *k,
				    enum engine_end_reason reason, const char *detail)
{
	struct harness *h = ctx;
	struct harness_end *end;

	/* Every end has a reason a person can read. */
	assert_non_null(detail);
	assert_true(strlen(detail) > 5);
	if (h->end_count == h->end_capacity) {
		h->end_capacity = h->end_capacity ? h->end_capacity * 2 : 16;
		h->ends = realloc(h->ends, h->end_capacity * sizeof(*h->ends));
		assert_non_null(h->ends);
	}
	end = &h->ends[h->end_count++];
	end->key = *k;
	end->reason = reason;
	end->at = h->now;
	snprintf(end->detail, sizeof(end->detail), "%s", detail);
}

/* ---- set-up ---- */

/* Defaults in h->cfg; change them, then harness_start(). */
static inline void harness_init(struct harness *h)
{
	memset(h, 0, sizeof(*h));
	engine_config_defaults(&h->cfg);
	h->record = true;
	h->now = 1000000;	/* any origin: not zero, to catch "0 = unset" mix-ups */
}

static inline void harness_start(struct harness *h)
{
	struct engine_sink sink = {
		.ctx = h,
		.send = harness_sink_send,
		.route_add = harness_sink_route_add,
		.route_del = harness_sink_route_del,
		.session_end = harness_sink_end,
		.route_add_payload = harness_sink_route_add_payload,
	};

	h->engine = engine_new(&h->cfg, &sink);
	assert_non_null(h->engine);
}

static inline void harness_finish(struct harness *h)
{
	engine_free(h->engine);
	for (size_t i = 0; i < h->sent_count; i++)
		free(h->sent[i].buf);
	free(h->sent);
	free(h->ends);
	memset(h, 0, sizeof(*h));
}

static inline const struct engine_counters *harness_counters(const struct harness *h)
{
	return engine_counters(h->engine);
}

/* Make send() return r for the next count packets. */
static inline void harness_script(struct harness *h, enum engine_send_result r, size_t count)
{
	while (count--) {
		assert_true(h->script_count < HARNESS_MAX_SCRIPT);
		h->script[(h->script_head + h->script_count++) % HARNESS_MAX_SCRIPT] = r;
	}
}

/* ---- keys ---- */

static inline struct session_key harness_key(const char *client, uint16_t client_port,
					     const char *target, uint16_t target_port)
{
	struct session_key k;

	memset(&k, 0, sizeof(k));
	assert_int_equal(dp_addr_parse(client, &k.client), 0);
	assert_int_equal(dp_addr_parse(target, &k.target), 0);
	k.client_port = client_port;
	k.target_port = target_port;
	return k;
}

/* The usual test session: client 198.18.0.10:40000, target 198.18.1.1:8080. */
static inline struct session_key harness_key_v4(uint16_t client_port)
{
	return harness_key("198.18.0.10", client_port, "198.18.1.1", 8080);
}

/* ---- input ---- */

/* What a test packet carries besides flags, seq and ack. */
struct harness_segment {
	uint16_t window;		/* 0 means 65535, unless zero_window */
	bool zero_window;
	const uint8_t *payload;		/* NULL with payload_len: zeros */
	size_t payload_len;
	struct tcp_options opt;
};

static inline void harness_build(uint8_t *buf, size_t cap, struct packet *p,
				 const struct dp_addr *src, uint16_t sport,
				 const struct dp_addr *dst, uint16_t dport, uint8_t flags,
				 uint32_t seq, uint32_t ack, const struct harness_segment *seg)
{
	struct packet_spec spec = {
		.src = *src,
		.dst = *dst,
		.sport = sport,
		.dport = dport,
		.seq = seq,
		.ack = ack,
		.flags = flags,
		.window = 65535,
	};
	uint8_t *zeros = NULL;
	size_t len;
	const char *why = NULL;

	if (seg) {
		if (seg->window || seg->zero_window)
			spec.window = seg->window;
		spec.opt = seg->opt;
		spec.payload = seg->payload;
		spec.payload_len = seg->payload_len;
		if (!spec.payload && spec.payload_len) {
			zeros = calloc(1, spec.payload_len);
			spec.payload = zeros;
		}
	}
	len = packet_build(buf, cap, &spec);
	free(zeros);
	assert_true(len > 0);
	if (packet_parse(buf, len, 0, p, &why) != 0)
		fail_msg("test packet does not parse: %s", why);
}

#define HARNESS_PACKET_MAX (PACKET_HEADERS_MAX + 65536)

/* Build a packet of session k, from the client (a captured packet: its
 * addresses are the original ones, client to the online server, here k's
 * target stands in) or from the target (a summary), and feed it in. */
static inline void harness_feed(struct harness *h, const struct session_key *k, bool from_client,
				uint8_t flags, uint32_t seq, uint32_t ack,
				const struct harness_segment *seg)
{
	uint8_t *buf = malloc(HARNESS_PACKET_MAX);
	struct packet p;

	assert_non_null(buf);
	if (from_client)
		harness_build(buf, HARNESS_PACKET_MAX, &p, &k->client, k->client_port, &k->target,
			      k->target_port, flags, seq, ack, seg);
	else
		harness_build(buf, HARNESS_PACKET_MAX, &p, &k->target, k->target_port, &k->client,
			      k->client_port, flags, seq, ack, seg);
	if (from_client)
		engine_client_packet(h->engine, h->now, k, &p);
	else
		engine_target_packet(h->engine, h->now, &p);
	free(buf);
}

static inline void harness_client(struct harness *h, const struct session_key *k, uint8_t flags,
				  uint32_t seq, uint32_t ack, const struct harness_segment *seg)
{
	harness_feed(h, k, true, flags, seq, ack, seg);
}

static inline void harness_target(struct harness *h, const struct session_key *k, uint8_t flags,
				  uint32_t seq, uint32_t ack, const struct harness_segment *seg)
{
	harness_feed(h, k, false, flags, seq, ack, seg);
}

/* A target summary whose payload intercept cut: len bytes of answer,
 * only the first present of them carried. */
static inline void harness_target_cut(struct harness *h, const struct session_key *k,
				      uint32_t seq, uint32_t ack, const uint8_t *data,
				      size_t len, size_t present)
{
	uint8_t *buf = malloc(HARNESS_PACKET_MAX);
	struct packet p;

	assert_non_null(buf);
	harness_build(buf, HARNESS_PACKET_MAX, &p, &k->target, k->target_port, &k->client,
		      k->client_port, TCPF_ACK | TCPF_PSH, seq, ack,
		      &(struct harness_segment){ .payload = data, .payload_len = len });
	p.payload_present = present;
	engine_target_packet(h->engine, h->now, &p);
	free(buf);
}

/* Shorthands without options (window taken as it is, 0 included). */
static inline void harness_client_plain(struct harness *h, const struct session_key *k,
					uint8_t flags, uint32_t seq, uint32_t ack)
{
	harness_client(h, k, flags, seq, ack, NULL);
}

static inline void harness_client_data(struct harness *h, const struct session_key *k,
				       uint32_t seq, uint32_t ack, const void *data, size_t len)
{
	struct harness_segment seg = { .payload = data, .payload_len = len };

	harness_client(h, k, TCPF_ACK | TCPF_PSH, seq, ack, &seg);
}

static inline void harness_target_plain(struct harness *h, const struct session_key *k,
					uint8_t flags, uint32_t seq, uint32_t ack,
					uint16_t window, size_t payload_len)
{
	struct harness_segment seg = { .window = window, .zero_window = window == 0,
				       .payload_len = payload_len };

	harness_target(h, k, flags, seq, ack, &seg);
}

/* A fixed pattern of client bytes for the tests to replay: offset 0 is
 * the byte at seq HARNESS_CLIENT_ISN + 1. */
#define HARNESS_STREAM_MAX 70000

static inline const uint8_t *harness_stream(void)
{
	static uint8_t bytes[HARNESS_STREAM_MAX];
	static bool filled;

	if (!filled) {
		for (size_t i = 0; i < sizeof(bytes); i++)
			bytes[i] = (uint8_t)('a' + (i * 7 + i / 26) % 26);
		filled = true;
	}
	return bytes;
}

/* The client sends stream bytes [from, to), acking the online server's
 * first byte. */
static inline void harness_client_bytes(struct harness *h, const struct session_key *k,
					uint32_t from, uint32_t to)
{
	assert_true(to <= HARNESS_STREAM_MAX);
	harness_client_data(h, k, HARNESS_CLIENT_ISN + 1 + from, HARNESS_ONLINE_ISN + 1,
			    harness_stream() + from, to - from);
}

/* ---- time ---- */

/* Move the clock to t, running every timer at the time it falls due. */
static inline void harness_run_until(struct harness *h, uint64_t t)
{
	uint64_t d;

	while ((d = engine_next_deadline(h->engine)) <= t) {
		assert_true(d >= h->now);
		h->now = d;
		engine_tick(h->engine, h->now);
	}
	h->now = t;
}

static inline void harness_advance(struct harness *h, uint64_t ms)
{
	harness_run_until(h, h->now + ms);
}

/* ---- what was sent ---- */

static inline size_t harness_unread(const struct harness *h)
{
	return h->sent_count - h->sent_read;
}

/* The next packet sent that the test has not looked at. */
static inline const struct packet *harness_next(struct harness *h)
{
	if (h->sent_read >= h->sent_count)
		fail_msg("expected another packet from the engine (%zu sent in all)", h->sent_count);
	return &h->sent[h->sent_read++].p;
}

static inline void harness_expect_none(struct harness *h)
{
	if (harness_unread(h)) {
		const struct packet *p = &h->sent[h->sent_read].p;

		fail_msg("unexpected packet: flags 0x%02x seq %u ack %u len %zu",
			 p->flags, p->seq, p->ack, p->payload_len);
	}
}

/* Skip everything sent so far. */
static inline void harness_drain(struct harness *h)
{
	h->sent_read = h->sent_count;
}

static inline const struct packet *harness_expect(struct harness *h, uint8_t flags, uint32_t seq,
						  uint32_t ack, size_t payload_len)
{
	const struct packet *p = harness_next(h);

	if (p->flags != flags || p->seq != seq || (flags & TCPF_ACK && p->ack != ack) ||
	    p->payload_len != payload_len)
		fail_msg("expected flags 0x%02x seq %u ack %u len %zu, got flags 0x%02x seq %u "
			 "ack %u len %zu", flags, seq, ack, payload_len, p->flags, p->seq, p->ack,
			 p->payload_len);
	return p;
}

/* Copy the payload of every unread sent packet into out at its stream
 * offset (seq - HARNESS_CLIENT_ISN - 1); *high grows to the furthest byte.
 * Returns how many packets carried data. */
static inline size_t harness_collect(struct harness *h, uint8_t *out, size_t cap, size_t *high)
{
	size_t segments = 0;

	while (harness_unread(h)) {
		const struct packet *p = harness_next(h);
		uint32_t off = p->seq - (HARNESS_CLIENT_ISN + 1);

		if (!p->payload_len)
			continue;
		assert_true(off + p->payload_len <= cap);
		memcpy(out + off, p->payload, p->payload_len);
		if (off + p->payload_len > *high)
			*high = off + p->payload_len;
		segments++;
	}
	return segments;
}

static inline const struct harness_end *harness_last_end(const struct harness *h)
{
	assert_true(h->end_count > 0);
	return &h->ends[h->end_count - 1];
}

/* ---- a session brought up to ESTABLISHED ---- */


/* SYN from the client, the engine's SYN, the target's SYN-ACK (window,
 * MSS 1460, no other options), the engine's ACK, the client's ACK.
 * Leaves nothing unread. */
static inline void harness_establish(struct harness *h, const struct session_key *k,
				     uint16_t target_window)
{
	struct harness_segment syn = { .window = 64240, .opt = { .has_mss = true, .mss = 1460 } };
	struct harness_segment synack = { .window = target_window,
					  .opt = { .has_mss = true, .mss = 1460 } };

	harness_client(h, k, TCPF_SYN, HARNESS_CLIENT_ISN, 0, &syn);
	harness_expect(h, TCPF_SYN, HARNESS_CLIENT_ISN, 0, 0);
	harness_target(h, k, TCPF_SYN | TCPF_ACK, HARNESS_TARGET_ISN, HARNESS_CLIENT_ISN + 1, &synack);
	harness_expect(h, TCPF_ACK, HARNESS_CLIENT_ISN + 1, HARNESS_TARGET_ISN + 1, 0);
	harness_client_plain(h, k, TCPF_ACK, HARNESS_CLIENT_ISN + 1, HARNESS_ONLINE_ISN + 1);
	harness_expect_none(h);
}

#endif
