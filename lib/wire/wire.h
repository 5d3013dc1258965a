/*
 * wire.h — the protocol between doppel-copy and doppel-intercept.
 *
 * docs/protocol.md is the byte-level specification; this is its codec.
 * Every frame is an 8-byte header then a body:
 *
 *   u32 body length | u8 type | u8 flags (0) | u16 reserved (0) | body
 *
 * all in network byte order. The first frame in each direction is a HELLO
 * (or an ERROR from a side that refuses the connection outright).
 *
 * The decoder is incremental: bytes go in as they arrive, split anywhere,
 * and whole, validated frames come out. Anything malformed stops the
 * decoder with a reason in wire_decoder.error; the connection is then
 * closed by its owner.
 */
#ifndef DOPPEL_WIRE_H
#define DOPPEL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/net/addr.h"

#define WIRE_DEFAULT_PORT 36524
#define WIRE_MAGIC 0x4450504cu	/* "DPPL" */
#define WIRE_VERSION 1
#define WIRE_HEADER_LEN 8
#define WIRE_MAX_BODY 65536u	/* largest body either side sends or accepts */
#define WIRE_MAX_FRAME (WIRE_HEADER_LEN + WIRE_MAX_BODY)
#define WIRE_MIN_MAX_BODY 4096u	/* the smallest max_body a HELLO may announce */

/* A side sends a HEARTBEAT after this long without sending anything, and
 * gives the peer up after WIRE_PEER_DEAD_MS without receiving anything. */
#define WIRE_HEARTBEAT_IDLE_MS 5000
#define WIRE_PEER_DEAD_MS 20000

enum wire_type {
	WIRE_HELLO = 1,
	WIRE_ROUTE_ADD = 2,
	WIRE_ROUTE_DEL = 3,
	WIRE_SUMMARIES = 4,
	WIRE_HEARTBEAT = 5,
	WIRE_ERROR = 6,
};

enum wire_role {
	WIRE_ROLE_COPY = 1,
	WIRE_ROLE_INTERCEPT = 2,
};

/* Feature bits carried in HELLO. */
#define WIRE_FEAT_IPV6		0x1	/* routes and summaries may be IPv6 */
#define WIRE_FEAT_PAYLOAD_PREFIX 0x2	/* summaries may carry payload bytes */
#define WIRE_FEAT_ROUTE_PAYLOAD	0x4	/* routes say how many payload bytes they want */
#define WIRE_FEAT_ROUTE_4TUPLE	0x8	/* routes keyed by the whole 4-tuple */
#define WIRE_PAYLOAD_ALL	0xffff	/* a route's payload wanted: the whole payload */

#define WIRE_HELLO_LEN 16
struct wire_hello {
	uint16_t version;
	uint16_t role;		/* enum wire_role */
	uint32_t features;
	uint32_t max_body;	/* the largest body the sender accepts */
};

/* A route: the session whose client is client:client_port and whose target
 * is target:target_port. Both addresses share one family. */
#define WIRE_ROUTE_LEN 40
#define WIRE_FAMILY_IPV4 4	/* the family byte of a route on the wire */
#define WIRE_FAMILY_IPV6 6
struct wire_route {
	struct dp_addr client, target;
	uint16_t client_port, target_port;
	uint16_t payload_wanted;	/* ROUTE_PAYLOAD: answer bytes wanted per packet
					 * (WIRE_PAYLOAD_ALL: all); 0 without it */
};

/* One response summary: the IP header, the TCP header with options and
 * optionally the first bytes of payload, as they came off the wire. */
#define WIRE_SUMMARIES_HEADER_LEN 4	/* u16 count, u16 reserved: then the records */
#define WIRE_SUMMARY_HEADER_LEN 8
#define WIRE_SUMMARY_MIN_DATA 40	/* the smallest IP + TCP header */
#define WIRE_SUMMARY_PREFIX 0x1		/* data holds payload bytes past the headers */
struct wire_summary {
	uint8_t flags;
	uint32_t payload_len;	/* the TCP payload length of the original packet */
	const uint8_t *data;
	uint16_t data_len;
};

#define WIRE_ERROR_MIN_LEN 4
#define WIRE_ERROR_MAX_MSG 1024	/* bytes of UTF-8 message at most */

/* ERROR codes. An ERROR is always the last frame its sender sends. */
enum wire_error_code {
	WIRE_ERR_MALFORMED = 1,	/* a frame broke docs/protocol.md */
	WIRE_ERR_VERSION = 2,	/* the peer's HELLO has another version */
	WIRE_ERR_ROLE = 3,	/* the peer has an unknown or the wrong role */
	WIRE_ERR_TIMEOUT = 4,	/* nothing received for WIRE_PEER_DEAD_MS */
	WIRE_ERR_SHUTDOWN = 5,	/* the sender is stopping */
	WIRE_ERR_INTERNAL = 6,	/* the sender ran out of a resource */
};

#define WIRE_HEARTBEAT_LEN 8	/* u64: the sender's monotonic clock in ms */

struct wire_frame {
	uint8_t type;
	const uint8_t *body;	/* valid until the next wire_decoder_* call */
	uint32_t body_len;
};

struct wire_decoder {
	uint8_t *buf;
	size_t start, end, cap;
	bool got_hello;
	bool failed;
	char error[160];	/* why the stream was rejected */
	uint16_t error_code;	/* the WIRE_ERR_* to send the peer about it */
	/* 0 after init. Set it to the role the peer must have (before feeding)
	 * to have a HELLO with another role rejected with WIRE_ERR_ROLE. After
	 * the peer's HELLO it holds the peer's role, and frames that role must
	 * not send (ROUTE_* from an intercept, SUMMARIES from a copy) are
	 * rejected as malformed. */
	uint16_t peer_role;
	/* 0 after init. Set it to the features the owner's own HELLO
	 * announces (before feeding); after the peer's HELLO it holds the
	 * features in use (announced by both). A route asking for payload is
	 * malformed unless WIRE_FEAT_ROUTE_PAYLOAD is in use. */
	uint32_t features;
};

int wire_decoder_init(struct wire_decoder *d);
void wire_decoder_free(struct wire_decoder *d);
/* Space to read() into directly, then wire_decoder_commit() the count read.
 * Never returns less than one byte of space unless the decoder failed
 * (then NULL and *avail 0), provided wire_decoder_next() was called until
 * it returned 0 since the last commit or feed. */
uint8_t *wire_decoder_space(struct wire_decoder *d, size_t *avail);
void wire_decoder_commit(struct wire_decoder *d, size_t n);
/* Copy bytes in. Returns 0, or -1 if the decoder has failed. The decoder
 * never holds more than WIRE_MAX_FRAME bytes: feeding more than
 * wire_decoder_space() would offer fails it (WIRE_ERR_INTERNAL). */
int wire_decoder_feed(struct wire_decoder *d, const void *data, size_t len);
/* Bytes received but not yet returned as a frame: non-zero at the peer's
 * end of stream means it closed in the middle of a frame. */
size_t wire_decoder_pending(const struct wire_decoder *d);
/*
 * The next whole frame: 1 and *f filled, 0 when more bytes are needed,
 * -1 when the stream is malformed (d->error says why; every later call
 * returns -1 too). Bodies are validated for their type before they are
 * returned, so the accessors below cannot fail on a decoded frame.
 */
int wire_decoder_next(struct wire_decoder *d, struct wire_frame *f);

/* Accessors on decoded frames. Each returns 0, or -1 with *why on a body
 * that does not fit its type (only possible for frames built by hand). */
int wire_hello_parse(const struct wire_frame *f, struct wire_hello *h, const char **why);
size_t wire_route_count(const struct wire_frame *f);
int wire_route_get(const struct wire_frame *f, size_t i, struct wire_route *r, const char **why);
int wire_error_parse(const struct wire_frame *f, uint16_t *code,
		     const char **msg, size_t *msg_len, const char **why);
int wire_heartbeat_parse(const struct wire_frame *f, uint64_t *clock_ms, const char **why);

struct wire_summary_iter {
	const uint8_t *p, *end;
	uint16_t left;
};
void wire_summary_iter_init(struct wire_summary_iter *it, const struct wire_frame *f);
/* 1 and *s filled, 0 at the end, -1 with *why if the body lies. */
int wire_summary_next(struct wire_summary_iter *it, struct wire_summary *s, const char **why);

/* Encoders: each writes one whole frame into buf and returns its length,
 * or 0 if it does not fit in cap (or the input is invalid). What they
 * write always decodes: they check it with the decoder's own checks.
 * wire_encode_error() is best effort: it cuts the message (at a character
 * boundary) to WIRE_ERROR_MAX_MSG bytes and to cap, replaces bytes that are
 * not UTF-8 (and NULs) with '?', and fails only when cap < 12. */
size_t wire_encode_hello(uint8_t *buf, size_t cap, const struct wire_hello *h);
size_t wire_encode_routes(uint8_t *buf, size_t cap, enum wire_type type,
			  const struct wire_route *r, size_t n);
size_t wire_encode_heartbeat(uint8_t *buf, size_t cap, uint64_t clock_ms);
size_t wire_encode_error(uint8_t *buf, size_t cap, uint16_t code, const char *msg);

/* A SUMMARIES frame filled record by record. */
struct wire_batch {
	uint8_t *buf;
	size_t cap, len;
	uint16_t count;
};
void wire_batch_init(struct wire_batch *b, uint8_t *buf, size_t cap);
/* Append one record; -1 when it does not fit (send the batch, start again).
 * A record that fails on an empty batch never fits (or is invalid: flags
 * other than WIRE_SUMMARY_PREFIX, data shorter than WIRE_SUMMARY_MIN_DATA or
 * not starting with an IPv4/IPv6 header): drop it. The frame never grows
 * past cap nor past WIRE_MAX_FRAME; give cap = the peer's max_body +
 * WIRE_HEADER_LEN when the peer announced less than WIRE_MAX_BODY. */
int wire_batch_add(struct wire_batch *b, uint8_t flags, uint32_t payload_len,
		   const uint8_t *data, size_t data_len);
/* Close the frame: its length, or 0 when the batch is empty. */
size_t wire_batch_finish(struct wire_batch *b);

const char *wire_type_name(unsigned type);
const char *wire_error_name(unsigned code);

#endif
