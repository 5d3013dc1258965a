/*
 * tcpcopy1.c — TCPCopy 1.0's wire dialect (see tcpcopy1.h and
 * docs/protocol.md section 15).
 */
#include "lib/wire/tcpcopy1.h"

#include <string.h>

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void tc1_encode_client(uint8_t out[TC1_CLIENT_MSG_LEN], const struct tc1_client_msg *m)
{
	memcpy(out, &m->client_addr, 4);
	put16(out + 4, m->client_port);
	put16(out + 6, m->type);
	memcpy(out + 8, &m->target_addr, 4);
	put16(out + 12, m->target_port);
}

void tc1_decode_client(const uint8_t in[TC1_CLIENT_MSG_LEN], struct tc1_client_msg *m)
{
	memcpy(&m->client_addr, in, 4);
	m->client_port = get16(in + 4);
	m->type = get16(in + 6);
	memcpy(&m->target_addr, in + 8, 4);
	m->target_port = get16(in + 12);
}

void tc1_encode_version(uint8_t out[TC1_CLIENT_MSG_LEN], uint16_t version)
{
	memset(out, 0, TC1_CLIENT_MSG_LEN);
	put16(out + 6, version);
}

bool tc1_is_version(const struct tc1_client_msg *m)
{
	return m->client_addr == 0 && m->client_port == 0;
}

int tc1_detect(const uint8_t *bytes, size_t len, uint16_t *version)
{
	static const uint8_t zero[6];

	if (len < 8)
		return -1;
	/* No doppel frame header starts with six zero bytes: its type
	 * (byte 4) is never 0. */
	if (memcmp(bytes, zero, 6) != 0 || get16(bytes + 6) == 0)
		return 0;
	if (version)
		*version = get16(bytes + 6);
	return 1;
}

int tc1_check_client(const struct tc1_client_msg *m, const char **why)
{
	if (m->type != TC1_CLIENT_ADD && m->type != TC1_CLIENT_DEL) {
		*why = "client message type is neither 1 (add) nor 2 (delete)";
		return -1;
	}
	if (m->client_addr == 0 || m->client_port == 0) {
		*why = "client message with client address or port 0";
		return -1;
	}
	if (m->target_addr == 0 || m->target_port == 0) {
		*why = "client message with target address or port 0";
		return -1;
	}
	return 0;
}

int tc1_record_from_packet(uint8_t out[TC1_RECORD_LEN], const uint8_t *l3, size_t len,
			   const char **why)
{
	size_t ihl, doff, tcp_copy;

	if (len < 20 || (l3[0] >> 4) != 4) {
		*why = "not an IPv4 packet (the TCPCopy dialect is IPv4 only)";
		return -1;
	}
	ihl = (size_t)(l3[0] & 0xf) * 4;
	if (ihl < 20 || l3[9] != 6 || len < ihl + 20) {
		*why = "not a whole IPv4 + TCP header";
		return -1;
	}
	doff = (size_t)(l3[ihl + 12] >> 4) * 4;
	if (doff < 20 || len < ihl + doff) {
		*why = "TCP header runs past the packet";
		return -1;
	}
	/* The IPv4 header without its options, the TCP header with at most
	 * 24 bytes of options: TCPCopy's fixed record. */
	tcp_copy = doff < 20 + TC1_RECORD_MAX_OPTIONS ? doff : 20 + TC1_RECORD_MAX_OPTIONS;
	memset(out, 0, TC1_RECORD_LEN);
	memcpy(out, l3, 20);
	memcpy(out + 20, l3 + ihl, tcp_copy);
	return 0;
}

int tc1_record_to_packet(const uint8_t rec[TC1_RECORD_LEN], uint8_t out[TC1_RECORD_LEN],
			 size_t *out_len, uint32_t *payload_len, const char **why)
{
	size_t ihl = (size_t)(rec[0] & 0xf) * 4, doff = (size_t)(rec[32] >> 4) * 4, kept;
	uint16_t total = get16(rec + 2);

	if ((rec[0] >> 4) != 4 || ihl < 20) {
		*why = "record is not an IPv4 header";
		return -1;
	}
	if (rec[9] != 6) {
		*why = "record is not TCP";
		return -1;
	}
	if (doff < 20) {
		*why = "record's TCP data offset under 5";
		return -1;
	}
	/* The payload length from the original lengths; a total length of 0
	 * (GRO) or one shorter than the headers says nothing: 0. */
	*payload_len = total > ihl + doff ? (uint32_t)(total - ihl - doff) : 0;
	kept = doff < 20 + TC1_RECORD_MAX_OPTIONS ? doff : 20 + TC1_RECORD_MAX_OPTIONS;
	memcpy(out, rec, 20 + kept);
	out[0] = 0x45;	/* its options were not copied */
	/* An option the 24-byte cut went through ends the list: what is left
	 * of it becomes end-of-options (zeros), so the options parse. */
	for (size_t i = 40; i < 20 + kept;) {
		uint8_t kind = out[i];

		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= 20 + kept || out[i + 1] < 2 || i + out[i + 1] > 20 + kept) {
			memset(out + i, 0, 20 + kept - i);
			break;
		}
		i += out[i + 1];
	}
	/* Lower the data offset to the options kept, whole 32-bit words. */
	out[32] = (uint8_t)((kept / 4) << 4 | (rec[32] & 0x0f));
	put16(out + 2, (uint16_t)(20 + kept));
	*out_len = 20 + kept;
	return 0;
}

int tc1_batch_need(const uint8_t *bytes, size_t have, size_t *need, const char **why)
{
	uint16_t count;

	if (have < TC1_BATCH_HEADER_LEN) {
		*need = TC1_BATCH_HEADER_LEN;
		return 0;
	}
	count = get16(bytes);
	if (count == 0 || count > TC1_BATCH_MAX) {
		*why = count ? "batch count over 16" : "batch count 0";
		return -1;
	}
	*need = TC1_BATCH_HEADER_LEN + (size_t)count * TC1_RECORD_LEN;
	return 0;
}

void tc1_batch_init(struct tc1_batch *b, uint8_t *buf)
{
	b->buf = buf;
	b->count = 0;
}

int tc1_batch_add(struct tc1_batch *b, const uint8_t rec[TC1_RECORD_LEN])
{
	if (b->count == TC1_BATCH_MAX)
		return -1;
	memcpy(b->buf + TC1_BATCH_HEADER_LEN + (size_t)b->count * TC1_RECORD_LEN, rec,
	       TC1_RECORD_LEN);
	b->count++;
	return 0;
}

size_t tc1_batch_finish(struct tc1_batch *b)
{
	if (b->count == 0)
		return 0;
	put16(b->buf, b->count);
	return TC1_BATCH_HEADER_LEN + (size_t)b->count * TC1_RECORD_LEN;
}
