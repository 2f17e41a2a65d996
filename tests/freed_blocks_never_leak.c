// SPDX-License-Identifier: MIT
/*
 * freed_blocks_never_leak: blocks freed by unlink, truncate and punch-hole
 * are reused by another file, and the new file never shows the old bytes:
 * through write faults (one byte written, the rest of the page must be
 * zero), through partial-page udax_pwrite, and through reads. The store is
 * small so that reuse is forced; blocks_free comes back after each free.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096

static struct udax_store *s;
static uint64_t capacity;

/* Fill a file with 0xAA over every free block of the store. */
static struct udax_file *fill_old(const char *name)
{
	struct udax_file *f;
	static char buf[64 * PG];
	uint64_t off = 0;

	memset(buf, 0xAA, sizeof(buf));
	CHECK_EQ(udax_open(s, name, O_RDWR | O_CREAT | O_TRUNC, &f), 0);
	while (off < capacity * PG) {
		uint64_t n = capacity * PG - off < sizeof(buf) ? capacity * PG - off : sizeof(buf);

		CHECK_EQ(udax_pwrite(f, buf, n, off), (ssize_t)n);
		off += n;
	}
	return f;
}

static void check_zero(const char *p, size_t len, const char *how, uint64_t page)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			test_fail(__FILE__, __LINE__, "%s: page %llu byte %zu shows old data 0x%02x",
				  how, (unsigned long long)page, i, (unsigned char)p[i]);
}

/* Allocate every block again in a new file and look for old bytes. */
static void reuse_and_check(const char *how, uint64_t rng)
{
	struct udax_store_stat ss;
	struct udax_file *g;
	char *map, buf[PG];

	CHECK_EQ(udax_store_stat(s, &ss), 0);
	CHECK_EQ(ss.blocks_free, capacity);
	CHECK_EQ(udax_open(s, "new", O_RDWR | O_CREAT | O_TRUNC, &g), 0);
	CHECK_EQ(udax_truncate(g, capacity * PG), 0);
	CHECK_EQ(udax_mmap(g, 0, capacity * PG, PROT_READ | PROT_WRITE, (void **)&map), 0);
	for (uint64_t p = 0; p < capacity; p++) {
		uint64_t at = test_rand(&rng) % PG;

		if (p % 2) {	/* write fault: one byte, the rest must be zero */
			map[p * PG + at] = 1;
			map[p * PG + at] = 0;
			check_zero(map + p * PG, PG, how, p);
		} else {	/* partial pwrite, then read the rest */
			CHECK_EQ(udax_pwrite(g, "", 1, p * PG + at), 1);
			CHECK_EQ(udax_pread(g, buf, PG, p * PG), PG);
			check_zero(buf, PG, how, p);
			check_zero(map + p * PG, PG, how, p);
		}
	}
	CHECK_EQ(udax_store_stat(s, &ss), 0);
	CHECK_EQ(ss.blocks_free, 0);
	CHECK_EQ(udax_munmap(map, capacity * PG), 0);
	CHECK_EQ(udax_close(g), 0);
	CHECK_EQ(udax_unlink(s, "new"), 0);
}

int main(void)
{
	struct udax_store_stat ss;
	struct udax_file *f;

	test_init("freed_blocks_never_leak", 120);
	CHECK_EQ(udax_store_create(test_path("store"), 8ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_store_stat(s, &ss), 0);
	capacity = ss.blocks_free;

	f = fill_old("old");
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_unlink(s, "old"), 0);
	reuse_and_check("after unlink", test_seed);

	f = fill_old("old");
	CHECK_EQ(udax_truncate(f, 0), 0);
	reuse_and_check("after truncate", test_seed + 1);
	CHECK_EQ(udax_close(f), 0);

	f = fill_old("old");
	CHECK_EQ(udax_punch_hole(f, 0, capacity * PG), 0);
	reuse_and_check("after punch", test_seed + 2);
	CHECK_EQ(udax_close(f), 0);

	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
