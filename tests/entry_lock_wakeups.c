// SPDX-License-Identifier: MIT
/*
 * entry_lock_wakeups: entries are locked like pages, and every sleeper is
 * woken:
 *  1. mutual exclusion: threads grab random entries of a small range and
 *     check nobody else holds the same one;
 *  2. a lock entry replaced by a hole (ZERO) entry and unlocked wakes its
 *     waiters (the reviewer's question on dax_load_hole);
 *  3. deleting a locked entry wakes all waiters, including invalidators
 *     that will not take the lock (the kernel's "wake up all waiters after
 *     invalidating dax entry");
 *  4. shared wait buckets: bystanders sleep first on entries that stay
 *     locked, then targets sleep on other entries (many sharing a bucket
 *     with a bystander, ahead of them in the queue); unlocking the targets'
 *     entries must wake every target. A wake-up given to the bystander of
 *     another key would be lost and leave a target asleep.
 * Bounded by iterations; a missed wake-up trips the watchdog.
 */
#include <pthread.h>
#include <sched.h>

#include "index/entry_lock.h"
#include "test_util.h"

#define THREADS 4
#define ITERATIONS 200000
#define RANGE 64
#define MANY 12288	/* > 4096 wait buckets */
#define MANY_WAITERS 256	/* targets and as many bystanders: ~32
				 * target/bystander pairs share a bucket */

static struct page_index pi;
static _Atomic int holder[MANY];
static _Atomic uint64_t grabs;

static void *exclusion_worker(void *arg)
{
	uint64_t rng = test_seed ^ (uintptr_t)arg;

	for (int i = 0; i < ITERATIONS / THREADS; i++) {
		uint64_t index = test_rand(&rng) % RANGE;
		uint64_t entry = entry_grab(&pi, index, 0);
		int expected = 0;

		CHECK(entry_is_locked(entry));
		CHECK(atomic_compare_exchange_strong(&holder[index], &expected, 1),
		      "two holders of entry %llu", (unsigned long long)index);
		if (entry_is_empty(entry) && (test_rand(&rng) & 1))
			entry_replace_locked(&pi, index, entry_make_zero());
		atomic_store(&holder[index], 0);
		if (test_rand(&rng) % 8 == 0)
			entry_delete_locked(&pi, index);
		else
			entry_unlock(&pi, index);
		atomic_fetch_add(&grabs, 1);
	}
	return NULL;
}

static void wait_for_sleepers(uint64_t before, uint64_t count)
{
	/* Poll the condition (not a timed sleep); the watchdog bounds it. */
	while (page_index_lock_waits(&pi) < before + count)
		sched_yield();
}

static void *grab_and_check_zero(void *arg)
{
	uint64_t index = (uintptr_t)arg;
	uint64_t entry = entry_grab(&pi, index, 0);

	CHECK(entry_is_zero(entry), "waiter saw %#llx, not the hole entry",
	      (unsigned long long)entry);
	entry_unlock(&pi, index);
	return NULL;
}

static void *invalidate_waiter(void *arg)
{
	uint64_t index = (uintptr_t)arg;

	/* Waits for the locked entry, which is then deleted under it. */
	CHECK(!entry_invalidate(&pi, index, entry_make_empty()),
	      "deleted an entry that was already gone");
	return NULL;
}

static void *grab_many(void *arg)
{
	uint64_t index = (uintptr_t)arg;

	entry_grab(&pi, index, 0);
	entry_unlock(&pi, index);
	return NULL;
}

static void run_threads(void *(*fn)(void *), uint64_t index, int count, pthread_t *t)
{
	for (int i = 0; i < count; i++)
		CHECK(pthread_create(&t[i], NULL, fn, (void *)(uintptr_t)index) == 0);
}

int main(void)
{
	pthread_t t[THREADS];
	uint64_t before, rng;
	static uint64_t order[MANY];
	static pthread_t many[2 * MANY_WAITERS];

	test_init("entry_lock_wakeups", 120);
	rng = test_seed;
	page_index_init(&pi);

	/* 1. mutual exclusion */
	for (int i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, exclusion_worker, (void *)(uintptr_t)i) == 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(atomic_load(&grabs), (ITERATIONS / THREADS) * THREADS);

	/* 2. lock entry replaced by a hole entry, then unlocked */
	for (int round = 0; round < 50; round++) {
		uint64_t index = 1000 + (uint64_t)round;

		CHECK(entry_is_empty(entry_grab(&pi, index, 0)));
		before = page_index_lock_waits(&pi);
		run_threads(grab_and_check_zero, index, 3, t);
		wait_for_sleepers(before, 3);
		entry_replace_locked(&pi, index, entry_make_zero());
		entry_unlock(&pi, index);
		for (int i = 0; i < 3; i++)
			pthread_join(t[i], NULL);
	}

	/* 3. delete wakes every waiter, also those not taking the lock */
	for (int round = 0; round < 50; round++) {
		uint64_t index = 2000 + (uint64_t)round;

		entry_grab(&pi, index, 0);
		before = page_index_lock_waits(&pi);
		run_threads(invalidate_waiter, index, 3, t);
		wait_for_sleepers(before, 3);
		entry_delete_locked(&pi, index);
		for (int i = 0; i < 3; i++)
			pthread_join(t[i], NULL);
	}

	/* 4. shared buckets: MANY locked entries, one waiter on each of
	 * MANY_WAITERS of them, exactly those unlocked, in random order */
	for (uint64_t i = 0; i < MANY; i++) {
		order[i] = 100000 + i;
		entry_grab(&pi, order[i], 0);
	}
	for (size_t i = MANY - 1; i > 0; i--) {
		size_t j = test_rand(&rng) % (i + 1);
		uint64_t tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
	}
	/* bystanders on order[W..2W), then targets on order[0..W) */
	for (size_t half = 1; half <= 2; half++) {
		size_t first = half == 1 ? MANY_WAITERS : 0;

		before = page_index_lock_waits(&pi);
		for (size_t i = first; i < first + MANY_WAITERS; i++)
			CHECK(pthread_create(&many[i], NULL, grab_many,
					     (void *)(uintptr_t)order[i]) == 0);
		wait_for_sleepers(before, MANY_WAITERS);
	}
	for (size_t i = 0; i < MANY_WAITERS; i++)
		entry_unlock(&pi, order[(i * 7919) % MANY_WAITERS]);
	for (size_t i = 0; i < MANY_WAITERS; i++)
		pthread_join(many[i], NULL);
	for (size_t i = MANY_WAITERS; i < MANY; i++)
		entry_unlock(&pi, order[i]);
	for (size_t i = MANY_WAITERS; i < 2 * MANY_WAITERS; i++)
		pthread_join(many[i], NULL);

	page_index_destroy(&pi);
	test_pass();
}
