/*
 * tls_peer.h — the other end of a TLS channel test, in a thread of its
 * own with blocking sockets (the daemon's side runs in the test's event
 * loop): a copy daemon connecting to an intercept server, or an intercept
 * accepting a copy daemon's link. It does the TLS handshake (or sends raw
 * bytes, or nothing), says HELLO, and reads frames until the peer's HELLO
 * and, if asked, on until the peer closes, counting HEARTBEATs.
 */
#ifndef DOPPEL_TEST_TLS_PEER_H
#define DOPPEL_TEST_TLS_PEER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wire_tls;

struct tls_peer {
	/* what to do */
	bool server;			/* accept on listen_fd; else connect to port */
	int listen_fd;
	uint16_t port;
	struct wire_tls *tls;		/* NULL: plain text */
	const void *raw;		/* plain bytes sent at once (no TLS, no HELLO) */
	size_t raw_len;
	bool silent;			/* connect and send nothing */
	uint16_t role;			/* our HELLO's (WIRE_ROLE_*) */
	bool stay;			/* after the HELLOs, read until the peer closes */
	bool heartbeat;			/* while staying, answer with our own HEARTBEATs */

	/* what happened (read after tls_peer_join) */
	int handshake;			/* 1 done, -1 failed, 0 not tried */
	char error[256];
	bool hello_received;
	unsigned heartbeats;		/* HEARTBEAT frames received */
	bool peer_closed;		/* the other side closed the connection */
	volatile int done;
	pthread_t thread;
};

void tls_peer_start(struct tls_peer *p);
void tls_peer_join(struct tls_peer *p);
/* A listening socket on 127.0.0.1, any port; *port gets it. */
int tls_peer_listen(uint16_t *port);

#endif
