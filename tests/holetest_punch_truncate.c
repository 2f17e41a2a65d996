// SPDX-License-Identifier: MIT
/*
 * holetest_punch_truncate: the kernel's holetest pattern. Writer threads
 * keep writing markers into random pages of a mapped file while another
 * thread punches holes and shrinks and regrows the file. Writes past EOF
 * raise SIGBUS (caught, counted) and nothing else fails: no crash, no hang
 * (watchdog), no stale block mapped after its page was punched. Then, with
 * the writers stopped: a punched range reads zeros through the mapping and
 * pread, the punched blocks are back in the store, a final marker in every
 * page survives, and truncating to 0 frees every block.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096
#define PAGES 1024
#define WRITERS 2
#define ROUNDS 150

static char *map;
static struct udax_file *f;
static _Atomic int stop;
static _Atomic uint64_t writes, sigbuses;

static void *writer(void *arg)
{
	uint64_t rng = test_seed ^ (uintptr_t)arg * 7919;

	while (!atomic_load(&stop)) {
		uint64_t p = test_rand(&rng) % PAGES;

		if (test_access_sigbus(map + p * PG + (uintptr_t)arg, true, 'w'))
			atomic_fetch_add(&sigbuses, 1);
		else
			atomic_fetch_add(&writes, 1);
	}
	return NULL;
}

int main(void)
{
	struct udax_store_stat before, after;
	struct udax_file_stat st;
	struct udax_store *s;
	pthread_t t[WRITERS];
	uint64_t rng;
	char buf[PG];

	test_init("holetest_punch_truncate", 240);
	test_install_sigbus_catcher();
	rng = test_seed;
	CHECK_EQ(udax_store_create(test_path("store"), 64ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_store_stat(s, &before), 0);
	CHECK_EQ(udax_open(s, "holes", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, PAGES * PG), 0);
	CHECK_EQ(udax_mmap(f, 0, PAGES * PG, PROT_READ | PROT_WRITE, (void **)&map), 0);

	for (uintptr_t i = 0; i < WRITERS; i++)
		CHECK(pthread_create(&t[i], NULL, writer, (void *)(i + 1)) == 0);
	for (int round = 0; round < ROUNDS; round++) {
		uint64_t a = test_rand(&rng) % PAGES, len = 1 + test_rand(&rng) % 64;

		if (round % 3 == 2) {	/* shrink, then grow back */
			CHECK_EQ(udax_truncate(f, a * PG + test_rand(&rng) % PG), 0);
			CHECK_EQ(udax_truncate(f, PAGES * PG), 0);
		} else {
			CHECK_EQ(udax_punch_hole(f, a * PG, len * PG), 0);
		}
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(t[i], NULL);
	CHECK(atomic_load(&writes) > 0);

	/* A final marker in every page, then a punched range reads zeros. */
	for (uint64_t p = 0; p < PAGES; p++)
		map[p * PG] = (char)(p % 250 + 1);
	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK_EQ(st.blocks, PAGES);
	CHECK_EQ(udax_punch_hole(f, 100 * PG, 50 * PG), 0);
	CHECK_EQ(udax_fstat(f, &st), 0);
	CHECK_EQ(st.blocks, PAGES - 50);
	CHECK_EQ(udax_store_stat(s, &after), 0);
	CHECK_EQ(after.blocks_free, before.blocks_free - (PAGES - 50));
	for (uint64_t p = 0; p < PAGES; p++) {
		char want = p >= 100 && p < 150 ? 0 : (char)(p % 250 + 1);

		CHECK(map[p * PG] == want, "page %llu: mapping shows %d, want %d",
		      (unsigned long long)p, map[p * PG], want);
		CHECK_EQ(udax_pread(f, buf, PG, p * PG), PG);
		CHECK(buf[0] == want, "page %llu: pread shows %d", (unsigned long long)p, buf[0]);
		if (want == 0)
			for (int k = 0; k < PG; k++)
				CHECK(buf[k] == 0, "punched page %llu byte %d", (unsigned long long)p, k);
	}
	CHECK_EQ(udax_munmap(map, PAGES * PG), 0);
	CHECK_EQ(udax_truncate(f, 0), 0);
	CHECK_EQ(udax_store_stat(s, &after), 0);
	CHECK_EQ(after.blocks_free, before.blocks_free);
	printf("%llu writes, %llu SIGBUS past EOF, %d punch/truncate rounds\n",
	       (unsigned long long)atomic_load(&writes), (unsigned long long)atomic_load(&sigbuses),
	       ROUNDS);
	CHECK(test_sigbus_seen_unarmed == 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
