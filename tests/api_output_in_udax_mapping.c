// SPDX-License-Identifier: MIT
/*
 * api_output_in_udax_mapping: every udax call that writes into a caller's
 * buffer is given a buffer that is itself an unfaulted udax mapping (of a
 * file of the same store, whose faults take the store's locks): readdir's
 * name, fstat's and store_stat's structures, open's and mmap's handle
 * outputs, pread's data (holes and blocks) and pwrite's source. Each call
 * completes (the watchdog catches a hang: the old readdir copied the name
 * under the store lock, and the fault on it waited for that lock) and
 * returns the same as with an ordinary buffer. Both delivery modes.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096ull

/* A fresh, unfaulted page of the "out" mapping for each call. */
static char *out_map;
static uint64_t out_next;

static void *fresh(void)
{
	return out_map + out_next++ * PG + PG - 64;	/* spans into the next page */
}

static void run(void *mode)
{
	struct udax_file_stat fs, *fsp;
	struct udax_store_stat ss, *ssp;
	struct udax_store *s;
	struct udax_file *f, *out, **fp;
	uint64_t cookie, data = 0x1234567890abcdefull;
	void **addr;
	char *name;

	setenv("UDAX_DELIVERY", mode, 1);
	unlink(test_path("store"));
	CHECK_EQ(udax_store_create(test_path("store"), 64ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(test_path("store"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "out", O_RDWR | O_CREAT, &out), 0);
	CHECK_EQ(udax_truncate(out, 256 * PG), 0);
	CHECK_EQ(udax_mmap(out, 0, 256 * PG, PROT_READ | PROT_WRITE | UDAX_MAP_PTE,
			   (void **)&out_map), 0);
	CHECK_EQ(udax_open(s, "data", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_pwrite(f, &data, 8, 3 * PG), 8);

	for (int round = 0; round < 2; round++) {
		bool found_data = false;

		cookie = 0;
		for (;;) {
			int ret;

			name = fresh();
			ret = udax_readdir(s, &cookie, name, UDAX_NAME_MAX + 1);
			CHECK(ret == 0 || ret == 1, "readdir: %d", ret);
			if (!ret)
				break;
			found_data |= strcmp(name, "data") == 0;
		}
		CHECK(found_data);
		fsp = fresh();
		CHECK_EQ(udax_fstat(f, fsp), 0);
		CHECK_EQ(udax_fstat(f, &fs), 0);
		CHECK_EQ(fsp->size, fs.size);
		CHECK_EQ(fsp->blocks, fs.blocks);
		ssp = fresh();
		CHECK_EQ(udax_store_stat(s, ssp), 0);
		CHECK_EQ(udax_store_stat(s, &ss), 0);
		CHECK_EQ(ssp->blocks_free, ss.blocks_free);
		CHECK_EQ(ssp->files, 2);
		fp = fresh();
		CHECK_EQ(udax_open(s, "data", O_RDONLY, fp), 0);
		CHECK_EQ(udax_close(*fp), 0);
		addr = fresh();
		CHECK_EQ(udax_mmap(f, 0, 4 * PG, PROT_READ, addr), 0);
		CHECK_EQ(*(uint64_t *)((char *)*addr + 3 * PG), data);
		CHECK_EQ(udax_munmap(*addr, 4 * PG), 0);
		name = fresh();
		CHECK_EQ(udax_pread(f, name, PG + 8, 2 * PG), (long long)(PG + 8));
		CHECK_EQ(*(uint64_t *)(name + PG), data);
		CHECK_EQ(*(uint64_t *)name, 0);
		name = fresh();
		CHECK_EQ(udax_pwrite(f, name, 64, 7 * PG), 64);
	}
	CHECK_EQ(udax_munmap(out_map, 256 * PG), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_close(out), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

int main(void)
{
	test_init("api_output_in_udax_mapping", 30);
	for (int m = 0; m < 2; m++)
		test_in_child(test_delivery_modes[m], run, (void *)test_delivery_modes[m]);
	test_pass();
}
