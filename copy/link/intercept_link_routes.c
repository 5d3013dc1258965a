/*
 * intercept_link_routes.c — which links a session's route goes to, the
 * route sink the engine calls, and the live routes registered again when a
 * link comes back (see intercept_link.h).
 */
#include <stdlib.h>
#include <string.h>

#include "copy/link/intercept_link_private.h"
#include "lib/runtime/loop.h"

static bool in_range(const struct intercept_serve *s, const struct dp_addr *a)
{
	size_t bits = s->prefix_len, bytes = bits / 8;

	if (s->addr.family != a->family)
		return false;
	if (memcmp(s->addr.bytes, a->bytes, bytes) != 0)
		return false;
	if (bits % 8 == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));
	return (s->addr.bytes[bytes] & mask) == (a->bytes[bytes] & mask);
}

bool intercept_serves(const struct intercept_endpoint *e, const struct session_key *k)
{
	bool targets = false, target_ok = false, clients = false, client_ok = false;

	for (size_t i = 0; i < e->serve_count; i++) {
		const struct intercept_serve *s = &e->serves[i];

		if (s->client_range) {
			clients = true;
			client_ok = client_ok || in_range(s, &k->client);
		} else {
			targets = true;
			target_ok = target_ok || (dp_addr_equal(&s->addr, &k->target) &&
						  (s->port == 0 || s->port == k->target_port));
		}
	}
	return (!targets || target_ok) && (!clients || client_ok);
}

/* The link of group g that carries k: a hash of the 4-tuple spreads the
 * sessions over the group's connections. */
static struct link *link_for(struct intercept_links *links, size_t g, const struct session_key *k)
{
	size_t conns = links->cfg.conns;
	size_t conn = conns > 1 ? route_key_hash(k, 0) % conns : 0;

	return &links->links[g * conns + conn];
}

/* Can the link take a new route now, or when it comes back? */
static bool link_can_take(const struct intercept_links *links, const struct link *link,
			  const struct session_key *k, uint16_t payload_wanted)
{
	if (link->state == LINK_READY && !link->close_pending) {
		if (link->pending_count >= links->cfg.max_pending_routes)
			return false;
	} else if (!link->ever_ready || link->expired) {
		return false;	/* never up, or lost for too long */
	}
	/* An intercept without ROUTE_PAYLOAD cannot give this session the
	 * answer bytes it needs: not replayable through it. */
	if (payload_wanted && !(link->peer_features & WIRE_FEAT_ROUTE_PAYLOAD))
		return false;
	return k->client.family != AF_INET6 || (link->peer_features & WIRE_FEAT_IPV6);
}

static void key_to_route(const struct session_key *k, struct wire_route *r)
{
	memset(r, 0, sizeof(*r));
	r->client = k->client;
	r->target = k->target;
	r->client_port = k->client_port;
	r->target_port = k->target_port;
}

int intercept_links_route_add(struct intercept_links *links, const struct session_key *k)
{
	return intercept_links_route_add_payload(links, k, 0);
}

int intercept_links_route_add_payload(struct intercept_links *links, const struct session_key *k,
				      uint16_t payload_wanted)
{
	struct wire_route r;
	size_t served = 0;

	for (size_t g = 0; g < links->group_count; g++) {
		if (!intercept_serves(&links->groups[g], k))
			continue;
		if (!link_can_take(links, link_for(links, g, k), k, payload_wanted))
			return -1;
		served++;
	}
	if (served == 0 || route_set_add(&links->routes, k, payload_wanted) < 0)
		return -1;
	key_to_route(k, &r);
	r.payload_wanted = payload_wanted;
	for (size_t g = 0; g < links->group_count; g++) {
		struct link *link = link_for(links, g, k);

		/* A lost link gets it with the others when it is back. */
		if (intercept_serves(&links->groups[g], k) && link->state == LINK_READY)
			link_queue_route(link, WIRE_ROUTE_ADD, &r);
	}
	return 0;
}

void intercept_links_route_del(struct intercept_links *links, const struct session_key *k)
{
	struct wire_route r;

	if (route_set_del(&links->routes, k) == 0)
		return;
	key_to_route(k, &r);
	for (size_t g = 0; g < links->group_count; g++) {
		struct link *link = link_for(links, g, k);

		if (intercept_serves(&links->groups[g], k) && link->state == LINK_READY)
			link_queue_route(link, WIRE_ROUTE_DEL, &r);
	}
}

void intercept_links_flush_routes(struct intercept_links *links)
{
	links->in_engine = true;
	for (size_t i = 0; i < links->count; i++) {
		struct link *link = &links->links[i];

		if (link->state != LINK_READY || link->close_pending || link->pending_count == 0)
			continue;
		if (link_output_routes(link) == 0)
			link_output_write(link);
	}
	links->in_engine = false;
}

struct routes_walk {
	struct intercept_links *links;
	const struct link *link;
	struct session_key *keys;	/* NULL: queue ROUTE_ADD instead */
	size_t count;
};

static void walk_one(void *ctx, const struct session_key *k, uint16_t payload_wanted)
{
	struct routes_walk *w = ctx;
	struct wire_route r;

	if (!intercept_serves(&w->links->groups[w->link->group], k) ||
	    link_for(w->links, w->link->group, k) != w->link)
		return;
	if (w->keys) {
		w->keys[w->count++] = *k;
		return;
	}
	key_to_route(k, &r);
	r.payload_wanted = payload_wanted;
	link_queue_route((struct link *)w->link, WIRE_ROUTE_ADD, &r);
	w->count++;
}

static void count_one(void *ctx, const struct session_key *k, uint16_t payload_wanted)
{
	struct routes_walk *w = ctx;

	if (intercept_serves(&w->links->groups[w->link->group], k) &&
	    link_for(w->links, w->link->group, k) == w->link)
		w->count++;
}

void link_restore_routes(struct link *link)
{
	struct routes_walk w = { link->owner, link, NULL, 0 };

	route_set_each(&link->owner->routes, walk_one, &w);
	link->owner->counters.routes_restored += w.count;
}

size_t intercept_links_routes_of(struct intercept_links *links, size_t index,
				 void (*fn)(void *ctx, const struct session_key *k), void *ctx)
{
	struct routes_walk w = { links, &links->links[index], NULL, 0 };

	if (links->routes.count == 0)
		return 0;
	if (!fn) {
		/* Only counting: walk_one needs somewhere to put the keys. */
		struct session_key one;

		w.keys = &one;
		route_set_each(&links->routes, count_one, &w);
		return w.count;
	}
	/* Copies first: fn may end sessions, whose route_del changes the set. */
	w.keys = malloc(links->routes.count * sizeof(*w.keys));
	if (!w.keys)
		return 0;
	route_set_each(&links->routes, walk_one, &w);
	for (size_t i = 0; i < w.count; i++)
		fn(ctx, &w.keys[i]);
	free(w.keys);
	return w.count;
}
