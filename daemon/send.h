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
 * Packets are queued and go out in batches with sendmmsg: when the batch
 * fills, and at send_flush(), which the daemon calls before its loop
 * sleeps. A packet refused at flush time is reported through the fail
 * callback with its session key and errno, so the daemon can end that
 * session with a reason (EPERM from a firewall, EMSGSIZE) — a failed send
 * never ends the daemon. ENOBUFS and EAGAIN are counted and the packet
 * dropped: the engine's retransmission timer sends it again.
 *
 * Backends never log; they count and return errors.
 */
#ifndef DOPPEL_SEND_H
#define DOPPEL_SEND_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

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
};

struct send_counters {
	uint64_t packets;	/* accepted by the kernel */
	uint64_t bytes;
	uint64_t batches;	/* sendmmsg calls */
	uint64_t retry;		/* ENOBUFS, EAGAIN: dropped, the engine resends */
	uint64_t too_big;	/* EMSGSIZE */
	uint64_t failed;	/* EPERM and every other error */
};

/* A packet the kernel refused at flush time, errno err. */
typedef void (*send_fail_fn)(void *ctx, const struct session_key *k, int err);

/* NULL with err filled ("socket(AF_PACKET): Operation not permitted",
 * "eth9: no such device"). Refused packets go to fail(ctx, ...), from
 * send_flush() or from send_queue() when it flushes a full batch. */
struct sender *send_open(const struct send_config *cfg, send_fail_fn fail, void *ctx,
			 char *err, size_t errlen);
/* Queue one IP packet (headers and checksums complete) of session k.
 * Returns what the engine's sink returns: ENGINE_SEND_OK when queued (or
 * sent), ENGINE_SEND_TOO_BIG when it cannot fit the path (larger than the
 * device MTU for packet), ENGINE_SEND_FAILED for a packet that can never
 * be sent (bad family). A full batch is flushed first. */
enum engine_send_result send_queue(struct sender *s, const struct session_key *k,
				   const uint8_t *pkt, size_t len);
/* Send everything queued; each refused packet goes to the fail callback. */
void send_flush(struct sender *s);
const struct send_counters *send_counters(const struct sender *s);
void send_close(struct sender *s);

#endif
