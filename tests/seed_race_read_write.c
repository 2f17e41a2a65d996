// SPDX-License-Identifier: MIT
/*
 * seed_race_read_write: the race of the "dax: New fault locking" seed. For
 * every page of a sparse file, one thread's first access is a write and
 * another's a read, released together by a per-page rendezvous. With entry
 * locks no fault fails: no SIGBUS, the reader sees 0 or the written value,
 * the written bytes are all there afterwards, and exactly one block is
 * allocated per page written. Roles swap every round; >= 10^5 page pairs.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define PAGES 4096
#define ROUNDS 25	/* 25 * 4096 = 102400 page pairs */
#define PG 4096

static char *map;
static uint64_t order[PAGES];
static _Atomic uint64_t arrivals;
static _Atomic uint64_t bad_reads;

static uint64_t stamp(uint64_t round, uint64_t page)
{
	return (round << 32 | page) * 2 + 1;
}

/* Both threads arrive, then touch page order[i] at the same moment. */
static void rendezvous(uint64_t i)
{
	uint64_t spins = 0;

	atomic_fetch_add(&arrivals, 1);
	while (atomic_load(&arrivals) < 2 * (i + 1))
		if (++spins % 1024 == 0)
			sched_yield();
}

struct role {
	bool writer;
	uint64_t round;
};

static void *toucher(void *arg)
{
	struct role *r = arg;

	for (uint64_t i = 0; i < PAGES; i++) {
		uint64_t p = order[i];
		uint64_t *word = (uint64_t *)(map + p * PG + (p % 512) * 8);

		rendezvous(i);
		if (r->writer) {
			__atomic_store_n(word, stamp(r->round, p), __ATOMIC_RELAXED);
		} else {
			uint64_t v = __atomic_load_n(word, __ATOMIC_RELAXED);

			if (v != 0 && v != stamp(r->round, p))
				atomic_fetch_add(&bad_reads, 1);
		}
	}
	return NULL;
}

int main(void)
{
	struct udax_file_stat st;
	struct udax_store *s;
	struct udax_file *f;
	uint64_t rng, pairs = 0;

	test_init("seed_race_read_write", 300);
	test_install_sigbus_catcher();	/* any SIGBUS here fails the test */
	rng = test_seed;
	CHECK_EQ(udax_store_create(test_path("store"), 64ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "race", O_RDWR | O_CREAT, &f), 0);

	for (uint64_t round = 0; round < ROUNDS; round++) {
		struct role roles[2] = { { round & 1, round }, { !(round & 1), round } };
		pthread_t t[2];

		for (uint64_t i = 0; i < PAGES; i++)
			order[i] = i;
		for (uint64_t i = PAGES - 1; i > 0; i--) {
			uint64_t j = test_rand(&rng) % (i + 1), tmp = order[i];

			order[i] = order[j];
			order[j] = tmp;
		}
		CHECK_EQ(udax_truncate(f, 0), 0);
		CHECK_EQ(udax_truncate(f, PAGES * PG), 0);
		CHECK_EQ(udax_mmap(f, 0, PAGES * PG, PROT_READ | PROT_WRITE, (void **)&map), 0);
		atomic_store(&arrivals, 0);
		for (int k = 0; k < 2; k++)
			CHECK(pthread_create(&t[k], NULL, toucher, &roles[k]) == 0);
		for (int k = 0; k < 2; k++)
			pthread_join(t[k], NULL);

		CHECK_EQ(atomic_load(&bad_reads), 0);
		for (uint64_t p = 0; p < PAGES; p++) {
			uint64_t v;

			CHECK_EQ(*(uint64_t *)(map + p * PG + (p % 512) * 8), stamp(round, p));
			CHECK_EQ(udax_pread(f, &v, 8, p * PG + (p % 512) * 8), 8);
			CHECK_EQ(v, stamp(round, p));
		}
		CHECK_EQ(udax_fstat(f, &st), 0);
		CHECK_EQ(st.blocks, PAGES);
		CHECK_EQ(st.faults_sigbus, 0);
		CHECK_EQ(udax_munmap(map, PAGES * PG), 0);
		pairs += PAGES;
	}
	CHECK(test_sigbus_seen_unarmed == 0);
	printf("%llu page pairs, %llu lock waits\n", (unsigned long long)pairs,
	       (unsigned long long)st.lock_waits);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
