/*
 * capture_afpacket.c — the default capture: an AF_PACKET socket with a
 * TPACKET_V3 mmap ring and a kernel BPF filter.
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
 * TPACKET_V3 fills whole blocks: the kernel hands a block over when it is
 * full or when BLOCK_TIMEOUT_MS passed with at least one packet in it,
 * and we give it back by writing TP_STATUS_KERNEL into its status. A
 * packet never spans blocks (a longer one is cut to what fits), so a
 * block must hold one packet of snaplen plus the headers: the block's own
 * (48 bytes) and the packet's (tpacket3_hdr and sockaddr_ll, 96 bytes up
 * to the IP header on a cooked socket); BLOCK_HEADROOM is 256.
 *
 * The geometry decides how long a stall of the daemon the ring rides out.
 * Below about 30,000 packets/s a block retires by its timeout long before
 * it fills (256 KiB holds ~800 packets of 300 bytes), so the ring lasts
 * blocks x timeout, whatever its bytes; only a busy link fills blocks and
 * is bounded by the ring's bytes instead. Measured with a reader stopped
 * while a veth brought 3,000 small packets/s (64 MiB rings, TCP frames
 * sent paced, kernel drops counted after the stall):
 *
 *   64 x 1 MiB,   4 ms: no drop at 200 ms; 679 of 1,500 dropped at 500 ms
 *   256 x 256 KiB, 4 ms: no drop at 1 s;   2,633 of 6,000 at 2 s
 *   512 x 128 KiB, 4 ms: no drop at 2 s;   2,522 of 9,000 at 3 s
 *   256 x 256 KiB, 8 ms: no drop at 1.8 s; 1,339 of 7,500 at 2.5 s
 *                        (also none at 1.8 s with 20,000 packets/s)
 *
 * The last is the default: 256 KiB blocks, which still hold a packet of
 * CAPTURE_SNAPLEN_DEFAULT (a GRO super-packet, or a BIG TCP one of up to
 * 255 KiB, whole; 128 KiB blocks would cut BIG TCP's usual 185,000-byte
 * packets), and the kernel's own default timeout for a link of unknown
 * speed, 8 ms: a ~2 s stall ridden out instead of ~256 ms, for the same
 * memory, at the cost of up to 8 ms (4 on average) more capture latency
 * on a link that does not fill blocks, which the replay only shifts by.
 */
#include "copy/capture/capture.h"
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

#define BLOCK_BYTES_MIN (64u << 10)
#define BLOCK_HEADROOM 256u	/* block and packet headers; see the note above */
#define BLOCK_TIMEOUT_MS 8	/* a quiet link's latency; see the note above */
#define FRAME_BYTES 2048	/* V3 frames are variable; the kernel only checks the count */
#define BLOCKS_MIN 4
/* Blocks handled per wake-up before the loop gets a turn; epoll is
 * level-triggered, so the rest wakes us again at once. */
#define BLOCKS_PER_WAKEUP 4

struct afpacket {
	int fd;
	struct loop *loop;
	uint8_t *ring;
	size_t ring_len;
	uint32_t block_bytes;
	uint32_t block_count;
	uint32_t next_block;
	bool outgoing;		/* cfg.outgoing: hand outgoing packets over too */
};

/* Round up to a power of two (the kernel allocates each block as 2^n
 * pages) at least BLOCK_BYTES_MIN with room for one packet of snaplen and
 * the block and packet headers. */
static uint32_t block_bytes_for(uint32_t snaplen)
{
	uint32_t bytes = BLOCK_BYTES_MIN;

	while (bytes < snaplen + BLOCK_HEADROOM && bytes < (1u << 30))
		bytes <<= 1;
	return bytes;
}

static int fail_errno(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	return -1;
}

static int attach_filter(int fd, const struct capture_config *cfg, uint32_t snaplen,
			 char *err, size_t errlen)
{
	struct sock_fprog prog;
	int r;

	if (capture_compile_filter(cfg->filter, DLT_RAW, snaplen, &prog, err, errlen) != 0)
		return -1;
	r = setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
	free(prog.filter);
	if (r != 0)
		return fail_errno(err, errlen, "setsockopt(SO_ATTACH_FILTER)");
	return 0;
}

static int setup_ring(struct afpacket *a, const struct capture_config *cfg, uint32_t snaplen,
		      char *err, size_t errlen)
{
	int version = TPACKET_V3;
	uint32_t ring_bytes = cfg->ring_bytes ? cfg->ring_bytes : CAPTURE_RING_BYTES_DEFAULT;
	struct tpacket_req3 req;

	if (setsockopt(a->fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) != 0)
		return fail_errno(err, errlen, "setsockopt(PACKET_VERSION, TPACKET_V3)");
	a->block_bytes = block_bytes_for(snaplen);
	a->block_count = ring_bytes / a->block_bytes;
	if (a->block_count < BLOCKS_MIN)
		a->block_count = BLOCKS_MIN;
	memset(&req, 0, sizeof(req));
	req.tp_block_size = a->block_bytes;
	req.tp_block_nr = a->block_count;
	req.tp_frame_size = FRAME_BYTES;
	req.tp_frame_nr = a->block_bytes / FRAME_BYTES * a->block_count;
	req.tp_retire_blk_tov = BLOCK_TIMEOUT_MS;
	if (setsockopt(a->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) != 0) {
		snprintf(err, errlen, "setsockopt(PACKET_RX_RING, %u blocks of %u bytes): %s",
			 a->block_count, a->block_bytes, strerror(errno));
		return -1;
	}
	a->ring_len = (size_t)a->block_bytes * a->block_count;
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

/* One packet of a block; the rest of the block is after it. */
static void handle_packet(struct capture *c, const struct tpacket3_hdr *h)
{
	const struct sockaddr_ll *from = (const void *)((const uint8_t *)h +
		TPACKET_ALIGN(sizeof(struct tpacket3_hdr)));
	uint64_t ts_us = (uint64_t)h->tp_sec * 1000000u + h->tp_nsec / 1000u;

	/* The kernel leaves these out with PACKET_IGNORE_OUTGOING; an older
	 * kernel hands them over and they stop here. */
	struct afpacket *a = c->priv;

	c->outgoing = from->sll_pkttype == PACKET_OUTGOING;
	if (c->outgoing && !a->outgoing) {
		c->counters.own_output++;
		return;
	}
	capture_deliver_frame(c, PACKET_DLT_RAW, ts_us, (const uint8_t *)h + h->tp_net, h->tp_snaplen);
}

static void walk_block(struct capture *c, struct afpacket *a, struct tpacket_block_desc *block)
{
	const uint8_t *start = (const uint8_t *)block;
	uint32_t count = block->hdr.bh1.num_pkts;
	size_t offset = block->hdr.bh1.offset_to_first_pkt;

	for (uint32_t i = 0; i < count; i++) {
		const struct tpacket3_hdr *h = (const void *)(start + offset);

		/* The kernel wrote these offsets; a bad one would make us
		 * read past the block, so check rather than trust. */
		if (offset + sizeof(*h) > a->block_bytes ||
		    offset + h->tp_net + h->tp_snaplen > a->block_bytes) {
			c->counters.malformed++;
			return;
		}
		handle_packet(c, h);
		if (h->tp_next_offset == 0)
			return;
		offset += h->tp_next_offset;
	}
}

static void on_readable(struct loop *l, int fd, unsigned events, void *arg)
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
	for (int n = 0; n < BLOCKS_PER_WAKEUP; n++) {
		struct tpacket_block_desc *block =
			(void *)(a->ring + (size_t)a->next_block * a->block_bytes);

		if (!(__atomic_load_n(&block->hdr.bh1.block_status, __ATOMIC_ACQUIRE) &
		      TP_STATUS_USER))
			return;
		walk_block(c, a, block);
		__atomic_store_n(&block->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		a->next_block = (a->next_block + 1) % a->block_count;
	}
}

static void afpacket_free(struct afpacket *a)
{
	if (a->ring)
		munmap(a->ring, a->ring_len);
	if (a->fd >= 0)
		close(a->fd);
	free(a);
}

static int afpacket_open(struct capture *c, struct loop *l, const struct capture_config *cfg,
			 char *err, size_t errlen)
{
	uint32_t snaplen = cfg->snaplen ? cfg->snaplen : CAPTURE_SNAPLEN_DEFAULT;
	struct afpacket *a = calloc(1, sizeof(*a));
	int one = 1;

	if (!a) {
		snprintf(err, errlen, "afpacket: out of memory");
		return -1;
	}
	a->loop = l;
	a->fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		fail_errno(err, errlen, "socket(AF_PACKET)");
		goto fail;
	}
	if (attach_filter(a->fd, cfg, snaplen, err, errlen) != 0)
		goto fail;
	/* Kernels before 4.20 refuse it; handle_packet() then drops our
	 * own output by its packet type instead. */
	a->outgoing = cfg->outgoing;
	if (!cfg->outgoing &&
	    setsockopt(a->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) != 0 &&
	    errno != ENOPROTOOPT) {
		fail_errno(err, errlen, "setsockopt(PACKET_IGNORE_OUTGOING)");
		goto fail;
	}
	if (setup_ring(a, cfg, snaplen, err, errlen) != 0 ||
	    bind_device(a->fd, cfg->device, err, errlen) != 0)
		goto fail;
	c->priv = a;
	if (loop_add_fd(l, a->fd, LOOP_READ, on_readable, c) != 0) {
		fail_errno(err, errlen, "afpacket: loop_add_fd");
		c->priv = NULL;
		goto fail;
	}
	return 0;
fail:
	afpacket_free(a);
	return -1;
}

static void afpacket_update_stats(struct capture *c)
{
	struct afpacket *a = c->priv;
	struct tpacket_stats_v3 stats;
	socklen_t len = sizeof(stats);

	/* Reading the statistics resets them: add, do not assign. */
	memset(&stats, 0, sizeof(stats));
	if (getsockopt(a->fd, SOL_PACKET, PACKET_STATISTICS, &stats, &len) == 0)
		c->counters.kernel_drops += stats.tp_drops;
}

static void afpacket_close(struct capture *c)
{
	struct afpacket *a = c->priv;

	if (!a)
		return;
	afpacket_update_stats(c);
	loop_del_fd(a->loop, a->fd);
	afpacket_free(a);
	c->priv = NULL;
}

const struct capture_ops capture_afpacket_ops = {
	.name = "afpacket",
	.open = afpacket_open,
	.update_stats = afpacket_update_stats,
	.close = afpacket_close,
};
