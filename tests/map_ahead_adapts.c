// SPDX-License-Identifier: MIT
/*
 * map_ahead_adapts: map-ahead follows the access pattern, as the kernel's
 * readahead does. A sequential pass over a file of aligned extents maps
 * ahead in windows that double up to 64 MiB: a handful of faults for the
 * whole file, most pages mapped ahead. The same file touched at one random
 * page per 2 MiB range, in a scattered order, maps no page ahead: one
 * 2 MiB fault per range. Two interleaved sequential streams keep their own windows. Every
 * page read holds the value written.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096ull
#define PMD_PAGES 512ull
#define PMD_BYTES (PMD_PAGES * PG)
#define UNITS 128ull		/* 256 MiB */
#define FILE_BYTES (UNITS * PMD_BYTES)

static struct udax_store *s;

/* The file, opened afresh: an empty page index, so every range faults. */
static struct udax_file *reopen(struct udax_file *f)
{
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR, &f), 0);
	return f;
}

static uint64_t word_at(const char *map, uint64_t page)
{
	uint64_t v;

	memcpy(&v, map + page * PG, sizeof(v));
	return v;
}

/* What the pwrites left: every 61st page holds its number, others zero. */
static uint64_t expected(uint64_t page)
{
	return page % 61 ? 0 : page;
}

int main(void)
{
	struct udax_file_stat a, b;
	struct udax_file *f;
	uint64_t order[UNITS], rng, faults;
	char *map;

	test_init("map_ahead_adapts", 120);
	test_install_sigbus_catcher();	/* any SIGBUS fails the test */
	rng = test_seed;
	CHECK_EQ(udax_store_create(test_path("store"), FILE_BYTES + (64ull << 20), 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_fallocate(f, 0, FILE_BYTES), 0);
	for (uint64_t p = 0; p < UNITS * PMD_PAGES; p += 61)
		CHECK_EQ(udax_pwrite(f, &p, sizeof(p), p * PG), (ssize_t)sizeof(p));

	/* Sequential: windows 1, 2, 4, ... 32 units. */
	f = reopen(f);
	CHECK_EQ(udax_mmap(f, 0, FILE_BYTES, PROT_READ, (void **)&map), 0);
	a = test_file_stat(f);
	for (uint64_t p = 0; p < UNITS * PMD_PAGES; p++)
		CHECK(word_at(map, p) == expected(p), "page %llu", (unsigned long long)p);
	b = test_file_stat(f);
	faults = b.faults_read - a.faults_read;
	CHECK(faults <= 10, "a sequential pass took %llu faults", (unsigned long long)faults);
	CHECK_EQ(b.faults_pmd - a.faults_pmd, faults);
	CHECK(b.pages_mapped_ahead - a.pages_mapped_ahead >= (UNITS - 10) * PMD_PAGES,
	      "%llu pages mapped ahead", (unsigned long long)(b.pages_mapped_ahead - a.pages_mapped_ahead));
	CHECK_EQ(udax_munmap(map, FILE_BYTES), 0);

	/* Scattered ranges, one page each: nothing mapped ahead. The order
	 * (a stride of 37 from a random start) never touches the range right
	 * after one of the last streams' ranges (37 * 45 = 1 mod 128), which
	 * would be a sequential hit. */
	for (uint64_t i = 0, start = test_rand(&rng) % UNITS; i < UNITS; i++)
		order[i] = (start + 37 * i) % UNITS;
	f = reopen(f);
	CHECK_EQ(udax_mmap(f, 0, FILE_BYTES, PROT_READ, (void **)&map), 0);
	a = test_file_stat(f);
	for (uint64_t i = 0; i < UNITS; i++) {
		uint64_t p = order[i] * PMD_PAGES + test_rand(&rng) % PMD_PAGES;

		CHECK_EQ(word_at(map, p), expected(p));
	}
	b = test_file_stat(f);
	CHECK_EQ(b.faults_read - a.faults_read, UNITS);
	CHECK_EQ(b.faults_pmd - a.faults_pmd, UNITS);
	CHECK_EQ(b.pages_mapped_ahead - a.pages_mapped_ahead, 0);
	CHECK_EQ(udax_munmap(map, FILE_BYTES), 0);

	/* Two interleaved sequential streams, each over its half. */
	f = reopen(f);
	CHECK_EQ(udax_mmap(f, 0, FILE_BYTES, PROT_READ, (void **)&map), 0);
	a = test_file_stat(f);
	for (uint64_t u = 0; u < UNITS / 2; u++) {
		uint64_t first = u * PMD_PAGES, second = (UNITS / 2 + u) * PMD_PAGES;

		CHECK_EQ(word_at(map, first), expected(first));
		CHECK_EQ(word_at(map, second), expected(second));
	}
	b = test_file_stat(f);
	faults = b.faults_read - a.faults_read;
	CHECK(faults <= 20, "two streams took %llu faults", (unsigned long long)faults);
	CHECK_EQ(udax_munmap(map, FILE_BYTES), 0);

	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
