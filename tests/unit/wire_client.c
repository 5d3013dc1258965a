/*
 * wire_client.c — see wire_client.h.
 */
#include "wire_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "wire_streams.h"

static void keep_record(struct wire_client *c, const struct wire_summary *s)
{
	struct wire_client_record *r;
	size_t ip_len;

	/* count them all, keep the first ones */
	if (c->record_count++ >= WIRE_CLIENT_MAX_RECORDS)
		return;
	r = &c->records[c->record_count - 1];
	r->flags = s->flags;
	r->payload_len = s->payload_len;
	r->data_len = s->data_len;
	ip_len = (s->data[0] >> 4) == 4 ? (size_t)(s->data[0] & 0xf) * 4 : 40;
	assert_true(s->data_len >= ip_len + 20);
	r->source_port = (uint16_t)(s->data[ip_len] << 8 | s->data[ip_len + 1]);
	r->destination_port = (uint16_t)(s->data[ip_len + 2] << 8 | s->data[ip_len + 3]);
}

static void take_frame(struct wire_client *c, const struct wire_frame *f)
{
	struct wire_summary_iter it;
	struct wire_summary s;
	const char *why, *msg;
	size_t msg_len;

	if (f->type < 8)
		c->frames[f->type]++;
	if (f->type == WIRE_HELLO) {
		assert_int_equal(wire_hello_parse(f, &c->hello, &why), 0);
	} else if (f->type == WIRE_ERROR) {
		assert_int_equal(wire_error_parse(f, &c->error_code, &msg, &msg_len, &why), 0);
		memcpy(c->error_message, msg, msg_len);
		c->error_message[msg_len] = '\0';
	} else if (f->type == WIRE_SUMMARIES) {
		wire_summary_iter_init(&it, f);
		while (wire_summary_next(&it, &s, &why) == 1)
			keep_record(c, &s);
	}
}

static void on_readable(struct loop *l, int fd, unsigned events, void *arg)
{
	struct wire_client *c = arg;
	struct wire_frame f;
	size_t avail;
	int r;

	uint8_t *space = wire_decoder_space(&c->decoder, &avail);
	ssize_t n = space ? read(fd, space, avail) : -1;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		c->closed = true;
		loop_del_fd(l, fd);
		c->watched = false;
		return;
	}
	wire_decoder_commit(&c->decoder, (size_t)n);
	while ((r = wire_decoder_next(&c->decoder, &f)) == 1)
		take_frame(c, &f);
	if (r < 0)
		c->decode_failed = true;
}

void wire_client_connect(struct wire_client *c, struct loop *l, uint16_t port, bool watch,
			 bool small_receive_buffer)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int size = 4096;

	memset(c, 0, sizeof(*c));
	c->loop = l;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	if (small_receive_buffer)
		assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)), 0);
	assert_int_equal(wire_decoder_init(&c->decoder), 0);
	c->decoder.peer_role = WIRE_ROLE_INTERCEPT;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (watch)
		wire_client_watch(c);
}

void wire_client_watch(struct wire_client *c)
{
	assert_int_equal(loop_add_fd(c->loop, c->fd, LOOP_READ, on_readable, c), 0);
	c->watched = true;
}

void wire_client_send(struct wire_client *c, const void *bytes, size_t len)
{
	assert_int_equal(write(c->fd, bytes, len), (ssize_t)len);
}

void wire_client_send_hello(struct wire_client *c, uint32_t features)
{
	struct wire_hello h = {
		.version = WIRE_VERSION, .role = WIRE_ROLE_COPY,
		.features = features, .max_body = WIRE_MAX_BODY,
	};
	uint8_t frame[WIRE_HEADER_LEN + WIRE_HELLO_LEN];

	wire_client_send(c, frame, wire_encode_hello(frame, sizeof(frame), &h));
}

void wire_client_send_route(struct wire_client *c, enum wire_type type,
			    const char *client, uint16_t client_port,
			    const char *target, uint16_t target_port)
{
	struct wire_route r = test_route(client, client_port, target, target_port);
	uint8_t frame[WIRE_HEADER_LEN + WIRE_ROUTE_LEN];
	size_t len = wire_encode_routes(frame, sizeof(frame), type, &r, 1);

	assert_int_equal(len, sizeof(frame));
	wire_client_send(c, frame, len);
}

void wire_client_close(struct wire_client *c)
{
	if (c->watched)
		loop_del_fd(c->loop, c->fd);
	c->watched = false;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	wire_decoder_free(&c->decoder);
}
