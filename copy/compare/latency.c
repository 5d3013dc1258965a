/*
 * latency.c — the histogram of latency.h.
 */
#include "copy/compare/latency.h"

static unsigned bucket_of(uint64_t v)
{
	if (v < 8)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v);	/* 3 .. 63 */

	if (e > 39)
		return LATENCY_BUCKETS - 1;
	return (e - 2) * 8 + (unsigned)((v >> (e - 3)) & 7);
}

/* The smallest value of bucket i. */
static uint64_t bucket_low(unsigned i)
{
	if (i < 8)
		return i;
	unsigned e = i / 8 + 2, sub = i % 8;

	return (uint64_t)(8 + sub) << (e - 3);
}

void latency_add(struct latency_hist *h, uint64_t v)
{
	h->bucket[bucket_of(v)]++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

uint64_t latency_quantile(const struct latency_hist *h, double q)
{
	if (!h->count)
		return 0;
	uint64_t want = (uint64_t)(q * (double)h->count + 0.5), seen = 0;

	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < LATENCY_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= want) {
			uint64_t lo = bucket_low(i), hi = i + 1 < LATENCY_BUCKETS ? bucket_low(i + 1) : lo;
			uint64_t mid = lo + (hi - lo) / 2;

			return mid < h->max ? mid : h->max;
		}
	}
	return h->max;
}
