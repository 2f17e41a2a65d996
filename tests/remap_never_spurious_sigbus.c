// SPDX-License-Identifier: MIT
/*
 * remap_never_spurious_sigbus: a page whose block is already in the index
 * may fault again and again in one thread for good reasons (another
 * mapping of the file dirtied it, writeback write-protected it, an
 * eviction emptied the mapping); none of those may ever end in SIGBUS.
 * Two scenarios, each in both delivery modes (a child process per mode):
 *  - one file mapped twice; each round: fsync, a write through mapping 1
 *    in one thread, a write through mapping 2 in another (the second is
 *    a fault on an entry already dirty: "remapped");
 *  - one thread reads one page while another thread's sparse writes
 *    force evictions of every mapping (the application's own VMAs fill
 *    most of vm.max_map_count, so they come every few hundred faults).
 * A SIGBUS kills the child (test_install_sigbus_catcher) and fails the test.
 * The old code took 16 "remapped" faults in a row at one address for a
 * kernel-raised SIGBUS and delivered it.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096ull
#define ROUNDS 200
#define EVICTIONS_WANTED 20	/* more than the old code's 16 repeats */
#define SPARSE_BYTES (1ull << 36)

static char *map1, *map2, *sparse, *reader_page;
static _Atomic int stop;

/* Rounds are driven by `round`; each writer thread (the same thread every
 * round, as the remapped faults must come from one thread) writes its
 * mapping when its turn comes and reports with `done`. */
static _Atomic uint64_t round_now, done1, done2;

static void *writer(void *arg)
{
	bool second = arg != NULL;
	_Atomic uint64_t *done = second ? &done2 : &done1;

	for (uint64_t round = 1; round <= ROUNDS; round++) {
		while (atomic_load(&round_now) < round * 2 - !second)
			;
		if (second)
			__atomic_store_n((uint64_t *)(map2 + 3 * PG + 8), round, __ATOMIC_RELAXED);
		else
			__atomic_store_n((uint64_t *)(map1 + 3 * PG), round, __ATOMIC_RELAXED);
		atomic_store(done, round);
	}
	return NULL;
}

static void two_mappings(struct udax_store *s)
{
	static char data[16 * PG];
	struct udax_file *f;
	pthread_t a, b;

	memset(data, 0x5a, sizeof(data));
	CHECK_EQ(udax_open(s, "twice", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_pwrite(f, data, sizeof(data), 0), (long long)sizeof(data));
	CHECK_EQ(udax_mmap(f, 0, sizeof(data), PROT_READ | PROT_WRITE, (void **)&map1), 0);
	CHECK_EQ(udax_mmap(f, 0, sizeof(data), PROT_READ | PROT_WRITE, (void **)&map2), 0);
	pthread_create(&a, NULL, writer, NULL);
	pthread_create(&b, NULL, writer, (void *)1);
	for (uint64_t round = 1; round <= ROUNDS; round++) {
		CHECK_EQ(udax_fsync(f), 0);
		atomic_store(&round_now, round * 2 - 1);	/* mapping 1's turn */
		while (atomic_load(&done1) < round)
			;
		atomic_store(&round_now, round * 2);		/* mapping 2's turn */
		while (atomic_load(&done2) < round)
			;
		CHECK_EQ(*(uint64_t *)(map2 + 3 * PG), round);
		CHECK_EQ(*(uint64_t *)(map1 + 3 * PG + 8), round);
	}
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	CHECK_EQ(udax_munmap(map1, sizeof(data)), 0);
	CHECK_EQ(udax_munmap(map2, sizeof(data)), 0);
	CHECK_EQ(udax_close(f), 0);
}

/* Split an anonymous region into separate VMAs until the process has about
 * `want` of them (alternate pages PROT_READ / PROT_NONE never merge). */
static void fill_vmas(uint64_t want)
{
	uint64_t have = test_vma_count(), pages;
	char *region;

	if (have >= want)
		return;
	pages = want - have + 2;
	region = mmap(NULL, pages * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		      -1, 0);
	CHECK(region != MAP_FAILED);
	for (uint64_t p = 0; p < pages; p += 2)
		CHECK(mprotect(region + p * PG, PG, PROT_READ) == 0, "page %llu",
		      (unsigned long long)p);
}

static void *reader(void *arg)
{
	uint64_t sum = 0;

	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		sum += *(volatile uint64_t *)reader_page;
	return (void *)(uintptr_t)(sum == 1);
}

static void reads_during_evictions(struct udax_store *s, uint64_t seed)
{
	uint64_t limit = test_vma_limit(), rng = seed, value = 0x1122334455667788ull;
	struct udax_file *data, *big;
	struct udax_file_stat st;
	pthread_t t;

	CHECK_EQ(udax_open(s, "data", O_RDWR | O_CREAT, &data), 0);
	CHECK_EQ(udax_pwrite(data, &value, 8, 0), 8);
	CHECK_EQ(udax_mmap(data, 0, PG, PROT_READ, (void **)&reader_page), 0);
	CHECK_EQ(udax_open(s, "sparse", O_RDWR | O_CREAT, &big), 0);
	CHECK_EQ(udax_truncate(big, SPARSE_BYTES), 0);
	CHECK_EQ(udax_mmap(big, 0, SPARSE_BYTES, PROT_READ | PROT_WRITE | UDAX_MAP_PTE,
			   (void **)&sparse), 0);
	/* The application's own VMAs: all but ~2,000 of udax's budget. */
	fill_vmas(limit - limit / 8 - 2000);
	pthread_create(&t, NULL, reader, NULL);
	for (uint64_t i = 0; i < 400000; i++) {
		uint64_t page = (test_rand(&rng) % (SPARSE_BYTES / PG / 2)) * 2 + 1;

		sparse[page * PG] = 1;
		if (i % 256 == 0) {
			CHECK_EQ(udax_fstat(big, &st), 0);
			if (st.map_evictions >= EVICTIONS_WANTED)
				break;
		}
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	CHECK_EQ(udax_fstat(big, &st), 0);
	CHECK(st.map_evictions >= EVICTIONS_WANTED, "only %llu evictions",
	      (unsigned long long)st.map_evictions);
	CHECK_EQ(*(uint64_t *)reader_page, value);
}

struct scenario {
	const char *mode;
	int which;	/* 0: two mappings, 1: reads during evictions */
};

static void scenario_run(void *arg)
{
	const struct scenario *sc = arg;
	struct udax_store *s;
	const char *path = test_path(sc->which ? "store-evict" : "store-twice");

	setenv("UDAX_DELIVERY", sc->mode, 1);
	test_install_sigbus_catcher();	/* any SIGBUS: exit 99 */
	unlink(path);
	CHECK_EQ(udax_store_create(path, 512ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(path, 0, &s), 0);
	if (sc->which == 0)
		two_mappings(s);
	else
		reads_during_evictions(s, test_seed);
}

int main(void)
{
	test_init("remap_never_spurious_sigbus", 120);
	for (int m = 0; m < 2; m++) {
		for (int which = 0; which < 2; which++) {
			struct scenario sc = { test_delivery_modes[m], which };

			test_in_child(which ? "reads during evictions" : "two mappings",
				      scenario_run, &sc);
		}
	}
	test_pass();
}
