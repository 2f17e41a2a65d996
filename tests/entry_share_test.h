/* SPDX-License-Identifier: MIT */
/*
 * entry_share_test.h - what the tests of page indexes shared by processes
 * (index/entry_share.h) share: a member joined to the test store's region
 * with a share of page indexes in its user area and their nodes in its
 * arena.
 */
#ifndef UDAX_ENTRY_SHARE_TEST_H
#define UDAX_ENTRY_SHARE_TEST_H

#include "index/entry_share.h"
#include "xproc_test.h"

struct share_member {
	struct xproc_region *r;
	struct radix_space space;
	struct index_share share;
};

/* Join the region of the store at path (open on fd) and attach a share of
 * `indexes` page indexes: every member of one test passes the same. */
static inline void share_test_join(struct share_member *m, int fd, const char *path,
				   uint32_t indexes)
{
	struct xproc_layout layout = {
		.user_bytes = index_share_bytes(indexes),
		.node_bytes = sizeof(struct radix_node),
		.arena_max = 64ull << 20,
	};

	m->r = xproc_test_join(fd, path, &layout, xproc_test_noop, NULL);
	m->space = xproc_arena_space(m->r);
	index_share_attach(&m->share, m->r, xproc_user_area(m->r), indexes, &m->space);
}

/* A grabbed entry is what its last holder left: `left` (unlocked), or
 * none (0), which a grab makes an EMPTY entry. */
static inline void share_test_expect(uint64_t entry, uint64_t left)
{
	if (left)
		CHECK_EQ(entry_unlocked(entry), left);
	else
		CHECK(entry_is_empty(entry), "entry %#llx where none was left",
		      (unsigned long long)entry);
}

#endif
