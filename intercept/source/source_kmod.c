/*
 * source_kmod.c — responses swallowed by doppel.ko, read over generic
 * netlink (include/uapi/doppel.h; docs/kmod.md).
 *
 * Open sets the namespace's rules from --match (and --local-out), then
 * attaches this socket as the listener; the module drops every matched
 * packet, listener or not, and sends each one's summary here in batches.
 * Close detaches and clears the rules, so a clean stop leaves nothing
 * behind; a crash leaves the rules, and the module keeps dropping (fail
 * closed) until the next start replaces them.
 *
 * Only what the kernel can match is accepted: source address and port
 * rules. A tcpdump filter (-F) or a device (-i) cannot be applied in the
 * kernel and is refused rather than silently ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>

#include "intercept/source/kmod_netlink.h"
#include "intercept/source/nl_attr.h"
#include "lib/runtime/loop.h"
#include "lib/net/packet.h"
#include "intercept/source/source.h"
#include "intercept/source/source_kmod.h"
#include "include/uapi/doppel.h"

/* Bursts of responses must not overflow the socket before we read it. */
#define KMOD_SOCKET_BUFFER (16 * 1024 * 1024)
/* Datagrams per readable event, so the server's connections get a turn. */
#define KMOD_READ_BUDGET 64

struct kmod_source {
	struct source *source;
	struct loop *loop;
	struct kmod_nl nl;
	bool watching;
};

/* What the parse callbacks need: where to deliver, what is ours. */
struct batch_reader {
	struct source *source;
	uint16_t family_id;
	uint8_t packet[DOPPEL_HEADERS_MAX + DOPPEL_PAYLOAD_PREFIX_MAX];
};

struct summary {
	const struct nlattr *headers, *payload;
	uint32_t payload_len;
	bool has_payload_len;
};

static int summary_attr(const struct nlattr *attr, void *data)
{
	struct summary *s = data;

	switch (mnl_attr_get_type(attr)) {
	case DOPPEL_A_SUMMARY_HEADERS:
		s->headers = attr;
		break;
	case DOPPEL_A_SUMMARY_PAYLOAD:
		s->payload = attr;
		break;
	case DOPPEL_A_SUMMARY_PAYLOAD_LEN:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		s->payload_len = mnl_attr_get_u32(attr);
		s->has_payload_len = true;
		break;
	}
	return MNL_CB_OK;
}

/* Headers and prefix side by side, parsed as a truncated packet; the
 * kernel's payload length wins over the IP header's (GSO at LOCAL_OUT). */
static void deliver_summary(struct batch_reader *r, const struct nlattr *nest)
{
	struct source *s = r->source;
	struct summary sum = { 0 };
	size_t headers_len, payload_len = 0;
	struct packet p;
	const char *why;

	if (nl_attr_walk_nested(nest, summary_attr, &sum) != NL_ATTR_OK || !sum.headers ||
	    !sum.has_payload_len) {
		s->counters.malformed++;
		return;
	}
	headers_len = mnl_attr_get_payload_len(sum.headers);
	if (sum.payload)
		payload_len = mnl_attr_get_payload_len(sum.payload);
	if (headers_len > DOPPEL_HEADERS_MAX || payload_len > DOPPEL_PAYLOAD_PREFIX_MAX) {
		s->counters.malformed++;
		return;
	}
	memcpy(r->packet, mnl_attr_get_payload(sum.headers), headers_len);
	if (payload_len)
		memcpy(r->packet + headers_len, mnl_attr_get_payload(sum.payload), payload_len);
	/* The headers attribute holds the IP and TCP headers and nothing more
	 * (uapi/doppel.h): bytes past them would be payload the kernel did not
	 * count, more present than the payload length says. */
	if (packet_parse(r->packet, headers_len + payload_len, PACKET_TRUNCATED_OK, &p, &why) < 0 ||
	    payload_len > sum.payload_len || p.payload != r->packet + headers_len) {
		s->counters.malformed++;
		return;
	}
	p.payload_len = sum.payload_len;
	s->counters.packets++;
	if (s->deliver)
		s->deliver(s->deliver_ctx, &p);
}

static int batch_attr(const struct nlattr *attr, void *data)
{
	struct batch_reader *r = data;

	if (mnl_attr_get_type(attr) == DOPPEL_A_SUMMARY)
		deliver_summary(r, attr);
	else if (mnl_attr_get_type(attr) == DOPPEL_A_LOST &&
		 mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
		r->source->counters.lost += mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

/* Attributes are walked only as far as they lie whole inside the message
 * (nl_attr.h); a summary that is not whole is counted malformed, and so is
 * a cut attribute of the batch, which ends its walk. */
static int on_summaries(const struct nlmsghdr *nlh, void *data)
{
	struct batch_reader *r = data;
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != r->family_id ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*genl)) || genl->cmd != DOPPEL_CMD_SUMMARIES)
		return MNL_CB_OK;
	if (nl_attr_walk_msg(nlh, sizeof(*genl), batch_attr, r) != NL_ATTR_OK)
		r->source->counters.malformed++;
	return MNL_CB_OK;
}

/* One parse buffer for the process: the daemon reads on one thread. */
static struct batch_reader reader;

/* The callback for messages read while waiting for an acknowledgement:
 * summaries can already be on their way once ATTACH is through. */
static int on_message(const struct nlmsghdr *nlh, void *data)
{
	struct kmod_source *ks = data;

	reader.source = ks->source;
	reader.family_id = ks->nl.family_id;
	return on_summaries(nlh, &reader);
}

/* libmnl 1.0.4 compares nlmsg_len as an int: a length of 2 GiB or more
 * passes its check and walks off the buffer. The kernel never sends one,
 * but the framing is checked here before libmnl sees it. */
static bool framing_ok(const uint8_t *buf, size_t len)
{
	while (len >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		size_t step = MNL_ALIGN(nlh->nlmsg_len);

		if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len)
			return false;
		if (step > len)
			step = len;
		buf += step;
		len -= step;
	}
	return true;
}

void source_kmod_read_batch(struct source *s, uint16_t family_id, const void *buf, size_t len)
{
	reader.source = s;
	reader.family_id = family_id;
	if (!framing_ok(buf, len) || mnl_cb_run(buf, len, 0, 0, on_summaries, &reader) < 0)
		s->counters.malformed++;
}

static void on_readable(struct loop *l, int fd, unsigned events, void *arg)
{
	struct kmod_source *ks = arg;
	ssize_t n;

	for (int i = 0; i < KMOD_READ_BUDGET; i++) {
		n = mnl_socket_recvfrom(ks->nl.sock, ks->nl.buffer, KMOD_RECV_BUFFER_SIZE);
		if (n < 0) {
			/* ENOBUFS: the kernel counts what it could not queue
			 * and reports it in the next batch's DOPPEL_A_LOST. */
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno != EINTR && errno != ENOBUFS)
				return;
			continue;
		}
		source_kmod_read_batch(ks->source, ks->nl.family_id, ks->nl.buffer, (size_t)n);
	}
}

static int check_config(const struct source_config *cfg, char *err, size_t errlen)
{
	if (cfg->filter) {
		snprintf(err, errlen, "kmod: -F '%s': a tcpdump filter cannot be applied in the "
			 "kernel; the module matches source address and port: use --match "
			 "ADDR:PORT or --match PORT", cfg->filter);
		return -1;
	}
	if (cfg->device) {
		snprintf(err, errlen, "kmod: -i %s: the module hooks every interface of the "
			 "namespace; -i is for --source pcap", cfg->device);
		return -1;
	}
	if (cfg->match_count == 0) {
		snprintf(err, errlen, "kmod: no --match: say which responses to take "
			 "(--match ADDR:PORT or --match PORT, the target's side)");
		return -1;
	}
	for (size_t i = 0; i < cfg->match_count; i++) {
		const struct source_match *m = &cfg->matches[i];

		if (m->addr.family == 0 && m->port == 0) {
			snprintf(err, errlen, "kmod: --match number %zu has neither address nor "
				 "port; it would swallow every TCP packet", i + 1);
			return -1;
		}
		if (m->addr.family != 0 && m->addr.family != AF_INET && m->addr.family != AF_INET6) {
			snprintf(err, errlen, "kmod: --match number %zu: unknown address family %u",
				 i + 1, m->addr.family);
			return -1;
		}
	}
	return 0;
}

static void put_rule(struct nlmsghdr *nlh, const struct source_match *m, bool local_out)
{
	struct nlattr *rule = mnl_attr_nest_start(nlh, DOPPEL_A_RULE);

	mnl_attr_put_u8(nlh, DOPPEL_A_RULE_HOOK,
			local_out ? DOPPEL_HOOK_LOCAL_OUT : DOPPEL_HOOK_PRE_ROUTING);
	if (m->addr.family == AF_INET)
		mnl_attr_put(nlh, DOPPEL_A_RULE_ADDR4, 4, &m->addr.v4);
	else if (m->addr.family == AF_INET6)
		mnl_attr_put(nlh, DOPPEL_A_RULE_ADDR6, 16, &m->addr.v6);
	if (m->port)
		mnl_attr_put_u16(nlh, DOPPEL_A_RULE_PORT, m->port);
	mnl_attr_nest_end(nlh, rule);
}

/* 64 rules of at most 36 bytes each fit one request buffer. */
static int set_rules(struct kmod_source *ks, const struct source_config *cfg,
		     size_t count, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = kmod_nl_prepare(&ks->nl, buf, DOPPEL_CMD_SET_RULES);
	struct nlattr *rules = mnl_attr_nest_start(nlh, DOPPEL_A_RULES);

	for (size_t i = 0; i < count; i++)
		put_rule(nlh, &cfg->matches[i], cfg->local_out);
	mnl_attr_nest_end(nlh, rules);
	return kmod_nl_request(&ks->nl, nlh, "kmod: set rules", on_message, ks, err, errlen);
}

static int attach(struct kmod_source *ks, uint16_t payload_prefix, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = kmod_nl_prepare(&ks->nl, buf, DOPPEL_CMD_ATTACH);

	mnl_attr_put_u32(nlh, DOPPEL_A_VERSION, DOPPEL_GENL_VERSION);
	mnl_attr_put_u16(nlh, DOPPEL_A_PAYLOAD_PREFIX, payload_prefix);
	return kmod_nl_request(&ks->nl, nlh, "kmod: attach", on_message, ks, err, errlen);
}

static int kmod_source_open(struct source *s, struct loop *l, const struct source_config *cfg,
			    char *err, size_t errlen)
{
	struct kmod_source *ks;
	int fd;

	if (check_config(cfg, err, errlen) < 0)
		return -1;
	ks = calloc(1, sizeof(*ks));
	if (!ks) {
		snprintf(err, errlen, "kmod: out of memory");
		return -1;
	}
	ks->source = s;
	ks->loop = l;
	if (kmod_nl_open(&ks->nl, KMOD_SOCKET_BUFFER, err, errlen) < 0) {
		free(ks);
		return -1;
	}
	/* Attach first: once the rules are in, every summary has a reader. */
	if (attach(ks, cfg->payload_prefix, err, errlen) < 0 ||
	    set_rules(ks, cfg, cfg->match_count, err, errlen) < 0)
		goto fail;
	fd = mnl_socket_get_fd(ks->nl.sock);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    loop_add_fd(l, fd, LOOP_READ, on_readable, ks) < 0) {
		snprintf(err, errlen, "kmod: watch the netlink socket: %s", strerror(errno));
		goto fail;
	}
	ks->watching = true;
	s->priv = ks;
	return 0;
fail:
	kmod_nl_close(&ks->nl);
	free(ks);
	return -1;
}

static void kmod_source_flush(struct source *s)
{
}

/* Best effort: the socket is closing anyway, and closing it detaches too. */
static void kmod_source_close(struct source *s)
{
	struct kmod_source *ks = s->priv;
	char err[256];
	int fd;

	if (!ks)
		return;
	fd = mnl_socket_get_fd(ks->nl.sock);
	if (ks->watching)
		loop_del_fd(ks->loop, fd);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	set_rules(ks, &(struct source_config){ 0 }, 0, err, sizeof(err));
	kmod_nl_request(&ks->nl, kmod_nl_prepare(&ks->nl, err, DOPPEL_CMD_DETACH),
			"kmod: detach", on_message, ks, err, sizeof(err));
	kmod_nl_close(&ks->nl);
	free(ks);
	s->priv = NULL;
}

const struct source_ops source_kmod_ops = {
	.name = "kmod",
	.open = kmod_source_open,
	.check = check_config,
	.flush = kmod_source_flush,
	.close = kmod_source_close,
};
