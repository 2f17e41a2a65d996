// SPDX-License-Identifier: MIT
/*
 * store_checkpoint_keeps_files_apart: file 'a' holds file blocks 0-2 in
 * store blocks 512-514; once no 2 MiB group is empty, file 'b' (the next
 * record of the file table)'s block 3
 * goes to the first free block, 515: contiguous with 'a''s extent in both
 * file offset and store block. The checkpoint must still record it as
 * 'b''s (it used to grow 'a''s last extent with it: after a reopen 'a'
 * had four blocks, 'b' none, and the store failed its check). The store
 * checks clean and each file reads back its own bytes.
 */
#include <fcntl.h>
#include <string.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096

static void put(struct udax_store *s, const char *name, char fill, uint64_t page, int pages)
{
	static char buf[3 * PG];
	struct udax_file *f;

	memset(buf, fill, sizeof(buf));
	CHECK_EQ(udax_open(s, name, O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_pwrite(f, buf, (size_t)pages * PG, page * PG), pages * PG);
	CHECK_EQ(udax_close(f), 0);
}

static void expect(struct udax_store *s, const char *name, char fill, uint64_t page, int pages)
{
	static char buf[3 * PG];
	struct udax_file *f;

	CHECK_EQ(udax_open(s, name, O_RDONLY, &f), 0);
	CHECK_EQ(test_file_stat(f).blocks, pages);
	CHECK_EQ(udax_pread(f, buf, (size_t)pages * PG, page * PG), pages * PG);
	for (int i = 0; i < pages * PG; i++)
		CHECK(buf[i] == fill, "file %s byte %d: %d", name, i, buf[i]);
	CHECK_EQ(udax_close(f), 0);
}

int main(void)
{
	const char *path;
	struct udax_store *s;

	test_init("store_checkpoint_keeps_files_apart", 30);
	path = test_path("store");
	/* 8 MiB: data blocks 512-2047, three 2 MiB groups. */
	CHECK_EQ(udax_store_create(path, 8ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(path, 0, &s), 0);
	put(s, "a", 'a', 0, 3);		/* group 0: blocks 512-514 */
	put(s, "b", 'b', 0, 0);		/* the next record of the table */
	put(s, "c", 'c', 0, 1);		/* group 1 */
	put(s, "d", 'd', 0, 1);		/* group 2: no group is empty now */
	put(s, "b", 'b', 3, 1);		/* the first free block: 515 */
	CHECK_EQ(udax_store_close(s), 0);
	CHECK_EQ(udax_store_check(path, 0), 0);
	CHECK(!strcmp(udax_strerror_detail(), ""), "%s", udax_strerror_detail());
	CHECK_EQ(udax_store_open(path, 0, &s), 0);
	expect(s, "a", 'a', 0, 3);
	expect(s, "b", 'b', 3, 1);
	expect(s, "c", 'c', 0, 1);
	expect(s, "d", 'd', 0, 1);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
