/*
 * test_hash.c — lib/net/hash.h: FNV-1a against the published 64-bit test
 * vectors, chaining equal to one run over the joined bytes, and the
 * MurmurHash3 finaliser's avalanche (each input bit flips about half of the
 * output bits) and its being one-to-one on a sample; hash_words' avalanche
 * over a session-key-sized key, tail included, and its spread of ports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/net/hash.h"
#include "packet_random.h"

static uint64_t fnv1a_string(const char *s)
{
	return hash_fnv1a(HASH_FNV1A_OFFSET, s, strlen(s));
}

/* The FNV authors' 64-bit FNV-1a vectors. */
static void test_fnv1a_vectors(void **state)
{
	assert_true(fnv1a_string("") == 0xcbf29ce484222325ull);
	assert_true(fnv1a_string("a") == 0xaf63dc4c8601ec8cull);
	assert_true(fnv1a_string("foobar") == 0x85944171f73967e8ull);
}

static void test_fnv1a_chains(void **state)
{
	uint64_t h = hash_fnv1a(HASH_FNV1A_OFFSET, "foo", 3);

	assert_true(hash_fnv1a(h, "bar", 3) == fnv1a_string("foobar"));
	/* a seed changes the result */
	assert_true(hash_fnv1a(HASH_FNV1A_OFFSET ^ 1, "foobar", 6) != fnv1a_string("foobar"));
}

/*
 * Over 256 random inputs x 64 input bits, flipping one bit flips on
 * average 32 of the 64 output bits; the mean of 16,384 such counts
 * (standard deviation 4 each, so about 0.03 for the mean) lies within
 * 31..33 for a finaliser that avalanches, far from it for a weak one (the
 * FNV product alone flips few low bits).
 */
static void test_mix64_avalanche(void **state)
{
	struct test_rng rng = { PACKET_RANDOM_SEED };
	uint64_t flipped = 0, samples = 0;

	for (int i = 0; i < 256; i++) {
		uint64_t x = rng_next(&rng), hx = hash_mix64(x);

		for (int bit = 0; bit < 64; bit++) {
			flipped += (uint64_t)__builtin_popcountll(hx ^ hash_mix64(x ^ 1ull << bit));
			samples++;
		}
	}
	assert_in_range(flipped * 10 / samples, 310, 330);
	assert_true(hash_mix64(0) == 0);
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A bijection: consecutive inputs (the worst case for a table keyed by
 * ports) give distinct outputs, and their low bytes spread over buckets. */
static void test_mix64_distinct_and_spread(void **state)
{
	enum { N = 4096, BUCKETS = 64 };
	uint64_t *out = calloc(N, sizeof(*out));
	unsigned bucket[BUCKETS] = { 0 };

	assert_non_null(out);
	for (uint64_t i = 0; i < N; i++) {
		out[i] = hash_mix64(i + 1);
		bucket[out[i] % BUCKETS]++;
	}
	qsort(out, N, sizeof(*out), compare_u64);
	for (size_t i = 1; i < N; i++)
		assert_true(out[i] != out[i - 1]);
	/* 64 per bucket expected (standard deviation 8): none empty or
	 * doubled, as an identity-like mix over consecutive inputs would be */
	for (unsigned b = 0; b < BUCKETS; b++)
		assert_in_range(bucket[b], 24, 110);
	free(out);
}

/* hash_words over a 44-byte key (a session key's size: five words and a
 * 4-byte tail): flipping any one bit, the tail's included, flips about half
 * the output bits, and keys differing in one port only (a client's next
 * connection) land in distinct low bits. */
static void test_words_avalanche_and_tail(void **state)
{
	struct test_rng rng = { PACKET_RANDOM_SEED };
	uint64_t flipped = 0, samples = 0;
	uint8_t key[44];

	for (int i = 0; i < 64; i++) {
		uint64_t h;

		for (size_t j = 0; j < sizeof(key); j++)
			key[j] = (uint8_t)rng_next(&rng);
		h = hash_words(42, key, sizeof(key));
		for (size_t bit = 0; bit < sizeof(key) * 8; bit++) {
			key[bit / 8] ^= (uint8_t)(1u << bit % 8);
			flipped += (uint64_t)__builtin_popcountll(h ^ hash_words(42, key, sizeof(key)));
			key[bit / 8] ^= (uint8_t)(1u << bit % 8);
			samples++;
		}
		/* the seed counts too */
		assert_true(hash_words(43, key, sizeof(key)) != h);
	}
	assert_in_range(flipped * 10 / samples, 310, 330);
}

static void test_words_ports_spread(void **state)
{
	enum { N = 4096, BUCKETS = 64 };
	unsigned bucket[BUCKETS] = { 0 };
	uint8_t key[44] = { 10, 0, 0, 1 };

	for (uint16_t port = 0; port < N; port++) {
		memcpy(key + 40, &port, sizeof(port));
		bucket[hash_words(7, key, sizeof(key)) % BUCKETS]++;
	}
	for (unsigned b = 0; b < BUCKETS; b++)
		assert_in_range(bucket[b], 24, 110);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fnv1a_vectors),
		cmocka_unit_test(test_fnv1a_chains),
		cmocka_unit_test(test_mix64_avalanche),
		cmocka_unit_test(test_mix64_distinct_and_spread),
		cmocka_unit_test(test_words_avalanche_and_tail),
		cmocka_unit_test(test_words_ports_spread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
