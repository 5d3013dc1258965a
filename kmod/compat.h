/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference doppel.ko meets, in one place.
 *
 * Decided by what the kernel's headers provide, not by version numbers:
 * distribution kernels backport. Macros are tested with #ifdef; functions,
 * which the preprocessor cannot see, are probed by Kbuild grepping the
 * headers (it defines DOPPEL_HAVE_*).
 */
#ifndef DOPPEL_COMPAT_H
#define DOPPEL_COMPAT_H

#include <linux/hrtimer.h>
#include <net/genetlink.h>
#include <net/netlink.h>

/* hrtimer_setup() replaced hrtimer_init() plus a function assignment. */
#ifndef DOPPEL_HAVE_HRTIMER_SETUP
static inline void hrtimer_setup(struct hrtimer *timer,
				 enum hrtimer_restart (*function)(struct hrtimer *),
				 clockid_t clock_id, enum hrtimer_mode mode)
{
	hrtimer_init(timer, clock_id, mode);
	timer->function = function;
}
#endif

/* GENL_REQ_ATTR_CHECK() sets the extended ack for a missing attribute. */
#ifndef GENL_REQ_ATTR_CHECK
#define GENL_REQ_ATTR_CHECK(info, attr) ({				\
	struct genl_info *__info = (info);				\
	bool __missing = !__info->attrs[attr];				\
									\
	if (__missing)							\
		NL_SET_ERR_MSG_MOD(__info->extack, "missing attribute");	\
	__missing;							\
})
#endif

/*
 * Split ops and genl_info_dump() came later; doppel uses plain doit ops and
 * the family-wide policy, which every kernel since 5.2 validates strictly.
 */

#endif /* DOPPEL_COMPAT_H */
