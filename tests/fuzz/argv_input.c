/*
 * argv_input.c — see argv_input.h.
 */
#include "argv_input.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int memfd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (!freopen("/dev/null", "w", stdout))
		abort();
	/* Root only; no_name_lookup.c keeps names from being resolved anyway. */
	unshare(CLONE_NEWNET);
	memfd = memfd_create("fuzz_config", 0);
	if (memfd < 0)
		abort();
	return 0;
}

/* "--c", "--co", ..., "--config", with or without "=VALUE". */
static bool names_config(const char *arg)
{
	size_t n;

	if (strncmp(arg, "--", 2) != 0)
		return false;
	n = strcspn(arg + 2, "=");
	return n > 0 && n <= 6 && strncmp(arg + 2, "config", n) == 0;
}

bool argv_input_build(struct argv_input *a, const char *program, const uint8_t *data,
		      size_t size)
{
	size_t count, at = 1;

	memset(a, 0, sizeof(*a));
	if (size == 0 || memfd < 0)
		return false;
	count = data[0] % (ARGV_INPUT_MAX + 1);
	snprintf(a->config_option, sizeof(a->config_option), "--config=/proc/self/fd/%d", memfd);
	a->argv[a->argc++] = (char *)program;
	for (size_t i = 0; i < count && at < size; i++) {
		const uint8_t *nul = memchr(data + at, 0, size - at);
		size_t len = nul ? (size_t)(nul - (data + at)) : size - at;
		char *arg = strndup((const char *)data + at, len);

		if (!arg)
			abort();
		a->args[i] = arg;
		at += len + (nul != NULL);
		if (strncmp(arg, "--=", 3) == 0)
			return false;
		a->argv[a->argc++] = names_config(arg) ? a->config_option : arg;
	}
	if (ftruncate(memfd, 0) != 0 ||
	    pwrite(memfd, data + at, size - at, 0) != (ssize_t)(size - at))
		abort();
	return true;
}

void argv_input_free(struct argv_input *a)
{
	for (size_t i = 0; i <= ARGV_INPUT_MAX; i++)
		free(a->args[i]);
	memset(a, 0, sizeof(*a));
}
