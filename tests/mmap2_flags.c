// SPDX-License-Identifier: MIT
/*
 * mmap2_flags: udax_mmap2() takes UDAX_MAP_PTE and UDAX_MAP_SYNC in a flags
 * argument of its own and refuses them in prot; udax_mmap(), the call of
 * version 0.1, keeps taking them or'ed into prot and behaves the same.
 * Observed through the fault counters: a 2 MiB-aligned, written range of
 * the file maps with one 2 MiB fault, but with 4 KiB faults only under
 * UDAX_MAP_PTE.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define FILE_BYTES (4ull << 20)

/* Map the file as prot/flags say (udax_mmap2, or udax_mmap with the flags
 * in prot), read every page, and return the faults served with 2 MiB and
 * 4 KiB entries. */
static void read_all(struct udax_file *f, bool legacy, int flags, uint64_t *pmd,
		     uint64_t *pte)
{
	struct udax_file_stat before = test_file_stat(f), after;
	char *p;

	if (legacy)
		CHECK_EQ(udax_mmap(f, 0, FILE_BYTES, PROT_READ | flags, (void **)&p), 0);
	else
		CHECK_EQ(udax_mmap2(f, 0, FILE_BYTES, PROT_READ, flags, (void **)&p), 0);
	for (uint64_t off = 0; off < FILE_BYTES; off += 4096) {
		CHECK_EQ(p[off], 'a' + (char)(off >> 21));
	}
	after = test_file_stat(f);
	CHECK_EQ(udax_munmap(p, FILE_BYTES), 0);
	*pmd = after.faults_pmd - before.faults_pmd;
	*pte = after.faults_read - before.faults_read - *pmd;
}

int main(void)
{
	static char data[FILE_BYTES];
	struct udax_store *s;
	struct udax_file *f;
	uint64_t pmd, pte;
	void *map;

	test_init("mmap2_flags", 60);
	CHECK_EQ(udax_store_create(test_path("s"), 64ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("s"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	memset(data, 'a', FILE_BYTES / 2);
	memset(data + FILE_BYTES / 2, 'b', FILE_BYTES / 2);
	CHECK_EQ(udax_pwrite(f, data, FILE_BYTES, 0), (ssize_t)FILE_BYTES);

	read_all(f, false, 0, &pmd, &pte);
	CHECK(pmd >= 1 && pte == 0, "flags 0: %llu 2 MiB and %llu 4 KiB faults",
	      (unsigned long long)pmd, (unsigned long long)pte);
	read_all(f, false, UDAX_MAP_PTE, &pmd, &pte);
	CHECK(pmd == 0 && pte == FILE_BYTES / 4096, "UDAX_MAP_PTE: %llu 2 MiB, %llu 4 KiB",
	      (unsigned long long)pmd, (unsigned long long)pte);
	read_all(f, true, UDAX_MAP_PTE, &pmd, &pte);
	CHECK(pmd == 0 && pte == FILE_BYTES / 4096, "udax_mmap prot|UDAX_MAP_PTE: %llu, %llu",
	      (unsigned long long)pmd, (unsigned long long)pte);
	read_all(f, true, 0, &pmd, &pte);
	CHECK(pmd >= 1 && pte == 0, "udax_mmap prot: %llu 2 MiB and %llu 4 KiB faults",
	      (unsigned long long)pmd, (unsigned long long)pte);
	read_all(f, false, UDAX_MAP_SYNC | UDAX_MAP_PTE, &pmd, &pte);
	CHECK(pmd == 0 && pte == FILE_BYTES / 4096, "SYNC|PTE: %llu 2 MiB, %llu 4 KiB",
	      (unsigned long long)pmd, (unsigned long long)pte);

	/* The flags belong in flags only; unknown bits are refused. */
	CHECK_EQ(udax_mmap2(f, 0, 4096, PROT_READ | UDAX_MAP_PTE, 0, &map), -EINVAL);
	CHECK_EQ(udax_mmap2(f, 0, 4096, PROT_READ | UDAX_MAP_SYNC, 0, &map), -EINVAL);
	CHECK_EQ(udax_mmap2(f, 0, 4096, PROT_READ, MAP_SHARED, &map), -EINVAL);
	CHECK_EQ(udax_mmap2(f, 0, 4096, PROT_READ, -1, &map), -EINVAL);
	CHECK_EQ(udax_mmap2(f, 0, 4096, PROT_WRITE, 0, &map), -EINVAL);
	CHECK_EQ(udax_mmap(f, 0, 4096, PROT_READ | 0x08000000, &map), -EINVAL);
	CHECK_EQ(udax_mmap2(f, 0, 4096, PROT_READ, 0x08000000, &map), -EINVAL);
	/* UDAX_MAP_DONTFORK is a flag (fork_child_shares_mappings tests it). */
	CHECK_EQ(udax_mmap2(f, 0, 4096, PROT_READ, UDAX_MAP_DONTFORK | UDAX_MAP_PTE, &map), 0);
	CHECK_EQ(udax_munmap(map, 4096), 0);
	CHECK_EQ(udax_mmap(f, 0, 4096, PROT_READ | UDAX_MAP_DONTFORK, &map), 0);
	CHECK_EQ(udax_munmap(map, 4096), 0);
	CHECK_EQ(test_file_stat(f).mappings, 0);

	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
