// SPDX-License-Identifier: MIT
/*
 * store_shared_alloc_race: processes sharing a store (issue 14, stage 2)
 * race store_get_block, store_alloc_extent and store_reserve_run +
 * store_name_run on the same 2 MiB windows of one file (overlapping runs,
 * extents over pages another process just named). Every page gets one
 * block whoever asks, never an error; no block is named twice; the file's
 * block count, the used bitmap and the free counters agree with the maps;
 * the store checks clean after a checkpoint and a private load reads the
 * same maps. Workers are this program again. (Written by the adversarial
 * review of stage 2; it held.)
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store_shared_test.h"
#include "udax.h"

extern char **environ;

#define WORKERS 3
#define WINDOWS 48u
#define PAGES (WINDOWS * STORE_GROUP_BLOCKS)
#define OPS 6000

struct shared {
	_Atomic uint64_t page[PAGES];
	_Atomic uint32_t ready, go;
	_Atomic uint64_t extents, runs, runs_again, gets;
};

static struct shared *sh;



static void record(uint64_t page, uint64_t block)
{
	uint64_t expect = 0;

	if (!atomic_compare_exchange_strong(&sh->page[page], &expect, block))
		CHECK(expect == block, "page %llu: block %llu, another process got %llu",
		      (unsigned long long)page, (unsigned long long)block,
		      (unsigned long long)expect);
}

static void worker(const char *path, unsigned me, uint64_t seed)
{
	uint64_t rng = seed * 0x9e3779b97f4a7c15ull + me;
	struct store *s;
	int slot;

	s = store_shared_test_load(path);
	store_lock(s);
	slot = __store_child_find(s, STORE_PARENT_ROOT, "common");
	store_unlock(s);
	CHECK(slot >= 0);
	atomic_fetch_add(&sh->ready, 1);
	while (!atomic_load(&sh->go))
		sched_yield();
	for (unsigned op = 0; op < OPS; op++) {
		uint64_t r = test_rand(&rng), w = (r >> 8) % WINDOWS;
		uint64_t page = w * STORE_GROUP_BLOCKS + (r >> 20) % STORE_GROUP_BLOCKS;
		int64_t block;

		switch (r % 4) {
		case 0:
			block = store_alloc_extent(s, slot, w * STORE_GROUP_BLOCKS);
			CHECK(block >= 0, "extent: %lld", (long long)block);
			if (block > 0) {
				atomic_fetch_add(&sh->extents, 1);
				for (uint64_t i = 0; i < STORE_GROUP_BLOCKS; i++)
					record(w * STORE_GROUP_BLOCKS + i, (uint64_t)block + i);
			}
			break;
		case 1: {
			uint64_t count, n = 1 + (r >> 40) % 96;

			block = store_reserve_run(s, slot, page, n, STORE_ALLOCATE, &count);
			CHECK(block >= 0, "reserve: %lld", (long long)block);
			if (!block)
				break;
			CHECK(count >= 1 && count <= n);
			/* a writer would write the run here */
			sched_yield();
			int ret = store_name_run(s, slot, page, (uint64_t)block, count);

			CHECK(ret == 0 || ret == -EAGAIN, "name_run: %d", ret);
			if (ret) {
				atomic_fetch_add(&sh->runs_again, 1);
				break;
			}
			atomic_fetch_add(&sh->runs, 1);
			for (uint64_t i = 0; i < count; i++)
				record(page + i, (uint64_t)block + i);
			break;
		}
		default:
			block = store_get_block(s, slot, page, STORE_ALLOCATE);
			CHECK(block > 0, "get_block: %lld", (long long)block);
			atomic_fetch_add(&sh->gets, 1);
			record(page, (uint64_t)block);
			break;
		}
	}
	store_unload(s);
	_exit(0);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static uint64_t blocks[PAGES];
	struct store_error why;
	struct store *s, *p;
	pid_t pid[WORKERS];
	uint64_t named = 0, used = 0;
	const char *path;
	int slot, status;

	if (argc == 6 && !strcmp(argv[1], "worker")) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sh = store_shared_test_map(argv[5], sizeof(*sh), false);
		worker(argv[2], (unsigned)atoi(argv[3]), strtoull(argv[4], NULL, 10));
	}
	test_init("store_shared_alloc_race", 240);
	path = test_path("store");
	setenv("UDAX_REGION_DIR", test_path(""), 1);
	sh = store_shared_test_map(test_path("shared"), sizeof(*sh), true);
	CHECK_EQ(udax_store_create(path, 256ull << 20, 0), 0);
	s = store_shared_test_load(path);
	store_lock(s);
	slot = __store_file_create(s, STORE_PARENT_ROOT, "common", STORE_TYPE_FILE);
	store_unlock(s);
	CHECK(slot >= 0);
	for (unsigned w = 0; w < WORKERS; w++) {
		char me[16], seed[32];

		snprintf(me, sizeof(me), "%u", w);
		snprintf(seed, sizeof(seed), "%llu", (unsigned long long)test_seed);
		pid[w] = fork();
		CHECK(pid[w] >= 0);
		if (!pid[w]) {
			char *wargv[] = { argv[0], "worker", (char *)path, me, seed,
					  (char *)test_path("shared"), NULL };

			execve(argv[0], wargv, environ);
			_exit(127);
		}
	}
	while (atomic_load(&sh->ready) < WORKERS)
		sched_yield();
	atomic_store(&sh->go, 1);
	for (unsigned w = 0; w < WORKERS; w++) {
		CHECK_EQ(waitpid(pid[w], &status, 0), pid[w]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "worker %u: %#x", w, status);
	}
	printf("extents %llu, runs named %llu, runs refused (EAGAIN) %llu, get_block %llu\n",
	       (unsigned long long)sh->extents, (unsigned long long)sh->runs,
	       (unsigned long long)sh->runs_again, (unsigned long long)sh->gets);

	store_lock(s);
	for (uint64_t pg = 0; pg < PAGES; pg++) {
		uint64_t b = radix_lookup(s->space, &s->file[slot].map, pg);

		CHECK(b == atomic_load(&sh->page[pg]), "page %llu: map %llu, recorded %llu",
		      (unsigned long long)pg, (unsigned long long)b,
		      (unsigned long long)atomic_load(&sh->page[pg]));
		if (b)
			blocks[named++] = b;
	}
	CHECK_EQ(s->file[slot].blocks, named);
	for (uint64_t w = 0; w < s->data_blocks / 64; w++)
		used += (uint64_t)__builtin_popcountll(s->used[w]);
	printf("named %llu, used in the bitmap %llu (leaked %llu), blocks_free %llu\n",
	       (unsigned long long)named, (unsigned long long)used,
	       (unsigned long long)(used - named), (unsigned long long)s->m->blocks_free);
	CHECK_EQ(used, named);
	CHECK_EQ(s->m->blocks_free, s->data_blocks - used);
	store_unlock(s);
	qsort(blocks, named, sizeof(blocks[0]), cmp_u64);
	for (uint64_t i = 1; i < named; i++)
		CHECK(blocks[i] != blocks[i - 1], "block %llu named twice",
		      (unsigned long long)blocks[i]);
	CHECK_EQ(store_checkpoint(s), 0);
	store_unload(s);
	CHECK_EQ(udax_store_check(path, 0), 0);
	CHECK(store_load(path, 0, &p, &why) == 0, "%s", why.text);
	for (uint64_t pg = 0; pg < PAGES; pg++)
		CHECK_EQ(radix_lookup(p->space, &p->file[slot].map, pg), atomic_load(&sh->page[pg]));
	store_unload(p);
	test_pass();
}
