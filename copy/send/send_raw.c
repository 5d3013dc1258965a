/*
 * send_raw.c — the default send backend: raw IP sockets through the host's
 * IP stack and routes.
 *
 * socket(AF_INET, SOCK_RAW, IPPROTO_RAW) implies IP_HDRINCL: the kernel
 * sends our IPv4 header as it is (filling only a zero id and the header
 * checksum) and refuses a packet larger than the route's MTU with
 * EMSGSIZE. AF_INET6 with IPPROTO_RAW is the same for IPv6 (Linux 4.5 and
 * later). The destination the kernel routes by is taken from the packet's
 * own header. A socket of protocol IPPROTO_RAW receives nothing, so
 * nothing piles up in it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "copy/send/send_backend.h"

#define IPV4_HEADER_MIN 20
#define IPV4_DST_OFFSET 16
#define IPV6_HEADER_LEN 40
#define IPV6_DST_OFFSET 24

struct send_raw {
	int fd4;
	int fd6;	/* -1: the host has no IPv6 */
	uint32_t mtu;	/* 0: the kernel decides */
};

static enum engine_send_result raw_prepare(void *priv, const uint8_t *pkt, size_t len,
					   uint8_t *frame, size_t *frame_len,
					   struct send_slot *slot)
{
	struct send_raw *r = priv;
	unsigned version = pkt[0] >> 4;

	if (version == 4 && len >= IPV4_HEADER_MIN) {
		struct sockaddr_in *to = (struct sockaddr_in *)&slot->addr;

		memset(to, 0, sizeof(*to));
		to->sin_family = AF_INET;
		memcpy(&to->sin_addr, pkt + IPV4_DST_OFFSET, 4);
		slot->addr_len = sizeof(*to);
		slot->fd = r->fd4;
	} else if (version == 6 && len >= IPV6_HEADER_LEN && r->fd6 >= 0) {
		struct sockaddr_in6 *to = (struct sockaddr_in6 *)&slot->addr;

		memset(to, 0, sizeof(*to));
		to->sin6_family = AF_INET6;
		memcpy(&to->sin6_addr, pkt + IPV6_DST_OFFSET, 16);
		slot->addr_len = sizeof(*to);
		slot->fd = r->fd6;
	} else {
		return ENGINE_SEND_FAILED;
	}
	if (r->mtu && len > r->mtu)
		return ENGINE_SEND_TOO_BIG;
	memcpy(frame, pkt, len);
	*frame_len = len;
	return ENGINE_SEND_OK;
}

static void raw_close(void *priv)
{
	struct send_raw *r = priv;

	if (r->fd4 >= 0)
		close(r->fd4);
	if (r->fd6 >= 0)
		close(r->fd6);
	free(r);
}

static const struct send_backend raw_backend = {
	.prepare = raw_prepare,
	.close = raw_close,
};

static int open_raw(int family, const struct send_config *cfg, char *err, size_t errlen)
{
	int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);

	if (fd < 0) {
		int saved = errno;	/* the caller looks at it */

		snprintf(err, errlen, "socket(%s, SOCK_RAW, IPPROTO_RAW): %s",
			 family == AF_INET ? "AF_INET" : "AF_INET6", strerror(saved));
		errno = saved;
		return -1;
	}
	if (send_set_sndbuf(fd, cfg->sndbuf, err, errlen) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int send_raw_open(const struct send_config *cfg, const struct send_backend **backend,
		  void **priv, char *err, size_t errlen)
{
	struct send_raw *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "send: out of memory");
		return -1;
	}
	r->mtu = cfg->mtu;
	r->fd6 = -1;
	r->fd4 = open_raw(AF_INET, cfg, err, errlen);
	if (r->fd4 < 0)
		goto fail;
	r->fd6 = open_raw(AF_INET6, cfg, err, errlen);
	/* A host booted with ipv6.disable=1 still replays IPv4. */
	if (r->fd6 < 0 && errno != EAFNOSUPPORT)
		goto fail;
	*backend = &raw_backend;
	*priv = r;
	return 0;
fail:
	raw_close(r);
	return -1;
}
