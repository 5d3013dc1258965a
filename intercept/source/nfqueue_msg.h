/*
 * nfqueue_msg.h — the NFQUEUE netlink messages doppel-intercept sends and
 * reads, built and parsed without any socket so that tests can feed them.
 *
 * Sending: one config message per queue (bind, copy mode and range, the
 * GSO flag, the queue length, all in one message so the kernel applies
 * them together) and batch verdicts (NFQNL_MSG_VERDICT_BATCH: one verdict
 * for every packet of the queue up to an id).
 * Reading: an NFQNL_MSG_PACKET message becomes a queue number, a packet id
 * and a parsed struct packet.
 */
#ifndef DOPPEL_NFQUEUE_MSG_H
#define DOPPEL_NFQUEUE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

#include "lib/net/packet.h"

/*
 * Bytes of IP header room in the copy range. IPv4's header is at most 60
 * bytes; IPv6's is 40 plus extension headers, which responses rarely carry:
 * 128 leaves 88 bytes for them. A packet whose headers do not fit arrives
 * cut inside them, fails to parse, and is counted as malformed (and still
 * dropped).
 */
#define NFQUEUE_IP_ROOM 128
#define NFQUEUE_TCP_ROOM 60

/* Bytes the kernel copies of each packet: the headers plus the prefix. */
uint32_t nfqueue_copy_range(uint16_t payload_prefix);

/* Room for the largest message the kernel sends for copy_range bytes of
 * packet: netlink, nfgenmsg and attribute headers plus the packet. */
size_t nfqueue_receive_size(uint32_t copy_range);

/* Big enough for the config and verdict messages below. */
#define NFQUEUE_SEND_BUFFER_SIZE 256

/*
 * Write into buf (NFQUEUE_SEND_BUFFER_SIZE bytes) the config message that
 * binds queue_number to the sending socket, asks for NFQNL_COPY_PACKET of
 * copy_range bytes, sets NFQA_CFG_F_GSO (GSO packets are queued whole, with
 * lengths past the MTU and checksums not yet computed: we read only headers
 * and check no checksum) and the queue length. NFQA_CFG_F_FAIL_OPEN is never
 * set: a full queue must drop, since a response let through would travel
 * on toward the real client's address. The message asks for an ack
 * (NLM_F_ACK). Returns the message.
 */
struct nlmsghdr *nfqueue_msg_config(void *buf, uint16_t queue_number, uint32_t copy_range,
				    uint32_t queue_maxlen, uint32_t seq);

/* Write into buf the batch verdict NF_DROP for every packet of queue_number
 * whose id is up to last_id (in the kernel's wrap-around order). No ack:
 * the kernel answers only errors. Returns the message. */
struct nlmsghdr *nfqueue_msg_verdict_batch(void *buf, uint16_t queue_number, uint32_t last_id,
					   uint32_t seq);

/*
 * The netlink messages of one datagram of len bytes in buf: the message at
 * *offset, advancing *offset past it; NULL at the end, or at a message that
 * does not fit in what is left (the rest is ignored). Lengths are compared
 * unsigned: libmnl's mnl_nlmsg_ok() takes an nlmsg_len past INT_MAX for a
 * short one and mnl_nlmsg_next() then walks out of the buffer.
 */
const struct nlmsghdr *nfqueue_msg_walk(const void *buf, size_t len, size_t *offset);

/* One queued packet, read from an NFQNL_MSG_PACKET message. */
struct nfqueue_packet {
	uint16_t queue_number;	/* the nfgenmsg's res_id */
	uint8_t family;		/* nfgen_family: NFPROTO_IPV4 or NFPROTO_IPV6 */
	bool has_id;		/* an id was found: the packet needs a verdict */
	uint32_t id;		/* NFQA_PACKET_HDR packet_id, host order */
	uint8_t hook;		/* netfilter hook number */
	uint32_t copied_len;	/* bytes of NFQA_PAYLOAD */
	uint32_t original_len;	/* NFQA_CAP_LEN, or copied_len when absent */
	struct packet packet;	/* parsed, valid only when the parse returned 0 */
};

/*
 * Parse one netlink message that should be an NFQUEUE packet. The packet is
 * parsed with PACKET_TRUNCATED_OK; its payload_len is the original one (the
 * IP header's, or NFQA_CAP_LEN's when the header says 0, as GSO packets
 * past 64 KiB do), payload_present is cut to payload_prefix.
 * Returns 0; or -1 with *why set to a static string. After a failure,
 * out->has_id says whether the message still named a packet to give a
 * verdict to (a malformed packet must be dropped like the rest).
 */
int nfqueue_msg_parse_packet(const struct nlmsghdr *nlh, uint16_t payload_prefix,
			     struct nfqueue_packet *out, const char **why);

/*
 * How many packet ids were skipped between the id expected next and the id
 * that came: the kernel numbers the packets of a queue 1, 2, 3... before it
 * tries to put them on the socket, so a gap is exactly the packets it
 * dropped because our receive buffer was full (ENOBUFS). Ids wrap at 2^32;
 * an id that is not ahead of expected (a repeat) skips nothing.
 */
uint32_t nfqueue_ids_skipped(uint32_t expected, uint32_t got);

/*
 * One line of /proc/net/netfilter/nfnetlink_queue, the kernel's account of
 * each queue of the network namespace. queue_dropped counts packets dropped
 * because more than the queue length (-q) waited for a verdict: they took
 * no packet id, so no id gap shows them. user_dropped counts those that
 * found our socket's buffer full (the id gaps).
 */
struct nfqueue_proc_entry {
	uint32_t queue_number, portid, queue_total, copy_mode, copy_range;
	uint32_t queue_dropped, user_dropped, id_sequence;
};

#define NFQUEUE_PROC_PATH "/proc/net/netfilter/nfnetlink_queue"

/* Parse one line. 0, or -1 when it is not one of the kernel's lines. */
int nfqueue_proc_parse_line(const char *line, struct nfqueue_proc_entry *out);

#endif
