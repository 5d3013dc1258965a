/*
 * histogram.c — see histogram.h.
 */
#include "lib/runtime/histogram.h"

const uint64_t histogram_bounds_us[HISTOGRAM_BUCKETS - 1] = HISTOGRAM_BOUNDS;

uint64_t histogram_quantile_us(const struct histogram *h, double q)
{
	uint64_t rank, seen = 0;

	if (h->count == 0)
		return 0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	/* The smallest bucket whose cumulative count reaches ceil(q * count). */
	rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank == 0)
		rank = 1;
	for (size_t i = 0; i < HISTOGRAM_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank)
			return i < HISTOGRAM_BUCKETS - 1 ? histogram_bounds_us[i] : UINT64_MAX;
	}
	return UINT64_MAX;
}
