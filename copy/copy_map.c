/*
 * copy_map.c — from a captured client packet to the keys of the sessions
 * it replays (see copy_map.h).
 */
#include "copy/copy_map.h"

#include <string.h>
#include <sys/socket.h>

#include "lib/net/hash.h"

static size_t addr_len(const struct dp_addr *a)
{
	return a->family == AF_INET6 ? 16 : 4;
}

static bool transfer_matches(const struct copy_transfer *t, const struct packet *p)
{
	if (p->dport != t->online_port || p->family != t->target_addr.family)
		return false;
	return !t->has_online_addr || dp_addr_equal(&t->online_addr, &p->dst);
}

const struct copy_transfer *copy_map_transfer(const struct copy_options *o, const struct packet *p)
{
	const struct copy_transfer *port_only = NULL;

	for (size_t i = 0; i < o->transfer_count; i++) {
		const struct copy_transfer *t = &o->transfers[i];

		if (!transfer_matches(t, p))
			continue;
		if (t->has_online_addr)
			return t;
		if (!port_only)
			port_only = t;
	}
	return port_only;
}

uint16_t copy_map_port(uint16_t port, unsigned copy, uint16_t shift)
{
	uint64_t shifted = (uint64_t)(port ? port - 1 : 0) + (uint64_t)copy * shift;

	return (uint16_t)(shifted % 65535 + 1);
}

bool copy_map_selected(unsigned percent, uint64_t seed, const struct dp_addr *client,
		       uint16_t client_port)
{
	uint64_t h;

	if (percent >= 100)
		return true;
	/* FNV-1a over address then port, mixed: the percentage is taken
	 * modulo 100, which FNV's low bits alone would skew. */
	h = hash_fnv1a(HASH_FNV1A_OFFSET ^ seed ^ 0x7265706c6179ull, client->bytes,
		       addr_len(client));
	h = hash_fnv1a(h, &client_port, sizeof(client_port));
	return hash_mix64(h) % 100 < percent;
}

void copy_map_client(const struct copy_options *o, uint64_t seed, const struct dp_addr *client,
		     struct dp_addr *out)
{
	uint64_t h;

	if (o->client_addr_count == 0) {
		*out = *client;
		return;
	}
	h = hash_mix64(hash_fnv1a(HASH_FNV1A_OFFSET ^ seed, client->bytes, addr_len(client)));
	if (o->workers > 1) {
		/* Worker w takes addresses w, w + N, w + 2N ...: two workers never
		 * rewrite to one address, so their sessions (which the capture
		 * spreads by flow) never meet on one 4-tuple at the target. The
		 * options made sure every worker has one. */
		size_t mine = (o->client_addr_count - o->worker_index + o->workers - 1) / o->workers;

		*out = o->client_addrs[o->worker_index + (h % mine) * o->workers];
		return;
	}
	*out = o->client_addrs[h % o->client_addr_count];
}

/* Our own replayed packets are addressed to a target; a capture that hands
 * them back (a kernel without PACKET_IGNORE_OUTGOING, a capture on the
 * path to the target) would replay them again, and once their session has
 * ended, again and again. No client talks to the target through the online
 * host, so such a packet is never a client's. */
static bool addressed_to_target(const struct copy_options *o, const struct packet *p)
{
	for (size_t i = 0; i < o->transfer_count; i++)
		if (o->transfers[i].target_port == p->dport &&
		    dp_addr_equal(&o->transfers[i].target_addr, &p->dst))
			return true;
	return false;
}

size_t copy_map_keys(const struct copy_options *o, uint64_t seed, const struct packet *p,
		     struct session_key *keys)
{
	const struct copy_transfer *t = copy_map_transfer(o, p);
	struct session_key key;

	if (!t || addressed_to_target(o, p))
		return 0;
	/* After a SIGHUP lowered -r, only new connections (a SYN) follow the
	 * new share: a connection replayed already goes on to its end. (The
	 * selection grows with the percentage, so the largest share before
	 * covers every earlier one.) */
	if (!copy_map_selected(o->percent, seed, &p->src, p->sport) &&
	    (!o->percent_before || (p->flags & TCPF_SYN) ||
	     !copy_map_selected(o->percent_before, seed, &p->src, p->sport)))
		return 0;
	memset(&key, 0, sizeof(key));
	copy_map_client(o, seed, &p->src, &key.client);
	key.target = t->target_addr;
	key.target_port = t->target_port;
	/* -f (TCPCopy's instance offset) moves every copy of this instance
	 * by instance * 2048, as TCPCopy's port shift factor does. */
	uint16_t port = copy_map_port(p->sport, o->instance, COPY_INSTANCE_SHIFT);
	for (unsigned i = 0; i < o->copies; i++) {
		keys[i] = key;
		keys[i].client_port = copy_map_port(port, i, o->port_shift);
	}
	return o->copies;
}

bool copy_map_send_allowed(const struct copy_options *o, const struct session_key *k,
			   const uint8_t *pkt, size_t len, uint8_t *tcp_flags)
{
	struct packet p;
	const char *why;
	bool configured = false;

	for (size_t i = 0; i < o->transfer_count && !configured; i++)
		configured = o->transfers[i].target_port == k->target_port &&
			     dp_addr_equal(&o->transfers[i].target_addr, &k->target);
	if (!configured)
		return false;
	if (packet_parse(pkt, len, PACKET_TRUNCATED_OK, &p, &why) < 0)
		return false;
	if (tcp_flags)
		*tcp_flags = p.flags;
	return dp_addr_equal(&p.dst, &k->target) && p.dport == k->target_port;
}
