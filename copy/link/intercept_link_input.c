/*
 * intercept_link_input.c — what a link reads: bytes into the wire decoder,
 * then each whole frame acted on. A malformed stream closes this link only
 * (after telling the peer why); a summary whose data is not IP + TCP is
 * dropped and counted, as docs/protocol.md section 8 says.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "copy/link/intercept_link_private.h"
#include "lib/runtime/loop.h"

/* Reads per readable event, so one busy intercept cannot starve the
 * capture; the loop comes back while data is left (level-triggered). */
#define READS_PER_EVENT 16

static void deliver_summaries(struct link *link, const struct wire_frame *f)
{
	struct intercept_links *links = link->owner;
	struct wire_summary_iter it;
	struct wire_summary s;
	const char *why;
	int rc;

	wire_summary_iter_init(&it, f);
	while ((rc = wire_summary_next(&it, &s, &why)) == 1) {
		struct packet p;

		links->counters.summaries_in++;
		if (packet_parse(s.data, s.data_len, PACKET_TRUNCATED_OK, &p, &why) < 0) {
			links->counters.summaries_dropped++;
			if (links->handlers.event)
				links->handlers.event(links->handlers.ctx, link->index, link->name,
						      LINK_EVENT_SUMMARY_DROPPED, true, why);
			continue;
		}
		/* The record's payload length is authoritative (an IP total
		 * length of 0 from GRO, a truncated prefix). */
		p.payload_len = s.payload_len;
		if (p.payload_present > p.payload_len)
			p.payload_present = p.payload_len;
		if (links->handlers.summary)
			links->handlers.summary(links->handlers.ctx, &p);
	}
	/* The decoder validated the framing: only a frame built by hand
	 * could lie here. */
	if (rc < 0)
		link_close(link, "bad SUMMARIES frame: %s", why);
}

static void peer_error(struct link *link, const struct wire_frame *f)
{
	const char *message = "", *why;
	size_t message_len = 0;
	uint16_t code = 0;

	if (wire_error_parse(f, &code, &message, &message_len, &why) < 0) {
		link_close(link, "bad ERROR frame: %s", why);
		return;
	}
	link_close(link, "the intercept sent ERROR %s: %.*s", wire_error_name(code),
		   (int)(message_len > 300 ? 300 : message_len), message);
}

/* 0 to go on, -1 when the link was closed. */
static int handle_frame(struct link *link, const struct wire_frame *f)
{
	struct wire_hello hello;
	const char *why;

	link->owner->counters.frames_in++;
	switch (f->type) {
	case WIRE_HELLO:
		if (wire_hello_parse(f, &hello, &why) < 0) {
			link_close(link, "bad HELLO: %s", why);
			return -1;
		}
		link_hello_received(link, &hello);
		/* Registering the live routes again may have closed it. */
		return link->state == LINK_READY ? 0 : -1;
	case WIRE_SUMMARIES:
		deliver_summaries(link, f);
		return link->state == LINK_READY ? 0 : -1;
	case WIRE_HEARTBEAT:
		return 0;
	case WIRE_ERROR:
		peer_error(link, f);
		return -1;
	default:
		/* The decoder refuses ROUTE_* from an intercept already. */
		link_close(link, "unexpected %s frame", wire_type_name(f->type));
		return -1;
	}
}

/* 0 to read on, -1 when the link was closed. */
static int handle_frames(struct link *link)
{
	struct wire_frame f;
	int rc;

	while ((rc = wire_decoder_next(&link->decoder, &f)) == 1)
		if (handle_frame(link, &f) < 0)
			return -1;
	if (rc < 0) {
		char reason[sizeof(link->decoder.error)];

		memcpy(reason, link->decoder.error, sizeof(reason));
		link_send_error(link, link->decoder.error_code, reason);
		link_close(link, "malformed frame from the intercept: %s", reason);
		return -1;
	}
	return 0;
}

void link_input(struct link *link)
{
	/* Bytes TLS decrypted already are not seen by epoll: read them all. */
	for (int i = 0; (i < READS_PER_EVENT || wire_conn_pending(&link->io)) && link->fd >= 0;
	     i++) {
		size_t avail = 0;
		uint8_t *space = wire_decoder_space(&link->decoder, &avail);
		ssize_t n;

		if (!space) {
			link_close(link, "decoder failed: %s", link->decoder.error);
			return;
		}
		n = wire_conn_read(&link->io, space, avail);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			link_update_interest(link);	/* TLS may wait to write */
			return;
		}
		if (n < 0) {
			link_close(link, "read: %s", wire_conn_strerror(&link->io, errno));
			return;
		}
		if (n == 0) {
			size_t left = wire_decoder_pending(&link->decoder);

			if (left)
				link_close(link, "the intercept closed the connection in the middle "
					   "of a frame (%zu bytes left)", left);
			else
				link_close(link, "the intercept closed the connection");
			return;
		}
		link->owner->counters.bytes_in += (size_t)n;
		link->last_received_ms = loop_now_ms(link->owner->loop);
		wire_decoder_commit(&link->decoder, (size_t)n);
		if (handle_frames(link) < 0)
			return;
	}
}
