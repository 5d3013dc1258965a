/*
 * copy_option_lists.c — the list values of doppel-copy's options: -x
 * transfers (with TCPCopy's link-layer @mac form), -s intercepts, -c client
 * addresses and ranges; and the capture filter built from -x.
 *
 * Each parser works on a copy of the list, item by item, and says which
 * item was wrong; nothing is written to the output unless the whole list
 * is valid.
 */
#include "copy/copy_options.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/runtime/options.h"

/* Split s at commas into a writable copy; each item must be non-empty.
 * Calls item_fn for each; stops at the first error. */
typedef int (*item_fn)(const char *item, void *arg, char *err, size_t errlen);

static int for_each_item(const char *s, item_fn fn, void *arg, char *err, size_t errlen)
{
	char *copy, *item, *next;
	int rc = 0;

	if (!s || !*s)
		return opt_error(err, errlen, "empty value");
	copy = strdup(s);
	if (!copy)
		return opt_error(err, errlen, "out of memory");
	for (item = copy; item && rc == 0; item = next) {
		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		if (!*item)
			rc = opt_error(err, errlen, "empty item in the list");
		else
			rc = fn(item, arg, err, errlen);
	}
	free(copy);
	return rc;
}

/* "text@mac": cut the MAC off (at the last '@') into mac; *has says
 * whether there was one. */
static int cut_mac(char *text, const char *item, uint8_t mac[6], bool *has,
		   char *err, size_t errlen)
{
	char *at = strchr(text, '@');
	char why[160];

	*has = false;
	if (!at)
		return 0;
	if (strchr(at + 1, '@'))
		return opt_error(err, errlen, "'%s' has more than one '@'", item);
	*at = '\0';
	if (opt_parse_mac(at + 1, mac, why, sizeof(why)) < 0)
		return opt_error(err, errlen, "in '%s': %s", item, why);
	*has = true;
	return 0;
}

/* The online side: "port", "addr:port" or "[v6]:port". */
static int parse_online_side(const char *text, const char *item, struct copy_transfer *t,
			     char *err, size_t errlen)
{
	char why[160];

	if (!strchr(text, ':') && text[0] != '[') {
		if (opt_parse_port(text, &t->online_port, why, sizeof(why)) < 0)
			return opt_error(err, errlen, "bad online port in '%s': %s", item, why);
		return 0;
	}
	if (opt_parse_host_port(text, 0, &t->online_addr, &t->online_port, why, sizeof(why)) < 0)
		return opt_error(err, errlen, "bad online address in '%s': %s", item, why);
	t->has_online_addr = true;
	return 0;
}

struct transfer_list {
	struct copy_transfer *items;
	size_t max, count;
};

static int parse_transfer(const char *item, void *arg, char *err, size_t errlen)
{
	struct transfer_list *list = arg;
	struct copy_transfer t;
	char left[256], *right, why[160];

	if (list->count == list->max)
		return opt_error(err, errlen, "more than %zu transfers", list->max);
	if (strlen(item) >= sizeof(left))
		return opt_error(err, errlen, "'%.40s...' is too long", item);
	memset(&t, 0, sizeof(t));
	strcpy(left, item);
	right = strchr(left, '-');
	if (!right)
		return opt_error(err, errlen,
				 "'%s' is not [srcIP:]port-dstIP:dport (no '-')", item);
	*right++ = '\0';
	if (strchr(right, '-'))
		return opt_error(err, errlen, "'%s' has more than one '-'", item);
	if (!*left)
		return opt_error(err, errlen, "no online port before '-' in '%s'", item);
	if (cut_mac(left, item, t.src_mac, &t.has_src_mac, err, errlen) < 0 ||
	    cut_mac(right, item, t.next_hop_mac, &t.has_next_hop_mac, err, errlen) < 0)
		return -1;
	if (t.has_src_mac && !t.has_next_hop_mac)
		return opt_error(err, errlen, "'%s' gives a source MAC but no next-hop MAC "
				 "(port@srcmac-dstIP:dport@nexthopmac)", item);
	if (parse_online_side(left, item, &t, err, errlen) < 0)
		return -1;
	if (!strchr(right, ':'))
		return opt_error(err, errlen, "missing the target port in '%s'", item);
	if (opt_parse_host_port(right, 0, &t.target_addr, &t.target_port, why, sizeof(why)) < 0)
		return opt_error(err, errlen, "bad target in '%s': %s", item, why);
	if (t.has_online_addr && t.online_addr.family != t.target_addr.family)
		return opt_error(err, errlen, "'%s' mixes IPv4 and IPv6", item);
	for (size_t i = 0; i < list->count; i++) {
		const struct copy_transfer *o = &list->items[i];

		if (o->online_port == t.online_port && o->has_online_addr == t.has_online_addr &&
		    (!t.has_online_addr || dp_addr_equal(&o->online_addr, &t.online_addr)))
			return opt_error(err, errlen, "'%s' captures the same address and port "
					 "as an earlier transfer", item);
	}
	list->items[list->count++] = t;
	return 0;
}

int copy_parse_transfers(const char *s, struct copy_transfer *out, size_t max, size_t *count,
			 char *err, size_t errlen)
{
	struct copy_transfer *items = calloc(max ? max : 1, sizeof(*items));
	struct transfer_list list = { items, max, 0 };
	int rc;

	if (!items)
		return opt_error(err, errlen, "out of memory");
	rc = for_each_item(s, parse_transfer, &list, err, errlen);
	if (rc == 0) {
		memcpy(out, items, list.count * sizeof(*items));
		*count = list.count;
	}
	free(items);
	return rc;
}

struct protocol_list {
	struct engine_auth_port *items;
	size_t max, count;
};

/* "PORT=NAME": the target port and its protocol module. */
static int parse_protocol(const char *item, void *arg, char *err, size_t errlen)
{
	struct protocol_list *list = arg;
	const char *eq = strchr(item, '=');
	char port[8], why[160];
	uint64_t n;

	if (!eq || eq == item || (size_t)(eq - item) >= sizeof(port))
		return opt_error(err, errlen, "'%s' is not PORT=NAME", item);
	memcpy(port, item, (size_t)(eq - item));
	port[eq - item] = 0;
	if (opt_parse_uint(port, 1, 65535, &n, why, sizeof(why)) < 0)
		return opt_error(err, errlen, "'%s': port %s", item, why);
	/* NAME:pooled: sessions whose login was not captured are opened with
	 * doppel's own login (docs/stateful.md, "Pooled connections"). */
	char name[32];
	const char *colon = strchr(eq + 1, ':');
	bool pooled = false;
	size_t nlen = colon ? (size_t)(colon - eq - 1) : strlen(eq + 1);
	if (colon) {
		if (strcmp(colon + 1, "pooled"))
			return opt_error(err, errlen, "'%s': unknown flag '%s' (pooled)", item,
					 colon + 1);
		pooled = true;
	}
	if (nlen >= sizeof(name))
		nlen = sizeof(name) - 1;
	memcpy(name, eq + 1, nlen);
	name[nlen] = 0;
	enum auth_protocol p = auth_protocol_parse(name);
	if (p == AUTH_PROTO_NONE)
		return opt_error(err, errlen, "'%s': unknown protocol '%s' (postgres or mysql)", item,
				 name);
	for (size_t i = 0; i < list->count; i++)
		if (list->items[i].port == n)
			return opt_error(err, errlen, "'%s': port %u given twice", item, (unsigned)n);
	if (list->count == list->max)
		return opt_error(err, errlen, "more than %zu protocol ports", list->max);
	list->items[list->count].port = (uint16_t)n;
	list->items[list->count].protocol = (uint8_t)p;
	list->items[list->count].pooled = pooled;
	list->count++;
	return 0;
}

int copy_parse_protocols(const char *s, struct engine_auth_port *out, size_t max, size_t *count,
			 char *err, size_t errlen)
{
	struct engine_auth_port items[ENGINE_MAX_AUTH_PORTS];
	struct protocol_list list = { items, max < ENGINE_MAX_AUTH_PORTS ? max : ENGINE_MAX_AUTH_PORTS,
				      0 };
	int rc = for_each_item(s, parse_protocol, &list, err, errlen);

	if (rc == 0) {
		memcpy(out, items, list.count * sizeof(*items));
		*count = list.count;
	}
	return rc;
}

struct endpoint_list {
	struct copy_endpoint *items;
	size_t max, count;
	uint16_t default_port;
};

/* One thing an intercept serves: "ADDR/LEN", a range of client addresses,
 * or a target "ADDR" (any port) or "ADDR:PORT" ("[v6]:PORT"). */
static int parse_serve(char *text, struct intercept_serve *out, char *err, size_t errlen)
{
	char *slash = strchr(text, '/');
	char why[160];

	memset(out, 0, sizeof(*out));
	if (slash) {
		uint64_t len;

		*slash++ = '\0';
		out->client_range = true;
		if (opt_parse_addr(text, &out->addr, why, sizeof(why)) < 0)
			return opt_error(err, errlen, "client range: %s", why);
		if (opt_parse_uint(slash, 0, out->addr.family == AF_INET6 ? 128 : 32, &len,
				  why, sizeof(why)) < 0)
			return opt_error(err, errlen, "client range prefix length '%s': %s", slash,
					 why);
		out->prefix_len = (uint8_t)len;
		return 0;
	}
	if (opt_parse_addr(text, &out->addr, why, sizeof(why)) == 0)
		return 0;	/* a target, any of its ports */
	if (opt_parse_host_port(text, 0, &out->addr, &out->port, why, sizeof(why)) < 0)
		return opt_error(err, errlen, "target '%s': %s", text, why);
	return 0;
}

/* "WHAT+WHAT...": what an intercept serves (-s ADDR[:PORT]=...). */
static int parse_serves(char *text, struct copy_endpoint *e, char *err, size_t errlen)
{
	char *next;

	for (char *what = text; what; what = next) {
		next = strchr(what, '+');
		if (next)
			*next++ = '\0';
		if (!*what)
			return opt_error(err, errlen, "empty target or client range after '='");
		if (e->serve_count == INTERCEPT_MAX_SERVES)
			return opt_error(err, errlen, "more than %d targets and client ranges",
					 INTERCEPT_MAX_SERVES);
		if (parse_serve(what, &e->serves[e->serve_count], err, errlen) < 0)
			return -1;
		e->serve_count++;
	}
	return 0;
}

static int parse_endpoint(const char *item, void *arg, char *err, size_t errlen)
{
	struct endpoint_list *list = arg;
	struct copy_endpoint e;
	char why[160];

	if (list->count == list->max)
		return opt_error(err, errlen, "more than %zu intercepts", list->max);
	memset(&e, 0, sizeof(e));
	char *host = strdup(item), *served;
	if (!host)
		return opt_error(err, errlen, "out of memory");
	served = strchr(host, '=');
	if (served)
		*served++ = '\0';
	if (opt_parse_host_port(host, list->default_port, &e.addr, &e.port, why, sizeof(why)) < 0) {
		free(host);
		return opt_error(err, errlen, "%s", why);
	}
	int rc = served ? parse_serves(served, &e, why, sizeof(why)) : 0;
	free(host);
	if (rc < 0)
		return opt_error(err, errlen, "'%s': %s", item, why);
	for (size_t i = 0; i < list->count; i++)
		if (list->items[i].port == e.port && dp_addr_equal(&list->items[i].addr, &e.addr))
			return opt_error(err, errlen, "'%s' is listed twice", item);
	list->items[list->count++] = e;
	return 0;
}

int copy_parse_intercepts(const char *s, uint16_t default_port, struct copy_endpoint *out,
			  size_t max, size_t *count, char *err, size_t errlen)
{
	struct copy_endpoint *items = calloc(max ? max : 1, sizeof(*items));
	struct endpoint_list list = { items, max, 0, default_port };
	int rc;

	if (!items)
		return opt_error(err, errlen, "out of memory");
	rc = for_each_item(s, parse_endpoint, &list, err, errlen);
	if (rc == 0) {
		memcpy(out, items, list.count * sizeof(*items));
		*count = list.count;
	}
	free(items);
	return rc;
}

struct addr_list {
	struct dp_addr *items;
	size_t count, cap;
};

static int addr_list_push(struct addr_list *list, const struct dp_addr *a, char *err, size_t errlen)
{
	if (list->count == COPY_MAX_CLIENT_ADDRS)
		return opt_error(err, errlen, "more than %d client addresses", COPY_MAX_CLIENT_ADDRS);
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 16;
		struct dp_addr *items = realloc(list->items, cap * sizeof(*items));

		if (!items)
			return opt_error(err, errlen, "out of memory");
		list->items = items;
		list->cap = cap;
	}
	list->items[list->count++] = *a;
	return 0;
}

/* The host numbers of "a.b.c.x" (1..254) or "a.b.c.d-e" (d..e). */
static int parse_v4_range(const char *item, unsigned *first, unsigned *last, char *err,
			  size_t errlen)
{
	const char *dot = strrchr(item, '.');
	const char *tail = dot + 1, *dash;
	uint64_t a, b;
	char why[160], text[16];

	if (strcmp(tail, "x") == 0) {
		*first = 1;
		*last = 254;
		return 0;
	}
	dash = strchr(tail, '-');
	if ((size_t)(dash - tail) >= sizeof(text))
		return opt_error(err, errlen, "'%s' is not an address or range", item);
	memcpy(text, tail, (size_t)(dash - tail));
	text[dash - tail] = '\0';
	if (opt_parse_uint(text, 0, 255, &a, why, sizeof(why)) < 0 ||
	    opt_parse_uint(dash + 1, 0, 255, &b, why, sizeof(why)) < 0)
		return opt_error(err, errlen, "bad range in '%s': %s", item, why);
	if (a > b)
		return opt_error(err, errlen, "range '%s' ends before it starts", item);
	*first = (unsigned)a;
	*last = (unsigned)b;
	return 0;
}

static int parse_client_item(const char *item, void *arg, char *err, size_t errlen)
{
	struct addr_list *list = arg;
	const char *dot = strrchr(item, '.');
	struct dp_addr a;
	char prefix[INET_ADDRSTRLEN + 8], why[160];
	unsigned first = 0, last = 0;

	if (!dot || (strcmp(dot + 1, "x") != 0 && !strchr(dot + 1, '-'))) {
		if (opt_parse_addr(item, &a, why, sizeof(why)) < 0)
			return opt_error(err, errlen, "%s", why);
		return addr_list_push(list, &a, err, errlen);
	}
	if (parse_v4_range(item, &first, &last, err, errlen) < 0)
		return -1;
	if ((size_t)(dot - item) >= sizeof(prefix) - 4)
		return opt_error(err, errlen, "'%s' is not an address or range", item);
	for (unsigned host = first; host <= last; host++) {
		snprintf(prefix, sizeof(prefix), "%.*s.%u", (int)(dot - item), item, host);
		if (opt_parse_addr(prefix, &a, why, sizeof(why)) < 0 || a.family != AF_INET)
			return opt_error(err, errlen, "'%s' is not an IPv4 range (a.b.c.x or "
					 "a.b.c.d-e)", item);
		if (addr_list_push(list, &a, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int copy_parse_client_addrs(const char *s, struct dp_addr **out, size_t *count,
			    char *err, size_t errlen)
{
	struct addr_list list = { NULL, 0, 0 };

	if (for_each_item(s, parse_client_item, &list, err, errlen) < 0) {
		free(list.items);
		return -1;
	}
	for (size_t i = 1; i < list.count; i++) {
		if (list.items[i].family != list.items[0].family) {
			free(list.items);
			return opt_error(err, errlen, "mixes IPv4 and IPv6 addresses");
		}
	}
	*out = list.items;
	*count = list.count;
	return 0;
}

/* "tcp and (dst port 80 or dst host 198.18.0.1 and dst port 8080 ...)".
 * Only the clients' packets to the online port: everything else the
 * capture would hand over is ignored by the mapping anyway, so a narrow
 * filter spares the ring. */
int copy_options_build_filter(const struct copy_options *o, char *buf, size_t len)
{
	size_t used;
	int n;

	n = snprintf(buf, len, "tcp and (");
	if (n < 0 || (size_t)n >= len)
		return -1;
	used = (size_t)n;
	for (size_t i = 0; i < o->transfer_count; i++) {
		const struct copy_transfer *t = &o->transfers[i];
		char addr[INET6_ADDRSTRLEN];

		if (t->has_online_addr)
			n = snprintf(buf + used, len - used, "%s(dst host %s and dst port %u)",
				     i ? " or " : "", dp_addr_str(&t->online_addr, addr, sizeof(addr)),
				     t->online_port);
		else
			n = snprintf(buf + used, len - used, "%sdst port %u", i ? " or " : "",
				     t->online_port);
		if (n < 0 || (size_t)n >= len - used)
			return -1;
		used += (size_t)n;
	}
	/* --compare: the online server's answers too (docs/compare.md). */
	for (size_t i = 0; i < o->transfer_count; i++) {
		const struct copy_transfer *t = &o->transfers[i];
		char addr[INET6_ADDRSTRLEN];

		if (compare_options_proto(&o->compare, t->online_port) < 0)
			continue;
		if (t->has_online_addr)
			n = snprintf(buf + used, len - used, " or (src host %s and src port %u)",
				     dp_addr_str(&t->online_addr, addr, sizeof(addr)), t->online_port);
		else
			n = snprintf(buf + used, len - used, " or src port %u", t->online_port);
		if (n < 0 || (size_t)n >= len - used)
			return -1;
		used += (size_t)n;
	}
	n = snprintf(buf + used, len - used, ")");
	return n < 0 || (size_t)n >= len - used ? -1 : 0;
}
