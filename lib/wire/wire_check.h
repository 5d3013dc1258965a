/*
 * wire_check.h — the wire codec's own checks and byte order helpers, shared
 * by its decoder (wire.c) and encoders (wire_encode.c). Not for other users:
 * they go through wire.h.
 */
#ifndef DOPPEL_WIRE_CHECK_H
#define DOPPEL_WIRE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/wire/wire.h"

/* magic and version open every HELLO, in every version of the protocol */
#define WIRE_HELLO_FIXED_LEN 8

/* Where a failed check leaves its reason. */
struct wire_check {
	char *msg;		/* the detailed reason goes here, unless NULL */
	size_t msg_len;
	const char *why;	/* a short, static reason */
	uint16_t code;		/* the WIRE_ERR_* that answers it */
	bool route_payload;	/* ROUTE_PAYLOAD in use: routes may want payload */
};

/* Fill c and return -1. */
int wire_fault(struct wire_check *c, uint16_t code, const char *why, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Each returns 0, or -1 with c filled. */
int wire_check_header(const uint8_t *header, bool got_hello, unsigned peer_role,
		      struct wire_check *c);
int wire_check_length(unsigned type, uint32_t len, struct wire_check *c);
/* expect_role: 0, or the role the HELLO must carry. */
int wire_check_body(unsigned type, const uint8_t *body, uint32_t len, unsigned expect_role,
		    struct wire_check *c);
int wire_check_hello(const uint8_t *body, uint32_t len, unsigned expect_role,
		     struct wire_hello *h, struct wire_check *c);
/* One 40-byte route; index only names it in the message. */
int wire_check_route(const uint8_t *p, size_t index, struct wire_route *r, struct wire_check *c);
/* One summary record at p, end being the end of the body. */
int wire_check_record(const uint8_t *p, const uint8_t *end, unsigned index,
		      struct wire_summary *s, struct wire_check *c);
int wire_check_error(const uint8_t *body, uint32_t len, struct wire_check *c);

static inline bool wire_is_route_type(unsigned type)
{
	return type == WIRE_ROUTE_ADD || type == WIRE_ROUTE_DEL;
}

static inline uint16_t wire_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t wire_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t wire_get64(const uint8_t *p)
{
	return (uint64_t)wire_get32(p) << 32 | wire_get32(p + 4);
}

static inline void wire_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wire_put32(uint8_t *p, uint32_t v)
{
	wire_put16(p, (uint16_t)(v >> 16));
	wire_put16(p + 2, (uint16_t)v);
}

static inline void wire_put64(uint8_t *p, uint64_t v)
{
	wire_put32(p, (uint32_t)(v >> 32));
	wire_put32(p + 4, (uint32_t)v);
}

#endif
