/*
 * copy_credentials.h — the operator's credentials file (--credentials):
 * which password the protocol modules use for which protocol and user
 * (docs/stateful.md).
 *
 * One entry a line: "PROTOCOL USER PASSWORD", PROTOCOL postgres or mysql
 * (postgresql, mariadb: the same), the password the rest of the line after
 * the blanks that follow the user (it may hold blanks, not begin with
 * one); blank lines and lines starting with '#' are skipped. A line
 * "pooled PROTOCOL USER [DATABASE]" names the login doppel uses for the
 * pooled sessions of that protocol (--protocol PORT=NAME:pooled); USER
 * needs a password line of its own.
 *
 * The file must be a regular file that only its owner can read or write
 * (mode 0600 or stricter): anything else is refused. Its bytes are read
 * straight into one anonymous mapping that is locked in memory (mlock:
 * never swapped), left out of core dumps (MADV_DONTDUMP) and wiped
 * (explicit_bzero) before it is unmapped. No password is ever logged: the
 * errors name the file and the line, never the value.
 */
#ifndef DOPPEL_COPY_CREDENTIALS_H
#define DOPPEL_COPY_CREDENTIALS_H

#include <stddef.h>
#include <stdint.h>

#include "copy/engine/auth.h"
#include "copy/engine/engine.h"

#define COPY_CREDENTIALS_MAX_BYTES (1024 * 1024)

struct copy_credentials;

/* NULL with err filled (the file, and what is wrong) on failure. */
struct copy_credentials *copy_credentials_load(const char *path, char *err, size_t errlen);
/* Wipe, unlock, unmap. NULL is fine. */
void copy_credentials_free(struct copy_credentials *c);
size_t copy_credentials_count(const struct copy_credentials *c);
/* An auth_password_fn: ctx is the struct copy_credentials. */
int copy_credentials_password(void *ctx, enum auth_protocol p, const char *user,
			      const uint8_t **password, size_t *len);

/* The login of pooled sessions of protocol p (a "pooled PROTOCOL USER
 * [DATABASE]" line): 0 with *user and *database ("" when not given) set,
 * -1 when the file has none. */
int copy_credentials_pooled(const struct copy_credentials *c, enum auth_protocol p,
			    const char **user, const char **database);

/* Fill cfg->auth_pooled for the ports of cfg->auth_ports opted in to
 * pooled sessions; -1 with err (the port and what is missing) when the
 * credentials lack the protocol's pooled line or its user's password. */
int copy_credentials_pooled_config(const struct copy_credentials *c, struct engine_config *cfg,
				   char *err, size_t errlen);

/* An auth_salted_fn (ctx: the struct copy_credentials): SCRAM's
 * SaltedPassword of a postgres user, kept in the locked mapping for the
 * last salt and iteration count asked. -1: no such user; -2: libcrypto. */
int copy_credentials_salted(void *ctx, const char *user, const uint8_t *salt, size_t salt_len,
			    unsigned iterations, uint8_t out[32]);

#endif
