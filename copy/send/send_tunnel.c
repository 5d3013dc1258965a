/*
 * send_tunnel.c — the raw backend's tunnel form (--tunnel without -o):
 * each replayed packet goes to its target inside an encapsulation whose
 * outer header the host's own IP stack writes, with the host's own
 * address as source, so the network never sees a client's address.
 *
 *   vxlan, fou   a raw socket of protocol 17 (UDP) per family; the
 *                payload is the UDP header we write, the prefix (VXLAN +
 *                inner Ethernet for vxlan, nothing for fou) and the
 *                packet. Writing the UDP header ourselves gives each flow
 *                its own source port (encap_flow_port(): a hash of the
 *                inner addresses and ports, RFC 7348 section 5), so ECMP
 *                and the target's RSS spread the flows; one UDP socket
 *                would send them all from one port, on one path and one
 *                receive queue;
 *   ipip, gre    a raw socket of the protocol (4 or 41, 47) per family;
 *                the payload is the prefix (GRE's 4 bytes) and the packet.
 *
 * The outer destination is the packet's own destination (the target).
 * The sockets are bound to --tunnel-source when it is given; otherwise
 * the kernel picks the source for the route, as for any connection.
 * They receive nothing we want (a raw GRE or UDP socket would get every
 * GRE or UDP packet the host receives), so each gets a filter that drops
 * all. Over IPv4 the UDP checksum is zero (RFC 768 allows it; RFC 7348
 * section 5 says VXLAN SHOULD send it so; the inner TCP checksum still
 * covers the packet): computing it would need the outer source address,
 * which the kernel picks per route. Over IPv6, where it is required, the
 * kernel computes it (IPV6_CHECKSUM, RFC 3542 section 3.1).
 */
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "copy/send/send_backend.h"
#include "lib/net/encap.h"

#define IPV4_HEADER_MIN 20
#define IPV4_DST_OFFSET 16
#define IPV6_HEADER_LEN 40
#define IPV6_DST_OFFSET 24
/* The largest packet any tunnel takes: its outer packet must fit IP's
 * 16-bit length whatever the encapsulation. */
#define TUNNEL_INNER_MAX (65535 - ENCAP_OVERHEAD_MAX)

struct send_tunnel {
	struct encap_config encap;
	int fd4;
	int fd6;	/* -1: the host has no IPv6 */
	uint32_t mtu;	/* of the outer packets; 0: the kernel decides */
};

static enum engine_send_result tunnel_prepare(void *priv, const uint8_t *pkt, size_t len,
					      uint8_t *frame, size_t *frame_len,
					      struct send_slot *slot)
{
	struct send_tunnel *t = priv;
	unsigned version = pkt[0] >> 4;
	bool udp = t->encap.kind == ENCAP_VXLAN || t->encap.kind == ENCAP_FOU;
	int family;
	size_t prefix, udp_len = udp ? ENCAP_UDP_HEADER_LEN : 0;

	if (version == 4 && len >= IPV4_HEADER_MIN) {
		struct sockaddr_in *to = (struct sockaddr_in *)&slot->addr;

		memset(to, 0, sizeof(*to));
		to->sin_family = AF_INET;
		memcpy(&to->sin_addr, pkt + IPV4_DST_OFFSET, 4);
		slot->addr_len = sizeof(*to);
		slot->fd = t->fd4;
		family = AF_INET;
	} else if (version == 6 && len >= IPV6_HEADER_LEN && t->fd6 >= 0) {
		struct sockaddr_in6 *to = (struct sockaddr_in6 *)&slot->addr;

		memset(to, 0, sizeof(*to));
		/* sin6_port stays 0: on a raw socket it would name the protocol. */
		to->sin6_family = AF_INET6;
		memcpy(&to->sin6_addr, pkt + IPV6_DST_OFFSET, 16);
		slot->addr_len = sizeof(*to);
		slot->fd = t->fd6;
		family = AF_INET6;
	} else {
		return ENGINE_SEND_FAILED;
	}
	prefix = encap_prefix_len(&t->encap);
	if (len > TUNNEL_INNER_MAX ||
	    (t->mtu && encap_overhead(&t->encap, family) + len > t->mtu))
		return ENGINE_SEND_TOO_BIG;
	if (udp) {
		uint16_t sport = htons(encap_flow_port(pkt, len));
		uint16_t dport = htons(t->encap.port);
		uint16_t ulen = htons((uint16_t)(udp_len + prefix + len));

		memcpy(frame, &sport, 2);
		memcpy(frame + 2, &dport, 2);
		memcpy(frame + 4, &ulen, 2);
		memset(frame + 6, 0, 2);	/* IPv6: the kernel fills it in */
	}
	encap_write_prefix(&t->encap, family, frame + udp_len);
	memcpy(frame + udp_len + prefix, pkt, len);
	*frame_len = udp_len + prefix + len;
	return ENGINE_SEND_OK;
}

static void tunnel_close(void *priv)
{
	struct send_tunnel *t = priv;

	if (t->fd4 >= 0)
		close(t->fd4);
	if (t->fd6 >= 0)
		close(t->fd6);
	free(t);
}

static const struct send_backend tunnel_backend = {
	.prepare = tunnel_prepare,
	.close = tunnel_close,
};

static int drop_everything(int fd, char *err, size_t errlen)
{
	struct sock_filter code[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog prog = { .len = 1, .filter = code };

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0) {
		snprintf(err, errlen, "setsockopt(SO_ATTACH_FILTER): %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int bind_source(int fd, const struct dp_addr *src, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	char text[INET6_ADDRSTRLEN];

	memset(&ss, 0, sizeof(ss));
	if (src->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, src->bytes, 4);
		sslen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, src->bytes, 16);
		sslen = sizeof(*sin6);
	}
	if (bind(fd, (struct sockaddr *)&ss, sslen) != 0) {
		snprintf(err, errlen, "--tunnel-source %s: bind: %s",
			 dp_addr_str(src, text, sizeof(text)), strerror(errno));
		return -1;
	}
	return 0;
}

static int open_socket(int family, const struct send_config *cfg, char *err, size_t errlen)
{
	const struct encap_config *e = &cfg->tunnel;
	const struct dp_addr *src = family == AF_INET ? &cfg->tunnel_src4 : &cfg->tunnel_src6;
	bool udp = e->kind == ENCAP_VXLAN || e->kind == ENCAP_FOU;
	int protocol = encap_ip_protocol(e, family);
	int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);

	if (fd < 0) {
		int saved = errno;

		snprintf(err, errlen, "--tunnel %s: socket(%s, SOCK_RAW, %d): %s",
			 encap_name(e->kind), family == AF_INET ? "AF_INET" : "AF_INET6", protocol,
			 strerror(saved));
		errno = saved;
		return -1;
	}
	if (drop_everything(fd, err, errlen) != 0 ||
	    send_set_sndbuf(fd, cfg->sndbuf, err, errlen) != 0 ||
	    (src->family == family && bind_source(fd, src, err, errlen) != 0))
		goto fail;
	if (udp && family == AF_INET6) {
		int offset = 6;	/* of the UDP checksum in what we write */

		if (setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &offset, sizeof(offset)) != 0) {
			snprintf(err, errlen, "setsockopt(IPV6_CHECKSUM): %s", strerror(errno));
			goto fail;
		}
	}
	return fd;
fail:
	close(fd);
	errno = EINVAL;
	return -1;
}

int send_tunnel_open(const struct send_config *cfg, const struct send_backend **backend,
		     void **priv, char *err, size_t errlen)
{
	struct send_tunnel *t = calloc(1, sizeof(*t));

	if (!t) {
		snprintf(err, errlen, "send: out of memory");
		return -1;
	}
	t->encap = cfg->tunnel;
	t->mtu = cfg->mtu;
	t->fd6 = -1;
	t->fd4 = open_socket(AF_INET, cfg, err, errlen);
	if (t->fd4 < 0)
		goto fail;
	t->fd6 = open_socket(AF_INET6, cfg, err, errlen);
	/* A host booted with ipv6.disable=1 still replays IPv4. */
	if (t->fd6 < 0 && errno != EAFNOSUPPORT)
		goto fail;
	*backend = &tunnel_backend;
	*priv = t;
	return 0;
fail:
	tunnel_close(t);
	return -1;
}

int send_tunnel_source(const struct dp_addr *target, struct dp_addr *src, char *err,
		       size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char text[INET6_ADDRSTRLEN];
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (target->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(ENCAP_VXLAN_PORT);
		memcpy(&sin->sin_addr, target->bytes, 4);
		sslen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(ENCAP_VXLAN_PORT);
		memcpy(&sin6->sin6_addr, target->bytes, 16);
		sslen = sizeof(*sin6);
	}
	/* connect() on a UDP socket sends nothing: it only asks the routing
	 * table which source address a packet to the target would get. */
	fd = socket(target->family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sslen) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0) {
		snprintf(err, errlen, "no source address for the tunnel to %s: %s (give "
			 "--tunnel-source)", dp_addr_str(target, text, sizeof(text)), strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if (ss.ss_family == AF_INET)
		dp_addr_from_v4(src, ((struct sockaddr_in *)&ss)->sin_addr.s_addr);
	else
		dp_addr_from_v6(src, &((struct sockaddr_in6 *)&ss)->sin6_addr);
	return 0;
}
