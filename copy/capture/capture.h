/*
 * capture.h — where doppel-copy gets the clients' packets from.
 *
 * Three backends behind one interface, all feeding the same engine:
 *   afpacket  AF_PACKET socket with a TPACKET_V2 mmap ring and a kernel BPF
 *             filter compiled by libpcap (pcap_compile) from a tcpdump
 *             expression (capture_afpacket.c) — the default. The socket is
 *             cooked (SOCK_DGRAM): frames arrive from their IP header on,
 *             whatever the interface's data-link layer (Ethernet, VLAN tags the
 *             kernel strips, tun, ppp), so one filter compiled for DLT_RAW
 *             serves every interface of an "all interfaces" capture;
 *   pcap      libpcap live capture (capture_pcap.c);
 *   offline   a pcap file read back with its original timing scaled by a
 *             speed factor, repeated N times (capture_offline.c).
 *
 * A backend never hands over the daemon's own output: packets this host
 * sends (PACKET_OUTGOING, pcap direction "in" only) are left out in the
 * kernel where it can, and in the backend where it cannot. That matters
 * when the target port equals the online port and the filter is on the
 * port alone. With cfg.outgoing (--compare; afpacket and pcap) they are
 * handed over too, each marked c->outgoing, for the answers alone.
 *
 * Backends never log: open() fills err, and per-packet trouble is counted.
 *
 * Use: zero a struct capture, set ops = capture_ops_for(kind), deliver,
 * done and ctx, then ops->open(). A failed open leaves nothing to close;
 * after a successful one, ops->close() once (it removes the fds and timers
 * from the loop, which must still exist). deliver must not close the
 * capture; done may (it is the backend's last act for that file).
 * Packets looped back to this host (the target on "lo") come back as
 * input and cannot be told apart: do not capture on the path to the target.
 */
#ifndef DOPPEL_CAPTURE_H
#define DOPPEL_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/runtime/loop.h"
#include "lib/net/packet.h"
#include "lib/net/packet_dlt.h"

struct capture;

/* One captured TCP packet, parsed from its IP header on. ts_us is the
 * capture timestamp (microseconds, CLOCK_REALTIME as the kernel stamps it;
 * for offline replay, the file's own stamp). p and its buffer are valid
 * only during the call. */
typedef void (*capture_deliver_fn)(void *ctx, uint64_t ts_us, const struct packet *p);
/* Offline replay read its last packet (after the last repeat); may be NULL. */
typedef void (*capture_done_fn)(void *ctx);

enum capture_kind {
	CAPTURE_AFPACKET,
	CAPTURE_PCAP,
	CAPTURE_OFFLINE,
};

/* Zero in a config field means its default. */
/* libpcap's maximum (256 KiB) less 256 bytes: a GRO super-packet, or a
 * BIG TCP one of up to 255 KiB, whole (afpacket reads packets longer than
 * its ring's frames from the socket's receive queue: capture_afpacket.c). */
#define CAPTURE_SNAPLEN_DEFAULT (256u * 1024 - 256)
#define CAPTURE_RING_BYTES_DEFAULT (64u << 20)
/* --capture-ring's bounds. */
#define CAPTURE_RING_BYTES_MIN (4u << 20)
#define CAPTURE_RING_BYTES_MAX (1u << 30)
/* afpacket, ring_auto: the ring starts at the smallest size and follows
 * the traffic up to ring_bytes (capture_afpacket.c, "Sized to the
 * traffic"). */
#define CAPTURE_RING_AUTO_MIN (8u << 20)

enum capture_fanout {
	CAPTURE_FANOUT_NONE,	/* the only socket */
	CAPTURE_FANOUT_FLOW,	/* by the kernel's symmetric flow hash */
	CAPTURE_FANOUT_ADDRESS,	/* by the two addresses, ports ignored */
};

struct capture_config {
	enum capture_kind kind;
	const char *device;		/* -i; NULL (or "any") = every interface */
	const char *filter;		/* tcpdump expression (built from -x, or -F);
					 * NULL or "" = every packet */
	uint32_t snaplen;		/* bytes kept per packet (0: CAPTURE_SNAPLEN_DEFAULT) */
	uint32_t ring_bytes;		/* afpacket: ring size, pcap: buffer size
					 * (0: CAPTURE_RING_BYTES_DEFAULT) */
	bool ring_auto;			/* afpacket without fanout: ring_bytes is the
					 * cap of a ring sized to the traffic */
	/* offline */
	const char *file;		/* --offline FILE */
	double speed;			/* 1.0 = original timing; 0 = as fast as possible
					 * (the daemon sets 1.0 by default: 0 is a real value) */
	unsigned repeat;		/* times to play the file (0 counts as 1) */
	/* afpacket and pcap: also take this host's outgoing packets (--compare: the
	 * online server's answers), each delivered with c->outgoing set */
	bool outgoing;
	/* afpacket: join PACKET_FANOUT group fanout_group (--workers;
	 * capture_fanout.c says how each way picks the socket) */
	enum capture_fanout fanout;
	uint16_t fanout_group;
};

struct capture_counters {
	uint64_t packets;	/* delivered */
	uint64_t bytes;		/* of IP packets delivered */
	uint64_t malformed;	/* refused by the parser (not TCP, bad lengths ...) */
	uint64_t own_output;	/* our own sent packets seen and left out */
	uint64_t kernel_drops;	/* the kernel dropped them before us (ring full) */
	uint64_t ring_bytes;	/* afpacket: the ring's size now */
	uint64_t ring_resizes;	/* afpacket, ring_auto: rings replaced by one of
				 * another size */
	uint64_t ring_resize_failures;	/* a new ring refused (no memory ...): the old
					 * one kept */
	uint64_t ring_switch_us;	/* the longest switch, asked to done (three
					 * RCU grace periods, waited on a thread) */
};

struct capture {
	const struct capture_ops *ops;
	capture_deliver_fn deliver;
	capture_done_fn done;
	void *ctx;
	struct capture_counters counters;
	/* Offline: set before done() when the file ended early (a damaged
	 * record, naming its byte offset); "" when it was played whole. */
	char error[640];
	void *priv;	/* the backend's own state */
	/* --mirror: frames are decapsulated before they are parsed
	 * (capture_mirror.h); NULL otherwise. */
	struct capture_mirror *mirror;
	bool outgoing;	/* the packet being delivered left this host (cfg.outgoing) */
};

/* afpacket with ring_auto: start replacing the ring by one of `bytes`, as
 * the sizing would (tests); the loop finishes it (counters.ring_resizes,
 * or ring_resize_failures with the old ring kept). 0 when started, -1 when
 * the capture cannot (not afpacket, not ring_auto) or a switch is running. */
int capture_afpacket_resize(struct capture *c, uint32_t bytes);

struct capture_ops {
	const char *name;
	/* Open, start capturing and register fds or timers with l. 0, or -1
	 * with err filled ("eth9: no such device", "filter: syntax error ..."). */
	int (*open)(struct capture *c, struct loop *l, const struct capture_config *cfg,
		    char *err, size_t errlen);
	/* Refresh counters.kernel_drops from the kernel's own statistics. */
	void (*update_stats)(struct capture *c);
	void (*close)(struct capture *c);
};

/* Join fd (a bound AF_PACKET socket) to fanout group group, the way how
 * says, with PACKET_FANOUT_FLAG_DEFRAG; NONE does nothing. 0, or -1 with
 * err filled. */
int capture_fanout_join(int fd, uint16_t group, enum capture_fanout how, char *err,
			size_t errlen);

extern const struct capture_ops capture_afpacket_ops;
extern const struct capture_ops capture_pcap_ops;
extern const struct capture_ops capture_offline_ops;

/* The ops for a kind. */
const struct capture_ops *capture_ops_for(enum capture_kind kind);

/* Compile a tcpdump expression into a classic BPF program for a socket
 * whose packets start with data-link type dlt (DLT_RAW for the afpacket
 * backend's cooked socket, DLT_EN10MB, DLT_LINUX_SLL ...) with libpcap's
 * pcap_compile on a dead handle; accepted packets are cut to snaplen
 * (0: CAPTURE_SNAPLEN_DEFAULT). 0, or -1 with err naming what libpcap
 * refused ("filter 'tcp portt 80': syntax error"). The caller frees
 * prog->filter with free(). */
struct sock_fprog;
int capture_compile_filter(const char *expr, int dlt, uint32_t snaplen,
			   struct sock_fprog *prog, char *err, size_t errlen);

/* Check an offline file before anything starts: it opens, its header is a
 * pcap or pcapng header, its data-link type is one we parse and filter (NULL or
 * "": none) compiles for it. 0, or -1 with err naming the file and what is
 * wrong ("x.pcap: unknown file format"). Records are read only when played. */
int capture_offline_check(const char *file, const char *filter, char *err, size_t errlen);

/* For the backends (capture.c). */

/* The data-link type packet_parse_dlt() knows for a pcap DLT_* value: 0, or
 * -1 when it is not one of EN10MB, LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6. */
int capture_dlt_from_pcap(int pcap_dlt, enum packet_dlt *out);
/* Parse one frame (PACKET_TRUNCATED_OK: a snaplen cut is the engine's to
 * see) and deliver it, or count it malformed. */
void capture_deliver_frame(struct capture *c, enum packet_dlt dlt, uint64_t ts_us,
			   const uint8_t *frame, size_t len);

#endif
