// SPDX-License-Identifier: GPL-2.0
/*
 * The rule set: allocated whole, published with RCU, matched by a
 * linear scan (a handful of rules: the target's address and port).
 */

#include <linux/bits.h>
#include <linux/in6.h>
#include <linux/ipv6.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <net/ipv6.h>

#include "hook.h"
#include "netns.h"
#include "rules.h"

#define DOPPEL_RULES_LIMIT 4096

unsigned int doppel_max_rules = 64;
module_param_named(max_rules, doppel_max_rules, uint, 0444);
MODULE_PARM_DESC(max_rules, "Most rules in one namespace's set (1-4096, default 64)");

int doppel_rules_params_check(void)
{
	if (doppel_max_rules < 1 || doppel_max_rules > DOPPEL_RULES_LIMIT) {
		pr_err("max_rules=%u is out of range 1-%u\n",
		       doppel_max_rules, DOPPEL_RULES_LIMIT);
		return -EINVAL;
	}
	return 0;
}

struct doppel_rules *doppel_rules_alloc(unsigned int count)
{
	struct doppel_rules *rules;

	rules = kzalloc(struct_size(rules, rule, count), GFP_KERNEL);
	if (rules)
		rules->count = count;
	return rules;
}

static bool rule_matches(const struct doppel_rule *rule, const struct doppel_flow *flow)
{
	if (rule->hook != flow->hook)
		return false;
	if (rule->port && rule->port != flow->sport)
		return false;
	if (!rule->family)
		return true;
	if (rule->family != flow->family)
		return false;
	if (rule->family == AF_INET)
		return rule->addr.ip == flow->saddr.ip;
	return ipv6_addr_equal(&rule->addr.ip6, &flow->saddr.ip6);
}

bool doppel_rules_match(const struct doppel_rules *rules, const struct doppel_flow *flow)
{
	unsigned int i;

	for (i = 0; i < rules->count; i++) {
		if (rule_matches(&rules->rule[i], flow))
			return true;
	}
	return false;
}

static unsigned int rules_hooks(const struct doppel_rules *rules)
{
	unsigned int i, hooks = 0;

	for (i = 0; i < rules->count; i++)
		hooks |= BIT(rules->rule[i].hook);
	return hooks;
}

/*
 * Hooks for the new set go in before it is published and hooks only the old
 * set used come out after, so no packet a rule names slips through during
 * the change. nf_unregister_net_hooks() waits for packets in flight; the old
 * set is freed after a grace period since the hook may still be reading it.
 */
int doppel_rules_replace(struct doppel_net *dn, struct doppel_rules *rules)
{
	struct doppel_rules *old;
	int ret;

	lockdep_assert_held(&dn->lock);
	old = rcu_dereference_protected(dn->rules, lockdep_is_held(&dn->lock));
	rules->hooks = rules_hooks(rules);
	ret = doppel_hooks_add(dn, rules->hooks);
	if (ret) {
		doppel_hooks_trim(dn, old ? old->hooks : 0);
		kfree(rules);
		return ret;
	}
	rcu_assign_pointer(dn->rules, rules);
	doppel_hooks_trim(dn, rules->hooks);
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

void doppel_rules_clear(struct doppel_net *dn)
{
	struct doppel_rules *old;

	lockdep_assert_held(&dn->lock);
	doppel_hooks_trim(dn, 0);
	old = rcu_dereference_protected(dn->rules, lockdep_is_held(&dn->lock));
	RCU_INIT_POINTER(dn->rules, NULL);
	if (old)
		kfree_rcu(old, rcu);
}
