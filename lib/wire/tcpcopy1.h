/*
 * tcpcopy1.h — the wire dialect of a stock TCPCopy 1.0 (tcpcopy and its
 * intercept, session-replay-tools), docs/protocol.md section 15: what
 * doppel-intercept speaks to a stock tcpcopy, and doppel-copy
 * (--wire tcpcopy1) to a stock intercept. IPv4 only, the default
 * "combined" build: no payload in records.
 *
 *   tcpcopy -> intercept: 14-byte messages
 *     u32 client address | u16 client port | u16 type | u32 target address |
 *     u16 target port
 *   addresses and ports as in the IP and TCP headers (network order). The
 *   first is a version message: client address and port 0, type = version.
 *
 *   intercept -> tcpcopy: batches of u16 count (1..16), then count 64-byte
 *   records: the 20-byte IPv4 header (its options not copied), then the
 *   TCP header with at most 24 bytes of options, zero-filled to 64.
 *
 * Pure functions over bytes: no I/O, no allocation.
 */
#ifndef DOPPEL_TCPCOPY1_H
#define DOPPEL_TCPCOPY1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TC1_CLIENT_MSG_LEN 14
#define TC1_RECORD_LEN 64		/* 20 IPv4 + 20 TCP + 24 options */
#define TC1_RECORD_MAX_OPTIONS 24
#define TC1_BATCH_MAX 16		/* records in one combined batch */
#define TC1_BATCH_HEADER_LEN 2
#define TC1_BATCH_MAX_LEN (TC1_BATCH_HEADER_LEN + TC1_BATCH_MAX * TC1_RECORD_LEN)

#define TC1_CLIENT_ADD 1
#define TC1_CLIENT_DEL 2
/* TCPCopy 1.0's internal version number, and the flag its default
 * ("advanced") builds add to it. */
#define TC1_VERSION 5
#define TC1_VERSION_ADVANCED 0x8000
#define TC1_VERSION_DEFAULT (TC1_VERSION_ADVANCED | TC1_VERSION)

/* One client message. Addresses are IPv4 in network byte order (as in
 * struct in_addr); ports in host order. */
struct tc1_client_msg {
	uint32_t client_addr;
	uint16_t client_port;
	uint16_t type;
	uint32_t target_addr;
	uint16_t target_port;
};

void tc1_encode_client(uint8_t out[TC1_CLIENT_MSG_LEN], const struct tc1_client_msg *m);
void tc1_decode_client(const uint8_t in[TC1_CLIENT_MSG_LEN], struct tc1_client_msg *m);
/* The version message a tcpcopy opens with. */
void tc1_encode_version(uint8_t out[TC1_CLIENT_MSG_LEN], uint16_t version);
/* Is a message the version message? (client address and port 0) */
bool tc1_is_version(const struct tc1_client_msg *m);
/* What a connection's first bytes say: 1 a TCPCopy version message (six
 * zero bytes then a non-zero u16; *version set), 0 anything else, -1 when
 * fewer than 8 bytes are given. */
int tc1_detect(const uint8_t *bytes, size_t len, uint16_t *version);
/* Check a client message after the first: 0, or -1 with *why (type not
 * ADD or DEL, an address or port of 0). */
int tc1_check_client(const struct tc1_client_msg *m, const char **why);

/* A record of the IPv4 + TCP packet at l3 (len bytes, at least its
 * headers): 0, or -1 with *why when it is not IPv4 + TCP. */
int tc1_record_from_packet(uint8_t out[TC1_RECORD_LEN], const uint8_t *l3, size_t len,
			   const char **why);
/* A record as a packet doppel's parser takes: the IPv4 header with no
 * options (IHL 5), the TCP header with the options the record kept (data
 * offset lowered to what is there), *out_len bytes in out. *payload_len:
 * the original packet's TCP payload length, from its total length and
 * header lengths. 0, or -1 with *why. */
int tc1_record_to_packet(const uint8_t rec[TC1_RECORD_LEN], uint8_t out[TC1_RECORD_LEN],
			 size_t *out_len, uint32_t *payload_len, const char **why);

/* A combined batch being received: 0 and *need = its whole length once the
 * count is known (2 until then), -1 with *why on a count of 0 or over
 * TC1_BATCH_MAX. */
int tc1_batch_need(const uint8_t *bytes, size_t have, size_t *need, const char **why);

/* A batch being built in buf (TC1_BATCH_MAX_LEN bytes). */
struct tc1_batch {
	uint8_t *buf;
	uint16_t count;
};
void tc1_batch_init(struct tc1_batch *b, uint8_t *buf);
/* Append one record; -1 when the batch is full (finish it first). */
int tc1_batch_add(struct tc1_batch *b, const uint8_t rec[TC1_RECORD_LEN]);
/* Its length (count written), or 0 when empty. */
size_t tc1_batch_finish(struct tc1_batch *b);

#endif
