/*
 * capture.c — what the capture backends share: choosing one, compiling a
 * tcpdump expression into a kernel BPF program, mapping pcap data-link types,
 * and parsing a frame into a delivered packet or a malformed count.
 */
#include "copy/capture/capture.h"

#include <linux/filter.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy/capture/capture_mirror.h"
#include "lib/runtime/pcap_live.h"
#include "lib/net/packet_dlt.h"

const struct capture_ops *capture_ops_for(enum capture_kind kind)
{
	switch (kind) {
	case CAPTURE_AFPACKET:
		return &capture_afpacket_ops;
	case CAPTURE_PCAP:
		return &capture_pcap_ops;
	case CAPTURE_OFFLINE:
		return &capture_offline_ops;
	}
	return NULL;
}

int capture_compile_filter(const char *expr, int dlt, uint32_t snaplen,
			   struct sock_fprog *prog, char *err, size_t errlen)
{
	struct bpf_program bpf;
	struct sock_filter *code;
	pcap_t *dead;

	if (!expr)
		expr = "";
	if (snaplen == 0)
		snaplen = CAPTURE_SNAPLEN_DEFAULT;
	dead = pcap_open_dead(dlt, (int)snaplen);
	if (!dead) {
		snprintf(err, errlen, "filter: libpcap cannot open a handle for data-link type %d", dlt);
		return -1;
	}
	if (pcap_compile(dead, &bpf, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, errlen, "filter '%s': %s", expr, pcap_geterr(dead));
		pcap_close(dead);
		return -1;
	}
	pcap_close(dead);
	/* The kernel refuses longer classic programs (BPF_MAXINSNS). */
	if (bpf.bf_len == 0 || bpf.bf_len > BPF_MAXINSNS) {
		snprintf(err, errlen, "filter '%s': %u instructions (the kernel takes 1 to %d)",
			 expr, bpf.bf_len, BPF_MAXINSNS);
		pcap_freecode(&bpf);
		return -1;
	}
	code = calloc(bpf.bf_len, sizeof(*code));
	if (!code) {
		snprintf(err, errlen, "filter '%s': out of memory", expr);
		pcap_freecode(&bpf);
		return -1;
	}
	/* struct bpf_insn and struct sock_filter are the same classic BPF
	 * instruction; copy field by field rather than trust the layout. */
	for (unsigned i = 0; i < bpf.bf_len; i++) {
		code[i].code = bpf.bf_insns[i].code;
		code[i].jt = bpf.bf_insns[i].jt;
		code[i].jf = bpf.bf_insns[i].jf;
		code[i].k = bpf.bf_insns[i].k;
	}
	prog->len = (unsigned short)bpf.bf_len;
	prog->filter = code;
	pcap_freecode(&bpf);
	return 0;
}

/* One mapping for both daemons: lib/runtime/pcap_live.c's. */
int capture_dlt_from_pcap(int pcap_dlt, enum packet_dlt *out)
{
	return pcap_live_dlt_from_pcap(pcap_dlt, out);
}

void capture_deliver_frame(struct capture *c, enum packet_dlt dlt, uint64_t ts_us,
			   const uint8_t *frame, size_t len)
{
	struct packet p;
	const char *why;

	if (c->mirror) {
		capture_mirror_deliver(c, dlt, ts_us, frame, len);
		return;
	}
	if (packet_parse_dlt(dlt, frame, len, PACKET_TRUNCATED_OK, &p, &why) != 0) {
		c->counters.malformed++;
		return;
	}
	c->counters.packets++;
	c->counters.bytes += p.ip_total_len ? p.ip_total_len : len;
	c->deliver(c->ctx, ts_us, &p);
}
