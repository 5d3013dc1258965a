// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "doppel": attach and detach the
 * listener, set and read the rules, read the counters. The contract is
 * written out in include/uapi/doppel.h.
 *
 * Every command needs CAP_NET_ADMIN in the initial user namespace
 * (GENL_ADMIN_PERM) and acts on the network namespace of the socket that
 * sent it (netnsok).
 */

#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/netlink.h>
#include <linux/notifier.h>
#include <linux/rcupdate.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <uapi/doppel.h>

#include "batch.h"
#include "compat.h"
#include "netlink.h"
#include "netns.h"
#include "rules.h"

static unsigned int max_payload_prefix = 256;
module_param(max_payload_prefix, uint, 0444);
MODULE_PARM_DESC(max_payload_prefix,
		 "Most payload bytes a listener may ask for per summary (0-4096, default 256)");

int doppel_netlink_params_check(void)
{
	if (max_payload_prefix > DOPPEL_PAYLOAD_PREFIX_MAX) {
		pr_err("max_payload_prefix=%u is over %u\n", max_payload_prefix,
		       DOPPEL_PAYLOAD_PREFIX_MAX);
		return -EINVAL;
	}
	return 0;
}

static const struct nla_policy doppel_rule_policy[DOPPEL_A_RULE_MAX + 1] = {
	[DOPPEL_A_RULE_HOOK] = NLA_POLICY_MAX(NLA_U8, DOPPEL_HOOK_MAX),
	[DOPPEL_A_RULE_ADDR4] = NLA_POLICY_EXACT_LEN(sizeof(__be32)),
	[DOPPEL_A_RULE_ADDR6] = NLA_POLICY_EXACT_LEN(sizeof(struct in6_addr)),
	[DOPPEL_A_RULE_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
};

static const struct nla_policy doppel_rules_policy[DOPPEL_A_RULES_MAX + 1] = {
	[DOPPEL_A_RULE] = NLA_POLICY_NESTED(doppel_rule_policy),
};

/* What only the kernel sends is refused from userspace. */
static const struct nla_policy doppel_policy[DOPPEL_A_MAX + 1] = {
	[DOPPEL_A_VERSION] = { .type = NLA_U32 },
	[DOPPEL_A_PAYLOAD_PREFIX] = { .type = NLA_U16 },
	[DOPPEL_A_RULES] = NLA_POLICY_NESTED(doppel_rules_policy),
	[DOPPEL_A_STATS] = { .type = NLA_REJECT },
	[DOPPEL_A_LISTENER] = { .type = NLA_REJECT },
	[DOPPEL_A_LOST] = { .type = NLA_REJECT },
	[DOPPEL_A_SUMMARY] = { .type = NLA_REJECT },
};

static struct doppel_net *info_net(struct genl_info *info)
{
	return doppel_net(genl_info_net(info));
}

static int doppel_nl_attach(struct sk_buff *skb, struct genl_info *info)
{
	struct doppel_net *dn = info_net(info);
	u16 prefix = 0;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, DOPPEL_A_VERSION))
		return -EINVAL;
	if (nla_get_u32(info->attrs[DOPPEL_A_VERSION]) != DOPPEL_GENL_VERSION) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[DOPPEL_A_VERSION],
				    "doppel: unsupported protocol version");
		return -EPROTONOSUPPORT;
	}
	if (info->attrs[DOPPEL_A_PAYLOAD_PREFIX])
		prefix = nla_get_u16(info->attrs[DOPPEL_A_PAYLOAD_PREFIX]);
	if (prefix > max_payload_prefix) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[DOPPEL_A_PAYLOAD_PREFIX],
				    "doppel: payload prefix over the module's max_payload_prefix");
		return -ERANGE;
	}
	ret = doppel_batch_attach(&dn->batch, info->snd_portid, prefix);
	if (ret)
		NL_SET_ERR_MSG_MOD(info->extack,
				   "another listener is attached in this namespace");
	return ret;
}

static int doppel_nl_detach(struct sk_buff *skb, struct genl_info *info)
{
	int ret = doppel_batch_detach(&info_net(info)->batch, info->snd_portid);

	if (ret)
		NL_SET_ERR_MSG_MOD(info->extack, "this socket is not the listener");
	return ret;
}

static int parse_rule(const struct nlattr *attr, struct doppel_rule *rule,
		      struct netlink_ext_ack *extack)
{
	struct nlattr *tb[DOPPEL_A_RULE_MAX + 1];
	int ret;

	ret = nla_parse_nested(tb, DOPPEL_A_RULE_MAX, attr, doppel_rule_policy, extack);
	if (ret)
		return ret;
	if (tb[DOPPEL_A_RULE_ADDR4] && tb[DOPPEL_A_RULE_ADDR6]) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "doppel: a rule has one address, not two");
		return -EINVAL;
	}
	rule->hook = DOPPEL_HOOK_PRE_ROUTING;
	if (tb[DOPPEL_A_RULE_HOOK])
		rule->hook = nla_get_u8(tb[DOPPEL_A_RULE_HOOK]);
	if (tb[DOPPEL_A_RULE_ADDR4]) {
		rule->family = AF_INET;
		rule->addr.ip = nla_get_in_addr(tb[DOPPEL_A_RULE_ADDR4]);
	} else if (tb[DOPPEL_A_RULE_ADDR6]) {
		rule->family = AF_INET6;
		rule->addr.ip6 = nla_get_in6_addr(tb[DOPPEL_A_RULE_ADDR6]);
	}
	if (tb[DOPPEL_A_RULE_PORT])
		rule->port = htons(nla_get_u16(tb[DOPPEL_A_RULE_PORT]));
	if (!rule->family && !rule->port) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "doppel: a rule needs an address, a port or both");
		return -EINVAL;
	}
	return 0;
}

static struct doppel_rules *parse_rules(const struct nlattr *list,
					struct netlink_ext_ack *extack)
{
	struct doppel_rules *rules;
	const struct nlattr *attr;
	unsigned int count = 0;
	int remaining, ret;

	nla_for_each_nested(attr, list, remaining)
		count++;
	if (count > doppel_max_rules) {
		NL_SET_ERR_MSG_ATTR(extack, list, "doppel: more rules than the module's max_rules");
		return ERR_PTR(-E2BIG);
	}
	rules = doppel_rules_alloc(count);
	if (!rules)
		return ERR_PTR(-ENOMEM);
	count = 0;
	nla_for_each_nested(attr, list, remaining) {
		ret = parse_rule(attr, &rules->rule[count++], extack);
		if (ret) {
			kfree(rules);
			return ERR_PTR(ret);
		}
	}
	return rules;
}

static int doppel_nl_set_rules(struct sk_buff *skb, struct genl_info *info)
{
	struct doppel_net *dn = info_net(info);
	struct doppel_rules *rules;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, DOPPEL_A_RULES))
		return -EINVAL;
	rules = parse_rules(info->attrs[DOPPEL_A_RULES], info->extack);
	if (IS_ERR(rules))
		return PTR_ERR(rules);
	mutex_lock(&dn->lock);
	ret = doppel_rules_replace(dn, rules);
	mutex_unlock(&dn->lock);
	if (ret)
		NL_SET_ERR_MSG_MOD(info->extack, "cannot register the netfilter hooks");
	return ret;
}

static size_t rule_size(void)
{
	return nla_total_size(0) + nla_total_size(sizeof(u8)) +
	       nla_total_size(sizeof(struct in6_addr)) + nla_total_size(sizeof(u16));
}

static int put_rule(struct sk_buff *msg, const struct doppel_rule *rule)
{
	struct nlattr *nest = nla_nest_start(msg, DOPPEL_A_RULE);

	if (!nest || nla_put_u8(msg, DOPPEL_A_RULE_HOOK, rule->hook))
		return -EMSGSIZE;
	if (rule->family == AF_INET &&
	    nla_put_in_addr(msg, DOPPEL_A_RULE_ADDR4, rule->addr.ip))
		return -EMSGSIZE;
	if (rule->family == AF_INET6 &&
	    nla_put_in6_addr(msg, DOPPEL_A_RULE_ADDR6, &rule->addr.ip6))
		return -EMSGSIZE;
	if (rule->port && nla_put_u16(msg, DOPPEL_A_RULE_PORT, ntohs(rule->port)))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

static int put_rules(struct sk_buff *msg, const struct doppel_rules *rules)
{
	struct nlattr *nest = nla_nest_start(msg, DOPPEL_A_RULES);
	unsigned int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = 0; rules && i < rules->count; i++) {
		if (put_rule(msg, &rules->rule[i]))
			return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	return 0;
}

static int doppel_nl_get_rules(struct sk_buff *skb, struct genl_info *info)
{
	struct doppel_net *dn = info_net(info);
	const struct doppel_rules *rules;
	struct sk_buff *msg;
	void *header;
	int ret = -EMSGSIZE;

	msg = genlmsg_new(nla_total_size(0) + doppel_max_rules * rule_size(), GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	header = genlmsg_put_reply(msg, info, &doppel_genl_family, 0, DOPPEL_CMD_GET_RULES);
	if (!header)
		goto err;
	mutex_lock(&dn->lock);
	rules = rcu_dereference_protected(dn->rules, lockdep_is_held(&dn->lock));
	ret = put_rules(msg, rules);
	mutex_unlock(&dn->lock);
	if (ret)
		goto err;
	genlmsg_end(msg, header);
	return genlmsg_reply(msg, info);
err:
	nlmsg_free(msg);
	return ret;
}

static int put_stat(struct sk_buff *msg, int type, const atomic64_t *counter)
{
	return nla_put_u64_64bit(msg, type, atomic64_read(counter), DOPPEL_A_STAT_PAD);
}

static int put_stats(struct sk_buff *msg, struct doppel_net *dn)
{
	const struct doppel_stats *stats = &dn->stats;
	const struct doppel_rules *rules;
	struct nlattr *nest;
	u64 rule_count;

	rcu_read_lock();
	rules = rcu_dereference(dn->rules);
	rule_count = rules ? rules->count : 0;
	rcu_read_unlock();

	nest = nla_nest_start(msg, DOPPEL_A_STATS);
	if (!nest ||
	    put_stat(msg, DOPPEL_A_STAT_MATCHED, &stats->matched) ||
	    put_stat(msg, DOPPEL_A_STAT_SUMMARIES, &stats->summaries) ||
	    put_stat(msg, DOPPEL_A_STAT_BATCHES, &stats->batches) ||
	    put_stat(msg, DOPPEL_A_STAT_LOST_FULL, &stats->lost_full) ||
	    put_stat(msg, DOPPEL_A_STAT_LOST_NOMEM, &stats->lost_nomem) ||
	    put_stat(msg, DOPPEL_A_STAT_NO_LISTENER, &stats->no_listener) ||
	    put_stat(msg, DOPPEL_A_STAT_MALFORMED, &stats->malformed) ||
	    put_stat(msg, DOPPEL_A_STAT_FRAGMENTS, &stats->fragments) ||
	    put_stat(msg, DOPPEL_A_STAT_LOST_COPY, &stats->lost_copy) ||
	    nla_put_u64_64bit(msg, DOPPEL_A_STAT_RULES, rule_count, DOPPEL_A_STAT_PAD))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

static int doppel_nl_get_stats(struct sk_buff *skb, struct genl_info *info)
{
	struct doppel_net *dn = info_net(info);
	struct sk_buff *msg;
	u16 prefix;
	u32 portid;
	void *header;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	header = genlmsg_put_reply(msg, info, &doppel_genl_family, 0, DOPPEL_CMD_GET_STATS);
	doppel_batch_listener(&dn->batch, &portid, &prefix);
	if (!header || put_stats(msg, dn) ||
	    nla_put_u32(msg, DOPPEL_A_LISTENER, portid) ||
	    nla_put_u16(msg, DOPPEL_A_PAYLOAD_PREFIX, prefix)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, header);
	return genlmsg_reply(msg, info);
}

static const struct genl_small_ops doppel_genl_ops[] = {
	{
		.cmd = DOPPEL_CMD_ATTACH,
		.doit = doppel_nl_attach,
		.flags = GENL_ADMIN_PERM,
	}, {
		.cmd = DOPPEL_CMD_DETACH,
		.doit = doppel_nl_detach,
		.flags = GENL_ADMIN_PERM,
	}, {
		.cmd = DOPPEL_CMD_SET_RULES,
		.doit = doppel_nl_set_rules,
		.flags = GENL_ADMIN_PERM,
	}, {
		.cmd = DOPPEL_CMD_GET_RULES,
		.doit = doppel_nl_get_rules,
		.flags = GENL_ADMIN_PERM,
	}, {
		.cmd = DOPPEL_CMD_GET_STATS,
		.doit = doppel_nl_get_stats,
		.flags = GENL_ADMIN_PERM,
	},
};

struct genl_family doppel_genl_family __ro_after_init = {
	.name = DOPPEL_GENL_NAME,
	.version = DOPPEL_GENL_VERSION,
	.maxattr = DOPPEL_A_MAX,
	.policy = doppel_policy,
	.netnsok = true,
	.module = THIS_MODULE,
	.small_ops = doppel_genl_ops,
	.n_small_ops = ARRAY_SIZE(doppel_genl_ops),
};

/* A listener that closes its socket without DETACH is let go here. */
static int doppel_netlink_notify(struct notifier_block *nb, unsigned long event,
				 void *ptr)
{
	struct netlink_notify *notify = ptr;

	if (event != NETLINK_URELEASE || notify->protocol != NETLINK_GENERIC ||
	    !notify->portid)
		return NOTIFY_DONE;
	doppel_batch_detach(&doppel_net(notify->net)->batch, notify->portid);
	return NOTIFY_DONE;
}

static struct notifier_block doppel_netlink_notifier = {
	.notifier_call = doppel_netlink_notify,
};

int doppel_netlink_init(void)
{
	int ret;

	ret = genl_register_family(&doppel_genl_family);
	if (ret)
		return ret;
	ret = netlink_register_notifier(&doppel_netlink_notifier);
	if (ret)
		genl_unregister_family(&doppel_genl_family);
	return ret;
}

void doppel_netlink_uninit(void)
{
	netlink_unregister_notifier(&doppel_netlink_notifier);
	genl_unregister_family(&doppel_genl_family);
}
