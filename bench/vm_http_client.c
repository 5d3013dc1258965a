/*
 * vm_http_client.c — the load of bench/kmod_vm.sh's VM: COUNT HTTP/1.0
 * requests to ADDRESS:PORT, one connection each, one after the other, from
 * a single process, so that the VM's CPU goes to the replay rather than to
 * starting a client per request (busybox nc through ip netns exec did).
 * Built static by kmod_vm.sh (the VM has no libc of its own for it).
 *
 *   vm_http_client ADDRESS PORT COUNT
 *
 * Bounded: every connection has a 5 s timeout, the whole run 600 s. Prints
 * how many requests got an answer; exits 1 if any did not.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CONNECTION_TIMEOUT_S 5
#define RUN_TIMEOUT_S 600

/* One request; 0 when some answer came back before the server closed. */
static int one_request(const struct sockaddr_in *to, unsigned n)
{
	struct timeval timeout = { .tv_sec = CONNECTION_TIMEOUT_S };
	char request[64], answer[4096];
	size_t received = 0;
	ssize_t r;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	snprintf(request, sizeof(request), "GET /index.html?n=%u HTTP/1.0\r\n\r\n", n);
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to)) < 0 ||
	    write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		close(fd);
		return -1;
	}
	while ((r = read(fd, answer, sizeof(answer))) > 0)
		received += (size_t)r;
	close(fd);
	return r == 0 && received > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	unsigned long count, port, answered = 0;
	time_t start = time(NULL);
	char *end;

	if (argc != 4 || inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
		fprintf(stderr, "usage: vm_http_client ADDRESS PORT COUNT\n");
		return 2;
	}
	port = strtoul(argv[2], &end, 10);
	if (*end || port == 0 || port > 65535) {
		fprintf(stderr, "vm_http_client: port '%s': 1 to 65535\n", argv[2]);
		return 2;
	}
	count = strtoul(argv[3], &end, 10);
	if (*end || count == 0 || count > 1000000) {
		fprintf(stderr, "vm_http_client: count '%s': 1 to 1000000\n", argv[3]);
		return 2;
	}
	to.sin_port = htons((uint16_t)port);
	for (unsigned long i = 1; i <= count && time(NULL) - start < RUN_TIMEOUT_S; i++)
		if (one_request(&to, (unsigned)i) == 0)
			answered++;
	printf("vm_http_client: %lu of %lu requests answered\n", answered, count);
	return answered == count ? 0 : 1;
}
