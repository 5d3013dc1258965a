/*
 * intercept_link_output.c — what a link writes: an output buffer that
 * holds whole frames until the kernel takes them, the route queue encoded
 * into as few frames as the peer's max body allows, and ERROR frames.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "copy/link/intercept_link_private.h"
#include "lib/runtime/loop.h"

static int output_reserve(struct link *link, size_t more)
{
	size_t cap;
	uint8_t *out;

	/* Drop what was sent before growing. */
	if (link->out_sent > 0) {
		memmove(link->out, link->out + link->out_sent, link->out_len - link->out_sent);
		link->out_len -= link->out_sent;
		link->out_sent = 0;
	}
	if (link->out_len + more <= link->out_cap)
		return 0;
	cap = link->out_cap ? link->out_cap : 4096;
	while (cap < link->out_len + more)
		cap *= 2;
	out = realloc(link->out, cap);
	if (!out)
		return -1;
	link->out = out;
	link->out_cap = cap;
	return 0;
}

int link_output_append(struct link *link, const uint8_t *frame, size_t len)
{
	size_t unsent = link->out_len - link->out_sent;

	if (len == 0)
		return 0;
	if (unsent + len > link->owner->cfg.max_output_bytes) {
		link_close(link, "the intercept is not reading (%zu bytes waiting)", unsent);
		return -1;
	}
	if (output_reserve(link, len) < 0) {
		link_close(link, "out of memory for the output (%zu bytes)", unsent + len);
		return -1;
	}
	memcpy(link->out + link->out_len, frame, len);
	link->out_len += len;
	return 0;
}

static void set_want_write(struct link *link, bool on)
{
	if (link->want_write == on || link->fd < 0)
		return;
	link->want_write = on;
	loop_mod_fd(link->owner->loop, link->fd, LOOP_READ | (on ? LOOP_WRITE : 0));
}

void link_output_write(struct link *link)
{
	while (link->fd >= 0 && link->out_sent < link->out_len) {
		ssize_t n = send(link->fd, link->out + link->out_sent, link->out_len - link->out_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			set_want_write(link, true);
			return;
		}
		if (n < 0) {
			link_close(link, "write: %s", strerror(errno));
			return;
		}
		link->out_sent += (size_t)n;
		link->owner->counters.bytes_out += (size_t)n;
		link->last_sent_ms = loop_now_ms(link->owner->loop);
	}
	if (link->fd >= 0) {
		link->out_sent = link->out_len = 0;
		set_want_write(link, false);
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
	while (i < link->pending_count) {
		uint8_t type = link->pending_type[i];
		size_t run = 1, frame_len, cap;

		while (i + run < link->pending_count && run < per_frame &&
		       link->pending_type[i + run] == type)
			run++;
		cap = WIRE_HEADER_LEN + run * WIRE_ROUTE_LEN;
		if (link->out_len - link->out_sent + cap > link->owner->cfg.max_output_bytes) {
			link_close(link, "the intercept is not reading (%zu bytes waiting)",
				   link->out_len - link->out_sent);
			return -1;
		}
		if (output_reserve(link, cap) < 0) {
			link_close(link, "out of memory for the output");
			return -1;
		}
		frame_len = wire_encode_routes(link->out + link->out_len, cap, type,
					       &link->pending[i], run);
		if (frame_len == 0) {
			link_close(link, "a route could not be encoded");
			return -1;
		}
		link->out_len += frame_len;
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
	ssize_t n;

	if (link->fd < 0 || len == 0)
		return;
	/* Whatever is still queued goes first; if the kernel does not take
	 * all of it the ERROR would land inside a frame, so it is left out. */
	if (link->out_sent < link->out_len) {
		n = send(link->fd, link->out + link->out_sent, link->out_len - link->out_sent,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 || (size_t)n != link->out_len - link->out_sent)
			return;
		link->out_sent = link->out_len;
	}
	(void)!send(link->fd, frame, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}
