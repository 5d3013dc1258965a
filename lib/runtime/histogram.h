/*
 * histogram.h — a fixed-bucket histogram of delays in microseconds, cheap
 * enough to count every captured packet (one comparison loop over 13
 * bounds), read as quantiles (the upper bound of the bucket that holds
 * them) and served as a Prometheus histogram (metrics_text_histogram).
 */
#ifndef DOPPEL_HISTOGRAM_H
#define DOPPEL_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

/* Upper bounds (us, inclusive) of the buckets; a last one takes the rest.
 * Around 1 ms finely (the replay's goal), up to the capture ring's
 * block timeout and well past it. */
#define HISTOGRAM_BOUNDS { 50, 100, 250, 500, 750, 1000, 2000, 4000, 8000, 16000, 32000, \
			   64000, 128000 }
#define HISTOGRAM_BUCKETS 14	/* the bounds, and +Inf */

struct histogram {
	uint64_t buckets[HISTOGRAM_BUCKETS];	/* not cumulative */
	uint64_t count;
	uint64_t sum_us;
};

extern const uint64_t histogram_bounds_us[HISTOGRAM_BUCKETS - 1];

static inline void histogram_add(struct histogram *h, uint64_t us)
{
	size_t i = 0;

	while (i < HISTOGRAM_BUCKETS - 1 && us > histogram_bounds_us[i])
		i++;
	h->buckets[i]++;
	h->count++;
	h->sum_us += us;
}

/* The upper bound (us) of the bucket holding quantile q (0..1) of what was
 * counted; 0 with nothing counted; UINT64_MAX past the last bound. */
uint64_t histogram_quantile_us(const struct histogram *h, double q);

#endif
