/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Doppel's state in one network namespace.
 */
#ifndef DOPPEL_NETNS_H
#define DOPPEL_NETNS_H

#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <net/net_namespace.h>

#include "batch.h"

struct doppel_rules;

struct doppel_stats {
	atomic64_t matched;
	atomic64_t summaries;
	atomic64_t batches;
	atomic64_t lost_full;
	atomic64_t lost_nomem;
	atomic64_t no_listener;
	atomic64_t malformed;
	atomic64_t fragments;
	atomic64_t lost_copy;
};

struct doppel_net {
	struct net *net;
	/* Serializes rule changes and hook registration (process context). */
	struct mutex lock;
	struct doppel_rules __rcu *rules;
	/* DOPPEL_HOOK_* bits whose netfilter hooks are registered. */
	unsigned int hooks_registered;
	/* The listener and the summaries waiting for it; has its own lock,
	 * taken from the packet path.
	 */
	struct doppel_batch batch;
	struct doppel_stats stats;
};

struct doppel_net *doppel_net(const struct net *net);

int doppel_netns_init(void);
void doppel_netns_uninit(void);

#endif /* DOPPEL_NETNS_H */
