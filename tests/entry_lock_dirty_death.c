// SPDX-License-Identifier: MIT
/*
 * entry_lock_dirty_death (fault-injection build): a member killed at any
 * ordered store while it changes a shared page index (new entries, 4 KiB
 * and 2 MiB, spread so that new roots and leaves are made; dirty tags;
 * writeback's TOWRITE tags and their clearing; deletes) leaves an index
 * whose dirty count is never below what writeback's tagged walk finds,
 * whose tagged walk finds every value tagged at its leaf (a dirty page is
 * never hidden from writeback), and whose every entry can be taken. A
 * victim is told to die at its nth ordered store, for n = 1, 2, ... 150
 * (UDAX_INJECT's death point, compat_inject_death_after()); after each, a
 * keeper checks the index.
 */
#include <signal.h>
#include <sys/wait.h>

#include "entry_share_test.h"

#define VICTIMS 150

struct shared {
	_Atomic uint32_t keeper_in, round, checked;
};

static struct shared *sh;
static const char *store;
static int store_fd;

/* Pages a victim works on: in different leaves, under new roots, two of
 * them 2 MiB entries. */
static const uint64_t pages[8] = { 3, 70, 4100, 262149, 512, 1024, 1u << 24, 9 };

static bool is_pmd(uint64_t index)
{
	return index == 512 || index == 1024;
}

static void victim(unsigned nth)
{
	struct share_member m;
	struct page_index pi;

	share_test_join(&m, store_fd, store, 1);
	page_index_init_shared(&pi, &m.share, 0);
#ifdef UDAX_FAULT_INJECT
	compat_inject_death_after(nth);
#endif
	for (unsigned k = 0; k < 8; k++) {
		uint64_t index = pages[(k + nth) % 8];
		uint64_t e = entry_grab(&pi, index, is_pmd(index) ? GRAB_PMD : 0);

		if (!e || e == ENTRY_CONFLICT)
			continue;
		entry_replace_locked(&pi, index, entry_make_block(100 + k) | (e & ENTRY_PMD));
		entry_mark_dirty(&pi, index);
		entry_unlock(&pi, index);
	}
	entry_tag_towrite(&pi);
	for (unsigned k = 0; k < 8; k++) {
		uint64_t index = pages[(k + nth) % 8], e = entry_grab(&pi, index, 0);

		if (!e || e == ENTRY_CONFLICT)
			continue;
		if (entry_is_block(e))
			entry_clear_written(&pi, index);
		if (k % 2)
			entry_delete_locked(&pi, index);
		else
			entry_unlock(&pi, index);
	}
	_exit(0);
}

/* After each victim: every entry can be taken (a dead victim's released
 * by this waiter), the dirty count covers the tagged walk, and the walk
 * finds every value tagged at its leaf. */
static void keeper(unsigned unused)
{
	struct share_member m;
	struct page_index pi;

	(void)unused;
	share_test_join(&m, store_fd, store, 1);
	page_index_init_shared(&pi, &m.share, 0);
	xproc_test_raise(&sh->keeper_in);
	for (uint32_t round = 1; round <= VICTIMS; round++) {
		uint64_t at = 0, e, walked = 0, leaves = 0;

		xproc_test_wait(&sh->round, round);
		while ((e = entry_next(&pi, &at))) {
			uint64_t held = entry_grab(&pi, at, 0);

			CHECK(held && held != ENTRY_CONFLICT, "round %u: index %llu", round,
			      (unsigned long long)at);
			entry_unlock(&pi, at);
			at += entry_pages(held);
		}
		share_tree_lock(&pi);
		at = 0;
		while ((e = radix_next_tagged(pi.space, &pi.d->tree, &at, RADIX_TAG_DIRTY))) {
			walked += entry_pages(e);
			at++;
		}
		at = 0;
		while ((e = radix_next(pi.space, &pi.d->tree, &at))) {
			if (radix_tag_get(pi.space, &pi.d->tree, at, RADIX_TAG_DIRTY))
				leaves += entry_pages(e);
			at++;
		}
		share_tree_unlock(&pi);
		CHECK(walked == leaves && page_index_dirty(&pi) >= walked,
		      "round %u: dirty count %llu, the tagged walk finds %llu pages, the leaves "
		      "tag %llu", round, (unsigned long long)page_index_dirty(&pi),
		      (unsigned long long)walked, (unsigned long long)leaves);
		xproc_test_raise(&sh->checked);
	}
	xproc_leave(m.r);
	_exit(0);
}

int main(void)
{
	unsigned died = 0;
	pid_t keeper_pid;
	int status;

	test_init("entry_lock_dirty_death", 120);
#ifndef UDAX_FAULT_INJECT
	test_skip("built without UDAX_FAULT_INJECT (run make check-inject)");
#endif
	store_fd = xproc_test_store(&store);
	sh = xproc_test_shared(sizeof(*sh));
	keeper_pid = xproc_test_start(keeper, 0);
	xproc_test_wait(&sh->keeper_in, 1);
	for (unsigned n = 1; n <= VICTIMS; n++) {
		pid_t v = xproc_test_start(victim, n);

		CHECK_EQ(waitpid(v, &status, 0), v);
		CHECK(WIFEXITED(status) || WTERMSIG(status) == SIGKILL, "victim %u: %#x", n, status);
		died += WIFSIGNALED(status);
		xproc_test_raise(&sh->round);
		while (atomic_load(&sh->checked) < n) {	/* or the keeper failed */
			siginfo_t si = { .si_pid = 0 };

			CHECK_EQ(waitid(P_PID, (id_t)keeper_pid, &si, WEXITED | WNOHANG | WNOWAIT), 0);
			CHECK(si.si_pid == 0, "the keeper ended in round %u", n);
			futex_wait_shared(&sh->checked, n - 1, 10);
		}
	}
	CHECK_EQ(waitpid(keeper_pid, &status, 0), keeper_pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "keeper: %#x", status);
	printf("%u of %u victims died at an ordered store\n", died, VICTIMS);
	CHECK(died >= VICTIMS / 2);
	test_pass();
}
