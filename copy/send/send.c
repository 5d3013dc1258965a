/*
 * send.c — the queue both send backends share: fixed frame buffers,
 * sendmmsg batches, and what each errno becomes.
 *
 * Frames are copied into one arena sized at open, so queueing allocates
 * nothing. A batch goes out when it is full (batch frames, or the arena
 * cannot take the next frame) and at send_flush(). Consecutive frames for
 * the same socket share one sendmmsg (the raw backend has one socket per
 * address family).
 *
 * sendmmsg stops at the first frame the kernel refuses: when some went
 * first it returns their count and the error is lost, so the refused frame
 * is tried again alone, and then the errno is its own.
 *
 * Refusals are kept (one per session) and reported through the fail
 * callback from send_flush() only, never from send_queue(): send_queue()
 * runs inside the engine's sink, and the daemon's answer to a failure is
 * to end the session in the engine.
 */
#include "copy/send/send.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "copy/send/send_backend.h"

#define BATCH_DEFAULT 64
#define BATCH_MAX 1024
#define FRAME_BYTES_TYPICAL 2048	/* arena per batch slot: an MTU-size frame */
#define FRAME_ALIGN 16
#define EINTR_RETRIES 3
#define FLUSH_ROUNDS 4	/* flushes of what the fail callbacks queued (RSTs) */

struct send_failure {
	struct session_key key;
	int err;
};

struct sender {
	const struct send_backend *backend;
	void *priv;
	struct send_ring *ring;	/* the backend's TX ring, or NULL */
	unsigned ring_new;	/* frames submitted since its last kick */
	send_fail_fn fail;
	void *ctx;
	struct send_counters counters;

	unsigned batch;
	unsigned queued;
	struct mmsghdr *messages;
	struct iovec *iov;
	struct send_slot *slots;
	struct session_key *keys;
	uint8_t *arena;
	size_t arena_bytes;
	size_t arena_used;

	/* Refusals waiting for send_flush(), one per session; a copy is
	 * taken before the callbacks run, since they queue and flush. */
	struct send_failure *failures;
	struct send_failure *reporting;
	unsigned failure_count;
	bool flushing;
};

static size_t frame_room(size_t len)
{
	return (SEND_FRAME_HEADER_MAX + len + FRAME_ALIGN - 1) & ~(size_t)(FRAME_ALIGN - 1);
}

static void note_failure(struct sender *s, const struct session_key *k, int err)
{
	for (unsigned i = 0; i < s->failure_count; i++)
		if (memcmp(&s->failures[i].key, k, sizeof(*k)) == 0)
			return;
	/* Full: this session is reported when its retransmission fails. */
	if (s->failure_count == s->batch)
		return;
	s->failures[s->failure_count].key = *k;
	s->failures[s->failure_count].err = err;
	s->failure_count++;
}

/* The kernel refused a frame of session k with err. */
static void refused_key(struct sender *s, const struct session_key *k, int err)
{
	switch (err) {
	case ENOBUFS:
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
		/* Queue or qdisc full: dropped; the engine's retransmission
		 * timer sends it again. */
		s->counters.retry++;
		return;
	case EMSGSIZE:
		s->counters.too_big++;
		break;
	default:
		s->counters.failed++;
		break;
	}
	note_failure(s, k, err);
}

static void refused(struct sender *s, unsigned i, int err)
{
	refused_key(s, &s->keys[i], err);
}

static void ring_refused(void *ctx, const struct session_key *k, int err)
{
	refused_key(ctx, k, err);
}

/* One batch of the TX ring to the kernel. */
static void ring_kick(struct sender *s)
{
	struct send_ring_kick kick = send_ring_kick(s->ring, ring_refused, s);

	s->ring_new = 0;
	s->counters.batches += kick.calls;
	s->counters.packets += kick.taken;
	s->counters.bytes += kick.bytes;
	if (kick.waiting)
		s->counters.ring_deferred++;
}

/* send_queue() for the TX ring: the backend writes the frame in place. */
static enum engine_send_result ring_queue(struct sender *s, const struct session_key *k,
					  const uint8_t *pkt, size_t len)
{
	struct send_slot slot;
	enum engine_send_result r;
	size_t frame_len = 0;
	uint8_t *frame;

	/* Longer than a frame holds is longer than the device's MTU: the
	 * backend would refuse it the same way. */
	if (SEND_FRAME_HEADER_MAX + len > send_ring_room(s->ring))
		return ENGINE_SEND_TOO_BIG;
	frame = send_ring_claim(s->ring);
	/* Kick to make room only with frames the kernel has not seen: when
	 * the ring is full of frames it could not take, another send() now
	 * would not help; the next flush tries. */
	if (!frame && s->ring_new > 0) {
		ring_kick(s);
		frame = send_ring_claim(s->ring);
	}
	if (!frame) {
		/* Every frame queued or still on its way: dropped, as for
		 * EAGAIN; the engine's retransmission sends it again. */
		s->counters.ring_full++;
		s->counters.retry++;
		return ENGINE_SEND_OK;
	}
	r = s->backend->prepare(s->priv, pkt, len, frame, &frame_len, &slot);
	if (r != ENGINE_SEND_OK)
		return r;
	send_ring_submit(s->ring, frame_len, k);
	if (++s->ring_new >= s->batch)
		ring_kick(s);
	return ENGINE_SEND_OK;
}

/* Send frames [first, end), all for one socket. */
static void send_run(struct sender *s, unsigned first, unsigned end)
{
	int fd = s->slots[first].fd;
	unsigned i = first;
	int interrupted = 0;

	while (i < end) {
		int sent = sendmmsg(fd, s->messages + i, end - i, MSG_DONTWAIT);

		s->counters.batches++;
		if (sent > 0) {
			for (unsigned k = i; k < i + (unsigned)sent; k++) {
				s->counters.packets++;
				s->counters.bytes += s->messages[k].msg_len;
			}
			i += (unsigned)sent;
		} else if (sent < 0 && errno == EINTR && interrupted++ < EINTR_RETRIES) {
			continue;
		} else {
			refused(s, i, sent < 0 ? errno : EIO);
			i++;
		}
	}
}

static void send_queued(struct sender *s)
{
	unsigned first = 0;

	if (s->ring) {
		ring_kick(s);
		return;
	}
	while (first < s->queued) {
		unsigned end = first + 1;

		while (end < s->queued && s->slots[end].fd == s->slots[first].fd)
			end++;
		send_run(s, first, end);
		first = end;
	}
	s->queued = 0;
	s->arena_used = 0;
}

enum engine_send_result send_queue(struct sender *s, const struct session_key *k,
				   const uint8_t *pkt, size_t len)
{
	struct send_slot *slot;
	struct mmsghdr *m;
	enum engine_send_result r;
	uint8_t *frame;
	size_t frame_len = 0;

	if (len == 0 || len > SEND_PACKET_MAX)
		return ENGINE_SEND_FAILED;
	if (s->ring)
		return ring_queue(s, k, pkt, len);
	if (s->queued == s->batch || s->arena_used + frame_room(len) > s->arena_bytes)
		send_queued(s);
	slot = &s->slots[s->queued];
	frame = s->arena + s->arena_used;
	r = s->backend->prepare(s->priv, pkt, len, frame, &frame_len, slot);
	if (r != ENGINE_SEND_OK)
		return r;
	s->keys[s->queued] = *k;
	s->iov[s->queued].iov_base = frame;
	s->iov[s->queued].iov_len = frame_len;
	m = &s->messages[s->queued];
	memset(m, 0, sizeof(*m));
	m->msg_hdr.msg_name = &slot->addr;
	m->msg_hdr.msg_namelen = slot->addr_len;
	m->msg_hdr.msg_iov = &s->iov[s->queued];
	m->msg_hdr.msg_iovlen = 1;
	s->queued++;
	s->arena_used += frame_room(len);
	return ENGINE_SEND_OK;
}

void send_flush(struct sender *s)
{
	/* A fail callback that flushes is inside this loop already. */
	if (s->flushing)
		return;
	s->flushing = true;
	for (int round = 0; round < FLUSH_ROUNDS; round++) {
		unsigned count;

		send_queued(s);
		count = s->failure_count;
		if (count == 0)
			break;
		memcpy(s->reporting, s->failures, count * sizeof(*s->failures));
		s->failure_count = 0;
		for (unsigned i = 0; i < count; i++)
			s->fail(s->ctx, &s->reporting[i].key, s->reporting[i].err);
		if ((s->ring ? send_ring_unsent(s->ring) : s->queued) == 0 &&
		    s->failure_count == 0)
			break;
	}
	s->flushing = false;
}

const struct send_counters *send_counters(const struct sender *s)
{
	return &s->counters;
}

size_t send_tx_ring_bytes(const struct sender *s)
{
	return s->ring ? send_ring_bytes(s->ring) : 0;
}

const char *send_tx_ring_fallback(const struct sender *s)
{
	return s->backend->ring_fallback ? s->backend->ring_fallback(s->priv) : "";
}

static void sender_free(struct sender *s)
{
	free(s->messages);
	free(s->iov);
	free(s->slots);
	free(s->keys);
	free(s->arena);
	free(s->failures);
	free(s->reporting);
	free(s);
}

static struct sender *sender_new(unsigned batch)
{
	struct sender *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->batch = batch;
	s->arena_bytes = (size_t)batch * FRAME_BYTES_TYPICAL;
	/* Room for two frames of the largest packet, so one always fits
	 * after a flush. */
	if (s->arena_bytes < 2 * frame_room(SEND_PACKET_MAX))
		s->arena_bytes = 2 * frame_room(SEND_PACKET_MAX);
	s->messages = calloc(batch, sizeof(*s->messages));
	s->iov = calloc(batch, sizeof(*s->iov));
	s->slots = calloc(batch, sizeof(*s->slots));
	s->keys = calloc(batch, sizeof(*s->keys));
	s->failures = calloc(batch, sizeof(*s->failures));
	s->reporting = calloc(batch, sizeof(*s->reporting));
	s->arena = malloc(s->arena_bytes);
	if (!s->messages || !s->iov || !s->slots || !s->keys || !s->failures ||
	    !s->reporting || !s->arena) {
		sender_free(s);
		return NULL;
	}
	return s;
}

struct sender *send_open(const struct send_config *cfg, send_fail_fn fail, void *ctx,
			 char *err, size_t errlen)
{
	unsigned batch = cfg->batch ? cfg->batch : BATCH_DEFAULT;
	struct sender *s;
	int r;

	if (batch > BATCH_MAX) {
		snprintf(err, errlen, "send: batch %u is more than %d", batch, BATCH_MAX);
		return NULL;
	}
	if (!fail) {
		snprintf(err, errlen, "send: no fail callback");
		return NULL;
	}
	s = sender_new(batch);
	if (!s) {
		snprintf(err, errlen, "send: out of memory");
		return NULL;
	}
	s->fail = fail;
	s->ctx = ctx;
	switch (cfg->kind) {
	case SEND_RAW:
		if (cfg->tunnel.kind != ENCAP_NONE)
			r = send_tunnel_open(cfg, &s->backend, &s->priv, err, errlen);
		else
			r = send_raw_open(cfg, &s->backend, &s->priv, err, errlen);
		break;
	case SEND_PACKET:
		r = send_packet_open(cfg, &s->backend, &s->priv, err, errlen);
		break;
	default:
		snprintf(err, errlen, "send: unknown kind %d", (int)cfg->kind);
		r = -1;
		break;
	}
	if (r != 0) {
		sender_free(s);
		return NULL;
	}
	if (s->backend->ring)
		s->ring = s->backend->ring(s->priv);
	return s;
}

void send_close(struct sender *s)
{
	if (!s)
		return;
	send_queued(s);
	s->backend->close(s->priv);
	sender_free(s);
}

int send_set_sndbuf(int fd, uint32_t bytes, char *err, size_t errlen)
{
	int value = (int)bytes;

	if (bytes == 0)
		return 0;
	if (bytes > (uint32_t)(INT32_MAX / 2)) {
		snprintf(err, errlen, "send: sndbuf %u is too large", bytes);
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &value, sizeof(value)) != 0) {
		snprintf(err, errlen, "setsockopt(SO_SNDBUF, %u): %s", bytes, strerror(errno));
		return -1;
	}
	return 0;
}
