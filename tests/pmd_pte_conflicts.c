// SPDX-License-Identifier: MIT
/*
 * pmd_pte_conflicts: the kernel's PMD-vs-PTE races ("Fix missed wakeup with
 * PMD faults", "Fix pmd vs pte conflict detection") as a stress test. One
 * file is mapped twice: with 2 MiB entries, and UDAX_MAP_PTE (4 KiB only).
 * THREADS threads write and read their own pages through either mapping at
 * random, so 2 MiB faults meet 4 KiB entries (locked or not) and 4 KiB
 * faults meet 2 MiB entries, holes of either size get replaced, and 2 MiB
 * hole entries get downgraded; sweeps in file order through the 2 MiB
 * mapping make map-ahead lock runs of entries among them. Between rounds
 * the main thread punches or
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
static struct {
	const char *what;
	uint64_t page, seen, want;
} first_mismatch;

/* Count a wrong read; the first one is kept for the failure message. */
static void mismatch(const char *what, uint64_t page, uint64_t seen, uint64_t want)
{
	if (atomic_fetch_add(&mismatches, 1) == 0)
		first_mismatch.what = what, first_mismatch.page = page,
		first_mismatch.seen = seen, first_mismatch.want = want;
}
static int round_no;
static bool pmd_round;	/* this round uses the 2 MiB mapping only */

static uint64_t *word(char *map, uint64_t page)
{
	return (uint64_t *)(map + page * PG + (page % 509) * 8);
}

/* Thread id owns, in each 2 MiB range, the pages at offsets id + k * THREADS
 * below PMD_PAGES / THREADS * THREADS. Return: the page after p of id. */
static uint64_t next_own_page(uint64_t p, uint64_t id)
{
	if (p % PMD_PAGES + THREADS >= PMD_PAGES / THREADS * THREADS)
		return (p / PMD_PAGES + 1) * PMD_PAGES + id;
	return p + THREADS;
}

static void *worker(void *arg)
{
	uint64_t id = (uintptr_t)arg, rng = test_seed * 31 + id;

	for (int r = 0; r < ROUNDS; r++) {
		pthread_barrier_wait(&round_start);
		if (pmd_round || test_rand(&rng) % 4 == 0) {	/* a sweep in file order */
			bool write = test_rand(&rng) & 1;

			for (uint64_t p = id; p < PAGES; p = next_own_page(p, id)) {
				if (write) {
					last[p] = ((uint64_t)round_no << 32) | 0xff00 | id | 1;
					*word(via_pmd, p) = last[p];
				} else if (*word(via_pmd, p) != last[p]) {
					mismatch("sweep read", p, *word(via_pmd, p), last[p]);
				}
			}
		}
		for (int op = 0; op < OPS; op++) {
			/* One of its pages, in a random 2 MiB range. */
			uint64_t p = (test_rand(&rng) % UNITS) * PMD_PAGES +
				     (test_rand(&rng) % (PMD_PAGES / THREADS)) * THREADS + id;
			bool pmd_first = test_rand(&rng) & 1;
			char *one = pmd_first || pmd_round ? via_pmd : via_pte;
			char *other = pmd_first && !pmd_round ? via_pte : via_pmd;

			if (test_rand(&rng) % 3 == 0) {	/* read */
				if (*word(one, p) != last[p])
					mismatch(pmd_first ? "read via 2 MiB" : "read via 4 KiB", p,
						 *word(one, p), last[p]);
				continue;
			}
			last[p] = ((uint64_t)round_no << 32) | (uint64_t)op << 8 | id | 1;
			*word(one, p) = last[p];
			if (*word(other, p) != last[p])
				mismatch(pmd_first ? "written via 2 MiB, read via 4 KiB"
						   : "written via 4 KiB, read via 2 MiB", p,
					 *word(other, p), last[p]);
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

		/* Every 4th round starts from a file of fresh extents and no
		 * entry, and goes through the 2 MiB mapping only: sweeps then
		 * map ahead, their windows meeting each other's locked entries. */
		pmd_round = round_no % 4 == 3;
		if (pmd_round) {
			punch(f, 0, PAGES);
			CHECK_EQ(udax_fallocate(f, 0, FILE_BYTES), 0);
		}
		pthread_barrier_wait(&round_start);
		pthread_barrier_wait(&round_end);
		CHECK(atomic_load(&mismatches) == 0, "round %d: %llu wrong reads, first: %s, page %llu "
		      "holds %#llx, expected %#llx", round_no,
		      (unsigned long long)atomic_load(&mismatches), first_mismatch.what,
		      (unsigned long long)first_mismatch.page, (unsigned long long)first_mismatch.seen,
		      (unsigned long long)first_mismatch.want);
		for (uint64_t p = 0; p < PAGES; p++)
			CHECK(*word(via_pmd, p) == last[p] && *word(via_pte, p) == last[p],
			      "round %d page %llu: %#llx through the 2 MiB mapping, %#llx through "
			      "the 4 KiB one, expected %#llx", round_no, (unsigned long long)p,
			      (unsigned long long)*word(via_pmd, p),
			      (unsigned long long)*word(via_pte, p), (unsigned long long)last[p]);
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
	CHECK(st.faults_pmd > 0 && st.faults_pmd_fallback > 0 && st.pages_mapped_ahead > 0,
	      "2 MiB %llu, 4 KiB %llu, mapped ahead %llu", (unsigned long long)st.faults_pmd,
	      (unsigned long long)st.faults_pmd_fallback,
	      (unsigned long long)st.pages_mapped_ahead);
	CHECK_EQ(udax_munmap(via_pmd, FILE_BYTES), 0);
	CHECK_EQ(udax_munmap(via_pte, FILE_BYTES), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
