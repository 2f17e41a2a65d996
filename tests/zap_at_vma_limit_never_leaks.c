// SPDX-License-Identifier: MIT
/*
 * zap_at_vma_limit_never_leaks: when the application's own mappings have
 * taken the process to vm.max_map_count, a punch or truncate still unmaps
 * the pages it frees from every udax mapping, or fails and frees nothing.
 * The store is full, so the freed block is the next one allocated: another
 * file then writes its bytes there. The first file's mapping must read
 * zeros at the punched page and raise SIGBUS past the truncated EOF, never
 * the other file's bytes (the old code ignored the refused unmap, left the
 * page mapped and gave its block away). Both delivery modes, mappings with
 * 2 MiB entries and with 4 KiB ones (whose contiguous pages the kernel
 * merges into one VMA: unmapping one page in its middle needs two splits).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096ull
#define STORE_BYTES (8ull << 20)

/* Split a fresh anonymous region into VMAs until the kernel refuses one
 * more: the process is at vm.max_map_count. Return: the region. */
static char *fill_to_limit(size_t *len)
{
	size_t pages = 1 << 17;
	char *region = mmap(NULL, pages * PG, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	CHECK(region != MAP_FAILED);
	for (size_t p = 1; p < pages; p += 2) {
		if (mprotect(region + p * PG, PG, PROT_READ) != 0) {
			CHECK(errno == ENOMEM, "mprotect: %s", strerror(errno));
			*len = pages * PG;
			return region;
		}
	}
	CHECK(0, "never reached the VMA limit");
	return NULL;
}

static void scenario(bool truncate, int map_flags)
{
	struct udax_store_stat ss;
	struct udax_store *s;
	struct udax_file *a, *b;
	uint64_t pages, victim, size;
	size_t fill_len;
	char *map, *fill;
	int ret;

	unlink(test_path("store"));
	CHECK_EQ(udax_store_create(test_path("store"), STORE_BYTES, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_store_stat(s, &ss), 0);
	pages = ss.blocks_free;		/* the file takes the whole store */
	victim = pages / 2 + 3;
	CHECK_EQ(udax_open(s, "a", O_RDWR | O_CREAT, &a), 0);
	test_file_fill(a, 'a', pages);
	CHECK_EQ(udax_fsync(a), 0);
	CHECK_EQ(udax_mmap(a, 0, pages * PG, PROT_READ | PROT_WRITE | map_flags, (void **)&map), 0);
	for (uint64_t p = 0; p < pages; p++)	/* every page installed */
		CHECK_EQ(*(volatile uint64_t *)(map + p * PG), test_page_stamp('a', p));

	fill = fill_to_limit(&fill_len);
	if (truncate)
		ret = udax_truncate(a, victim * PG);
	else
		ret = udax_punch_hole(a, victim * PG, PG);
	CHECK(munmap(fill, fill_len) == 0);
	/* Done, refused (nothing freed), or done with its checkpoint refused
	 * (no memory for its buffers at the limit): never a freed block left
	 * mapped. The fsync commits whatever was freed. */
	CHECK(ret == 0 || ret == -ENOMEM, "%s: %d", truncate ? "truncate" : "punch", ret);
	CHECK_EQ(udax_fsync(a), 0);
	CHECK_EQ(udax_open(s, "b", O_RDWR | O_CREAT, &b), 0);
	CHECK_EQ(udax_store_stat(s, &ss), 0);
	CHECK(ret != 0 || ss.blocks_free >= 1, "the freed block is free");
	test_file_fill(b, 'b', ss.blocks_free);
	/* The mapping shows what the file holds, and the file holds its own
	 * bytes or, where the punch or truncate took effect, zeros. */
	size = test_file_stat(a).size;
	for (uint64_t p = 0; p < pages; p++) {
		uint64_t file = 0, mapped;

		if (p * PG >= size) {
			CHECK(test_access_sigbus(map + p * PG, false, 0),
			      "page %llu past the new EOF is still mapped", (unsigned long long)p);
			continue;
		}
		CHECK_EQ(udax_pread(a, &file, 8, p * PG), 8);
		CHECK(file == test_page_stamp('a', p) || (file == 0 && p == victim),
		      "page %llu holds %#llx", (unsigned long long)p, (unsigned long long)file);
		mapped = *(volatile uint64_t *)(map + p * PG);
		CHECK(mapped == file, "page %llu reads %#llx (file b's bytes: %d), the file %#llx",
		      (unsigned long long)p, (unsigned long long)mapped,
		      (mapped >> 56) == 'b', (unsigned long long)file);
	}
	if (truncate && ret == 0)
		CHECK_EQ(size, victim * PG);
	CHECK_EQ(udax_munmap(map, pages * PG), 0);
	CHECK_EQ(udax_close(a), 0);
	CHECK_EQ(udax_close(b), 0);
	CHECK_EQ(udax_store_close(s), 0);
	CHECK_EQ(udax_store_check(test_path("store"), 0), 0);
}

struct kind {
	const char *mode;
	bool truncate;
	int map_flags;
};

static void kind_run(void *arg)
{
	const struct kind *k = arg;

	setenv("UDAX_DELIVERY", k->mode, 1);
	test_install_sigbus_catcher();
	scenario(k->truncate, k->map_flags);
}

int main(void)
{
	test_init("zap_at_vma_limit_never_leaks", 120);
	for (int m = 0; m < 2; m++) {
		for (int kind = 0; kind < 4; kind++) {
			struct kind k = { test_delivery_modes[m], kind & 1,
					  kind & 2 ? UDAX_MAP_PTE : 0 };
			char what[96];

			snprintf(what, sizeof(what), "%s, %s, %s", k.mode,
				 k.truncate ? "truncate" : "punch",
				 k.map_flags ? "4 KiB entries" : "2 MiB entries");
			test_in_child(what, kind_run, &k);
		}
	}
	test_pass();
}
