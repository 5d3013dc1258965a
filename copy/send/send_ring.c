/*
 * send_ring.c — the -o sender's PACKET_TX_RING (TPACKET_V2).
 *
 * Why: with sendmmsg each frame is copied from our buffer into an skb by
 * a system call per batch; with the ring the frame is written once, into
 * memory the kernel maps, and one send() per batch walks the ring. The
 * socket keeps PACKET_QDISC_BYPASS (send_packet.c), so the walk hands
 * each skb straight to the driver.
 *
 * The frame status protocol (Documentation/networking/packet_mmap.rst and
 * af_packet.c's tpacket_snd, which this follows):
 *   TP_STATUS_AVAILABLE     the frame is ours to fill;
 *   TP_STATUS_SEND_REQUEST  we filled it; the next send() takes it;
 *   TP_STATUS_SENDING       the kernel made an skb of it and it is on its
 *                           way; the skb's destructor sets AVAILABLE again
 *                           (after the driver's completion: not at once);
 *   TP_STATUS_WRONG_FORMAT  the kernel refused it (too long for the device
 *                           now, malformed) and stopped there.
 * The kernel walks the ring in order from its own head, which it advances
 * only past frames it took, and it stops at the first frame that is not
 * SEND_REQUEST. So we keep three marks, in ring order:
 *   tail   the oldest frame the kernel took, maybe still SENDING;
 *   khead  the kernel's head: the oldest frame submitted and not taken;
 *   head   the next frame we fill.
 * A frame is reused only when tail reaches it AVAILABLE, so a frame still
 * SENDING is never overwritten.
 *
 * What send() leaves, and what we do:
 *   - frames taken (SENDING, or already AVAILABLE): counted sent;
 *   - the frame at khead WRONG_FORMAT: the kernel would stop there for
 *     ever (without PACKET_LOSS, which would drop it silently), so it is
 *     refused with send()'s errno and taken out of the ring: the frames
 *     queued behind it move down one place (the kernel reads none of them
 *     between two send()s: this thread alone calls send()), then send()
 *     again;
 *   - the frame at khead still SEND_REQUEST with ENOBUFS/EAGAIN (the
 *     driver's queue full, or the socket's send buffer full of frames in
 *     flight; after a driver drop the kernel puts SEND_REQUEST back): the
 *     frames wait in the ring for the next kick, as a qdisc would hold
 *     them; when the ring has no free frame, new packets are dropped and
 *     counted by the caller (the engine resends them);
 *   - any other error (ENETDOWN, ENXIO: before any frame was read):
 *     every queued frame is refused with it and dropped, as sendmmsg would
 *     have refused each.
 * Statuses are read with acquire and written with release, the kernel's
 * side being smp_rmb/smp_wmb around the same words.
 */
#include "copy/send/send_ring.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* Where a frame's data starts (af_packet.c: tp_hdrlen - sizeof(sockaddr_ll)
 * without PACKET_TX_HAS_OFF). */
#define DATA_OFFSET TPACKET_ALIGN(sizeof(struct tpacket2_hdr))
#define FRAME_MIN 2048u
#define BLOCK_MIN (64u * 1024u)
#define EINTR_RETRIES 3

struct send_ring {
	int fd;
	uint8_t *map;
	size_t map_bytes;
	size_t frame_size;
	unsigned frames;
	unsigned head;		/* index of the next frame to fill */
	unsigned unsent;	/* submitted, not taken: [khead, head) */
	unsigned inflight;	/* taken, not reclaimed: [tail, khead) */
	struct session_key *keys;
	uint32_t *lens;
};

static struct tpacket2_hdr *frame_at(const struct send_ring *r, unsigned i)
{
	return (struct tpacket2_hdr *)(void *)(r->map + (size_t)i * r->frame_size);
}

static unsigned ring_index(const struct send_ring *r, unsigned from, unsigned back)
{
	return (from + r->frames - back) % r->frames;
}

static unsigned khead(const struct send_ring *r)
{
	return ring_index(r, r->head, r->unsent);
}

static uint32_t status_of(const struct send_ring *r, unsigned i)
{
	return __atomic_load_n(&frame_at(r, i)->tp_status, __ATOMIC_ACQUIRE);
}

static void set_status(struct send_ring *r, unsigned i, uint32_t status)
{
	__atomic_store_n(&frame_at(r, i)->tp_status, status, __ATOMIC_RELEASE);
}

/* AVAILABLE may carry timestamp bits (TP_STATUS_TS_*) from the destructor. */
static int is_available(uint32_t status)
{
	return (status & (TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING |
			  TP_STATUS_WRONG_FORMAT)) == 0;
}

static size_t round_up_pow2(size_t n, size_t min)
{
	size_t p = min;

	while (p < n)
		p <<= 1;
	return p;
}

struct send_ring *send_ring_open(int fd, int ifindex, size_t room, char *err, size_t errlen)
{
	struct send_ring *r;
	struct tpacket_req req;
	struct sockaddr_ll at;
	int version = TPACKET_V2;
	size_t block;

	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->fd = fd;
	r->map = MAP_FAILED;
	/* Powers of two, so frames tile the blocks and blocks the pages. */
	r->frame_size = round_up_pow2(DATA_OFFSET + room, FRAME_MIN);
	r->frames = (unsigned)(SEND_RING_BYTES_DEFAULT / r->frame_size);
	if (r->frames < SEND_RING_FRAMES_MIN)
		r->frames = SEND_RING_FRAMES_MIN;
	block = r->frame_size > BLOCK_MIN ? r->frame_size : BLOCK_MIN;
	r->map_bytes = (size_t)r->frames * r->frame_size;
	memset(&req, 0, sizeof(req));
	req.tp_block_size = (unsigned)block;
	req.tp_block_nr = (unsigned)(r->map_bytes / block);
	req.tp_frame_size = (unsigned)r->frame_size;
	req.tp_frame_nr = r->frames;
	r->keys = calloc(r->frames, sizeof(*r->keys));
	r->lens = calloc(r->frames, sizeof(*r->lens));
	if (!r->keys || !r->lens) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) != 0) {
		snprintf(err, errlen, "setsockopt(PACKET_VERSION, TPACKET_V2): %s", strerror(errno));
		goto fail;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)) != 0) {
		snprintf(err, errlen, "setsockopt(PACKET_TX_RING, %u frames of %zu bytes): %s",
			 r->frames, r->frame_size, strerror(errno));
		goto fail;
	}
	r->map = mmap(NULL, r->map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r->map == MAP_FAILED) {
		snprintf(err, errlen, "mmap(PACKET_TX_RING, %zu bytes): %s", r->map_bytes,
			 strerror(errno));
		goto fail;
	}
	/* send(fd, NULL, 0) names no address: the kernel sends on the device
	 * the socket is bound to. Protocol 0 receives nothing; the kernel
	 * reads each frame's protocol from its Ethernet header. */
	memset(&at, 0, sizeof(at));
	at.sll_family = AF_PACKET;
	at.sll_ifindex = ifindex;
	if (bind(fd, (struct sockaddr *)&at, sizeof(at)) != 0) {
		snprintf(err, errlen, "bind(AF_PACKET, ifindex %d): %s", ifindex, strerror(errno));
		goto fail;
	}
	return r;
fail:
	send_ring_close(r);
	return NULL;
}

void send_ring_close(struct send_ring *r)
{
	if (!r)
		return;
	if (r->map != MAP_FAILED)
		munmap(r->map, r->map_bytes);
	free(r->keys);
	free(r->lens);
	free(r);
}

/* Move tail past the frames the driver is done with. */
static void reclaim(struct send_ring *r)
{
	while (r->inflight > 0) {
		unsigned tail = ring_index(r, khead(r), r->inflight);

		if (!is_available(status_of(r, tail)))
			break;
		r->inflight--;
	}
}

uint8_t *send_ring_claim(struct send_ring *r)
{
	if (r->unsent + r->inflight == r->frames)
		reclaim(r);
	if (r->unsent + r->inflight == r->frames)
		return NULL;
	return (uint8_t *)frame_at(r, r->head) + DATA_OFFSET;
}

void send_ring_submit(struct send_ring *r, size_t len, const struct session_key *k)
{
	struct tpacket2_hdr *h = frame_at(r, r->head);

	h->tp_len = (uint32_t)len;
	r->keys[r->head] = *k;
	r->lens[r->head] = (uint32_t)len;
	set_status(r, r->head, TP_STATUS_SEND_REQUEST);
	r->head = (r->head + 1) % r->frames;
	r->unsent++;
}

unsigned send_ring_unsent(const struct send_ring *r)
{
	return r->unsent;
}

/* Count the frames the kernel took since the last look. */
static void collect_taken(struct send_ring *r, struct send_ring_kick *out)
{
	while (r->unsent > 0) {
		unsigned k = khead(r);
		uint32_t status = status_of(r, k);

		if (status & (TP_STATUS_SEND_REQUEST | TP_STATUS_WRONG_FORMAT))
			break;
		out->taken++;
		out->bytes += r->lens[k];
		r->unsent--;
		r->inflight++;
	}
}

/* Take the WRONG_FORMAT frame at khead out: the queued frames behind it
 * move down one place, the last place becomes free. */
static void drop_head(struct send_ring *r)
{
	unsigned at = khead(r);

	for (unsigned n = 1; n < r->unsent; n++) {
		unsigned next = (at + 1) % r->frames;

		memcpy((uint8_t *)frame_at(r, at) + DATA_OFFSET,
		       (uint8_t *)frame_at(r, next) + DATA_OFFSET, r->lens[next]);
		frame_at(r, at)->tp_len = r->lens[next];
		r->keys[at] = r->keys[next];
		r->lens[at] = r->lens[next];
		set_status(r, at, TP_STATUS_SEND_REQUEST);
		at = next;
	}
	set_status(r, at, TP_STATUS_AVAILABLE);
	r->head = at;
	r->unsent--;
}

/* Every queued frame refused with err and freed. */
static void drop_unsent(struct send_ring *r, int err, send_ring_refuse_fn refuse, void *ctx,
			struct send_ring_kick *out)
{
	while (r->unsent > 0) {
		unsigned k = khead(r);

		refuse(ctx, &r->keys[k], err);
		set_status(r, k, TP_STATUS_AVAILABLE);
		r->unsent--;
		out->refused++;
	}
	r->head = khead(r);
}

struct send_ring_kick send_ring_kick(struct send_ring *r, send_ring_refuse_fn refuse, void *ctx)
{
	struct send_ring_kick out = { 0 };
	int interrupted = 0;

	/* Each round either ends the kick or removes one refused frame, so
	 * this is bounded by the frames queued. */
	while (r->unsent > 0) {
		ssize_t sent = send(r->fd, NULL, 0, MSG_DONTWAIT);
		int e = sent < 0 ? errno : 0;
		unsigned k;

		out.calls++;
		collect_taken(r, &out);
		if (r->unsent == 0)
			break;
		k = khead(r);
		if (status_of(r, k) & TP_STATUS_WRONG_FORMAT) {
			refuse(ctx, &r->keys[k], e ? e : EINVAL);
			out.refused++;
			drop_head(r);
			continue;
		}
		if (e == EINTR && interrupted++ < EINTR_RETRIES)
			continue;
		if (e == 0 || e == ENOBUFS || e == EAGAIN || e == EWOULDBLOCK || e == EINTR) {
			out.waiting = r->unsent;
			break;
		}
		drop_unsent(r, e, refuse, ctx, &out);
	}
	return out;
}

size_t send_ring_room(const struct send_ring *r)
{
	return r->frame_size - DATA_OFFSET;
}

size_t send_ring_bytes(const struct send_ring *r)
{
	return r->map_bytes;
}

unsigned send_ring_frames(const struct send_ring *r)
{
	return r->frames;
}
