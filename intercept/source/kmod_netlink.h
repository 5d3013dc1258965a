/*
 * kmod_netlink.h — talking to doppel.ko's generic netlink family "doppel"
 * (include/uapi/doppel.h) with libmnl: open a socket, resolve the family,
 * send a command and wait for its acknowledgement, with the kernel's
 * extended ack message as the error text. Used by source_kmod.c and by the
 * tests' kmodctl.
 */
#ifndef DOPPEL_KMOD_NETLINK_H
#define DOPPEL_KMOD_NETLINK_H

#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>

/* Summary batches reach 32 KiB; a datagram larger than the buffer is cut. */
#define KMOD_RECV_BUFFER_SIZE (64 * 1024)

struct kmod_nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
	uint16_t family_id;
	uint8_t *buffer;	/* KMOD_RECV_BUFFER_SIZE bytes */
};

/* Open a socket and look the family up. rcvbuf: SO_RCVBUF(FORCE) bytes,
 * 0 to leave the default. 0, or -1 with err filled ("the doppel kernel
 * module is not loaded" when the family is missing). */
int kmod_nl_open(struct kmod_nl *k, int rcvbuf, char *err, size_t errlen);
void kmod_nl_close(struct kmod_nl *k);

/* Start a request in buf (at least MNL_SOCKET_BUFFER_SIZE bytes): netlink
 * and genetlink headers, NLM_F_REQUEST | NLM_F_ACK, the next seq. */
struct nlmsghdr *kmod_nl_prepare(struct kmod_nl *k, void *buf, uint8_t cmd);

/*
 * Send nlh and read until its acknowledgement. Every other message read on
 * the way (the reply, or summaries already on their way to a listener) goes
 * to cb, which may be NULL. 0, or -1 with errno set to the kernel's error
 * and err filled with "what: <extended ack or strerror>".
 */
int kmod_nl_request(struct kmod_nl *k, struct nlmsghdr *nlh, const char *what,
		    mnl_cb_t cb, void *data, char *err, size_t errlen);

#endif
