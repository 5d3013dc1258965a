/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The generic netlink family "doppel"; its contract is in the uapi header.
 */
#ifndef DOPPEL_NETLINK_H
#define DOPPEL_NETLINK_H

struct genl_family;

extern struct genl_family doppel_genl_family;

int doppel_netlink_params_check(void);
int doppel_netlink_init(void);
void doppel_netlink_uninit(void);

#endif /* DOPPEL_NETLINK_H */
