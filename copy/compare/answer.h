/*
 * answer.h — one server's answer to one request, reduced to what a
 * comparison needs: its length, a running digest of the part that should
 * be equal on two servers running the same logic, the protocol's own
 * verdict (HTTP status, Redis error, SQLSTATE, MySQL error code), the
 * first bytes as they came, and when its first and last bytes arrived.
 *
 * Bytes are fed in stream order, in pieces of any size (a piece may end
 * anywhere, even inside a length field), and the whole answer is never
 * kept: memory per answer is this struct, a digest context and at most
 * ANSWER_HEAD_MAX bytes. Pure: no I/O, no clock (times are passed in).
 *
 * Which part is digested, per protocol (docs/compare.md says why):
 *   raw       every byte;
 *   http      status codes, the headers not marked volatile (names
 *             lower-cased, framing headers left out) and the body after
 *             chunked decoding; pipelined responses one after another;
 *   redis     every reply, bytes as sent (RESP2 and RESP3);
 *   postgres  RowDescription, DataRow, CommandComplete, EmptyQuery and
 *             ErrorResponse's SQLSTATE; not notices, parameter status or
 *             key data, which differ between servers by nature;
 *   mysql     result set packets (text or binary rows), an OK's
 *             affected-row count, an ERR's code and SQLSTATE, a prepared
 *             statement's counts and definitions; not an OK's insert id,
 *             status or warnings, nor a statement id.
 */
#ifndef DOPPEL_COMPARE_ANSWER_H
#define DOPPEL_COMPARE_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ANSWER_HEAD_MAX 512		/* first bytes kept at most */
#define ANSWER_DIGEST_LEN 32		/* SHA-256 */
#define ANSWER_VERDICT_MAX 48
#define ANSWER_LINE_MAX 256		/* a header line / error field kept for parsing */

enum compare_proto {
	COMPARE_RAW = 0,
	COMPARE_HTTP,
	COMPARE_REDIS,
	COMPARE_POSTGRES,
	COMPARE_MYSQL,
};

/* "raw", "http", ...; compare_proto_parse() returns -1 for an unknown name. */
const char *compare_proto_name(enum compare_proto p);
int compare_proto_parse(const char *name, enum compare_proto *p);

/* What every answer of a transfer shares: set once, read-only after. */
struct answer_config {
	enum compare_proto proto;
	size_t head_bytes;		/* first bytes kept, <= ANSWER_HEAD_MAX */
	const char *const *volatile_headers;	/* http: lower-case names, ignored */
	size_t n_volatile;
};

/* The default volatile HTTP headers (Date, Server, ETag, Set-Cookie,
 * Last-Modified, Expires, Age), for a config without its own list. */
extern const char *const answer_default_volatile[];
extern const size_t answer_default_volatile_count;

struct http_state {
	uint8_t phase;
	uint16_t status;		/* of the response being parsed */
	uint64_t left;			/* body or chunk bytes still to come */
	bool chunked, has_length, no_body;
	uint16_t line_len;
	bool line_cut;
	char line[ANSWER_LINE_MAX];
};

#define REDIS_DEPTH_MAX 32
struct redis_state {
	uint8_t phase;
	uint8_t type;			/* of the element being read */
	uint8_t depth;
	bool top_error;			/* the current top-level reply is an error */
	int64_t num;
	bool neg, num_digits;
	uint64_t left;			/* bulk bytes (with CRLF) still to come */
	uint32_t pending[REDIS_DEPTH_MAX];	/* elements still owed per level */
	uint16_t line_len;
	char line[ANSWER_LINE_MAX];	/* an error's text */
};

struct pg_state {
	uint8_t hdr[5];
	uint8_t hdr_len;
	uint64_t left;			/* body bytes of the message still to come */
	uint8_t type;
	uint16_t body_len;		/* of body[] */
	uint8_t body[ANSWER_LINE_MAX];	/* ErrorResponse / CommandComplete, cut */
};

struct mysql_state {
	uint8_t phase;
	bool streaming;			/* the current packet's payload is digested as it comes */
	uint8_t command;		/* the request's command byte (answer_set_request), 0 unknown */
	uint8_t eof_mode;		/* EOFs after a prepare's definitions: 0 unknown, 1 yes, 2 no */
	bool eof_seen;			/* a prepare's definitions ended with an EOF */
	bool prep_defs;			/* a prepare answer with definitions was read */
	uint16_t more_defs;		/* a prepare's column definitions, after its parameters' */
	uint64_t cols_left;		/* column definitions still to come */
	uint8_t hdr[4];
	uint8_t hdr_len;
	uint64_t left;			/* payload bytes of the packet still to come */
	uint32_t packet;		/* packets seen in this answer */
	uint8_t first;			/* first payload byte of the current packet */
	uint16_t body_len;
	uint8_t body[16];		/* an OK's or ERR's first bytes */
};

struct answer {
	const struct answer_config *cfg;
	void *md;			/* EVP_MD_CTX *, until answer_finish() */
	uint64_t bytes;			/* all bytes fed */
	uint64_t digested;		/* bytes that went into the digest */
	uint64_t first_time, last_time;	/* times of the first and last bytes */
	uint32_t messages;		/* responses / replies / messages begun */
	uint32_t complete;		/* of them, received whole (the pairing ends a
					 * target answer by this count) */
	uint32_t errors;		/* of them, errors by the protocol's rule */
	bool malformed;			/* the bytes did not parse as the protocol */
	bool finished;
	/* Non-zero: answer_feed stops right after the message that makes
	 * complete reach it (the pairing splits a target packet that carries
	 * the end of one answer and the start of the next). */
	uint32_t stop_at;
	uint8_t digest[ANSWER_DIGEST_LEN];
	char verdict[ANSWER_VERDICT_MAX];	/* first status / first error */
	uint16_t head_len;
	uint8_t head[ANSWER_HEAD_MAX];
	union {
		struct http_state http;
		struct redis_state redis;
		struct pg_state pg;
		struct mysql_state mysql;
	} st;
};

/* 0, or -1 if the digest context cannot be had (out of memory). */
int answer_init(struct answer *a, const struct answer_config *cfg);
/* Feed the next len bytes, arrived at now (any unit; the caller uses µs).
 * Returns the bytes taken: all of them, but with stop_at set, those up to
 * the end of the message that made complete reach stop_at (none if it had
 * already). */
size_t answer_feed(struct answer *a, const uint8_t *data, size_t len, uint64_t now);
/* len bytes of the answer that are not parsed (they follow a hole in the
 * stream, where no message boundary is known): only counted, with their
 * time. */
void answer_count(struct answer *a, size_t len, uint64_t now);
/* Whether the answer has as many whole messages as `model` (the online
 * answer, over) and ends as it does: PostgreSQL's ReadyForQuery after the
 * outcomes is still the answer's (a target packet may end between them,
 * and the next answer must not begin with its bytes). */
bool answer_whole(const struct answer *a, const struct answer *model);
/* The answer is over: the digest is final; the context is freed. */
void answer_finish(struct answer *a);
/* Free without finishing (a session given up). Safe twice. */
void answer_discard(struct answer *a);
/* The request this answer belongs to (its first bytes), for protocols
 * whose answer has a form that depends on it (mysql: COM_STMT_PREPARE's
 * answer is an OK-like packet then definitions). Before the first feed. */
void answer_set_request(struct answer *a, const uint8_t *req, size_t len);
/* The online answer, over, is the model of the target's: what it showed
 * of the form the client negotiated (mysql: whether EOF packets close a
 * prepare's definitions) tells the target's where it ends. */
void answer_follow(struct answer *target, const struct answer *online);

/* Internal to copy/compare/: the digest sink and the per-protocol feeds. */
void answer_digest(struct answer *a, const void *data, size_t len);
void answer_set_verdict(struct answer *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Each returns the bytes it took (answer_feed's rule). */
size_t answer_http_feed(struct answer *a, const uint8_t *p, size_t n);
size_t answer_redis_feed(struct answer *a, const uint8_t *p, size_t n);
size_t answer_pg_feed(struct answer *a, const uint8_t *p, size_t n);
bool answer_pg_whole(const struct answer *a, const struct answer *model);
size_t answer_mysql_feed(struct answer *a, const uint8_t *p, size_t n);
void answer_mysql_request(struct answer *a, const uint8_t *req, size_t len);
void answer_mysql_follow(struct answer *target, const struct answer *online);

/* stop_at reached: the feeds take no more. */
static inline bool answer_stopped(const struct answer *a)
{
	return a->stop_at && a->complete >= a->stop_at;
}

#endif
