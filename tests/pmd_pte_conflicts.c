// SPDX-License-Identifier: MIT
/*
 * pmd_pte_conflicts: the kernel's PMD-vs-PTE races ("Fix missed wakeup with
 * PMD faults", "Fix pmd vs pte conflict detection") as a stress test. One
 * file is mapped twice: with 2 MiB entries, and UDAX_MAP_PTE (4 KiB only).
 * THREADS threads write and read their own pages through either mapping at
 * random, so 2 MiB faults meet 4 KiB entries (locked or not) and 4 KiB
 * faults meet 2 MiB entries, holes of either size get replaced, and 2 MiB
 * hole entries get downgraded. Between rounds the main thread punches or
 * truncates random ranges, whole 2 MiB ranges or not. Every access sees the
 * page's last value through both mappings (no lost write, no stale zero
 * page), nobody hangs (watchdog: a missed wake-up would), and both 2 MiB
 * faults and fallbacks happen.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096ull
#define PMD_PAGES 512ull
#define UNITS 4ull
#define PAGES (UNITS * PMD_PAGES)
#define FILE_BYTES (PAGES * PG)
#define THREADS 3
#define ROUNDS 150
#define OPS 96

static char *via_pmd, *via_pte;
static uint64_t last[PAGES];		/* owner thread writes, main reads between rounds */
static pthread_barrier_t round_start, round_end;
static _Atomic uint64_t mismatches;
static int round_no;

static uint64_t *word(char *map, uint64_t page)
{
	return (uint64_t *)(map + page * PG + (page % 509) * 8);
}

static void *worker(void *arg)
{
	uint64_t id = (uintptr_t)arg, rng = test_seed * 31 + id;

	for (int r = 0; r < ROUNDS; r++) {
		pthread_barrier_wait(&round_start);
		for (int op = 0; op < OPS; op++) {
			/* Pages clustered in one random 2 MiB range per op. */
			uint64_t p = (test_rand(&rng) % UNITS) * PMD_PAGES +
				     (test_rand(&rng) % (PMD_PAGES / THREADS)) * THREADS + id;
			bool pmd_first = test_rand(&rng) & 1;
			char *one = pmd_first ? via_pmd : via_pte, *other = pmd_first ? via_pte : via_pmd;

			if (test_rand(&rng) % 3 == 0) {	/* read */
				if (*word(one, p) != last[p])
					atomic_fetch_add(&mismatches, 1);
				continue;
			}
			last[p] = ((uint64_t)round_no << 32) | (uint64_t)op << 8 | id | 1;
			*word(one, p) = last[p];
			if (*word(other, p) != last[p])
				atomic_fetch_add(&mismatches, 1);
		}
		pthread_barrier_wait(&round_end);
	}
	return NULL;
}

/* Drop [first, first + n) from the file, as the expected values do. */
static void punch(struct udax_file *f, uint64_t first, uint64_t n)
{
	CHECK_EQ(udax_punch_hole(f, first * PG, n * PG), 0);
	for (uint64_t p = first; p < first + n && p < PAGES; p++)
		last[p] = 0;
}

int main(void)
{
	struct udax_file_stat st;
	struct udax_store *s;
	struct udax_file *f;
	pthread_t t[THREADS];
	uint64_t rng;

	test_init("pmd_pte_conflicts", 240);
	test_install_sigbus_catcher();	/* any SIGBUS fails the test */
	rng = test_seed;
	CHECK_EQ(udax_store_create(test_path("store"), 128ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, FILE_BYTES), 0);
	CHECK_EQ(udax_mmap(f, 0, FILE_BYTES, PROT_READ | PROT_WRITE, (void **)&via_pmd), 0);
	CHECK_EQ(udax_mmap(f, 0, FILE_BYTES, PROT_READ | PROT_WRITE | UDAX_MAP_PTE,
			   (void **)&via_pte), 0);
	CHECK(pthread_barrier_init(&round_start, NULL, THREADS + 1) == 0);
	CHECK(pthread_barrier_init(&round_end, NULL, THREADS + 1) == 0);
	for (uintptr_t i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);

	for (round_no = 0; round_no < ROUNDS; round_no++) {
		uint64_t unit = test_rand(&rng) % UNITS;

		pthread_barrier_wait(&round_start);
		pthread_barrier_wait(&round_end);
		CHECK_EQ(atomic_load(&mismatches), 0);
		for (uint64_t p = 0; p < PAGES; p++)
			CHECK(*word(via_pmd, p) == last[p] && *word(via_pte, p) == last[p],
			      "round %d page %llu", round_no, (unsigned long long)p);
		switch (test_rand(&rng) % 4) {
		case 0:	/* a whole 2 MiB range: may come back as a 2 MiB hole */
			punch(f, unit * PMD_PAGES, PMD_PAGES);
			break;
		case 1:	/* part of one: its 2 MiB entry must go */
			punch(f, unit * PMD_PAGES + test_rand(&rng) % PMD_PAGES,
			      1 + test_rand(&rng) % 64);
			break;
		case 2: {	/* shrink into a range, grow back */
			uint64_t keep = unit * PMD_PAGES + test_rand(&rng) % PMD_PAGES;

			CHECK_EQ(udax_truncate(f, keep * PG), 0);
			CHECK_EQ(udax_truncate(f, FILE_BYTES), 0);
			for (uint64_t p = keep; p < PAGES; p++)
				last[p] = 0;
			break;
		}
		default:
			break;
		}
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK(st.faults_pmd > 0 && st.faults_pmd_fallback > 0, "2 MiB %llu, 4 KiB %llu",
	      (unsigned long long)st.faults_pmd, (unsigned long long)st.faults_pmd_fallback);
	CHECK_EQ(udax_munmap(via_pmd, FILE_BYTES), 0);
	CHECK_EQ(udax_munmap(via_pte, FILE_BYTES), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
