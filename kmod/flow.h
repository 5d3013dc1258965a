/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the hook learned about one packet, for matching and for
 * its summary. Offsets count from skb->data, which sits at the network
 * header at PRE_ROUTING and LOCAL_OUT.
 */
#ifndef DOPPEL_FLOW_H
#define DOPPEL_FLOW_H

#include <linux/in6.h>
#include <linux/skbuff.h>
#include <linux/types.h>

union doppel_addr {
	__be32 ip;
	struct in6_addr ip6;
};

struct doppel_flow {
	const struct sk_buff *skb;
	u8 family;			/* AF_INET or AF_INET6 */
	u8 hook;			/* DOPPEL_HOOK_* */
	u32 flags;			/* DOPPEL_SUMMARY_F_* */
	union doppel_addr saddr;
	__be16 sport;
	unsigned int network_offset;	/* the IP header */
	unsigned int ip_length;		/* IPv4 header with options; IPv6 40 */
	unsigned int tcp_offset;	/* the TCP header, past IPv6 extensions */
	unsigned int tcp_length;	/* data offset * 4, once read */
	u32 payload_length;		/* once the TCP header is read */
};

#endif /* DOPPEL_FLOW_H */
