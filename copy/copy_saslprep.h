/*
 * copy_saslprep.h — a SCRAM-SHA-256 password prepared as PostgreSQL
 * prepares it (RFC 4013 SASLprep, docs/stateful.md): the server hashed the
 * prepared string when the password was set, so the replayed proof must
 * hash the same string.
 */
#ifndef DOPPEL_COPY_SASLPREP_H
#define DOPPEL_COPY_SASLPREP_H

#include <stddef.h>
#include <stdint.h>

/* The longest prepared password copy_saslprep writes (NUL included);
 * PostgreSQL refuses passwords over 1024 bytes, and NFKC may expand. */
#define COPY_SASLPREP_MAX 4096

/* Prepare pw[0..len) into out (cap bytes, NUL-terminated): its length, or
 * -1 when SCRAM hashes the raw bytes as PostgreSQL does: pure ASCII
 * (unchanged), not UTF-8, a NUL byte, a prohibited or unassigned
 * character, bidi rules broken, nothing left after mapping, or longer than
 * cap. Wipes every byte of out it does not return. */
int copy_saslprep(const uint8_t *pw, size_t len, char *out, size_t cap);

#endif
