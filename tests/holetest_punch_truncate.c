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
#include <sys/mman.h>

#include "holetest.h"

#define PG HOLETEST_PG
#define PAGES HOLETEST_PAGES
#define ROUNDS 150

int main(void)
{
	struct udax_store_stat before, after;
	static struct holetest_writers w;
	struct udax_store *s;
	struct udax_file *f;
	uint64_t rng;
	char *map;

	test_init("holetest_punch_truncate", 240);
	test_install_sigbus_catcher();
	rng = test_seed;
	CHECK_EQ(udax_store_create(test_path("store"), 64ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_store_stat(s, &before), 0);
	CHECK_EQ(udax_open(s, "holes", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, PAGES * PG), 0);
	CHECK_EQ(udax_mmap(f, 0, PAGES * PG, PROT_READ | PROT_WRITE, (void **)&map), 0);

	holetest_writers_start(&w, map);
	holetest_rounds(f, ROUNDS, &rng);
	holetest_writers_stop(&w);

	/* A final marker in every page, then a punched range reads zeros. */
	for (uint64_t p = 0; p < PAGES; p++)
		map[p * PG] = holetest_marker(p, false);
	holetest_final_punch(s, f, before.blocks_free);
	for (uint64_t p = 0; p < PAGES; p++)
		CHECK(map[p * PG] == holetest_marker(p, true), "page %llu: mapping shows %d, want %d",
		      (unsigned long long)p, map[p * PG], holetest_marker(p, true));
	holetest_check_pread(f);
	CHECK_EQ(udax_munmap(map, PAGES * PG), 0);
	CHECK_EQ(udax_truncate(f, 0), 0);
	CHECK_EQ(udax_store_stat(s, &after), 0);
	CHECK_EQ(after.blocks_free, before.blocks_free);
	printf("%llu writes, %llu SIGBUS past EOF, %d punch/truncate rounds\n",
	       (unsigned long long)atomic_load(&w.writes),
	       (unsigned long long)atomic_load(&w.sigbuses), ROUNDS);
	CHECK(test_sigbus_seen_unarmed == 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
