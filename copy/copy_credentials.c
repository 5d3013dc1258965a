/*
 * copy_credentials.c — the credentials file, kept in locked memory that
 * core dumps leave out and that is wiped before it is given back (see
 * copy_credentials.h).
 */
#include "copy/copy_credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "copy/copy_saslprep.h"
#include "copy/engine/auth_crypto.h"

struct credential {
	uint8_t protocol;	/* enum auth_protocol */
	const char *user;	/* NUL-terminated, in the mapping */
	const uint8_t *password;
	size_t password_len;
	/* SCRAM's SaltedPassword for the last salt and iteration count the
	 * target sent for this user: one PBKDF2 per user instead of one per
	 * login. In the locked mapping like the password. */
	bool cached;
	uint8_t salt_len;
	uint8_t salt[64];
	unsigned iterations;
	uint8_t salted[32];
};

static int fail(char *err, size_t errlen, const char *path, unsigned line, const char *what);

struct copy_credentials {
	void *map;		/* this struct, the entries, then the file's bytes */
	size_t map_len;
	struct credential *entries;
	size_t count;
	/* "pooled PROTOCOL USER [DATABASE]": the login of pooled sessions */
	const char *pooled_user[AUTH_PROTO_COUNT];
	const char *pooled_database[AUTH_PROTO_COUNT];
};

int copy_credentials_pooled(const struct copy_credentials *c, enum auth_protocol p,
			    const char **user, const char **database)
{
	if (!c || p <= AUTH_PROTO_NONE || p >= AUTH_PROTO_COUNT || !c->pooled_user[p])
		return -1;
	*user = c->pooled_user[p];
	*database = c->pooled_database[p] ? c->pooled_database[p] : "";
	return 0;
}

int copy_credentials_pooled_config(const struct copy_credentials *c, struct engine_config *cfg,
				   char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->auth_port_count; i++) {
		const struct engine_auth_port *ap = &cfg->auth_ports[i];
		enum auth_protocol p = (enum auth_protocol)ap->protocol;
		const char *user, *db, *name = auth_protocol_name(p);
		const uint8_t *pw;
		size_t pw_len;

		if (!ap->pooled)
			continue;
		if (copy_credentials_pooled(c, p, &user, &db) < 0) {
			snprintf(err, errlen, "--protocol %u=%s:pooled: the credentials have no "
				 "\"pooled %s USER [DATABASE]\" line", ap->port, name, name);
			return -1;
		}
		if (copy_credentials_password((void *)c, p, user, &pw, &pw_len) < 0) {
			snprintf(err, errlen, "--protocol %u=%s:pooled: the credentials have no "
				 "password for the pooled %s user '%s'", ap->port, name, name, user);
			return -1;
		}
		snprintf(cfg->auth_pooled[p].user, sizeof(cfg->auth_pooled[p].user), "%s", user);
		snprintf(cfg->auth_pooled[p].database, sizeof(cfg->auth_pooled[p].database), "%s", db);
	}
	return 0;
}

/* "pooled PROTOCOL USER [DATABASE]" (s: after "pooled"), in place. */
static int parse_pooled(struct copy_credentials *c, char *s, const char *path, unsigned line,
			char *err, size_t errlen)
{
	char *word[4];
	size_t n = 0;

	while (*s && n < 4) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		word[n++] = s;
		s += strcspn(s, " \t");
		if (*s)
			*s++ = 0;
	}
	while (*s == ' ' || *s == '\t')
		s++;
	if (n < 2 || n > 3 || *s)
		return fail(err, errlen, path, line, "not \"pooled PROTOCOL USER [DATABASE]\"");
	enum auth_protocol ap = auth_protocol_parse(word[0]);
	if (ap == AUTH_PROTO_NONE)
		return fail(err, errlen, path, line, "unknown protocol (postgres or mysql)");
	if (strlen(word[1]) > 120 || (n == 3 && strlen(word[2]) > 120))
		return fail(err, errlen, path, line, "user or database name longer than 120 bytes");
	if (c->pooled_user[ap])
		return fail(err, errlen, path, line, "a second pooled login for the protocol");
	c->pooled_user[ap] = word[1];
	c->pooled_database[ap] = n == 3 ? word[2] : NULL;
	return 0;
}

static size_t page_round(size_t n)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t p = page > 0 ? (size_t)page : 4096;

	return (n + p - 1) / p * p;
}

void copy_credentials_free(struct copy_credentials *c)
{
	if (!c)
		return;
	void *map = c->map;
	size_t len = c->map_len;

	explicit_bzero(map, len);	/* c itself lives in the mapping */
	munlock(map, len);
	munmap(map, len);
}

size_t copy_credentials_count(const struct copy_credentials *c)
{
	return c ? c->count : 0;
}

int copy_credentials_password(void *ctx, enum auth_protocol p, const char *user,
			      const uint8_t **password, size_t *len)
{
	const struct copy_credentials *c = ctx;

	for (size_t i = 0; c && i < c->count; i++)
		if (c->entries[i].protocol == p && !strcmp(c->entries[i].user, user)) {
			*password = c->entries[i].password;
			*len = c->entries[i].password_len;
			return 0;
		}
	return -1;
}

int copy_credentials_salted(void *ctx, const char *user, const uint8_t *salt, size_t salt_len,
			    unsigned iterations, uint8_t out[32])
{
	struct copy_credentials *c = ctx;

	for (size_t i = 0; c && i < c->count; i++) {
		struct credential *e = &c->entries[i];

		if (e->protocol != AUTH_PROTO_POSTGRES || strcmp(e->user, user))
			continue;
		if (e->cached && e->iterations == iterations && e->salt_len == salt_len &&
		    !memcmp(e->salt, salt, salt_len)) {
			memcpy(out, e->salted, 32);
			return 0;
		}
		/* SCRAM hashes the password as the server prepared it
		 * (SASLprep); md5 and cleartext use the raw bytes. The
		 * prepared copy lives on the stack only for the PBKDF2. */
		char prep[COPY_SASLPREP_MAX];
		int plen = copy_saslprep(e->password, e->password_len, prep, sizeof(prep));
		int r = plen > 0 ? auth_scram_salted((const uint8_t *)prep, (size_t)plen, salt,
						     salt_len, iterations, out)
				 : auth_scram_salted(e->password, e->password_len, salt, salt_len,
						     iterations, out);
		explicit_bzero(prep, sizeof(prep));
		if (r < 0)
			return -2;
		if (salt_len <= sizeof(e->salt)) {
			memcpy(e->salted, out, 32);
			memcpy(e->salt, salt, salt_len);
			e->salt_len = (uint8_t)salt_len;
			e->iterations = iterations;
			e->cached = true;
		}
		return 0;
	}
	return -1;
}

static int fail(char *err, size_t errlen, const char *path, unsigned line, const char *what)
{
	snprintf(err, errlen, "--credentials %s: line %u: %s", path, line, what);
	return -1;
}

/* Parse text[0..len) (NUL at len) in place into c->entries (room for
 * max). 0, or -1 with err (never quoting a password). */
static int parse(struct copy_credentials *c, char *text, size_t len, size_t max, const char *path,
		 char *err, size_t errlen)
{
	unsigned line = 0;
	char *p = text, *end = text + len;

	while (p < end) {
		char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		*eol = 0;
		line++;
		if (eol > p && eol[-1] == '\r')
			eol[-1] = 0;
		char *s = p;
		p = eol + 1;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			continue;
		char *proto = s;
		s += strcspn(s, " \t");
		if (!*s)
			return fail(err, errlen, path, line, "not \"PROTOCOL USER PASSWORD\"");
		*s++ = 0;
		if (!strcmp(proto, "pooled")) {
			if (parse_pooled(c, s, path, line, err, errlen) < 0)
				return -1;
			continue;
		}
		while (*s == ' ' || *s == '\t')
			s++;
		char *user = s;
		s += strcspn(s, " \t");
		if (!*s || s == user)
			return fail(err, errlen, path, line, "not \"PROTOCOL USER PASSWORD\"");
		*s++ = 0;
		enum auth_protocol ap = auth_protocol_parse(proto);
		if (ap == AUTH_PROTO_NONE)
			return fail(err, errlen, path, line, "unknown protocol (postgres or mysql)");
		if (strlen(user) > 120)
			return fail(err, errlen, path, line, "user name longer than 120 bytes");
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			return fail(err, errlen, path, line, "no password");
		for (size_t i = 0; i < c->count; i++)
			if (c->entries[i].protocol == ap && !strcmp(c->entries[i].user, user))
				return fail(err, errlen, path, line, "the user is listed twice");
		if (c->count == max)
			return fail(err, errlen, path, line, "too many entries");
		c->entries[c->count++] = (struct credential){
			.protocol = (uint8_t)ap, .user = user, .password = (const uint8_t *)s,
			.password_len = strlen(s),
		};
	}
	return 0;
}

struct copy_credentials *copy_credentials_load(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		snprintf(err, errlen, "--credentials %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "--credentials %s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen,
			 "--credentials %s: mode %04o lets others read or write it: refused "
			 "(chmod 600 it)", path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return NULL;
	}
	if (st.st_size > COPY_CREDENTIALS_MAX_BYTES) {
		snprintf(err, errlen, "--credentials %s: larger than %d bytes", path,
			 COPY_CREDENTIALS_MAX_BYTES);
		close(fd);
		return NULL;
	}
	size_t size = (size_t)st.st_size, max = size / 4 + 1;
	size_t len = page_round(sizeof(struct copy_credentials) + max * sizeof(struct credential) +
				size + 1);
	void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED) {
		snprintf(err, errlen, "--credentials %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	struct copy_credentials *c = map;
	c->map = map;
	c->map_len = len;
	c->entries = (struct credential *)(c + 1);
	char *text = (char *)(c->entries + max);
	/* Before a password byte is in it: never swapped, never dumped. */
	if (mlock(map, len) < 0 || madvise(map, len, MADV_DONTDUMP) < 0) {
		snprintf(err, errlen, "--credentials %s: cannot lock its memory (%s): refused",
			 path, strerror(errno));
		munmap(map, len);
		close(fd);
		return NULL;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, text + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "--credentials %s: %s", path,
				 n < 0 ? strerror(errno) : "shorter than its size");
			close(fd);
			copy_credentials_free(c);
			return NULL;
		}
		got += (size_t)n;
	}
	close(fd);
	text[size] = 0;
	if (memchr(text, 0, size)) {
		snprintf(err, errlen, "--credentials %s: holds a NUL byte", path);
		copy_credentials_free(c);
		return NULL;
	}
	if (parse(c, text, size, max, path, err, errlen) < 0) {
		copy_credentials_free(c);
		return NULL;
	}
	return c;
}
