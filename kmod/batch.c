// SPDX-License-Identifier: GPL-2.0
/*
 * Summaries of swallowed packets, many per generic netlink
 * message, unicast to the namespace's listener.
 *
 * The packet path appends to the message being filled under a spinlock; a
 * message goes out when it holds batch_size summaries, when the next one
 * would not fit, or flush_usecs after it was started (a soft hrtimer), so a
 * lone response never waits long. Sending happens outside the lock with
 * MSG_DONTWAIT: a full socket loses the message, which is counted, and the
 * count travels in the next message that gets through (DOPPEL_A_LOST).
 */

#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/ipv6.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <uapi/doppel.h>

#include "batch.h"
#include "compat.h"
#include "flow.h"
#include "netlink.h"
#include "netns.h"

/* A message stays below this (an order-3 atomic allocation at most). */
#define DOPPEL_MESSAGE_BYTES_MAX (32 * 1024)

static unsigned int batch_size = 32;
module_param(batch_size, uint, 0444);
MODULE_PARM_DESC(batch_size, "Most summaries in one netlink message (1-1024, default 32)");

static unsigned int flush_usecs = 500;
module_param(flush_usecs, uint, 0444);
MODULE_PARM_DESC(flush_usecs,
		 "Longest a summary waits for its message to fill, in microseconds (1-1000000, default 500)");

int doppel_batch_params_check(void)
{
	if (batch_size < 1 || batch_size > 1024) {
		pr_err("batch_size=%u is out of range 1-1024\n", batch_size);
		return -EINVAL;
	}
	if (flush_usecs < 1 || flush_usecs > USEC_PER_SEC) {
		pr_err("flush_usecs=%u is out of range 1-1000000\n", flush_usecs);
		return -EINVAL;
	}
	return 0;
}

/* A message taken from the batch, to be sent without the lock. */
struct outgoing {
	struct sk_buff *message;
	unsigned int count;
	u32 lost;
	u32 portid;
};

static struct doppel_net *batch_net(struct doppel_batch *batch)
{
	return container_of(batch, struct doppel_net, batch);
}

static size_t summary_size(unsigned int headers, unsigned int prefix)
{
	return nla_total_size(0) + nla_total_size(headers) +
	       2 * nla_total_size(sizeof(u32)) +
	       (prefix ? nla_total_size(prefix) : 0);
}

static size_t message_size(u16 payload_prefix)
{
	size_t size = nla_total_size(sizeof(u32)) +
		      batch_size * summary_size(DOPPEL_HEADERS_MAX, payload_prefix);

	return min_t(size_t, size, DOPPEL_MESSAGE_BYTES_MAX - NLMSG_HDRLEN - GENL_HDRLEN);
}

static void take_message(struct doppel_batch *batch, struct outgoing *out)
{
	lockdep_assert_held(&batch->lock);
	out->message = batch->message;
	out->count = batch->message_count;
	out->lost = batch->message_lost;
	out->portid = batch->portid;
	batch->message = NULL;
	batch->message_count = 0;
	batch->message_lost = 0;
}

static void drop_message(struct doppel_batch *batch)
{
	lockdep_assert_held(&batch->lock);
	if (!batch->message)
		return;
	atomic64_add(batch->message_count, &batch_net(batch)->stats.no_listener);
	nlmsg_free(batch->message);
	batch->message = NULL;
	batch->message_count = 0;
	batch->message_lost = 0;
}

static void send_message(struct doppel_batch *batch, struct outgoing *out)
{
	struct doppel_net *dn = batch_net(batch);
	int ret;

	if (!out->message)
		return;
	nlmsg_end(out->message, nlmsg_hdr(out->message));
	/* Consumes the message whatever happens. */
	ret = genlmsg_unicast(dn->net, out->message, out->portid);
	if (!ret) {
		atomic64_add(out->count, &dn->stats.summaries);
		atomic64_inc(&dn->stats.batches);
		return;
	}
	if (ret == -ENOMEM)
		atomic64_add(out->count, &dn->stats.lost_nomem);
	else
		atomic64_add(out->count, &dn->stats.lost_full);

	spin_lock_bh(&batch->lock);
	batch->lost += out->lost + out->count;
	/* The port is gone: its socket closed before we heard of it. */
	if (ret == -ECONNREFUSED && batch->portid == out->portid) {
		drop_message(batch);
		batch->portid = 0;
	}
	spin_unlock_bh(&batch->lock);
}

static int start_message(struct doppel_batch *batch)
{
	struct sk_buff *message;
	void *header;

	lockdep_assert_held(&batch->lock);
	message = genlmsg_new(message_size(batch->payload_prefix), GFP_ATOMIC);
	if (!message)
		return -ENOMEM;
	header = genlmsg_put(message, 0, 0, &doppel_genl_family, 0,
			     DOPPEL_CMD_SUMMARIES);
	if (!header || nla_put_u32(message, DOPPEL_A_LOST, batch->lost)) {
		nlmsg_free(message);
		return -ENOMEM;
	}
	batch->message = message;
	batch->message_count = 0;
	batch->message_lost = batch->lost;
	batch->lost = 0;
	hrtimer_start(&batch->timer, ns_to_ktime((u64)flush_usecs * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_SOFT);
	return 0;
}

/* IPv6 goes out as its fixed header alone, so userspace never walks
 * extension headers: next header TCP, payload length to match.
 */
static int copy_ipv6_header(const struct doppel_flow *flow, u8 *to)
{
	struct ipv6hdr *ip6h = (struct ipv6hdr *)to;
	u32 length = flow->tcp_length + flow->payload_length;
	int ret;

	ret = skb_copy_bits(flow->skb, flow->network_offset, to, sizeof(*ip6h));
	if (ret)
		return ret;
	ip6h->nexthdr = IPPROTO_TCP;
	ip6h->payload_len = length > U16_MAX ? 0 : htons(length);
	return 0;
}

static int put_headers(struct sk_buff *message, const struct doppel_flow *flow)
{
	struct nlattr *attr;
	u8 *to;
	int ret;

	attr = nla_reserve(message, DOPPEL_A_SUMMARY_HEADERS,
			   flow->ip_length + flow->tcp_length);
	if (!attr)
		return -EMSGSIZE;
	to = nla_data(attr);
	if (flow->family == AF_INET6)
		ret = copy_ipv6_header(flow, to);
	else
		ret = skb_copy_bits(flow->skb, flow->network_offset, to,
				    flow->ip_length);
	if (ret)
		return ret;
	return skb_copy_bits(flow->skb, flow->tcp_offset, to + flow->ip_length,
			     flow->tcp_length);
}

static int put_payload(struct sk_buff *message, const struct doppel_flow *flow,
		       unsigned int prefix)
{
	unsigned int length = min_t(u32, prefix, flow->payload_length);
	struct nlattr *attr;

	if (!length)
		return 0;
	attr = nla_reserve(message, DOPPEL_A_SUMMARY_PAYLOAD, length);
	if (!attr)
		return -EMSGSIZE;
	return skb_copy_bits(flow->skb, flow->tcp_offset + flow->tcp_length,
			     nla_data(attr), length);
}

static int put_summary(struct sk_buff *message, const struct doppel_flow *flow,
		       unsigned int prefix)
{
	struct nlattr *nest;
	int ret;

	nest = nla_nest_start(message, DOPPEL_A_SUMMARY);
	if (!nest)
		return -EMSGSIZE;
	ret = put_headers(message, flow);
	if (!ret)
		ret = nla_put_u32(message, DOPPEL_A_SUMMARY_PAYLOAD_LEN, flow->payload_length);
	if (!ret)
		ret = nla_put_u32(message, DOPPEL_A_SUMMARY_FLAGS, flow->flags);
	if (!ret)
		ret = put_payload(message, flow, prefix);
	if (ret) {
		nla_nest_cancel(message, nest);
		return ret;
	}
	nla_nest_end(message, nest);
	return 0;
}

void doppel_batch_add(struct doppel_net *dn, const struct doppel_flow *flow)
{
	struct doppel_batch *batch = &dn->batch;
	struct outgoing full = { }, filled = { };
	size_t needed;
	int ret;

	spin_lock_bh(&batch->lock);
	if (!batch->portid) {
		spin_unlock_bh(&batch->lock);
		atomic64_inc(&dn->stats.no_listener);
		return;
	}
	needed = summary_size(flow->ip_length + flow->tcp_length,
			      min_t(u32, batch->payload_prefix, flow->payload_length));
	if (batch->message && skb_tailroom(batch->message) < needed)
		take_message(batch, &full);
	if (!batch->message && start_message(batch)) {
		batch->lost++;
		spin_unlock_bh(&batch->lock);
		atomic64_inc(&dn->stats.lost_nomem);
		send_message(batch, &full);
		return;
	}
	ret = put_summary(batch->message, flow, batch->payload_prefix);
	/* A summary that could not be copied (the skb shorter than its
	 * headers said, or no room left) is a summary lost, not a malformed
	 * packet: the hook already matched and dropped it. The listener
	 * hears of it in the next message's DOPPEL_A_LOST.
	 */
	if (!ret)
		batch->message_count++;
	else
		batch->lost++;
	if (batch->message_count >= batch_size)
		take_message(batch, &filled);
	spin_unlock_bh(&batch->lock);

	if (ret)
		atomic64_inc(&dn->stats.lost_copy);
	send_message(batch, &full);
	send_message(batch, &filled);
}

static enum hrtimer_restart batch_timer(struct hrtimer *timer)
{
	struct doppel_batch *batch = container_of(timer, struct doppel_batch, timer);
	struct outgoing out = { };

	spin_lock_bh(&batch->lock);
	if (batch->message && !batch->message_count) {
		/* Started for a summary that could not be copied: nothing to
		 * send, and the next message must start its own timer. The
		 * loss count it carried goes back to the batch.
		 */
		batch->lost += batch->message_lost;
		nlmsg_free(batch->message);
		batch->message = NULL;
		batch->message_lost = 0;
	} else if (batch->message) {
		take_message(batch, &out);
	}
	spin_unlock_bh(&batch->lock);
	send_message(batch, &out);
	return HRTIMER_NORESTART;
}

void doppel_batch_init(struct doppel_batch *batch)
{
	spin_lock_init(&batch->lock);
	hrtimer_setup(&batch->timer, batch_timer, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL_SOFT);
}

void doppel_batch_uninit(struct doppel_batch *batch)
{
	hrtimer_cancel(&batch->timer);
	spin_lock_bh(&batch->lock);
	drop_message(batch);
	batch->portid = 0;
	spin_unlock_bh(&batch->lock);
}

int doppel_batch_attach(struct doppel_batch *batch, u32 portid, u16 payload_prefix)
{
	int ret = 0;

	spin_lock_bh(&batch->lock);
	if (batch->portid && batch->portid != portid) {
		ret = -EBUSY;
	} else {
		batch->portid = portid;
		batch->payload_prefix = payload_prefix;
	}
	spin_unlock_bh(&batch->lock);
	return ret;
}

int doppel_batch_detach(struct doppel_batch *batch, u32 portid)
{
	int ret = 0;

	spin_lock_bh(&batch->lock);
	if (!batch->portid || batch->portid != portid) {
		ret = -ENOENT;
	} else {
		drop_message(batch);
		batch->portid = 0;
		batch->payload_prefix = 0;
		batch->lost = 0;
	}
	spin_unlock_bh(&batch->lock);
	return ret;
}

void doppel_batch_listener(struct doppel_batch *batch, u32 *portid, u16 *payload_prefix)
{
	spin_lock_bh(&batch->lock);
	*portid = batch->portid;
	*payload_prefix = batch->payload_prefix;
	spin_unlock_bh(&batch->lock);
}
