// SPDX-License-Identifier: MIT
/*
 * store_shared_rename_death: a member of a shared store (issue 14, stage
 * 2) renaming a file over a victim that has blocks (the victim's removal
 * frees them inside __store_rename_finish) is killed at its Nth ordered
 * store (UDAX_INJECT=death:N), for every N until the rename completes.
 * The test process, a member all along, then takes store.lock (recovering)
 * and checks: the name is there exactly once; either nothing happened
 * (both entries as before) or the rename is whole (source moved, victim
 * gone); no block in two maps; no map names a block that is free or
 * pending; block counts match the maps; a checkpoint after it checks
 * clean (the test leaves the store for the check, which keeps members
 * out, and joins it again). Fault-injection build only (make check-inject); skipped
 * elsewhere. (Written by the adversarial review of stage 2; it held.)
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store_shared_test.h"
#include "udax.h"

extern char **environ;

#define VICTIM_PAGES 20u


static int worker(const char *path, const char *src, const char *dst)
{
	struct store *s;
	int from, victim;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	s = store_shared_test_load(path);
	store_lock(s);
	from = __store_child_find(s, STORE_PARENT_ROOT, src);
	victim = __store_child_find(s, STORE_PARENT_ROOT, dst);
	CHECK(from >= 0 && victim >= 0);
	__store_file_rename(s, from, victim, STORE_PARENT_ROOT, dst);
	store_unlock(s);
	store_unload(s);
	return 0;
}

static bool bit(const uint64_t *map, uint64_t b)
{
	return map[b / 64] >> (b % 64) & 1;
}

/* Context: store.lock held. */
static void check_maps(struct store *s)
{
	static uint8_t owner[1u << 20];
	uint32_t files = 0;

	memset(owner, 0, sizeof(owner));
	for (uint32_t i = 0; i < s->files_max; i++) {
		struct store_file *f = &s->file[i];
		uint64_t fblock = 0, block, n = 0;

		if (!f->in_use)
			continue;
		files++;
		while ((block = radix_next(s->space, &f->map, &fblock))) {
			uint64_t b = block - s->data_start;

			CHECK(b < s->data_blocks && b < sizeof(owner));
			CHECK(!owner[b], "block %llu in two maps", (unsigned long long)block);
			owner[b] = 1;
			CHECK(bit(s->used, b), "map names free block %llu", (unsigned long long)block);
			CHECK(!bit(s->pending[0], b) && !bit(s->pending[1], b),
			      "map names pending block %llu", (unsigned long long)block);
			n++;
			fblock++;
		}
		CHECK(f->blocks == n, "file %s: blocks %llu, map %llu", f->name,
		      (unsigned long long)f->blocks, (unsigned long long)n);
	}
	CHECK_EQ(s->m->files, files);
}

int main(int argc, char **argv)
{
	struct store_error why;
	struct store *s;
	const char *path;
	unsigned max_n = 0, recoveries_seen = 0, whole = 0, none = 0;
	unsigned long long recoveries_total = 0;

	if (argc == 5 && !strcmp(argv[1], "worker"))
		return worker(argv[2], argv[3], argv[4]);
	test_init("store_shared_rename_death", 240);
#ifdef UDAX_FAULT_INJECT
	max_n = 400;
#else
	test_skip("built without UDAX_FAULT_INJECT (run make check-inject)");
#endif
	path = test_path("store");
	setenv("UDAX_REGION_DIR", test_path(""), 1);
	CHECK_EQ(udax_store_create(path, 256ull << 20, 0), 0);
	s = store_shared_test_load(path);
	for (unsigned n = max_n ? 1 : 0; n <= max_n; n++) {
		char src[32], dst[32], inject[32];
		int from, victim, status, a, b;
		uint64_t recoveries;
		pid_t pid;

		snprintf(src, sizeof(src), "s%u", n);
		snprintf(dst, sizeof(dst), "v%u", n);
		store_lock(s);
		from = __store_file_create(s, STORE_PARENT_ROOT, src, STORE_TYPE_FILE);
		victim = __store_file_create(s, STORE_PARENT_ROOT, dst, STORE_TYPE_FILE);
		store_unlock(s);
		CHECK(from >= 0 && victim >= 0);
		CHECK(store_get_block(s, from, 5, STORE_ALLOCATE) > 0);
		for (uint64_t p = 0; p < VICTIM_PAGES; p++)
			CHECK(store_get_block(s, victim, p * 64 + p, STORE_ALLOCATE) > 0);
		pid = fork();
		CHECK(pid >= 0);
		if (!pid) {
			char *wargv[] = { argv[0], "worker", (char *)path, src, dst, NULL };

			snprintf(inject, sizeof(inject), "death:%u", n);
			setenv("UDAX_INJECT", inject, 1);
			execve(argv[0], wargv, environ);
			_exit(127);
		}
		CHECK_EQ(waitpid(pid, &status, 0), pid);
		store_lock(s);
		recoveries = s->m->recoveries;
		a = __store_child_find(s, STORE_PARENT_ROOT, src);
		b = __store_child_find(s, STORE_PARENT_ROOT, dst);
		if (WIFEXITED(status)) {
			CHECK_EQ(WEXITSTATUS(status), 0);
			CHECK(a < 0 && b == from, "n=%u: a %d b %d from %d", n, a, b, from);
			store_unlock(s);
			printf("rename completes from death point %u on\n", n);
			break;
		}
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status %#x", status);
		/* Either nothing happened or the whole rename did. */
		if (b == from) {
			CHECK(a < 0, "n=%u: source still named %s", n, src);
			CHECK(!s->file[victim].in_use || victim == from, "n=%u: victim left", n);
			whole++;
		} else {
			CHECK(a == from && b == victim, "n=%u: a %d b %d (from %d victim %d)", n, a, b,
			      from, victim);
			none++;
		}
		check_maps(s);
		store_unlock(s);
		recoveries_seen += recoveries != 0;
		recoveries_total += recoveries;
		CHECK_EQ(store_checkpoint(s), 0);
		/* The check keeps members out: leave, check, join again. */
		store_unload(s);
		CHECK(store_check_path(path, 0, &why) == 0, "n=%u: %s", n, why.text);
		s = store_shared_test_load(path);
	}
	printf("%u deaths: %u left no rename, %u a whole one; %u seen recovered; recoveries "
	       "%llu\n", none + whole, none, whole, recoveries_seen,
	       (unsigned long long)recoveries_total);
	store_unload(s);
	test_pass();
}
