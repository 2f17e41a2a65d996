// SPDX-License-Identifier: MIT
/*
 * store_reopen_persists: files, sizes, names and bytes written through
 * pwrite and through mappings survive closing and reopening the store;
 * blocks are counted the same; the file table can hold its capacity of
 * files and refuses one more with -ENOSPC.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096
#define FILES 20

int main(void)
{
	struct udax_store_stat ss, ss2;
	struct udax_file_stat fs;
	struct udax_store *s;
	struct udax_file *f;
	char name[32], buf[64];
	uint64_t cookie = 0, rng;
	unsigned listed = 0;
	char list_name[UDAX_NAME_MAX + 1];
	char *map;

	test_init("store_reopen_persists", 120);
	rng = test_seed;
	CHECK_EQ(udax_store_create(test_path("store"), 64ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	for (int i = 0; i < FILES; i++) {
		uint64_t pages = 1 + test_rand(&rng) % 64;

		snprintf(name, sizeof(name), "file-%02d", i);
		CHECK_EQ(udax_open(s, name, O_RDWR | O_CREAT, &f), 0);
		CHECK_EQ(udax_truncate(f, pages * PG + (uint64_t)i), 0);
		CHECK_EQ(udax_mmap(f, 0, pages * PG, PROT_READ | PROT_WRITE, (void **)&map), 0);
		for (uint64_t p = 0; p < pages; p += 2)
			snprintf(map + p * PG, 64, "%s page %llu", name, (unsigned long long)p);
		CHECK_EQ(udax_munmap(map, pages * PG), 0);
		snprintf(buf, sizeof(buf), "%s tail", name);
		CHECK_EQ(udax_pwrite(f, buf, strlen(buf), pages * PG + (uint64_t)i), (ssize_t)strlen(buf));
		CHECK_EQ(udax_close(f), 0);
	}
	CHECK_EQ(udax_store_stat(s, &ss), 0);
	CHECK_EQ(udax_store_close(s), 0);

	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_store_stat(s, &ss2), 0);
	CHECK_EQ(ss2.files, FILES);
	CHECK_EQ(ss2.blocks_free, ss.blocks_free);
	rng = test_seed;
	while (udax_readdir(s, &cookie, list_name, sizeof(list_name)) == 1)
		listed++;
	CHECK_EQ(listed, FILES);
	for (int i = 0; i < FILES; i++) {
		uint64_t pages = 1 + test_rand(&rng) % 64;
		char want[64];

		snprintf(name, sizeof(name), "file-%02d", i);
		CHECK_EQ(udax_open(s, name, O_RDONLY, &f), 0);
		CHECK_EQ(udax_fstat(f, &fs), 0);
		snprintf(want, sizeof(want), "%s tail", name);
		CHECK_EQ(fs.size, pages * PG + (uint64_t)i + strlen(want));
		CHECK_EQ(fs.blocks, (pages + 1) / 2 + 1);
		CHECK_EQ(udax_mmap(f, 0, pages * PG, PROT_READ, (void **)&map), 0);
		for (uint64_t p = 0; p < pages; p++) {
			snprintf(want, sizeof(want), "%s page %llu", name, (unsigned long long)p);
			if (p % 2 == 0)
				CHECK(strcmp(map + p * PG, want) == 0, "%s page %llu", name,
				      (unsigned long long)p);
			else
				CHECK_EQ(map[p * PG], 0);
		}
		CHECK_EQ(udax_munmap(map, pages * PG), 0);
		CHECK_EQ(udax_pread(f, buf, sizeof(buf), pages * PG + (uint64_t)i),
			 (ssize_t)strlen(name) + 5);
		snprintf(want, sizeof(want), "%s tail", name);
		CHECK(memcmp(buf, want, strlen(want)) == 0);
		CHECK_EQ(udax_close(f), 0);
	}

	/* Fill the file table. */
	for (uint64_t i = FILES; i < ss2.files_max; i++) {
		snprintf(name, sizeof(name), "empty-%llu", (unsigned long long)i);
		CHECK_EQ(udax_open(s, name, O_RDWR | O_CREAT, &f), 0);
		CHECK_EQ(udax_close(f), 0);
	}
	CHECK_EQ(udax_open(s, "one-too-many", O_RDWR | O_CREAT, &f), -ENOSPC);
	CHECK_EQ(udax_store_close(s), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_store_stat(s, &ss2), 0);
	CHECK_EQ(ss2.files, ss2.files_max);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
