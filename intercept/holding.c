/*
 * holding.c — unrouted responses held in two bounded FIFO rings (entries
 * and their bytes) with a chained hash index by destination; see holding.h.
 */
#include "intercept/holding.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "intercept/router.h"

/* Slot numbers are stored + 1 in uint32_t (0 = none). */
#define HOLDING_MAX_ENTRIES (1u << 24)

struct holding_entry {
	struct dp_addr client, source;
	uint16_t client_port, source_port;
	uint32_t payload_len;
	uint32_t header_len, data_len;	/* data_len: headers + payload kept */
	size_t offset;			/* of the data in the bytes ring */
	uint64_t arrival_ms;
	uint32_t bucket;
	uint32_t chain_newer, chain_older;	/* slot + 1 in the bucket's chain */
	bool waiting;			/* false: delivered or expired, a hole */
};

static size_t buckets_for(size_t entries)
{
	size_t n = 16;

	while (n < entries)
		n *= 2;
	return n;
}

int holding_init(struct holding *h, const struct holding_config *cfg)
{
	memset(h, 0, sizeof(*h));
	h->cfg = *cfg;
	if (!h->cfg.max_entries)
		h->cfg.max_entries = HOLDING_DEFAULT_MAX_ENTRIES;
	if (!h->cfg.max_bytes)
		h->cfg.max_bytes = HOLDING_DEFAULT_MAX_BYTES;
	/* The smallest response kept is 40 bytes (IPv4 and TCP headers). */
	if (h->cfg.hold_ms == 0 || h->cfg.max_entries > HOLDING_MAX_ENTRIES ||
	    h->cfg.max_bytes < 40) {
		errno = EINVAL;
		return -1;
	}
	size_t bucket_count = buckets_for(h->cfg.max_entries);
	h->entries = calloc(h->cfg.max_entries, sizeof(*h->entries));
	h->bytes = malloc(h->cfg.max_bytes);
	h->buckets = calloc(bucket_count, sizeof(*h->buckets));
	if (!h->entries || !h->bytes || !h->buckets) {
		holding_free(h);
		errno = ENOMEM;
		return -1;
	}
	h->bucket_mask = bucket_count - 1;
	return 0;
}

void holding_free(struct holding *h)
{
	free(h->entries);
	free(h->bytes);
	free(h->buckets);
	memset(h, 0, sizeof(*h));
}

/* The router's hash over the same key, so that a client cannot choose
 * addresses that pile up in one chain any more than in the route table. */
static uint32_t bucket_of(const struct holding *h, const struct dp_addr *client, uint16_t port)
{
	struct router_key key;

	memset(&key, 0, sizeof(key));
	key.client.family = client->family;
	memcpy(key.client.bytes, client->bytes, client->family == AF_INET6 ? 16 : 4);
	key.client_port = port;
	return (uint32_t)(router_hash_default(&key, h->cfg.seed) & h->bucket_mask);
}

static struct holding_entry *slot_entry(const struct holding *h, uint32_t slot_plus_one)
{
	return &h->entries[slot_plus_one - 1];
}

static void chain_remove(struct holding *h, struct holding_entry *e)
{
	if (e->chain_newer)
		slot_entry(h, e->chain_newer)->chain_older = e->chain_older;
	else
		h->buckets[e->bucket] = e->chain_older;
	if (e->chain_older)
		slot_entry(h, e->chain_older)->chain_newer = e->chain_newer;
}

/* Drop the holes at the FIFO's head, so that its head is always a waiting
 * entry and the bytes before it are free. */
static void pop_holes(struct holding *h)
{
	while (h->used > 0 && !h->entries[h->head].waiting) {
		h->head = (h->head + 1) % h->cfg.max_entries;
		h->used--;
	}
	if (h->used == 0) {
		h->head = 0;
		h->bytes_tail = 0;
	}
}

/* Take e out of the index and the counts; its slot stays a hole until the
 * head passes it. */
static void entry_remove(struct holding *h, struct holding_entry *e)
{
	chain_remove(h, e);
	e->waiting = false;
	h->count--;
	h->bytes_held -= e->data_len;
}

/* Where len bytes of data can go in the bytes ring, behind the newest
 * entry's; false when the ring has no such room until older entries go. */
static bool bytes_place(const struct holding *h, size_t len, size_t *offset)
{
	size_t cap = h->cfg.max_bytes, tail = h->bytes_tail;

	if (h->used == 0) {
		*offset = 0;
		return len <= cap;
	}
	size_t start = h->entries[h->head].offset;
	if (tail > start) {
		/* Free: [tail, cap) and, wrapping, [0, start). */
		if (len <= cap - tail) {
			*offset = tail;
			return true;
		}
		*offset = 0;
		return len <= start;
	}
	/* Wrapped (tail < start): free is [tail, start); tail == start is full. */
	*offset = tail;
	return tail < start && len <= start - tail;
}

static void expire_oldest(struct holding *h)
{
	entry_remove(h, &h->entries[h->head]);
	pop_holes(h);
}

int holding_add(struct holding *h, const struct packet *p, size_t prefix_max,
		uint64_t now_ms, size_t *evicted)
{
	size_t present = p->payload_present < prefix_max ? p->payload_present : prefix_max;
	size_t header_len = p->ip_header_len + p->tcp_header_len;
	size_t len = header_len + present, offset;

	if (len > h->cfg.max_bytes || len > UINT32_MAX)
		return -1;
	/* Oldest first: the room goes to the newest response, whose route is
	 * the likeliest still to come. */
	while (h->used == h->cfg.max_entries || !bytes_place(h, len, &offset)) {
		expire_oldest(h);
		(*evicted)++;
	}
	size_t slot = (h->head + h->used) % h->cfg.max_entries;
	struct holding_entry *e = &h->entries[slot];
	memset(e, 0, sizeof(*e));
	e->client = p->dst;
	e->client_port = p->dport;
	e->source = p->src;
	e->source_port = p->sport;
	e->payload_len = p->payload_len > UINT32_MAX ? UINT32_MAX : (uint32_t)p->payload_len;
	e->header_len = (uint32_t)header_len;
	e->data_len = (uint32_t)len;
	e->offset = offset;
	e->arrival_ms = now_ms;
	e->waiting = true;
	memcpy(h->bytes + offset, p->l3, len);
	h->bytes_tail = offset + len;
	h->used++;
	h->count++;
	h->bytes_held += len;
	/* Newest at the chain's head: release walks it back from the oldest. */
	e->bucket = bucket_of(h, &p->dst, p->dport);
	e->chain_older = h->buckets[e->bucket];
	if (e->chain_older)
		slot_entry(h, e->chain_older)->chain_newer = (uint32_t)slot + 1;
	h->buckets[e->bucket] = (uint32_t)slot + 1;
	return 0;
}

static void summary_of(const struct holding *h, const struct holding_entry *e,
		       struct held_summary *s)
{
	s->client = e->client;
	s->client_port = e->client_port;
	s->source = e->source;
	s->source_port = e->source_port;
	s->data = h->bytes + e->offset;
	s->header_len = e->header_len;
	s->payload_present = e->data_len - e->header_len;
	s->payload_len = e->payload_len;
	s->arrival_ms = e->arrival_ms;
}

size_t holding_release(struct holding *h, const struct dp_addr *client, uint16_t client_port,
		       holding_take_fn take, void *ctx)
{
	struct held_summary summary;
	size_t taken = 0;

	if (h->count == 0)
		return 0;
	uint32_t index = h->buckets[bucket_of(h, client, client_port)];
	if (!index)
		return 0;
	while (slot_entry(h, index)->chain_older)
		index = slot_entry(h, index)->chain_older;
	/* From the oldest to the newest: the order they arrived in. */
	while (index) {
		struct holding_entry *e = slot_entry(h, index);
		index = e->chain_newer;
		if (e->client_port != client_port || !dp_addr_equal(&e->client, client))
			continue;
		summary_of(h, e, &summary);
		if (!take(ctx, &summary))
			continue;
		entry_remove(h, e);
		taken++;
	}
	pop_holes(h);
	return taken;
}

size_t holding_expire(struct holding *h, uint64_t now_ms)
{
	size_t expired = 0;

	/* Written so that a now_ms before an arrival expires nothing. */
	while (h->used > 0 && now_ms >= h->entries[h->head].arrival_ms + h->cfg.hold_ms) {
		expire_oldest(h);
		expired++;
	}
	return expired;
}

bool holding_next_expiry(const struct holding *h, uint64_t *when_ms)
{
	if (h->used == 0)
		return false;
	*when_ms = h->entries[h->head].arrival_ms + h->cfg.hold_ms;
	return true;
}
