/*
 * copy_options_check.c — what doppel-copy's options must agree on once all
 * are read: the transfers and their link-layer form, --protocol's ports,
 * which intercept serves which target, --compare's ports, what --workers
 * cannot share, and the channel's TLS rule (checked at start and at
 * SIGHUP, copy_options_check_channel).
 */
#include "copy/copy_options_check.h"

#include <arpa/inet.h>
#include <string.h>

#include "copy/compare/compare.h"
#include "lib/runtime/options.h"
#include "lib/wire/wire.h"

/* -x: required; -c of the targets' family; -o's link-layer form, the same
 * MAC addresses for every transfer. */
int copy_options_check_transfers(const struct copy_options *o, char *err, size_t errlen)
{
	const struct copy_transfer *first = &o->transfers[0];

	if (o->transfer_count == 0)
		return opt_error(err, errlen, "-x is required (what to capture and where to replay it)");
	for (size_t i = 0; i < o->transfer_count; i++) {
		const struct copy_transfer *t = &o->transfers[i];

		if (o->client_addr_count && o->client_addrs[0].family != t->target_addr.family)
			return opt_error(err, errlen, "-c: its addresses are not of the family of "
					 "the -x targets");
		if (!o->output_device)
			continue;
		if (!t->has_next_hop_mac)
			return opt_error(err, errlen, "-o needs the link-layer form of -x "
					 "(port@srcmac-dstIP:dport@nexthopmac) for every transfer");
		if (memcmp(t->next_hop_mac, first->next_hop_mac, 6) != 0 ||
		    t->has_src_mac != first->has_src_mac ||
		    memcmp(t->src_mac, first->src_mac, 6) != 0)
			return opt_error(err, errlen, "-x: with -o every transfer must use the same "
					 "MAC addresses (one output device)");
	}
	return 0;
}

/* Each --protocol port is a -x target port, and has credentials. */
int copy_options_check_protocols(const struct copy_options *o, char *err, size_t errlen)
{
	if (o->protocol_count && !o->credentials_file)
		return opt_error(err, errlen, "--protocol needs --credentials (the passwords "
				 "its logins are replayed with)");
	for (size_t i = 0; i < o->protocol_count; i++) {
		bool found = false;

		for (size_t j = 0; j < o->transfer_count; j++)
			found |= o->transfers[j].target_port == o->protocols[i].port;
		if (!found)
			return opt_error(err, errlen, "--protocol %u: no -x transfer has target "
					 "port %u", o->protocols[i].port, o->protocols[i].port);
	}
	return 0;
}

/* May intercept e serve sessions to this target? Certain only when it
 * names targets: client ranges alone depend on the client. */
static bool may_serve(const struct copy_endpoint *e, const struct copy_transfer *t)
{
	bool targets = false;

	for (size_t i = 0; i < e->serve_count; i++) {
		const struct intercept_serve *s = &e->serves[i];

		if (s->client_range)
			continue;
		targets = true;
		if (dp_addr_equal(&s->addr, &t->target_addr) &&
		    (s->port == 0 || s->port == t->target_port))
			return true;
	}
	return !targets;
}

/* A -x target that no -s intercept serves would have every session
 * refused: say so at start rather than count refusals. */
int copy_options_check_served(const struct copy_options *o, char *err, size_t errlen)
{
	for (size_t i = 0; i < o->transfer_count; i++) {
		const struct copy_transfer *t = &o->transfers[i];
		bool served = false;
		char addr[INET6_ADDRSTRLEN];

		for (size_t j = 0; j < o->intercept_count && !served; j++)
			served = may_serve(&o->intercepts[j], t);
		if (!served)
			return opt_error(err, errlen, "-s: no intercept serves the target %s:%u of -x "
					 "(name it after '=' in an -s entry, or list an entry without '=')",
					 dp_addr_str(&t->target_addr, addr, sizeof(addr)),
					 t->target_port);
	}
	return 0;
}

/* --compare's ports name transfers; its other options need it. */
int copy_options_check_compare(const struct copy_options *o, char *err, size_t errlen)
{
	const struct compare_options *c = &o->compare;

	for (size_t i = 0; i < c->spec_count; i++) {
		bool found = false;

		for (size_t t = 0; t < o->transfer_count; t++)
			found = found || o->transfers[t].online_port == c->specs[i].port;
		if (!found)
			return opt_error(err, errlen, "--compare: port %u is not the online port of "
					 "any -x transfer", c->specs[i].port);
	}
	if (c->log_file && !c->on)
		return opt_error(err, errlen, "--compare-log needs --compare (what to compare)");
	if (c->on && o->transfer_count > COMPARE_TRANSFERS_MAX)
		return opt_error(err, errlen, "--compare: at most %d transfers",
				 COMPARE_TRANSFERS_MAX);
	return 0;
}

/* What several workers cannot share yet (copy_workers.h says why). */
int copy_options_check_workers(const struct copy_options *o, char *err, size_t errlen)
{
	if (o->workers == 1)
		return 0;
	if (o->capture_kind == CAPTURE_OFFLINE)
		return opt_error(err, errlen, "--workers %u with --offline: a file is played by "
				 "one worker; give --workers 1", o->workers);
	if (o->capture_kind == CAPTURE_PCAP)
		return opt_error(err, errlen, "--workers %u with --capture pcap: libpcap cannot "
				 "join a fanout group; use the afpacket capture (the default)",
				 o->workers);
	if (o->has_mirror)
		return opt_error(err, errlen, "--workers %u with --mirror: not supported yet; "
				 "give --workers 1", o->workers);
	if (o->compare.on)
		return opt_error(err, errlen, "--workers %u with --compare: not supported yet; "
				 "give --workers 1", o->workers);
	if (o->client_addr_count && o->client_addr_count < o->workers)
		return opt_error(err, errlen, "--workers %u with -c: each worker needs client "
				 "addresses of its own, and -c gives %zu", o->workers,
				 o->client_addr_count);
	return 0;
}

int copy_options_check_channel(const struct copy_options *o, char *err, size_t errlen)
{
	struct wire_tls_options tls = wire_tls_options_of(&o->tls);
	char addr[INET6_ADDRSTRLEN];

	if (wire_tls_options_given(&tls) || o->insecure_plaintext)
		return 0;
	for (size_t i = 0; i < o->intercept_count; i++) {
		const struct dp_addr *a = &o->intercepts[i].addr;
		if (dp_addr_is_loopback(a))
			continue;
		dp_addr_str(a, addr, sizeof(addr));
		if (o->wire_tcpcopy1)
			return opt_error(err, errlen, "-s %s: TCPCopy's intercept (--wire tcpcopy1) "
					 "speaks no TLS, so the channel would be plain text on the "
					 "network. Give --insecure-plaintext to run it so on purpose "
					 "(a trusted network), or use doppel-intercept with TLS "
					 "(docs/deployment.md, \"The channel: TLS 1.3\")", addr);
		return opt_error(err, errlen, "-s %s: the channel to this intercept would be plain "
				 "text on the network, where anyone on the path can read and forge "
				 "it. Set up TLS 1.3, the same way on the intercept: certificates "
				 "(--tls-cert FILE --tls-key FILE --tls-ca FILE), or a pre-shared key "
				 "(--tls-psk-file FILE, one line IDENTITY:HEX, mode 0600). Or give "
				 "--insecure-plaintext to run it in plain text on purpose "
				 "(docs/deployment.md, \"The channel: TLS 1.3\")", addr);
	}
	return 0;
}
