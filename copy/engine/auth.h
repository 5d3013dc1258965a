/*
 * auth.h — protocol modules: replaying a login that answers a
 * server-chosen challenge (docs/stateful.md).
 *
 * A conversation sits between the captured client's byte stream and what
 * the engine sends the target. It is fed the client's bytes in order (from
 * the first byte after the SYN) and the target's answer bytes in order,
 * and produces the bytes to send instead: the client's messages unchanged
 * where they do not depend on the challenge, its proofs recomputed for the
 * target's challenge from the operator's credentials where they do. Once
 * the target accepted the login (AUTH_DONE) every later client byte is
 * passed through unchanged; the engine then shifts the rest of the
 * session's sequence numbers by out_total - client_in (the length change).
 *
 * Pure: no I/O, no clock, no randomness (the SCRAM client nonce is the
 * client's own, captured). Passwords come from a callback and are never
 * copied into the conversation; derived keys are wiped after use.
 */
#ifndef DOPPEL_AUTH_H
#define DOPPEL_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum auth_protocol {
	AUTH_PROTO_NONE = 0,
	AUTH_PROTO_POSTGRES,
	AUTH_PROTO_MYSQL,	/* MySQL and MariaDB */
	AUTH_PROTO_COUNT
};
const char *auth_protocol_name(enum auth_protocol p);
/* "postgres" / "postgresql", "mysql" / "mariadb"; AUTH_PROTO_NONE if unknown. */
enum auth_protocol auth_protocol_parse(const char *name);

enum auth_result {
	AUTH_CONTINUE,		/* waiting for more client or target bytes */
	AUTH_DONE,		/* the target accepted the login: pass through from now on */
	AUTH_FAILED,		/* c->failure and c->detail say why */
};

/* Why a login could not be replayed: one counter each (copy_stats). */
enum auth_failure {
	AUTH_FAIL_NONE = 0,
	AUTH_FAIL_TLS,		/* the client negotiated TLS (SSLRequest, MySQL's SSL flag) */
	AUTH_FAIL_UNKNOWN_USER,	/* no password for this user in the credentials */
	AUTH_FAIL_METHOD,	/* a method doppel does not replay */
	AUTH_FAIL_WRONG_PASSWORD,	/* the target refused the recomputed proof */
	AUTH_FAIL_PROTOCOL,	/* bytes that are not the protocol, too large, or missing */
	AUTH_FAIL_COUNT
};
const char *auth_failure_name(enum auth_failure f);

/* The password of user for protocol p: 0 with *password (not
 * NUL-terminated) and *len set, or -1 when there is none. */
typedef int (*auth_password_fn)(void *ctx, enum auth_protocol p, const char *user,
				const uint8_t **password, size_t *len);

#define AUTH_MAX_BUFFER 16384	/* a login message, and the target's bytes held, at most */
/* The client's bytes held while its login is replayed: its login messages
 * and whatever it sent after them before the target accepted the login
 * (a replay lags online: a busy client sends on meanwhile). The engine
 * counts them in its buffered bytes (-m). */
#define AUTH_MAX_CLIENT_BACKLOG (4u * 1024 * 1024)

/* Optional: SCRAM's SaltedPassword of user for this salt and iteration
 * count, from whoever holds the password (it may keep it: one PBKDF2 per
 * user and salt instead of one per login). 0 with out filled, or -1 when
 * there is no password for the user. */
typedef int (*auth_salted_fn)(void *ctx, const char *user, const uint8_t *salt, size_t salt_len,
			      unsigned iterations, uint8_t out[32]);

/* Candidate command boundaries a pooled conversation keeps at once. */
#define AUTH_POOLED_STARTS 64

struct auth_buf {
	uint8_t *data;
	size_t len, cap;
};

struct auth_conv {
	enum auth_protocol proto;
	int state;
	auth_password_fn password;
	auth_salted_fn salted;		/* NULL: PBKDF2 at every login */
	void *password_ctx;
	struct auth_buf client;		/* captured client bytes not yet consumed */
	struct auth_buf target;		/* target bytes not yet consumed */
	struct auth_buf out;		/* bytes to send the target, taken by the engine */
	uint64_t client_in;		/* client bytes fed in, in all */
	uint64_t out_total;		/* bytes produced, in all */
	enum auth_failure failure;
	char detail[160];
	bool wants_client;		/* the last step stopped for want of client bytes */
	char user[128];
	/* PostgreSQL SCRAM */
	char gs2[32];			/* the client's GS2 header ("n,,") */
	char client_first_bare[256];
	char client_nonce[128];
	/* MySQL */
	uint8_t scramble[20];
	char plugin[40];
	bool key_asked;			/* caching_sha2 full auth: public key requested */
	uint32_t server_caps;		/* the target greeting's capability flags */
	uint32_t server_ext_caps;	/* ... MariaDB's extended ones (0: not MariaDB) */
	/* Pooled (auth_conv_init_pooled): the client's login was never
	 * captured; doppel logs in with its own user and database, then
	 * passes the captured bytes on from the first command boundary. */
	bool pooled;
	bool logged_in;			/* pooled: the target accepted; seeking a boundary */
	bool client_closed;		/* pooled: the client's FIN came: stop seeking */
	char database[128];
	char nonce[40];			/* pooled: SCRAM client nonce */
	uint64_t starts[AUTH_POOLED_STARTS];	/* client offsets where a captured segment began */
	size_t start_count;
	uint64_t skipped;		/* pooled: client bytes dropped before the boundary */
};

void auth_conv_init(struct auth_conv *c, enum auth_protocol p, auth_password_fn fn, void *ctx);
/* A pooled session (docs/stateful.md, "Pooled connections"): the client's
 * login was not captured. The conversation logs in as user (database:
 * may be empty for MySQL; PostgreSQL's default is the user's name) with
 * the password from fn, then drops the captured client bytes up to the
 * first captured segment that begins with a whole command (a PostgreSQL
 * message, a MySQL packet with sequence id 0 and a known command) and
 * passes the rest on. nonce_seed (32 bytes, any value unique per session)
 * makes the SCRAM client nonce: the conversation draws no random bytes.
 * Feeding the client's bytes records where each call's bytes begin: call
 * auth_conv_client once per captured segment. */
void auth_conv_init_pooled(struct auth_conv *c, enum auth_protocol p, auth_password_fn fn,
			   void *ctx, const char *user, const char *database,
			   const uint8_t nonce_seed[32]);
void auth_conv_free(struct auth_conv *c);
/* Append bytes in stream order; -1 (the conversation failed, AUTH_FAIL_PROTOCOL)
 * past AUTH_MAX_BUFFER or out of memory. */
int auth_conv_client(struct auth_conv *c, const uint8_t *data, size_t len);
int auth_conv_target(struct auth_conv *c, const uint8_t *data, size_t len);
/* Advance as far as the bytes allow; new output lands in c->out. */
enum auth_result auth_conv_step(struct auth_conv *c);

/* For the protocol files. */
int auth_buf_put(struct auth_buf *b, const void *data, size_t len);
void auth_buf_consume(struct auth_buf *b, size_t n);
/* Output bytes (counted in out_total); -1 out of memory. */
int auth_emit(struct auth_conv *c, const void *data, size_t len);
enum auth_result auth_fail(struct auth_conv *c, enum auth_failure f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
enum auth_result auth_pg_step(struct auth_conv *c);
enum auth_result auth_mysql_step(struct auth_conv *c);
/* After the login: the client's buffered bytes become output. */
enum auth_result auth_done(struct auth_conv *c);
/* Pooled, the target accepted doppel's login: find the first command
 * boundary in the client's bytes (auth_pooled.c); AUTH_DONE once found. */
enum auth_result auth_pooled_seek(struct auth_conv *c);
/* Whether a whole command starts at data (len bytes held): 1 yes, 0 not
 * known yet (more bytes needed), -1 no. */
int auth_pg_command_at(const uint8_t *data, size_t len);
int auth_mysql_command_at(const uint8_t *data, size_t len);

#endif
