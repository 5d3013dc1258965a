/*
 * answer.c — what every protocol's answer shares: the first bytes, the
 * times, the running SHA-256 (OpenSSL's EVP, so the digest of a long answer
 * costs a pass over its bytes and no copy of them), and the verdict text.
 */
#include "copy/compare/answer.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

const char *const answer_default_volatile[] = {
	"date", "server", "etag", "set-cookie", "last-modified", "expires", "age",
};
const size_t answer_default_volatile_count =
	sizeof(answer_default_volatile) / sizeof(answer_default_volatile[0]);

static const char *const proto_names[] = {
	[COMPARE_RAW] = "raw",
	[COMPARE_HTTP] = "http",
	[COMPARE_REDIS] = "redis",
	[COMPARE_POSTGRES] = "postgres",
	[COMPARE_MYSQL] = "mysql",
};

const char *compare_proto_name(enum compare_proto p)
{
	return (unsigned)p < sizeof(proto_names) / sizeof(proto_names[0]) ? proto_names[p] : "?";
}

int compare_proto_parse(const char *name, enum compare_proto *p)
{
	for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++)
		if (strcmp(name, proto_names[i]) == 0) {
			*p = (enum compare_proto)i;
			return 0;
		}
	return -1;
}

int answer_init(struct answer *a, const struct answer_config *cfg)
{
	memset(a, 0, sizeof(*a));
	a->cfg = cfg;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return -1;
	}
	a->md = md;
	return 0;
}

void answer_digest(struct answer *a, const void *data, size_t len)
{
	if (!a->md || !len)
		return;
	EVP_DigestUpdate(a->md, data, len);
	a->digested += len;
}

void answer_set_verdict(struct answer *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->verdict, sizeof(a->verdict), fmt, ap);
	va_end(ap);
}

size_t answer_feed(struct answer *a, const uint8_t *data, size_t len, uint64_t now)
{
	if (a->finished || !len)
		return a->finished ? len : 0;
	/* The head first: a feed may take fewer bytes, and the head is
	 * trimmed back to them below. */
	size_t cap = a->cfg->head_bytes < ANSWER_HEAD_MAX ? a->cfg->head_bytes : ANSWER_HEAD_MAX;
	uint16_t head_before = a->head_len;

	if (a->head_len < cap) {
		size_t take = cap - a->head_len < len ? cap - a->head_len : len;

		memcpy(a->head + a->head_len, data, take);
		a->head_len += (uint16_t)take;
	}
	size_t used;

	switch (a->cfg->proto) {
	case COMPARE_HTTP:
		used = answer_http_feed(a, data, len);
		break;
	case COMPARE_REDIS:
		used = answer_redis_feed(a, data, len);
		break;
	case COMPARE_POSTGRES:
		used = answer_pg_feed(a, data, len);
		break;
	case COMPARE_MYSQL:
		used = answer_mysql_feed(a, data, len);
		break;
	case COMPARE_RAW:
	default:
		answer_digest(a, data, len);
		used = len;
		break;
	}
	if (head_before + used < a->head_len)
		a->head_len = (uint16_t)(head_before + used);
	if (used) {
		if (!a->bytes)
			a->first_time = now;
		a->last_time = now;
		a->bytes += used;
	}
	return used;
}

void answer_count(struct answer *a, size_t len, uint64_t now)
{
	if (!len)
		return;
	if (!a->bytes)
		a->first_time = now;
	a->last_time = now;
	a->bytes += len;
}

bool answer_whole(const struct answer *a, const struct answer *model)
{
	if (a->complete < model->complete)
		return false;
	if (a->cfg->proto == COMPARE_POSTGRES && model->cfg->proto == COMPARE_POSTGRES)
		return answer_pg_whole(a, model);
	return true;
}

void answer_set_request(struct answer *a, const uint8_t *req, size_t len)
{
	if (a->cfg->proto == COMPARE_MYSQL && !a->bytes)
		answer_mysql_request(a, req, len);
}

void answer_follow(struct answer *target, const struct answer *online)
{
	if (target->cfg->proto == COMPARE_MYSQL && online->cfg->proto == COMPARE_MYSQL)
		answer_mysql_follow(target, online);
}

void answer_finish(struct answer *a)
{
	if (a->finished)
		return;
	unsigned int n = 0;

	if (a->md)
		EVP_DigestFinal_ex(a->md, a->digest, &n);
	answer_discard(a);
	a->finished = true;
}

void answer_discard(struct answer *a)
{
	EVP_MD_CTX_free(a->md);
	a->md = NULL;
}
