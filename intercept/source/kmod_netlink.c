/*
 * kmod_netlink.c — requests to doppel.ko's generic netlink family, and the
 * error text the kernel explains them with.
 *
 * The kernel answers a refused command with NLMSG_ERROR and, since we ask
 * for NETLINK_EXT_ACK, a message attribute naming what was wrong ("a rule
 * needs an address, a port or both"); NETLINK_CAP_ACK keeps our own request
 * out of that answer so the attributes follow struct nlmsgerr directly.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>

#include "intercept/source/kmod_netlink.h"
#include "intercept/source/nl_attr.h"
#include "include/uapi/doppel.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

struct request {
	mnl_cb_t cb;
	void *data;
	char *err;
	size_t errlen;
	const char *what;
};

static int extack_attr(const struct nlattr *attr, void *data)
{
	const char **message = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		*message = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

static int on_error(const struct nlmsghdr *nlh, void *data)
{
	struct request *r = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const char *message = NULL;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		snprintf(r->err, r->errlen, "%s: truncated netlink error", r->what);
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
		(void)nl_attr_walk_msg(nlh, sizeof(*e), extack_attr, &message);
	snprintf(r->err, r->errlen, "%s: %s", r->what, message ? message : strerror(-e->error));
	errno = -e->error;
	return MNL_CB_ERROR;
}

static int on_message(const struct nlmsghdr *nlh, void *data)
{
	struct request *r = data;

	return r->cb ? r->cb(nlh, r->data) : MNL_CB_OK;
}

int kmod_nl_request(struct kmod_nl *k, struct nlmsghdr *nlh, const char *what,
		    mnl_cb_t cb, void *data, char *err, size_t errlen)
{
	struct request r = { cb, data, err, errlen, what };
	mnl_cb_t control[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = on_error };
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret;

	if (errlen)
		err[0] = '\0';
	if (mnl_socket_sendto(k->sock, nlh, nlh->nlmsg_len) < 0) {
		snprintf(err, errlen, "%s: send: %s", what, strerror(errno));
		return -1;
	}
	for (;;) {
		n = mnl_socket_recvfrom(k->sock, k->buffer, KMOD_RECV_BUFFER_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: receive: %s", what, strerror(errno));
			return -1;
		}
		errno = 0;
		ret = mnl_cb_run2(k->buffer, n, seq, k->portid, on_message, &r,
				  control, NLMSG_MIN_TYPE);
		if (ret == MNL_CB_STOP)
			return 0;
		if (ret < 0) {
			if (errno != 0 && r.err[0] == '\0')
				snprintf(err, errlen, "%s: %s", what, strerror(errno));
			return -1;
		}
	}
}

struct nlmsghdr *kmod_nl_prepare(struct kmod_nl *k, void *buf, uint8_t cmd)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = k->family_id;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++k->seq;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = DOPPEL_GENL_VERSION;
	return nlh;
}

static int family_attr(const struct nlattr *attr, void *data)
{
	uint16_t *id = data;

	if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID &&
	    mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
		*id = mnl_attr_get_u16(attr);
	return MNL_CB_OK;
}

static int on_family(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type != GENL_ID_CTRL)
		return MNL_CB_OK;
	return nl_attr_walk_msg(nlh, sizeof(struct genlmsghdr), family_attr, data) != NL_ATTR_OK ?
		MNL_CB_ERROR : MNL_CB_OK;
}

static int resolve_family(struct kmod_nl *k, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	uint16_t id = 0;

	k->family_id = GENL_ID_CTRL;
	nlh = kmod_nl_prepare(k, buf, CTRL_CMD_GETFAMILY);
	((struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, DOPPEL_GENL_NAME);
	if (kmod_nl_request(k, nlh, "kmod", on_family, &id, err, errlen) < 0) {
		if (errno == ENOENT)
			snprintf(err, errlen, "kmod: the doppel kernel module is not loaded "
				 "(no generic netlink family \"%s\"; modprobe doppel)",
				 DOPPEL_GENL_NAME);
		return -1;
	}
	if (id == 0) {
		snprintf(err, errlen, "kmod: the kernel named no id for family \"%s\"",
			 DOPPEL_GENL_NAME);
		return -1;
	}
	k->family_id = id;
	return 0;
}

static void set_receive_buffer(int fd, int bytes)
{
	/* SO_RCVBUFFORCE passes net.core.rmem_max with CAP_NET_ADMIN, which
	 * every doppel command needs anyway; SO_RCVBUF is the fallback. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

int kmod_nl_open(struct kmod_nl *k, int rcvbuf, char *err, size_t errlen)
{
	int on = 1;

	memset(k, 0, sizeof(*k));
	k->buffer = malloc(KMOD_RECV_BUFFER_SIZE);
	k->sock = mnl_socket_open(NETLINK_GENERIC);
	if (!k->buffer || !k->sock) {
		snprintf(err, errlen, "kmod: netlink socket: %s", strerror(errno));
		goto fail;
	}
	if (mnl_socket_bind(k->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "kmod: bind the netlink socket: %s", strerror(errno));
		goto fail;
	}
	k->portid = mnl_socket_get_portid(k->sock);
	/* Older kernels refuse these; errors then lose their text only. */
	mnl_socket_setsockopt(k->sock, NETLINK_EXT_ACK, &on, sizeof(on));
	mnl_socket_setsockopt(k->sock, NETLINK_CAP_ACK, &on, sizeof(on));
	if (rcvbuf > 0)
		set_receive_buffer(mnl_socket_get_fd(k->sock), rcvbuf);
	if (resolve_family(k, err, errlen) < 0)
		goto fail;
	return 0;
fail:
	kmod_nl_close(k);
	return -1;
}

void kmod_nl_close(struct kmod_nl *k)
{
	if (k->sock)
		mnl_socket_close(k->sock);
	free(k->buffer);
	memset(k, 0, sizeof(*k));
}
