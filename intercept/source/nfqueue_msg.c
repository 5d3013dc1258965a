/*
 * nfqueue_msg.c — NFQUEUE config and verdict messages, and the parsing of
 * queued packets, with libnetfilter_queue's mnl helpers.
 */
#include "intercept/source/nfqueue_msg.h"

#include "intercept/source/nl_attr.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

uint32_t nfqueue_copy_range(uint16_t payload_prefix)
{
	return NFQUEUE_IP_ROOM + NFQUEUE_TCP_ROOM + (uint32_t)payload_prefix;
}

size_t nfqueue_receive_size(uint32_t copy_range)
{
	/* The kernel adds up to a few hundred bytes of attributes (ids,
	 * interfaces, hardware address, timestamp, conntrack if asked);
	 * 4 KiB of room is far more than it ever writes. */
	return (size_t)copy_range + 4096;
}

struct nlmsghdr *nfqueue_msg_config(void *buf, uint16_t queue_number, uint32_t copy_range,
				    uint32_t queue_maxlen, uint32_t seq)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, NFQUEUE_SEND_BUFFER_SIZE);
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue_number);
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	/* The protocol family of the bind command is ignored by kernels
	 * since 3.8; AF_UNSPEC says we mean every family. */
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)copy_range);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, queue_maxlen);
	/* Only the GSO bit is changed (the mask): FAIL_OPEN stays off. */
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
	return nlh;
}

struct nlmsghdr *nfqueue_msg_verdict_batch(void *buf, uint16_t queue_number, uint32_t last_id,
					   uint32_t seq)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, NFQUEUE_SEND_BUFFER_SIZE);
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT_BATCH, queue_number);
	nlh->nlmsg_seq = seq;
	nfq_nlmsg_verdict_put(nlh, (int)last_id, NF_DROP);
	return nlh;
}

uint32_t nfqueue_ids_skipped(uint32_t expected, uint32_t got)
{
	uint32_t ahead = got - expected;

	/* More than 2^31 ahead is behind: a repeat or a reordering. */
	return ahead < 0x80000000u ? ahead : 0;
}

const struct nlmsghdr *nfqueue_msg_walk(const void *buf, size_t len, size_t *offset)
{
	const struct nlmsghdr *nlh;
	size_t left;

	if (*offset >= len)
		return NULL;
	left = len - *offset;
	nlh = (const struct nlmsghdr *)((const uint8_t *)buf + *offset);
	if (left < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > left)
		return NULL;
	/* The last message need not be padded to the alignment. */
	*offset += NLMSG_ALIGN(nlh->nlmsg_len) < left ? NLMSG_ALIGN(nlh->nlmsg_len) : left;
	return nlh;
}

static int fail(const char **why, const char *reason)
{
	*why = reason;
	return -1;
}

/* Keep each attribute we read, checked for the size we read it at
 * (nfq_nlmsg_parse's checks, for ours); any other is skipped. */
static int packet_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **table = data;
	int type = mnl_attr_get_type(attr);

	switch (type) {
	case NFQA_PACKET_HDR:
		if (mnl_attr_validate2(attr, MNL_TYPE_UNSPEC,
				       sizeof(struct nfqnl_msg_packet_hdr)) < 0)
			return MNL_CB_ERROR;
		break;
	case NFQA_CAP_LEN:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		break;
	case NFQA_PAYLOAD:
		break;
	default:
		return MNL_CB_OK;
	}
	table[type] = attr;
	return MNL_CB_OK;
}

/* The IP header's own length field is 0 for GSO packets past 64 KiB (IPv4
 * BIG TCP, IPv6 jumbograms with the hop-by-hop header stripped). */
static bool ip_length_field_zero(const struct packet *p)
{
	if (p->family == AF_INET)
		return p->l3[2] == 0 && p->l3[3] == 0;
	return p->l3[4] == 0 && p->l3[5] == 0;
}

/* Parse the copied bytes and square the lengths with the original packet's. */
static int parse_payload(const uint8_t *data, uint32_t copied, uint16_t payload_prefix,
			 struct nfqueue_packet *out, const char **why)
{
	struct packet *p = &out->packet;
	size_t headers;

	if (packet_parse(data, copied, PACKET_TRUNCATED_OK, p, why))
		return -1;
	headers = p->ip_header_len + p->tcp_header_len;
	if (out->original_len > copied && ip_length_field_zero(p)) {
		p->ip_total_len = out->original_len;
		p->payload_len = out->original_len - headers;
	}
	if (p->ip_total_len > out->original_len)
		return fail(why, "ip length runs past the queued packet's length (NFQA_CAP_LEN)");
	if (p->payload_present > payload_prefix)
		p->payload_present = payload_prefix;
	return 0;
}

int nfqueue_msg_parse_packet(const struct nlmsghdr *nlh, uint16_t payload_prefix,
			     struct nfqueue_packet *out, const char **why)
{
	const struct nlattr *attr[NFQA_MAX + 1];
	const struct nfgenmsg *gen;
	int walked;
	const struct nfqnl_msg_packet_hdr *header;

	memset(out, 0, sizeof(*out));
	memset(attr, 0, sizeof(attr));
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct nfgenmsg))
		return fail(why, "nfqueue message shorter than its nfgenmsg header");
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_QUEUE ||
	    NFNL_MSG_TYPE(nlh->nlmsg_type) != NFQNL_MSG_PACKET)
		return fail(why, "netlink message is not an nfqueue packet");
	gen = mnl_nlmsg_get_payload(nlh);
	out->queue_number = ntohs(gen->res_id);
	out->family = gen->nfgen_family;
	walked = nl_attr_walk_msg(nlh, sizeof(struct nfgenmsg), packet_attr, attr);
	if (walked == NL_ATTR_REFUSED)
		return fail(why, "nfqueue packet attribute malformed (length or size)");
	if (!attr[NFQA_PACKET_HDR])
		return fail(why, walked == NL_ATTR_CUT ?
			    "nfqueue attribute runs past the end of the message" :
			    "nfqueue packet without NFQA_PACKET_HDR (no id)");
	/* The id first, even if a later attribute is cut: the packet is
	 * still dropped by the next verdict. */
	header = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	out->has_id = true;
	out->id = ntohl(header->packet_id);
	out->hook = header->hook;
	if (walked == NL_ATTR_CUT)
		return fail(why, "nfqueue attribute runs past the end of the message");
	if (!attr[NFQA_PAYLOAD])
		return fail(why, "nfqueue packet without NFQA_PAYLOAD (copy mode not set)");
	out->copied_len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	out->original_len = out->copied_len;
	if (attr[NFQA_CAP_LEN]) {
		out->original_len = ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN]));
		if (out->original_len < out->copied_len)
			return fail(why, "nfqueue NFQA_CAP_LEN shorter than the copied payload");
	}
	return parse_payload(mnl_attr_get_payload(attr[NFQA_PAYLOAD]), out->copied_len,
			     payload_prefix, out, why);
}

int nfqueue_proc_parse_line(const char *line, struct nfqueue_proc_entry *out)
{
	struct nfqueue_proc_entry e;
	int one, end = 0;

	/* "%5u %6u %5u %1u %5u %5u %5u %8u %2d\n" in nfnetlink_queue.c */
	if (sscanf(line, "%u %u %u %u %u %u %u %u %d %n", &e.queue_number, &e.portid,
		   &e.queue_total, &e.copy_mode, &e.copy_range, &e.queue_dropped,
		   &e.user_dropped, &e.id_sequence, &one, &end) != 9 || line[end] != '\0')
		return -1;
	if (e.queue_number > 65535)
		return -1;
	*out = e;
	return 0;
}
