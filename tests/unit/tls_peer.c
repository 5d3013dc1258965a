/*
 * tls_peer.c — the test peer of tls_peer.h. Every wait is bounded: the
 * socket times out after 10 s either way.
 */
#include "tls_peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/wire/wire.h"
#include "lib/wire/wire_tls.h"

int tls_peer_listen(uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

static int open_socket(struct tls_peer *p)
{
	struct timeval tv = { .tv_sec = 10 };
	int fd;

	if (p->server) {
		fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	} else {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(p->port),
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	return fd;
}

static bool write_all(struct wire_conn *c, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = wire_conn_write(c, buf, len);

		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static bool send_hello(struct tls_peer *p, struct wire_conn *c)
{
	struct wire_hello hello = {
		.version = WIRE_VERSION, .role = p->role, .features = WIRE_FEAT_IPV6,
		.max_body = WIRE_MAX_BODY,
	};
	uint8_t frame[WIRE_HEADER_LEN + WIRE_HELLO_LEN];
	size_t len = wire_encode_hello(frame, sizeof(frame), &hello);

	return write_all(c, frame, len);
}

/* Read frames until the peer's HELLO (or, staying, until it closes). */
static void read_frames(struct tls_peer *p, struct wire_conn *c)
{
	struct wire_decoder d;
	struct wire_frame f;

	if (wire_decoder_init(&d) < 0)
		return;
	d.peer_role = p->role == WIRE_ROLE_COPY ? WIRE_ROLE_INTERCEPT : WIRE_ROLE_COPY;
	d.features = WIRE_FEAT_IPV6;
	for (;;) {
		size_t avail;
		uint8_t *space = wire_decoder_space(&d, &avail);
		ssize_t n;
		int r;

		if (!space)
			break;
		n = wire_conn_read(c, space, avail);
		if (n <= 0) {
			p->peer_closed = n == 0 || errno == ECONNRESET || errno == EPROTO;
			if (n < 0 && !p->error[0])
				snprintf(p->error, sizeof(p->error), "read: %s",
					 wire_conn_strerror(c, errno));
			break;
		}
		wire_decoder_commit(&d, (size_t)n);
		while ((r = wire_decoder_next(&d, &f)) == 1) {
			if (f.type == WIRE_HELLO)
				p->hello_received = true;
			if (f.type == WIRE_HEARTBEAT) {
				p->heartbeats++;
				if (p->heartbeat) {
					uint8_t hb[WIRE_HEADER_LEN + WIRE_HEARTBEAT_LEN];
					size_t len = wire_encode_heartbeat(hb, sizeof(hb), 1);

					write_all(c, hb, len);
				}
			}
		}
		if (r < 0) {
			snprintf(p->error, sizeof(p->error), "decode: %s", d.error);
			break;
		}
		if (p->hello_received && !p->stay)
			break;
	}
	wire_decoder_free(&d);
}

static void *run(void *arg)
{
	struct tls_peer *p = arg;
	struct wire_conn c;
	int fd = open_socket(p);
	char err[256];

	if (fd < 0) {
		snprintf(p->error, sizeof(p->error), "socket: %s", strerror(errno));
		goto out;
	}
	wire_conn_plain(&c, fd);
	if (p->raw) {
		write_all(&c, p->raw, p->raw_len);
		read_frames(p, &c);
	} else if (p->silent) {
		read_frames(p, &c);
	} else {
		if (p->tls) {
			if (wire_conn_tls(&c, p->tls, fd, "127.0.0.1", err, sizeof(err)) < 0) {
				snprintf(p->error, sizeof(p->error), "%s", err);
				goto out_close;
			}
			p->handshake = wire_conn_handshake(&c) == 1 ? 1 : -1;
			if (p->handshake < 0) {
				snprintf(p->error, sizeof(p->error), "%s", c.error);
				goto out_close;
			}
		}
		if (send_hello(p, &c))
			read_frames(p, &c);
	}
out_close:
	wire_conn_free(&c);
	close(fd);
out:
	__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

void tls_peer_start(struct tls_peer *p)
{
	p->done = 0;
	p->handshake = 0;
	p->error[0] = '\0';
	pthread_create(&p->thread, NULL, run, p);
}

void tls_peer_join(struct tls_peer *p)
{
	pthread_join(p->thread, NULL);
}
