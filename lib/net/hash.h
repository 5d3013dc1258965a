/*
 * hash.h — the non-cryptographic hash pieces the daemons' tables share.
 *
 * Two building blocks, both well known and both cheap:
 *
 *   hash_fnv1a()  FNV-1a over bytes (64-bit): one xor and one multiply a
 *                 byte, good for short keys of any length (an address, a
 *                 port). Its low bits are weak on their own.
 *   hash_mix64()  the 64-bit finaliser of MurmurHash3 (fmix64): an
 *                 avalanche, every input bit flips each output bit with
 *                 probability about one half. Run it last whenever the
 *                 result is taken modulo a small number or masked to the
 *                 low bits (buckets, linear probing, percentages).
 *   hash_words()  a fixed-size key (a session key) eight bytes at a time,
 *                 each word xored in and mixed with hash_mix64: a fifth of
 *                 FNV-1a's multiplies on a 40-byte key, and every bit of
 *                 the result depends on every bit of the key.
 *
 * None of this resists an attacker who knows the seed: the callers draw a
 * secret random seed per process, which is enough to keep clients, who
 * choose their own port numbers, from aiming at one bucket.
 */
#ifndef DOPPEL_HASH_H
#define DOPPEL_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HASH_FNV1A_OFFSET 0xcbf29ce484222325ull	/* FNV-1a 64-bit offset basis */
#define HASH_FNV1A_PRIME 0x100000001b3ull	/* FNV 64-bit prime */
#define HASH_GOLDEN64 0x9e3779b97f4a7c15ull	/* 2^64 / golden ratio, odd */

/* Continue an FNV-1a hash h over len bytes: start a new one with
 * HASH_FNV1A_OFFSET (xor a seed into it to seed it), chain calls to hash
 * several fields as one run of bytes. */
static inline uint64_t hash_fnv1a(uint64_t h, const void *data, size_t len)
{
	const uint8_t *bytes = data;

	for (size_t i = 0; i < len; i++) {
		h ^= bytes[i];
		h *= HASH_FNV1A_PRIME;
	}
	return h;
}

/* MurmurHash3's fmix64: a bijection on 64-bit values, so distinct inputs
 * stay distinct, with full avalanche. */
static inline uint64_t hash_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* Hash len bytes of key (a struct with no padding holes, or with them
 * zeroed) eight at a time, a short tail padded with zeros, starting from
 * seed (callers xor a constant of their own into the seed so two tables
 * over the same keys do not place them alike). For keys of one fixed size:
 * the length is not hashed. */
static inline uint64_t hash_words(uint64_t seed, const void *key, size_t len)
{
	const uint8_t *bytes = key;
	uint64_t h = seed, word;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&word, bytes + i, 8);
		h = hash_mix64(h ^ word);
	}
	if (i < len) {
		word = 0;
		memcpy(&word, bytes + i, len - i);
		h = hash_mix64(h ^ word);
	}
	return h;
}

#endif
