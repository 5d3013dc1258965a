/*
 * capture_pcap.c — live capture through libpcap, for set-ups where
 * libpcap is the way in (PF_RING's or a vendor's libpcap, another OS).
 *
 * The handle is opened by lib/runtime/pcap_live.c (immediate mode, non-blocking,
 * direction "in" so our own output is left out, the filter set) and its
 * selectable fd is watched by the loop. A wake-up reads at most
 * DISPATCH_ROUNDS buffers: the loop gets its turn and, level-triggered,
 * calls again while more is waiting. Where the kernel refused the
 * direction, frames the cooked header marks outgoing are counted as our
 * own output and dropped. With cfg.outgoing (--compare) both directions
 * are read and this host's own packets are delivered with c->outgoing
 * set, as the AF_PACKET ring does: one handle, so answers and requests
 * come in the order the kernel saw them, which the pairing needs.
 */
#include "copy/capture/capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/runtime/pcap_live.h"

#define DISPATCH_ROUNDS 8

struct pcap_capture {
	struct pcap_live live;
	struct loop *loop;
	bool outgoing;		/* cfg.outgoing: hand outgoing packets over too */
};

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct capture *c = (struct capture *)user;
	struct pcap_capture *pc = c->priv;
	uint64_t ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;

	c->outgoing = pcap_live_is_outgoing(&pc->live, bytes, h->caplen);
	if (c->outgoing && !pc->outgoing) {
		c->counters.own_output++;
		return;
	}
	capture_deliver_frame(c, pc->live.dlt, ts_us, bytes, h->caplen);
}

static void on_readable(struct loop *l, int fd, unsigned events, void *arg)
{
	struct capture *c = arg;
	struct pcap_capture *pc = c->priv;

	if (events & LOOP_ERROR) {
		/* As in capture_afpacket.c: a pending socket error (ENETDOWN)
		 * is cleared by reading it, or epoll reports it forever. */
		int soerr;
		socklen_t len = sizeof(soerr);

		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	}
	/* -1 takes what one buffer (one ring block) holds; an error (the
	 * interface went away) is left for update_stats to notice. */
	for (int round = 0; round < DISPATCH_ROUNDS; round++)
		if (pcap_dispatch(pc->live.handle, -1, on_packet, (u_char *)c) <= 0)
			return;
}

static int pcap_capture_open(struct capture *c, struct loop *l, const struct capture_config *cfg,
			     char *err, size_t errlen)
{
	struct pcap_live_config live_cfg = {
		.device = cfg->device,
		.snaplen = cfg->snaplen ? cfg->snaplen : CAPTURE_SNAPLEN_DEFAULT,
		.buffer_bytes = cfg->ring_bytes ? cfg->ring_bytes : CAPTURE_RING_BYTES_DEFAULT,
		.filter = cfg->filter,
		.both_directions = cfg->outgoing,
	};
	struct pcap_capture *pc = calloc(1, sizeof(*pc));

	if (!pc) {
		snprintf(err, errlen, "pcap: out of memory");
		return -1;
	}
	pc->loop = l;
	pc->outgoing = cfg->outgoing;
	if (pcap_live_open(&pc->live, &live_cfg, err, errlen) != 0) {
		free(pc);
		return -1;
	}
	c->priv = pc;
	if (loop_add_fd(l, pc->live.fd, LOOP_READ, on_readable, c) != 0) {
		snprintf(err, errlen, "pcap: loop_add_fd: %s", strerror(errno));
		c->priv = NULL;
		pcap_live_close(&pc->live);
		free(pc);
		return -1;
	}
	return 0;
}

static void pcap_capture_update_stats(struct capture *c)
{
	struct pcap_capture *pc = c->priv;
	struct pcap_stat stats;

	/* libpcap's counts run from activation: assign, do not add. */
	if (pcap_stats(pc->live.handle, &stats) == 0)
		c->counters.kernel_drops = stats.ps_drop;
}

static void pcap_capture_close(struct capture *c)
{
	struct pcap_capture *pc = c->priv;

	if (!pc)
		return;
	pcap_capture_update_stats(c);
	loop_del_fd(pc->loop, pc->live.fd);
	pcap_live_close(&pc->live);
	free(pc);
	c->priv = NULL;
}

const struct capture_ops capture_pcap_ops = {
	.name = "pcap",
	.open = pcap_capture_open,
	.update_stats = pcap_capture_update_stats,
	.close = pcap_capture_close,
};
