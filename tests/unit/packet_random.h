/*
 * packet_random.h — reproducible random packets for the property tests:
 * a xorshift generator with a fixed seed (the same packets on every run and
 * every libc) and a filler for struct packet_spec.
 */
#ifndef DOPPEL_TEST_PACKET_RANDOM_H
#define DOPPEL_TEST_PACKET_RANDOM_H

#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/net/packet_build.h"

#define PACKET_RANDOM_SEED 0x9e3779b97f4a7c15ull

struct test_rng {
	uint64_t state;
};

static inline uint64_t rng_next(struct test_rng *r)
{
	uint64_t x = r->state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	r->state = x;
	return x;
}

static inline uint32_t rng_below(struct test_rng *r, uint32_t n)
{
	return (uint32_t)(rng_next(r) % n);
}

static inline void rng_fill(struct test_rng *r, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)rng_next(r);
}

/* A spec with random family, addresses, ports, numbers, options and a
 * payload of up to max_payload bytes from payload_buf (filled here). */
static inline void rng_spec(struct test_rng *r, struct packet_spec *s,
			    uint8_t *payload_buf, size_t max_payload)
{
	uint8_t family = rng_below(r, 2) ? AF_INET6 : AF_INET;

	memset(s, 0, sizeof(*s));
	s->src.family = family;
	s->dst.family = family;
	rng_fill(r, s->src.bytes, family == AF_INET ? 4 : 16);
	rng_fill(r, s->dst.bytes, family == AF_INET ? 4 : 16);
	s->sport = (uint16_t)rng_next(r);
	s->dport = (uint16_t)rng_next(r);
	s->seq = (uint32_t)rng_next(r);
	s->ack = (uint32_t)rng_next(r);
	s->flags = (uint8_t)rng_next(r);
	s->window = (uint16_t)rng_next(r);
	s->ttl = (uint8_t)rng_next(r);
	s->ip_id = (uint16_t)rng_next(r);
	s->opt.has_mss = rng_below(r, 2);
	s->opt.mss = (uint16_t)rng_next(r);
	s->opt.has_wscale = rng_below(r, 2);
	s->opt.wscale = (uint8_t)rng_below(r, 15);
	s->opt.sack_permitted = rng_below(r, 2);
	s->opt.has_timestamp = rng_below(r, 2);
	s->opt.tsval = (uint32_t)rng_next(r);
	s->opt.tsecr = (uint32_t)rng_next(r);
	s->payload_len = max_payload ? rng_below(r, (uint32_t)max_payload + 1) : 0;
	rng_fill(r, payload_buf, s->payload_len);
	s->payload = payload_buf;
}

#endif
