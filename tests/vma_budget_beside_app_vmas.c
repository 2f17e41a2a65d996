// SPDX-License-Identifier: MIT
/*
 * vma_budget_beside_app_vmas: an application that itself holds more VMAs
 * than udax's budget (7/8 of vm.max_map_count), though the kernel has room
 * for thousands more, still gets its udax faults served without emptying
 * every mapping at each one: udax uses 1/16 of the limit beside the
 * application's VMAs, and keeps 1/32 free. Scattered writes then take a
 * handful of evictions, not one per fault (the old code evicted and
 * counted 58,000 VMAs at every fault: 43 ms each), every value reads back,
 * and the process stays 1/32 short of the limit.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096ull
#define FILE_BYTES (1ull << 32)
#define WRITES 3000ull

int main(void)
{
	uint64_t limit, want, have, pages, rng, peak = 0, *at;
	struct udax_file_stat st;
	struct udax_store *s;
	struct udax_file *f;
	char *region, *map;

	test_init("vma_budget_beside_app_vmas", 120);
	test_install_sigbus_catcher();	/* any SIGBUS fails the test */
	limit = test_vma_limit();
	/* The application's own: 7/8 of the limit and 1,000 more. */
	want = limit - limit / 8 + 1000;
	have = test_vma_count();
	pages = want - have + 2;	/* a VMA each: read-only, none, ... */
	region = mmap(NULL, pages * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		      -1, 0);
	CHECK(region != MAP_FAILED);
	for (uint64_t p = 1; p < pages; p += 2)
		CHECK(mprotect(region + p * PG, PG, PROT_READ) == 0, "page %llu",
		      (unsigned long long)p);
	CHECK_EQ(udax_store_create(test_path("store"), 256ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, FILE_BYTES), 0);
	CHECK_EQ(udax_mmap(f, 0, FILE_BYTES, PROT_READ | PROT_WRITE | UDAX_MAP_PTE, (void **)&map),
		 0);
	at = calloc(WRITES, sizeof(*at));
	CHECK(at != NULL);
	rng = test_seed;
	for (uint64_t i = 0; i < WRITES; i++) {
		at[i] = (test_rand(&rng) % (FILE_BYTES / PG / 2)) * 2 + 1;
		*(uint64_t *)(map + at[i] * PG) = at[i];
		if (i % 500 == 0) {
			uint64_t now = test_vma_count();

			peak = now > peak ? now : peak;
		}
	}
	for (uint64_t i = 0; i < WRITES; i++)
		CHECK(*(uint64_t *)(map + at[i] * PG) == at[i], "page %llu",
		      (unsigned long long)at[i]);
	st = test_file_stat(f);
	printf("application VMAs %llu, %llu scattered writes: %llu evictions, %llu VMAs at the "
	       "peak (limit %llu)\n", (unsigned long long)want, (unsigned long long)WRITES,
	       (unsigned long long)st.map_evictions, (unsigned long long)peak,
	       (unsigned long long)limit);
	CHECK(st.map_evictions <= 4, "%llu evictions for %llu writes",
	      (unsigned long long)st.map_evictions, (unsigned long long)WRITES);
	CHECK(peak <= limit - limit / 32 + 64, "%llu VMAs at the peak", (unsigned long long)peak);
	CHECK_EQ(udax_munmap(map, FILE_BYTES), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	free(at);
	test_pass();
}
