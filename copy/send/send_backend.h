/*
 * send_backend.h — between send.c's batching queue and the two send
 * backends (send_raw.c, send_packet.c). Only those three include it.
 *
 * A backend turns one IP packet into one frame to send: it picks the
 * socket, writes the destination address and copies the packet (behind
 * its frame header, if it has one: Ethernet, a tunnel's outer headers)
 * into the frame buffer the queue gives it. The queue owns the buffers,
 * batching, sendmmsg and error mapping.
 */
#ifndef DOPPEL_SEND_BACKEND_H
#define DOPPEL_SEND_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "copy/send/send.h"
#include "copy/send/send_ring.h"
#include "lib/net/encap.h"

/* The largest IP packet accepted: IPv6's 40-byte header and a full 64 KiB
 * payload (IPv4 stops at 65535). */
#define SEND_PACKET_MAX (40 + 65535)
/* The most a backend writes before the packet: Ethernet, and a tunnel's
 * outer headers. */
#define SEND_FRAME_HEADER_MAX (14 + ENCAP_OVERHEAD_MAX)

/* Where one queued frame goes. */
struct send_slot {
	int fd;
	socklen_t addr_len;
	struct sockaddr_storage addr;
};

struct send_backend {
	/* Write the frame for pkt (len bytes, already checked to be at most
	 * SEND_PACKET_MAX) into frame (room for SEND_FRAME_HEADER_MAX + len)
	 * and fill slot. ENGINE_SEND_OK with *frame_len set, or
	 * ENGINE_SEND_TOO_BIG / ENGINE_SEND_FAILED and nothing queued. */
	enum engine_send_result (*prepare)(void *priv, const uint8_t *pkt, size_t len,
					   uint8_t *frame, size_t *frame_len,
					   struct send_slot *slot);
	void (*close)(void *priv);
	/* Optional (NULL: none). The backend's PACKET_TX_RING, or NULL when
	 * it has none: the queue then writes frames into the ring instead
	 * of its arena, and kicks the ring instead of sendmmsg. */
	struct send_ring *(*ring)(void *priv);
	/* Why the ring was wanted and not set up ("" when it was, or was
	 * not wanted). */
	const char *(*ring_fallback)(void *priv);
};

/* The backends' constructors: 0 with *backend and *priv set, or -1 with
 * err filled. */
int send_raw_open(const struct send_config *cfg, const struct send_backend **backend,
		  void **priv, char *err, size_t errlen);
int send_tunnel_open(const struct send_config *cfg, const struct send_backend **backend,
		     void **priv, char *err, size_t errlen);
int send_packet_open(const struct send_config *cfg, const struct send_backend **backend,
		     void **priv, char *err, size_t errlen);

/* Size a socket's send buffer (cfg->sndbuf; 0 leaves it). 0, or -1 with
 * err filled. */
int send_set_sndbuf(int fd, uint32_t bytes, char *err, size_t errlen);

#endif
