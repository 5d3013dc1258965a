/*
 * send_bench.c — the -o sender (AF_PACKET, send_packet.c) alone, on a veth
 * pair in a network namespace of its own (unshare(CLONE_NEWNET); addresses
 * 198.18.0.0/15), with a pfifo_fast qdisc on the sending end as a real
 * NIC has (a veth has none by default).
 *
 *   send_bench COUNT BATCH [ring|batches [PAYLOAD [veth|ifb]]]
 *       COUNT TCP packets of PAYLOAD bytes of payload (100), on the veth
 *       pair (the peer's stack receives each) or on an ifb device (whose
 *       driver frees each frame sent to it directly: the sending path alone, as far as a NIC's
 *       driver takes the frame without copying it; a veth copies the
 *       ring's pages, skb_copy_ubufs, before passing them to its peer), send_flush() after every BATCH, through
 *       the PACKET_TX_RING (ring, the default) or by sendmmsg (batches,
 *       --tx-ring no): CPU seconds (user + system, getrusage) per 10,000
 *       packets, and system calls (send or sendmmsg) per packet.
 *
 * Output: one "RESULT send MODE DEVICE BATCH PAYLOAD CPU_S_PER_10K SYSCALLS_PER_PACKET
 * SENT RETRY" line. Needs root; prints "not measured" without it.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "copy/send/send.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"
#include "lib/net/packet_build.h"

static void on_fail(void *ctx, const struct session_key *k, int err)
{
	(void)k;
	(void)err;
	(*(unsigned long *)ctx)++;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	static const uint8_t next_hop[6] = { 0x02, 0, 0, 0, 0, 0x0b };
	static uint8_t payload[1400];
	struct send_config cfg = { .kind = SEND_PACKET, .device = "sba" };
	struct session_key key = { .client_port = 40000, .target_port = 80 };
	struct packet_spec spec;
	uint8_t pkt[PACKET_HEADERS_MAX + sizeof(payload)];
	unsigned long failures = 0;
	char err[256] = "";
	struct sender *s;
	unsigned long count, batch;
	double start, cpu;
	size_t len;

	const char *mode = argc >= 4 ? argv[3] : "ring";
	unsigned long payload_len = argc >= 5 ? strtoul(argv[4], NULL, 10) : 100;
	const char *device = argc >= 6 ? argv[5] : "veth";

	if (argc < 3 || argc > 6 || (strcmp(mode, "ring") && strcmp(mode, "batches")) ||
	    payload_len == 0 || payload_len > sizeof(payload) ||
	    (strcmp(device, "veth") && strcmp(device, "ifb"))) {
		fprintf(stderr, "usage: send_bench COUNT BATCH [ring|batches [PAYLOAD 1..1400 "
			"[veth|ifb]]]\n");
		return 2;
	}
	if (geteuid() != 0) {
		printf("send: not measured: needs root (network namespaces)\n");
		return 0;
	}
	count = strtoul(argv[1], NULL, 10);
	batch = strtoul(argv[2], NULL, 10);
	if (count == 0 || batch == 0 || batch > 1024)
		return 2;
	if (unshare(CLONE_NEWNET) != 0) {
		perror("send_bench: unshare(CLONE_NEWNET)");
		return 1;
	}
	if (strcmp(device, "ifb") == 0 ?
	    system("ip link add sba type ifb && ip link set sba up && "
		   "tc qdisc add dev sba root pfifo_fast") != 0 :
	    system("ip link add sba type veth peer name sbb address 02:00:00:00:00:0b && "
		   "ip link set sba up && ip link set sbb up && "
		   "tc qdisc add dev sba root pfifo_fast") != 0) {
		fprintf(stderr, "send_bench: setting up the %s device failed\n", device);
		return 1;
	}
	memcpy(cfg.next_hop_mac, next_hop, 6);
	cfg.batch = (unsigned)batch;
	cfg.no_tx_ring = strcmp(mode, "batches") == 0;
	s = send_open(&cfg, on_fail, &failures, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "send_bench: %s\n", err);
		return 1;
	}
	if (!cfg.no_tx_ring && send_tx_ring_bytes(s) == 0) {
		fprintf(stderr, "send_bench: no PACKET_TX_RING: %s\n", send_tx_ring_fallback(s));
		return 1;
	}
	memset(&spec, 0, sizeof(spec));
	dp_addr_parse("198.18.0.1", &spec.src);
	dp_addr_parse("198.18.0.2", &spec.dst);
	spec.sport = 40000;
	spec.dport = 80;
	spec.flags = TCPF_ACK | TCPF_PSH;
	spec.window = 1024;
	spec.payload = payload;
	spec.payload_len = payload_len;
	start = cpu_seconds();
	for (unsigned long i = 0; i < count; i++) {
		spec.seq = (uint32_t)(i * payload_len);
		len = packet_build(pkt, sizeof(pkt), &spec);
		send_queue(s, &key, pkt, len);
		if ((i + 1) % batch == 0)
			send_flush(s);
	}
	send_flush(s);
	cpu = cpu_seconds() - start;
	printf("send -o %s on %s, batch %lu, %lu-byte payload: %.4f CPU s per 10k packets, %.3f system calls per packet "
	       "(%llu sent, %llu retry, %lu failures)\n", mode, device, batch, payload_len, cpu * 10000 / (double)count,
	       (double)send_counters(s)->batches / (double)count,
	       (unsigned long long)send_counters(s)->packets,
	       (unsigned long long)send_counters(s)->retry, failures);
	printf("RESULT send %s %s %lu %lu %.4f %.3f %llu %llu\n", mode, device, batch, payload_len, cpu * 10000 / (double)count,
	       (double)send_counters(s)->batches / (double)count,
	       (unsigned long long)send_counters(s)->packets,
	       (unsigned long long)send_counters(s)->retry);
	send_close(s);
	return 0;
}
