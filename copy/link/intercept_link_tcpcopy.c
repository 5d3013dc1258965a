/*
 * intercept_link_tcpcopy.c — a link to a stock TCPCopy 1.0 intercept
 * (--wire tcpcopy1; docs/protocol.md section 15). It opens with the
 * version message a tcpcopy sends and is ready at once: the intercept
 * never answers it. Routes go as 14-byte messages (IPv4 only: the link
 * announces no IPv6, so IPv6 sessions are refused before they are queued);
 * answers come as combined batches of 64-byte records, each handed over as
 * a summary like a doppel SUMMARIES record. No HELLO, HEARTBEAT or ERROR.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "copy/link/intercept_link_private.h"
#include "lib/runtime/loop.h"
#include "lib/wire/tcpcopy1.h"

void tc1_link_connected(struct link *link)
{
	struct intercept_links *links = link->owner;
	/* What a stock intercept offers: IPv4 headers, nothing else. */
	struct wire_hello hello = { .version = WIRE_VERSION, .role = WIRE_ROLE_INTERCEPT,
				    .features = 0, .max_body = WIRE_MAX_BODY };
	uint8_t version[TC1_CLIENT_MSG_LEN];
	int one = 1;

	if (!link->tc1_in && !(link->tc1_in = malloc(TC1_BATCH_MAX_LEN))) {
		link_close(link, "out of memory for the input");
		return;
	}
	link->tc1_len = 0;
	setsockopt(link->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	link->state_since_ms = loop_now_ms(links->loop);
	link->last_received_ms = link->state_since_ms;
	wire_output_reset(&link->out, link->state_since_ms);
	link->want_write = false;
	link->output_waits = false;
	if (loop_mod_fd(links->loop, link->fd, LOOP_READ) < 0) {
		link_close(link, "epoll: %s", strerror(errno));
		return;
	}
	tc1_encode_version(version, TC1_VERSION_DEFAULT);
	if (link_output_append(link, version, sizeof(version)) < 0)
		return;
	link_output_write(link);
	if (link->fd >= 0)
		link_hello_received(link, &hello);
}

int tc1_link_output_routes(struct link *link)
{
	for (size_t i = 0; i < link->pending_count; i++) {
		const struct wire_route *r = &link->pending[i];
		struct tc1_client_msg m = {
			.client_port = r->client_port, .target_port = r->target_port,
			.type = link->pending_type[i] == WIRE_ROUTE_ADD ? TC1_CLIENT_ADD :
										 TC1_CLIENT_DEL,
		};
		uint8_t msg[TC1_CLIENT_MSG_LEN];

		if (r->client.family != AF_INET || r->target.family != AF_INET)
			continue;	/* refused before it was queued; never sent */
		memcpy(&m.client_addr, r->client.bytes, 4);
		memcpy(&m.target_addr, r->target.bytes, 4);
		tc1_encode_client(msg, &m);
		if (link_output_append(link, msg, sizeof(msg)) < 0)
			return -1;
		if (m.type == TC1_CLIENT_ADD)
			link->owner->counters.routes_added++;
		else
			link->owner->counters.routes_deleted++;
	}
	link->pending_count = 0;
	return 0;
}

/* The whole batch in link->tc1_in: each record to the handler. */
static void deliver_batch(struct link *link, size_t len)
{
	struct intercept_links *links = link->owner;

	links->counters.frames_in++;
	for (size_t off = TC1_BATCH_HEADER_LEN; off < len; off += TC1_RECORD_LEN) {
		uint8_t data[TC1_RECORD_LEN];
		size_t data_len;
		uint32_t payload_len;
		const char *why;
		struct packet p;

		links->counters.summaries_in++;
		if (tc1_record_to_packet(link->tc1_in + off, data, &data_len, &payload_len, &why) < 0 ||
		    packet_parse(data, data_len, PACKET_TRUNCATED_OK, &p, &why) < 0) {
			links->counters.summaries_dropped++;
			if (links->handlers.event)
				links->handlers.event(links->handlers.ctx, link->index, link->name,
						      LINK_EVENT_SUMMARY_DROPPED, true, why);
			continue;
		}
		p.payload_len = payload_len;
		p.payload_present = 0;
		if (links->handlers.summary)
			links->handlers.summary(links->handlers.ctx, &p);
	}
}

void tc1_link_input(struct link *link)
{
	for (int i = 0; i < 16 && link->fd >= 0; i++) {
		size_t need = 0;
		const char *why;
		ssize_t n;

		if (tc1_batch_need(link->tc1_in, link->tc1_len, &need, &why) < 0) {
			link_close(link, "malformed batch from the TCPCopy intercept: %s", why);
			return;
		}
		n = read(link->fd, link->tc1_in + link->tc1_len, need - link->tc1_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			if (n < 0)
				link_close(link, "read: %s", strerror(errno));
			else
				link_close(link, "the TCPCopy intercept closed the connection%s",
					   link->tc1_len ? " in the middle of a batch" : "");
			return;
		}
		link->owner->counters.bytes_in += (size_t)n;
		link->last_received_ms = loop_now_ms(link->owner->loop);
		link->tc1_len += (size_t)n;
		/* need grows once the count is in: ask again before judging */
		if (tc1_batch_need(link->tc1_in, link->tc1_len, &need, &why) < 0) {
			link_close(link, "malformed batch from the TCPCopy intercept: %s", why);
			return;
		}
		if (link->tc1_len == need && need > TC1_BATCH_HEADER_LEN) {
			deliver_batch(link, need);
			link->tc1_len = 0;
		}
	}
}
