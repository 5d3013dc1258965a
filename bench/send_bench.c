/*
 * send_bench.c — the -o sender (AF_PACKET, send_packet.c) alone, on a veth
 * pair in a network namespace of its own (unshare(CLONE_NEWNET); addresses
 * 198.18.0.0/15), with a pfifo_fast qdisc on the sending end as a real
 * NIC has (a veth has none by default).
 *
 *   send_bench COUNT BATCH
 *       COUNT 100-byte TCP packets, send_flush() after every BATCH: CPU
 *       seconds (user + system, getrusage) per 10,000 packets, and system
 *       calls (sendmmsg) per packet.
 *
 * Output: one "RESULT send BATCH CPU_S_PER_10K SYSCALLS_PER_PACKET SENT
 * RETRY" line. Needs root; prints "not measured" without it.
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
	static uint8_t payload[100];
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

	if (argc != 3) {
		fprintf(stderr, "usage: send_bench COUNT BATCH\n");
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
	if (system("ip link add sba type veth peer name sbb address 02:00:00:00:00:0b && "
		   "ip link set sba up && ip link set sbb up && "
		   "tc qdisc add dev sba root pfifo_fast") != 0) {
		fprintf(stderr, "send_bench: setting up the veth pair failed\n");
		return 1;
	}
	memcpy(cfg.next_hop_mac, next_hop, 6);
	cfg.batch = (unsigned)batch;
	s = send_open(&cfg, on_fail, &failures, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "send_bench: %s\n", err);
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
	spec.payload_len = sizeof(payload);
	start = cpu_seconds();
	for (unsigned long i = 0; i < count; i++) {
		spec.seq = (uint32_t)i * sizeof(payload);
		len = packet_build(pkt, sizeof(pkt), &spec);
		send_queue(s, &key, pkt, len);
		if ((i + 1) % batch == 0)
			send_flush(s);
	}
	send_flush(s);
	cpu = cpu_seconds() - start;
	printf("send -o, batch %lu: %.3f CPU s per 10k packets, %.3f system calls per packet "
	       "(%llu sent, %llu retry, %lu failures)\n", batch, cpu * 10000 / (double)count,
	       (double)send_counters(s)->batches / (double)count,
	       (unsigned long long)send_counters(s)->packets,
	       (unsigned long long)send_counters(s)->retry, failures);
	printf("RESULT send %lu %.4f %.3f %llu %llu\n", batch, cpu * 10000 / (double)count,
	       (double)send_counters(s)->batches / (double)count,
	       (unsigned long long)send_counters(s)->packets,
	       (unsigned long long)send_counters(s)->retry);
	send_close(s);
	return 0;
}
