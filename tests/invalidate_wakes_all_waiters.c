// SPDX-License-Identifier: MIT
/*
 * invalidate_wakes_all_waiters: the kernel's "wake up all waiters after
 * invalidating dax entry" fix, end to end. While a page's entry is held
 * locked, an invalidator queues on it first (it will not take the lock),
 * then three threads fault on the page through the mapping. The holder
 * deletes the entry, as invalidation does: every waiter must wake, the
 * faults redo their lookup and complete with the right bytes, none sleeps
 * forever (watchdog). A wake-one here would wake only the invalidator.
 * Repeated on many pages, with and without a block behind them.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>

#include "api/handles.h"
#include "test_util.h"
#include "udax.h"

#define PG 4096
#define PAGES 200
#define WAITERS 3

static char *map;
static uint64_t page;

static void *invalidator(void *arg)
{
	struct page_index *pi = arg;

	/* The entry it waits for is deleted under it: nothing to do. */
	CHECK(!entry_invalidate(pi, page, entry_make_empty()));
	return NULL;
}

static void *faulter(void *arg)
{
	char *p = map + page * PG;

	if ((uintptr_t)arg == 0)	/* one writer, two readers */
		__atomic_store_n(p + 1, 'w', __ATOMIC_RELAXED);
	else
		(void)__atomic_load_n(p, __ATOMIC_RELAXED);
	return NULL;
}

int main(void)
{
	struct udax_store *s;
	struct udax_file *f;
	struct page_index *pi;
	pthread_t t[WAITERS], inv;

	test_init("invalidate_wakes_all_waiters", 120);
	CHECK_EQ(udax_store_create(test_path("store"), 16ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, PAGES * PG), 0);
	CHECK_EQ(udax_mmap(f, 0, PAGES * PG, PROT_READ | PROT_WRITE, (void **)&map), 0);
	pi = &f->inode->pi;

	for (page = 0; page < PAGES; page++) {
		uint64_t before;

		if (page % 2)	/* half the pages have a block already */
			CHECK_EQ(udax_pwrite(f, "b", 1, page * PG), 1);
		CHECK(entry_grab(pi, page, 0) != 0);
		/* Poll (not a timed sleep) until each waiter sleeps on it. */
		before = page_index_lock_waits(pi);
		CHECK(pthread_create(&inv, NULL, invalidator, pi) == 0);
		while (page_index_lock_waits(pi) < before + 1)
			sched_yield();
		for (uintptr_t i = 0; i < WAITERS; i++)
			CHECK(pthread_create(&t[i], NULL, faulter, (void *)i) == 0);
		while (page_index_lock_waits(pi) < before + 1 + WAITERS)
			sched_yield();
		entry_delete_locked(pi, page);
		pthread_join(inv, NULL);
		for (int i = 0; i < WAITERS; i++)
			pthread_join(t[i], NULL);
		CHECK_EQ(map[page * PG + 1], 'w');
		CHECK_EQ(map[page * PG], page % 2 ? 'b' : 0);
	}
	CHECK_EQ(udax_munmap(map, PAGES * PG), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
