// SPDX-License-Identifier: MIT
/*
 * pmd_faults_aligned_extents: the kernel's ndctl dax.sh check for udax. A
 * file whose 2 MiB ranges are aligned, contiguous extents is read, written
 * and written again after fsync through a mapping: >= 99% of the faults are
 * 2 MiB faults and none falls back; every page holds what was written;
 * a dirty 2 MiB entry writes back 512 pages.
 * Then each case where the kernel falls back to 4 KiB falls back here too,
 * and counts it: a misaligned mapping, a range crossing EOF, a range
 * crossing the end of the mapping, a range that is not one extent, and a
 * range with 4 KiB entries already present (made through a UDAX_MAP_PTE
 * mapping). A write into holes allocates one aligned 2 MiB extent, and so
 * does udax_fallocate for each whole aligned range of holes.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096ull
#define PMD_PAGES 512ull
#define PMD_BYTES (PMD_PAGES * PG)
#define UNITS 32ull
#define FILE_BYTES (UNITS * PMD_BYTES)

static struct udax_store *s;

static uint64_t stamp(uint64_t page, uint64_t round)
{
	return (page * 0x9e3779b97f4a7c15ull) ^ round;
}

/* A file of aligned extents, written with pwrite: the allocator places
 * each block at its 2 MiB offset. */
static struct udax_file *make_extent_file(const char *name, uint64_t bytes)
{
	static char buf[PMD_BYTES];
	struct udax_file *f;

	CHECK_EQ(udax_open(s, name, O_RDWR | O_CREAT | O_TRUNC, &f), 0);
	for (uint64_t off = 0; off < bytes; off += PMD_BYTES) {
		for (uint64_t p = 0; p < PMD_PAGES; p++)
			memcpy(buf + p * PG, &(uint64_t){ stamp(off / PG + p, 0) }, 8);
		CHECK_EQ(udax_pwrite(f, buf, PMD_BYTES, off), (ssize_t)PMD_BYTES);
	}
	return f;
}

static void aligned_extents_all_pmd(void)
{
	struct udax_file *f = make_extent_file("aligned", FILE_BYTES);
	struct udax_file_stat a, b;
	uint64_t faults, pages = FILE_BYTES / PG;
	char *map;

	CHECK_EQ(udax_fsync(f), 0);
	CHECK_EQ(udax_mmap(f, 0, FILE_BYTES, PROT_READ | PROT_WRITE, (void **)&map), 0);
	a = test_file_stat(f);
	for (uint64_t p = 0; p < pages; p++)
		CHECK(*(uint64_t *)(map + p * PG) == stamp(p, 0), "page %llu", (unsigned long long)p);
	for (uint64_t p = 0; p < pages; p++)
		*(uint64_t *)(map + p * PG) = stamp(p, 1);
	b = test_file_stat(f);
	CHECK_EQ(b.dirty_pages, pages);
	CHECK_EQ(udax_fsync(f), 0);
	CHECK_EQ(test_file_stat(f).writeback_pages - b.writeback_pages, pages);
	for (uint64_t p = 0; p < pages; p++)	/* write-protected again: faults */
		*(uint64_t *)(map + p * PG) = stamp(p, 2);
	b = test_file_stat(f);
	faults = (b.faults_read + b.faults_write) - (a.faults_read + a.faults_write);
	CHECK(faults >= 3, "%llu faults", (unsigned long long)faults);
	CHECK(b.faults_pmd - a.faults_pmd >= faults * 99 / 100, "%llu of %llu faults were 2 MiB",
	      (unsigned long long)(b.faults_pmd - a.faults_pmd), (unsigned long long)faults);
	CHECK_EQ(b.faults_pmd_fallback - a.faults_pmd_fallback, 0);
	CHECK(b.faults_write - a.faults_write >= 2 * UNITS / 32, "write faults");
	CHECK_EQ(udax_munmap(map, FILE_BYTES), 0);

	/* What went through the mapping is in the file. */
	for (uint64_t p = 0; p < pages; p += 97) {
		uint64_t v;

		CHECK_EQ(udax_pread(f, &v, 8, p * PG), 8);
		CHECK_EQ(v, stamp(p, 2));
	}
	CHECK_EQ(udax_close(f), 0);
}

/* Touch every page of [map, map + len) for reading. */
static void read_all(const char *map, uint64_t len)
{
	volatile char sink;

	for (uint64_t off = 0; off < len; off += PG)
		sink = map[off];
	(void)sink;
}

static void fallbacks_where_the_kernel_falls_back(void)
{
	struct udax_file *f = make_extent_file("fallback", 4 * PMD_BYTES);
	struct udax_file_stat a, b;
	char *map, *pte;

	/* Misaligned: the file offset is not 2 MiB aligned in the mapping. */
	CHECK_EQ(udax_mmap(f, PG, 2 * PMD_BYTES, PROT_READ, (void **)&map), 0);
	a = test_file_stat(f);
	read_all(map, 2 * PMD_BYTES);
	b = test_file_stat(f);
	CHECK_EQ(b.faults_pmd - a.faults_pmd, 0);
	CHECK_EQ(b.faults_pmd_fallback - a.faults_pmd_fallback, 2 * PMD_PAGES);
	CHECK_EQ(udax_munmap(map, 2 * PMD_BYTES), 0);

	CHECK_EQ(udax_close(f), 0);	/* its 4 KiB entries go with it */

	/* Crossing the end of the mapping: 3 MiB maps one whole range. */
	f = make_extent_file("fallback", 4 * PMD_BYTES);
	CHECK_EQ(udax_mmap(f, 0, 3 * PMD_BYTES / 2, PROT_READ, (void **)&map), 0);
	a = test_file_stat(f);
	read_all(map, 3 * PMD_BYTES / 2);
	b = test_file_stat(f);
	CHECK_EQ(b.faults_pmd - a.faults_pmd, 1);
	CHECK_EQ(b.faults_pmd_fallback - a.faults_pmd_fallback, PMD_PAGES / 2);
	CHECK_EQ(udax_munmap(map, 3 * PMD_BYTES / 2), 0);
	CHECK_EQ(udax_close(f), 0);

	/* 4 KiB entries present: range 1 has one, made by a 4 KiB mapping. */
	f = make_extent_file("fallback", 4 * PMD_BYTES);
	CHECK_EQ(udax_mmap(f, 0, 4 * PMD_BYTES, PROT_READ | UDAX_MAP_PTE, (void **)&pte), 0);
	read_all(pte + PMD_BYTES + 5 * PG, PG);
	CHECK_EQ(udax_mmap(f, 0, 4 * PMD_BYTES, PROT_READ, (void **)&map), 0);
	a = test_file_stat(f);
	read_all(map + PMD_BYTES, PMD_BYTES);
	b = test_file_stat(f);
	CHECK_EQ(b.faults_pmd - a.faults_pmd, 0);
	CHECK_EQ(b.faults_pmd_fallback - a.faults_pmd_fallback, PMD_PAGES);
	/* ... and a 4 KiB fault meeting a 2 MiB entry uses it. */
	a = test_file_stat(f);
	read_all(map + 2 * PMD_BYTES, PG);
	read_all(pte + 2 * PMD_BYTES + 9 * PG, PG);
	CHECK_EQ(*(uint64_t *)(pte + 2 * PMD_BYTES + 9 * PG), stamp(2 * PMD_PAGES + 9, 0));
	b = test_file_stat(f);
	CHECK_EQ(b.faults_pmd - a.faults_pmd, 1);
	CHECK_EQ(b.faults_pmd_fallback - a.faults_pmd_fallback, 1);
	CHECK_EQ(udax_munmap(pte, 4 * PMD_BYTES), 0);
	CHECK_EQ(udax_munmap(map, 4 * PMD_BYTES), 0);

	/* Crossing EOF: the last range is 2 MiB + 4 KiB short of whole. */
	CHECK_EQ(udax_truncate(f, 3 * PMD_BYTES + PMD_BYTES / 2), 0);
	CHECK_EQ(udax_mmap(f, 0, 4 * PMD_BYTES, PROT_READ, (void **)&map), 0);
	a = test_file_stat(f);
	read_all(map + 3 * PMD_BYTES, PMD_BYTES / 2);
	b = test_file_stat(f);
	CHECK_EQ(b.faults_pmd - a.faults_pmd, 0);
	CHECK_EQ(b.faults_pmd_fallback - a.faults_pmd_fallback, PMD_PAGES / 2);
	CHECK_EQ(udax_munmap(map, 4 * PMD_BYTES), 0);

	/* Not one extent: range 0 loses a block in its middle. */
	CHECK_EQ(udax_punch_hole(f, 100 * PG, PG), 0);
	CHECK_EQ(udax_mmap(f, 0, PMD_BYTES, PROT_READ, (void **)&map), 0);
	a = test_file_stat(f);
	read_all(map, PMD_BYTES);
	b = test_file_stat(f);
	CHECK_EQ(b.faults_pmd - a.faults_pmd, 0);
	CHECK_EQ(b.faults_pmd_fallback - a.faults_pmd_fallback, PMD_PAGES);
	CHECK_EQ(b.faults_hole - a.faults_hole, 1);
	CHECK_EQ(udax_munmap(map, PMD_BYTES), 0);
	CHECK_EQ(udax_close(f), 0);
}

static void write_into_holes_allocates_an_extent(void)
{
	struct udax_file_stat a, b;
	struct udax_file *f;
	char *map;

	CHECK_EQ(udax_open(s, "holes", O_RDWR | O_CREAT | O_TRUNC, &f), 0);
	CHECK_EQ(udax_truncate(f, 8 * PMD_BYTES), 0);
	CHECK_EQ(udax_mmap(f, 0, 8 * PMD_BYTES, PROT_READ | PROT_WRITE, (void **)&map), 0);
	a = test_file_stat(f);
	map[5 * PMD_BYTES + 77 * PG] = 1;
	for (uint64_t off = 5 * PMD_BYTES; off < 6 * PMD_BYTES; off += PG)
		map[off + 1] = 2;
	b = test_file_stat(f);
	CHECK_EQ(b.blocks, PMD_PAGES);
	CHECK_EQ(b.faults_pmd - a.faults_pmd, 1);
	CHECK_EQ(b.faults_pmd_fallback - a.faults_pmd_fallback, 0);
	CHECK_EQ(udax_munmap(map, 8 * PMD_BYTES), 0);
	CHECK_EQ(udax_close(f), 0);
}

/* udax_fallocate: whole aligned 2 MiB ranges get extents (2 MiB faults),
 * the rest 4 KiB blocks; data stays; the size grows; zeros read back. */
static void fallocate_gives_extents(void)
{
	struct udax_file_stat a, b;
	struct udax_file *f;
	uint64_t v = 0;
	char *map;

	CHECK_EQ(udax_open(s, "falloc", O_RDWR | O_CREAT | O_TRUNC, &f), 0);
	CHECK_EQ(udax_pwrite(f, "data", 4, 3 * PMD_BYTES + 5), 4);
	CHECK_EQ(udax_fallocate(f, PG, 4 * PMD_BYTES + 2 * PG), 0);
	a = test_file_stat(f);
	CHECK_EQ(a.size, 4 * PMD_BYTES + 3 * PG);
	/* [1, 511] and [2048, 2050] as 4 KiB blocks, ranges 1-3 as extents
	 * (range 3 already had the pwrite's block: 4 KiB blocks there). */
	CHECK_EQ(a.blocks, 4 * PMD_PAGES + 2);
	CHECK_EQ(udax_pread(f, &v, 4, 3 * PMD_BYTES + 5), 4);
	CHECK_EQ(memcmp(&v, "data", 4), 0);
	CHECK_EQ(udax_mmap(f, 0, 4 * PMD_BYTES, PROT_READ, (void **)&map), 0);
	read_all(map + PMD_BYTES, 2 * PMD_BYTES);
	b = test_file_stat(f);
	CHECK_EQ(b.faults_pmd - a.faults_pmd, 2);
	CHECK_EQ(b.faults_pmd_fallback - a.faults_pmd_fallback, 0);
	CHECK_EQ(map[PMD_BYTES + 77], 0);
	CHECK_EQ(udax_munmap(map, 4 * PMD_BYTES), 0);
	CHECK_EQ(udax_close(f), 0);
}

int main(void)
{
	test_init("pmd_faults_aligned_extents", 120);
	test_install_sigbus_catcher();	/* any SIGBUS fails the test */
	CHECK_EQ(udax_store_create(test_path("store"), 256ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	aligned_extents_all_pmd();
	fallbacks_where_the_kernel_falls_back();
	write_into_holes_allocates_an_extent();
	fallocate_gives_extents();
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
