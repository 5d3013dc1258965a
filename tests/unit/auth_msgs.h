/*
 * auth_msgs.h — PostgreSQL messages for the protocol-module tests
 * (test_copy_engine_auth_session.c, test_copy_engine_auth_pooled.c).
 */
#ifndef DOPPEL_TEST_AUTH_MSGS_H
#define DOPPEL_TEST_AUTH_MSGS_H

#include <stdint.h>
#include <string.h>

/* A typed message: type, u32 length counting itself (< 64 KiB here), body. */
static inline size_t pg_msg(uint8_t *b, char type, const void *body, size_t len)
{
	b[0] = (uint8_t)type;
	b[1] = 0, b[2] = 0, b[3] = (uint8_t)((len + 4) >> 8), b[4] = (uint8_t)(len + 4);
	memcpy(b + 5, body, len);
	return len + 5;
}

/* An Authentication request ('R') with its code and data. */
static inline size_t pg_auth(uint8_t *b, uint8_t code, const char *data, size_t len)
{
	uint8_t body[256] = { 0, 0, 0, code };

	memcpy(body + 4, data, len);
	return pg_msg(b, 'R', body, len + 4);
}

#endif
