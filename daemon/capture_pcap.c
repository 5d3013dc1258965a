/*
 * capture_pcap.c — live capture through libpcap, for set-ups where
 * libpcap is the way in (PF_RING's or a vendor's libpcap, another OS).
 *
 * The handle is activated in immediate mode (packets as they come, not
 * when a buffer fills), non-blocking, with direction "in" so our own
 * output is left out, and its selectable fd is watched by the loop. A
 * wake-up reads at most DISPATCH_ROUNDS buffers: the loop gets its turn
 * and, level-triggered, calls again while more is waiting.
 */
#include "capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define DISPATCH_ROUNDS 8
#define SLL_PACKET_OUTGOING 4	/* packet type of the cooked headers (pcap-linktype(7)) */

struct pcap_capture {
	pcap_t *handle;
	int fd;
	struct loop *loop;
	enum link_type link;
	/* pcap_setdirection() was refused: the cooked header's packet type
	 * is the only way left to see our own output. */
	bool check_direction;
};

static bool is_own_output(const struct pcap_capture *pc, const uint8_t *frame, size_t len)
{
	if (!pc->check_direction)
		return false;
	if (pc->link == LINK_LINUX_SLL && len >= 2)
		return (frame[0] << 8 | frame[1]) == SLL_PACKET_OUTGOING;
	if (pc->link == LINK_LINUX_SLL2 && len >= 11)
		return frame[10] == SLL_PACKET_OUTGOING;
	return false;
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct capture *c = (struct capture *)user;
	struct pcap_capture *pc = c->priv;
	uint64_t ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;

	if (is_own_output(pc, bytes, h->caplen)) {
		c->counters.own_output++;
		return;
	}
	capture_deliver_frame(c, pc->link, ts_us, bytes, h->caplen);
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
		if (pcap_dispatch(pc->handle, -1, on_packet, (u_char *)c) <= 0)
			return;
}

/* pcap_activate's warnings (> 0) are fine; errors name the device. */
static int activate(struct pcap_capture *pc, const char *device, char *err, size_t errlen)
{
	int r = pcap_activate(pc->handle);

	if (r >= 0)
		return 0;
	if (r == PCAP_ERROR_NO_SUCH_DEVICE)
		snprintf(err, errlen, "%s: no such device", device);
	else if (r == PCAP_ERROR_PERM_DENIED)
		snprintf(err, errlen, "%s: permission denied (%s)", device, pcap_geterr(pc->handle));
	else
		snprintf(err, errlen, "%s: %s", device, pcap_geterr(pc->handle));
	return -1;
}

static int configure(struct pcap_capture *pc, const struct capture_config *cfg,
		     const char *device, char *err, size_t errlen)
{
	uint32_t snaplen = cfg->snaplen ? cfg->snaplen : CAPTURE_SNAPLEN_DEFAULT;
	uint32_t buffer = cfg->ring_bytes ? cfg->ring_bytes : CAPTURE_RING_BYTES_DEFAULT;
	char errbuf[PCAP_ERRBUF_SIZE];

	if (pcap_set_snaplen(pc->handle, (int)snaplen) != 0 ||
	    pcap_set_immediate_mode(pc->handle, 1) != 0 ||
	    pcap_set_buffer_size(pc->handle, (int)buffer) != 0 ||
	    pcap_set_promisc(pc->handle, 0) != 0) {
		snprintf(err, errlen, "%s: cannot set capture options", device);
		return -1;
	}
	if (activate(pc, device, err, errlen) != 0)
		return -1;
	if (capture_link_from_dlt(pcap_datalink(pc->handle), &pc->link) != 0) {
		snprintf(err, errlen, "%s: link type %s not supported (Ethernet, Linux cooked, raw IP)",
			 device, pcap_datalink_val_to_name(pcap_datalink(pc->handle)) ?: "unknown");
		return -1;
	}
	pc->check_direction = pcap_setdirection(pc->handle, PCAP_D_IN) != 0;
	if (pcap_setnonblock(pc->handle, 1, errbuf) != 0) {
		snprintf(err, errlen, "%s: %s", device, errbuf);
		return -1;
	}
	pc->fd = pcap_get_selectable_fd(pc->handle);
	if (pc->fd < 0) {
		snprintf(err, errlen, "%s: libpcap gives no descriptor to poll", device);
		return -1;
	}
	return 0;
}

static int set_filter(struct pcap_capture *pc, const char *expr, char *err, size_t errlen)
{
	struct bpf_program bpf;
	int r;

	if (!expr || !*expr)
		return 0;
	if (pcap_compile(pc->handle, &bpf, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, errlen, "filter '%s': %s", expr, pcap_geterr(pc->handle));
		return -1;
	}
	r = pcap_setfilter(pc->handle, &bpf);
	pcap_freecode(&bpf);
	if (r != 0) {
		snprintf(err, errlen, "filter '%s': %s", expr, pcap_geterr(pc->handle));
		return -1;
	}
	return 0;
}

static int pcap_capture_open(struct capture *c, struct loop *l, const struct capture_config *cfg,
			     char *err, size_t errlen)
{
	const char *device = cfg->device && *cfg->device ? cfg->device : "any";
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_capture *pc = calloc(1, sizeof(*pc));

	if (!pc) {
		snprintf(err, errlen, "pcap: out of memory");
		return -1;
	}
	pc->loop = l;
	pc->handle = pcap_create(device, errbuf);
	if (!pc->handle) {
		snprintf(err, errlen, "%s: %s", device, errbuf);
		free(pc);
		return -1;
	}
	if (configure(pc, cfg, device, err, errlen) != 0 ||
	    set_filter(pc, cfg->filter, err, errlen) != 0)
		goto fail;
	c->priv = pc;
	if (loop_add_fd(l, pc->fd, LOOP_READ, on_readable, c) != 0) {
		snprintf(err, errlen, "pcap: loop_add_fd: %s", strerror(errno));
		c->priv = NULL;
		goto fail;
	}
	return 0;
fail:
	pcap_close(pc->handle);
	free(pc);
	return -1;
}

static void pcap_capture_update_stats(struct capture *c)
{
	struct pcap_capture *pc = c->priv;
	struct pcap_stat stats;

	/* libpcap's counts run from activation: assign, do not add. */
	if (pcap_stats(pc->handle, &stats) == 0)
		c->counters.kernel_drops = stats.ps_drop;
}

static void pcap_capture_close(struct capture *c)
{
	struct pcap_capture *pc = c->priv;

	if (!pc)
		return;
	pcap_capture_update_stats(c);
	loop_del_fd(pc->loop, pc->fd);
	pcap_close(pc->handle);
	free(pc);
	c->priv = NULL;
}

const struct capture_ops capture_pcap_ops = {
	.name = "pcap",
	.open = pcap_capture_open,
	.update_stats = pcap_capture_update_stats,
	.close = pcap_capture_close,
};
