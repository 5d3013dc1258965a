/*
 * intercept_link_output.c — what a link writes: whole frames into its
 * lib/wire/wire_output.h buffer under the link's limit, the route queue
 * encoded into as few frames as the peer's max body allows, and ERROR
 * frames.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "copy/link/intercept_link_private.h"
#include "lib/runtime/loop.h"

/* Room for len more bytes under the limit, or the link is closed: -1. */
static uint8_t *output_space(struct link *link, size_t len)
{
	size_t unsent = wire_output_queued(&link->out);
	uint8_t *space;

	if (unsent + len > link->owner->cfg.max_output_bytes) {
		link_close(link, "the intercept is not reading (%zu bytes waiting)", unsent);
		return NULL;
	}
	space = wire_output_space(&link->out, len);
	if (!space)
		link_close(link, "out of memory for the output (%zu bytes)", unsent + len);
	return space;
}

int link_output_append(struct link *link, const uint8_t *frame, size_t len)
{
	uint8_t *space;

	if (len == 0)
		return 0;
	space = output_space(link, len);
	if (!space)
		return -1;
	memcpy(space, frame, len);
	wire_output_commit(&link->out, len);
	return 0;
}

/* LOOP_WRITE while output waits or the TLS session waits to write
 * (want_write remembers what the loop was asked for). */
void link_update_interest(struct link *link)
{
	bool on = link->output_waits || link->io.want_write;

	if (link->want_write == on || link->fd < 0)
		return;
	link->want_write = on;
	loop_mod_fd(link->owner->loop, link->fd, LOOP_READ | (on ? LOOP_WRITE : 0));
}

static void set_want_write(struct link *link, bool on)
{
	link->output_waits = on;
	link_update_interest(link);
}

void link_output_write(struct link *link)
{
	size_t written;
	enum wire_output_status status;

	if (link->fd < 0)
		return;
	status = wire_output_write_conn(&link->out, &link->io, loop_now_ms(link->owner->loop),
					&written);
	link->owner->counters.bytes_out += written;
	switch (status) {
	case WIRE_OUTPUT_DONE:
		set_want_write(link, false);
		break;
	case WIRE_OUTPUT_AGAIN:
		set_want_write(link, true);
		break;
	case WIRE_OUTPUT_ERROR:
		link_close(link, "write: %s", wire_conn_strerror(&link->io, errno));
		break;
	}
}

/* Called from inside the engine (its route sink), which the daemon must not
 * re-enter: a failure here only marks the link, and the next flush closes it. */
void link_queue_route(struct link *link, uint8_t type, const struct wire_route *r)
{
	if (link->queue_failed)
		return;
	if (link->pending_count == link->pending_cap) {
		size_t cap = link->pending_cap ? link->pending_cap * 2 : 256;
		struct wire_route *routes = realloc(link->pending, cap * sizeof(*routes));
		uint8_t *types;

		if (routes)
			link->pending = routes;
		types = routes ? realloc(link->pending_type, cap) : NULL;
		if (!types) {
			link->queue_failed = true;
			return;
		}
		link->pending_type = types;
		link->pending_cap = cap;
	}
	link->pending[link->pending_count] = *r;
	link->pending_type[link->pending_count] = type;
	link->pending_count++;
}

/* Runs of the same type go out as one frame each, as long as the peer's
 * max body allows; the order of adds and deletes is kept (a session that
 * ends and a new one on the same ports in one iteration). */
int link_output_routes(struct link *link)
{
	size_t per_frame = link->peer_max_body / WIRE_ROUTE_LEN;
	size_t i = 0;

	if (per_frame == 0)
		per_frame = 1;
	if (link->queue_failed) {
		link_close(link, "out of memory for the route queue");
		return -1;
	}
	if (link->owner->cfg.tcpcopy1)
		return tc1_link_output_routes(link);
	while (i < link->pending_count) {
		uint8_t type = link->pending_type[i];
		size_t run = 1, frame_len, cap;
		uint8_t *space;

		while (i + run < link->pending_count && run < per_frame &&
		       link->pending_type[i + run] == type)
			run++;
		cap = WIRE_HEADER_LEN + run * WIRE_ROUTE_LEN;
		space = output_space(link, cap);
		if (!space)
			return -1;
		frame_len = wire_encode_routes(space, cap, type, &link->pending[i], run);
		if (frame_len == 0) {
			link_close(link, "a route could not be encoded");
			return -1;
		}
		wire_output_commit(&link->out, frame_len);
		if (type == WIRE_ROUTE_ADD)
			link->owner->counters.routes_added += run;
		else
			link->owner->counters.routes_deleted += run;
		i += run;
	}
	link->pending_count = 0;
	return 0;
}

void link_send_error(struct link *link, uint16_t code, const char *message)
{
	uint8_t frame[WIRE_HEADER_LEN + 4 + 256];
	size_t len = wire_encode_error(frame, sizeof(frame), code, message);

	if (link->fd < 0 || len == 0 || link->owner->cfg.tcpcopy1)
		return;	/* (TCPCopy's dialect has no ERROR) */
	/* Behind whatever is queued, past the limit (the link closes next),
	 * one attempt: if the kernel does not take it all, it is lost. */
	if (wire_output_append(&link->out, frame, len))
		(void)wire_output_write_conn(&link->out, &link->io, loop_now_ms(link->owner->loop),
					     NULL);
}
