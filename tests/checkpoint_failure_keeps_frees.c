// SPDX-License-Identifier: MIT
/*
 * checkpoint_failure_keeps_frees: a checkpoint that fails keeps the frees
 * made before it pending, and the next successful checkpoint makes them
 * allocatable again, with the frees made in between. Two failures: the
 * commit's (its sync fails, -EIO, after the snapshot set the frees aside:
 * they are merged back), and the snapshot's (-ENOMEM: the extent buffer
 * cannot be mapped under RLIMIT_AS, before anything is set aside; left
 * out, said so, where the limit cannot make it fail). A private store; a
 * shared one runs the same code. The snapshot's case used to clear every
 * pending free (it merged back a bitmap it had never set aside, pending[0]
 * into itself) and the freed blocks stayed used until the store was loaded
 * anew. (Found by the adversarial review of stage 2.)
 */
#include <alloca.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "store/store.h"
#include "test_util.h"
#include "udax.h"

#define PAGES 100u

static uint64_t vm_bytes(void)
{
	unsigned long long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	CHECK(f);
	CHECK_EQ(fscanf(f, "%llu", &pages), 1);
	fclose(f);
	return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

static int sync_fails(struct store *s)
{
	(void)s;
	return -EIO;
}

static uint64_t pending(struct store *s)
{
	uint64_t n;

	store_lock(s);
	n = s->m->pending_count[0] + s->m->pending_count[1];
	store_unlock(s);
	return n;
}

static uint64_t blocks_free(struct store *s)
{
	uint64_t n;

	store_lock(s);
	n = s->m->blocks_free;
	store_unlock(s);
	return n;
}

/* A commit that fails after the snapshot set the frees aside. */
static void commit_fails(struct store *s, int slot)
{
	struct store_io_ops failing = store_io_default;
	const struct store_io_ops *io = s->io;
	uint64_t free_before = blocks_free(s);

	store_free_range(s, slot, 0, PAGES / 4 - 1);
	failing.sync = sync_fails;
	s->io = &failing;
	CHECK_EQ(store_checkpoint(s), -EIO);
	s->io = io;
	CHECK_EQ(pending(s), PAGES / 4);
	store_free_range(s, slot, PAGES / 4, PAGES / 2 - 1);	/* after the failure */
	CHECK_EQ(pending(s), PAGES / 2);
	CHECK_EQ(store_checkpoint(s), 0);
	CHECK_EQ(pending(s), 0);
	CHECK_EQ(blocks_free(s), free_before + PAGES / 2);
	printf("a failed commit: %u frees kept, released with %u later ones by the next "
	       "checkpoint\n", PAGES / 4, PAGES / 4);
}

/* A snapshot that fails before it sets anything aside. */
static void snapshot_fails(struct store *s, int slot)
{
	uint64_t free_before, pending_before, pending_after, free_after;
	struct rlimit old, tight;
	volatile char *deep;
	int ret;

	store_free_range(s, slot, PAGES / 2, PAGES - 1);
	free_before = blocks_free(s);
	pending_before = pending(s);
	CHECK_EQ(pending_before, PAGES / 2);
	CHECK_EQ(s->m->pending_cur, 0u);
	/* Grow the stack first so that only the checkpoint's buffer needs
	 * new address space; then leave no room for it. */
	deep = alloca(256 << 10);
	memset((char *)deep, 1, 256 << 10);
	CHECK_EQ(getrlimit(RLIMIT_AS, &old), 0);
	tight = old;
	tight.rlim_cur = vm_bytes() + 4096;
	CHECK_EQ(setrlimit(RLIMIT_AS, &tight), 0);
	ret = store_checkpoint(s);
	CHECK_EQ(setrlimit(RLIMIT_AS, &old), 0);
	if (ret == 0) {
		printf("a failed snapshot: left out, the checkpoint found memory here\n");
		return;
	}
	pending_after = pending(s);
	CHECK_EQ(store_checkpoint(s), 0);
	free_after = blocks_free(s);
	printf("a failed snapshot (%d): pending frees %llu before it, %llu after it; free blocks "
	       "%llu before, %llu after the next checkpoint (expected %llu)\n", ret,
	       (unsigned long long)pending_before, (unsigned long long)pending_after,
	       (unsigned long long)free_before, (unsigned long long)free_after,
	       (unsigned long long)(free_before + PAGES / 2));
	CHECK(pending_after == pending_before, "a failed checkpoint lost %llu pending frees",
	      (unsigned long long)(pending_before - pending_after));
	CHECK_EQ(free_after, free_before + PAGES / 2);
}

int main(void)
{
	struct store_error why;
	struct store *s;
	int slot;

	test_init("checkpoint_failure_keeps_frees", 60);
	CHECK_EQ(udax_store_create(test_path("store"), 64ull << 20, 0), 0);
	CHECK(store_load(test_path("store"), 0, &s, &why) == 0, "%s", why.text);
	store_lock(s);
	slot = __store_file_create(s, STORE_PARENT_ROOT, "f", STORE_TYPE_FILE);
	store_unlock(s);
	CHECK(slot >= 0);
	for (uint64_t p = 0; p < PAGES; p++)
		CHECK(store_get_block(s, slot, p, STORE_ALLOCATE) > 0);
	/* The snapshot's case first: no checkpoint has grown its buffer yet,
	 * and pending_cur is 0 (the bitmap the old bug cleared). */
	snapshot_fails(s, slot);
	commit_fails(s, slot);
	store_unload(s);
	CHECK_EQ(store_check_path(test_path("store"), 0, &why), 0);
	test_pass();
}
