/*
 * tunnel_send.c — a test tool for tests/nft/tunnel_vm.sh: sends COUNT TCP
 * SYNs from CLIENT:40000+i to TARGET:80 through doppel-copy's own tunnel
 * send path (copy/send/ with --tunnel KIND: the UDP or raw socket of the
 * tunnel, the prefix from lib/net/encap.c), so a kernel with every tunnel
 * module can show that it decapsulates what doppel-copy sends.
 *
 *   tunnel_send KIND CLIENT TARGET COUNT
 *
 * Exits 0 when every packet was accepted by the kernel, 1 otherwise (with
 * the reason), 2 on bad arguments. A bounded count, to TARGET only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy/send/send.h"
#include "lib/net/addr.h"
#include "lib/net/encap.h"
#include "lib/net/packet.h"
#include "lib/net/packet_build.h"

static int failures;

static void on_fail(void *ctx, const struct session_key *k, int err)
{
	failures++;
	fprintf(stderr, "tunnel_send: a packet was refused: %s\n", strerror(err));
}

int main(int argc, char **argv)
{
	struct send_config cfg;
	struct packet_spec spec;
	struct session_key key;
	struct sender *s;
	char err[256];
	uint8_t pkt[PACKET_HEADERS_MAX];
	long count;

	if (argc != 5 || (count = strtol(argv[4], NULL, 10)) < 1 || count > 1000) {
		fprintf(stderr, "usage: tunnel_send KIND CLIENT TARGET COUNT (1..1000)\n");
		return 2;
	}
	memset(&cfg, 0, sizeof(cfg));
	memset(&spec, 0, sizeof(spec));
	memset(&key, 0, sizeof(key));
	cfg.kind = SEND_RAW;
	if (encap_parse(argv[1], &cfg.tunnel, err, sizeof(err)) != 0 ||
	    dp_addr_parse(argv[2], &spec.src) != 0 || dp_addr_parse(argv[3], &spec.dst) != 0 ||
	    spec.src.family != spec.dst.family) {
		fprintf(stderr, "tunnel_send: bad arguments %s\n", err);
		return 2;
	}
	s = send_open(&cfg, on_fail, NULL, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "tunnel_send: %s\n", err);
		return 1;
	}
	spec.dport = 80;
	spec.flags = TCPF_SYN;
	spec.window = 8192;
	spec.seq = 1000;
	for (long i = 0; i < count; i++) {
		size_t len;

		spec.sport = (uint16_t)(40000 + i);
		len = packet_build(pkt, sizeof(pkt), &spec);
		if (send_queue(s, &key, pkt, len) != ENGINE_SEND_OK) {
			fprintf(stderr, "tunnel_send: packet %ld not queued\n", i);
			failures++;
		}
	}
	send_flush(s);
	printf("tunnel_send: %s: %llu packets sent\n", argv[1],
	       (unsigned long long)send_counters(s)->packets);
	send_close(s);
	return failures ? 1 : 0;
}
