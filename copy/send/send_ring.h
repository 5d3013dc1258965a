/*
 * send_ring.h — a PACKET_TX_RING on an AF_PACKET socket (send_ring.c):
 * the -o sender writes each frame straight into memory the kernel maps,
 * and one send(fd, NULL, 0, MSG_DONTWAIT) per batch hands every frame
 * written since to the driver. Used by send_packet.c (it owns the socket)
 * and send.c (the queue). Never blocks, never logs.
 */
#ifndef DOPPEL_SEND_RING_H
#define DOPPEL_SEND_RING_H

#include <stddef.h>
#include <stdint.h>

#include "copy/engine/engine.h"

/* The ring's memory when the frames are of an Ethernet MTU's size (2 KiB
 * frames: 512 of them); bigger frames (jumbo MTUs) keep SEND_RING_FRAMES_MIN
 * frames, so the ring grows with them. */
#define SEND_RING_BYTES_DEFAULT (1u << 20)
#define SEND_RING_FRAMES_MIN 256u

struct send_ring;

/* What one kick did. */
struct send_ring_kick {
	unsigned calls;		/* send() system calls made */
	unsigned taken;		/* frames the kernel took (sent) */
	uint64_t bytes;		/* their bytes */
	unsigned refused;	/* frames dropped with an error (refuse called) */
	unsigned waiting;	/* frames still queued: the driver or the socket's
				 * send buffer is full; the next kick tries them */
};

/* A frame the kernel would not take, err its errno (EMSGSIZE, ENETDOWN..):
 * it is dropped from the ring. */
typedef void (*send_ring_refuse_fn)(void *ctx, const struct session_key *k, int err);

/* Sets fd up (TPACKET_V2, PACKET_TX_RING with frames holding `room` bytes
 * of frame each, mapped) and binds it to ifindex with protocol 0, so it
 * sends on that device and receives nothing. NULL with err filled; fd is
 * then as it was but possibly bound. */
struct send_ring *send_ring_open(int fd, int ifindex, size_t room, char *err, size_t errlen);
/* Unmaps; the caller closes fd. NULL is fine. */
void send_ring_close(struct send_ring *r);

/* The free frame's data area (send_ring_room() bytes), after reclaiming
 * the frames the driver is done with; NULL when every frame is queued or
 * still being sent. */
uint8_t *send_ring_claim(struct send_ring *r);
/* The frame send_ring_claim() gave, len bytes written, of session k:
 * queued for the next kick. */
void send_ring_submit(struct send_ring *r, size_t len, const struct session_key *k);
/* Frames submitted and not yet taken by the kernel. */
unsigned send_ring_unsent(const struct send_ring *r);
/* Hand the queued frames to the kernel: send(fd, NULL, 0, MSG_DONTWAIT),
 * again after a refused frame is dropped. Never blocks. */
struct send_ring_kick send_ring_kick(struct send_ring *r, send_ring_refuse_fn refuse, void *ctx);

size_t send_ring_room(const struct send_ring *r);
size_t send_ring_bytes(const struct send_ring *r);
unsigned send_ring_frames(const struct send_ring *r);

#endif
