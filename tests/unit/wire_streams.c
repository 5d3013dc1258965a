/*
 * wire_streams.c — valid frames and streams for the wire codec's tests.
 * Summary data is built by hand here (not with lib/net/packet.c): the codec
 * only needs IP headers to start right, and the tests stay independent of
 * the packet builder.
 */
#include "wire_streams.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "lib/net/addr.h"
#include "lib/net/packet.h"

void stream_init(struct stream *s)
{
	memset(s, 0, sizeof(*s));
	s->cap = 4096;
	s->buf = malloc(s->cap);
	assert_non_null(s->buf);
}

void stream_free(struct stream *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

/* Room for one more frame of up to WIRE_MAX_FRAME bytes. */
static uint8_t *stream_room(struct stream *s)
{
	if (s->cap - s->len < WIRE_MAX_FRAME) {
		s->cap = s->len + 2 * WIRE_MAX_FRAME;
		s->buf = realloc(s->buf, s->cap);
		assert_non_null(s->buf);
	}
	return s->buf + s->len;
}

static void stream_added(struct stream *s, size_t n)
{
	assert_true(n > 0);
	s->len += n;
	s->frames++;
}

void stream_raw(struct stream *s, const void *data, size_t len)
{
	assert_true(len <= WIRE_MAX_FRAME);
	memcpy(stream_room(s), data, len);
	s->len += len;
}

void stream_hello(struct stream *s, enum wire_role role)
{
	struct wire_hello h = {
		.version = WIRE_VERSION, .role = role,
		.features = WIRE_FEAT_IPV6 | WIRE_FEAT_PAYLOAD_PREFIX, .max_body = WIRE_MAX_BODY,
	};

	stream_added(s, wire_encode_hello(stream_room(s), WIRE_MAX_FRAME, &h));
}

void stream_routes(struct stream *s, enum wire_type type, const struct wire_route *r, size_t n)
{
	stream_added(s, wire_encode_routes(stream_room(s), WIRE_MAX_FRAME, type, r, n));
}

void stream_heartbeat(struct stream *s, uint64_t clock_ms)
{
	stream_added(s, wire_encode_heartbeat(stream_room(s), WIRE_MAX_FRAME, clock_ms));
}

void stream_error(struct stream *s, uint16_t code, const char *msg)
{
	stream_added(s, wire_encode_error(stream_room(s), WIRE_MAX_FRAME, code, msg));
}

void stream_summaries(struct stream *s, size_t n, unsigned seed)
{
	struct wire_batch b;
	uint8_t data[256], flags;
	uint32_t payload_len;
	size_t len;

	wire_batch_init(&b, stream_room(s), WIRE_MAX_FRAME);
	for (size_t i = 0; i < n; i++) {
		len = test_summary_data(data, sizeof(data), seed + (unsigned)i, &flags, &payload_len);
		assert_int_equal(wire_batch_add(&b, flags, payload_len, data, len), 0);
	}
	stream_added(s, wire_batch_finish(&b));
}

static size_t put_tcp(uint8_t *p, unsigned seed)
{
	memset(p, 0, 32);
	p[0] = 0x1f;			/* source port 8080 */
	p[1] = 0x90;
	p[2] = (uint8_t)(seed >> 8);	/* destination port: the client's */
	p[3] = (uint8_t)(seed | 1);
	p[4] = (uint8_t)seed;		/* a sequence number that tells records apart */
	p[12] = 8 << 4;			/* data offset: 32 bytes, timestamps */
	p[13] = TCPF_ACK;
	p[20] = 1;			/* NOP, NOP, timestamp option */
	p[21] = 1;
	p[22] = 8;
	p[23] = 10;
	return 32;
}

size_t test_summary_data(uint8_t *buf, size_t cap, unsigned seed, uint8_t *flags,
			 uint32_t *payload_len)
{
	size_t ip_len = seed % 2 ? 40 : 20, prefix = seed % 3 == 0 ? seed % 50 : 0;
	size_t len = ip_len + 32 + prefix;

	assert_true(len <= cap);
	memset(buf, 0, ip_len);
	*payload_len = 1000 + seed;
	if (ip_len == 20) {
		buf[0] = 0x45;
		buf[2] = (uint8_t)((20 + 32 + *payload_len) >> 8);
		buf[3] = (uint8_t)(20 + 32 + *payload_len);
		buf[8] = 64;
		buf[9] = IPPROTO_TCP;
		memcpy(buf + 12, "\xc6\x12\x00\x02\xc6\x12\x00\x01", 8);	/* 198.18.0.2 > .1 */
	} else {
		buf[0] = 0x60;
		buf[4] = (uint8_t)((32 + *payload_len) >> 8);
		buf[5] = (uint8_t)(32 + *payload_len);
		buf[6] = IPPROTO_TCP;
		buf[7] = 64;
	}
	put_tcp(buf + ip_len, seed);
	for (size_t i = 0; i < prefix; i++)
		buf[ip_len + 32 + i] = (uint8_t)(seed + i);
	*flags = prefix ? WIRE_SUMMARY_PREFIX : 0;
	return len;
}

static void parse_addr(const char *s, struct dp_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->bytes) == 1) {
		a->family = AF_INET;
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, s, a->bytes), 1);
	a->family = AF_INET6;
}

struct wire_route test_route(const char *client, uint16_t client_port,
			     const char *target, uint16_t target_port)
{
	struct wire_route r;

	memset(&r, 0, sizeof(r));
	parse_addr(client, &r.client);
	parse_addr(target, &r.target);
	r.client_port = client_port;
	r.target_port = target_port;
	return r;
}

void frame_list_free(struct frame_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i].body);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

void drain_frames(struct wire_decoder *d, struct frame_list *l)
{
	struct wire_frame f;
	struct frame_copy *c;
	int rc;

	while ((rc = wire_decoder_next(d, &f)) == 1) {
		if (l->count == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 16;
			l->items = realloc(l->items, l->cap * sizeof(*l->items));
			assert_non_null(l->items);
		}
		c = &l->items[l->count++];
		c->type = f.type;
		c->body_len = f.body_len;
		c->body = malloc(f.body_len + 1);
		assert_non_null(c->body);
		memcpy(c->body, f.body, f.body_len);
	}
	if (rc != 0)
		fail_msg("decoder failed on a valid stream: %s", d->error);
}

void assert_same_frames(const struct frame_list *a, const struct frame_list *b)
{
	assert_int_equal(a->count, b->count);
	for (size_t i = 0; i < a->count; i++) {
		assert_int_equal(a->items[i].type, b->items[i].type);
		assert_int_equal(a->items[i].body_len, b->items[i].body_len);
		assert_memory_equal(a->items[i].body, b->items[i].body, a->items[i].body_len);
	}
}
