/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * doppel.h — the generic netlink family "doppel", shared by doppel.ko
 * (kmod/) and doppel-intercept's kmod source (intercept/source/source_kmod.c).
 *
 * doppel.ko swallows a test server's responses: a netfilter hook takes every
 * TCP packet that matches one of a small set of rules, and sends a summary of
 * it (IP and TCP headers, payload length, optionally the first bytes of
 * payload) to the one listener attached in that network namespace. At
 * PRE_ROUTING the packet is dropped; at LOCAL_OUT it is consumed as if sent,
 * so the local TCP stack counts it as transmitted.
 *
 * Every command needs CAP_NET_ADMIN in the initial user namespace
 * (GENL_ADMIN_PERM: netlink_capable(), not the netns-local
 * GENL_UNS_ADMIN_PERM; a container's root without it is refused, on
 * purpose, as the module swallows traffic) and acts on the network
 * namespace of the socket that sent it only. Errors come back as netlink
 * errors with an extended ack message naming what was wrong.
 *
 * DOPPEL_CMD_ATTACH
 *   Makes the sender's netlink port the namespace's listener. Only one
 *   listener per namespace: a second ATTACH from another port gets -EBUSY.
 *   The listener is detached by DOPPEL_CMD_DETACH, by closing its socket, or
 *   when the kernel finds its port gone.
 *     DOPPEL_A_VERSION: u32, must equal DOPPEL_GENL_VERSION (required)
 *     DOPPEL_A_PAYLOAD_PREFIX: u16, payload bytes to copy after the TCP
 *       header (optional, 0; at most the module parameter max_payload_prefix)
 *
 * DOPPEL_CMD_DETACH
 *   Detaches the listener (only the listener's own port may). No attributes.
 *
 * DOPPEL_CMD_SET_RULES
 *   Replaces the namespace's whole rule set, atomically: packets see the old
 *   set or the new one, never a mix. An empty DOPPEL_A_RULES clears it.
 *     DOPPEL_A_RULES: nest
 *       DOPPEL_A_RULE: nest, repeated (at most the module parameter max_rules)
 *         DOPPEL_A_RULE_HOOK: u8, enum doppel_hook (optional, PRE_ROUTING)
 *         DOPPEL_A_RULE_ADDR4: be32, IPv4 source address to match, or
 *         DOPPEL_A_RULE_ADDR6: 16 bytes, IPv6 source address to match
 *         DOPPEL_A_RULE_PORT: u16 (host order), TCP source port to match
 *       A rule has a port, an address, or both; neither is refused (it
 *       would swallow every TCP packet). Without an address the rule applies
 *       to IPv4 and IPv6.
 *   Rules match the packet's SOURCE address and port: they describe the
 *   server whose responses are swallowed.
 *
 * DOPPEL_CMD_GET_RULES
 *   Answers with DOPPEL_A_RULES as SET_RULES takes it.
 *
 * DOPPEL_CMD_GET_STATS
 *   Answers with the namespace's counters:
 *     DOPPEL_A_STATS: nest of u64 attributes, enum doppel_stat_attr
 *     DOPPEL_A_LISTENER: u32, the listener's port id (0: none attached)
 *     DOPPEL_A_PAYLOAD_PREFIX: u16, the listener's payload prefix
 *
 * DOPPEL_CMD_SUMMARIES (kernel to listener, unicast, never requested)
 *   One batch of summaries, in the order the hook saw the packets.
 *     DOPPEL_A_LOST: u32, summaries lost since the previous batch that
 *       reached the listener (socket full, no memory, not copied)
 *     DOPPEL_A_SUMMARY: nest, repeated
 *       DOPPEL_A_SUMMARY_HEADERS: binary, the IP header (IPv4 with its
 *         options; IPv6 as the fixed 40-byte header with next header set to
 *         TCP and payload length set to TCP header plus payload, extension
 *         headers left out) followed by the TCP header with its options
 *       DOPPEL_A_SUMMARY_PAYLOAD_LEN: u32, TCP payload bytes of the packet
 *         (authoritative: GSO packets at LOCAL_OUT exceed one segment)
 *       DOPPEL_A_SUMMARY_PAYLOAD: binary, the first bytes of payload, up to
 *         the listener's payload prefix (absent when 0 bytes)
 *       DOPPEL_A_SUMMARY_FLAGS: u32, DOPPEL_SUMMARY_F_*
 *
 * Fragments: the hook runs before defragmentation. A first fragment carrying
 * a whole TCP header is matched and summarized (DOPPEL_SUMMARY_F_FRAGMENT,
 * payload length of that fragment only); later fragments carry no ports, so
 * they are let through, and with their first fragment dropped they never
 * reassemble.
 */
#ifndef _UAPI_DOPPEL_H
#define _UAPI_DOPPEL_H

#include <linux/types.h>

#define DOPPEL_GENL_NAME "doppel"
#define DOPPEL_GENL_VERSION 1

enum doppel_cmd {
	DOPPEL_CMD_UNSPEC,
	DOPPEL_CMD_ATTACH,
	DOPPEL_CMD_DETACH,
	DOPPEL_CMD_SET_RULES,
	DOPPEL_CMD_GET_RULES,
	DOPPEL_CMD_GET_STATS,
	DOPPEL_CMD_SUMMARIES,
	__DOPPEL_CMD_MAX
};

#define DOPPEL_CMD_MAX (__DOPPEL_CMD_MAX - 1)

enum doppel_attr {
	DOPPEL_A_UNSPEC,
	DOPPEL_A_VERSION,
	DOPPEL_A_PAYLOAD_PREFIX,
	DOPPEL_A_RULES,
	DOPPEL_A_STATS,
	DOPPEL_A_LISTENER,
	DOPPEL_A_LOST,
	DOPPEL_A_SUMMARY,
	__DOPPEL_A_MAX
};

#define DOPPEL_A_MAX (__DOPPEL_A_MAX - 1)

enum doppel_rules_attr {
	DOPPEL_A_RULES_UNSPEC,
	DOPPEL_A_RULE,
	__DOPPEL_A_RULES_MAX
};

#define DOPPEL_A_RULES_MAX (__DOPPEL_A_RULES_MAX - 1)

enum doppel_rule_attr {
	DOPPEL_A_RULE_UNSPEC,
	DOPPEL_A_RULE_HOOK,
	DOPPEL_A_RULE_ADDR4,
	DOPPEL_A_RULE_ADDR6,
	DOPPEL_A_RULE_PORT,
	__DOPPEL_A_RULE_MAX
};

#define DOPPEL_A_RULE_MAX (__DOPPEL_A_RULE_MAX - 1)

enum doppel_hook {
	DOPPEL_HOOK_PRE_ROUTING,	/* assistant: responses arriving */
	DOPPEL_HOOK_LOCAL_OUT,		/* target: responses leaving */
	__DOPPEL_HOOK_MAX
};

#define DOPPEL_HOOK_MAX (__DOPPEL_HOOK_MAX - 1)

enum doppel_stat_attr {
	DOPPEL_A_STAT_UNSPEC,
	DOPPEL_A_STAT_PAD,
	DOPPEL_A_STAT_MATCHED,		/* packets matched and dropped */
	DOPPEL_A_STAT_SUMMARIES,	/* summaries delivered to the listener */
	DOPPEL_A_STAT_BATCHES,		/* DOPPEL_CMD_SUMMARIES messages delivered */
	DOPPEL_A_STAT_LOST_FULL,	/* summaries lost: listener socket full */
	DOPPEL_A_STAT_LOST_NOMEM,	/* summaries lost: no memory */
	DOPPEL_A_STAT_NO_LISTENER,	/* matched while no listener was attached */
	DOPPEL_A_STAT_MALFORMED,	/* TCP packets too short to match or summarize */
	DOPPEL_A_STAT_FRAGMENTS,	/* non-first fragments let through */
	DOPPEL_A_STAT_RULES,		/* rules in the current set */
	DOPPEL_A_STAT_LOST_COPY,	/* summaries lost: packet not copied */
	__DOPPEL_A_STAT_MAX
};

#define DOPPEL_A_STAT_MAX (__DOPPEL_A_STAT_MAX - 1)

enum doppel_summary_attr {
	DOPPEL_A_SUMMARY_UNSPEC,
	DOPPEL_A_SUMMARY_HEADERS,
	DOPPEL_A_SUMMARY_PAYLOAD_LEN,
	DOPPEL_A_SUMMARY_PAYLOAD,
	DOPPEL_A_SUMMARY_FLAGS,
	__DOPPEL_A_SUMMARY_MAX
};

#define DOPPEL_A_SUMMARY_MAX (__DOPPEL_A_SUMMARY_MAX - 1)

/* DOPPEL_A_SUMMARY_FLAGS bits. */
#define DOPPEL_SUMMARY_F_FRAGMENT	0x1	/* a first fragment */
#define DOPPEL_SUMMARY_F_LOCAL_OUT	0x2	/* seen at LOCAL_OUT */

/* Largest DOPPEL_A_SUMMARY_HEADERS: IPv4 with options, TCP with options. */
#define DOPPEL_HEADERS_MAX (60 + 60)
/* Largest payload prefix the module can be configured to copy. */
#define DOPPEL_PAYLOAD_PREFIX_MAX 4096

#endif /* _UAPI_DOPPEL_H */
