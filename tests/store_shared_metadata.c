// SPDX-License-Identifier: MIT
/*
 * store_shared_metadata: four processes load one store at once
 * (store_load_shared, issue 14 stage 2) and change its metadata together:
 * each allocates, frees and checkpoints in a file of its own, and all of
 * them allocate the pages of one common file in the same order at the
 * same time, so that they often race for one hole. A block is never given
 * to two pages (each page's block holds the page's tag); two processes
 * allocating the same page of the common file both get the one block,
 * neither an error (store_map_insert's -EEXIST: a second block named
 * over the first fails this); a process sees the files the others made; the
 * free counts agree with the maps. Afterwards the store checks clean and
 * the public API reads every file as the processes left it. Seeded.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store_shared_test.h"
#include "udax.h"

#define PROCS 4
#define OWN_PAGES 2048u		/* 8 MiB window of each own file */
#define COMMON_PAGES 4096u
#define OPS 6000

struct shared {
	_Atomic uint64_t common[COMMON_PAGES];	/* block of each common page */
	_Atomic uint64_t own_blocks[PROCS];	/* blocks each own file ends with */
	_Atomic uint32_t ready;			/* processes that made their file */
	_Atomic uint32_t ckpts;
};

static struct shared *sh;
static const char *path;

static uint64_t tag_of(uint32_t file, uint64_t page)
{
	return (uint64_t)file << 40 | page | 1ull << 63;
}

static void tag_write(struct store *s, uint64_t block, uint64_t tag)
{
	CHECK_EQ(pwrite(s->fd, &tag, sizeof(tag), (off_t)store_block_offset(block)),
		 (ssize_t)sizeof(tag));
}

static uint64_t tag_read(struct store *s, uint64_t block)
{
	uint64_t tag = 0;

	CHECK_EQ(pread(s->fd, &tag, sizeof(tag), (off_t)store_block_offset(block)),
		 (ssize_t)sizeof(tag));
	return tag;
}


/* The slot of name, made if missing. */
static int file_get(struct store *s, const char *name)
{
	int slot;

	store_lock(s);
	slot = __store_child_find(s, STORE_PARENT_ROOT, name);
	if (slot < 0)
		slot = __store_file_create(s, STORE_PARENT_ROOT, name, STORE_TYPE_FILE);
	store_unlock(s);
	CHECK(slot >= 0, "file %s: %d", name, slot);
	return slot;
}

static void worker(unsigned me, uint64_t seed)
{
	static uint64_t own[OWN_PAGES];
	struct store *s;
	uint64_t rng = seed * 977 + me, blocks = 0, next_common = 0;
	char name[16];
	int slot, common;

	s = store_shared_test_load(path);
	snprintf(name, sizeof(name), "own%u", me);
	slot = file_get(s, name);
	common = file_get(s, "common");
	atomic_fetch_add(&sh->ready, 1);
	while (atomic_load(&sh->ready) < PROCS)
		sched_yield();
	/* Every process sees the files the others made. */
	for (unsigned p = 0; p < PROCS; p++) {
		snprintf(name, sizeof(name), "own%u", p);
		store_lock(s);
		CHECK(__store_child_find(s, STORE_PARENT_ROOT, name) >= 0, "own%u unseen", p);
		store_unlock(s);
	}
	for (unsigned op = 0; op < OPS; op++) {
		uint64_t r = test_rand(&rng), page;
		int64_t block;

		switch (r % 8) {
		case 0: case 1: case 2:	/* a page of the own file */
			page = (r >> 8) % OWN_PAGES;
			block = store_get_block(s, slot, page, STORE_ALLOCATE);
			CHECK(block > 0, "own page %llu: %lld", (unsigned long long)page,
			      (long long)block);
			if (own[page]) {
				CHECK_EQ((uint64_t)block, own[page]);
			} else {
				own[page] = (uint64_t)block;
				tag_write(s, (uint64_t)block, tag_of((uint32_t)slot, page));
				blocks++;
			}
			break;
		case 3: case 4: case 5: {	/* a page of the common file */
			uint64_t expect = 0;

			page = next_common++ % COMMON_PAGES;
			block = store_get_block(s, common, page, STORE_ALLOCATE);
			CHECK(block > 0, "common page %llu: %lld", (unsigned long long)page,
			      (long long)block);
			if (atomic_compare_exchange_strong(&sh->common[page], &expect,
							   (uint64_t)block))
				tag_write(s, (uint64_t)block, tag_of((uint32_t)common, page));
			else
				CHECK_EQ((uint64_t)block, expect);
			break;
		}
		case 6: {	/* punch a run of the own file */
			uint64_t first = (r >> 8) % OWN_PAGES, last = first + (r >> 24) % 64;

			if (last >= OWN_PAGES)
				last = OWN_PAGES - 1;
			store_free_range(s, slot, first, last);
			for (uint64_t p = first; p <= last; p++) {
				blocks -= own[p] != 0;
				own[p] = 0;
			}
			break;
		}
		default:
			if ((r >> 8) % 16 == 0) {
				CHECK_EQ(store_checkpoint(s), 0);
				atomic_fetch_add(&sh->ckpts, 1);
			}
			break;
		}
	}
	/* The own file is exactly what this process made, each block its tag. */
	for (uint64_t page = 0; page < OWN_PAGES; page++) {
		int64_t block = store_get_block(s, slot, page, STORE_LOOKUP);

		CHECK_EQ((uint64_t)block, own[page]);
		if (block)
			CHECK_EQ(tag_read(s, (uint64_t)block), tag_of((uint32_t)slot, page));
	}
	store_lock(s);
	CHECK_EQ(s->file[slot].blocks, blocks);
	store_unlock(s);
	atomic_store(&sh->own_blocks[me], blocks);
	CHECK_EQ(store_checkpoint(s), 0);
	store_unload(s);
	_exit(0);
}

/* Through the public API: file name has `blocks` blocks, each page's
 * first 8 bytes its tag, for the record it has in the store. */
static void api_check(struct udax_store *st, struct store *s, const char *name,
		      uint64_t blocks)
{
	struct udax_stat info;
	int slot = __store_child_find(s, STORE_PARENT_ROOT, name);
	uint64_t found = 0;

	CHECK(slot >= 0, "%s", name);
	CHECK_EQ(udax_stat(st, name, &info), 0);
	CHECK_EQ(info.blocks, blocks);
	for (uint64_t page = 0; page < COMMON_PAGES && found < blocks; page++) {
		uint64_t block = radix_lookup(s->space, &s->file[slot].map, page);

		if (!block)
			continue;
		found++;
		CHECK_EQ(tag_read(s, block), tag_of((uint32_t)slot, page));
	}
	CHECK_EQ(found, blocks);
}

int main(void)
{
	struct store_error why;
	struct udax_store *st;
	struct store *s;
	uint64_t common_blocks = 0;
	pid_t pid[PROCS];
	char name[16];

	test_init("store_shared_metadata", 120);
	path = test_path("store");
	setenv("UDAX_REGION_DIR", test_path(""), 1);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(sh != MAP_FAILED);
	CHECK_EQ(udax_store_create(path, 256ull << 20, 0), 0);
	for (unsigned p = 0; p < PROCS; p++) {
		pid[p] = fork();
		CHECK(pid[p] >= 0);
		if (pid[p] == 0)
			worker(p, test_seed);
	}
	for (unsigned p = 0; p < PROCS; p++) {
		int status;

		CHECK_EQ(waitpid(pid[p], &status, 0), pid[p]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "worker %u: status %#x", p,
		      status);
	}
	CHECK(atomic_load(&sh->ckpts) > 0);
	for (unsigned page = 0; page < COMMON_PAGES; page++)
		common_blocks += atomic_load(&sh->common[page]) != 0;

	/* The last leaver's checkpoint holds everything: clean, and the same
	 * through a private load and through the API. */
	CHECK_EQ(udax_store_check(path, 0), 0);
	CHECK_EQ(store_load(path, UDAX_STORE_RDONLY, &s, &why), 0);
	CHECK_EQ(udax_store_open(path, UDAX_STORE_RDONLY | UDAX_STORE_EXCLUSIVE, &st), 0);
	for (unsigned p = 0; p < PROCS; p++) {
		snprintf(name, sizeof(name), "own%u", p);
		api_check(st, s, name, atomic_load(&sh->own_blocks[p]));
	}
	api_check(st, s, "common", common_blocks);
	for (unsigned page = 0; page < COMMON_PAGES; page++)
		CHECK_EQ(radix_lookup(s->space, &s->file[__store_child_find(s, STORE_PARENT_ROOT,
									 "common")].map,
				      page),
			 atomic_load(&sh->common[page]));
	CHECK_EQ(udax_store_close(st), 0);
	store_unload(s);
	test_pass();
}
