/*
 * packet_bytes.h — big-endian loads and stores for the packet code. Bytes
 * are assembled one by one, so any alignment is fine and the compiler turns
 * each into a single load and byte swap.
 */
#ifndef DOPPEL_PACKET_BYTES_H
#define DOPPEL_PACKET_BYTES_H

#include <stdint.h>

static inline uint16_t load_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void store_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Set *why (when the caller gave a place for it) and return -1. */
static inline int packet_fail(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -1;
}

#endif
