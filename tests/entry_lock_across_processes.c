// SPDX-License-Identifier: MIT
/*
 * entry_lock_across_processes: entries of a page index that processes
 * share are locked like pages across them, as across threads. Four
 * processes grab entries of two shared page indexes at random (4 KiB
 * entries, 2 MiB entries over the same pages, without waiting, each also
 * from two threads), each holder claiming the pages its entry covers in a
 * table (compare-and-swap from free), so two holders at once show up.
 * Each holder checks that the entry is what the last holder of it left (a
 * table of expected entries), changes it (a block, a zero page, dirty),
 * then unlocks or deletes it. At the end one member finds every entry
 * unlocked and as expected, the dirty count equal to the tagged pages,
 * and, every entry deleted, every node given back to the arena.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "entry_share_test.h"

#define PROCS 4
#define THREADS 2
#define INDEXES 2
#define PAGES 1024		/* two 2 MiB ranges */
#define OPS 40000
#define HOT_PAGES 48	/* half the 4 KiB grabs go here */

struct shared {
	_Atomic uint32_t owner[INDEXES][PAGES];	/* holder tag + 1, 0: none */
	_Atomic uint64_t expect[INDEXES][PAGES];	/* entry (unlocked) left at its index */
	_Atomic uint32_t done, checked;
	_Atomic uint64_t grabs, pmd_grabs, conflicts, lock_waits;
};

static struct shared *sh;
static const char *store;
static int store_fd;

struct holder {
	struct share_member *m;
	uint32_t tag;
	uint64_t rng;
};

static void claim(uint32_t idx, uint64_t at, uint64_t pages, uint32_t tag, uint64_t entry)
{
	for (uint64_t p = at; p < at + pages; p++) {
		uint32_t free_mark = 0;

		CHECK(atomic_compare_exchange_strong(&sh->owner[idx][p], &free_mark, tag + 1),
		      "index %u page %llu: %u holds it while %u got entry %#llx", idx,
		      (unsigned long long)p, free_mark - 1, tag, (unsigned long long)entry);
	}
}

static void unclaim(uint32_t idx, uint64_t at, uint64_t pages)
{
	for (uint64_t p = at; p < at + pages; p++)
		atomic_store(&sh->owner[idx][p], 0);
}

/* The page of a grab: a 2 MiB entry's first, or a 4 KiB page, half of
 * them among HOT_PAGES; 4 KiB entries in the second 2 MiB range are rare
 * and short-lived (deleted by their holder), so that 2 MiB entries are
 * granted there as often as refused. */
static uint64_t pick(uint64_t r, bool pmd)
{
	if (pmd)
		return (r >> 24) % 2 * ENTRY_PMD_PAGES;
	if ((r >> 56) % 16 == 0)
		return ENTRY_PMD_PAGES + (r >> 24) % ENTRY_PMD_PAGES;
	return (r >> 24) % (r >> 60 & 1 ? ENTRY_PMD_PAGES : HOT_PAGES);
}

static bool short_lived(uint64_t at, uint64_t entry)
{
	return at >= ENTRY_PMD_PAGES && !entry_is_pmd(entry);
}

static void one_op(struct holder *h, struct page_index *pis)
{
	uint64_t r = test_rand(&h->rng);
	uint32_t idx = (uint32_t)(r % INDEXES);
	struct page_index *pi = &pis[idx];
	bool pmd = (r >> 8) % 10 == 0;
	unsigned flags = (pmd ? GRAB_PMD : 0) | ((r >> 16) % 8 == 0 ? GRAB_NOWAIT : 0);
	uint64_t index = pick(r, pmd);
	uint64_t entry = entry_grab(pi, index, flags), at, pages, next;

	CHECK(entry != 0, "entry_grab: no node memory");
	if (entry == ENTRY_CONFLICT) {
		atomic_fetch_add(&sh->conflicts, 1);
		return;
	}
	CHECK(entry_is_locked(entry));
	CHECK_EQ(entry_holder(entry), xproc_self(h->m->r) + 1);
	at = entry_index(index, entry);
	pages = entry_pages(entry);
	claim(idx, at, pages, h->tag, entry);
	atomic_fetch_add(&sh->grabs, 1);
	if (entry_is_pmd(entry))
		atomic_fetch_add(&sh->pmd_grabs, 1);

	share_test_expect(entry, atomic_load(&sh->expect[idx][at]));

	switch ((r >> 40) % 4) {
	case 0:
		next = entry_make_zero() | (entry & ENTRY_PMD);
		break;
	case 1:
	case 2:
		next = entry_make_block((r >> 44) % 100000 + 1) | (entry & ENTRY_PMD);
		break;
	default:
		next = entry_unlocked(entry);
		break;
	}
	if (!entry_same(next, entry))
		entry_replace_locked(pi, at, next);
	if (entry_is_block(next) && (r >> 50) % 2)
		entry_mark_dirty(pi, at);
	if ((r >> 52) % 4 == 0 || short_lived(at, entry)) {
		atomic_store(&sh->expect[idx][at], 0);
		unclaim(idx, at, pages);
		entry_delete_locked(pi, at);
		return;
	}
	atomic_store(&sh->expect[idx][at], entry_is_empty(next) ? 0 : next);
	unclaim(idx, at, pages);
	if (entry_is_empty(next))
		entry_delete_locked(pi, at);	/* an unfinished fault's error path */
	else
		entry_unlock(pi, at);
}

struct thread_arg {
	struct share_member *m;
	uint32_t tag;
};

static void *holder_thread(void *arg)
{
	struct thread_arg *a = arg;
	struct holder h = { .m = a->m, .tag = a->tag, .rng = test_seed * 131 + a->tag };
	struct page_index pis[INDEXES];

	for (uint32_t i = 0; i < INDEXES; i++)
		page_index_init_shared(&pis[i], &a->m->share, i);
	for (unsigned n = 0; n < OPS; n++)
		one_op(&h, pis);
	return NULL;
}

/* Every entry unlocked and as the last holder left it; the dirty count is
 * the tagged pages; deleted, every node is back in the arena. */
static void check_and_empty(struct share_member *m)
{
	for (uint32_t idx = 0; idx < INDEXES; idx++) {
		struct page_index pi;
		uint64_t at = 0, entry, dirty_pages = 0, found = 0, left = 0;

		page_index_init_shared(&pi, &m->share, idx);
		while ((entry = entry_next(&pi, &at))) {
			CHECK(!entry_is_locked(entry), "index %u page %llu still locked: %#llx", idx,
			      (unsigned long long)at, (unsigned long long)entry);
			CHECK_EQ(entry, atomic_load(&sh->expect[idx][at]));
			found++;
			at++;
		}
		for (uint64_t p = 0; p < PAGES; p++)
			left += atomic_load(&sh->expect[idx][p]) != 0;
		CHECK_EQ(found, left);
		/* Each dirty entry once: grab it, see whether writeback would. */
		entry_tag_towrite(&pi);
		at = 0;
		while ((entry = entry_next_towrite(&pi, &at))) {
			dirty_pages += entry_pages(entry);
			at++;
		}
		CHECK_EQ(page_index_dirty(&pi), dirty_pages);
		atomic_fetch_add(&sh->lock_waits, page_index_lock_waits(&pi));
		at = 0;
		while ((entry = entry_next(&pi, &at)))
			CHECK(entry_invalidate(&pi, at, entry));
		CHECK_EQ(page_index_dirty(&pi), 0);
	}
	CHECK_EQ(xproc_arena_nodes_in_use(m->r), 0);
}

static void process(unsigned me)
{
	struct share_member m;
	struct thread_arg args[THREADS];
	pthread_t t[THREADS];

	share_test_join(&m, store_fd, store, INDEXES);
	for (unsigned k = 0; k < THREADS; k++) {
		args[k] = (struct thread_arg){ .m = &m, .tag = me * THREADS + k };
		CHECK_EQ(pthread_create(&t[k], NULL, holder_thread, &args[k]), 0);
	}
	for (unsigned k = 0; k < THREADS; k++)
		CHECK_EQ(pthread_join(t[k], NULL), 0);
	xproc_test_raise(&sh->done);
	if (me == 0) {	/* stays a member, so the region lives on */
		xproc_test_wait(&sh->done, PROCS);
		check_and_empty(&m);
		xproc_test_raise(&sh->checked);
	}
	xproc_leave(m.r);
	_exit(0);
}

int main(void)
{
	pid_t pid[PROCS];

	test_init("entry_lock_across_processes", 120);
	store_fd = xproc_test_store(&store);
	sh = xproc_test_shared(sizeof(*sh));
	for (unsigned p = 0; p < PROCS; p++) {
		pid[p] = fork();
		CHECK(pid[p] >= 0);
		if (pid[p] == 0)
			process(p);
	}
	for (unsigned p = 0; p < PROCS; p++) {
		int status;

		CHECK_EQ(waitpid(pid[p], &status, 0), pid[p]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "process %u: status %#x", p,
		      status);
	}
	CHECK_EQ(atomic_load(&sh->checked), 1);
	CHECK(atomic_load(&sh->pmd_grabs) >= 1000, "only %llu 2 MiB entries granted",
	      (unsigned long long)atomic_load(&sh->pmd_grabs));
	printf("%llu grabs (%llu of 2 MiB entries), %llu sleeps on a locked entry, %llu "
	       "conflicts (no-wait or 2 MiB over 4 KiB)\n",
	       (unsigned long long)atomic_load(&sh->grabs),
	       (unsigned long long)atomic_load(&sh->pmd_grabs),
	       (unsigned long long)atomic_load(&sh->lock_waits),
	       (unsigned long long)atomic_load(&sh->conflicts));
	test_pass();
}
