/*
 * send.h — how doppel-copy puts the replayed packets on the wire.
 *
 * Two backends behind one interface:
 *   raw     a raw IP socket (IPv4 IP_HDRINCL; IPv6 IPPROTO_RAW) — the default
 *           (send_raw.c);
 *   packet  an AF_PACKET socket on one interface (-o), each packet given an
 *           Ethernet header with the configured source and next-hop MAC, so
 *           it bypasses the host's IP stack, routes and conntrack
 *           (send_packet.c).
 *
 * Packets are copied into a fixed arena (no allocation per packet) and go
 * out in batches with sendmmsg: when the batch fills, and at send_flush(),
 * which the daemon calls before its loop sleeps. A packet the kernel
 * refuses is reported through the fail callback with its session key and
 * errno, so the daemon can end that session with a reason (EPERM from a
 * firewall, EMSGSIZE, ENETUNREACH) — a failed send never ends the daemon.
 * ENOBUFS and EAGAIN are counted and the packet dropped: the engine's
 * retransmission timer sends it again.
 *
 * The packet backend writes its frames into a PACKET_TX_RING instead
 * (send_ring.c), one send() per batch; frames the driver cannot take yet
 * wait in the ring for the next flush, and a packet that finds no free
 * frame is counted (ring_full, retry) and dropped like an EAGAIN. When the
 * ring cannot be set up (an old kernel, no memory) it sends by batches as
 * above, and send_tx_ring_fallback() says why.
 *
 * The raw backend opens its IPv4 and IPv6 sockets at send_open(), so a
 * missing privilege shows at start; a host without IPv6 (EAFNOSUPPORT)
 * gets ENGINE_SEND_FAILED for IPv6 packets instead. Both sockets and the
 * AF_PACKET one are non-blocking and receive nothing.
 *
 * Either backend can tunnel (--tunnel, cfg.tunnel): the packet goes inside
 * VXLAN, IP in IP, GRE or fou (lib/net/encap.h) to its target, with the
 * host's own address as outer source. The raw backend then sends through
 * a UDP or raw socket of the tunnel's protocol (send_tunnel.c) and the
 * kernel writes the outer header; the packet backend writes the outer
 * IP and UDP headers itself, from tunnel_src4/6.
 *
 * Backends never log; they count and return errors.
 */
#ifndef DOPPEL_SEND_H
#define DOPPEL_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "copy/engine/engine.h"
#include "lib/net/encap.h"

struct sender;

enum send_kind {
	SEND_RAW,
	SEND_PACKET,
};

struct send_config {
	enum send_kind kind;
	const char *device;		/* packet: the interface (-o) */
	uint8_t src_mac[6];		/* packet: source MAC (all zero: the interface's own) */
	uint8_t next_hop_mac[6];	/* packet: destination MAC of every frame */
	unsigned batch;			/* packets per sendmmsg (default 64, at most 1024) */
	uint32_t sndbuf;		/* SO_SNDBUF wanted (0: leave the default) */
	uint32_t mtu;			/* packets longer are refused at once with
					 * ENGINE_SEND_TOO_BIG (0: no limit for raw, the
					 * kernel's EMSGSIZE comes through fail; packet:
					 * the device's MTU, or the smaller of the two);
					 * with a tunnel, of the outer packet */
	struct encap_config tunnel;	/* kind ENCAP_NONE: no tunnel */
	/* The outer source per family: the raw backend binds its sockets to
	 * it when set (family != 0); the packet backend needs it for each
	 * family it sends (send_tunnel_source() finds the host's own). */
	struct dp_addr tunnel_src4, tunnel_src6;
	/* packet: send with sendmsg batches, not through a PACKET_TX_RING
	 * (--tx-ring off). Without it the ring is tried, and when it cannot
	 * be set up the batches are used (send_tx_ring_fallback() says why). */
	bool no_tx_ring;
};

struct send_counters {
	uint64_t packets;	/* accepted by the kernel */
	uint64_t bytes;		/* of those frames (packet: with the Ethernet header) */
	uint64_t batches;	/* sendmmsg calls, or send() calls kicking the ring */
	uint64_t retry;		/* ENOBUFS, EAGAIN, or no free frame in the ring:
				 * dropped, the engine resends */
	uint64_t ring_full;	/* of retry: no free frame in the TX ring */
	uint64_t ring_deferred;	/* kicks that left frames in the ring for the
				 * next one (driver or send buffer full) */
	uint64_t too_big;	/* EMSGSIZE from the kernel (not the mtu check) */
	uint64_t failed;	/* EPERM and every other error */
};

/* Packets of session k the kernel refused, errno err (EMSGSIZE for one too
 * big). Called once per session per flush, however many of its packets
 * were refused (for at most `batch` sessions per flush: the others are
 * reported when their retransmission is refused too). It may call into
 * the engine (engine_abort) and so queue more packets: send_flush() sends
 * those too before it returns. */
typedef void (*send_fail_fn)(void *ctx, const struct session_key *k, int err);

/* NULL with err filled ("socket(AF_PACKET): Operation not permitted",
 * "eth9: no such device"). fail is required. Refused packets go to
 * fail(ctx, ...) from send_flush() only — never from send_queue(), which
 * runs inside the engine's sink; refusals met when send_queue() sends a
 * full batch wait for the next send_flush(). */
struct sender *send_open(const struct send_config *cfg, send_fail_fn fail, void *ctx,
			 char *err, size_t errlen);
/* Queue one IP packet (headers and checksums complete) of session k.
 * Returns what the engine's sink returns: ENGINE_SEND_OK when queued (or
 * sent), ENGINE_SEND_TOO_BIG when it cannot fit the path (larger than the
 * device MTU for packet), ENGINE_SEND_FAILED for a packet that can never
 * be sent (bad family). A full batch is flushed first. */
enum engine_send_result send_queue(struct sender *s, const struct session_key *k,
				   const uint8_t *pkt, size_t len);
/* The source address the host's routes give packets to target: 0, or -1
 * with err filled. Sends nothing. */
int send_tunnel_source(const struct dp_addr *target, struct dp_addr *src, char *err,
		       size_t errlen);
/* Send everything queued, then report refusals to the fail callback. */
void send_flush(struct sender *s);
const struct send_counters *send_counters(const struct sender *s);
/* The PACKET_TX_RING's bytes (mapped: kernel memory in the daemon's RSS,
 * not in -m), 0 when frames go by sendmsg batches; and why the ring was
 * wanted and not set up ("" otherwise), for the daemon to log once. */
size_t send_tx_ring_bytes(const struct sender *s);
const char *send_tx_ring_fallback(const struct sender *s);
/* Sends what is still queued (the RSTs of a shutdown) without calling
 * fail, closes the sockets and frees s. NULL is fine. */
void send_close(struct sender *s);

#endif
