// SPDX-License-Identifier: GPL-2.0
/*
 * Per network namespace state, made and torn down with the
 * namespace (pernet operations), as nfnetlink_queue does.
 */

#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "batch.h"
#include "netns.h"
#include "rules.h"

static unsigned int doppel_net_id __read_mostly;

struct doppel_net *doppel_net(const struct net *net)
{
	return net_generic(net, doppel_net_id);
}

static int __net_init doppel_net_init(struct net *net)
{
	struct doppel_net *dn = doppel_net(net);

	/* net_generic() storage comes zeroed: counters start at 0. */
	dn->net = net;
	mutex_init(&dn->lock);
	RCU_INIT_POINTER(dn->rules, NULL);
	doppel_batch_init(&dn->batch);
	return 0;
}

/* Hooks first, so nothing adds to the batch while it is emptied.
 * The debug line says what the exit released and what it left (nothing,
 * when it works): the kmod tests turn it on to see a namespace's exit run
 * and check it, since the exit is asynchronous to "ip netns del".
 */
static void __net_exit doppel_net_exit(struct net *net)
{
	struct doppel_net *dn = doppel_net(net);
	struct doppel_rules *rules;
	unsigned int count, hooks_left;
	bool rules_left;

	mutex_lock(&dn->lock);
	rules = rcu_dereference_protected(dn->rules, lockdep_is_held(&dn->lock));
	count = rules ? rules->count : 0;
	doppel_rules_clear(dn);
	hooks_left = dn->hooks_registered;
	rules_left = !!rcu_access_pointer(dn->rules);
	mutex_unlock(&dn->lock);
	doppel_batch_uninit(&dn->batch);
	pr_debug("namespace exit: %u rules released, hooks left %#x, rules left %d\n",
		 count, hooks_left, rules_left);
}

static struct pernet_operations doppel_net_ops = {
	.init = doppel_net_init,
	.exit = doppel_net_exit,
	.id = &doppel_net_id,
	.size = sizeof(struct doppel_net),
};

int doppel_netns_init(void)
{
	return register_pernet_subsys(&doppel_net_ops);
}

void doppel_netns_uninit(void)
{
	unregister_pernet_subsys(&doppel_net_ops);
}
