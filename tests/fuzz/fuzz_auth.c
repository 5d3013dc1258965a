/*
 * fuzz_auth.c — libFuzzer harness for the protocol modules
 * (copy/engine/auth*.c): a login conversation fed bytes from both sides.
 *
 * The first input byte picks the protocol (bit 0), whether the
 * password callback knows every user (bit 1), a pooled conversation
 * (bit 2: doppel's own login, then the search for a command boundary)
 * and its database (bit 3); then records of
 *   u8 side (bit 0: 0 client, 1 target; bit 1: the client closed
 *   after it) | u8 length | that many bytes
 * are fed in order, the conversation stepped after each. Whatever happens
 * must hold: a failure has a cause and a reason, output is only produced
 * while the conversation goes on, it never holds more than its bound, and
 * after AUTH_DONE it passes client bytes through unchanged.
 */
#include <stdint.h>
#include <string.h>

#include "copy/engine/auth.h"
#include "fuzz_check.h"

static int passwords(void *ctx, enum auth_protocol p, const char *user, const uint8_t **pw,
		     size_t *len)
{
	(void)p;
	(void)user;
	if (!*(const int *)ctx)
		return -1;
	*pw = (const uint8_t *)"pencil";
	*len = 6;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_conv c;
	int known;
	enum auth_result r = AUTH_CONTINUE;

	if (size < 1)
		return 0;
	known = (data[0] >> 1) & 1;
	enum auth_protocol proto = (data[0] & 1) ? AUTH_PROTO_MYSQL : AUTH_PROTO_POSTGRES;
	if (data[0] & 4) {
		static const uint8_t seed[32];
		auth_conv_init_pooled(&c, proto, passwords, &known, "app", (data[0] & 8) ? "db" : "",
				      seed);
	} else {
		auth_conv_init(&c, proto, passwords, &known);
	}
	for (size_t i = 1; i + 2 <= size && r == AUTH_CONTINUE;) {
		bool target = data[i] & 1;
		size_t len = data[i + 1];
		i += 2;
		if (len > size - i)
			len = size - i;
		bool closed = data[i - 2] & 2;
		int fed = target ? auth_conv_target(&c, data + i, len) : auth_conv_client(&c, data + i, len);
		i += len;
		if (closed)
			c.client_closed = true;
		r = auth_conv_step(&c);
		REQUIRE(c.client.len <= 2 * AUTH_MAX_BUFFER && c.target.len <= 2 * AUTH_MAX_BUFFER);
		if (fed < 0 || r == AUTH_FAILED) {
			REQUIRE(r == AUTH_FAILED || fed < 0);
			REQUIRE(c.failure > AUTH_FAIL_NONE && c.failure < AUTH_FAIL_COUNT);
			REQUIRE(c.detail[0] != '\0');
			break;
		}
		c.out.len = 0;	/* the engine takes it */
	}
	if (r == AUTH_DONE) {
		uint64_t in = c.client_in, out = c.out_total;
		REQUIRE(c.client.len == 0);
		c.out.len = 0;
		REQUIRE(auth_conv_client(&c, (const uint8_t *)"abc", 3) == 0);
		/* done conversations are no longer stepped by the engine */
		REQUIRE(c.client_in == in + 3 && c.out_total == out);
	}
	auth_conv_free(&c);
	return 0;
}
