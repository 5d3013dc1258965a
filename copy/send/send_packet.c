/*
 * send_packet.c — sending on one interface with AF_PACKET (-o DEV), past
 * the host's IP stack: no routes, no netfilter, no conntrack entries for
 * the replayed clients' addresses.
 *
 * Each frame is an Ethernet header (next-hop MAC, source MAC, ETH_P_IP or
 * ETH_P_IPV6) and the packet. The socket is of protocol 0, so it receives
 * nothing, and is not bound: each message names the interface and the
 * protocol in its sockaddr_ll. The kernel does not fragment what we hand
 * it, so a packet over the device's MTU is refused at queue time
 * (ENGINE_SEND_TOO_BIG) rather than dropped by the driver.
 *
 * With a tunnel (cfg->tunnel) the frame carries the outer packet that
 * encap_build() writes: the host's own address (tunnel_src4/6) to the
 * target, and the MTU check applies to it. The UDP source port of vxlan
 * and fou is encap_flow_port(), as in the raw backend's tunnel form.
 *
 * The socket bypasses the device's queueing discipline (PACKET_QDISC_BYPASS,
 * Linux 3.14; older kernels refuse it and the qdisc stays): a frame goes
 * straight to the driver's transmit queue, without the qdisc's enqueue,
 * dequeue and lock per packet. What that gives up: traffic control (tc)
 * on the device does not shape or count our frames, a full driver queue
 * drops the frame at once (ENOBUFS: counted as a retry, the engine resends)
 * instead of queueing it, and packet taps on this host (tcpdump -i DEV)
 * do not see our frames; the next hop and the target do.
 *
 * Frames are written into a PACKET_TX_RING (send_ring.c) unless the
 * config says not to: one send() per batch, no copy from our buffer into
 * the kernel. When the ring cannot be set up, the socket is opened again
 * without it (a socket that has a ring sends every sendmsg through it)
 * and the queue sends sendmmsg batches; ring_fallback says why.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netpacket/packet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "copy/send/send_backend.h"
#include "lib/net/encap.h"

struct send_packet {
	int fd;
	int ifindex;
	uint32_t mtu;
	uint8_t header_v4[ETH_HLEN];
	uint8_t header_v6[ETH_HLEN];
	struct encap_config tunnel;
	struct dp_addr tunnel_src4, tunnel_src6;
	uint16_t ip_id;
	struct send_ring *ring;
	char ring_fallback[160];
};

/* The frame body for pkt: the outer packet with a tunnel, pkt without. */
static enum engine_send_result packet_body(struct send_packet *sp, const uint8_t *pkt,
					   size_t len, uint8_t *body, size_t *body_len)
{
	struct encap_outer outer;
	unsigned version = pkt[0] >> 4;
	const struct dp_addr *src = version == 4 ? &sp->tunnel_src4 : &sp->tunnel_src6;
	size_t dst_offset = version == 4 ? 16 : 24;

	if (sp->tunnel.kind == ENCAP_NONE) {
		if (len > sp->mtu)
			return ENGINE_SEND_TOO_BIG;
		memcpy(body, pkt, len);
		*body_len = len;
		return ENGINE_SEND_OK;
	}
	if (len < (version == 4 ? 20u : 40u) || src->family == 0)
		return ENGINE_SEND_FAILED;
	if (encap_overhead(&sp->tunnel, src->family) + len > sp->mtu)
		return ENGINE_SEND_TOO_BIG;
	memset(&outer, 0, sizeof(outer));
	outer.src = *src;
	outer.dst.family = src->family;
	memcpy(outer.dst.bytes, pkt + dst_offset, version == 4 ? 4 : 16);
	outer.sport = encap_flow_port(pkt, len);
	outer.ip_id = sp->ip_id++;
	*body_len = encap_build(&sp->tunnel, &outer, pkt, len, body, ENCAP_OVERHEAD_MAX + len);
	return *body_len ? ENGINE_SEND_OK : ENGINE_SEND_TOO_BIG;
}

static enum engine_send_result packet_prepare(void *priv, const uint8_t *pkt, size_t len,
					      uint8_t *frame, size_t *frame_len,
					      struct send_slot *slot)
{
	struct send_packet *sp = priv;
	struct sockaddr_ll *to = (struct sockaddr_ll *)&slot->addr;
	unsigned version = pkt[0] >> 4;
	const uint8_t *header;
	enum engine_send_result r;
	size_t body_len = 0;

	if (version == 4)
		header = sp->header_v4;
	else if (version == 6)
		header = sp->header_v6;
	else
		return ENGINE_SEND_FAILED;
	r = packet_body(sp, pkt, len, frame + ETH_HLEN, &body_len);
	if (r != ENGINE_SEND_OK)
		return r;
	memset(to, 0, sizeof(*to));
	to->sll_family = AF_PACKET;
	to->sll_ifindex = sp->ifindex;
	to->sll_protocol = htons(version == 4 ? ETH_P_IP : ETH_P_IPV6);
	to->sll_halen = ETH_ALEN;
	memcpy(to->sll_addr, header, ETH_ALEN);
	slot->addr_len = sizeof(*to);
	slot->fd = sp->fd;
	memcpy(frame, header, ETH_HLEN);
	*frame_len = ETH_HLEN + body_len;
	return ENGINE_SEND_OK;
}

static void packet_close(void *priv)
{
	struct send_packet *sp = priv;

	send_ring_close(sp->ring);
	if (sp->fd >= 0)
		close(sp->fd);
	free(sp);
}

static struct send_ring *packet_ring(void *priv)
{
	return ((struct send_packet *)priv)->ring;
}

static const char *packet_ring_fallback(void *priv)
{
	return ((struct send_packet *)priv)->ring_fallback;
}

static const struct send_backend packet_backend = {
	.prepare = packet_prepare,
	.close = packet_close,
	.ring = packet_ring,
	.ring_fallback = packet_ring_fallback,
};

static bool all_zero(const uint8_t mac[ETH_ALEN])
{
	static const uint8_t zero[ETH_ALEN];

	return memcmp(mac, zero, ETH_ALEN) == 0;
}

/* The interface's index, MTU and (if cfg has none) MAC address. */
static int read_device(struct send_packet *sp, const struct send_config *cfg,
		       uint8_t src_mac[ETH_ALEN], char *err, size_t errlen)
{
	struct ifreq ifr;

	sp->ifindex = (int)if_nametoindex(cfg->device);
	if (sp->ifindex == 0) {
		snprintf(err, errlen, "%s: no such device", cfg->device);
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", cfg->device);
	if (ioctl(sp->fd, SIOCGIFHWADDR, &ifr) != 0) {
		snprintf(err, errlen, "%s: SIOCGIFHWADDR: %s", cfg->device, strerror(errno));
		return -1;
	}
	/* Loopback takes Ethernet headers too (and is what tests can use). */
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER && ifr.ifr_hwaddr.sa_family != ARPHRD_LOOPBACK) {
		snprintf(err, errlen, "%s: not an Ethernet device (hardware type %u)",
			 cfg->device, (unsigned)ifr.ifr_hwaddr.sa_family);
		return -1;
	}
	if (all_zero(cfg->src_mac))
		memcpy(src_mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	else
		memcpy(src_mac, cfg->src_mac, ETH_ALEN);
	if (ioctl(sp->fd, SIOCGIFMTU, &ifr) != 0 || ifr.ifr_mtu <= 0) {
		snprintf(err, errlen, "%s: SIOCGIFMTU: %s", cfg->device, strerror(errno));
		return -1;
	}
	sp->mtu = (uint32_t)ifr.ifr_mtu;
	if (cfg->mtu && cfg->mtu < sp->mtu)
		sp->mtu = cfg->mtu;
	return 0;
}

static void write_header(uint8_t header[ETH_HLEN], const uint8_t next_hop[ETH_ALEN],
			 const uint8_t src[ETH_ALEN], uint16_t ethertype)
{
	memcpy(header, next_hop, ETH_ALEN);
	memcpy(header + ETH_ALEN, src, ETH_ALEN);
	header[12] = (uint8_t)(ethertype >> 8);
	header[13] = (uint8_t)ethertype;
}

/* A non-blocking AF_PACKET socket that receives nothing, its send buffer
 * sized, past the qdisc. */
static int open_socket(struct send_packet *sp, const struct send_config *cfg, char *err,
		       size_t errlen)
{
	int one = 1;

	sp->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sp->fd < 0) {
		snprintf(err, errlen, "socket(AF_PACKET, SOCK_RAW): %s", strerror(errno));
		return -1;
	}
	if (send_set_sndbuf(sp->fd, cfg->sndbuf, err, errlen) != 0)
		return -1;
	if (setsockopt(sp->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) != 0 &&
	    errno != ENOPROTOOPT) {
		snprintf(err, errlen, "setsockopt(PACKET_QDISC_BYPASS): %s", strerror(errno));
		return -1;
	}
	return 0;
}

int send_packet_open(const struct send_config *cfg, const struct send_backend **backend,
		     void **priv, char *err, size_t errlen)
{
	struct send_packet *sp;
	uint8_t src_mac[ETH_ALEN];

	if (!cfg->device || !*cfg->device) {
		snprintf(err, errlen, "-o: no output device given");
		return -1;
	}
	if (strlen(cfg->device) >= IFNAMSIZ) {
		snprintf(err, errlen, "%s: no such device (names are shorter than %d)",
			 cfg->device, IFNAMSIZ);
		return -1;
	}
	if (all_zero(cfg->next_hop_mac)) {
		snprintf(err, errlen, "-o %s: no next-hop MAC (-x needs the "
			 "port@srcmac-ip:port@nexthopmac form)", cfg->device);
		return -1;
	}
	sp = calloc(1, sizeof(*sp));
	if (!sp) {
		snprintf(err, errlen, "send: out of memory");
		return -1;
	}
	sp->fd = -1;
	if (open_socket(sp, cfg, err, errlen) != 0 ||
	    read_device(sp, cfg, src_mac, err, errlen) != 0)
		goto fail;
	if (!cfg->no_tx_ring) {
		char why[sizeof(sp->ring_fallback) - 32];

		/* Room for the largest frame the MTU check lets through. */
		sp->ring = send_ring_open(sp->fd, sp->ifindex, SEND_FRAME_HEADER_MAX + sp->mtu,
					  why, sizeof(why));
		if (!sp->ring) {
			snprintf(sp->ring_fallback, sizeof(sp->ring_fallback), "%s", why);
			close(sp->fd);
			if (open_socket(sp, cfg, err, errlen) != 0)
				goto fail;
		}
	}
	sp->tunnel = cfg->tunnel;
	sp->tunnel_src4 = cfg->tunnel_src4;
	sp->tunnel_src6 = cfg->tunnel_src6;
	write_header(sp->header_v4, cfg->next_hop_mac, src_mac, ETH_P_IP);
	write_header(sp->header_v6, cfg->next_hop_mac, src_mac, ETH_P_IPV6);
	*backend = &packet_backend;
	*priv = sp;
	return 0;
fail:
	packet_close(sp);
	return -1;
}
