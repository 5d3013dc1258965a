/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The namespace's listener and the summaries on their way to it.
 */
#ifndef DOPPEL_BATCH_H
#define DOPPEL_BATCH_H

#include <linux/hrtimer.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct doppel_flow;
struct doppel_net;
struct net;

struct doppel_batch {
	/* Taken from the packet path, softirq or process context: _bh. */
	spinlock_t lock;
	u32 portid;		/* the listener's port, 0 when none */
	u16 payload_prefix;	/* the listener's payload bytes per summary */
	struct sk_buff *message;	/* being filled, or NULL */
	unsigned int message_count;	/* summaries in it */
	u32 message_lost;	/* the DOPPEL_A_LOST value written in it */
	u32 lost;		/* lost since then, not yet reported */
	struct hrtimer timer;	/* sends a message that does not fill up */
};

int doppel_batch_params_check(void);
void doppel_batch_init(struct doppel_batch *batch);
/* Only once the hooks that add to it are unregistered. */
void doppel_batch_uninit(struct doppel_batch *batch);

int doppel_batch_attach(struct doppel_batch *batch, u32 portid, u16 payload_prefix);
int doppel_batch_detach(struct doppel_batch *batch, u32 portid);
void doppel_batch_listener(struct doppel_batch *batch, u32 *portid, u16 *payload_prefix);

/* Summarize a matched packet for the listener; counts what it cannot. */
void doppel_batch_add(struct doppel_net *dn, const struct doppel_flow *flow);

#endif /* DOPPEL_BATCH_H */
