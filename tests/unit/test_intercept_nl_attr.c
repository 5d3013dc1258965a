/*
 * test_intercept_nl_attr.c — intercept/source/nl_attr.h, the one netlink
 * attribute walk of the NFQUEUE and kmod sources: it ends at nlmsg_len, not
 * at its aligned length (each message is read from a heap copy of exactly
 * its size, so ASan sees any byte read past it), reports a cut attribute
 * instead of stopping quietly, and passes the callback's verdicts on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

#include "intercept/source/nl_attr.h"

struct seen {
	int count;
	uint16_t types[16];
	int stop_at;	/* return MNL_CB_STOP at this type */
	int refuse_at;	/* return MNL_CB_ERROR at this type */
};

static int note(const struct nlattr *attr, void *data)
{
	struct seen *s = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (s->count < 16)
		s->types[s->count] = type;
	s->count++;
	if (type == s->refuse_at)
		return MNL_CB_ERROR;
	if (type == s->stop_at)
		return MNL_CB_STOP;
	return MNL_CB_OK;
}

/* A message with a genlmsghdr, a u32 (type 1), a 5-byte attribute
 * (type 2, unaligned) and a 3-byte one last (type 3). */
static struct nlmsghdr *build(uint8_t *buf)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *genl;

	memset(buf, 0, 256);
	nlh = mnl_nlmsg_put_header(buf);
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = 1;
	mnl_attr_put_u32(nlh, 1, 7);
	mnl_attr_put(nlh, 2, 5, "abcde");
	mnl_attr_put(nlh, 3, 3, "xyz");
	return nlh;
}

/* Walk a heap copy of exactly len bytes of nlh (nlmsg_len set to len). */
static int walk_exact(const struct nlmsghdr *nlh, uint32_t len, struct seen *s)
{
	struct nlmsghdr *copy = malloc(len);
	int rc;

	assert_non_null(copy);
	memcpy(copy, nlh, len);
	copy->nlmsg_len = len;
	rc = nl_attr_walk_msg(copy, sizeof(struct genlmsghdr), note, s);
	free(copy);
	return rc;
}

static void test_whole_message(void **state)
{
	uint8_t buf[256];
	struct nlmsghdr *nlh = build(buf);
	struct seen s = { 0 };

	(void)state;
	assert_int_equal(walk_exact(nlh, nlh->nlmsg_len, &s), NL_ATTR_OK);
	assert_int_equal(s.count, 3);
	assert_int_equal(s.types[0], 1);
	assert_int_equal(s.types[2], 3);
	/* As the kernel sends it: the last attribute unpadded. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(walk_exact(nlh, nlh->nlmsg_len - 1, &s), NL_ATTR_OK);
	assert_int_equal(s.count, 3);
}

/* Every cut inside the attributes is reported; only the attributes
 * wholly before the cut are seen. */
static void test_every_cut(void **state)
{
	uint8_t buf[256];
	struct nlmsghdr *nlh = build(buf);
	uint32_t first = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct genlmsghdr));
	uint32_t ends[3] = { first + 8, first + 8 + 9, first + 8 + 12 + 7 };

	(void)state;
	for (uint32_t len = first + 1; len < ends[2]; len++) {
		struct seen s = { 0 };
		int whole = (len >= ends[0]) + (len >= ends[1]);
		int rc = walk_exact(nlh, len, &s);

		/* Ending at an attribute's end or inside its padding is a
		 * whole walk; anywhere else an attribute (or its header) is cut. */
		if (len == ends[0] || (len >= ends[1] && len <= MNL_ALIGN(ends[1])))
			assert_int_equal(rc, NL_ATTR_OK);
		else
			assert_int_equal(rc, NL_ATTR_CUT);
		assert_int_equal(s.count, whole);
	}
	/* Shorter than its family header. */
	{
		struct seen s = { 0 };

		assert_int_equal(walk_exact(nlh, MNL_NLMSG_HDRLEN + 2, &s), NL_ATTR_CUT);
		assert_int_equal(s.count, 0);
	}
}

/* An attribute claiming the padding byte past an unaligned end: cut
 * (libmnl's own walk would read that byte). */
static void test_into_padding(void **state)
{
	uint8_t buf[256];
	struct nlmsghdr *nlh = build(buf);
	struct nlattr *last = (struct nlattr *)((uint8_t *)nlh + nlh->nlmsg_len - 8);
	struct seen s = { 0 };

	(void)state;
	assert_int_equal(mnl_attr_get_type(last), 3);
	last->nla_len += 1;	/* 4 + 4: one byte past nlmsg_len - 1 */
	assert_int_equal(walk_exact(nlh, nlh->nlmsg_len - 1, &s), NL_ATTR_CUT);
	assert_int_equal(s.count, 2);
}

static void test_callback_verdicts(void **state)
{
	uint8_t buf[256];
	struct nlmsghdr *nlh = build(buf);
	struct seen s = { .refuse_at = 2 };

	(void)state;
	assert_int_equal(walk_exact(nlh, nlh->nlmsg_len, &s), NL_ATTR_REFUSED);
	assert_int_equal(s.count, 2);
	s = (struct seen){ .stop_at = 1 };
	assert_int_equal(walk_exact(nlh, nlh->nlmsg_len, &s), NL_ATTR_OK);
	assert_int_equal(s.count, 1);
}

/* Nested: the walk ends at the nest's own length. */
static void test_nested(void **state)
{
	uint8_t buf[256];
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	struct seen s = { 0 };

	(void)state;
	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nest = mnl_attr_nest_start(nlh, 9);
	mnl_attr_put_u16(nlh, 4, 1);
	mnl_attr_put_u16(nlh, 5, 2);
	mnl_attr_nest_end(nlh, nest);
	assert_int_equal(nl_attr_walk_nested(nest, note, &s), NL_ATTR_OK);
	assert_int_equal(s.count, 2);
	/* The nest claims 3 bytes less (2 are padding): its second
	 * attribute is cut. */
	nest->nla_len -= 3;
	s = (struct seen){ 0 };
	assert_int_equal(nl_attr_walk_nested(nest, note, &s), NL_ATTR_CUT);
	assert_int_equal(s.count, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_message),
		cmocka_unit_test(test_every_cut),
		cmocka_unit_test(test_into_padding),
		cmocka_unit_test(test_callback_verdicts),
		cmocka_unit_test(test_nested),
	};

	return cmocka_run_group_tests_name("intercept_nl_attr", tests, NULL, NULL);
}
