// SPDX-License-Identifier: MIT
/*
 * entry_share_damaged_region: a shared page index whose region another
 * process wrote over (the region is as writable as the store) never makes
 * a member abort. An entry whose holder field names nobody is released by
 * a waiter, and its holder's unlock then leaves it alone; a member whose
 * hold cells were zeroed unlocks and deletes as usual.
 */
#include <pthread.h>
#include <string.h>

#include "entry_share_test.h"

static struct share_member m;

static void *waiter(void *arg)
{
	struct page_index *pi = arg;
	uint64_t e = entry_grab(pi, 7, 0);	/* released as its holder's, who is "dead" */

	CHECK_EQ(entry_unlocked(e), entry_make_block(77));
	entry_unlock(pi, 7);
	return NULL;
}

int main(void)
{
	struct page_index pi;
	const char *store;
	pthread_t t;
	uint64_t *slot, e, at = 0;
	int fd;

	test_init("entry_share_damaged_region", 60);
	fd = xproc_test_store(&store);
	share_test_join(&m, fd, store, 1);
	page_index_init_shared(&pi, &m.share, 0);

	/* A holder field naming no slot. */
	CHECK(entry_is_empty(entry_grab(&pi, 7, 0)));
	entry_replace_locked(&pi, 7, entry_make_block(77));
	share_tree_lock(&pi);
	slot = radix_lookup_slot(pi.space, &pi.d->tree, 7);
	*slot = (*slot & ~ENTRY_HOLDER_MASK) | (uint64_t)200 << ENTRY_HOLDER_SHIFT;
	share_tree_unlock(&pi);
	CHECK_EQ(pthread_create(&t, NULL, waiter, &pi), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK_EQ(page_index_recovered(&pi), 1);
	entry_unlock(&pi, 7);			/* no longer ours: left alone */
	entry_replace_locked(&pi, 7, entry_make_zero());
	entry_delete_locked(&pi, 7);
	CHECK_EQ(entry_next(&pi, &at), entry_make_block(77));

	/* Everything of the share but the index itself (wait buckets, hold
	 * cells) zeroed under a member holding an entry. */
	CHECK(entry_is_empty(entry_grab(&pi, 9, 0)));
	memset(xproc_user_area(m.r), 0, index_share_bytes(1) - sizeof(struct page_index_data));
	entry_replace_locked(&pi, 9, entry_make_block(99));
	entry_unlock(&pi, 9);
	e = entry_grab(&pi, 9, GRAB_NOWAIT);
	CHECK_EQ(entry_unlocked(e), entry_make_block(99));
	entry_delete_locked(&pi, 9);
	e = entry_grab(&pi, 7, 0);
	entry_delete_locked(&pi, 7);
	at = 0;
	CHECK_EQ(entry_next(&pi, &at), 0);
	xproc_leave(m.r);
	test_pass();
}
