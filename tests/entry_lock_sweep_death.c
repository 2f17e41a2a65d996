// SPDX-License-Identifier: MIT
/*
 * entry_lock_sweep_death: a member killed while it releases what its
 * slot's dead predecessor held (index_share_attach) loses none of it: the
 * slot's next member releases it. A holds an entry and is killed; B takes
 * A's slot and, in its attach, waits for the tree lock a keeper holds, and
 * is killed there; C takes the slot again and must find the entry
 * released, with its block, without waiting (the first version cleared
 * the hold cell before the release, so C found nothing to release and the
 * entry stayed locked, naming C's live slot, for as long as C lived:
 * found by the review).
 */
#include <signal.h>

#include "entry_share_test.h"

#define LOCK_WAITERS (1u << 31)	/* xproc.h: "someone waits" */

struct shared {
	_Atomic uint32_t k_in, a_holding, hold_tree, tree_held, b_waiting, release_tree, a_slot,
		c_done;
	_Atomic uint64_t c_recovered, c_grab;
	_Atomic uint32_t c_slot;
};

static struct shared *sh;
static const char *store;
static int store_fd;

/* Holds the tree lock while B attaches, and sees B wait for it. */
static void keeper(unsigned unused)
{
	struct share_member m;
	struct page_index pi;

	(void)unused;
	share_test_join(&m, store_fd, store, 1);
	page_index_init_shared(&pi, &m.share, 0);
	xproc_test_raise(&sh->k_in);
	xproc_test_wait(&sh->hold_tree, 1);
	share_tree_lock(&pi);
	xproc_test_raise(&sh->tree_held);
	while (!(atomic_load(&pi.d->tree_lock.shared_lock.word) & LOCK_WAITERS))
		futex_wait_shared(&pi.d->tree_lock.shared_lock.word,
				  atomic_load(&pi.d->tree_lock.shared_lock.word), 10);
	xproc_test_raise(&sh->b_waiting);
	xproc_test_wait(&sh->release_tree, 1);
	share_tree_unlock(&pi);
	xproc_test_wait(&sh->c_done, 1);
	xproc_leave(m.r);
}

static void holder_a(unsigned unused)
{
	struct share_member m;
	struct page_index pi;

	(void)unused;
	share_test_join(&m, store_fd, store, 1);
	page_index_init_shared(&pi, &m.share, 0);
	CHECK(entry_is_empty(entry_grab(&pi, 5, 0)));
	entry_replace_locked(&pi, 5, entry_make_block(4242));
	atomic_store(&sh->a_slot, xproc_self(m.r));
	xproc_test_raise(&sh->a_holding);
	for (;;)
		pause();
}

static void joiner_b(unsigned unused)
{
	struct share_member m;

	(void)unused;
	share_test_join(&m, store_fd, store, 1);	/* waits in attach: killed there */
	CHECK(0, "attach returned while the keeper holds the tree lock");
}

static void joiner_c(unsigned unused)
{
	struct share_member m;
	struct page_index pi;
	uint64_t e;

	(void)unused;
	share_test_join(&m, store_fd, store, 1);
	page_index_init_shared(&pi, &m.share, 0);
	atomic_store(&sh->c_slot, xproc_self(m.r));
	atomic_store(&sh->c_recovered, page_index_recovered(&pi));
	e = entry_grab(&pi, 5, GRAB_NOWAIT);
	atomic_store(&sh->c_grab, e);
	if (e && e != ENTRY_CONFLICT)
		entry_unlock(&pi, 5);
	xproc_test_raise(&sh->c_done);
	xproc_leave(m.r);
}

int main(void)
{
	pid_t k, a, b, c;

	test_init("entry_lock_sweep_death", 60);
	store_fd = xproc_test_store(&store);
	sh = xproc_test_shared(sizeof(*sh));
	k = xproc_test_start(keeper, 0);
	xproc_test_wait(&sh->k_in, 1);
	a = xproc_test_start(holder_a, 0);
	xproc_test_wait(&sh->a_holding, 1);
	CHECK_EQ(kill(a, SIGKILL), 0);
	xproc_test_reap(a, true);

	xproc_test_raise(&sh->hold_tree);
	xproc_test_wait(&sh->tree_held, 1);
	b = xproc_test_start(joiner_b, 0);
	xproc_test_wait(&sh->b_waiting, 1);
	CHECK_EQ(kill(b, SIGKILL), 0);
	xproc_test_reap(b, true);
	xproc_test_raise(&sh->release_tree);

	c = xproc_test_start(joiner_c, 0);
	xproc_test_reap(c, false);
	xproc_test_reap(k, false);
	CHECK_EQ(atomic_load(&sh->c_slot), atomic_load(&sh->a_slot));
	CHECK_EQ(atomic_load(&sh->c_recovered), 1);
	CHECK_EQ(entry_unlocked(atomic_load(&sh->c_grab)), entry_make_block(4242));
	test_pass();
}
