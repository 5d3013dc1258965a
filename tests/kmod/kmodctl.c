/*
 * kmodctl.c — the kmod tests' hands on doppel.ko, run inside the qemu VM.
 *
 *   kmodctl listen [--match M]... [--local-out] [--prefix N] [--count N] [--seconds S]
 *       open intercept's kmod source (source_kmod.c, the real code) and
 *       print one "summary ..." line per response; ends after N summaries,
 *       S seconds (default 10) or SIGTERM, then closes the source (detach,
 *       rules cleared) and prints "closed packets=.. malformed=.. lost=..".
 *   kmodctl stats          print the namespace's counters, "name value"
 *   kmodctl rules          print the rule set, one "rule ..." line each
 *   kmodctl set [--local-out] M...   replace the rules from this socket
 *   kmodctl attach         try to attach (prints "attached" or the error)
 *   kmodctl refuse         send commands the module must refuse; prints
 *       "refused NAME: <kernel's message>" or "ACCEPTED NAME" for each
 *   kmodctl stall PORT     attach with a 16 KiB socket buffer and
 *       a rule on PORT, print "stalling pid=N", read nothing until SIGUSR1,
 *       then read through the source's batch reader until SIGTERM; prints
 *       "drained summaries=N" once the socket is empty after SIGUSR1,
 *       "lost M" each time DOPPEL_A_LOST adds to the count (so a test can
 *       wait on them) and "stalled summaries=N lost=M" at the end
 * M is ADDR:PORT, [ADDR6]:PORT, ADDR or PORT. Exit 0 on success, 1 on error.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <libmnl/libmnl.h>

#include "intercept/source/kmod_netlink.h"
#include "intercept/source/nl_attr.h"
#include "lib/runtime/loop.h"
#include "intercept/source/source_kmod.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"
#include "intercept/source/source.h"
#include "include/uapi/doppel.h"

static int parse_match(const char *text, struct source_match *m)
{
	char buf[128];
	char *colon, *addr = buf, *end;
	unsigned long port = 0;

	memset(m, 0, sizeof(*m));
	snprintf(buf, sizeof(buf), "%s", text);
	if (buf[0] == '[') {
		end = strchr(buf, ']');
		if (!end)
			return -1;
		*end = '\0';
		addr = buf + 1;
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strrchr(buf, ':');
		if (colon && strchr(buf, ':') != colon)
			colon = NULL;	/* a bare IPv6 address */
	}
	if (colon) {
		*colon = '\0';
		port = strtoul(colon + 1, &end, 10);
		if (*end || port == 0 || port > 65535)
			return -1;
	} else if (!strchr(addr, '.') && !strchr(addr, ':')) {
		port = strtoul(addr, &end, 10);
		if (*end || port == 0 || port > 65535)
			return -1;
		addr = NULL;
	}
	if (addr && *addr && dp_addr_parse(addr, &m->addr) < 0)
		return -1;
	m->port = (uint16_t)port;
	return 0;
}

struct listen_state {
	unsigned long count, wanted;
	struct loop *loop;
};

static void print_summary(void *ctx, const struct packet *p)
{
	struct listen_state *ls = ctx;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

	printf("summary %s %s:%u > %s:%u flags=0x%02x seq=%u ack=%u hlen=%zu payload=%zu prefix=%zu",
	       p->family == AF_INET ? "v4" : "v6", dp_addr_str(&p->src, src, sizeof(src)),
	       p->sport, dp_addr_str(&p->dst, dst, sizeof(dst)), p->dport, p->flags, p->seq,
	       p->ack, p->tcp_header_len, p->payload_len, p->payload_present);
	if (p->fragment)
		printf(" fragment");
	if (p->payload_present) {
		printf(" data=");
		for (size_t i = 0; i < p->payload_present && i < 32; i++)
			putchar(p->payload[i] >= 0x20 && p->payload[i] < 0x7f ? p->payload[i] : '.');
	}
	putchar('\n');
	fflush(stdout);
	if (ls->wanted && ++ls->count >= ls->wanted)
		loop_stop(ls->loop);
}

static void on_stop(struct loop *l, uint64_t id, void *arg)
{
	loop_stop(l);
}

static void on_signal(struct loop *l, int signo, void *arg)
{
	loop_stop(l);
}

static int parse_matches(int argc, char **argv, int *i, struct source_config *cfg)
{
	if (cfg->match_count == SOURCE_MAX_MATCHES ||
	    parse_match(argv[*i], &cfg->matches[cfg->match_count]) < 0) {
		fprintf(stderr, "kmodctl: bad match '%s'\n", argv[*i]);
		return -1;
	}
	cfg->match_count++;
	return 0;
}

static int cmd_listen(int argc, char **argv)
{
	struct source_config cfg = { 0 };
	struct source s = { 0 };
	struct listen_state ls = { 0 };
	unsigned long seconds = 10;
	char err[512];

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--local-out"))
			cfg.local_out = true;
		else if (!strcmp(argv[i], "--match") && i + 1 < argc) {
			i++;
			if (parse_matches(argc, argv, &i, &cfg) < 0)
				return 1;
		} else if (!strcmp(argv[i], "--prefix") && i + 1 < argc)
			cfg.payload_prefix = (uint16_t)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--count") && i + 1 < argc)
			ls.wanted = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--filter") && i + 1 < argc)
			cfg.filter = argv[++i];
		else {
			fprintf(stderr, "kmodctl listen: unknown argument '%s'\n", argv[i]);
			return 1;
		}
	}
	ls.loop = loop_new();
	if (!ls.loop || loop_add_signal(ls.loop, SIGTERM, on_signal, NULL) < 0 ||
	    loop_add_signal(ls.loop, SIGINT, on_signal, NULL) < 0)
		return 1;
	s.ops = &source_kmod_ops;
	s.deliver = print_summary;
	s.deliver_ctx = &ls;
	if (s.ops->open(&s, ls.loop, &cfg, err, sizeof(err)) < 0) {
		printf("open failed: %s\n", err);
		return 1;
	}
	printf("listening pid=%d\n", (int)getpid());
	fflush(stdout);
	loop_timer_add(ls.loop, seconds * 1000, on_stop, NULL);
	loop_run(ls.loop);
	s.ops->close(&s);
	printf("closed packets=%llu malformed=%llu lost=%llu\n",
	       (unsigned long long)s.counters.packets, (unsigned long long)s.counters.malformed,
	       (unsigned long long)s.counters.lost);
	loop_free(ls.loop);
	return 0;
}

static const char *const stat_names[DOPPEL_A_STAT_MAX + 1] = {
	[DOPPEL_A_STAT_MATCHED] = "matched",
	[DOPPEL_A_STAT_SUMMARIES] = "summaries",
	[DOPPEL_A_STAT_BATCHES] = "batches",
	[DOPPEL_A_STAT_LOST_FULL] = "lost_full",
	[DOPPEL_A_STAT_LOST_NOMEM] = "lost_nomem",
	[DOPPEL_A_STAT_NO_LISTENER] = "no_listener",
	[DOPPEL_A_STAT_MALFORMED] = "malformed",
	[DOPPEL_A_STAT_FRAGMENTS] = "fragments",
	[DOPPEL_A_STAT_RULES] = "rules",
	[DOPPEL_A_STAT_LOST_COPY] = "lost_copy",
};

static int print_stat(const struct nlattr *attr, void *data)
{
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= DOPPEL_A_STAT_MAX && stat_names[type] &&
	    mnl_attr_validate(attr, MNL_TYPE_U64) == 0)
		printf("%s %llu\n", stat_names[type], (unsigned long long)mnl_attr_get_u64(attr));
	return MNL_CB_OK;
}

static int print_rule_attr(const struct nlattr *attr, void *data)
{
	char text[INET6_ADDRSTRLEN];

	switch (mnl_attr_get_type(attr)) {
	case DOPPEL_A_RULE_HOOK:
		printf(" hook=%s", mnl_attr_get_u8(attr) ? "local_out" : "pre_routing");
		break;
	case DOPPEL_A_RULE_ADDR4:
		printf(" addr=%s", inet_ntop(AF_INET, mnl_attr_get_payload(attr), text, sizeof(text)));
		break;
	case DOPPEL_A_RULE_ADDR6:
		printf(" addr=%s", inet_ntop(AF_INET6, mnl_attr_get_payload(attr), text, sizeof(text)));
		break;
	case DOPPEL_A_RULE_PORT:
		printf(" port=%u", mnl_attr_get_u16(attr));
		break;
	}
	return MNL_CB_OK;
}

static int print_rule(const struct nlattr *rule, void *data)
{
	int ok;

	printf("rule");
	ok = nl_attr_walk_nested(rule, print_rule_attr, NULL) == NL_ATTR_OK;
	printf("\n");
	return ok ? MNL_CB_OK : MNL_CB_ERROR;
}

static int print_reply_attr(const struct nlattr *attr, void *data)
{
	switch (mnl_attr_get_type(attr)) {
	case DOPPEL_A_STATS:
		return nl_attr_walk_nested(attr, print_stat, NULL) == NL_ATTR_OK ?
		       MNL_CB_OK : MNL_CB_ERROR;
	case DOPPEL_A_LISTENER:
		printf("listener %u\n", mnl_attr_get_u32(attr));
		break;
	case DOPPEL_A_PAYLOAD_PREFIX:
		printf("payload_prefix %u\n", mnl_attr_get_u16(attr));
		break;
	case DOPPEL_A_RULES:
		return nl_attr_walk_nested(attr, print_rule, NULL) == NL_ATTR_OK ?
		       MNL_CB_OK : MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int print_reply(const struct nlmsghdr *nlh, void *data)
{
	struct kmod_nl *k = data;

	if (nlh->nlmsg_type != k->family_id)
		return MNL_CB_OK;
	return nl_attr_walk_msg(nlh, sizeof(struct genlmsghdr), print_reply_attr, NULL) != NL_ATTR_OK ?
		MNL_CB_ERROR : MNL_CB_OK;
}

static int simple_command(struct kmod_nl *k, uint8_t cmd, const char *what)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], err[512];
	struct nlmsghdr *nlh = kmod_nl_prepare(k, buf, cmd);

	if (cmd == DOPPEL_CMD_ATTACH)
		mnl_attr_put_u32(nlh, DOPPEL_A_VERSION, DOPPEL_GENL_VERSION);
	if (kmod_nl_request(k, nlh, what, print_reply, k, err, sizeof(err)) < 0) {
		printf("%s\n", err);
		return 1;
	}
	if (cmd == DOPPEL_CMD_ATTACH)
		printf("attached\n");
	return 0;
}

static int cmd_set(struct kmod_nl *k, int argc, char **argv)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], err[512];
	struct nlmsghdr *nlh = kmod_nl_prepare(k, buf, DOPPEL_CMD_SET_RULES);
	struct nlattr *rules = mnl_attr_nest_start(nlh, DOPPEL_A_RULES);
	struct source_match m;
	uint8_t hook = DOPPEL_HOOK_PRE_ROUTING;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--local-out")) {
			hook = DOPPEL_HOOK_LOCAL_OUT;
			continue;
		}
		if (parse_match(argv[i], &m) < 0) {
			fprintf(stderr, "kmodctl: bad match '%s'\n", argv[i]);
			return 1;
		}
		struct nlattr *rule = mnl_attr_nest_start(nlh, DOPPEL_A_RULE);

		mnl_attr_put_u8(nlh, DOPPEL_A_RULE_HOOK, hook);
		if (m.addr.family == AF_INET)
			mnl_attr_put(nlh, DOPPEL_A_RULE_ADDR4, 4, &m.addr.v4);
		else if (m.addr.family == AF_INET6)
			mnl_attr_put(nlh, DOPPEL_A_RULE_ADDR6, 16, &m.addr.v6);
		if (m.port)
			mnl_attr_put_u16(nlh, DOPPEL_A_RULE_PORT, m.port);
		mnl_attr_nest_end(nlh, rule);
	}
	mnl_attr_nest_end(nlh, rules);
	if (kmod_nl_request(k, nlh, "set rules", NULL, NULL, err, sizeof(err)) < 0) {
		printf("%s\n", err);
		return 1;
	}
	return 0;
}

/* Each builds one request the module must refuse. */
static void refuse_version(struct nlmsghdr *nlh)
{
	mnl_attr_put_u32(nlh, DOPPEL_A_VERSION, 99);
}

static void refuse_no_version(struct nlmsghdr *nlh)
{
}

static void refuse_big_prefix(struct nlmsghdr *nlh)
{
	mnl_attr_put_u32(nlh, DOPPEL_A_VERSION, DOPPEL_GENL_VERSION);
	mnl_attr_put_u16(nlh, DOPPEL_A_PAYLOAD_PREFIX, 60000);
}

static void refuse_kernel_attr(struct nlmsghdr *nlh)
{
	mnl_attr_put_u32(nlh, DOPPEL_A_VERSION, DOPPEL_GENL_VERSION);
	mnl_attr_put_u32(nlh, DOPPEL_A_LOST, 1);
}

static void rule_with(struct nlmsghdr *nlh, int what)
{
	struct nlattr *rules = mnl_attr_nest_start(nlh, DOPPEL_A_RULES);
	struct nlattr *rule = mnl_attr_nest_start(nlh, DOPPEL_A_RULE);
	uint8_t short_addr[3] = { 198, 18, 0 };
	uint32_t v4 = htonl(0xc6120002);

	switch (what) {
	case 0:	/* empty rule */
		break;
	case 1:
		mnl_attr_put(nlh, DOPPEL_A_RULE_ADDR4, sizeof(short_addr), short_addr);
		break;
	case 2:
		mnl_attr_put_u8(nlh, DOPPEL_A_RULE_HOOK, 7);
		mnl_attr_put_u16(nlh, DOPPEL_A_RULE_PORT, 80);
		break;
	case 3:
		mnl_attr_put_u16(nlh, DOPPEL_A_RULE_PORT, 0);
		break;
	case 4:
		mnl_attr_put(nlh, DOPPEL_A_RULE_ADDR4, 4, &v4);
		mnl_attr_put(nlh, DOPPEL_A_RULE_ADDR6, 16, "0123456789abcdef");
		break;
	}
	mnl_attr_nest_end(nlh, rule);
	mnl_attr_nest_end(nlh, rules);
}

static void refuse_empty_rule(struct nlmsghdr *nlh) { rule_with(nlh, 0); }
static void refuse_short_addr(struct nlmsghdr *nlh) { rule_with(nlh, 1); }
static void refuse_bad_hook(struct nlmsghdr *nlh) { rule_with(nlh, 2); }
static void refuse_port_zero(struct nlmsghdr *nlh) { rule_with(nlh, 3); }
static void refuse_two_addrs(struct nlmsghdr *nlh) { rule_with(nlh, 4); }

static void refuse_too_many(struct nlmsghdr *nlh)
{
	struct nlattr *rules = mnl_attr_nest_start(nlh, DOPPEL_A_RULES);

	for (int i = 0; i < 65; i++) {
		struct nlattr *rule = mnl_attr_nest_start(nlh, DOPPEL_A_RULE);

		mnl_attr_put_u16(nlh, DOPPEL_A_RULE_PORT, (uint16_t)(1000 + i));
		mnl_attr_nest_end(nlh, rule);
	}
	mnl_attr_nest_end(nlh, rules);
}

static const struct {
	const char *name;
	uint8_t cmd;
	void (*build)(struct nlmsghdr *nlh);
} refusals[] = {
	{ "attach_bad_version", DOPPEL_CMD_ATTACH, refuse_version },
	{ "attach_no_version", DOPPEL_CMD_ATTACH, refuse_no_version },
	{ "attach_big_prefix", DOPPEL_CMD_ATTACH, refuse_big_prefix },
	{ "attach_kernel_attr", DOPPEL_CMD_ATTACH, refuse_kernel_attr },
	{ "detach_not_listener", DOPPEL_CMD_DETACH, refuse_no_version },
	{ "set_no_rules", DOPPEL_CMD_SET_RULES, refuse_no_version },
	{ "rule_empty", DOPPEL_CMD_SET_RULES, refuse_empty_rule },
	{ "rule_short_addr", DOPPEL_CMD_SET_RULES, refuse_short_addr },
	{ "rule_bad_hook", DOPPEL_CMD_SET_RULES, refuse_bad_hook },
	{ "rule_port_zero", DOPPEL_CMD_SET_RULES, refuse_port_zero },
	{ "rule_two_addrs", DOPPEL_CMD_SET_RULES, refuse_two_addrs },
	{ "rules_too_many", DOPPEL_CMD_SET_RULES, refuse_too_many },
	{ "summaries_from_user", DOPPEL_CMD_SUMMARIES, refuse_no_version },
};

static int cmd_refuse(struct kmod_nl *k)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], err[512];
	int accepted = 0;

	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		struct nlmsghdr *nlh = kmod_nl_prepare(k, buf, refusals[i].cmd);

		refusals[i].build(nlh);
		if (kmod_nl_request(k, nlh, refusals[i].name, NULL, NULL, err, sizeof(err)) < 0) {
			printf("refused %s\n", err);
		} else {
			printf("ACCEPTED %s\n", refusals[i].name);
			accepted++;
		}
	}
	return accepted ? 1 : 0;
}

static void count_summary(void *ctx, const struct packet *p)
{
	(*(unsigned long *)ctx)++;
}

static int cmd_stall(struct kmod_nl *k, int argc, char **argv)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], err[512];
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	struct nlmsghdr *nlh;
	struct nlattr *rules, *rule;
	struct source s = { 0 };
	unsigned long summaries = 0;
	unsigned long long lost = 0;
	bool drained = false;
	sigset_t signals;
	ssize_t n;
	int signo;

	if (argc != 3) {
		fprintf(stderr, "usage: kmodctl stall PORT\n");
		return 1;
	}
	/* A few batches fill it: what follows is lost and counted. */
	setsockopt(mnl_socket_get_fd(k->sock), SOL_SOCKET, SO_RCVBUF, &(int){ 16384 }, sizeof(int));
	sigemptyset(&signals);
	sigaddset(&signals, SIGUSR1);
	sigaddset(&signals, SIGTERM);
	sigprocmask(SIG_BLOCK, &signals, NULL);
	nlh = kmod_nl_prepare(k, buf, DOPPEL_CMD_ATTACH);
	mnl_attr_put_u32(nlh, DOPPEL_A_VERSION, DOPPEL_GENL_VERSION);
	if (kmod_nl_request(k, nlh, "attach", NULL, NULL, err, sizeof(err)) < 0)
		goto fail;
	nlh = kmod_nl_prepare(k, buf, DOPPEL_CMD_SET_RULES);
	rules = mnl_attr_nest_start(nlh, DOPPEL_A_RULES);
	rule = mnl_attr_nest_start(nlh, DOPPEL_A_RULE);
	mnl_attr_put_u16(nlh, DOPPEL_A_RULE_PORT, (uint16_t)atoi(argv[2]));
	mnl_attr_nest_end(nlh, rule);
	mnl_attr_nest_end(nlh, rules);
	if (kmod_nl_request(k, nlh, "set rules", NULL, NULL, err, sizeof(err)) < 0)
		goto fail;
	printf("stalling pid=%d\n", (int)getpid());
	do
		signo = sigwaitinfo(&signals, NULL);
	while (signo != SIGUSR1 && signo != SIGTERM);
	s.deliver = count_summary;
	s.deliver_ctx = &summaries;
	while (signo != SIGTERM) {
		n = recv(mnl_socket_get_fd(k->sock), k->buffer, KMOD_RECV_BUFFER_SIZE, MSG_DONTWAIT);
		if (n > 0) {
			source_kmod_read_batch(&s, k->family_id, k->buffer, (size_t)n);
			if (s.counters.lost != lost) {
				lost = s.counters.lost;
				printf("lost %llu\n", lost);
			}
			continue;
		}
		/* ENOBUFS is the overflow notice the kernel gives once after
		 * the jam, with the socket still full: not drained yet. */
		if (n < 0 && errno == ENOBUFS)
			continue;
		if (!drained) {
			drained = true;
			printf("drained summaries=%lu\n", summaries);
		}
		signo = sigtimedwait(&signals, NULL, &tick);
	}
	printf("stalled summaries=%lu lost=%llu\n", summaries,
	       (unsigned long long)s.counters.lost);
	return 0;
fail:
	printf("%s\n", err);
	return 1;
}

int main(int argc, char **argv)
{
	struct kmod_nl k;
	char err[512];
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: kmodctl listen|stats|rules|set|attach|refuse|stall ...\n");
		return 1;
	}
	if (!strcmp(argv[1], "listen"))
		return cmd_listen(argc, argv);
	if (kmod_nl_open(&k, 0, err, sizeof(err)) < 0) {
		printf("%s\n", err);
		return 1;
	}
	if (!strcmp(argv[1], "stats"))
		ret = simple_command(&k, DOPPEL_CMD_GET_STATS, "stats");
	else if (!strcmp(argv[1], "rules"))
		ret = simple_command(&k, DOPPEL_CMD_GET_RULES, "rules");
	else if (!strcmp(argv[1], "attach"))
		ret = simple_command(&k, DOPPEL_CMD_ATTACH, "attach");
	else if (!strcmp(argv[1], "set"))
		ret = cmd_set(&k, argc, argv);
	else if (!strcmp(argv[1], "stall"))
		ret = cmd_stall(&k, argc, argv);
	else if (!strcmp(argv[1], "refuse"))
		ret = cmd_refuse(&k);
	else {
		fprintf(stderr, "kmodctl: unknown command '%s'\n", argv[1]);
		ret = 1;
	}
	kmod_nl_close(&k);
	return ret;
}
