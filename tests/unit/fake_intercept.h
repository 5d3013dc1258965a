/*
 * fake_intercept.h — a stand-in doppel-intercept for doppel-copy's link
 * tests: a TCP listener on 127.0.0.1 (an ephemeral port) in the test's own
 * event loop, that decodes what the copy side sends with lib/wire and
 * records it, answers HELLO (unless told not to), and sends whatever bytes
 * the test gives it. Uses lib/ only, so it links into every unit test.
 */
#ifndef DOPPEL_FAKE_INTERCEPT_H
#define DOPPEL_FAKE_INTERCEPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/runtime/loop.h"
#include "lib/wire/wire.h"

#define FAKE_MAX_ROUTES 256
#define FAKE_MAX_FRAMES 256

struct fake_intercept {
	struct loop *loop;
	int listen_fd;
	uint16_t port;
	int conn_fd;			/* -1 when no copy is connected */
	struct wire_decoder decoder;
	bool answer_hello;		/* send our HELLO when the copy's arrives (default) */
	uint32_t max_body;		/* announced in our HELLO (default WIRE_MAX_BODY) */
	uint32_t features;		/* announced in our HELLO (default WIRE_FEAT_IPV6) */

	unsigned accepts;		/* connections accepted */
	unsigned closes;		/* connections that ended (EOF from the copy) */
	bool decode_failed;
	char decode_error[160];

	/* Every frame type received, in order, across connections. */
	uint8_t frame_types[FAKE_MAX_FRAMES];
	size_t frame_count;
	struct wire_hello hello;	/* the copy's last HELLO */
	uint16_t error_code;		/* the copy's last ERROR (0: none) */

	/* Routes received, in order: added[i] true for ROUTE_ADD. */
	struct wire_route routes[FAKE_MAX_ROUTES];
	bool added[FAKE_MAX_ROUTES];
	size_t route_count;

	struct fake_intercept *next;	/* takes connections while this one is busy */
};

/* Listen (in l) and accept one copy connection at a time. */
void fake_intercept_start(struct fake_intercept *f, struct loop *l);
void fake_intercept_stop(struct fake_intercept *f);
/* extra (not started) takes the connections that arrive at f's port while
 * f and the fakes chained before it are busy: a fake per connection of a
 * copy daemon with -C. Stop each one. */
void fake_intercept_chain(struct fake_intercept *f, struct fake_intercept *extra);
/* Bytes to the connected copy (the test fails if none is connected). */
void fake_intercept_send(struct fake_intercept *f, const void *data, size_t len);
void fake_intercept_send_hello(struct fake_intercept *f);
/* Close the connection to the copy (as a dying intercept would). */
void fake_intercept_drop(struct fake_intercept *f);
/* How many frames of this type were received. */
size_t fake_intercept_frames(const struct fake_intercept *f, uint8_t type);

/* Run l until cond(arg) holds or max_ms pass; returns cond(arg). */
bool fake_run_until(struct loop *l, bool (*cond)(void *arg), void *arg, uint64_t max_ms);

#endif
