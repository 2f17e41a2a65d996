// SPDX-License-Identifier: MIT
/*
 * sparse_1tib_vma_budget: a 1 TiB sparse file mapped whole takes writes at
 * scattered pages, enough for two kernel VMAs each to pass
 * vm.max_map_count. The process never dies on the limit: udax empties its
 * mappings when the kernel refuses a VMA (map_evictions counts it) and
 * every page faults back in. Every written value reads back through the
 * mapping and through pread, and the process stays within udax's budget
 * (7/8 of the limit).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096ull
#define FILE_BYTES (1ull << 40)
#define WRITES_MAX 100000ull

static uint64_t stamp(uint64_t page)
{
	return page * 0x9e3779b97f4a7c15ull | 1;
}

static int by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	uint64_t limit = test_vma_limit();
	uint64_t writes = limit / 2 + 8192, *pages, rng, distinct = 0, peak = 0;
	struct udax_file_stat st;
	struct udax_store *s;
	struct udax_file *f;
	char *map;

	test_init("sparse_1tib_vma_budget", 300);
	test_install_sigbus_catcher();	/* any SIGBUS fails the test */
	rng = test_seed;
	if (writes > WRITES_MAX)
		writes = WRITES_MAX;
	pages = malloc(writes * sizeof(*pages));
	CHECK(pages != NULL);
	for (uint64_t i = 0; i < writes; i++)	/* odd pages: never neighbours */
		pages[i] = (test_rand(&rng) % (FILE_BYTES / PG / 2)) * 2 + 1;
	qsort(pages, writes, sizeof(*pages), by_value);
	for (uint64_t i = 0; i < writes; i++)
		if (!distinct || pages[i] != pages[distinct - 1])
			pages[distinct++] = pages[i];
	/* Shuffle, so that neighbouring store blocks are not neighbours. */
	for (uint64_t i = distinct - 1; i > 0; i--) {
		uint64_t j = test_rand(&rng) % (i + 1), t = pages[i];

		pages[i] = pages[j];
		pages[j] = t;
	}

	CHECK_EQ(udax_store_create(test_path("store"), 2ull << 30, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "huge", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, FILE_BYTES), 0);
	CHECK_EQ(udax_mmap(f, 0, FILE_BYTES, PROT_READ | PROT_WRITE, (void **)&map), 0);
	for (uint64_t i = 0; i < distinct; i++) {
		*(uint64_t *)(map + pages[i] * PG) = stamp(pages[i]);
		/* udax keeps its budget (7/8 of the limit; a few VMAs of
		 * slack for the test's own mappings), short of the kernel's
		 * limit, where even emptying a mapping fails. */
		if (i % 2048 == 0)
			peak = test_vma_count() > peak ? test_vma_count() : peak;
	}
	CHECK(peak <= limit - limit / 8 + 64, "%llu VMAs at the peak, limit %llu",
	      (unsigned long long)peak, (unsigned long long)limit);
	for (uint64_t i = 0; i < distinct; i++)
		CHECK(*(uint64_t *)(map + pages[i] * PG) == stamp(pages[i]), "page %llu",
		      (unsigned long long)pages[i]);
	CHECK_EQ(udax_fstat(f, &st), 0);
	if (2 * distinct > limit)
		CHECK(st.map_evictions > 0, "%llu VMAs' worth of writes, no eviction",
		      (unsigned long long)(2 * distinct));
	printf("%llu scattered pages written, %llu blocks, %llu evictions, %llu VMAs at the "
	       "peak (limit %llu)\n", (unsigned long long)distinct, (unsigned long long)st.blocks,
	       (unsigned long long)st.map_evictions, (unsigned long long)peak,
	       (unsigned long long)limit);
	CHECK_EQ(udax_munmap(map, FILE_BYTES), 0);
	for (uint64_t i = 0; i < distinct; i += 7) {
		uint64_t v;

		CHECK_EQ(udax_pread(f, &v, 8, pages[i] * PG), 8);
		CHECK_EQ(v, stamp(pages[i]));
	}
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	free(pages);
	test_pass();
}
