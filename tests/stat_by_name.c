// SPDX-License-Identifier: MIT
/*
 * stat_by_name: udax_stat() gives a file's size, blocks, extents and 2 MiB
 * extents by name, without opening it, agreeing with udax_fstat() and with
 * what was written: a file written in one piece into an empty store is
 * whole 2 MiB extents; a punched page splits one; an open file's size is
 * its handles' (ahead of the store's checkpoint); users counts handles and
 * mappings; a read-only store answers too.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define MIB (1ull << 20)

static struct udax_stat stat_of(struct udax_store *s, const char *name)
{
	struct udax_stat st;

	memset(&st, 0xff, sizeof(st));
	CHECK_EQ(udax_stat(s, name, &st), 0);
	for (unsigned i = 0; i < sizeof(st.spare) / sizeof(st.spare[0]); i++)
		CHECK_EQ(st.spare[i], 0);
	return st;
}

int main(void)
{
	static char data[8 * MIB];
	struct udax_stat st, before;
	struct udax_store *s;
	struct udax_file *f;
	void *map;

	test_init("stat_by_name", 60);
	CHECK_EQ(udax_store_create(test_path("s"), 64 * MIB, 0), 0);
	CHECK_EQ(udax_store_open(test_path("s"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	st = stat_of(s, "f");
	CHECK(st.size == 0 && st.blocks == 0 && st.extents == 0 && st.extents_2mib == 0);
	CHECK_EQ(st.users, 1);

	/* One piece of 8 MiB, size not yet checkpointed: the handle's size. */
	memset(data, 'd', sizeof(data));
	CHECK_EQ(udax_pwrite(f, data, sizeof(data), 0), (ssize_t)sizeof(data));
	st = stat_of(s, "f");
	CHECK_EQ(st.size, 8 * MIB);
	CHECK_EQ(st.blocks, 8 * MIB / 4096);
	CHECK_EQ(st.blocks, test_file_stat(f).blocks);
	CHECK_EQ(st.extents_2mib, 4);
	CHECK(st.extents >= 1 && st.extents <= 4, "%llu extents", (unsigned long long)st.extents);
	before = st;

	/* A punched page in the second 2 MiB: that extent is no longer whole,
	 * and the run around the hole is two extents. */
	CHECK_EQ(udax_punch_hole(f, 3 * MIB, 4096), 0);
	st = stat_of(s, "f");
	CHECK_EQ(st.blocks, before.blocks - 1);
	CHECK_EQ(st.extents_2mib, 3);
	CHECK_EQ(st.extents, before.extents + 1);

	/* users: handles and mappings of this process. */
	CHECK_EQ(udax_mmap2(f, 0, 2 * MIB, PROT_READ, 0, &map), 0);
	CHECK_EQ(stat_of(s, "f").users, 2);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(stat_of(s, "f").users, 1);
	CHECK_EQ(udax_munmap(map, 2 * MIB), 0);
	st = stat_of(s, "f");
	CHECK_EQ(st.users, 0);
	CHECK_EQ(st.size, 8 * MIB);

	CHECK_EQ(udax_stat(s, "g", &st), -ENOENT);
	CHECK_EQ(udax_stat(s, "a//b", &st), -EINVAL);
	CHECK_EQ(udax_stat(s, "f/b", &st), -ENOTDIR);
	CHECK_EQ(udax_stat(s, "g/b", &st), -ENOENT);
	CHECK_EQ(udax_stat(s, "f", NULL), -EINVAL);
	CHECK_EQ(udax_stat(NULL, "f", &st), -EINVAL);
	CHECK_EQ(udax_store_close(s), 0);

	/* A read-only store: the same figures from the checkpoint. */
	CHECK_EQ(udax_store_open(test_path("s"), UDAX_STORE_RDONLY, &s), 0);
	before = st;
	st = stat_of(s, "f");
	CHECK(!memcmp(&st, &before, sizeof(st)), "read-only store: other figures");
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
