/*
 * no_name_lookup.c — the option harnesses must not resolve host names.
 *
 * doppel-intercept compiles its -F expression with libpcap while parsing
 * options, and libpcap resolves the names in it ("host example.com") with
 * getaddrinfo(), gethostbyname() and getnetbyname_r(): a fuzzed filter
 * would send DNS queries to the machine's resolver. These definitions in
 * the harness binary take the place of libc's for libpcap too (the
 * executable's symbols come first): numeric addresses and service names
 * from /etc/services still resolve, host and network names do not.
 */
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

typedef int (*getaddrinfo_fn)(const char *, const char *, const struct addrinfo *,
			      struct addrinfo **);

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	static getaddrinfo_fn real;
	struct addrinfo numeric;

	if (!real)
		real = (getaddrinfo_fn)dlsym(RTLD_NEXT, "getaddrinfo");
	if (!real)
		abort();
	if (hints)
		numeric = *hints;
	else
		memset(&numeric, 0, sizeof(numeric));
	numeric.ai_flags |= AI_NUMERICHOST;
	return real(node, service, &numeric, res);
}

struct hostent *gethostbyname(const char *name)
{
	h_errno = HOST_NOT_FOUND;
	return NULL;
}

struct hostent *gethostbyname2(const char *name, int af)
{
	h_errno = HOST_NOT_FOUND;
	return NULL;
}

int getnetbyname_r(const char *name, struct netent *result_buf, char *buf, size_t buflen,
		   struct netent **result, int *h_errnop)
{
	*result = NULL;
	*h_errnop = HOST_NOT_FOUND;
	return ENOENT;
}
