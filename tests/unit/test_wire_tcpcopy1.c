/*
 * test_wire_tcpcopy1.c — TCPCopy 1.0's dialect (lib/wire/tcpcopy1.h,
 * docs/protocol.md section 15), byte for byte from the format: the 14-byte
 * client message and the version message, telling the dialects apart by
 * the first 8 bytes, 64-byte records (IPv4 options dropped, TCP options cut
 * at 24 bytes), records read back as packets, combined batches.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/net/packet.h"
#include "lib/wire/tcpcopy1.h"
#include "lib/wire/wire.h"

static uint32_t v4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* Client 198.18.0.1:40000 to target 198.19.0.10:80, added. */
static void test_client_message_bytes(void **state)
{
	static const uint8_t expect[14] = {
		0xc6, 0x12, 0x00, 0x01,	/* client 198.18.0.1 */
		0x9c, 0x40,		/* client port 40000 */
		0x00, 0x01,		/* type 1: CLIENT_ADD */
		0xc6, 0x13, 0x00, 0x0a,	/* target 198.19.0.10 */
		0x00, 0x50,		/* target port 80 */
	};
	struct tc1_client_msg m = {
		.client_addr = v4("198.18.0.1"), .client_port = 40000, .type = TC1_CLIENT_ADD,
		.target_addr = v4("198.19.0.10"), .target_port = 80,
	}, back;
	uint8_t out[14];
	const char *why;

	tc1_encode_client(out, &m);
	assert_memory_equal(out, expect, 14);
	tc1_decode_client(expect, &back);
	assert_int_equal(back.client_addr, m.client_addr);
	assert_int_equal(back.client_port, 40000);
	assert_int_equal(back.type, TC1_CLIENT_ADD);
	assert_int_equal(back.target_addr, m.target_addr);
	assert_int_equal(back.target_port, 80);
	assert_int_equal(tc1_check_client(&back, &why), 0);
	assert_false(tc1_is_version(&back));
	back.type = 3;
	assert_int_equal(tc1_check_client(&back, &why), -1);
	assert_non_null(strstr(why, "type"));
	back.type = TC1_CLIENT_DEL;
	back.target_port = 0;
	assert_int_equal(tc1_check_client(&back, &why), -1);
	assert_non_null(strstr(why, "target"));
}

/* The version message, and the first 8 bytes that tell the dialects apart. */
static void test_version_and_detect(void **state)
{
	static const uint8_t expect[14] = { 0, 0, 0, 0, 0, 0, 0x80, 0x05, 0, 0, 0, 0, 0, 0 };
	static const uint8_t doppel[8] = { 0x00, 0x00, 0x00, 0x10, 0x01, 0x00, 0x00, 0x00 };
	uint8_t out[14];
	struct tc1_client_msg m;
	uint16_t version = 0;

	tc1_encode_version(out, TC1_VERSION_DEFAULT);
	assert_memory_equal(out, expect, 14);
	tc1_decode_client(out, &m);
	assert_true(tc1_is_version(&m));
	assert_int_equal(m.type, 32773);
	assert_int_equal(tc1_detect(out, 8, &version), 1);
	assert_int_equal(version, 32773);
	assert_int_equal(tc1_detect(doppel, 8, &version), 0);
	assert_int_equal(tc1_detect(out, 7, &version), -1);
	out[7] = 0;
	out[6] = 0;
	assert_int_equal(tc1_detect(out, 8, &version), 0);	/* version 0: not one */
}

/* A SYN-ACK with IPv4 options (IHL 6) and 28 bytes of TCP options: the
 * record keeps the first 20 bytes of the IPv4 header and the TCP header
 * with its first 24 bytes of options, 64 bytes in all. */
static void test_record_from_packet(void **state)
{
	uint8_t pkt[24 + 48], rec[TC1_RECORD_LEN], expect[TC1_RECORD_LEN];
	const char *why;

	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x46;			/* IPv4, IHL 6 */
	pkt[2] = 0;
	pkt[3] = sizeof(pkt);		/* total 72: no payload */
	pkt[8] = 64;
	pkt[9] = 6;
	memcpy(pkt + 12, "\xc6\x13\x00\x0a\xc6\x12\x00\x01", 8);
	memcpy(pkt + 20, "\x01\x01\x01\x00", 4);	/* the IPv4 option: not copied */
	uint8_t *tcp = pkt + 24;
	memcpy(tcp, "\x00\x50\x9c\x40\x1a\x2b\x3c\x4d\x00\x00\x01\x01", 12);
	tcp[12] = 12 << 4;		/* data offset 48: 28 bytes of options */
	tcp[13] = 0x12;			/* SYN|ACK */
	/* MSS 1460, SACK permitted, timestamps, NOP, window scale 7: 20
	 * bytes; then an 8-byte option the cut at 24 goes through. */
	static const uint8_t options[28] = {
		2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 3, 3, 7,
		30, 8, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
	};
	memcpy(tcp + 20, options, sizeof(options));
	assert_int_equal(tc1_record_from_packet(rec, pkt, sizeof(pkt), &why), 0);
	memset(expect, 0, sizeof(expect));
	memcpy(expect, pkt, 20);
	memcpy(expect + 20, tcp, 44);
	assert_memory_equal(rec, expect, TC1_RECORD_LEN);

	/* and back: IHL 5, data offset 11 (the options kept), payload 0 */
	uint8_t back[TC1_RECORD_LEN];
	size_t back_len;
	uint32_t payload_len = 99;
	assert_int_equal(tc1_record_to_packet(rec, back, &back_len, &payload_len, &why), 0);
	assert_int_equal(back_len, 64);
	assert_int_equal(payload_len, 0);
	assert_int_equal(back[0], 0x45);
	assert_int_equal(back[32] >> 4, 11);
	/* the cut option became end-of-options */
	assert_memory_equal(back + 40, options, 20);
	assert_memory_equal(back + 60, "\0\0\0\0", 4);
	assert_memory_equal(rec + 60, options + 20, 4);	/* the record itself is as cut */
	struct packet p;
	assert_int_equal(packet_parse(back, back_len, PACKET_TRUNCATED_OK, &p, &why), 0);
	assert_int_equal(p.sport, 80);
	assert_int_equal(p.dport, 40000);
	assert_int_equal(p.flags & (TCPF_SYN | TCPF_ACK), TCPF_SYN | TCPF_ACK);
	assert_int_equal(p.seq, 0x1a2b3c4d);

	/* IPv6 and non-TCP are not the dialect's */
	pkt[0] = 0x60;
	assert_int_equal(tc1_record_from_packet(rec, pkt, sizeof(pkt), &why), -1);
	assert_non_null(strstr(why, "IPv4"));
}

/* A data segment: 512 payload bytes, a 20-byte TCP header. The record is
 * the 40 header bytes zero-filled to 64; read back, the payload length
 * comes from the total length. */
static void test_record_payload_length(void **state)
{
	uint8_t pkt[40], rec[TC1_RECORD_LEN], back[TC1_RECORD_LEN];
	static const uint8_t zeros[24];
	size_t back_len;
	uint32_t payload_len;
	const char *why;

	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x45;
	pkt[2] = 0x02;
	pkt[3] = 0x28;			/* 552 = 20 + 20 + 512 */
	pkt[9] = 6;
	pkt[32] = 5 << 4;
	assert_int_equal(tc1_record_from_packet(rec, pkt, sizeof(pkt), &why), 0);
	assert_memory_equal(rec, pkt, 40);
	assert_memory_equal(rec + 40, zeros, 24);
	assert_int_equal(tc1_record_to_packet(rec, back, &back_len, &payload_len, &why), 0);
	assert_int_equal(back_len, 40);
	assert_int_equal(payload_len, 512);
	rec[9] = 17;
	assert_int_equal(tc1_record_to_packet(rec, back, &back_len, &payload_len, &why), -1);
	assert_string_equal(why, "record is not TCP");
}

static void test_batches(void **state)
{
	uint8_t buf[TC1_BATCH_MAX_LEN], rec[TC1_RECORD_LEN];
	struct tc1_batch b;
	size_t need = 0;
	const char *why;

	tc1_batch_init(&b, buf);
	assert_int_equal(tc1_batch_finish(&b), 0);
	for (int i = 0; i < TC1_BATCH_MAX; i++) {
		memset(rec, i, sizeof(rec));
		assert_int_equal(tc1_batch_add(&b, rec), 0);
	}
	assert_int_equal(tc1_batch_add(&b, rec), -1);
	assert_int_equal(tc1_batch_finish(&b), 2 + 16 * 64);
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[1], 16);
	assert_int_equal(buf[2 + 15 * 64], 15);
	assert_int_equal(tc1_batch_need(buf, 1, &need, &why), 0);
	assert_int_equal(need, 2);
	assert_int_equal(tc1_batch_need(buf, 2, &need, &why), 0);
	assert_int_equal(need, 2 + 16 * 64);
	buf[1] = 17;
	assert_int_equal(tc1_batch_need(buf, 2, &need, &why), -1);
	assert_string_equal(why, "batch count over 16");
	buf[1] = 0;
	assert_int_equal(tc1_batch_need(buf, 2, &need, &why), -1);
	assert_string_equal(why, "batch count 0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_message_bytes),
		cmocka_unit_test(test_version_and_detect),
		cmocka_unit_test(test_record_from_packet),
		cmocka_unit_test(test_record_payload_length),
		cmocka_unit_test(test_batches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
