/*
 * bench_util.h — what the C benchmark drivers share: a monotonic clock,
 * the median and spread of repeated runs, the process's resident memory,
 * and numeric option parsing that refuses bad input.
 *
 * Header-only (static inline): each driver is one program of its own.
 * The drivers print figures; none of them passes or fails on time. They
 * exit non-zero only when the work itself went wrong (an engine that did
 * not end the sessions the way the script says it must), because then the
 * figure would measure something else than it claims.
 */
#ifndef DOPPEL_BENCH_UTIL_H
#define DOPPEL_BENCH_UTIL_H

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int bench_compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median, minimum and maximum of n values (n >= 1); sorts v. */
struct bench_spread {
	double median, min, max;
};

static inline struct bench_spread bench_spread_of(double *v, size_t n)
{
	struct bench_spread s;

	qsort(v, n, sizeof(*v), bench_compare_double);
	s.min = v[0];
	s.max = v[n - 1];
	s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return s;
}

/* "median M (min A, max B, N runs)" with the values scaled by 1/divisor. */
static inline void bench_print_spread(const char *what, const char *unit,
				      const struct bench_spread *s, size_t runs)
{
	printf("%s: median %.4g %s (min %.4g, max %.4g, %zu runs, spread %.1f%%)\n", what,
	       s->median, unit, s->min, s->max, runs,
	       s->median > 0 ? 100.0 * (s->max - s->min) / s->median : 0.0);
}

/* Resident set size and its peak in bytes, from /proc/self/status;
 * 0 when it cannot be read. */
static inline uint64_t bench_status_bytes(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t field_len = strlen(field);
	uint64_t kib = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, field_len) == 0 && line[field_len] == ':') {
			kib = strtoull(line + field_len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kib * 1024;
}

static inline uint64_t bench_rss_bytes(void)
{
	return bench_status_bytes("VmRSS");
}

/* A whole decimal number in [min, max], or exit 2 naming the option. */
static inline uint64_t bench_parse_count(const char *program, const char *option,
					 const char *text, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || v < min || v > max) {
		fprintf(stderr, "%s: %s '%s': not a whole number from %" PRIu64 " to %" PRIu64 "\n",
			program, option, text, min, max);
		exit(2);
	}
	return v;
}

#endif
