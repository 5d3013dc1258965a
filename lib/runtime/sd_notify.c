/*
 * sd_notify.c — the notify protocol of sd_notify.h. One short-lived
 * datagram socket per message: notifications are rare (start, stop, a
 * watchdog ping every few seconds), and no fd is kept open for them.
 */
#include "lib/runtime/sd_notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define STATUS_MAX 400

/* The socket address from NOTIFY_SOCKET: "/path" or "@abstract" (the '@'
 * stands for the leading NUL). vsock addresses are not supported. */
static int notify_address(const char *name, struct sockaddr_un *addr, socklen_t *addr_len)
{
	size_t len = strlen(name);

	if (strncmp(name, "vsock:", 6) == 0) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (name[0] != '/' && name[0] != '@') {
		errno = EINVAL;
		return -1;
	}
	if (len > sizeof(addr->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	memcpy(addr->sun_path, name, len);
	if (name[0] == '@')
		addr->sun_path[0] = '\0';
	/* An abstract name is exactly len bytes long: no terminating NUL. */
	*addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	return 0;
}

int sd_notify_send(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un addr;
	socklen_t addr_len;
	size_t len = strlen(state);
	ssize_t sent;
	int fd, saved;

	if (!name || !*name)
		return 0;
	if (notify_address(name, &addr, &addr_len) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	sent = sendto(fd, state, len, MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len);
	saved = errno;
	close(fd);
	if (sent < 0) {
		errno = saved;
		return -1;
	}
	if ((size_t)sent != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 1;
}

int sd_notify_ready(void)
{
	return sd_notify_send("READY=1");
}

int sd_notify_stopping(void)
{
	return sd_notify_send("STOPPING=1");
}

int sd_notify_watchdog(void)
{
	return sd_notify_send("WATCHDOG=1");
}

int sd_notify_status(const char *fmt, ...)
{
	char state[sizeof("STATUS=") + STATUS_MAX];
	size_t prefix = sizeof("STATUS=") - 1;
	va_list ap;

	memcpy(state, "STATUS=", prefix);
	va_start(ap, fmt);
	vsnprintf(state + prefix, sizeof(state) - prefix, fmt, ap);
	va_end(ap);
	for (char *p = state + prefix; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return sd_notify_send(state);
}

/* A whole decimal number, nothing else. */
static bool parse_decimal(const char *s, unsigned long long *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

uint64_t sd_watchdog_interval_ms(void)
{
	const char *pid_text = getenv("WATCHDOG_PID");
	unsigned long long usec, pid;

	if (!parse_decimal(getenv("WATCHDOG_USEC"), &usec) || usec == 0)
		return 0;
	if (pid_text && (!parse_decimal(pid_text, &pid) || pid != (unsigned long long)getpid()))
		return 0;
	return usec / 1000 + (usec % 1000 != 0);
}
