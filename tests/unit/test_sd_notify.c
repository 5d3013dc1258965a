/*
 * test_sd_notify.c — notifications received on a real AF_UNIX datagram
 * socket the test binds, by path and by abstract name, as systemd does;
 * and the watchdog interval from the environment.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/runtime/sd_notify.h"

/* The receiving end, as systemd sets it up: SO_PASSCRED so that the
 * sender's pid arrives with each message. */
struct receiver {
	int fd;
	char dir[64];
	char name[128];		/* the NOTIFY_SOCKET value */
};

static void bind_receiver(struct receiver *r, int abstract)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	socklen_t len;
	int on = 1;

	r->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(r->fd >= 0);
	assert_int_equal(setsockopt(r->fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)), 0);
	r->dir[0] = '\0';
	if (abstract) {
		snprintf(r->name, sizeof(r->name), "@doppel-test-notify-%d-%ld", (int)getpid(),
			 (long)time(NULL));
		memcpy(addr.sun_path, r->name, strlen(r->name));
		addr.sun_path[0] = '\0';
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(r->name));
	} else {
		snprintf(r->dir, sizeof(r->dir), "/tmp/doppel-test-notify-XXXXXX");
		assert_non_null(mkdtemp(r->dir));
		snprintf(r->name, sizeof(r->name), "%s/notify", r->dir);
		strcpy(addr.sun_path, r->name);
		len = sizeof(addr);
	}
	assert_int_equal(bind(r->fd, (struct sockaddr *)&addr, len), 0);
	setenv("NOTIFY_SOCKET", r->name, 1);
}

static void close_receiver(struct receiver *r)
{
	close(r->fd);
	if (r->dir[0]) {
		unlink(r->name);
		rmdir(r->dir);
	}
	unsetenv("NOTIFY_SOCKET");
}

/* The next datagram (already queued: local datagrams arrive at once) and
 * the pid the kernel says sent it. */
static void receive(struct receiver *r, char *buf, size_t len, pid_t *sender)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} control;
	struct iovec iov = { buf, len - 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *c;
	ssize_t n = recvmsg(r->fd, &msg, MSG_DONTWAIT);

	assert_true(n >= 0);
	buf[n] = '\0';
	*sender = 0;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred cred;

			memcpy(&cred, CMSG_DATA(c), sizeof(cred));
			*sender = cred.pid;
		}
	}
}

static void expect_message(struct receiver *r, const char *expected)
{
	char buf[1024];
	pid_t sender;

	receive(r, buf, sizeof(buf), &sender);
	assert_string_equal(buf, expected);
	assert_int_equal(sender, getpid());
}

static void send_all_kinds(struct receiver *r)
{
	assert_int_equal(sd_notify_ready(), 1);
	expect_message(r, "READY=1");
	assert_int_equal(sd_notify_status("replaying %d sessions\nto %s", 12, "198.18.0.2"), 1);
	expect_message(r, "STATUS=replaying 12 sessions to 198.18.0.2");
	assert_int_equal(sd_notify_watchdog(), 1);
	expect_message(r, "WATCHDOG=1");
	assert_int_equal(sd_notify_stopping(), 1);
	expect_message(r, "STOPPING=1");
	assert_int_equal(sd_notify_send("READY=1\nSTATUS=both"), 1);
	expect_message(r, "READY=1\nSTATUS=both");
}

static void test_path_socket(void **state)
{
	struct receiver r;

	bind_receiver(&r, 0);
	send_all_kinds(&r);
	close_receiver(&r);
}

static void test_abstract_socket(void **state)
{
	struct receiver r;

	bind_receiver(&r, 1);
	send_all_kinds(&r);
	close_receiver(&r);
}

static void test_long_status_is_cut(void **state)
{
	static char big[1000];
	struct receiver r;
	char buf[1024];
	pid_t sender;

	memset(big, 's', sizeof(big) - 1);
	bind_receiver(&r, 1);
	assert_int_equal(sd_notify_status("%s", big), 1);
	receive(&r, buf, sizeof(buf), &sender);
	assert_int_equal(strlen(buf), strlen("STATUS=") + 400);
	close_receiver(&r);
}

static void test_unset_or_bad_socket(void **state)
{
	char long_name[200];

	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(sd_notify_ready(), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(sd_notify_ready(), 0);

	setenv("NOTIFY_SOCKET", "/nonexistent-doppel-dir/notify", 1);
	assert_int_equal(sd_notify_ready(), -1);
	assert_int_equal(errno, ENOENT);
	setenv("NOTIFY_SOCKET", "relative/notify", 1);
	assert_int_equal(sd_notify_ready(), -1);
	assert_int_equal(errno, EINVAL);
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	assert_int_equal(sd_notify_ready(), -1);
	assert_int_equal(errno, EAFNOSUPPORT);
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[0] = '/';
	long_name[sizeof(long_name) - 1] = '\0';
	setenv("NOTIFY_SOCKET", long_name, 1);
	assert_int_equal(sd_notify_ready(), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog_interval(void **state)
{
	char pid[32];

	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	assert_int_equal(sd_watchdog_interval_ms(), 0);

	setenv("WATCHDOG_USEC", "3000000", 1);
	assert_int_equal(sd_watchdog_interval_ms(), 3000);
	setenv("WATCHDOG_USEC", "1500", 1);
	assert_int_equal(sd_watchdog_interval_ms(), 2);	/* rounded up, never 0 */

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	setenv("WATCHDOG_USEC", "20000000", 1);
	assert_int_equal(sd_watchdog_interval_ms(), 20000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(sd_watchdog_interval_ms(), 0);	/* meant for another process */
	setenv("WATCHDOG_PID", "12x", 1);
	assert_int_equal(sd_watchdog_interval_ms(), 0);
	unsetenv("WATCHDOG_PID");

	setenv("WATCHDOG_USEC", "0", 1);
	assert_int_equal(sd_watchdog_interval_ms(), 0);
	setenv("WATCHDOG_USEC", "-5", 1);
	assert_int_equal(sd_watchdog_interval_ms(), 0);
	setenv("WATCHDOG_USEC", "5s", 1);
	assert_int_equal(sd_watchdog_interval_ms(), 0);
	setenv("WATCHDOG_USEC", "99999999999999999999999", 1);
	assert_int_equal(sd_watchdog_interval_ms(), 0);
	unsetenv("WATCHDOG_USEC");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_socket),
		cmocka_unit_test(test_abstract_socket),
		cmocka_unit_test(test_long_status_is_cut),
		cmocka_unit_test(test_unset_or_bad_socket),
		cmocka_unit_test(test_watchdog_interval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
