/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The set of rules naming the packets to swallow. Replaced whole,
 * read under RCU by the hook.
 */
#ifndef DOPPEL_RULES_H
#define DOPPEL_RULES_H

#include <linux/rcupdate.h>
#include <linux/types.h>

#include "flow.h"

struct doppel_net;

struct doppel_rule {
	u8 hook;		/* DOPPEL_HOOK_* */
	u8 family;		/* AF_INET, AF_INET6, or 0 for any address */
	__be16 port;		/* source port, 0 for any */
	union doppel_addr addr;	/* source address, when family is set */
};

struct doppel_rules {
	struct rcu_head rcu;
	unsigned int hooks;	/* BIT(DOPPEL_HOOK_*) used by some rule */
	unsigned int count;
	struct doppel_rule rule[];
};

extern unsigned int doppel_max_rules;

int doppel_rules_params_check(void);
struct doppel_rules *doppel_rules_alloc(unsigned int count);
bool doppel_rules_match(const struct doppel_rules *rules, const struct doppel_flow *flow);
/* Publish rules (ownership passes) and fit the hooks to them. Caller holds
 * dn->lock. On error the old set stays and rules is freed.
 */
int doppel_rules_replace(struct doppel_net *dn, struct doppel_rules *rules);
/* Namespace exit: unhook and free. Caller holds dn->lock. */
void doppel_rules_clear(struct doppel_net *dn);

#endif /* DOPPEL_RULES_H */
