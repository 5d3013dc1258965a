/*
 * bench_addresses.h — the addresses every benchmark driver uses: clients in
 * 198.18.0.0/16 (60,000 ports each: client i is host i / 60000 + 1, port
 * 1024 + i % 60000) and the target 198.19.0.1:8080, all inside the
 * benchmarking range 198.18.0.0/15. The drivers send nothing anywhere;
 * these only fill keys and headers.
 */
#ifndef DOPPEL_BENCH_ADDRESSES_H
#define DOPPEL_BENCH_ADDRESSES_H

#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>

#include "copy/engine/engine.h"
#include "lib/net/addr.h"

#define BENCH_PORTS_PER_ADDRESS 60000u
#define BENCH_FIRST_PORT 1024u
#define BENCH_TARGET_PORT 8080

static inline void bench_client(uint64_t index, struct dp_addr *client, uint16_t *port)
{
	uint32_t host = (uint32_t)(index / BENCH_PORTS_PER_ADDRESS % 65534) + 1;

	dp_addr_from_v4(client, htonl(0xc6120000u | host));
	*port = (uint16_t)(BENCH_FIRST_PORT + index % BENCH_PORTS_PER_ADDRESS);
}

static inline void bench_target(struct dp_addr *target)
{
	dp_addr_from_v4(target, htonl(0xc6130001u));
}

/* The engine's key of session number index. */
static inline struct session_key bench_session_key(uint64_t index)
{
	struct session_key k;

	memset(&k, 0, sizeof(k));
	bench_client(index, &k.client, &k.client_port);
	bench_target(&k.target);
	k.target_port = BENCH_TARGET_PORT;
	return k;
}

#endif
