/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The netfilter hooks that swallow matched packets.
 */
#ifndef DOPPEL_HOOK_H
#define DOPPEL_HOOK_H

struct doppel_net;

/* Register the hooks named by BIT(DOPPEL_HOOK_*) in wanted that are not
 * registered yet. Caller holds dn->lock.
 */
int doppel_hooks_add(struct doppel_net *dn, unsigned int wanted);
/* Unregister the hooks not in wanted (waits for packets in flight). */
void doppel_hooks_trim(struct doppel_net *dn, unsigned int wanted);

#endif /* DOPPEL_HOOK_H */
