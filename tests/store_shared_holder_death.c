// SPDX-License-Identifier: MIT
/*
 * store_shared_holder_death: processes sharing a store's metadata
 * (store_load_shared, issue 14 stage 2) are killed with SIGKILL at seeded
 * instants, 200 times, while they allocate, free, rename and checkpoint
 * (in files of their own and in one common file), and each is replaced by
 * a new process. One is killed holding store.lock, so a recovery is
 * certain. In the fault-injection build each new worker 0 is told to kill
 * itself at its Nth ordered store of shared data (UDAX_INJECT=death:N,
 * seeded N; the others keep making progress): deaths land between exactly the stores the recovery
 * argument is about (radix.h "Death", store_open.c). Workers are this
 * program executed again (argv: worker, its number, the seed), so that the
 * environment reaches them.
 * The others never hang past the liveness bound (each kill waits for the
 * workers to make progress again, under the watchdog), never see a page
 * of the common file get two blocks, and at the end each survivor finds
 * its own file exactly as it made it. After everyone left, the store checks
 * clean and the public API reads the survivors' files as they left them.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store_shared_test.h"
#include "udax.h"

extern char **environ;

#define WORKERS 3
#define KILLS 200
#define OWN_PAGES 256u
#define COMMON_PAGES 2048u

struct shared {
	_Atomic uint64_t common[COMMON_PAGES];	/* block of each common page */
	_Atomic uint64_t ops;			/* done by all, for progress */
	_Atomic uint32_t stop;
	_Atomic uint32_t generation;		/* names each worker's file */
	_Atomic int32_t loaded_pid[WORKERS];	/* the worker that has loaded */
	_Atomic uint64_t recoveries;		/* the most a survivor saw */
	struct {
		_Atomic uint32_t generation;	/* its file: "g<generation>" */
		_Atomic uint32_t renamed;	/* then "g<generation>.<renamed>" */
		_Atomic uint64_t blocks;
	} survivor[WORKERS];
};

static struct shared *sh;
static const char *path;
static const char *self;	/* this program */



static uint64_t tag_of(uint32_t generation, uint64_t page)
{
	return (uint64_t)generation << 32 | page | 1ull << 63;
}

static void worker(unsigned me, uint64_t seed, bool die_holding_lock)
{
	static uint64_t own[OWN_PAGES];
	uint32_t generation = atomic_fetch_add(&sh->generation, 1) + 1;
	uint64_t rng = seed ^ (uint64_t)generation * 0x9e3779b97f4a7c15ull, blocks = 0;
	struct store *s;
	char name[24];
	unsigned renamed = 0;
	int slot, common;

	s = store_shared_test_load(path);
	snprintf(name, sizeof(name), "g%u", generation);
	atomic_store(&sh->loaded_pid[me], (int32_t)getpid());
	store_lock(s);
	if (die_holding_lock)
		raise(SIGKILL);
	slot = __store_file_create(s, STORE_PARENT_ROOT, name, STORE_TYPE_FILE);
	common = __store_child_find(s, STORE_PARENT_ROOT, "common");
	if (common < 0)
		common = __store_file_create(s, STORE_PARENT_ROOT, "common", STORE_TYPE_FILE);
	store_unlock(s);
	CHECK(slot >= 0 && common >= 0, "%d %d", slot, common);
	while (!atomic_load(&sh->stop)) {
		uint64_t r = test_rand(&rng), page = (r >> 8) % OWN_PAGES, tag;
		int64_t block;

		switch (r % 8) {
		case 0: case 1: case 2:
			block = store_get_block(s, slot, page, STORE_ALLOCATE);
			CHECK(block > 0, "own: %lld", (long long)block);
			if (own[page]) {
				CHECK_EQ((uint64_t)block, own[page]);
				break;
			}
			own[page] = (uint64_t)block;
			tag = tag_of(generation, page);
			CHECK_EQ(pwrite(s->fd, &tag, sizeof(tag),
					(off_t)store_block_offset((uint64_t)block)),
				 (ssize_t)sizeof(tag));
			blocks++;
			break;
		case 3: case 4: case 5: {
			uint64_t expect = 0;

			page = (r >> 8) % COMMON_PAGES;
			block = store_get_block(s, common, page, STORE_ALLOCATE);
			CHECK(block > 0, "common: %lld", (long long)block);
			if (!atomic_compare_exchange_strong(&sh->common[page], &expect,
							    (uint64_t)block))
				CHECK_EQ((uint64_t)block, expect);
			break;
		}
		case 6: {
			uint64_t last = page + (r >> 24) % 16;

			if (last >= OWN_PAGES)
				last = OWN_PAGES - 1;
			store_free_range(s, slot, page, last);
			for (uint64_t p = page; p <= last; p++) {
				blocks -= own[p] != 0;
				own[p] = 0;
			}
			break;
		}
		default:
			if ((r >> 8) % 8 == 0) {
				CHECK_EQ(store_checkpoint(s), 0);
			} else if ((r >> 8) % 8 == 1) {
				snprintf(name, sizeof(name), "g%u.%u", generation, ++renamed);
				store_lock(s);
				__store_file_rename(s, slot, -1, STORE_PARENT_ROOT, name);
				store_unlock(s);
			}
			break;
		}
		atomic_fetch_add(&sh->ops, 1);
	}
	for (uint64_t page = 0; page < OWN_PAGES; page++) {
		int64_t block = store_get_block(s, slot, page, STORE_LOOKUP);
		uint64_t tag = 0;

		CHECK_EQ((uint64_t)block, own[page]);
		if (!block)
			continue;
		CHECK_EQ(pread(s->fd, &tag, sizeof(tag), (off_t)store_block_offset((uint64_t)block)),
			 (ssize_t)sizeof(tag));
		CHECK_EQ(tag, tag_of(generation, page));
	}
	store_lock(s);
	CHECK_EQ(s->file[slot].blocks, blocks);
	if (s->m->recoveries > atomic_load(&sh->recoveries))
		atomic_store(&sh->recoveries, s->m->recoveries);
	store_unlock(s);
	CHECK(!strcmp(s->file[slot].name, name), "%s, not %s", s->file[slot].name, name);
	CHECK_EQ(store_checkpoint(s), 0);
	atomic_store(&sh->survivor[me].renamed, renamed);
	atomic_store(&sh->survivor[me].generation, generation);
	atomic_store(&sh->survivor[me].blocks, blocks);
	store_unload(s);
	_exit(0);
}

/* Run worker me as a new process: this program again, told to die at its
 * death_point-th ordered store (0: never; only the injection build can). */
static pid_t start(unsigned me, bool die_holding_lock, uint64_t death_point)
{
	char arg_me[16], arg_seed[32], arg_die[4], inject[48];
	pid_t pid;

	snprintf(arg_me, sizeof(arg_me), "%u", me);
	snprintf(arg_seed, sizeof(arg_seed), "%llu", (unsigned long long)test_seed);
	snprintf(arg_die, sizeof(arg_die), "%d", die_holding_lock);
	snprintf(inject, sizeof(inject), "death:%llu", (unsigned long long)death_point);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char *argv[] = { (char *)self, "worker", arg_me, arg_seed, arg_die,
				 (char *)path, (char *)test_path("shared"), NULL };

		if (death_point)
			setenv("UDAX_INJECT", inject, 1);
		execve(self, argv, environ);
		_exit(127);
	}
	return pid;
}

/* The workers: their pids, whether told to die, whether reaped. */
static pid_t pid[WORKERS];
static bool told_to_die[WORKERS], reaped[WORKERS];

/* Collect a worker that ended: a worker told to die must have died of
 * SIGKILL; any other ending fails the test (rather than leaving the test
 * waiting for its progress). */
static void reap(unsigned w, int options)
{
	int status;
	pid_t got;

	if (reaped[w])
		return;
	got = waitpid(pid[w], &status, options);
	CHECK(got == pid[w] || (got == 0 && options == WNOHANG), "waitpid: %d", (int)got);
	if (got == 0)
		return;
	reaped[w] = true;
	CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
	       (told_to_die[w] || options != WNOHANG)),
	      "worker %u ended otherwise: status %#x", w, status);
}

/* Wait until every worker not told to die has loaded the store and the
 * workers did `ops` more operations (a hang trips the watchdog). So one
 * member at least lives through each kill: were all gone, the region
 * would be made anew from the last checkpoint, and the common pages
 * allocated since would rightly be holes again. */
static void progress(uint64_t ops)
{
	uint64_t goal = atomic_load(&sh->ops) + ops;
	bool waiting;

	do {
		waiting = atomic_load(&sh->ops) < goal;
		for (unsigned w = 0; w < WORKERS; w++) {
			reap(w, WNOHANG);
			waiting |= !told_to_die[w] && atomic_load(&sh->loaded_pid[w]) != pid[w];
		}
		if (waiting)
			sched_yield();
	} while (waiting);
}

/* Kill worker w (unless it died already) and start another in its place. */
static void replace(unsigned w, uint64_t death_point)
{
	if (!reaped[w])
		CHECK_EQ(kill(pid[w], SIGKILL), 0);
	reap(w, 0);
	told_to_die[w] = death_point != 0;
	reaped[w] = false;
	pid[w] = start(w, false, death_point);
}

int main(int argc, char **argv)
{
	uint64_t rng, injected = 0;
	struct udax_store *st;
	int status;

	self = argv[0];
	if (argc == 7 && !strcmp(argv[1], "worker")) {
		/* A worker never outlives the test (its watchdog, a failure). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(1);
		test_seed = strtoull(argv[3], NULL, 10);
		path = argv[5];
		sh = store_shared_test_map(argv[6], sizeof(*sh), false);
		worker((unsigned)atoi(argv[2]), test_seed, atoi(argv[4]) != 0);
	}
	test_init("store_shared_holder_death", 240);
	rng = test_seed;
	path = test_path("store");
	setenv("UDAX_REGION_DIR", test_path(""), 1);
	sh = store_shared_test_map(test_path("shared"), sizeof(*sh), true);
	CHECK_EQ(udax_store_create(path, 256ull << 20, 0), 0);
	/* A holder of store.lock dies first, beside members that live on (a
	 * death alone would leave a region made anew): one of them recovers. */
	told_to_die[0] = true;
	for (unsigned w = 1; w < WORKERS; w++)
		pid[w] = start(w, false, 0);
	progress(0);
	pid[0] = start(0, true, 0);
	reap(0, 0);	/* it killed itself holding the lock */
	replace(0, 0);
	for (unsigned kill_n = 0; kill_n < KILLS; kill_n++) {
		unsigned w = (unsigned)(test_rand(&rng) % WORKERS);
		struct timespec delay = { 0, (long)(test_rand(&rng) % 3000000) };
		uint64_t death_point = 0;

		progress(50);
		nanosleep(&delay, NULL);	/* a seeded instant, not a wait for anything */
#ifdef UDAX_FAULT_INJECT
		/* Worker 0 only: the others keep making progress. */
		if (w == 0) {
			death_point = 1 + test_rand(&rng) % 400;
			injected++;
		}
#endif
		replace(w, death_point);
	}
	/* The survivors are workers not told to die. */
	for (unsigned w = 0; w < WORKERS; w++)
		if (told_to_die[w])
			replace(w, 0);
	progress(500);
	atomic_store(&sh->stop, 1);
	for (unsigned w = 0; w < WORKERS; w++) {
		CHECK_EQ(waitpid(pid[w], &status, 0), pid[w]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "survivor %u: status %#x", w,
		      status);
	}
	CHECK(atomic_load(&sh->recoveries) >= 1, "no recovery seen");
	printf("%u kills (%llu workers told to die at an ordered store), %llu operations, "
	       "%llu recoveries of store.lock\n", KILLS, (unsigned long long)injected,
	       (unsigned long long)atomic_load(&sh->ops),
	       (unsigned long long)atomic_load(&sh->recoveries));

	CHECK_EQ(udax_store_check(path, 0), 0);
	CHECK_EQ(udax_store_open(path, UDAX_STORE_RDONLY, &st), 0);
	for (unsigned w = 0; w < WORKERS; w++) {
		struct udax_stat info;
		char name[24];
		uint32_t renamed = atomic_load(&sh->survivor[w].renamed);

		if (renamed)
			snprintf(name, sizeof(name), "g%u.%u",
				 atomic_load(&sh->survivor[w].generation), renamed);
		else
			snprintf(name, sizeof(name), "g%u", atomic_load(&sh->survivor[w].generation));
		CHECK_EQ(udax_stat(st, name, &info), 0);
		CHECK_EQ(info.blocks, atomic_load(&sh->survivor[w].blocks));
	}
	CHECK_EQ(udax_store_close(st), 0);
	test_pass();
}
