/*
 * fuzz_decap.c — libFuzzer harness for the traffic mirror decapsulation
 * (lib/net/decap.c), outside input on a collector.
 *
 * The first input byte picks what is taken: bit 0 vxlan (port 4789, or
 * 8472 with bit 3), bit 1 geneve (6081), bit 2 gre; bit 7 feeds the rest to
 * decap_parse_config() as a string instead. The rest is the outer IP
 * packet. Whatever is accepted must point inside the buffer, name a known
 * kind and data-link type, and then go through packet_parse_dlt() like any
 * captured frame; refusals carry a reason.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "lib/net/decap.h"
#include "lib/net/packet.h"
#include "lib/net/packet_dlt.h"

static void check_config(const uint8_t *data, size_t size)
{
	char text[160], err[200], filter[200];
	struct decap_config c;
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;

	memcpy(text, data, n);
	text[n] = '\0';
	err[0] = '\0';
	if (decap_parse_config(text, &c, err, sizeof(err)) != 0) {
		REQUIRE(err[0] != '\0');
		return;
	}
	REQUIRE(c.vxlan_port || c.geneve_port || c.gre);
	REQUIRE(!c.vxlan_port || c.vxlan_port != c.geneve_port);
	REQUIRE(decap_outer_filter(&c, filter, sizeof(filter)) == 0);
	REQUIRE(filter[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct decap_config c;
	struct decap_result r;
	struct packet p;
	const char *why = NULL;
	int rc;

	if (size < 1)
		return 0;
	if (data[0] & 0x80) {
		check_config(data + 1, size - 1);
		return 0;
	}
	memset(&c, 0, sizeof(c));
	if (data[0] & 1)
		c.vxlan_port = data[0] & 8 ? 8472 : DECAP_VXLAN_PORT;
	if (data[0] & 2)
		c.geneve_port = DECAP_GENEVE_PORT;
	c.gre = data[0] & 4;
	rc = decap_inner(&c, data + 1, size - 1, &r, &why);
	REQUIRE(rc >= -1 && rc <= 1);
	if (rc < 0) {
		REQUIRE(why != NULL && why[0] != '\0' && strlen(why) < 200);
		return 0;
	}
	if (rc == 1)
		return 0;
	REQUIRE(r.kind >= DECAP_VXLAN && r.kind <= DECAP_ERSPAN3);
	REQUIRE(r.dlt == PACKET_DLT_ETHERNET || r.dlt == PACKET_DLT_RAW);
	REQUIRE(r.inner >= data + 1 && r.inner <= data + size);
	REQUIRE(r.inner_len <= (size_t)(data + size - r.inner));
	REQUIRE(r.kind != DECAP_VXLAN || c.vxlan_port);
	REQUIRE(r.kind != DECAP_GENEVE || c.geneve_port);
	REQUIRE(r.kind < DECAP_GRE || c.gre);
	REQUIRE(r.kind != DECAP_VXLAN && r.kind != DECAP_GENEVE ? 1 : r.id <= 0xffffff);
	if (packet_parse_dlt(r.dlt, r.inner, r.inner_len, PACKET_TRUNCATED_OK, &p, &why) == 0)
		REQUIRE(p.l3 >= r.inner && p.tcp > p.l3);
	else
		REQUIRE(why != NULL && why[0] != '\0');
	return 0;
}
