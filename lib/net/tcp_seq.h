/*
 * tcp_seq.h — TCP sequence number arithmetic (RFC 1982 style, modulo 2^32):
 * a is before b when b - a, as a signed 32-bit number, is positive.
 */
#ifndef DOPPEL_TCP_SEQ_H
#define DOPPEL_TCP_SEQ_H

#include <stdbool.h>
#include <stdint.h>

static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline bool seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline bool seq_ge(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }

#endif
