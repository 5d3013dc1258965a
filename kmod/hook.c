// SPDX-License-Identifier: GPL-2.0
/*
 * The netfilter hooks: find the TCP source of each packet, match
 * it against the rules, and drop what matches after summarizing it.
 *
 * Priority: NF_IP_PRI_CONNTRACK_DEFRAG - 1, so the hook runs before
 * defragmentation, conntrack and every table but a raw table an admin put
 * before defrag on purpose. A swallowed packet leaves no conntrack entry.
 * Running before defrag means fragments arrive one by one: the first one
 * carries the TCP header and is matched like any packet; later ones carry
 * no ports and are let through, to expire in the defrag queue since their
 * first fragment never arrives.
 *
 * Every header is read with skb_header_pointer(): at LOCAL_OUT a raw socket
 * with IP_HDRINCL can hand us nearly any bytes, and skbs may be non-linear.
 */

#include <linux/bits.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <uapi/doppel.h>

#include "batch.h"
#include "flow.h"
#include "hook.h"
#include "netns.h"
#include "rules.h"

static bool read_source_port(const struct sk_buff *skb, struct doppel_flow *flow,
			     struct doppel_stats *stats)
{
	__be16 buffer[2];
	const __be16 *ports;

	ports = skb_header_pointer(skb, flow->tcp_offset, sizeof(buffer), buffer);
	if (!ports) {
		atomic64_inc(&stats->malformed);
		return false;
	}
	flow->sport = ports[0];
	return true;
}

static bool parse_ipv4(const struct sk_buff *skb, struct doppel_flow *flow,
		       struct doppel_stats *stats)
{
	unsigned int offset = skb_network_offset(skb);
	const struct iphdr *iph;
	struct iphdr buffer;

	iph = skb_header_pointer(skb, offset, sizeof(buffer), &buffer);
	/* ihl below 5 only comes from a raw socket; no stack would take it. */
	if (!iph || iph->protocol != IPPROTO_TCP || iph->ihl < 5)
		return false;
	if (iph->frag_off & htons(IP_OFFSET)) {
		atomic64_inc(&stats->fragments);
		return false;
	}
	if (iph->frag_off & htons(IP_MF))
		flow->flags |= DOPPEL_SUMMARY_F_FRAGMENT;
	flow->family = AF_INET;
	flow->saddr.ip = iph->saddr;
	flow->network_offset = offset;
	flow->ip_length = iph->ihl * 4;
	flow->tcp_offset = offset + flow->ip_length;
	return read_source_port(skb, flow, stats);
}

static bool parse_ipv6(const struct sk_buff *skb, struct doppel_flow *flow,
		       struct doppel_stats *stats)
{
	unsigned int offset = skb_network_offset(skb);
	const struct ipv6hdr *ip6h;
	struct ipv6hdr buffer;
	__be16 frag_off;
	u8 nexthdr;
	int tcp_offset;

	ip6h = skb_header_pointer(skb, offset, sizeof(buffer), &buffer);
	if (!ip6h)
		return false;
	nexthdr = ip6h->nexthdr;
	tcp_offset = ipv6_skip_exthdr(skb, offset + sizeof(*ip6h), &nexthdr, &frag_off);
	if (tcp_offset < 0)
		return false;
	/* A later fragment stops the walk with nexthdr still "fragment". */
	if (frag_off & htons(IP6_OFFSET)) {
		atomic64_inc(&stats->fragments);
		return false;
	}
	if (nexthdr != IPPROTO_TCP)
		return false;
	if (frag_off & htons(IP6_MF))
		flow->flags |= DOPPEL_SUMMARY_F_FRAGMENT;
	flow->family = AF_INET6;
	flow->saddr.ip6 = ip6h->saddr;
	flow->network_offset = offset;
	flow->ip_length = sizeof(*ip6h);
	flow->tcp_offset = tcp_offset;
	return read_source_port(skb, flow, stats);
}

/* The whole TCP header must be there to summarize the packet. */
static bool read_tcp_length(const struct sk_buff *skb, struct doppel_flow *flow)
{
	const struct tcphdr *th;
	struct tcphdr buffer;
	unsigned int length;

	th = skb_header_pointer(skb, flow->tcp_offset, sizeof(buffer), &buffer);
	if (!th || th->doff < 5)
		return false;
	length = th->doff * 4;
	if (flow->tcp_offset + length > skb->len)
		return false;
	flow->tcp_length = length;
	flow->payload_length = skb->len - flow->tcp_offset - length;
	return true;
}

/*
 * At LOCAL_OUT the sender is a local socket, and NF_DROP would fail its
 * transmit with -EPERM: TCP would keep the response unsent, retry it under
 * backoff, and refuse as "ack of unsent data" the acknowledgements
 * doppel-copy sends for it. Consumed and reported as stolen, the response
 * counts as sent, as if lost on the wire, and is acknowledged normally.
 */
static unsigned int swallow(struct sk_buff *skb, u8 hook)
{
	if (hook != DOPPEL_HOOK_LOCAL_OUT)
		return NF_DROP;
	consume_skb(skb);
	return NF_STOLEN;
}

static unsigned int doppel_hook(void *priv, struct sk_buff *skb,
				const struct nf_hook_state *state)
{
	struct doppel_net *dn = doppel_net(state->net);
	struct doppel_flow flow = { .skb = skb };
	const struct doppel_rules *rules;
	bool parsed;

	flow.hook = state->hook == NF_INET_LOCAL_OUT ?
		    DOPPEL_HOOK_LOCAL_OUT : DOPPEL_HOOK_PRE_ROUTING;
	/* Netfilter calls hooks inside rcu_read_lock(). */
	rules = rcu_dereference(dn->rules);
	if (!rules || !(rules->hooks & BIT(flow.hook)))
		return NF_ACCEPT;
	if (flow.hook == DOPPEL_HOOK_LOCAL_OUT)
		flow.flags |= DOPPEL_SUMMARY_F_LOCAL_OUT;
	if (state->pf == NFPROTO_IPV4)
		parsed = parse_ipv4(skb, &flow, &dn->stats);
	else
		parsed = parse_ipv6(skb, &flow, &dn->stats);
	if (!parsed || !doppel_rules_match(rules, &flow))
		return NF_ACCEPT;

	/* Matched: it is swallowed from here on, summarized or not. */
	atomic64_inc(&dn->stats.matched);
	if (read_tcp_length(skb, &flow))
		doppel_batch_add(dn, &flow);
	else
		atomic64_inc(&dn->stats.malformed);
	return swallow(skb, flow.hook);
}

#define DOPPEL_HOOK_OPS(_hooknum, _pf, _priority) {	\
	.hook = doppel_hook,				\
	.pf = (_pf),					\
	.hooknum = (_hooknum),				\
	.priority = (_priority),			\
}

static const struct nf_hook_ops doppel_hook_ops[__DOPPEL_HOOK_MAX][2] = {
	[DOPPEL_HOOK_PRE_ROUTING] = {
		DOPPEL_HOOK_OPS(NF_INET_PRE_ROUTING, NFPROTO_IPV4,
				NF_IP_PRI_CONNTRACK_DEFRAG - 1),
		DOPPEL_HOOK_OPS(NF_INET_PRE_ROUTING, NFPROTO_IPV6,
				NF_IP6_PRI_CONNTRACK_DEFRAG - 1),
	},
	[DOPPEL_HOOK_LOCAL_OUT] = {
		DOPPEL_HOOK_OPS(NF_INET_LOCAL_OUT, NFPROTO_IPV4,
				NF_IP_PRI_CONNTRACK_DEFRAG - 1),
		DOPPEL_HOOK_OPS(NF_INET_LOCAL_OUT, NFPROTO_IPV6,
				NF_IP6_PRI_CONNTRACK_DEFRAG - 1),
	},
};

int doppel_hooks_add(struct doppel_net *dn, unsigned int wanted)
{
	unsigned int hook;
	int ret;

	lockdep_assert_held(&dn->lock);
	for (hook = 0; hook < __DOPPEL_HOOK_MAX; hook++) {
		if (!(wanted & BIT(hook)) || (dn->hooks_registered & BIT(hook)))
			continue;
		ret = nf_register_net_hooks(dn->net, doppel_hook_ops[hook],
					    ARRAY_SIZE(doppel_hook_ops[hook]));
		if (ret)
			return ret;
		dn->hooks_registered |= BIT(hook);
	}
	return 0;
}

void doppel_hooks_trim(struct doppel_net *dn, unsigned int wanted)
{
	unsigned int hook;

	lockdep_assert_held(&dn->lock);
	for (hook = 0; hook < __DOPPEL_HOOK_MAX; hook++) {
		if ((wanted & BIT(hook)) || !(dn->hooks_registered & BIT(hook)))
			continue;
		nf_unregister_net_hooks(dn->net, doppel_hook_ops[hook],
					ARRAY_SIZE(doppel_hook_ops[hook]));
		dn->hooks_registered &= ~BIT(hook);
	}
}
