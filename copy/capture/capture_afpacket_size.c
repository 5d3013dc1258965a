/*
 * capture_afpacket_size.c — the afpacket capture's ring sized to the
 * traffic.
 *
 * Sized to the traffic (cfg.ring_auto: no --capture-ring, one worker). A
 * mapped ring cannot be resized, so a new socket with a ring of the new
 * size replaces the old one, and the hand-over must lose and duplicate
 * nothing. Both sockets are members of one PACKET_FANOUT group, of the
 * kind whose member a classic BPF program picks (PACKET_FANOUT_CBPF): the
 * kernel hands each packet to exactly one member, the one the program
 * returns. The program returns 0 (the old socket, which joined first).
 * The switch:
 *   1. the new socket is made with a filter that drops everything, its
 *      ring, bound, and joined to the group: it gets nothing from the group
 *      (the program says 0), and whatever its own hook still delivered
 *      before it joined is dropped by its filter, never a duplicate;
 *   2. the program is set again (0): setting PACKET_FANOUT_DATA waits for
 *      an RCU grace period before it returns (synchronize_net(), to free
 *      the old program), so every delivery through the new socket's own
 *      hook has ended; then the real filter goes on the new socket;
 *   3. the program becomes "return 1": the new socket. When that setsockopt
 *      returns, another grace period has passed: every packet the old
 *      program sent to the old socket is in its ring (and its receive
 *      queue) — the demux and the ring's write are in one RCU read
 *      section — and no packet will go to it again;
 *   4. the old ring is read to its end, then the old socket closed; only
 *      then is the new one read. Each packet went to one ring, and every
 *      packet in the old ring came before the switch, so each flow's
 *      packets reach the engine in the order the kernel saw them;
 *   0. (before step 1) the program is set back to 0: the new socket of the
 *      last switch took the old one's place, index 0, when it left, and
 *      the next socket to join must get nothing.
 * Steps 1 to 3 wait for three RCU grace periods (~8-20 ms each here, far
 * more on a loaded host): they run on a thread of their own, which tells
 * the loop through an eventfd when step 3 is done; the loop goes on
 * reading the old ring meanwhile and does step 4. The thread touches only
 * the new socket and the group's program (setsockopt on the old socket's
 * fd, which the loop keeps open until it has joined the thread). How big:
 * the rate of frames the ring took sets the size that holds SIZE_SECONDS
 * of it, as a power of two between CAPTURE_RING_AUTO_MIN and the cap
 * (cfg.ring_bytes, 64 MiB by default). The reads look at it every
 * GROW_WINDOW_MS and grow the ring at once; each second a timer adds the
 * kernel's drops (twice the size at least after any) and
 * shrinks by half after SHRINK_AFTER_S seconds in a row that wanted a
 * quarter of it or less. With --workers the sockets are the workers'
 * group already (by flow or by address: a third member would move flows
 * between workers), so their rings stay fixed.
 */
#include "copy/capture/capture_afpacket.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* A ring holds this much of the last second's rate. */
#define SIZE_SECONDS 2
#define SIZE_PERIOD_MS 1000
#define SHRINK_AFTER_S 30
/* Growth looks at the rate this often, from the reads themselves (no timer
 * wakes a quiet daemon for it): a burst makes the ring grow within about
 * this much, not within a second. */
#define GROW_WINDOW_MS 100

/* Steps 0 to 3, off the loop. Never cmocka, never the loop: a->cur.fd,
 * the configuration (read only) and sw. */
static void *switch_thread(void *arg)
{
	struct afpacket *a = arg;
	struct afswitch *sw = &a->sw;
	uint64_t one = 1;
	char err[256];

	if (afpacket_steer(a->cur.fd, 0, err, sizeof(err)) != 0 ||
	    afpacket_ring_open(a, &sw->next, sw->bytes, false, err, sizeof(err)) != 0 ||
	    afpacket_steer(a->cur.fd, 0, err, sizeof(err)) != 0 ||
	    afpacket_attach_filter(sw->next.fd, a->filter, a->snaplen, err, sizeof(err)) != 0 ||
	    afpacket_steer(a->cur.fd, 1, err, sizeof(err)) != 0) {
		/* Back to the old socket; the new one, if it joined, got
		 * nothing but what its drop-all filter dropped — unless the
		 * last steer failed half-way, which no kernel path does. */
		afpacket_steer(a->cur.fd, 0, err, sizeof(err));
		afpacket_ring_free(&sw->next);
		sw->failed = true;
	}
	if (write(sw->efd, &one, sizeof(one)) != sizeof(one))
		sw->failed = true;	/* cannot happen: a counter far from its max */
	return NULL;
}

static void join_switch(struct afpacket *a)
{
	pthread_join(a->sw.thread, NULL);
	a->sw.running = false;
}

/* Step 4, on the loop: the old ring is final; read it to its end. */
static void on_switch_done(struct loop *l, int fd, unsigned events, void *arg)
{
	struct capture *c = arg;
	struct afpacket *a = c->priv;
	struct afswitch *sw = &a->sw;
	uint64_t value, took;

	if (read(fd, &value, sizeof(value)) != sizeof(value) || !sw->running)
		return;
	join_switch(a);
	if (!sw->failed && loop_add_fd(l, sw->next.fd, LOOP_READ, afpacket_on_readable, c) != 0) {
		char err[256];

		/* The group sends to the new socket already: back to the old
		 * one (this waits on the loop: epoll_ctl failing is rare). */
		afpacket_steer(a->cur.fd, 0, err, sizeof(err));
		afpacket_ring_free(&sw->next);
		sw->failed = true;
	}
	if (sw->failed) {
		c->counters.ring_resize_failures++;
		return;
	}
	while (afpacket_read_ring(c, a, &a->cur, a->cur.frame_count) > 0)
		;
	afpacket_update_stats(c);
	loop_del_fd(l, a->cur.fd);
	afpacket_ring_free(&a->cur);
	a->cur = sw->next;
	sw->next.fd = -1;
	sw->next.ring = NULL;
	a->ring_bytes = sw->bytes;
	c->counters.ring_bytes = a->cur.ring_len;
	c->counters.ring_resizes++;
	took = (loop_clock_ms() - sw->started_ms) * 1000;
	if (took > c->counters.ring_switch_us)
		c->counters.ring_switch_us = took;
}

int capture_afpacket_resize(struct capture *c, uint32_t bytes)
{
	struct afpacket *a = c->priv;
	struct afswitch *sw;
	sigset_t all, old;
	int r;

	if (!a || c->ops != &capture_afpacket_ops || !a->sizing || a->sw.running)
		return -1;
	sw = &a->sw;
	memset(&sw->next, 0, sizeof(sw->next));
	sw->next.fd = -1;
	sw->bytes = bytes;
	sw->failed = false;
	sw->started_ms = loop_clock_ms();
	/* The daemon's signals stay with the loop's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&sw->thread, NULL, switch_thread, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		c->counters.ring_resize_failures++;
		return -1;
	}
	sw->running = true;
	return 0;
}

static uint32_t pow2_at_least(uint64_t bytes)
{
	uint32_t p = CAPTURE_RING_AUTO_MIN;

	while (p < bytes && p < (1u << 30))
		p <<= 1;
	return p;
}

static uint32_t want_for(uint64_t frames, uint64_t per_ms)
{
	return pow2_at_least(frames * 1000 / per_ms * SIZE_SECONDS * AFPACKET_FRAME_BYTES);
}

void afpacket_sizing_check(struct capture *c)
{
	struct afpacket *a = c->priv;
	uint64_t now = loop_now_ms(a->loop), elapsed = now - a->window_ms;
	uint64_t want;

	if (elapsed < GROW_WINDOW_MS)
		return;
	want = want_for(a->window_frames, elapsed);
	a->window_frames = 0;
	a->window_ms = now;
	if (want > a->cap_bytes)
		want = a->cap_bytes;
	if (want > a->ring_bytes && capture_afpacket_resize(c, (uint32_t)want) == 0)
		a->quiet = 0;
}

/* Each second: the size the last second's rate wants, and its drops. */
static void on_size_timer(struct loop *l, uint64_t id, void *arg)
{
	struct capture *c = arg;
	struct afpacket *a = c->priv;
	uint64_t drops, want;

	afpacket_update_stats(c);
	drops = c->counters.kernel_drops - a->drops_seen;
	a->drops_seen = c->counters.kernel_drops;
	want = want_for(a->frames + drops, SIZE_PERIOD_MS);
	a->frames = 0;
	if (drops && want < 2ull * a->ring_bytes)
		want = 2ull * a->ring_bytes;
	if (want > a->cap_bytes)
		want = a->cap_bytes;
	if (want > a->ring_bytes) {
		a->quiet = 0;
		capture_afpacket_resize(c, (uint32_t)want);
	} else if (want * 4 <= a->ring_bytes && a->ring_bytes / 2 >= CAPTURE_RING_AUTO_MIN) {
		if (++a->quiet >= SHRINK_AFTER_S && capture_afpacket_resize(c, a->ring_bytes / 2) == 0)
			a->quiet = 0;
	} else {
		a->quiet = 0;
	}
	a->timer = loop_timer_add(l, SIZE_PERIOD_MS, on_size_timer, c);
}

int afpacket_sizing_start(struct capture *c, char *err, size_t errlen)
{
	struct afpacket *a = c->priv;

	a->sw.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (a->sw.efd < 0 || loop_add_fd(a->loop, a->sw.efd, LOOP_READ, on_switch_done, c) != 0) {
		snprintf(err, errlen, "afpacket: eventfd: %s", strerror(errno));
		if (a->sw.efd >= 0)
			close(a->sw.efd);
		a->sw.efd = -1;
		return -1;
	}
	a->window_ms = loop_now_ms(a->loop);
	a->timer = loop_timer_add(a->loop, SIZE_PERIOD_MS, on_size_timer, c);
	return 0;
}

void afpacket_sizing_stop(struct capture *c)
{
	struct afpacket *a = c->priv;

	if (a->timer)
		loop_timer_cancel(a->loop, a->timer);
	a->timer = 0;
	if (a->sw.running) {
		join_switch(a);
		afpacket_ring_free(&a->sw.next);
	}
	if (a->sw.efd >= 0) {
		loop_del_fd(a->loop, a->sw.efd);
		close(a->sw.efd);
		a->sw.efd = -1;
	}
}
