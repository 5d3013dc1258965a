/*
 * fuzz_tcpcopy1.c — libFuzzer harness for TCPCopy 1.0's dialect
 * (lib/wire/tcpcopy1.c): what doppel-intercept reads from a tcpcopy (the
 * first 8 bytes, then 14-byte client messages) and what doppel-copy reads
 * from a stock intercept (combined batches of 64-byte records).
 *
 * Input: one control byte, then the stream.
 *   control bit 0: read it as a copy daemon would (batches of records);
 *                  else as intercept would (detection, client messages)
 * Every record the batch reader accepts must become a packet doppel's
 * parser takes, no longer than the record, with a payload length within
 * what an IPv4 total length allows; every client message must encode back
 * to its own bytes. Any violation aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/net/packet.h"
#include "lib/wire/tcpcopy1.h"

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "fuzz_tcpcopy1: %s:%d: %s\n", __FILE__, __LINE__, #cond); abort(); } } while (0)

static void as_copy(const uint8_t *data, size_t size)
{
	while (size > 0) {
		size_t need = 0;
		const char *why = NULL;

		if (tc1_batch_need(data, size, &need, &why) < 0) {
			CHECK(why && *why);
			return;
		}
		if (size < need)
			return;
		for (size_t off = TC1_BATCH_HEADER_LEN; off < need; off += TC1_RECORD_LEN) {
			uint8_t pkt[TC1_RECORD_LEN];
			size_t len = 0;
			uint32_t payload_len = 0;
			struct packet p;

			if (tc1_record_to_packet(data + off, pkt, &len, &payload_len, &why) < 0) {
				CHECK(why && *why);
				continue;
			}
			CHECK(len >= 40 && len <= TC1_RECORD_LEN);
			CHECK(payload_len <= 65535);
			/* What doppel-copy does with it: the engine must get a
			 * parsed packet, or a reason. */
			if (packet_parse(pkt, len, PACKET_TRUNCATED_OK, &p, &why) < 0)
				CHECK(why && *why);
		}
		data += need;
		size -= need;
	}
}

static void as_intercept(const uint8_t *data, size_t size)
{
	uint16_t version = 0;
	int dialect = tc1_detect(data, size, &version);

	CHECK(dialect >= -1 && dialect <= 1);
	if (dialect != 1)
		return;
	CHECK(version != 0);
	for (size_t off = TC1_CLIENT_MSG_LEN; off + TC1_CLIENT_MSG_LEN <= size;
	     off += TC1_CLIENT_MSG_LEN) {
		struct tc1_client_msg m;
		uint8_t back[TC1_CLIENT_MSG_LEN];
		const char *why = NULL;

		tc1_decode_client(data + off, &m);
		tc1_encode_client(back, &m);
		CHECK(memcmp(back, data + off, TC1_CLIENT_MSG_LEN) == 0);
		if (tc1_check_client(&m, &why) < 0)
			CHECK(why && *why);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		as_copy(data + 1, size - 1);
	else
		as_intercept(data + 1, size - 1);
	return 0;
}
