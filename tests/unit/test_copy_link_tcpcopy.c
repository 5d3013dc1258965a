/*
 * test_copy_link_tcpcopy.c — doppel-copy --wire tcpcopy1 against a stock
 * TCPCopy 1.0 intercept played by the test over a real socket, byte for
 * byte as docs/protocol.md section 15 has it: the version message first,
 * a 14-byte message per route added or deleted, no HELLO; IPv6 sessions
 * refused; combined batches of 64-byte records handed over as summaries
 * with the payload length read from the record; a bad batch count closes
 * the link; silence does not.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/net/packet.h"
#include "lib/wire/tcpcopy1.h"
#include "link_fixture.h"

static bool up(void *arg)
{
	return ((struct link_fixture *)arg)->up_count >= 1;
}

static bool summaries(void *arg)
{
	struct link_fixture *fx = arg;

	return fx->summary_count >= fx->want;
}

static bool down(void *arg)
{
	return ((struct link_fixture *)arg)->down_count >= 1;
}

/* Exactly len bytes from the peer, within a few seconds (the links' loop
 * runs in between so that they write). */
static void read_exact(struct link_fixture *fx, int fd, uint8_t *buf, size_t len)
{
	size_t have = 0;

	for (int i = 0; i < 100 && have < len; i++) {
		struct pollfd p = { fd, POLLIN, 0 };

		intercept_links_flush(fx->links);
		if (poll(&p, 1, 50) == 1) {
			ssize_t n = recv(fd, buf + have, len - have, 0);
			assert_true(n > 0);
			have += (size_t)n;
		}
	}
	assert_int_equal(have, len);
}

static void record_of(uint8_t rec[TC1_RECORD_LEN], uint8_t flags, size_t payload_len)
{
	static const uint8_t payload[200];
	uint8_t buf[300];
	struct packet_spec spec;
	const char *why;

	memset(&spec, 0, sizeof(spec));
	assert_int_equal(dp_addr_parse("198.18.0.3", &spec.src), 0);
	assert_int_equal(dp_addr_parse("198.18.0.1", &spec.dst), 0);
	spec.sport = 80;
	spec.dport = 40000;
	spec.seq = 1000;
	spec.flags = flags;
	spec.payload = payload;
	spec.payload_len = payload_len;
	size_t len = packet_build(buf, sizeof(buf), &spec);
	assert_true(len > 0);
	assert_int_equal(tc1_record_from_packet(rec, buf, len, &why), 0);
}

static void test_tcpcopy1_link(void **state)
{
	struct link_fixture *fx = *state;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t slen = sizeof(sin);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), peer;
	uint8_t msg[TC1_CLIENT_MSG_LEN], expect[TC1_CLIENT_MSG_LEN];
	struct session_key k = link_fixture_key("198.18.0.1", 40000);
	struct session_key k6 = link_fixture_key("2001:db8::1", 40000);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &slen), 0);
	fx->cfg.tcpcopy1 = true;
	fx->cfg.peer_dead_ms = 300;	/* silence must not matter */
	fx->cfg.heartbeat_idle_ms = 100;
	link_fixture_connect_to(fx, ntohs(sin.sin_port));
	assert_true(fake_run_until(fx->loop, up, fx, 5000));
	peer = accept(lfd, NULL, NULL);
	assert_true(peer >= 0);

	/* the version message, nothing before it */
	read_exact(fx, peer, msg, sizeof(msg));
	tc1_encode_version(expect, TC1_VERSION_DEFAULT);
	assert_memory_equal(msg, expect, sizeof(msg));

	/* routes: IPv4 as 14-byte messages; IPv6 refused */
	assert_int_equal(intercept_links_route_add(fx->links, &k), 0);
	assert_int_equal(intercept_links_route_add(fx->links, &k6), -1);
	read_exact(fx, peer, msg, sizeof(msg));
	static const uint8_t add[14] = { 198, 18, 0, 1, 0x9c, 0x40, 0, 1, 198, 18, 0, 3, 0, 80 };
	assert_memory_equal(msg, add, 14);

	/* a batch of two: the SYN-ACK and a 150-byte answer */
	uint8_t batch[2 + 2 * TC1_RECORD_LEN];
	batch[0] = 0;
	batch[1] = 2;
	record_of(batch + 2, TCPF_SYN | TCPF_ACK, 0);
	record_of(batch + 2 + TC1_RECORD_LEN, TCPF_ACK | TCPF_PSH, 150);
	/* in two pieces, the cut inside the first record */
	assert_int_equal(send(peer, batch, 30, 0), 30);
	fx->want = 2;
	struct pollfd none = { -1, 0, 0 };
	poll(&none, 0, 20);
	assert_int_equal(send(peer, batch + 30, sizeof(batch) - 30, 0), (ssize_t)sizeof(batch) - 30);
	assert_true(fake_run_until(fx->loop, summaries, fx, 5000));
	assert_int_equal(fx->summaries[0].flags & (TCPF_SYN | TCPF_ACK), TCPF_SYN | TCPF_ACK);
	assert_int_equal(fx->summaries[0].payload_len, 0);
	assert_int_equal(fx->summaries[1].payload_len, 150);
	assert_int_equal(fx->summaries[1].sport, 80);
	assert_int_equal(fx->summaries[1].dport, 40000);
	assert_int_equal(fx->summaries[1].seq, 1000);

	/* more than peer_dead_ms of silence (the loop running): still up */
	assert_false(fake_run_until(fx->loop, down, fx, 600));
	intercept_links_route_del(fx->links, &k);
	read_exact(fx, peer, msg, sizeof(msg));
	assert_int_equal(msg[7], TC1_CLIENT_DEL);
	assert_int_equal(fx->down_count, 0);

	/* a batch count over 16 closes the link, saying why */
	uint8_t bad[2] = { 0, 17 };
	assert_int_equal(send(peer, bad, 2, 0), 2);
	assert_true(fake_run_until(fx->loop, down, fx, 5000));
	assert_non_null(strstr(fx->last_reason, "batch count over 16"));
	close(peer);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tcpcopy1_link, link_fixture_setup,
						link_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
