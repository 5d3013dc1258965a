/*
 * capture_fanout.c — an afpacket capture socket joined to a PACKET_FANOUT
 * group, so that the kernel spreads the captured packets over several
 * doppel-copy workers (copy/copy_workers.h) and every packet of one session
 * reaches the same one.
 *
 * Two ways to choose the worker (capture.h, enum capture_fanout):
 *  - by flow: PACKET_FANOUT_HASH, the kernel's symmetric flow hash (both
 *    directions of a connection hash alike, which --compare's answers
 *    need); one client's connections spread over the workers.
 *  - by address: a classic BPF program (PACKET_FANOUT_CBPF) that mixes the
 *    source and destination addresses and ignores the ports, so that every
 *    connection between one client and the online host reaches the same
 *    worker. -n needs this: copy i of client port p uses port p + i*shift,
 *    which may be the port of another connection of the same client; only
 *    one engine can see both and hold one until the other ended.
 * Both with PACKET_FANOUT_FLAG_DEFRAG: a fragment carries no ports, so the
 * kernel reassembles before it hashes (fragments are otherwise never
 * replayed: the parser refuses them, one worker or several).
 */
#include "copy/capture/capture.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* The kernel takes the program's result modulo the number of sockets in
 * the group; the multiply and shifts mix every address bit into the low
 * ones (a plain XOR would put clients .2 and .4 on the same one of 2). */
#define MIX(slot) \
	BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16), \
	BPF_STMT(BPF_MISC | BPF_TAX, 0), \
	BPF_STMT(BPF_LD | BPF_MEM, (slot)), \
	BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0), \
	BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 0x45d9f3b), \
	BPF_STMT(BPF_ST, (slot)), \
	BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16), \
	BPF_STMT(BPF_MISC | BPF_TAX, 0), \
	BPF_STMT(BPF_LD | BPF_MEM, (slot)), \
	BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0), \
	BPF_STMT(BPF_RET | BPF_A, 0)

/* XOR the 32-bit word at network offset off into M[0]. */
#define XOR_WORD(off) \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_NET_OFF + (off))), \
	BPF_STMT(BPF_LDX | BPF_MEM, 0), \
	BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0), \
	BPF_STMT(BPF_ST, 0)

static struct sock_filter by_address[] = {
	/* M[0] = 0 */
	BPF_STMT(BPF_LD | BPF_IMM, 0),
	BPF_STMT(BPF_ST, 0),
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 20),	/* past IPv4's 20 */
	/* IPv4: source at 12, destination at 16 */
	XOR_WORD(12), XOR_WORD(16),
	BPF_STMT(BPF_LD | BPF_MEM, 0),
	MIX(0),
	/* IPv6: source at 8..23, destination at 24..39 */
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, 0),	/* neither: the first worker */
	XOR_WORD(8), XOR_WORD(12), XOR_WORD(16), XOR_WORD(20),
	XOR_WORD(24), XOR_WORD(28), XOR_WORD(32), XOR_WORD(36),
	BPF_STMT(BPF_LD | BPF_MEM, 0),
	MIX(0),
};

int capture_fanout_join(int fd, uint16_t group, enum capture_fanout how, char *err,
			size_t errlen)
{
	uint32_t type = how == CAPTURE_FANOUT_ADDRESS ? PACKET_FANOUT_CBPF : PACKET_FANOUT_HASH;
	/* The group id in the low 16 bits, mode and flags in the high 16. */
	uint32_t arg = group | ((type | PACKET_FANOUT_FLAG_DEFRAG) << 16);

	if (how == CAPTURE_FANOUT_NONE)
		return 0;
	if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) != 0) {
		snprintf(err, errlen, "setsockopt(PACKET_FANOUT, group %u): %s%s", group,
			 strerror(errno), errno == EINVAL ? " (another socket of another mode, "
			 "device or protocol has this group id)" : "");
		return -1;
	}
	if (how == CAPTURE_FANOUT_ADDRESS) {
		struct sock_fprog prog = {
			.len = sizeof(by_address) / sizeof(by_address[0]),
			.filter = by_address,
		};

		if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, &prog, sizeof(prog)) != 0) {
			snprintf(err, errlen, "setsockopt(PACKET_FANOUT_DATA): %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}
