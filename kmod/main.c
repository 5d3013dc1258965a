// SPDX-License-Identifier: GPL-2.0
/*
 * Doppel.ko: swallows a test server's TCP responses and hands
 * their headers to doppel-intercept over generic netlink. Orders the
 * subsystems' start and undoes them in reverse.
 */

#include <linux/module.h>
#include <linux/rcupdate.h>
#include <net/genetlink.h>
#include <uapi/doppel.h>

#include "batch.h"
#include "netlink.h"
#include "netns.h"
#include "rules.h"

#define DOPPEL_MODULE_VERSION "0.1.0"

static int __init doppel_init(void)
{
	int ret;

	ret = doppel_rules_params_check();
	if (!ret)
		ret = doppel_batch_params_check();
	if (!ret)
		ret = doppel_netlink_params_check();
	if (ret)
		return ret;

	ret = doppel_netns_init();
	if (ret)
		goto err_netns;
	ret = doppel_netlink_init();
	if (ret)
		goto err_netlink;
	pr_info("version %s loaded, netlink family \"%s\" version %d\n",
		DOPPEL_MODULE_VERSION, DOPPEL_GENL_NAME, DOPPEL_GENL_VERSION);
	return 0;

err_netlink:
	doppel_netns_uninit();
err_netns:
	return ret;
}

/* Netlink first: no command can arrive while namespaces are torn down. */
static void __exit doppel_exit(void)
{
	doppel_netlink_uninit();
	doppel_netns_uninit();
	/* Old rule sets are freed with kfree_rcu(); let them all go. */
	rcu_barrier();
	pr_info("unloaded\n");
}

module_init(doppel_init);
module_exit(doppel_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("doppel developers");
MODULE_DESCRIPTION("Swallows TCP responses and summarizes them over generic netlink");
MODULE_VERSION(DOPPEL_MODULE_VERSION);
MODULE_ALIAS_GENL_FAMILY(DOPPEL_GENL_NAME);
