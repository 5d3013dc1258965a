/*
 * test_intercept_nfqueue.c — the NFQUEUE messages of the nfqueue source:
 * queued-packet messages built as the kernel builds them (nlmsghdr,
 * nfgenmsg, NFQA_PACKET_HDR, NFQA_PAYLOAD of real IP+TCP bytes,
 * NFQA_CAP_LEN when the copy was cut, and the attributes we ignore) fed to
 * the parser; every way such a message can be wrong; the config and batch
 * verdict messages we send, attribute by attribute; packet id gaps; the
 * walk over a datagram's messages; the kernel's per-queue counts in /proc.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "intercept/source/nfqueue_msg.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"
#include "packet_samples.h"

#define HOOK_PRE_ROUTING 0
#define HOOK_LOCAL_OUT 3

/* What the kernel's message for one queued packet carries. */
struct queued {
	uint16_t queue;
	uint8_t family;
	uint32_t id;
	const uint8_t *bytes;
	uint32_t copied;	/* bytes of the packet in NFQA_PAYLOAD */
	uint32_t cap_len;	/* NFQA_CAP_LEN; 0: absent (nothing was cut) */
	bool no_header, no_payload;
};

static uint8_t message[8192];

/* Build the message as nfnetlink_queue's nfqnl_build_packet_message does. */
static struct nlmsghdr *build_queued(const struct queued *q)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *gen;
	struct nfqnl_msg_packet_hdr header = {
		.packet_id = htonl(q->id),
		.hw_protocol = htons(q->family == NFPROTO_IPV6 ? 0x86dd : 0x0800),
		.hook = HOOK_PRE_ROUTING,
	};
	uint8_t hwaddr[12] = { 0, 6, 0, 0, 0x02, 0x42, 0xc6, 0x12, 0x00, 0x02 };

	memset(message, 0, sizeof(message));
	nlh = mnl_nlmsg_put_header(message);
	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET;
	gen = mnl_nlmsg_put_extra_header(nlh, sizeof(*gen));
	gen->nfgen_family = q->family;
	gen->version = NFNETLINK_V0;
	gen->res_id = htons(q->queue);
	if (!q->no_header)
		mnl_attr_put(nlh, NFQA_PACKET_HDR, sizeof(header), &header);
	mnl_attr_put_u32(nlh, NFQA_IFINDEX_INDEV, htonl(7));
	mnl_attr_put(nlh, NFQA_HWADDR, sizeof(hwaddr), hwaddr);
	if (q->cap_len)
		mnl_attr_put_u32(nlh, NFQA_CAP_LEN, htonl(q->cap_len));
	mnl_attr_put_u32(nlh, NFQA_SKB_INFO, htonl(NFQA_SKB_CSUMNOTREADY));
	if (!q->no_payload)
		mnl_attr_put(nlh, NFQA_PAYLOAD, q->copied, q->bytes);
	return nlh;
}

static void parse_ok(const struct queued *q, uint16_t prefix, struct nfqueue_packet *out)
{
	const char *why = "(not set)";

	if (nfqueue_msg_parse_packet(build_queued(q), prefix, out, &why))
		fail_msg("parse failed: %s", why);
	assert_true(out->has_id);
	assert_int_equal(out->id, q->id);
	assert_int_equal(out->queue_number, q->queue);
	assert_int_equal(out->family, q->family);
}

static void parse_fails(const struct nlmsghdr *nlh, bool has_id, const char *reason)
{
	struct nfqueue_packet out;
	const char *why = NULL;

	assert_int_equal(nfqueue_msg_parse_packet(nlh, 0, &out, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, reason);
	assert_int_equal(out.has_id, has_id);
}

static void assert_addr(const struct dp_addr *a, const char *text)
{
	char buf[INET6_ADDRSTRLEN];

	assert_string_equal(dp_addr_str(a, buf, sizeof(buf)), text);
}

/* A SYN-ACK copied whole: every header field comes through. */
static void test_synack_whole(void **state)
{
	struct queued q = { .queue = 3, .family = NFPROTO_IPV4, .id = 41,
			    .bytes = sample_synack_v4, .copied = sizeof(sample_synack_v4) };
	struct nfqueue_packet out;

	parse_ok(&q, 0, &out);
	assert_int_equal(out.copied_len, 60);
	assert_int_equal(out.original_len, 60);
	assert_int_equal(out.hook, HOOK_PRE_ROUTING);
	assert_addr(&out.packet.src, "198.18.0.1");
	assert_addr(&out.packet.dst, "198.18.0.2");
	assert_int_equal(out.packet.sport, 8080);
	assert_int_equal(out.packet.dport, 46932);
	assert_int_equal(out.packet.seq, 654061784u);
	assert_int_equal(out.packet.ack, 579763842u);
	assert_int_equal(out.packet.flags, TCPF_SYN | TCPF_ACK);
	assert_true(out.packet.opt.has_mss);
	assert_int_equal(out.packet.opt.mss, 65495);
	assert_true(out.packet.opt.has_timestamp);
	assert_int_equal(out.packet.opt.tsval, 2010468186u);
	assert_int_equal(out.packet.payload_len, 0);
	assert_memory_equal(out.packet.l3, sample_synack_v4, 60);
}

/* The 185-byte response cut by the copy range after 10 payload bytes:
 * NFQA_CAP_LEN says 237; the payload length is the original one and only
 * the prefix asked for is presented. */
static void test_truncated_response(void **state)
{
	struct queued q = { .queue = 0, .family = NFPROTO_IPV4, .id = 7,
			    .bytes = sample_truncated_v4, .copied = 52 + 10, .cap_len = 237 };
	struct nfqueue_packet out;

	parse_ok(&q, 0, &out);
	assert_int_equal(out.original_len, 237);
	assert_int_equal(out.packet.ip_total_len, 237);
	assert_int_equal(out.packet.payload_len, 185);
	assert_int_equal(out.packet.payload_present, 0);

	parse_ok(&q, 4, &out);
	assert_int_equal(out.packet.payload_present, 4);
	assert_memory_equal(out.packet.payload, sample_truncated_v4 + 52, 4);

	/* A prefix longer than what was copied presents what is there. */
	parse_ok(&q, 100, &out);
	assert_int_equal(out.packet.payload_present, 10);
}

/* Headers only (prefix 0, copy cut right after the TCP header). */
static void test_headers_only(void **state)
{
	struct queued q = { .queue = 65535, .family = NFPROTO_IPV4, .id = 0xffffffffu,
			    .bytes = sample_data_v4, .copied = 52, .cap_len = 141 };
	struct nfqueue_packet out;

	parse_ok(&q, 0, &out);
	assert_int_equal(out.packet.payload_len, 89);
	assert_int_equal(out.packet.payload_present, 0);
	assert_int_equal(out.packet.flags, TCPF_PSH | TCPF_ACK);
}

/* IPv6 behind three extension headers, cut inside the payload. */
static void test_ipv6_extension_headers(void **state)
{
	struct queued q = { .queue = 1, .family = NFPROTO_IPV6, .id = 2,
			    .bytes = sample_data_v6_ext, .copied = 64 + 32 + 6, .cap_len = 185 };
	struct nfqueue_packet out;

	parse_ok(&q, 8, &out);
	assert_int_equal(out.packet.family, AF_INET6);
	assert_addr(&out.packet.src, "2001:2::2");
	assert_int_equal(out.packet.ip_header_len, 64);
	assert_int_equal(out.packet.payload_len, 89);
	assert_int_equal(out.packet.payload_present, 6);
	assert_memory_equal(out.packet.payload, "GET /i", 6);
}

/* A GSO super-packet past 64 KiB: the IPv4 total length field is 0 and only
 * NFQA_CAP_LEN knows the length. */
static void test_gso_big_packet(void **state)
{
	uint8_t bytes[60];
	struct queued q = { .queue = 2, .family = NFPROTO_IPV4, .id = 9,
			    .bytes = bytes, .copied = 52 + 8, .cap_len = 100000 };
	struct nfqueue_packet out;

	memcpy(bytes, sample_data_v4, sizeof(bytes));
	bytes[2] = bytes[3] = 0;
	parse_ok(&q, 8, &out);
	assert_int_equal(out.packet.ip_total_len, 100000);
	assert_int_equal(out.packet.payload_len, 100000 - 52);
	assert_int_equal(out.packet.payload_present, 8);
}

/* Each broken message is refused with its reason; whether it still names
 * a packet to drop is reported. */
static void test_malformed_messages(void **state)
{
	uint8_t garbage[40];
	struct queued q = { .queue = 0, .family = NFPROTO_IPV4, .id = 5,
			    .bytes = sample_synack_v4, .copied = 60 };
	struct nlmsghdr *nlh;

	q.no_header = true;
	parse_fails(build_queued(&q), false, "nfqueue packet without NFQA_PACKET_HDR (no id)");
	q.no_header = false;

	q.no_payload = true;
	parse_fails(build_queued(&q), true,
		    "nfqueue packet without NFQA_PAYLOAD (copy mode not set)");
	q.no_payload = false;

	q.cap_len = 30;
	parse_fails(build_queued(&q), true, "nfqueue NFQA_CAP_LEN shorter than the copied payload");

	/* The IP header claims 141 bytes but the kernel had 100 of them. */
	q.bytes = sample_data_v4;
	q.copied = 60;
	q.cap_len = 100;
	parse_fails(build_queued(&q), true,
		    "ip length runs past the queued packet's length (NFQA_CAP_LEN)");

	/* Not IP at all: the parser's reason comes through. */
	memset(garbage, 0x55, sizeof(garbage));
	q.bytes = garbage;
	q.copied = sizeof(garbage);
	q.cap_len = 0;
	parse_fails(build_queued(&q), true, "ip version 5 (not 4 or 6)");

	/* Copy range cut inside the TCP header. */
	q.bytes = sample_synack_v4;
	q.copied = 30;
	q.cap_len = 60;
	parse_fails(build_queued(&q), true, "tcp header truncated: buffer ends within 20 bytes");

	/* NFQA_PACKET_HDR one byte short of its 7. */
	q.copied = 60;
	q.cap_len = 0;
	nlh = build_queued(&q);
	{
		struct nlattr *first = (struct nlattr *)((uint8_t *)mnl_nlmsg_get_payload(nlh) +
							 sizeof(struct nfgenmsg));
		assert_int_equal(mnl_attr_get_type(first), NFQA_PACKET_HDR);
		first->nla_len = NLA_HDRLEN + 6;
	}
	parse_fails(nlh, false, "nfqueue packet attribute malformed (length or size)");

	/* Another nfnetlink message type, and a message cut in its nfgenmsg. */
	nlh = build_queued(&q);
	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_CONFIG;
	parse_fails(nlh, false, "netlink message is not an nfqueue packet");
	nlh = build_queued(&q);
	nlh->nlmsg_len = NLMSG_HDRLEN + 2;
	parse_fails(nlh, false, "nfqueue message shorter than its nfgenmsg header");
}

/* Parse from a heap copy of exactly nlmsg_len bytes, so that ASan sees a
 * read past the message. */
static int parse_exact(const struct nlmsghdr *nlh, struct nfqueue_packet *out, const char **why)
{
	void *copy = malloc(nlh->nlmsg_len);
	int rc;

	assert_non_null(copy);
	memcpy(copy, nlh, nlh->nlmsg_len);
	rc = nfqueue_msg_parse_packet(copy, 0, out, why);
	free(copy);
	return rc;
}

/* The kernel leaves NFQA_PAYLOAD unpadded, so nlmsg_len may be unaligned;
 * libmnl then lets an attribute run up to the aligned length, past the
 * message (found by tests/fuzz/fuzz_nfqueue). */
static void test_attribute_past_unaligned_end(void **state)
{
	struct queued q = { .queue = 0, .family = NFPROTO_IPV4, .id = 9,
			    .bytes = sample_data_v4, .copied = 59, .cap_len = 141 };
	struct nfqueue_packet out;
	const char *why = NULL;
	struct nlmsghdr *nlh = build_queued(&q);
	struct nlattr *payload = (struct nlattr *)((uint8_t *)nlh + nlh->nlmsg_len -
						   NLA_ALIGN(NLA_HDRLEN + 59));

	assert_int_equal(mnl_attr_get_type(payload), NFQA_PAYLOAD);
	/* As the kernel sends it: the message ends where the payload does. */
	nlh->nlmsg_len -= 1;
	assert_int_equal(parse_exact(nlh, &out, &why), 0);
	assert_int_equal(out.copied_len, 59);
	/* The payload attribute claims the padding byte too. */
	payload->nla_len += 1;
	assert_int_equal(parse_exact(nlh, &out, &why), -1);
	assert_string_equal(why, "nfqueue attribute runs past the end of the message");
	assert_true(out.has_id);
}

/* Every attribute of a message, by type; fails on a repeat. */
static void collect_attributes(const struct nlmsghdr *nlh, const struct nlattr **table, int max)
{
	const struct nlattr *attr;

	memset(table, 0, sizeof(*table) * (size_t)(max + 1));
	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg)) {
		int type = mnl_attr_get_type(attr);

		assert_in_range(type, 1, max);
		assert_null(table[type]);
		table[type] = attr;
	}
}

static void assert_nfgenmsg(const struct nlmsghdr *nlh, int type, uint16_t queue)
{
	const struct nfgenmsg *gen = mnl_nlmsg_get_payload(nlh);

	assert_int_equal(nlh->nlmsg_type, (NFNL_SUBSYS_QUEUE << 8) | type);
	assert_int_equal(gen->version, NFNETLINK_V0);
	assert_int_equal(ntohs(gen->res_id), queue);
}

static void test_verdict_batch(void **state)
{
	uint8_t buf[NFQUEUE_SEND_BUFFER_SIZE];
	const struct nlattr *table[NFQA_MAX + 1];
	const struct nfqnl_msg_verdict_hdr *verdict;
	struct nlmsghdr *nlh = nfqueue_msg_verdict_batch(buf, 513, 0xfffffffeu, 77);

	assert_nfgenmsg(nlh, NFQNL_MSG_VERDICT_BATCH, 513);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST);	/* no ack asked */
	assert_int_equal(nlh->nlmsg_seq, 77);
	assert_true(nlh->nlmsg_len <= sizeof(buf));
	collect_attributes(nlh, table, NFQA_MAX);
	assert_non_null(table[NFQA_VERDICT_HDR]);
	assert_int_equal(mnl_attr_get_payload_len(table[NFQA_VERDICT_HDR]), sizeof(*verdict));
	verdict = mnl_attr_get_payload(table[NFQA_VERDICT_HDR]);
	assert_int_equal(ntohl(verdict->verdict), NF_DROP);
	assert_int_equal(ntohl(verdict->id), 0xfffffffeu);
	/* Nothing else: no mark, no replaced packet. */
	for (int type = 1; type <= NFQA_MAX; type++)
		if (type != NFQA_VERDICT_HDR)
			assert_null(table[type]);
}

static void test_config(void **state)
{
	uint8_t buf[NFQUEUE_SEND_BUFFER_SIZE];
	const struct nlattr *table[NFQA_CFG_MAX + 1];
	const struct nfqnl_msg_config_cmd *cmd;
	const struct nfqnl_msg_config_params *params;
	uint32_t range = nfqueue_copy_range(16);
	struct nlmsghdr *nlh = nfqueue_msg_config(buf, 4, range, 65536, 9);

	assert_int_equal(range, 128 + 60 + 16);
	assert_nfgenmsg(nlh, NFQNL_MSG_CONFIG, 4);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	assert_int_equal(nlh->nlmsg_seq, 9);
	assert_true(nlh->nlmsg_len <= sizeof(buf));
	collect_attributes(nlh, table, NFQA_CFG_MAX);

	cmd = mnl_attr_get_payload(table[NFQA_CFG_CMD]);
	assert_int_equal(cmd->command, NFQNL_CFG_CMD_BIND);
	params = mnl_attr_get_payload(table[NFQA_CFG_PARAMS]);
	assert_int_equal(params->copy_mode, NFQNL_COPY_PACKET);
	assert_int_equal(ntohl(params->copy_range), range);
	assert_int_equal(ntohl(mnl_attr_get_u32(table[NFQA_CFG_QUEUE_MAXLEN])), 65536);
	/* GSO on, and only GSO touched: fail-open stays off. */
	assert_int_equal(ntohl(mnl_attr_get_u32(table[NFQA_CFG_FLAGS])), NFQA_CFG_F_GSO);
	assert_int_equal(ntohl(mnl_attr_get_u32(table[NFQA_CFG_MASK])), NFQA_CFG_F_GSO);
	assert_int_equal(ntohl(mnl_attr_get_u32(table[NFQA_CFG_FLAGS])) & NFQA_CFG_F_FAIL_OPEN, 0);

	/* The largest copy fits the receive buffer with room for attributes. */
	assert_true(nfqueue_receive_size(nfqueue_copy_range(65535)) >=
		    NLMSG_HDRLEN + sizeof(struct nfgenmsg) + 512 + nfqueue_copy_range(65535));
}

static void test_id_gaps(void **state)
{
	assert_int_equal(nfqueue_ids_skipped(1, 1), 0);
	assert_int_equal(nfqueue_ids_skipped(1, 5), 4);
	/* Across the wrap: 0xfffffffe, 0xffffffff, 0 were lost before 1. */
	assert_int_equal(nfqueue_ids_skipped(0xfffffffeu, 1), 3);
	assert_int_equal(nfqueue_ids_skipped(0, 0), 0);
	/* A repeat or an older id is not a loss. */
	assert_int_equal(nfqueue_ids_skipped(10, 9), 0);
	assert_int_equal(nfqueue_ids_skipped(10, 0xfffffff0u), 0);
}

/* A datagram of two packet messages, then every way a length can lie. */
static void test_datagram_walk(void **state)
{
	static uint8_t datagram[2 * 8192];
	struct queued q = { .queue = 1, .family = NFPROTO_IPV4, .id = 1,
			    .bytes = sample_synack_v4, .copied = 59 };
	struct nfqueue_packet out;
	const struct nlmsghdr *nlh;
	const char *why;
	size_t first, offset = 0;

	/* 59 bytes of payload: the message ends with attribute padding. */
	nlh = build_queued(&q);
	first = nlh->nlmsg_len;
	memcpy(datagram, nlh, nlh->nlmsg_len);
	q.id = 2;
	q.copied = 60;
	nlh = build_queued(&q);
	memcpy(datagram + first, nlh, nlh->nlmsg_len);

	nlh = nfqueue_msg_walk(datagram, first + nlh->nlmsg_len, &offset);
	assert_non_null(nlh);
	assert_int_equal(nfqueue_msg_parse_packet(nlh, 0, &out, &why), -1);	/* cut options */
	assert_int_equal(out.id, 1);
	nlh = nfqueue_msg_walk(datagram, first + ((struct nlmsghdr *)(datagram + first))->nlmsg_len,
			       &offset);
	assert_non_null(nlh);
	assert_int_equal(nfqueue_msg_parse_packet(nlh, 0, &out, &why), 0);
	assert_int_equal(out.id, 2);
	assert_null(nfqueue_msg_walk(datagram, offset, &offset));

	/* A length past INT_MAX (libmnl reads it as negative and accepts it),
	 * one shorter than a header, one past the datagram, a datagram
	 * shorter than a header. */
	memset(datagram, 0, 64);
	((struct nlmsghdr *)datagram)->nlmsg_len = 0xf1f10a0au;
	offset = 0;
	assert_null(nfqueue_msg_walk(datagram, 64, &offset));
	((struct nlmsghdr *)datagram)->nlmsg_len = 8;
	assert_null(nfqueue_msg_walk(datagram, 64, &offset));
	((struct nlmsghdr *)datagram)->nlmsg_len = 65;
	assert_null(nfqueue_msg_walk(datagram, 64, &offset));
	((struct nlmsghdr *)datagram)->nlmsg_len = 16;
	assert_null(nfqueue_msg_walk(datagram, 15, &offset));
	assert_int_equal(offset, 0);

	/* A 17-byte message: the next one starts at 20, past the padding;
	 * at the end of the datagram no padding is needed. */
	((struct nlmsghdr *)datagram)->nlmsg_len = 17;
	((struct nlmsghdr *)(datagram + 20))->nlmsg_len = 16;
	assert_ptr_equal(nfqueue_msg_walk(datagram, 36, &offset), datagram);
	assert_int_equal(offset, 20);
	assert_ptr_equal(nfqueue_msg_walk(datagram, 36, &offset), datagram + 20);
	assert_int_equal(offset, 36);
	offset = 0;
	assert_ptr_equal(nfqueue_msg_walk(datagram, 17, &offset), datagram);
	assert_int_equal(offset, 17);
	assert_null(nfqueue_msg_walk(datagram, 17, &offset));
}

/* A line as the kernel printed it in tests/nft's lost-packet test. */
static void test_proc_line(void **state)
{
	struct nfqueue_proc_entry e;

	assert_int_equal(nfqueue_proc_parse_line(
		"    5   8183 40329 2   188  2000 59671   100000  1\n", &e), 0);
	assert_int_equal(e.queue_number, 5);
	assert_int_equal(e.portid, 8183);
	assert_int_equal(e.queue_total, 40329);
	assert_int_equal(e.copy_mode, NFQNL_COPY_PACKET);
	assert_int_equal(e.copy_range, 188);
	assert_int_equal(e.queue_dropped, 2000);
	assert_int_equal(e.user_dropped, 59671);
	assert_int_equal(e.id_sequence, 100000);

	assert_int_equal(nfqueue_proc_parse_line("", &e), -1);
	assert_int_equal(nfqueue_proc_parse_line("5 8183 0 2 188 0 0 1\n", &e), -1);
	assert_int_equal(nfqueue_proc_parse_line("5 8183 0 2 188 0 0 1 1 7\n", &e), -1);
	assert_int_equal(nfqueue_proc_parse_line("65536 8183 0 2 188 0 0 1 1\n", &e), -1);
	assert_int_equal(nfqueue_proc_parse_line("queue portid total\n", &e), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synack_whole),
		cmocka_unit_test(test_truncated_response),
		cmocka_unit_test(test_headers_only),
		cmocka_unit_test(test_ipv6_extension_headers),
		cmocka_unit_test(test_gso_big_packet),
		cmocka_unit_test(test_malformed_messages),
		cmocka_unit_test(test_attribute_past_unaligned_end),
		cmocka_unit_test(test_verdict_batch),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_id_gaps),
		cmocka_unit_test(test_datagram_walk),
		cmocka_unit_test(test_proc_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
