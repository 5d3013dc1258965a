/*
 * fake_intercept.c — see fake_intercept.h.
 */
#include "fake_intercept.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

static void record_frame(struct fake_intercept *f, const struct wire_frame *frame)
{
	const char *why, *msg;
	size_t msg_len;

	if (f->frame_count < FAKE_MAX_FRAMES)
		f->frame_types[f->frame_count++] = frame->type;
	switch (frame->type) {
	case WIRE_HELLO:
		assert_int_equal(wire_hello_parse(frame, &f->hello, &why), 0);
		if (f->answer_hello)
			fake_intercept_send_hello(f);
		break;
	case WIRE_ROUTE_ADD:
	case WIRE_ROUTE_DEL:
		for (size_t i = 0; i < wire_route_count(frame) && f->route_count < FAKE_MAX_ROUTES; i++) {
			assert_int_equal(wire_route_get(frame, i, &f->routes[f->route_count], &why), 0);
			f->added[f->route_count++] = frame->type == WIRE_ROUTE_ADD;
		}
		break;
	case WIRE_ERROR:
		assert_int_equal(wire_error_parse(frame, &f->error_code, &msg, &msg_len, &why), 0);
		break;
	default:
		break;
	}
}

static void connection_closed(struct fake_intercept *f)
{
	loop_del_fd(f->loop, f->conn_fd);
	close(f->conn_fd);
	f->conn_fd = -1;
	wire_decoder_free(&f->decoder);
	f->closes++;
}

static void on_readable(struct loop *l, int fd, unsigned events, void *arg)
{
	struct fake_intercept *f = arg;
	struct wire_frame frame;
	size_t avail;
	uint8_t *space = wire_decoder_space(&f->decoder, &avail);
	ssize_t n;
	int rc;

	if (!space) {
		connection_closed(f);
		return;
	}
	n = read(fd, space, avail);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		connection_closed(f);
		return;
	}
	wire_decoder_commit(&f->decoder, (size_t)n);
	while ((rc = wire_decoder_next(&f->decoder, &frame)) == 1)
		record_frame(f, &frame);
	if (rc < 0 && !f->decode_failed) {
		f->decode_failed = true;
		memcpy(f->decode_error, f->decoder.error, sizeof(f->decode_error));
	}
}

static void on_accept(struct loop *l, int fd, unsigned events, void *arg)
{
	struct fake_intercept *f = arg;
	int conn = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (conn < 0)
		return;
	/* Busy: the next fake in the chain (one per -C connection) takes it. */
	while (f->conn_fd >= 0 && f->next)
		f = f->next;
	if (f->conn_fd >= 0) {
		/* One copy at a time: a second connection is refused. */
		close(conn);
		return;
	}
	f->conn_fd = conn;
	f->accepts++;
	assert_int_equal(wire_decoder_init(&f->decoder), 0);
	f->decoder.peer_role = WIRE_ROLE_COPY;
	f->decoder.features = f->features;
	assert_int_equal(loop_add_fd(l, conn, LOOP_READ, on_readable, f), 0);
}

void fake_intercept_chain(struct fake_intercept *f, struct fake_intercept *extra)
{
	memset(extra, 0, sizeof(*extra));
	extra->loop = f->loop;
	extra->conn_fd = -1;
	extra->listen_fd = -1;
	extra->answer_hello = true;
	extra->max_body = WIRE_MAX_BODY;
	extra->port = f->port;
	while (f->next)
		f = f->next;
	f->next = extra;
}

void fake_intercept_start(struct fake_intercept *f, struct loop *l)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);

	memset(f, 0, sizeof(*f));
	f->loop = l;
	f->conn_fd = -1;
	f->answer_hello = true;
	f->max_body = WIRE_MAX_BODY;
	f->features = WIRE_FEAT_IPV6;
	f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(f->listen_fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(f->listen_fd, 8), 0);
	assert_int_equal(getsockname(f->listen_fd, (struct sockaddr *)&sin, &len), 0);
	f->port = ntohs(sin.sin_port);
	assert_int_equal(loop_add_fd(l, f->listen_fd, LOOP_READ, on_accept, f), 0);
}

void fake_intercept_stop(struct fake_intercept *f)
{
	if (f->conn_fd >= 0)
		connection_closed(f);
	if (f->listen_fd >= 0) {
		loop_del_fd(f->loop, f->listen_fd);
		close(f->listen_fd);
		f->listen_fd = -1;
	}
}

void fake_intercept_send(struct fake_intercept *f, const void *data, size_t len)
{
	assert_true(f->conn_fd >= 0);
	assert_int_equal(send(f->conn_fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

void fake_intercept_send_hello(struct fake_intercept *f)
{
	struct wire_hello hello = {
		.version = WIRE_VERSION, .role = WIRE_ROLE_INTERCEPT,
		.features = f->features, .max_body = f->max_body,
	};
	uint8_t frame[WIRE_HEADER_LEN + WIRE_HELLO_LEN];
	size_t len = wire_encode_hello(frame, sizeof(frame), &hello);

	fake_intercept_send(f, frame, len);
}

void fake_intercept_drop(struct fake_intercept *f)
{
	assert_true(f->conn_fd >= 0);
	connection_closed(f);
}

size_t fake_intercept_frames(const struct fake_intercept *f, uint8_t type)
{
	size_t n = 0;

	for (size_t i = 0; i < f->frame_count; i++)
		n += f->frame_types[i] == type;
	return n;
}

struct run_state {
	bool (*cond)(void *arg);
	void *arg;
	uint64_t timer;
};

/* Checked every millisecond from a timer rather than a before-sleep hook,
 * which the code under test may use itself. */
static void check_condition(struct loop *l, uint64_t id, void *arg)
{
	struct run_state *r = arg;

	r->timer = 0;
	if (r->cond(r->arg)) {
		loop_stop(l);
		return;
	}
	r->timer = loop_timer_add(l, 1, check_condition, r);
}

static void give_up(struct loop *l, uint64_t id, void *arg)
{
	loop_stop(l);
}

/* A timer bounds the wait so a broken link ends the test instead of
 * hanging it. */
bool fake_run_until(struct loop *l, bool (*cond)(void *arg), void *arg, uint64_t max_ms)
{
	struct run_state r = { cond, arg, 0 };
	uint64_t guard;

	if (cond(arg))
		return true;
	guard = loop_timer_add(l, max_ms, give_up, NULL);
	r.timer = loop_timer_add(l, 1, check_condition, &r);
	loop_run(l);
	loop_timer_cancel(l, guard);
	if (r.timer)
		loop_timer_cancel(l, r.timer);
	return cond(arg);
}
