// SPDX-License-Identifier: MIT
/*
 * checkpoint_failure_keeps_frees: a checkpoint whose snapshot fails (here
 * -ENOMEM: the extent buffer cannot be mapped under RLIMIT_AS) keeps the
 * frees made before it pending, and the next successful checkpoint makes
 * them allocatable again. A private store; a shared one runs the same
 * code. It used not to: the failed checkpoint merged back a pending bitmap
 * it had never set aside, pending[0] into itself, which cleared it, and
 * the freed blocks stayed used until the store was loaded anew. (Found by
 * the adversarial review of stage 2.)
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

int main(void)
{
	struct store_error why;
	struct rlimit old, tight;
	struct store *s;
	uint64_t free_before, pending_before, pending_after, free_after;
	volatile char *deep;
	int slot, ret;

	test_init("checkpoint_failure_keeps_frees", 60);
	CHECK_EQ(udax_store_create(test_path("store"), 64ull << 20, 0), 0);
	CHECK(store_load(test_path("store"), 0, &s, &why) == 0, "%s", why.text);
	store_lock(s);
	slot = __store_file_create(s, STORE_PARENT_ROOT, "f", STORE_TYPE_FILE);
	store_unlock(s);
	CHECK(slot >= 0);
	for (uint64_t p = 0; p < PAGES; p++)
		CHECK(store_get_block(s, slot, p, STORE_ALLOCATE) > 0);
	store_free_range(s, slot, 0, PAGES / 2 - 1);
	store_lock(s);
	free_before = s->m->blocks_free;
	pending_before = s->m->pending_count[0] + s->m->pending_count[1];
	CHECK_EQ(s->m->pending_cur, 0u);
	store_unlock(s);
	CHECK_EQ(pending_before, PAGES / 2);

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
	printf("checkpoint under a tight RLIMIT_AS: %d\n", ret);
	if (ret == 0)
		test_skip("the checkpoint found memory: cannot provoke a failed snapshot here");

	store_lock(s);
	pending_after = s->m->pending_count[0] + s->m->pending_count[1];
	store_unlock(s);
	CHECK_EQ(store_checkpoint(s), 0);
	store_lock(s);
	free_after = s->m->blocks_free;
	store_unlock(s);
	printf("pending frees: %llu before the failed checkpoint, %llu after it; free blocks %llu "
	       "before, %llu after the next successful checkpoint (expected %llu)\n",
	       (unsigned long long)pending_before, (unsigned long long)pending_after,
	       (unsigned long long)free_before, (unsigned long long)free_after,
	       (unsigned long long)(free_before + PAGES / 2));
	CHECK(pending_after == pending_before, "a failed checkpoint lost %llu pending frees",
	      (unsigned long long)(pending_before - pending_after));
	CHECK_EQ(free_after, free_before + PAGES / 2);
	store_unload(s);
	test_pass();
}
