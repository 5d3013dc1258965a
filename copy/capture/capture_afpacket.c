/*
 * capture_afpacket.c — the default capture: an AF_PACKET socket with a
 * TPACKET_V2 mmap ring, a receive queue for the packets too long for a
 * frame, and a kernel BPF filter.
 *
 * The socket is cooked (SOCK_DGRAM): whatever the interface, the kernel
 * hands the filter and the ring the packet from its IP header on (outgoing
 * packets too: packet_rcv pulls their data-link header), with VLAN tags already
 * moved out into tp_vlan_tci. So the filter is compiled for DLT_RAW and one
 * program fits every interface when capturing on all of them.
 *
 * Order of set-up matters: the socket is created with protocol 0, which
 * receives nothing; the filter, the ring and PACKET_IGNORE_OUTGOING are in
 * place before bind() names ETH_P_ALL, so no unfiltered packet is ever
 * queued.
 *
 * Why TPACKET_V2 and not V3. The replay leaves the online host as soon as
 * the daemon sees the packet, so the capture's wake-up is the replay's
 * delay. A V3 ring wakes its reader per retired block: a block retires
 * when full or when its timeout passed, and the timeout's floor is one
 * kernel tick (4 ms at HZ=250; we had 8 ms): on a quiet link every packet
 * waited 4 ms on average, 8 at worst (measured with bench/capture_bench:
 * p50 4.3 ms, p99 8 ms at 100 to 10,000 packets/s). A V2 ring wakes the
 * reader per frame (tpacket_rcv calls sk_data_ready for each): p50 tens of
 * microseconds. A reader that is busy is not woken again, so under load one
 * wake-up still drains many frames, and epoll stays level-triggered (the
 * socket is readable while the newest frame is the reader's).
 *
 * V2's frames have one fixed size, which is what kept us on V3: frames
 * big enough for any packet (a GRO super-packet or BIG TCP, up to 256 KiB)
 * would make the ring hold a few hundred packets. So frames are small
 * (FRAME_BYTES: 432 bytes of packet after 80 of headers: the requests and
 * acknowledgments a client sends) and longer packets take the kernel's
 * copy path (PACKET_COPY_THRESH): the frame gets the packet cut short with
 * TP_STATUS_COPY set, and the whole packet is queued on the socket's
 * receive queue, in the same order (both under the queue's lock), where
 * recv() picks it up when the walk reaches that frame. The receive queue
 * is bounded by SO_RCVBUF (half the ring's bytes, RCVBUF_SHARE, which the
 * kernel doubles for its overhead: as much again as the ring, counted in
 * the skbs' true sizes; a quarter lost GRO super-packets in the e2e
 * redis-large once, under load); when it is full the kernel
 * leaves TP_STATUS_COPY off and the packet arrives cut: counted as a
 * kernel drop, never delivered cut.
 *
 * The geometry decides how long a stall of the daemon the ring rides out:
 * frames / packet rate for packets that fit a frame. The default 64 MiB
 * makes 131,072 frames: 3.3 s at 40,000 packets/s (the lab's wrk load at
 * online), 6.6 s at 20,000. V3 packed small packets densely (~1,000 per
 * 256 KiB block) and rode out about as much when busy, ~2 s (256 blocks x
 * 8 ms) when quiet. Frames of 1,600 bytes (a whole MTU-1500 packet) were
 * tried first: 41,472 frames, and a 2 s SIGSTOP under the lab's wrk load
 * lost 32,000 to 44,000 packets where V3 lost 0 to 3. What the small frames
 * give up: a stall with a stream of long packets (uploads) is bounded by
 * the receive queue (64 MiB of kernel memory by default, about 20,000
 * MTU-size packets) instead, and each long packet costs one recv(). Measured with
 * bench/capture_bench and bench/lab.sh's stall part (docs/performance.md).

 * Sized to the traffic (cfg.ring_auto): capture_afpacket_size.c.
 */
#include "copy/capture/capture_afpacket.h"
#include "lib/net/packet_dlt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23	/* Linux 4.20 */
#endif

/* 80 bytes of headers (tpacket2_hdr and sockaddr_ll, aligned, then 16 for
 * a link header a cooked socket does not use) and 432 of packet: requests
 * and acknowledgments fit; see the note above. */
#define FRAME_BYTES AFPACKET_FRAME_BYTES
#define BLOCK_BYTES (128u << 10)	/* 256 frames; the kernel allocates 2^n pages per block */
#define BLOCKS_MIN 4
#define RCVBUF_SHARE 2		/* the receive queue for long packets: ring / 2, doubled */
#define RCVBUF_MIN (1u << 20)
/* Frames handled per wake-up before the loop gets a turn; epoll is
 * level-triggered, so the rest wakes us again at once. */
#define FRAMES_PER_WAKEUP 512
static int fail_errno(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	return -1;
}

int afpacket_attach_filter(int fd, const char *filter, uint32_t snaplen, char *err, size_t errlen)
{
	struct sock_fprog prog;
	int r;

	if (capture_compile_filter(filter, DLT_RAW, snaplen, &prog, err, errlen) != 0)
		return -1;
	r = setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
	free(prog.filter);
	if (r != 0)
		return fail_errno(err, errlen, "setsockopt(SO_ATTACH_FILTER)");
	return 0;
}

/* A filter that takes nothing: a socket joining the fanout group has it
 * until its own hook cannot deliver any more (the switch, above). */
static int attach_drop_all(int fd, char *err, size_t errlen)
{
	struct sock_filter none[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog prog = { .len = 1, .filter = none };

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0)
		return fail_errno(err, errlen, "setsockopt(SO_ATTACH_FILTER, drop all)");
	return 0;
}

/* The receive queue is sized from queue_basis: the cap of a ring sized to
 * the traffic, so that the long packets' room does not shrink with it (it
 * is a bound, not memory taken at start). */
static int setup_ring(struct afring *a, uint32_t ring_bytes, uint32_t queue_basis, char *err,
		      size_t errlen)
{
	int version = TPACKET_V2, one = 1;
	uint32_t block_count = ring_bytes / BLOCK_BYTES;
	int rcvbuf = (int)(queue_basis / RCVBUF_SHARE);
	struct tpacket_req req;

	if (setsockopt(a->fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) != 0)
		return fail_errno(err, errlen, "setsockopt(PACKET_VERSION, TPACKET_V2)");
	/* Any non-zero value turns the copy path on; the kernel only
	 * checks the receive buffer's room. */
	if (setsockopt(a->fd, SOL_PACKET, PACKET_COPY_THRESH, &one, sizeof(one)) != 0)
		return fail_errno(err, errlen, "setsockopt(PACKET_COPY_THRESH)");
	if (rcvbuf < (int)RCVBUF_MIN)
		rcvbuf = RCVBUF_MIN;
	/* Past net.core.rmem_max needs CAP_NET_ADMIN, which capturing needs
	 * too; SO_RCVBUF (capped) is the fallback all the same. */
	if (setsockopt(a->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0 &&
	    setsockopt(a->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) != 0)
		return fail_errno(err, errlen, "setsockopt(SO_RCVBUF)");
	if (block_count < BLOCKS_MIN)
		block_count = BLOCKS_MIN;
	memset(&req, 0, sizeof(req));
	req.tp_block_size = BLOCK_BYTES;
	req.tp_block_nr = block_count;
	req.tp_frame_size = FRAME_BYTES;
	req.tp_frame_nr = BLOCK_BYTES / FRAME_BYTES * block_count;
	if (setsockopt(a->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) != 0) {
		snprintf(err, errlen, "setsockopt(PACKET_RX_RING, %u blocks of %u bytes): %s",
			 block_count, BLOCK_BYTES, strerror(errno));
		return -1;
	}
	a->frame_count = req.tp_frame_nr;
	a->ring_len = (size_t)BLOCK_BYTES * block_count;
	a->ring = mmap(NULL, a->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
	if (a->ring == MAP_FAILED) {
		a->ring = NULL;
		return fail_errno(err, errlen, "mmap(packet ring)");
	}
	return 0;
}

static int bind_device(int fd, const char *device, char *err, size_t errlen)
{
	struct sockaddr_ll addr;

	memset(&addr, 0, sizeof(addr));
	addr.sll_family = AF_PACKET;
	addr.sll_protocol = htons(ETH_P_ALL);
	if (device && *device && strcmp(device, "any") != 0) {
		addr.sll_ifindex = (int)if_nametoindex(device);
		if (addr.sll_ifindex == 0) {
			snprintf(err, errlen, "%s: no such device", device);
			return -1;
		}
	}
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		snprintf(err, errlen, "bind(AF_PACKET, %s): %s",
			 addr.sll_ifindex ? device : "all interfaces", strerror(errno));
		return -1;
	}
	return 0;
}

/* Frame i: frames do not span blocks, and a block's tail may be unused. */
static struct tpacket2_hdr *frame_at(const struct afring *a, uint32_t i)
{
	const uint32_t per_block = BLOCK_BYTES / FRAME_BYTES;

	return (void *)(a->ring + (size_t)(i / per_block) * BLOCK_BYTES +
			(size_t)(i % per_block) * FRAME_BYTES);
}

/* The whole of a packet the frame holds cut short: the next one on the
 * receive queue (queued in frame order). Its length, or 0. */
static size_t read_long_packet(struct capture *c, struct afpacket *a, const struct afring *r)
{
	ssize_t n = recv(r->fd, a->long_packet, a->snaplen, MSG_DONTWAIT | MSG_TRUNC);

	if (n <= 0) {
		/* The kernel queued one for this frame: it cannot be missing. */
		c->counters.malformed++;
		return 0;
	}
	return (size_t)n < a->snaplen ? (size_t)n : a->snaplen;
}

static void handle_frame(struct capture *c, struct afpacket *a, const struct afring *r,
			 const struct tpacket2_hdr *h, uint32_t status)
{
	const struct sockaddr_ll *from = (const void *)((const uint8_t *)h +
		TPACKET_ALIGN(sizeof(struct tpacket2_hdr)));
	uint64_t ts_us = (uint64_t)h->tp_sec * 1000000u + h->tp_nsec / 1000u;
	const uint8_t *data = (const uint8_t *)h + h->tp_net;
	size_t len = h->tp_snaplen;

	/* The kernel wrote these offsets; a bad one would make us read past
	 * the frame, so check rather than trust. */
	if ((size_t)h->tp_net + h->tp_snaplen > FRAME_BYTES) {
		c->counters.malformed++;
		if (status & TP_STATUS_COPY)
			read_long_packet(c, a, r);
		return;
	}
	if (status & TP_STATUS_COPY) {
		len = read_long_packet(c, a, r);
		data = a->long_packet;
		if (len == 0)
			return;
	} else if (h->tp_snaplen < h->tp_len && h->tp_snaplen < a->snaplen) {
		/* Cut by the frame, not by the snap length, and no whole copy
		 * queued: the receive buffer was full. */
		c->counters.kernel_drops++;
		return;
	}
	/* The kernel leaves these out with PACKET_IGNORE_OUTGOING; an older
	 * kernel hands them over and they stop here. */
	c->outgoing = from->sll_pkttype == PACKET_OUTGOING;
	if (c->outgoing && !a->outgoing) {
		c->counters.own_output++;
		return;
	}
	capture_deliver_frame(c, PACKET_DLT_RAW, ts_us, data, len);
}

/* Hand over up to max frames of ring r, in ring order; how many. */
uint32_t afpacket_read_ring(struct capture *c, struct afpacket *a, struct afring *r, uint32_t max)
{
	uint32_t n;

	for (n = 0; n < max; n++) {
		struct tpacket2_hdr *h = frame_at(r, r->next_frame);
		uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);

		if (!(status & TP_STATUS_USER))
			break;
		handle_frame(c, a, r, h, status);
		__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		r->next_frame = (r->next_frame + 1) % r->frame_count;
	}
	a->frames += n;
	a->window_frames += n;
	return n;
}

void afpacket_on_readable(struct loop *l, int fd, unsigned events, void *arg)
{
	struct capture *c = arg;
	struct afpacket *a = c->priv;

	if (events & LOOP_ERROR) {
		/* ENETDOWN when the interface goes down: reading SO_ERROR
		 * clears it, or epoll would report it forever. The socket
		 * captures again when the interface comes back up. */
		int soerr;
		socklen_t len = sizeof(soerr);

		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	}
	if (afpacket_read_ring(c, a, &a->cur, FRAMES_PER_WAKEUP) > 0 && a->sizing)
		afpacket_sizing_check(c);
}

void afpacket_ring_free(struct afring *r)
{
	if (r->ring)
		munmap(r->ring, r->ring_len);
	if (r->fd >= 0)
		close(r->fd);
	r->ring = NULL;
	r->fd = -1;
}

static void afpacket_free(struct afpacket *a)
{
	afpacket_ring_free(&a->cur);
	free(a->long_packet);
	free(a->filter);
	free(a->device);
	free(a);
}

/* The fanout program: every packet to member `member` (0 the socket that
 * joined first). Returns after an RCU grace period when a program was set
 * before (the switch relies on it). */
int afpacket_steer(int fd, uint32_t member, char *err, size_t errlen)
{
	struct sock_filter ret[] = { BPF_STMT(BPF_RET | BPF_K, member) };
	struct sock_fprog prog = { .len = 1, .filter = ret };

	if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, &prog, sizeof(prog)) != 0)
		return fail_errno(err, errlen, "setsockopt(PACKET_FANOUT_DATA)");
	return 0;
}

/* A socket and ring of ring_bytes, bound, its filter dropping everything.
 * group < 0: it makes a new group of its own (a unique id, read back into
 * a->group); else it joins a->group. */
int afpacket_ring_open(struct afpacket *a, struct afring *r, uint32_t ring_bytes, bool new_group,
		     char *err, size_t errlen)
{
	int one = 1;

	r->fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd < 0)
		return fail_errno(err, errlen, "socket(AF_PACKET)");
	if (attach_drop_all(r->fd, err, errlen) != 0)
		return -1;
	/* Kernels before 4.20 refuse it; handle_frame() then drops our
	 * own output by its packet type instead. */
	if (!a->outgoing &&
	    setsockopt(r->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) != 0 &&
	    errno != ENOPROTOOPT)
		return fail_errno(err, errlen, "setsockopt(PACKET_IGNORE_OUTGOING)");
	if (setup_ring(r, ring_bytes, a->cap_bytes, err, errlen) != 0 ||
	    bind_device(r->fd, a->device, err, errlen) != 0)
		return -1;
	if (a->sizing) {
		uint32_t arg = new_group ?
			(uint32_t)(PACKET_FANOUT_CBPF | PACKET_FANOUT_FLAG_UNIQUEID) << 16 :
			a->group | (uint32_t)PACKET_FANOUT_CBPF << 16;
		socklen_t len = sizeof(arg);

		if (setsockopt(r->fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) != 0)
			return fail_errno(err, errlen, "setsockopt(PACKET_FANOUT, CBPF)");
		if (new_group) {
			if (getsockopt(r->fd, SOL_PACKET, PACKET_FANOUT, &arg, &len) != 0)
				return fail_errno(err, errlen, "getsockopt(PACKET_FANOUT)");
			a->group = (uint16_t)arg;
		}
	}
	return 0;
}

static int afpacket_open(struct capture *c, struct loop *l, const struct capture_config *cfg,
			 char *err, size_t errlen)
{
	uint32_t snaplen = cfg->snaplen ? cfg->snaplen : CAPTURE_SNAPLEN_DEFAULT;
	uint32_t ring_bytes = cfg->ring_bytes ? cfg->ring_bytes : CAPTURE_RING_BYTES_DEFAULT;
	struct afpacket *a = calloc(1, sizeof(*a));

	if (!a) {
		snprintf(err, errlen, "afpacket: out of memory");
		return -1;
	}
	a->cur.fd = -1;
	a->sw.efd = -1;
	a->loop = l;
	a->snaplen = snaplen;
	a->outgoing = cfg->outgoing;
	a->sizing = cfg->ring_auto && cfg->fanout == CAPTURE_FANOUT_NONE &&
		    ring_bytes > CAPTURE_RING_AUTO_MIN;
	a->cap_bytes = ring_bytes;
	a->ring_bytes = a->sizing ? CAPTURE_RING_AUTO_MIN : ring_bytes;
	a->long_packet = malloc(snaplen);
	a->filter = strdup(cfg->filter ? cfg->filter : "");
	a->device = cfg->device ? strdup(cfg->device) : NULL;
	if (!a->long_packet || !a->filter || (cfg->device && !a->device)) {
		snprintf(err, errlen, "afpacket: out of memory");
		goto fail;
	}
	/* The filter goes on last (ring_open starts with one that drops all):
	 * no packet is queued unfiltered, and none twice through the socket's
	 * own hook and the group's (set the program twice: the second waits
	 * out the first's readers). A fanout group takes only bound sockets. */
	if (a->sizing && (afpacket_ring_open(a, &a->cur, a->ring_bytes, true, err, errlen) != 0 ||
			  afpacket_steer(a->cur.fd, 0, err, errlen) != 0 ||
			  afpacket_steer(a->cur.fd, 0, err, errlen) != 0)) {
		/* A kernel without PACKET_FANOUT_CBPF (4.2) or
		 * PACKET_FANOUT_FLAG_UNIQUEID (4.20): the fixed ring at the cap,
		 * as before; any other reason fails again below and is reported. */
		afpacket_ring_free(&a->cur);
		a->sizing = false;
		a->ring_bytes = a->cap_bytes;
	}
	if ((a->cur.fd < 0 &&
	     afpacket_ring_open(a, &a->cur, a->ring_bytes, true, err, errlen) != 0) ||
	    capture_fanout_join(a->cur.fd, cfg->fanout_group, cfg->fanout, err, errlen) != 0 ||
	    afpacket_attach_filter(a->cur.fd, a->filter, snaplen, err, errlen) != 0)
		goto fail;
	c->priv = a;
	c->counters.ring_bytes = a->cur.ring_len;
	if (loop_add_fd(l, a->cur.fd, LOOP_READ, afpacket_on_readable, c) != 0) {
		fail_errno(err, errlen, "afpacket: loop_add_fd");
		c->priv = NULL;
		goto fail;
	}
	if (a->sizing && afpacket_sizing_start(c, err, errlen) != 0) {
		loop_del_fd(l, a->cur.fd);
		c->priv = NULL;
		goto fail;
	}
	return 0;
fail:
	afpacket_free(a);
	return -1;
}

void afpacket_update_stats(struct capture *c)
{
	struct afpacket *a = c->priv;
	struct tpacket_stats stats;
	socklen_t len = sizeof(stats);

	/* Reading the statistics resets them: add, do not assign. */
	memset(&stats, 0, sizeof(stats));
	if (getsockopt(a->cur.fd, SOL_PACKET, PACKET_STATISTICS, &stats, &len) == 0)
		c->counters.kernel_drops += stats.tp_drops;
}

static void afpacket_close(struct capture *c)
{
	struct afpacket *a = c->priv;

	if (!a)
		return;
	afpacket_sizing_stop(c);
	afpacket_update_stats(c);
	loop_del_fd(a->loop, a->cur.fd);
	afpacket_free(a);
	c->priv = NULL;
}

const struct capture_ops capture_afpacket_ops = {
	.name = "afpacket",
	.open = afpacket_open,
	.update_stats = afpacket_update_stats,
	.close = afpacket_close,
};
