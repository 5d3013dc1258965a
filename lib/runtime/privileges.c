/*
 * privileges.c — setuid with capabilities kept: PR_SET_KEEPCAPS across the
 * uid change, then capset(2) to the two we need (no libcap: two words).
 */
#include "lib/runtime/privileges.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	return -1;
}

static int keep_network_capabilities(void)
{
	struct __user_cap_header_struct header = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	uint32_t wanted = (1u << CAP_NET_ADMIN) | (1u << CAP_NET_RAW);

	memset(data, 0, sizeof(data));
	data[0].permitted = wanted;
	data[0].effective = wanted;
	return (int)syscall(SYS_capset, &header, data);
}

int privileges_drop(const char *user, char *err, size_t errlen)
{
	struct passwd *pw;
	char what[64];

	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		if (errno == 0)
			errno = ENOENT;
		return fail(err, errlen, user);
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return fail(err, errlen, "prctl(PR_SET_KEEPCAPS)");
	if (initgroups(pw->pw_name, pw->pw_gid) < 0)
		return fail(err, errlen, "initgroups");
	snprintf(what, sizeof(what), "setresgid(%u)", (unsigned)pw->pw_gid);
	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0)
		return fail(err, errlen, what);
	snprintf(what, sizeof(what), "setresuid(%u)", (unsigned)pw->pw_uid);
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		return fail(err, errlen, what);
	if (keep_network_capabilities() < 0)
		return fail(err, errlen, "capset CAP_NET_ADMIN and CAP_NET_RAW");
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	/* A uid 0 target keeps everything: there was nothing to drop. */
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		snprintf(err, errlen, "could become root again after the drop");
		return -1;
	}
	return 0;
}
