// SPDX-License-Identifier: MIT
/*
 * store_two_handles_one_process: one process opens a store twice (shared,
 * the default of udax_store_open): the two handles are two members of the
 * store's region, as two processes would be, and each file still has one
 * page cache.
 *  1. An exclusive opener is refused while they are open.
 *  2. Two threads, one per handle, write their tags into every page of a
 *     file at once through their own mappings, in one seeded order: each
 *     page ends with one block and both tags, and each handle's mapping
 *     shows the other's writes.
 *  3. A punch through one handle unmaps the pages in the other's mapping:
 *     they read zeros there, and a write there lands in a block of the
 *     file (pread through the first handle sees it).
 *     Both handles count the same index memory: the region's.
 *  4. A file removed through one handle while the other has it open stays
 *     readable through that one, unlisted; its last close frees its block.
 *     So does one replaced by a rename: the other handle reads the old
 *     data, the name the new.
 *  5. Both close; the store checks clean and holds the last writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "test_util.h"
#include "udax.h"

#define PAGES 2048u		/* 8 MiB */
#define PAGE 4096u
#define FILE_BYTES ((uint64_t)PAGES * PAGE)

struct writer {
	uint8_t *map;
	unsigned tag;		/* 1 or 2: the byte at offset tag of a page */
	uint64_t seed;
};

/* Every page once, in an order from the seed: the tag at offset tag. */
static void *write_pages(void *arg)
{
	struct writer *w = arg;
	static unsigned order[2][PAGES];
	unsigned *o = order[w->tag - 1];
	uint64_t rng = w->seed;

	for (unsigned i = 0; i < PAGES; i++)
		o[i] = i;
	for (unsigned i = PAGES - 1; i > 0; i--) {
		unsigned j = (unsigned)(test_rand(&rng) % (i + 1));
		unsigned t = o[i];

		o[i] = o[j];
		o[j] = t;
	}
	for (unsigned i = 0; i < PAGES; i++)
		w->map[(size_t)o[i] * PAGE + w->tag] = (uint8_t)w->tag;
	return NULL;
}

int main(void)
{
	struct udax_store *a, *b, *x;
	struct udax_file *fa, *fb, *ga, *gb;
	struct writer wa, wb;
	struct udax_store_stat sa, sb;
	struct udax_stat st;
	pthread_t ta, tb;
	uint8_t *ma, *mb;
	const char *path;
	char buf[4];

	test_init("store_two_handles_one_process", 60);
	path = test_path("store");
	CHECK_EQ(udax_store_create(path, 64ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(path, 0, &a), 0);
	CHECK_EQ(udax_store_open(path, 0, &b), 0);
	CHECK_EQ(udax_store_open(path, UDAX_STORE_EXCLUSIVE, &x), -EBUSY);

	CHECK_EQ(udax_open(a, "f", O_RDWR | O_CREAT, &fa), 0);
	CHECK_EQ(udax_truncate(fa, FILE_BYTES), 0);
	CHECK_EQ(udax_open(b, "f", O_RDWR, &fb), 0);
	CHECK_EQ(udax_mmap(fa, 0, FILE_BYTES, PROT_READ | PROT_WRITE, (void **)&ma), 0);
	CHECK_EQ(udax_mmap(fb, 0, FILE_BYTES, PROT_READ | PROT_WRITE, (void **)&mb), 0);

	/* 2: both handles' first writes race on every page. */
	wa = (struct writer){ ma, 1, test_seed };
	wb = (struct writer){ mb, 2, test_seed * 31 + 7 };
	CHECK_EQ(pthread_create(&ta, NULL, write_pages, &wa), 0);
	CHECK_EQ(pthread_create(&tb, NULL, write_pages, &wb), 0);
	CHECK_EQ(pthread_join(ta, NULL), 0);
	CHECK_EQ(pthread_join(tb, NULL), 0);
	for (unsigned p = 0; p < PAGES; p++) {
		size_t at = (size_t)p * PAGE;

		CHECK(ma[at + 1] == 1 && ma[at + 2] == 2 && mb[at + 1] == 1 && mb[at + 2] == 2,
		      "page %u: %u %u through a, %u %u through b", p, ma[at + 1], ma[at + 2],
		      mb[at + 1], mb[at + 2]);
	}
	CHECK_EQ(udax_stat(a, "f", &st), 0);
	CHECK_EQ(st.blocks, (uint64_t)PAGES);
	/* The indexes are the region's: both handles count them, the
	 * block map of PAGES blocks at least (a leaf per 64). */
	CHECK_EQ(udax_store_stat(a, &sa), 0);
	CHECK_EQ(udax_store_stat(b, &sb), 0);
	CHECK(sa.index_bytes == sb.index_bytes && sa.index_bytes >= PAGES / 64 * 512,
	      "index bytes %llu and %llu", (unsigned long long)sa.index_bytes,
	      (unsigned long long)sb.index_bytes);

	/* 3: a punch through a reaches b's mapping. */
	CHECK_EQ(udax_punch_hole(fa, 0, 2 * PAGE), 0);
	CHECK(mb[1] == 0 && mb[2] == 0 && mb[PAGE + 2] == 0, "b still shows punched pages");
	mb[PAGE + 3] = 'z';
	CHECK_EQ(udax_pread(fa, buf, 1, PAGE + 3), 1);
	CHECK_EQ(buf[0], 'z');

	/* 4: open through b: a removes it, b keeps reading it; b's close
	 * frees its block (released by the next checkpoint: the fsync). */
	CHECK_EQ(udax_munmap(ma, FILE_BYTES), 0);
	CHECK_EQ(udax_close(fa), 0);
	CHECK_EQ(udax_open(a, "g", O_RDWR | O_CREAT, &ga), 0);
	CHECK_EQ(udax_pwrite(ga, "gone", 4, 0), 4);
	CHECK_EQ(udax_open(b, "g", O_RDONLY, &gb), 0);
	CHECK_EQ(udax_close(ga), 0);
	CHECK_EQ(udax_unlink(a, "g"), 0);
	CHECK_EQ(udax_open(a, "g", O_RDONLY, &ga), -ENOENT);
	CHECK_EQ(udax_pread(gb, buf, 4, 0), 4);
	CHECK(memcmp(buf, "gone", 4) == 0, "the removed file's data through b");
	CHECK_EQ(udax_store_stat(a, &sa), 0);
	CHECK_EQ(udax_close(gb), 0);
	CHECK_EQ(udax_fsync(fb), 0);
	CHECK_EQ(udax_store_stat(a, &sb), 0);
	CHECK(sb.blocks_free == sa.blocks_free + 1, "blocks free %llu, then %llu",
	      (unsigned long long)sa.blocks_free, (unsigned long long)sb.blocks_free);
	CHECK_EQ(udax_open(a, "h", O_RDWR | O_CREAT, &ga), 0);
	CHECK_EQ(udax_pwrite(ga, "old!", 4, 0), 4);
	CHECK_EQ(udax_open(b, "h", O_RDONLY, &gb), 0);
	CHECK_EQ(udax_close(ga), 0);
	CHECK_EQ(udax_open(a, "h2", O_RDWR | O_CREAT, &ga), 0);
	CHECK_EQ(udax_pwrite(ga, "new!", 4, 0), 4);
	CHECK_EQ(udax_close(ga), 0);
	CHECK_EQ(udax_rename(a, "h2", "h"), 0);
	CHECK_EQ(udax_pread(gb, buf, 4, 0), 4);
	CHECK(memcmp(buf, "old!", 4) == 0, "the replaced file's data through b");
	CHECK_EQ(udax_close(gb), 0);
	CHECK_EQ(udax_open(a, "h", O_RDONLY, &ga), 0);
	CHECK_EQ(udax_pread(ga, buf, 4, 0), 4);
	CHECK(memcmp(buf, "new!", 4) == 0, "the new file's data under the name");
	CHECK_EQ(udax_close(ga), 0);
	CHECK_EQ(udax_munmap(mb, FILE_BYTES), 0);
	CHECK_EQ(udax_close(fb), 0);

	/* 5: both close: what the last writes left is in the store. */
	CHECK_EQ(udax_store_close(b), 0);
	CHECK_EQ(udax_store_close(a), 0);
	CHECK_EQ(udax_store_check(path, 0), 0);
	CHECK_EQ(udax_store_open(path, UDAX_STORE_RDONLY | UDAX_STORE_EXCLUSIVE, &x), 0);
	CHECK_EQ(udax_open(x, "f", O_RDONLY, &fa), 0);
	CHECK_EQ(udax_pread(fa, buf, 4, PAGE), 4);
	CHECK(buf[1] == 0 && buf[2] == 0 && buf[3] == 'z', "page 1 after the close");
	CHECK_EQ(udax_pread(fa, buf, 3, 5 * PAGE), 3);
	CHECK(buf[1] == 1 && buf[2] == 2, "page 5 after the close");
	CHECK_EQ(udax_close(fa), 0);
	CHECK_EQ(udax_store_close(x), 0);
	test_pass();
}
