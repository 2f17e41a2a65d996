// SPDX-License-Identifier: MIT
/*
 * entry_share_holds_full: a member that holds as many entries of shared
 * page indexes as its hold table has cells (INDEX_SHARE_HOLDS) is refused
 * one more, cleanly: a waiting grab returns 0 (no memory), a grab that
 * does not wait a conflict, and neither leaves anything behind; once it
 * lets go it can grab again. Every entry deleted, every node is back in
 * the arena (the first version built the new entry's path of nodes before
 * it found the table full, and left it empty in the tree: found by the
 * review).
 */
#include "entry_share_test.h"

int main(void)
{
	struct share_member m;
	struct page_index pi;
	const char *store;
	uint64_t at = 0, far = 1ull << 30;
	int fd;

	test_init("entry_share_holds_full", 60);
	fd = xproc_test_store(&store);
	share_test_join(&m, fd, store, 1);
	page_index_init_shared(&pi, &m.share, 0);
	for (uint64_t i = 0; i < INDEX_SHARE_HOLDS; i++)
		CHECK(entry_is_empty(entry_grab(&pi, i, 0)), "grab %llu", (unsigned long long)i);
	/* Far away (a new path of nodes), and beside the held ones. */
	CHECK_EQ(entry_grab(&pi, far, 0), 0);
	CHECK_EQ(entry_grab(&pi, far, GRAB_NOWAIT), ENTRY_CONFLICT);
	CHECK_EQ(entry_grab(&pi, INDEX_SHARE_HOLDS, 0), 0);
	at = INDEX_SHARE_HOLDS;
	CHECK_EQ(entry_next(&pi, &at), 0);

	entry_delete_locked(&pi, 0);
	CHECK(entry_is_empty(entry_grab(&pi, far, 0)));
	entry_delete_locked(&pi, far);
	for (uint64_t i = 1; i < INDEX_SHARE_HOLDS; i++)
		entry_delete_locked(&pi, i);
	at = 0;
	CHECK_EQ(entry_next(&pi, &at), 0);
	CHECK_EQ(xproc_arena_nodes_in_use(m.r), 0);
	xproc_leave(m.r);
	test_pass();
}
