/*
 * netns_fixture.h — what the capture and send tests share: a network
 * namespace private to the test process, packets to feed, frames to put
 * on a link and a socket that watches one.
 *
 * The namespace is the process's own (unshare(CLONE_NEWNET), no name in
 * /run/netns): nothing the tests create or send leaves it, and it goes
 * away with the process. Addresses are from 198.18.0.0/15 only.
 */
#ifndef DOPPEL_NETNS_FIXTURE_H
#define DOPPEL_NETNS_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Enter the private namespace (once per process) and bring lo up. false,
 * with why set, when the test cannot run here (not root, no unshare, no
 * `ip`): the caller skips. */
bool netns_enter(const char **why);
/* Run a shell command (`ip ...`) in it; the test fails if it fails. */
void netns_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Enter the namespace and build the link the capture and send tests use:
 *
 *   dpa 198.18.0.1/30 (02:00:00:00:00:0a) <──veth──> dpb, no address
 *                                                    (02:00:00:00:00:0b)
 *
 * with a permanent neighbour entry on dpa for 198.18.0.2 at dpb's MAC (dpb
 * answers no ARP), so packets routed to 198.18.0.2 leave dpa at once.
 * false with why set as netns_enter(). */
bool netns_veth_pair(const char **why);
extern const uint8_t netns_mac_a[6], netns_mac_b[6];

/* An IPv4 or IPv6 TCP packet (by the addresses' family) with payload_len
 * bytes of payload, each byte (seq + i) & 0xff, flags ACK|PSH. Returns the
 * length. */
size_t fixture_tcp_packet(uint8_t *buf, size_t cap, const char *src, uint16_t sport,
			  const char *dst, uint16_t dport, uint32_t seq, size_t payload_len);
/* An IPv4 UDP datagram of 8 bytes of payload (no checksum). */
size_t fixture_udp_packet(uint8_t *buf, size_t cap, const char *src, const char *dst,
			  uint16_t dport);
/* An Ethernet frame around an IP packet (ethertype from its version). */
size_t fixture_ethernet_frame(uint8_t *frame, size_t cap, const uint8_t dst_mac[6],
			      const uint8_t src_mac[6], const uint8_t *ip, size_t len);

/* Send one frame out of dev with a plain AF_PACKET socket. */
void fixture_inject(const char *dev, const uint8_t *frame, size_t len);

/* An AF_PACKET socket seeing every frame that reaches dev (incoming only). */
int fixture_observer_open(const char *dev);
/* Read frames for up to timeout_ms (or until want of them matched):
 * counts the IPv4/IPv6 TCP frames to dport; the last one matched is
 * copied into last (room for cap bytes; its length in *last_len). */
int fixture_observer_count(int fd, uint16_t dport, int want, int timeout_ms,
			   uint8_t *last, size_t cap, size_t *last_len);

#endif
