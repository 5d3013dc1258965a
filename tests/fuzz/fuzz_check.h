/*
 * fuzz_check.h — what the harnesses check with: REQUIRE aborts with the
 * condition and its line, so libFuzzer keeps the input that broke an
 * invariant as it keeps a crash.
 */
#ifndef DOPPEL_FUZZ_CHECK_H
#define DOPPEL_FUZZ_CHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "lib/net/addr.h"

#define REQUIRE(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "invariant failed: %s (line %d)\n", #cond, __LINE__); \
		abort(); \
	} \
} while (0)

static inline bool fuzz_family_ok(const struct dp_addr *a)
{
	return a->family == AF_INET || a->family == AF_INET6;
}

#endif
