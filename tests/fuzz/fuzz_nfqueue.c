/*
 * fuzz_nfqueue.c — libFuzzer harness for doppel-intercept's NFQUEUE
 * message parsing (intercept/source/nfqueue_msg.c): the walk over one netlink
 * datagram and the parse of each queued packet, the /proc line parser, and
 * the config and verdict builders.
 *
 * The first input byte picks what the rest is fed to:
 *   bits 0-1  0, 1: a datagram as recvmsg() hands it over
 *             2:    a line of /proc/net/netfilter/nfnetlink_queue
 *             3:    the builders and the id-gap count, from bytes read out
 *   bits 2-4  the payload prefix (prefixes[], below) the packets are cut to
 * Each message the walk returns is parsed from a heap copy of exactly its
 * nlmsg_len bytes, so ASan catches a parse that reads past its message and
 * not only past the datagram. Whatever is accepted must satisfy the
 * contract of source_deliver_fn (source.h) and of nfqueue_msg.h: pointers
 * inside the copied packet, lengths that add up, the prefix respected.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>

#include "fuzz_check.h"
#include "intercept/source/nfqueue_msg.h"
#include "lib/net/packet.h"
#include "lib/net/tcp_options.h"

static const uint16_t prefixes[8] = { 0, 1, 16, 64, 100, 1448, 4096, 65535 };

static void check_reason(const char *why)
{
	REQUIRE(why != NULL && why[0] != '\0' && strlen(why) < 200);
}

/* A queued packet accepted from the message [msg, msg + msg_len). */
static void check_queued(const struct nfqueue_packet *q, const uint8_t *msg, size_t msg_len,
			 uint16_t prefix)
{
	const struct packet *p = &q->packet;
	const uint8_t *copied_end = p->l3 + q->copied_len;

	REQUIRE(q->has_id);
	REQUIRE(q->copied_len <= q->original_len);
	/* The copied packet lies inside its NFQA_PAYLOAD, inside the message. */
	REQUIRE(p->l3 >= msg && copied_end <= msg + msg_len);
	REQUIRE(p->family == AF_INET || p->family == AF_INET6);
	REQUIRE(p->tcp == p->l3 + p->ip_header_len);
	REQUIRE(p->tcp_header_len >= 20 && p->tcp_header_len <= 60 && p->tcp_header_len % 4 == 0);
	REQUIRE(p->payload == p->tcp + p->tcp_header_len && p->payload <= copied_end);
	/* What source_deliver_fn promises the router: headers, then
	 * payload_present bytes, all readable. */
	REQUIRE(p->payload_present <= (size_t)(copied_end - p->payload));
	REQUIRE(p->payload_present <= prefix);
	REQUIRE(p->payload_present <= p->payload_len);
	REQUIRE(p->ip_header_len + p->tcp_header_len + p->payload_len == p->ip_total_len);
	REQUIRE(p->ip_total_len <= q->original_len);
	REQUIRE(p->opt.sack_blocks <= TCP_MAX_SACK_BLOCKS);
}

static void parse_message(const struct nlmsghdr *in, uint16_t prefix)
{
	/* A copy of exactly its length: a read past it is ASan's to see. */
	uint8_t *msg = malloc(in->nlmsg_len);
	struct nfqueue_packet q;
	const char *why = NULL;

	REQUIRE(msg != NULL);
	memcpy(msg, in, in->nlmsg_len);
	if (nfqueue_msg_parse_packet((const struct nlmsghdr *)msg, prefix, &q, &why) == 0)
		check_queued(&q, msg, in->nlmsg_len, prefix);
	else
		check_reason(why);
	free(msg);
}

static void fuzz_datagram(const uint8_t *buf, size_t len, uint16_t prefix)
{
	const struct nlmsghdr *nlh;
	size_t offset = 0, before = 0, count = 0;

	while ((nlh = nfqueue_msg_walk(buf, len, &offset)) != NULL) {
		REQUIRE((const uint8_t *)nlh == buf + before);
		REQUIRE(before % NLMSG_ALIGNTO == 0);
		REQUIRE(nlh->nlmsg_len >= sizeof(*nlh) && nlh->nlmsg_len <= len - before);
		REQUIRE(offset > before && offset <= len);
		REQUIRE(offset == len || offset == before + NLMSG_ALIGN(nlh->nlmsg_len));
		REQUIRE(++count <= len / sizeof(*nlh));
		parse_message(nlh, prefix);
		before = offset;
	}
	/* The walk stopped at the end, or at a message that does not fit;
	 * it stays stopped there. */
	REQUIRE(offset == before);
	if (offset < len) {
		size_t left = len - offset;
		uint32_t nlmsg_len;

		if (left >= sizeof(struct nlmsghdr)) {
			memcpy(&nlmsg_len, buf + offset, sizeof(nlmsg_len));
			REQUIRE(nlmsg_len < sizeof(struct nlmsghdr) || nlmsg_len > left);
		}
	}
	REQUIRE(nfqueue_msg_walk(buf, len, &offset) == NULL && offset == before);
}

/* recvmsg() fills an aligned buffer; the input after the control byte is
 * not aligned, so it is copied (to exactly its size, for ASan). */
static void fuzz_datagram_aligned(const uint8_t *data, size_t len, uint16_t prefix)
{
	uint8_t *buf = malloc(len ? len : 1);

	REQUIRE(buf != NULL);
	memcpy(buf, data, len);
	fuzz_datagram(buf, len, prefix);
	free(buf);
}

static void fuzz_proc_line(const uint8_t *buf, size_t len)
{
	char *line = malloc(len + 1), again[160];
	struct nfqueue_proc_entry e, f;

	REQUIRE(line != NULL);
	memcpy(line, buf, len);
	line[len] = '\0';
	if (nfqueue_proc_parse_line(line, &e) == 0) {
		REQUIRE(e.queue_number <= 65535);
		/* The kernel's own format of the same numbers reads back the same. */
		snprintf(again, sizeof(again), "%5u %6u %5u %1u %5u %5u %5u %8u %2d\n",
			 e.queue_number, e.portid, e.queue_total, e.copy_mode, e.copy_range,
			 e.queue_dropped, e.user_dropped, e.id_sequence, 1);
		REQUIRE(nfqueue_proc_parse_line(again, &f) == 0);
		REQUIRE(memcmp(&e, &f, sizeof(e)) == 0);
	}
	free(line);
}

/* Take n bytes from the input (zeros once it runs out). */
static void take(const uint8_t **buf, size_t *len, void *out, size_t n)
{
	size_t k = n < *len ? n : *len;

	memset(out, 0, n);
	memcpy(out, *buf, k);
	*buf += k;
	*len -= k;
}

/* A built message fits its buffer, walks as one message, and is no packet. */
static void check_built(const struct nlmsghdr *nlh)
{
	struct nfqueue_packet q;
	const char *why = NULL;
	size_t offset = 0;

	REQUIRE(nlh->nlmsg_len >= sizeof(*nlh) && nlh->nlmsg_len <= NFQUEUE_SEND_BUFFER_SIZE);
	REQUIRE(nfqueue_msg_walk(nlh, nlh->nlmsg_len, &offset) == nlh);
	REQUIRE(offset == nlh->nlmsg_len);
	REQUIRE(nfqueue_msg_parse_packet(nlh, 0, &q, &why) == -1 && !q.has_id);
	check_reason(why);
}

static void fuzz_builders(const uint8_t *buf, size_t len)
{
	static uint8_t out[NFQUEUE_SEND_BUFFER_SIZE];
	uint16_t queue, prefix;
	uint32_t maxlen, seq, id, ahead;

	take(&buf, &len, &queue, sizeof(queue));
	take(&buf, &len, &prefix, sizeof(prefix));
	take(&buf, &len, &maxlen, sizeof(maxlen));
	take(&buf, &len, &seq, sizeof(seq));
	take(&buf, &len, &id, sizeof(id));
	take(&buf, &len, &ahead, sizeof(ahead));
	REQUIRE(nfqueue_receive_size(nfqueue_copy_range(prefix)) >
		(size_t)nfqueue_copy_range(prefix) + NLMSG_HDRLEN);
	check_built(nfqueue_msg_config(out, queue, nfqueue_copy_range(prefix), maxlen, seq));
	check_built(nfqueue_msg_verdict_batch(out, queue, id, seq));
	REQUIRE(nfqueue_ids_skipped(id, id) == 0);
	REQUIRE(nfqueue_ids_skipped(id, id + ahead) == (ahead < 0x80000000u ? ahead : 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t prefix;

	if (size == 0)
		return 0;
	prefix = prefixes[(data[0] >> 2) & 7];
	switch (data[0] & 3) {
	case 0:
	case 1: fuzz_datagram_aligned(data + 1, size - 1, prefix); break;
	case 2: fuzz_proc_line(data + 1, size - 1); break;
	case 3: fuzz_builders(data + 1, size - 1); break;
	}
	return 0;
}
