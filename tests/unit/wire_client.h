/*
 * wire_client.h — a copy daemon's end of a wire connection for tests: a
 * real TCP socket to 127.0.0.1 whose reads are driven by the test's event
 * loop, decoding what the intercept sends into counters and copies.
 */
#ifndef DOPPEL_TEST_WIRE_CLIENT_H
#define DOPPEL_TEST_WIRE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/runtime/loop.h"
#include "lib/wire/wire.h"

#define WIRE_CLIENT_MAX_RECORDS 4096

struct wire_client_record {
	uint8_t flags;
	uint32_t payload_len;
	uint16_t data_len;
	uint16_t source_port, destination_port;	/* from the record's TCP header */
};

struct wire_client {
	int fd;
	struct loop *loop;
	bool watched;
	struct wire_decoder decoder;
	unsigned frames[8];		/* frames received, by type */
	bool closed;			/* end of stream (or reset) seen */
	bool decode_failed;		/* the intercept sent something malformed */
	struct wire_hello hello;	/* the intercept's */
	uint16_t error_code;
	char error_message[WIRE_ERROR_MAX_MSG + 1];
	size_t record_count;	/* all received; the first ones are kept: */
	struct wire_client_record records[WIRE_CLIENT_MAX_RECORDS];
};

/* Connect to 127.0.0.1:port (the connection completes in the listener's
 * backlog, before the loop accepts it). With watch, the loop reads and
 * decodes what arrives; without, nothing reads (a stuck copy daemon) until
 * wire_client_watch(). small_receive_buffer makes a slow reader. */
void wire_client_connect(struct wire_client *c, struct loop *l, uint16_t port, bool watch,
			 bool small_receive_buffer);
void wire_client_watch(struct wire_client *c);
void wire_client_send(struct wire_client *c, const void *bytes, size_t len);
void wire_client_send_hello(struct wire_client *c, uint32_t features);
/* One route frame (ROUTE_ADD or ROUTE_DEL), IPv4 or IPv6 addresses. */
void wire_client_send_route(struct wire_client *c, enum wire_type type,
			    const char *client, uint16_t client_port,
			    const char *target, uint16_t target_port);
void wire_client_close(struct wire_client *c);

#endif
