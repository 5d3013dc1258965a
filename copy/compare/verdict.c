/*
 * verdict.c — the comparison of two finished answers (verdict.h).
 */
#include "copy/compare/verdict.h"

#include <string.h>

static const char *const kind_names[COMPARE_KIND_COUNT] = {
	[COMPARE_SAME] = "same",
	[COMPARE_MISSING] = "missing",
	[COMPARE_STATUS] = "status",
	[COMPARE_MALFORMED] = "malformed",
	[COMPARE_BODY] = "body",
};

const char *compare_kind_name(enum compare_kind k)
{
	return (unsigned)k < COMPARE_KIND_COUNT ? kind_names[k] : "?";
}

enum compare_kind compare_answers(const struct answer *online, const struct answer *target)
{
	if (online->bytes && !target->bytes)
		return COMPARE_MISSING;
	if (strcmp(online->verdict, target->verdict) != 0 ||
	    (online->errors != 0) != (target->errors != 0))
		return COMPARE_STATUS;
	if (online->malformed != target->malformed)
		return COMPARE_MALFORMED;
	if (online->messages != target->messages || online->digested != target->digested ||
	    memcmp(online->digest, target->digest, sizeof(online->digest)) != 0)
		return COMPARE_BODY;
	return COMPARE_SAME;
}
