/*
 * wire_encode.c — building frames (docs/protocol.md). Each encoder writes
 * its frame, then runs the decoder's check on what it wrote, so that a frame
 * doppel sends is always one doppel accepts.
 */
#include "lib/wire/wire.h"

#include <string.h>
#include <sys/socket.h>

#include "lib/wire/utf8.h"
#include "lib/wire/wire_check.h"

static size_t put_header(uint8_t *buf, unsigned type, uint32_t body_len)
{
	wire_put32(buf, body_len);
	buf[4] = (uint8_t)type;
	buf[5] = 0;
	wire_put16(buf + 6, 0);
	return WIRE_HEADER_LEN + body_len;
}

size_t wire_encode_hello(uint8_t *buf, size_t cap, const struct wire_hello *h)
{
	struct wire_hello check;
	struct wire_check c = { 0 };
	uint8_t *b;

	if (!buf || !h || cap < WIRE_HEADER_LEN + WIRE_HELLO_LEN)
		return 0;
	b = buf + WIRE_HEADER_LEN;
	wire_put32(b, WIRE_MAGIC);
	wire_put16(b + 4, h->version);
	wire_put16(b + 6, h->role);
	wire_put32(b + 8, h->features);
	wire_put32(b + 12, h->max_body);
	if (wire_check_hello(b, WIRE_HELLO_LEN, 0, &check, &c))
		return 0;
	return put_header(buf, WIRE_HELLO, WIRE_HELLO_LEN);
}

static int family_code(const struct wire_route *r)
{
	if (r->client.family != r->target.family)
		return -1;
	if (r->client.family == AF_INET)
		return WIRE_FAMILY_IPV4;
	if (r->client.family == AF_INET6)
		return WIRE_FAMILY_IPV6;
	return -1;
}

/* One 40-byte route record at p; 0, or -1 when the route is not valid. */
static int put_route(uint8_t *p, const struct wire_route *r, size_t index)
{
	int family = family_code(r);
	size_t addr_len = family == WIRE_FAMILY_IPV4 ? 4 : 16;
	struct wire_route check;
	struct wire_check c = { .route_payload = true };

	if (family < 0)
		return -1;
	memset(p, 0, WIRE_ROUTE_LEN);
	p[0] = (uint8_t)family;
	wire_put16(p + 2, r->client_port);
	wire_put16(p + 4, r->target_port);
	wire_put16(p + 6, r->payload_wanted);
	memcpy(p + 8, r->client.bytes, addr_len);
	memcpy(p + 24, r->target.bytes, addr_len);
	return wire_check_route(p, index, &check, &c);
}

size_t wire_encode_routes(uint8_t *buf, size_t cap, enum wire_type type,
			  const struct wire_route *r, size_t n)
{
	size_t body_len = n * WIRE_ROUTE_LEN;

	if (!buf || !r || !wire_is_route_type(type) || n == 0 ||
	    n > WIRE_MAX_BODY / WIRE_ROUTE_LEN || cap < WIRE_HEADER_LEN + body_len)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (put_route(buf + WIRE_HEADER_LEN + i * WIRE_ROUTE_LEN, &r[i], i))
			return 0;
	return put_header(buf, type, (uint32_t)body_len);
}

size_t wire_encode_heartbeat(uint8_t *buf, size_t cap, uint64_t clock_ms)
{
	if (!buf || cap < WIRE_HEADER_LEN + WIRE_HEARTBEAT_LEN)
		return 0;
	wire_put64(buf + WIRE_HEADER_LEN, clock_ms);
	return put_header(buf, WIRE_HEARTBEAT, WIRE_HEARTBEAT_LEN);
}

size_t wire_encode_error(uint8_t *buf, size_t cap, uint16_t code, const char *msg)
{
	size_t room, msg_len;
	uint8_t *b;

	if (!buf || cap < WIRE_HEADER_LEN + WIRE_ERROR_MIN_LEN)
		return 0;
	b = buf + WIRE_HEADER_LEN;
	room = cap - WIRE_HEADER_LEN - WIRE_ERROR_MIN_LEN;
	if (room > WIRE_ERROR_MAX_MSG)
		room = WIRE_ERROR_MAX_MSG;
	wire_put16(b, code);
	wire_put16(b + 2, 0);
	msg_len = utf8_sanitize(b + WIRE_ERROR_MIN_LEN, room, msg ? msg : "");
	return put_header(buf, WIRE_ERROR, (uint32_t)(WIRE_ERROR_MIN_LEN + msg_len));
}

void wire_batch_init(struct wire_batch *b, uint8_t *buf, size_t cap)
{
	b->buf = buf;
	b->cap = cap < WIRE_MAX_FRAME ? cap : WIRE_MAX_FRAME;
	b->len = WIRE_HEADER_LEN + WIRE_SUMMARIES_HEADER_LEN;
	b->count = 0;
}

int wire_batch_add(struct wire_batch *b, uint8_t flags, uint32_t payload_len,
		   const uint8_t *data, size_t data_len)
{
	struct wire_summary check;
	struct wire_check c = { 0 };
	uint8_t *p;

	if (!b->buf || !data || b->count == UINT16_MAX || data_len > UINT16_MAX ||
	    b->len > b->cap || WIRE_SUMMARY_HEADER_LEN + data_len > b->cap - b->len)
		return -1;
	p = b->buf + b->len;
	p[0] = flags;
	p[1] = 0;
	wire_put16(p + 2, (uint16_t)data_len);
	wire_put32(p + 4, payload_len);
	memcpy(p + WIRE_SUMMARY_HEADER_LEN, data, data_len);
	if (wire_check_record(p, p + WIRE_SUMMARY_HEADER_LEN + data_len, b->count, &check, &c))
		return -1;
	b->len += WIRE_SUMMARY_HEADER_LEN + data_len;
	b->count++;
	return 0;
}

size_t wire_batch_finish(struct wire_batch *b)
{
	uint8_t *body;

	if (!b->buf || b->count == 0)
		return 0;
	body = b->buf + WIRE_HEADER_LEN;
	wire_put16(body, b->count);
	wire_put16(body + 2, 0);
	return put_header(b->buf, WIRE_SUMMARIES, (uint32_t)(b->len - WIRE_HEADER_LEN));
}
