/*
 * nl_attr.h — the one netlink attribute walk of doppel-intercept's sources
 * (NFQUEUE packets in nfqueue_msg.c, doppel.ko summaries in source_kmod.c,
 * the extended ack and the family lookup in kmod_netlink.c),
 * with bounds that end at the message's real length.
 *
 * libmnl's mnl_attr_parse() and mnl_attr_for_each() walk to the message's
 * *aligned* length (mnl_nlmsg_get_payload_tail), so an attribute, even its
 * header, may reach up to 3 bytes past nlmsg_len: bytes that are not the
 * message's (past the datagram, or a stale one's). The kernel does not pad
 * the last attribute (NFQA_PAYLOAD), so nlmsg_len is often unaligned.
 * Fuzzing found that read in both sources. This walk hands libmnl's
 * mnl_attr_for_each_payload() the exact length instead, and reports an
 * attribute cut by the end (which libmnl's walk would silently stop at)
 * as an error of its own.
 */
#ifndef DOPPEL_NL_ATTR_H
#define DOPPEL_NL_ATTR_H

#include <stddef.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

enum nl_attr_walk_result {
	NL_ATTR_OK = 0,
	NL_ATTR_REFUSED = -1,	/* the callback returned MNL_CB_ERROR */
	NL_ATTR_CUT = -2,	/* an attribute runs past the end (or the
				 * message is shorter than its fixed header) */
};

/* Call cb for each attribute in len bytes at payload, in order, each one
 * whole inside them. MNL_CB_STOP from cb ends the walk with NL_ATTR_OK. */
int nl_attr_walk(const void *payload, size_t len, mnl_attr_cb_t cb, void *data);
/* The attributes of a message, after its header_len bytes of family header
 * (struct nfgenmsg, struct genlmsghdr), up to nlmsg_len. */
int nl_attr_walk_msg(const struct nlmsghdr *nlh, size_t header_len, mnl_attr_cb_t cb,
		     void *data);
/* The attributes nested in nest (which the caller found whole). */
int nl_attr_walk_nested(const struct nlattr *nest, mnl_attr_cb_t cb, void *data);

#endif
