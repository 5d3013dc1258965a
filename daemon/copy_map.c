/*
 * copy_map.c — from a captured client packet to the keys of the sessions
 * it replays (see copy_map.h).
 */
#include "copy_map.h"

#include <string.h>
#include <sys/socket.h>

/* FNV-1a over the bytes, then a 64-bit finaliser so that the low bits
 * (taken modulo small numbers) depend on every input bit. */
static uint64_t hash_bytes(uint64_t seed, const void *data, size_t len, uint64_t h)
{
	const uint8_t *b = data;

	if (h == 0)
		h = 0xcbf29ce484222325ull ^ seed;
	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t hash_finish(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

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
	h = hash_bytes(seed ^ 0x7265706c6179ull, client->bytes, addr_len(client), 0);
	h = hash_bytes(0, &client_port, sizeof(client_port), h);
	return hash_finish(h) % 100 < percent;
}

void copy_map_client(const struct copy_options *o, uint64_t seed, const struct dp_addr *client,
		     struct dp_addr *out)
{
	uint64_t h;

	if (o->client_addr_count == 0) {
		*out = *client;
		return;
	}
	h = hash_finish(hash_bytes(seed, client->bytes, addr_len(client), 0));
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

	if (!t || addressed_to_target(o, p) ||
	    !copy_map_selected(o->percent, seed, &p->src, p->sport))
		return 0;
	memset(&key, 0, sizeof(key));
	copy_map_client(o, seed, &p->src, &key.client);
	key.target = t->target_addr;
	key.target_port = t->target_port;
	for (unsigned i = 0; i < o->copies; i++) {
		keys[i] = key;
		keys[i].client_port = copy_map_port(p->sport, i, o->port_shift);
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
