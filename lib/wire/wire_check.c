/*
 * wire_check.c — what makes a frame valid (docs/protocol.md), in one place.
 *
 * The checks serve three callers: the decoder, which wants a detailed
 * reason to log and to send the peer; the accessors, which only need to
 * refuse a hand-built frame; and the encoders, which check what they wrote
 * so that everything they emit decodes.
 */
#include "lib/wire/wire_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/wire/utf8.h"

static const char *role_name(unsigned role)
{
	return role == WIRE_ROLE_COPY ? "copy" : role == WIRE_ROLE_INTERCEPT ? "intercept" : "unknown";
}

int wire_fault(struct wire_check *c, uint16_t code, const char *why, const char *fmt, ...)
{
	va_list ap;

	c->why = why;
	c->code = code;
	if (c->msg) {
		va_start(ap, fmt);
		vsnprintf(c->msg, c->msg_len, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* The body lengths each type allows, known from the header alone. */
int wire_check_length(unsigned type, uint32_t len, struct wire_check *c)
{
	const char *name = wire_type_name(type);
	const uint32_t summaries_min = WIRE_SUMMARIES_HEADER_LEN + WIRE_SUMMARY_HEADER_LEN +
				       WIRE_SUMMARY_MIN_DATA;

	switch (type) {
	case WIRE_HELLO:
		if (len < WIRE_HELLO_FIXED_LEN)
			return wire_fault(c, WIRE_ERR_MALFORMED, "HELLO too short",
				     "HELLO body length %u < %u", len, WIRE_HELLO_FIXED_LEN);
		return 0;
	case WIRE_ROUTE_ADD:
	case WIRE_ROUTE_DEL:
		if (len == 0)
			return wire_fault(c, WIRE_ERR_MALFORMED, "route frame empty", "%s body is empty", name);
		if (len % WIRE_ROUTE_LEN)
			return wire_fault(c, WIRE_ERR_MALFORMED, "route frame length not a multiple of 40",
				     "%s body length %u is not a multiple of %u", name, len, WIRE_ROUTE_LEN);
		return 0;
	case WIRE_SUMMARIES:
		if (len < summaries_min)
			return wire_fault(c, WIRE_ERR_MALFORMED, "SUMMARIES too short",
				     "SUMMARIES body length %u < %u (one record)", len, summaries_min);
		return 0;
	case WIRE_HEARTBEAT:
		if (len != WIRE_HEARTBEAT_LEN)
			return wire_fault(c, WIRE_ERR_MALFORMED, "HEARTBEAT length wrong",
				     "HEARTBEAT body length %u, expected %u", len, WIRE_HEARTBEAT_LEN);
		return 0;
	case WIRE_ERROR:
		if (len < WIRE_ERROR_MIN_LEN)
			return wire_fault(c, WIRE_ERR_MALFORMED, "ERROR too short",
				     "ERROR body length %u < %u", len, WIRE_ERROR_MIN_LEN);
		if (len - WIRE_ERROR_MIN_LEN > WIRE_ERROR_MAX_MSG)
			return wire_fault(c, WIRE_ERR_MALFORMED, "ERROR message too long",
				     "ERROR message length %u > max %u", len - WIRE_ERROR_MIN_LEN,
				     WIRE_ERROR_MAX_MSG);
		return 0;
	}
	return wire_fault(c, WIRE_ERR_MALFORMED, "unknown frame type", "unknown frame type %u", type);
}

/* A stock TCPCopy 1.0 client opens with a 14-byte message whose client
 * address and port are zero and whose type is its version: six zero bytes
 * that no doppel frame header can start with (type 0 does not exist). */
static bool is_tcpcopy_hello(const uint8_t *h)
{
	static const uint8_t zeros[6];

	return memcmp(h, zeros, sizeof(zeros)) == 0 && wire_get16(h + 6) != 0;
}

int wire_check_header(const uint8_t *h, bool got_hello, unsigned peer_role, struct wire_check *c)
{
	uint32_t len = wire_get32(h);
	unsigned type = h[4], flags = h[5], reserved = wire_get16(h + 6);
	const char *name = wire_type_name(type);

	if (!got_hello && is_tcpcopy_hello(h))
		return wire_fault(c, WIRE_ERR_VERSION, "peer speaks TCPCopy's protocol",
			     "first bytes are a TCPCopy 1.0 version message (version %u); "
			     "this end does not speak the TCPCopy dialect", reserved);
	if (len > WIRE_MAX_BODY)
		return wire_fault(c, WIRE_ERR_MALFORMED, "frame too long",
			     "frame body length %u > max %u", len, WIRE_MAX_BODY);
	if (strcmp(name, "unknown") == 0)
		return wire_fault(c, WIRE_ERR_MALFORMED, "unknown frame type", "unknown frame type %u", type);
	if (flags)
		return wire_fault(c, WIRE_ERR_MALFORMED, "frame flags not zero",
			     "%s frame flags 0x%02x not zero", name, flags);
	if (reserved)
		return wire_fault(c, WIRE_ERR_MALFORMED, "frame reserved field not zero",
			     "%s frame reserved field 0x%04x not zero", name, reserved);
	if (!got_hello && type != WIRE_HELLO && type != WIRE_ERROR)
		return wire_fault(c, WIRE_ERR_MALFORMED, "first frame not HELLO",
			     "first frame is %s, not HELLO", name);
	if (got_hello && type == WIRE_HELLO)
		return wire_fault(c, WIRE_ERR_MALFORMED, "second HELLO", "second HELLO");
	if (got_hello && peer_role == WIRE_ROLE_INTERCEPT && wire_is_route_type(type))
		return wire_fault(c, WIRE_ERR_MALFORMED, "route frame from intercept",
			     "%s from an intercept peer", name);
	if (got_hello && peer_role == WIRE_ROLE_COPY && type == WIRE_SUMMARIES)
		return wire_fault(c, WIRE_ERR_MALFORMED, "SUMMARIES from copy",
			     "SUMMARIES from a copy peer");
	return wire_check_length(type, len, c);
}

/* expect_role: 0, or the role the peer must have. */
int wire_check_hello(const uint8_t *b, uint32_t len, unsigned expect_role,
		       struct wire_hello *h, struct wire_check *c)
{
	uint32_t magic;

	if (wire_check_length(WIRE_HELLO, len, c))
		return -1;
	magic = wire_get32(b);
	if (magic != WIRE_MAGIC)
		return wire_fault(c, WIRE_ERR_MALFORMED, "HELLO bad magic",
			     "HELLO bad magic 0x%08x, expected 0x%08x (\"DPPL\")", magic, WIRE_MAGIC);
	h->version = wire_get16(b + 4);
	if (h->version != WIRE_VERSION)
		return wire_fault(c, WIRE_ERR_VERSION, "HELLO version not supported",
			     "HELLO version %u, this side speaks version %u", h->version, WIRE_VERSION);
	if (len != WIRE_HELLO_LEN)
		return wire_fault(c, WIRE_ERR_MALFORMED, "HELLO length wrong",
			     "HELLO body length %u, expected %u", len, WIRE_HELLO_LEN);
	h->role = wire_get16(b + 6);
	h->features = wire_get32(b + 8);
	h->max_body = wire_get32(b + 12);
	if (h->role != WIRE_ROLE_COPY && h->role != WIRE_ROLE_INTERCEPT)
		return wire_fault(c, WIRE_ERR_ROLE, "HELLO role unknown", "HELLO role %u unknown", h->role);
	if (expect_role && h->role != expect_role)
		return wire_fault(c, WIRE_ERR_ROLE, "HELLO role wrong", "HELLO role %s, expected %s",
			     role_name(h->role), role_name(expect_role));
	if (h->max_body < WIRE_MIN_MAX_BODY)
		return wire_fault(c, WIRE_ERR_MALFORMED, "HELLO max body too small",
			     "HELLO max body %u < %u", h->max_body, WIRE_MIN_MAX_BODY);
	return 0;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

/* One 40-byte route record; index counts from 0 for the messages. */
int wire_check_route(const uint8_t *p, size_t index, struct wire_route *r, struct wire_check *c)
{
	unsigned family = p[0];
	size_t addr_len = family == WIRE_FAMILY_IPV4 ? 4 : 16;

	if (family != WIRE_FAMILY_IPV4 && family != WIRE_FAMILY_IPV6)
		return wire_fault(c, WIRE_ERR_MALFORMED, "route family unknown",
			     "route %zu family %u unknown (4 or 6)", index, family);
	if (p[1])
		return wire_fault(c, WIRE_ERR_MALFORMED, "route reserved bytes not zero",
			     "route %zu reserved bytes not zero", index);
	if (wire_get16(p + 6) && !c->route_payload)
		return wire_fault(c, WIRE_ERR_MALFORMED, "route payload wanted without ROUTE_PAYLOAD",
			     "route %zu wants %u payload bytes but ROUTE_PAYLOAD is not in use",
			     index, wire_get16(p + 6));
	if (!wire_get16(p + 2) || !wire_get16(p + 4))
		return wire_fault(c, WIRE_ERR_MALFORMED, "route port 0",
			     "route %zu %s port 0", index, wire_get16(p + 2) ? "target" : "client");
	if (!all_zero(p + 8 + addr_len, 16 - addr_len) || !all_zero(p + 24 + addr_len, 16 - addr_len))
		return wire_fault(c, WIRE_ERR_MALFORMED, "route IPv4 address padding not zero",
			     "route %zu IPv4 address has non-zero bytes past its first 4", index);
	memset(r, 0, sizeof(*r));
	r->client.family = r->target.family = family == WIRE_FAMILY_IPV4 ? AF_INET : AF_INET6;
	r->client_port = wire_get16(p + 2);
	r->target_port = wire_get16(p + 4);
	r->payload_wanted = wire_get16(p + 6);
	memcpy(r->client.bytes, p + 8, addr_len);
	memcpy(r->target.bytes, p + 24, addr_len);
	return 0;
}

static int check_routes(unsigned type, const uint8_t *b, uint32_t len, struct wire_check *c)
{
	struct wire_route r;

	if (wire_check_length(type, len, c))
		return -1;
	for (size_t i = 0; i < len / WIRE_ROUTE_LEN; i++)
		if (wire_check_route(b + i * WIRE_ROUTE_LEN, i, &r, c))
			return -1;
	return 0;
}

/* One summary record at p, with end the end of the body. */
int wire_check_record(const uint8_t *p, const uint8_t *end, unsigned index,
			struct wire_summary *s, struct wire_check *c)
{
	size_t room = (size_t)(end - p);
	unsigned data_len, ip_version;

	if (room < WIRE_SUMMARY_HEADER_LEN)
		return wire_fault(c, WIRE_ERR_MALFORMED, "summary record header runs past the body",
			     "summary record %u header runs past the body", index);
	if (p[0] & ~WIRE_SUMMARY_PREFIX)
		return wire_fault(c, WIRE_ERR_MALFORMED, "summary record flags unknown",
			     "summary record %u flags 0x%02x unknown", index, p[0]);
	if (p[1])
		return wire_fault(c, WIRE_ERR_MALFORMED, "summary record reserved byte not zero",
			     "summary record %u reserved byte 0x%02x not zero", index, p[1]);
	data_len = wire_get16(p + 2);
	if (data_len < WIRE_SUMMARY_MIN_DATA)
		return wire_fault(c, WIRE_ERR_MALFORMED, "summary record data too short",
			     "summary record %u data length %u < %u", index, data_len,
			     WIRE_SUMMARY_MIN_DATA);
	if (data_len > room - WIRE_SUMMARY_HEADER_LEN)
		return wire_fault(c, WIRE_ERR_MALFORMED, "summary record data runs past the body",
			     "summary record %u data length %u runs past the body", index, data_len);
	ip_version = p[WIRE_SUMMARY_HEADER_LEN] >> 4;
	if (ip_version != 4 && ip_version != 6)
		return wire_fault(c, WIRE_ERR_MALFORMED, "summary record data not IP",
			     "summary record %u data starts with IP version %u", index, ip_version);
	s->flags = p[0];
	s->payload_len = wire_get32(p + 4);
	s->data = p + WIRE_SUMMARY_HEADER_LEN;
	s->data_len = (uint16_t)data_len;
	return 0;
}

static int check_summaries(const uint8_t *b, uint32_t len, struct wire_check *c)
{
	const uint8_t *p = b + WIRE_SUMMARIES_HEADER_LEN, *end = b + len;
	unsigned count;
	struct wire_summary s;

	if (wire_check_length(WIRE_SUMMARIES, len, c))
		return -1;
	count = wire_get16(b);
	if (count == 0)
		return wire_fault(c, WIRE_ERR_MALFORMED, "SUMMARIES count 0", "SUMMARIES count 0");
	if (wire_get16(b + 2))
		return wire_fault(c, WIRE_ERR_MALFORMED, "SUMMARIES reserved field not zero",
			     "SUMMARIES reserved field 0x%04x not zero", wire_get16(b + 2));
	for (unsigned i = 0; i < count; i++) {
		if (p == end)
			return wire_fault(c, WIRE_ERR_MALFORMED, "SUMMARIES count larger than the body",
				     "SUMMARIES count %u but the body ends after %u records", count, i);
		if (wire_check_record(p, end, i, &s, c))
			return -1;
		p = s.data + s.data_len;
	}
	if (p != end)
		return wire_fault(c, WIRE_ERR_MALFORMED, "SUMMARIES bytes after the last record",
			     "SUMMARIES count %u but %zu bytes follow the last record", count,
			     (size_t)(end - p));
	return 0;
}

int wire_check_error(const uint8_t *b, uint32_t len, struct wire_check *c)
{
	size_t valid;

	if (wire_check_length(WIRE_ERROR, len, c))
		return -1;
	if (wire_get16(b + 2))
		return wire_fault(c, WIRE_ERR_MALFORMED, "ERROR reserved field not zero",
			     "ERROR reserved field 0x%04x not zero", wire_get16(b + 2));
	valid = utf8_valid_prefix(b + WIRE_ERROR_MIN_LEN, len - WIRE_ERROR_MIN_LEN);
	if (valid != len - WIRE_ERROR_MIN_LEN)
		return wire_fault(c, WIRE_ERR_MALFORMED, "ERROR message not UTF-8",
			     "ERROR message is not UTF-8 without NULs (byte %zu)", valid);
	return 0;
}

/* The body checks of every type; HELLO's role is checked against
 * expect_role (0: any). */
int wire_check_body(unsigned type, const uint8_t *b, uint32_t len, unsigned expect_role,
		      struct wire_check *c)
{
	struct wire_hello h;

	switch (type) {
	case WIRE_HELLO: return wire_check_hello(b, len, expect_role, &h, c);
	case WIRE_ROUTE_ADD:
	case WIRE_ROUTE_DEL: return check_routes(type, b, len, c);
	case WIRE_SUMMARIES: return check_summaries(b, len, c);
	case WIRE_ERROR: return wire_check_error(b, len, c);
	}
	return wire_check_length(type, len, c);
}

