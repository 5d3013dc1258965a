/*
 * copy_map.h — which replayed sessions a captured client packet belongs
 * to: the -x transfer that matches its destination gives the target, -c
 * rewrites the client address, -r keeps a share of the sessions, and -n
 * makes copies on shifted client ports (-f). Pure functions of the options
 * and a seed, so every packet of a session maps the same way.
 *
 * And the daemon's last guard before the sender: a packet goes out only if
 * it is addressed to a configured target.
 */
#ifndef DOPPEL_COPY_MAP_H
#define DOPPEL_COPY_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "copy/copy_options.h"
#include "copy/engine/engine.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"

/* The transfer whose online address and port p is sent to, or NULL. A
 * transfer with an address matches before one with the port alone. The
 * packet's family must be the target's. */
const struct copy_transfer *copy_map_transfer(const struct copy_options *o, const struct packet *p);

/* Copy i's client port: port + i * shift, wrapped within 1..65535. */
uint16_t copy_map_port(uint16_t port, unsigned copy, uint16_t shift);

/* Whether -r selects the session of this client address and port. */
bool copy_map_selected(unsigned percent, uint64_t seed, const struct dp_addr *client,
		       uint16_t client_port);

/* The -c address of a client (stable for a seed; with --workers, one of
 * this worker's share of the -c addresses); the client itself
 * without -c. */
void copy_map_client(const struct copy_options *o, uint64_t seed, const struct dp_addr *client,
		     struct dp_addr *out);

/* The session keys of p, one per copy, into keys (room for o->copies).
 * Returns how many: 0 when p is not replayed (no transfer, -r, or p is
 * addressed to a target: our own output captured back). */
size_t copy_map_keys(const struct copy_options *o, uint64_t seed, const struct packet *p,
		     struct session_key *keys);

/* A packet the engine wants sent: true only if key names a configured
 * target (address and port) and the packet itself is addressed to it.
 * tcp_flags (may be NULL) gets the packet's TCP flags. */
bool copy_map_send_allowed(const struct copy_options *o, const struct session_key *k,
			   const uint8_t *pkt, size_t len, uint8_t *tcp_flags);

#endif
