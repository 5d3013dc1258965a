/*
 * connection_output.c — what intercept sends a copy daemon: frames queued
 * in one bounded buffer per connection (summaries dropped whole when the
 * peer does not keep up, control frames let past the limit) and written
 * without blocking, the loop watching for writability while some wait.
 */
#include <errno.h>
#include <stdio.h>

#include "intercept/server_internal.h"

/* Room kept past the output limit for the small control frames (HELLO,
 * HEARTBEAT, ERROR), so that a slow reader still hears why it is closed. */
#define CONTROL_RESERVE 2048

static size_t output_limit(const struct connection *c)
{
	return c->server->cfg.output_limit ? c->server->cfg.output_limit : SERVER_OUTPUT_LIMIT;
}

void connection_update_interest(struct connection *c)
{
	unsigned want = LOOP_READ | (c->waiting_writable || c->io.want_write ? LOOP_WRITE : 0);

	if (c->interest == want)
		return;
	c->interest = want;
	loop_mod_fd(c->server->loop, c->fd, want);
}

static void watch_writable(struct connection *c, bool on)
{
	c->waiting_writable = on;
	connection_update_interest(c);
}

/* Mark c broken. It cannot be closed on the spot when the write that
 * failed came from inside its own batch (a frame filled in batch_add):
 * server_flush closes it once the batches are done. */
static void mark_failed(struct connection *c, const char *why)
{
	if (c->failed)
		return;
	c->failed = true;
	snprintf(c->failed_reason, sizeof(c->failed_reason), "%s", why);
	c->server->failed_count++;
}

bool connection_write(struct connection *c)
{
	char why[128];
	size_t written;
	enum wire_output_status status;

	if (c->failed)
		return false;
	if (!c->io.handshake_done)
		return true;	/* nothing goes before the TLS handshake is done */
	status = wire_output_write_conn(&c->out, &c->io, loop_now_ms(c->server->loop), &written);
	istat_add(c->server->stats, ISTAT_BYTES_OUT, written);
	if (status == WIRE_OUTPUT_ERROR) {
		snprintf(why, sizeof(why), "write failed: %s", wire_conn_strerror(&c->io, errno));
		mark_failed(c, why);
		return false;
	}
	watch_writable(c, status == WIRE_OUTPUT_AGAIN);
	return true;
}

bool connection_write_or_close(struct connection *c)
{
	if (connection_write(c))
		return true;
	connection_close(c, LOG_LEVEL_WARNING, c->failed_reason);
	return false;
}

/* Queue a frame; false when it did not fit under limit (or no memory). */
static bool out_queue(struct connection *c, const uint8_t *frame, size_t len, size_t limit)
{
	if (wire_output_queued(&c->out) + len > limit)
		return false;
	return wire_output_append(&c->out, frame, len);
}

bool connection_queue_control(struct connection *c, const uint8_t *frame, size_t len)
{
	return out_queue(c, frame, len, output_limit(c) + CONTROL_RESERVE);
}

bool connection_send_control(struct connection *c, const uint8_t *frame, size_t len)
{
	if (!connection_queue_control(c, frame, len))
		return true;	/* the peer reads nothing: the timeout will end it */
	return c->waiting_writable ? true : connection_write_or_close(c);
}

void connection_emit(struct connection *c, const uint8_t *frame, size_t len, uint16_t count)
{
	if (c->failed || !out_queue(c, frame, len, output_limit(c))) {
		/* The peer does not keep up: drop the whole frame (the protocol
		 * allows it; the copy side retransmits). */
		c->summaries_dropped += count;
		istat_add(c->server->stats, ISTAT_SUMMARIES_DROPPED, count);
		return;
	}
	istat_inc(c->server->stats, ISTAT_FRAMES_OUT);
	/* Called from inside c's batch: a failure only marks c (see
	 * mark_failed). */
	if (!c->waiting_writable)
		connection_write(c);
}
