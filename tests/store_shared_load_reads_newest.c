// SPDX-License-Identifier: MIT
/*
 * store_shared_load_reads_newest: store_load_shared() (issue 14, stage 2)
 * reads the store file before it joins the store's region. If every member
 * leaves in between, the joiner is alone, the region is made anew, and it
 * must fill the shared metadata from the newest checkpoint, not from what
 * it read before the join: whatever the members checkpointed in that
 * window (a store_sync() that returned 0) must survive. It used not to:
 * the joiner filled the region from its early read, gave away the blocks
 * the newer checkpoint names and wrote the old state over it at its next
 * checkpoint. The load now reads the store again under the region's lock.
 * (Found by the adversarial review of stage 2.)
 *
 * Deterministic: the joiner (P1) runs under gdb, stopped at xproc_join;
 * while it is stopped there, P2 loads the store shared, creates "p2file",
 * syncs (a checkpoint) and unloads (the last member: the region goes).
 * Then P1 goes on, looks for "p2file", checkpoints and unloads; the test
 * then opens the store privately and looks for "p2file". Skips without
 * gdb.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store_shared_test.h"
#include "udax.h"


static int p2(const char *path)
{
	struct store *s;
	int slot;

	s = store_shared_test_load(path);
	store_lock(s);
	slot = __store_file_create(s, STORE_PARENT_ROOT, "p2file", STORE_TYPE_FILE);
	store_unlock(s);
	CHECK(slot >= 0);
	int64_t block = store_get_block(s, slot, 0, STORE_ALLOCATE);

	CHECK(block > 0);
	CHECK_EQ(store_sync(s), 0);	/* acknowledged: durable */
	printf("p2: created p2file (page 0 in block %lld) and synced (generation %llu)\n",
	       (long long)block, (unsigned long long)s->m->generation);
	store_unload(s);
	return 0;
}

static int p1(const char *path)
{
	struct store *s;
	int found, slot;

	s = store_shared_test_load(path);
	store_lock(s);
	found = __store_child_find(s, STORE_PARENT_ROOT, "p2file");

	printf("p1: p2file %s in the shared metadata (generation %llu)\n",
	       found >= 0 ? "found" : "NOT found", (unsigned long long)s->m->generation);
	slot = __store_file_create(s, STORE_PARENT_ROOT, "q", STORE_TYPE_FILE);
	store_unlock(s);
	CHECK(slot >= 0);
	/* Before P1 checkpoints, the store file's last checkpoint is P2's:
	 * a block P1 now gives to q may be the one that checkpoint names for
	 * p2file (a crash here shows q's data in p2file). */
	printf("p1: new file q gets block %lld\n",
	       (long long)store_get_block(s, slot, 0, STORE_ALLOCATE));
	CHECK_EQ(store_checkpoint(s), 0);
	store_unload(s);
	return found >= 0 ? 0 : 2;
}

int main(int argc, char **argv)
{
	const char *asan = getenv("ASAN_OPTIONS");
	bool p1_found = false, p2_synced = false;
	char cmd[4096], line[512];
	struct udax_store *st;
	FILE *out;
	struct udax_stat info;
	const char *path;
	int ret;

	setvbuf(stdout, NULL, _IONBF, 0);	/* P1's and P2's lines, at once */
	if (argc == 3 && !strcmp(argv[1], "p1"))
		return p1(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "p2"))
		return p2(argv[2]);
	test_init("store_shared_load_reads_newest", 120);
	if (system("gdb --version >/dev/null 2>&1") != 0)
		test_skip("no gdb");
	path = test_path("store");
	setenv("UDAX_REGION_DIR", test_path(""), 1);
	CHECK_EQ(udax_store_create(path, 64ull << 20, 0), 0);
	snprintf(cmd, sizeof(cmd),
		 "gdb -q -batch -ex 'set startup-with-shell off' -ex 'break xproc_join' -ex run "
		 "-ex 'shell %s p2 %s' -ex 'continue' --args %s p1 %s 2>&1",
		 argv[0], path, argv[0], path);
	/* LeakSanitizer cannot run under ptrace: a sanitizer build's P1 would
	 * end in its fatal error instead of its report. */
	snprintf(line, sizeof(line), "%s%sdetect_leaks=0", asan ? asan : "", asan ? ":" : "");
	setenv("ASAN_OPTIONS", line, 1);
	out = popen(cmd, "r");
	CHECK(out != NULL);
	while (fgets(line, sizeof(line), out)) {
		if (!strncmp(line, "p1:", 3) || !strncmp(line, "p2:", 3))
			fputs(line, stdout);
		p2_synced |= !strncmp(line, "p2: created p2file", 18);
		p1_found |= !strncmp(line, "p1: p2file found", 16);
	}
	pclose(out);
	/* P2 ran while P1 was stopped between its first read and its join,
	 * and P1's region holds P2's checkpoint. */
	CHECK(p2_synced, "P2 did not run while P1 was stopped (gdb)");
	CHECK(p1_found, "P1 filled the region from an older checkpoint than P2's");
	CHECK_EQ(udax_store_check(path, 0), 0);
	CHECK_EQ(udax_store_open(path, UDAX_STORE_RDONLY, &st), 0);
	ret = udax_stat(st, "p2file", &info);
	CHECK_EQ(udax_store_close(st), 0);
	printf("after P1's checkpoint, the store file %s p2file\n", ret == 0 ? "has" : "LOST");
	CHECK(ret == 0, "p2file, created and synced by P2, is gone: %d", ret);
	test_pass();
}
