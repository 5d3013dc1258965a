/*
 * copy_saslprep.c — SASLprep of SCRAM passwords with libidn's stringprep
 * profile "SASLprep" (RFC 4013 on RFC 3454's Unicode 3.2 tables), the
 * way PostgreSQL's pg_saslprep() decides (src/common/saslprep.c,
 * behaviour described in PostgreSQL's documentation of SCRAM): an ASCII
 * password is used as it is; one that is not valid UTF-8, or that
 * SASLprep refuses, is hashed raw; otherwise the prepared string.
 *
 * At the edge, not in the engine: the engine links only libcrypto
 * (tests/layout/run.sh), and the credentials live here.
 *
 * Known difference, left: PostgreSQL checks the prohibited and unassigned
 * tables on the string before NFKC, libidn after it; a password whose
 * normal form differs there (none of the mapping or removal cases) may be
 * prepared by one and refused by the other.
 */
#include "copy/copy_saslprep.h"

#include <stdbool.h>
#include <string.h>

#include <stringprep.h>

int copy_saslprep(const uint8_t *pw, size_t len, char *out, size_t cap)
{
	bool ascii = true;

	if (!cap)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!pw[i])
			return -1;	/* PostgreSQL's passwords are C strings */
		if (pw[i] >= 0x80)
			ascii = false;
	}
	if (ascii || len >= cap)
		return -1;
	memcpy(out, pw, len);
	out[len] = 0;
	/* In place; refuses invalid UTF-8 (STRINGPREP_ICONV_ERROR) and, with
	 * NO_UNASSIGNED, code points unassigned in Unicode 3.2 as
	 * PostgreSQL does for stored strings. */
	int rc = stringprep(out, cap, STRINGPREP_NO_UNASSIGNED, stringprep_saslprep);
	size_t n = rc == STRINGPREP_OK ? strnlen(out, cap) : 0;
	if (!n) {	/* refused, or mapped to nothing: the raw bytes */
		explicit_bzero(out, cap);
		return -1;
	}
	explicit_bzero(out + n, cap - n);
	return (int)n;
}
