/*
 * test_privileges.c — --user for real, in a forked child (the drop cannot
 * be undone): afterwards the child has nobody's uid, gid and groups in
 * every slot, exactly CAP_NET_ADMIN and CAP_NET_RAW effective and
 * permitted, and cannot become root again. An unknown user is refused
 * with its name. Needs root (skipped otherwise).
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/runtime/privileges.h"

#define MAX_GROUPS 64

/* What the child saw after privileges_drop("nobody"). */
struct after_drop {
	int rc;
	char err[256];
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	int group_count;
	gid_t groups[MAX_GROUPS];
	uint32_t effective, permitted;
	int root_regained;
};

static void observe(struct after_drop *a)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	getresuid(&a->ruid, &a->euid, &a->suid);
	getresgid(&a->rgid, &a->egid, &a->sgid);
	a->group_count = getgroups(MAX_GROUPS, a->groups);
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &header, data) == 0) {
		a->effective = data[0].effective;
		a->permitted = data[0].permitted;
	}
	a->root_regained = setuid(0) == 0;
}

static void drop_in_child(const char *user, struct after_drop *a)
{
	int fds[2], status;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct after_drop seen;

		memset(&seen, 0, sizeof(seen));
		seen.rc = privileges_drop(user, seen.err, sizeof(seen.err));
		if (seen.rc == 0)
			observe(&seen);
		_exit(write(fds[1], &seen, sizeof(seen)) == (ssize_t)sizeof(seen) ? 0 : 1);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], a, sizeof(*a)), (ssize_t)sizeof(*a));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_drop_to_nobody(void **state)
{
	const uint32_t network = (1u << CAP_NET_ADMIN) | (1u << CAP_NET_RAW);
	gid_t expected_groups[MAX_GROUPS];
	int expected_count = MAX_GROUPS;
	struct passwd *pw;
	struct after_drop a;

	if (geteuid() != 0)
		skip();
	pw = getpwnam("nobody");
	if (!pw)
		skip();
	/* initgroups' answer: the primary group and nobody's other groups. */
	assert_true(getgrouplist("nobody", pw->pw_gid, expected_groups, &expected_count) >= 0);
	drop_in_child("nobody", &a);
	assert_int_equal(a.rc, 0);
	assert_int_equal(a.ruid, pw->pw_uid);
	assert_int_equal(a.euid, pw->pw_uid);
	assert_int_equal(a.suid, pw->pw_uid);
	assert_int_equal(a.rgid, pw->pw_gid);
	assert_int_equal(a.egid, pw->pw_gid);
	assert_int_equal(a.sgid, pw->pw_gid);
	assert_int_equal(a.group_count, expected_count);
	for (int i = 0; i < expected_count; i++)
		assert_int_equal(a.groups[i], expected_groups[i]);
	assert_int_equal(a.effective, network);
	assert_int_equal(a.permitted, network);
	assert_false(a.root_regained);
}

static void test_unknown_user(void **state)
{
	struct after_drop a;

	drop_in_child("no-such-user-for-doppel", &a);
	assert_int_equal(a.rc, -1);
	assert_non_null(strstr(a.err, "no-such-user-for-doppel"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_to_nobody),
		cmocka_unit_test(test_unknown_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
