/*
 * connection_tcpcopy.c — a stock TCPCopy 1.0 tcpcopy as a copy daemon
 * (docs/protocol.md section 15). It opened with its version message; then
 * 14-byte client messages add (and delete) its sessions' routes, keyed by
 * the whole 4-tuple as TCPCopy's own intercept keys them; its summaries go
 * out as combined batches of 64-byte records. They are built by the same
 * per-connection batch as a doppel peer's SUMMARIES frames (so they leave
 * at the same moments) and translated here when the frame is finished:
 * up to 16 records per batch, IPv4 only, headers only.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "intercept/server_internal.h"
#include "lib/wire/tcpcopy1.h"

/* A finished SUMMARIES frame: its records as TCPCopy batches. */
static void emit_tcpcopy(void *ctx, const uint8_t *frame, size_t len, uint16_t count)
{
	struct connection *c = ctx;
	struct wire_frame f = { WIRE_SUMMARIES, frame + WIRE_HEADER_LEN,
				(uint32_t)(len - WIRE_HEADER_LEN) };
	uint8_t out[TC1_BATCH_MAX_LEN], rec[TC1_RECORD_LEN];
	struct wire_summary_iter it;
	struct wire_summary sum;
	struct tc1_batch b;
	const char *why;
	size_t n;

	tc1_batch_init(&b, out);
	wire_summary_iter_init(&it, &f);
	while (wire_summary_next(&it, &sum, &why) == 1) {
		/* An IPv6 answer cannot be told to a tcpcopy: it never asked
		 * for one (its messages are IPv4), so none is routed here. */
		if (tc1_record_from_packet(rec, sum.data, sum.data_len, &why) < 0) {
			istat_inc(c->server->stats, ISTAT_SUMMARIES_DROPPED);
			continue;
		}
		if (tc1_batch_add(&b, rec) < 0) {
			n = tc1_batch_finish(&b);
			connection_emit(c, out, n, b.count);
			tc1_batch_init(&b, out);
			tc1_batch_add(&b, rec);
		}
	}
	n = tc1_batch_finish(&b);
	if (n)
		connection_emit(c, out, n, b.count);
	(void)count;
}

static void route_of(const struct tc1_client_msg *m, struct wire_route *r)
{
	memset(r, 0, sizeof(*r));
	r->client.family = AF_INET;
	memcpy(r->client.bytes, &m->client_addr, 4);
	r->target.family = AF_INET;
	memcpy(r->target.bytes, &m->target_addr, 4);
	r->client_port = m->client_port;
	r->target_port = m->target_port;
}

/* One whole client message. false: c was closed. */
static bool handle_message(struct connection *c, const uint8_t msg[TC1_CLIENT_MSG_LEN])
{
	struct tc1_client_msg m;
	struct wire_route r;
	const char *why;
	char reason[160];

	tc1_decode_client(msg, &m);
	if (!c->tc1_versioned) {
		/* Its first message: tc1_detect saw the version in it. */
		c->tc1_versioned = true;
		server_say(c->server, LOG_LEVEL_INFO, "copy %s: a TCPCopy 1.0 tcpcopy (version "
			   "%u%s): speaking its dialect (IPv4, 64-byte records)", c->peer,
			   m.type & ~TC1_VERSION_ADVANCED,
			   m.type & TC1_VERSION_ADVANCED ? ", advanced" : "");
		return true;
	}
	if (tc1_check_client(&m, &why) < 0) {
		snprintf(reason, sizeof(reason), "malformed TCPCopy message: %s", why);
		istat_inc(c->server->stats, ISTAT_CONNECTIONS_CLOSED_MALFORMED);
		connection_fail(c, WIRE_ERR_MALFORMED, reason);
		return false;
	}
	route_of(&m, &r);
	if (m.type == TC1_CLIENT_ADD)
		connection_add_route(c, &r);
	else
		connection_del_route(c, &r);
	connection_update_gauges(c->server);
	return true;
}

bool tcpcopy_conn_input(struct connection *c, const uint8_t *bytes, size_t len)
{
	while (len > 0) {
		size_t take = TC1_CLIENT_MSG_LEN - c->tc1_in_len;

		if (take > len)
			take = len;
		memcpy(c->tc1_in + c->tc1_in_len, bytes, take);
		c->tc1_in_len += take;
		bytes += take;
		len -= take;
		if (c->tc1_in_len < TC1_CLIENT_MSG_LEN)
			break;
		c->tc1_in_len = 0;
		if (!handle_message(c, c->tc1_in))
			return false;
	}
	return true;
}

bool tcpcopy_conn_start(struct connection *c, const uint8_t *bytes, size_t len)
{
	struct server *s = c->server;
	int one = 1;

	/* Routes keyed by the 4-tuple (TCPCopy's intercept keys them on the
	 * client and the target too); headers only, no payload. */
	c->four_tuple = true;
	c->hello_received = true;
	if (batch_init(&c->batch, &s->batches, WIRE_MAX_BODY, emit_tcpcopy, c) < 0) {
		connection_fail(c, WIRE_ERR_INTERNAL, "out of memory for the summaries batch");
		return false;
	}
	/* It has no heartbeat: TCP keep-alive finds a vanished peer. */
	setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	istat_inc(s->stats, ISTAT_CONNECTIONS_TCPCOPY);
	/* The version message and whatever followed it, still in the
	 * decoder's buffer: they are ours now. */
	if (!tcpcopy_conn_input(c, bytes, len))
		return false;
	c->decoder.start = c->decoder.end;
	return true;
}
