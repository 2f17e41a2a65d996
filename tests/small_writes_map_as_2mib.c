// SPDX-License-Identifier: MIT
/*
 * small_writes_map_as_2mib: a file written with ordinary udax_pwrite calls
 * in 4 KiB, 64 KiB or 1 MiB pieces, sequentially or in a seeded random
 * order of 1 MiB pieces, is laid out in aligned 2 MiB extents whose page
 * cache is 2 MiB folios: read through a mapping, it is PMD-mapped
 * (FilePmdMapped in /proc/self/smaps covers nearly all of it) and served
 * by 2 MiB faults only, and every byte reads back. A lone 4 KiB write into
 * a fresh file away from its start costs one block, not 2 MiB.
 * Skips (77) where the host cannot show it: no /proc/self/smaps, THP
 * "never", or a host file system that does not give a plain host file
 * large folios (checked first with the kernel's own mmap).
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096ull
#define PMD_BYTES (512 * PG)
#define FILE_BYTES (16 * PMD_BYTES)

/* kB of FilePmdMapped in the VMAs inside [addr, addr + len); -1 if smaps
 * cannot be read. */
static long long pmd_mapped_kb(const char *addr, size_t len)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long start, end;
	long long total = 0, kb;
	bool inside = false;
	char line[512];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {	/* a VMA's first line */
			inside = (const char *)start >= addr && (const char *)end <= addr + len;
			continue;
		}
		if (inside && sscanf(line, "FilePmdMapped: %lld kB", &kb) == 1)
			total += kb;
	}
	fclose(f);
	return total;
}

static unsigned char byte_at(uint64_t off)
{
	return (unsigned char)((off / PG) * 131 + off % 251 + 1);
}

static void fill(char *buf, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)byte_at(off + i);
}

/* Whether the kernel itself PMD-maps a host file written in 2 MiB pieces
 * through a MADV_HUGEPAGE mapping: if not, large folios cannot be shown. */
static bool host_gives_large_folios(void)
{
	static char buf[PMD_BYTES];
	const char *path = test_path("host");
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	size_t len = 4 * PMD_BYTES;
	char *raw, *map;
	long long kb;

	CHECK(fd >= 0);
	memset(buf, 1, sizeof(buf));
	for (uint64_t off = 0; off < len; off += PMD_BYTES)
		CHECK_EQ(pwrite(fd, buf, PMD_BYTES, (off_t)off), (ssize_t)PMD_BYTES);
	raw = mmap(NULL, len + PMD_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(raw != MAP_FAILED);
	map = (char *)(((uintptr_t)raw + PMD_BYTES - 1) & ~(uintptr_t)(PMD_BYTES - 1));
	CHECK(mmap(map, len, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) == map);
	(void)madvise(map, len, MADV_HUGEPAGE);
	for (uint64_t off = 0; off < len; off += PG)
		CHECK_EQ(((volatile char *)map)[off], 1);
	kb = pmd_mapped_kb(map, len);
	munmap(raw, len + PMD_BYTES);
	close(fd);
	unlink(path);
	if (kb < 0)
		test_skip("no /proc/self/smaps");
	return kb > 0;
}

static void write_file(struct udax_file *f, size_t piece, bool shuffled)
{
	static char buf[1 << 20];
	uint64_t pieces = FILE_BYTES / piece, order[FILE_BYTES / (1 << 20)];
	uint64_t rng = test_seed;

	for (uint64_t i = 0; i < pieces && shuffled; i++)
		order[i] = i;
	for (uint64_t i = pieces - 1; shuffled && i > 0; i--) {
		uint64_t j = test_rand(&rng) % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (uint64_t i = 0; i < pieces; i++) {
		uint64_t off = (shuffled ? order[i] : i) * piece;

		fill(buf, off, piece);
		CHECK_EQ(udax_pwrite(f, buf, piece, off), (ssize_t)piece);
	}
}

static void check_mapped_as_2mib(struct udax_store *s, size_t piece, bool shuffled)
{
	struct udax_file_stat st;
	struct udax_file *f;
	long long kb;
	char *map;

	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT | O_TRUNC, &f), 0);
	write_file(f, piece, shuffled);
	CHECK_EQ(udax_fsync(f), 0);
	CHECK_EQ(udax_mmap(f, 0, FILE_BYTES, PROT_READ, (void **)&map), 0);
	for (uint64_t off = 0; off < FILE_BYTES; off += 997)
		CHECK((unsigned char)map[off] == byte_at(off), "piece %zu at %llu", piece,
		      (unsigned long long)off);
	kb = pmd_mapped_kb(map, FILE_BYTES);
	st = test_file_stat(f);
	/* Every page was touched: all 16 units mapped; allow one that the
	 * kernel maps with PTEs (a folio split under memory pressure). */
	CHECK(kb >= (long long)(FILE_BYTES - PMD_BYTES) / 1024,
	      "%s %zu-byte pieces: FilePmdMapped %lld kB of %llu kB",
	      shuffled ? "shuffled" : "sequential", piece, kb, FILE_BYTES / 1024);
	CHECK(st.faults_pmd > 0 && st.faults_pmd_fallback == 0,
	      "%zu-byte pieces: %llu 2 MiB faults, %llu fallbacks", piece,
	      (unsigned long long)st.faults_pmd, (unsigned long long)st.faults_pmd_fallback);
	CHECK_EQ(st.blocks, FILE_BYTES / PG);
	CHECK_EQ(udax_munmap(map, FILE_BYTES), 0);
	CHECK_EQ(udax_close(f), 0);
}

/* A lone small write away from the start of a fresh file. */
static void sparse_write_costs_a_block(struct udax_store *s)
{
	struct udax_file_stat st;
	struct udax_file *f;
	char page[PG];

	CHECK_EQ(udax_open(s, "sparse", O_RDWR | O_CREAT | O_TRUNC, &f), 0);
	fill(page, 5 * PMD_BYTES + 3 * PG, PG);
	CHECK_EQ(udax_pwrite(f, page, PG, 5 * PMD_BYTES + 3 * PG), (ssize_t)PG);
	st = test_file_stat(f);
	CHECK_EQ(st.blocks, 1);
	CHECK_EQ(udax_close(f), 0);
}

int main(void)
{
	static const size_t pieces[] = { 4096, 65536, 1 << 20 };
	struct udax_store *s;
	char mode[64] = "";
	FILE *thp;

	test_init("small_writes_map_as_2mib", 120);
	thp = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (thp && fgets(mode, sizeof(mode), thp) && strstr(mode, "[never]"))
		test_skip("transparent huge pages are disabled");
	if (thp)
		fclose(thp);
	if (!host_gives_large_folios())
		test_skip("the host file system gives a plain file no PMD-mapped large folios");
	CHECK_EQ(udax_store_create(test_path("store"), 8 * FILE_BYTES, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
		check_mapped_as_2mib(s, pieces[i], false);
	check_mapped_as_2mib(s, 1 << 20, true);
	sparse_write_costs_a_block(s);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
