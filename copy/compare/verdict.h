/*
 * verdict.h — two answers to one request, the online server's and the
 * target's, compared: the same, or different, and how.
 *
 * Kinds, most serious first (a pair gets the first that applies):
 *   missing    the target sent no answer at all while online did;
 *   status     the protocol's verdict differs (HTTP status, a Redis
 *              error or not and its word, SQLSTATE, MySQL error code or
 *              OK/RESULT), or one side has errors the other has not;
 *   malformed  one side did not parse as the protocol and the other did;
 *   body       same verdict, different digest (HTTP: body or a header
 *              not marked volatile; others: the digested part), or a
 *              different number of responses.
 */
#ifndef DOPPEL_COMPARE_VERDICT_H
#define DOPPEL_COMPARE_VERDICT_H

#include "copy/compare/answer.h"

enum compare_kind {
	COMPARE_SAME = 0,
	COMPARE_MISSING,
	COMPARE_STATUS,
	COMPARE_MALFORMED,
	COMPARE_BODY,
	COMPARE_KIND_COUNT
};

/* "same", "missing", "status", "malformed", "body". */
const char *compare_kind_name(enum compare_kind k);

/* Both answers finished (answer_finish). */
enum compare_kind compare_answers(const struct answer *online, const struct answer *target);

#endif
