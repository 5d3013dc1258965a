/*
 * nl_attr.c — the attribute walk of nl_attr.h: libmnl's iterator over an
 * exact length, and a cut attribute reported rather than skipped.
 */
#include "intercept/source/nl_attr.h"

#include <limits.h>
#include <stdint.h>

int nl_attr_walk(const void *payload, size_t len, mnl_attr_cb_t cb, void *data)
{
	const struct nlattr *attr;

	/* mnl_attr_ok takes the room left as an int. */
	if (len > INT_MAX)
		return NL_ATTR_CUT;
	mnl_attr_for_each_payload(payload, len) {
		int ret = cb(attr, data);

		if (ret == MNL_CB_ERROR)
			return NL_ATTR_REFUSED;
		if (ret == MNL_CB_STOP)
			return NL_ATTR_OK;
	}
	/* The walk stopped at an attribute that does not fit (or its header
	 * does not), unless it stepped to (or, over the last attribute's
	 * padding, past) the end. */
	if ((const uint8_t *)attr < (const uint8_t *)payload + len)
		return NL_ATTR_CUT;
	return NL_ATTR_OK;
}

int nl_attr_walk_msg(const struct nlmsghdr *nlh, size_t header_len, mnl_attr_cb_t cb,
		     void *data)
{
	size_t skip = MNL_NLMSG_HDRLEN + MNL_ALIGN(header_len);

	if (nlh->nlmsg_len < skip)
		return NL_ATTR_CUT;
	return nl_attr_walk((const uint8_t *)nlh + skip, nlh->nlmsg_len - skip, cb, data);
}

int nl_attr_walk_nested(const struct nlattr *nest, mnl_attr_cb_t cb, void *data)
{
	return nl_attr_walk(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), cb, data);
}
