// SPDX-License-Identifier: MIT
/*
 * store_alloc.c - the block allocator and the per-file block maps.
 *
 * Locks: store.lock (store.h) protects the bitmap, group counters, pending
 * frees and every file's map (struct store_meta and its arrays). The fault
 * path takes it from the signal handler under an entry lock; it is a leaf
 * lock except for the node space of the maps (the radix pool, or a shared
 * store's arena lock), which may be taken under it. A new block is taken
 * in the bitmap under the lock, zeroed without it, and only then named in
 * the file's map, so it is zero before any map can name it; the only I/O
 * under it gives back the host space of blocks being released.
 *
 * Placement keeps a file's blocks contiguous and 2 MiB-aligned: a file
 * block goes at its offset inside the group where its 2 MiB window already
 * lives; else next to its neighbour's store block across the window's
 * edge when that starts a wholly free group at the right offset; else at
 * its own offset inside a wholly free group; else anywhere.
 *
 * Layer: store. May call: base.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "base/compat.h"
#include "store/store.h"

static bool block_is_free(struct store *s, uint64_t block)
{
	uint64_t b;

	if (block < s->data_start || block >= s->data_start + s->data_blocks)
		return false;
	b = block - s->data_start;
	return !(s->used[b / 64] & ((uint64_t)1 << (b % 64)));
}

static void block_take(struct store *s, uint64_t block)
{
	uint64_t b = block - s->data_start;

	s->used[b / 64] |= (uint64_t)1 << (b % 64);
	s->m->groups_empty -= s->group_free[b / STORE_GROUP_BLOCKS] == STORE_GROUP_BLOCKS;
	s->group_free[b / STORE_GROUP_BLOCKS]--;
	s->m->blocks_free--;
}

/* Store block that keeps fblock aligned with a block already mapped in its
 * 2 MiB file window, or 0. */
static uint64_t goal_from_window(struct store *s, struct store_file *f, uint64_t fblock)
{
	uint64_t window = fblock & ~(uint64_t)(STORE_GROUP_BLOCKS - 1);
	uint64_t at = window;
	uint64_t block = radix_next(s->space, &f->map, &at);

	if (!block || at >= window + STORE_GROUP_BLOCKS)
		return 0;
	if (fblock >= at)
		return block + (fblock - at);
	return block >= at - fblock ? block - (at - fblock) : 0;
}

/* Whether block may start fblock's window there: at fblock's offset inside
 * a group no block of which is in use. */
static bool block_opens_window(struct store *s, uint64_t block, uint64_t fblock)
{
	uint64_t b = block - s->data_start;

	return b % STORE_GROUP_BLOCKS == fblock % STORE_GROUP_BLOCKS &&
	       s->group_free[b / STORE_GROUP_BLOCKS] == STORE_GROUP_BLOCKS;
}

/* The block fblock should get, or 0: where its 2 MiB window already lives;
 * else, if its window has no block yet, next to a neighbour's block across
 * the window's edge, when that starts a free group at the right offset (a
 * neighbour must never pull a block into a group another window uses:
 * writes in any order leave each window one aligned extent). */
static uint64_t find_goal(struct store *s, struct store_file *f, uint64_t fblock)
{
	uint64_t near = goal_from_window(s, f, fblock);

	if (near)
		return block_is_free(s, near) ? near : 0;
	if (fblock && (near = radix_lookup(s->space, &f->map, fblock - 1)) &&
	    block_is_free(s, near + 1) &&
	    block_opens_window(s, near + 1, fblock))
		return near + 1;
	if ((near = radix_lookup(s->space, &f->map, fblock + 1)) && block_is_free(s, near - 1) &&
	    block_opens_window(s, near - 1, fblock))
		return near - 1;
	return 0;
}

static uint64_t group_first(struct store *s, uint64_t g)
{
	return s->data_start + g * STORE_GROUP_BLOCKS;
}

/* Return: a wholly free group (the next one from the cursor, which then
 * moves past it), or s->groups if none. Context: store.lock held. */
static uint64_t empty_group_next(struct store *s)
{
	if (!s->m->groups_empty)
		return s->groups;
	for (uint64_t n = 0; n < s->groups; n++) {
		uint64_t g = (s->m->group_cursor + n) % s->groups;

		if (s->group_free[g] == STORE_GROUP_BLOCKS) {
			s->m->group_cursor = (g + 1) % s->groups;
			return g;
		}
	}
	return s->groups;
}

/* Whether block's group has no block in use. */
static bool group_is_empty(struct store *s, uint64_t block)
{
	return s->group_free[(block - s->data_start) / STORE_GROUP_BLOCKS] == STORE_GROUP_BLOCKS;
}

/* Return: a free block for fblock of f, taken; 0 if the store is full.
 * *opens_group says whether its group was wholly free. */
static uint64_t block_alloc(struct store *s, struct store_file *f, uint64_t fblock,
			    bool *opens_group)
{
	uint64_t goal = find_goal(s, f, fblock);
	uint64_t g;

	*opens_group = false;
	if (goal) {
		*opens_group = group_is_empty(s, goal);
		block_take(s, goal);
		return goal;
	}
	if (!s->m->blocks_free)
		return 0;
	g = empty_group_next(s);
	if (g < s->groups) {
		goal = group_first(s, g) + fblock % STORE_GROUP_BLOCKS;
		*opens_group = true;
		block_take(s, goal);
		return goal;
	}
	for (uint64_t n = 0; n < s->groups; n++) {
		g = (s->m->group_cursor + n) % s->groups;
		if (!s->group_free[g])
			continue;
		for (uint64_t b = group_first(s, g); b < group_first(s, g + 1); b++) {
			if (block_is_free(s, b)) {
				block_take(s, b);
				return b;
			}
		}
	}
	return 0;
}

int store_map_insert(struct store *s, struct radix_tree *map, uint64_t fblock, uint64_t block)
{
	struct radix_preload pl = { .count = 0 };
	uint64_t *slot;
	int ret;

	if (radix_preload_fill(s->space, &pl, radix_nodes_needed(s->space, map, fblock)) != 0) {
		radix_preload_drain(s->space, &pl);
		return -ENOMEM;
	}
	slot = radix_insert_slot(s->space, map, fblock, &pl);
	if (*slot) {
		ret = -EEXIST;
	} else {
		radix_slot_store(map, fblock, slot, block);
		ret = 0;
	}
	radix_preload_drain(s->space, &pl);
	return ret;
}

/* Zero a new block. A streaming writer's lands in the 2 MiB folio just
 * made for its group: zeros are written (any write also reserves host
 * space), since FALLOC_FL_ZERO_RANGE would split that folio. Any other
 * gets ZERO_RANGE (an unwritten extent): written zeros would leave ext4 a
 * delayed allocation for the next sync to do, which made fsync of 10^4
 * scattered dirty pages 1.6x slower (bench/fsync_cost.c, dev). */
static int block_zero(struct store *s, uint64_t block, enum store_get how)
{
	if (how != STORE_ALLOCATE_STREAM)
		return s->io->zero(s, store_block_offset(block), STORE_BLOCK_SIZE);
	if (compat_inject(INJECT_ZERO))
		return -EIO;
	return compat_write_zeros(s->fd, store_block_offset(block), STORE_BLOCK_SIZE);
}

/* Undo the first n of count blocks from block named in a map from fblock,
 * and release all count, their host space given back first (they were
 * zeroed or written: that allocated it; no map names them, and nobody can
 * take them before the release). Context: store.lock held; this rare path
 * (no node memory, another process first) makes a syscall under it. */
static void extent_unmap(struct store *s, struct store_file *f, uint64_t fblock,
			 uint64_t block, uint64_t n, uint64_t count)
{
	struct radix_freed fr = { 0 };

	for (uint64_t i = 0; i < n; i++)
		radix_delete(s->space, &f->map, fblock + i, &fr);
	s->io->discard(s, store_block_offset(block), count * STORE_BLOCK_SIZE);
	for (uint64_t i = 0; i < count; i++)
		__store_block_release(s, block + i);
	radix_release(s->space, &fr);
}

int64_t store_get_block(struct store *s, int slot, uint64_t fblock, enum store_get how)
{
	struct store_file *f = &s->file[slot];
	bool fresh = false, opens_group = false;
	uint64_t block;
	int ret;

	store_lock(s);
	block = radix_lookup(s->space, &f->map, fblock);
	if (!block && how != STORE_LOOKUP) {
		block = block_alloc(s, f, fblock, &opens_group);
		fresh = block != 0;
	}
	store_unlock(s);
	if (!fresh)
		return block || how == STORE_LOOKUP ? (int64_t)block : -ENOSPC;

	/* Zero the block outside the lock: it is taken in the bitmap, so
	 * nobody else gets it, and no map names it until it is zero. The
	 * caller's entry lock keeps a second allocation of fblock away in
	 * this process; another process sharing the store may still name
	 * fblock first (-EEXIST below: its block is the page's). A failed
	 * zeroing (a full host) gives back what it may have taken. */
	if (opens_group && how == STORE_ALLOCATE_STREAM) {
		uint64_t first = block - (block - s->data_start) % STORE_GROUP_BLOCKS;

		s->io->cache_large(s, store_block_offset(first),
				   STORE_GROUP_BLOCKS * STORE_BLOCK_SIZE);
	}
	ret = block_zero(s, block, how);
	if (ret)
		s->io->discard(s, store_block_offset(block), STORE_BLOCK_SIZE);
	store_lock(s);
	__store_file_changing(s, slot);
	if (ret) {
		__store_block_release(s, block);
	} else if ((ret = store_map_insert(s, &f->map, fblock, block))) {
		extent_unmap(s, f, fblock, block, 0, 1);	/* zeroed: host space back */
	} else {
		f->blocks++;
		__store_meta_changed(s);
	}
	__store_file_changed(s);
	if (ret == -EEXIST) {
		block = radix_lookup(s->space, &f->map, fblock);
		ret = 0;
	}
	store_unlock(s);
	if (ret)
		return ret == -ENOMEM || ret == -ENOSPC ? ret : -EIO;
	return (int64_t)block;
}

int64_t store_map_run(struct store *s, int slot, uint64_t fblock, uint64_t max,
		      uint64_t *run)
{
	struct radix_tree *map = &s->file[slot].map;
	uint64_t block, n = 1, next = fblock;

	store_lock(s);
	block = radix_lookup(s->space, map, fblock);
	if (block) {
		/* One lookup per leaf, then its consecutive slots: a 2 MiB run
		 * costs 8 lookups under the store lock, not 512. */
		while (n < max) {
			uint64_t *value = radix_lookup_slot(s->space, map, fblock + n);
			unsigned left = value ? radix_leaf_left(fblock + n) : 0;

			while (left && n < max && *value == block + n)
				left--, value++, n++;
			if (left || !value)
				break;	/* a block out of the run, or no leaf */
		}
	} else {
		n = radix_next(s->space, map, &next) && next - fblock < max ? next - fblock : max;
	}
	store_unlock(s);
	*run = n;
	return (int64_t)block;
}

int64_t store_alloc_extent(struct store *s, int slot, uint64_t fblock)
{
	struct store_file *f = &s->file[slot];
	uint64_t next = fblock, block = 0, g, n;
	int ret;

	store_lock(s);
	if (s->m->groups_empty * STORE_EXTENT_RESERVE > s->groups &&
	    !(radix_next(s->space, &f->map, &next) && next < fblock + STORE_GROUP_BLOCKS) &&
	    (g = empty_group_next(s)) < s->groups) {
		block = group_first(s, g);
		for (uint64_t i = 0; i < STORE_GROUP_BLOCKS; i++)
			block_take(s, block + i);
	}
	store_unlock(s);
	if (!block)
		return 0;

	/* As store_get_block(): zeroed outside the lock, named after. Fresh
	 * or punched blocks are holes already; ZERO_RANGE also reserves the
	 * host's space, so a write through the mapping cannot meet ENOSPC.
	 * If the host has not 2 MiB left, the part it allocated goes back
	 * and the caller falls back to 4 KiB blocks, which may still fit. */
	ret = s->io->zero(s, store_block_offset(block), STORE_GROUP_BLOCKS * STORE_BLOCK_SIZE);
	if (ret)
		s->io->discard(s, store_block_offset(block),
			       STORE_GROUP_BLOCKS * STORE_BLOCK_SIZE);
	store_lock(s);
	__store_file_changing(s, slot);
	for (n = 0; !ret && n < STORE_GROUP_BLOCKS; n++)
		ret = store_map_insert(s, &f->map, fblock + n, block + n);
	if (ret) {
		extent_unmap(s, f, fblock, block, n ? n - 1 : 0, STORE_GROUP_BLOCKS);	/* n - 1 were named */
	} else {
		f->blocks += STORE_GROUP_BLOCKS;
		__store_meta_changed(s);
	}
	__store_file_changed(s);
	store_unlock(s);
	if (ret == -ENOSPC || ret == -EEXIST)	/* EEXIST: another process named one */
		return 0;
	if (ret)
		return ret == -ENOMEM ? ret : -EIO;
	return (int64_t)block;
}

int64_t store_reserve_run(struct store *s, int slot, uint64_t fblock, uint64_t n,
			  enum store_get how, uint64_t *count)
{
	struct store_file *f = &s->file[slot];
	uint64_t block, window_end = (fblock | (STORE_GROUP_BLOCKS - 1)) + 1;
	bool opens_group;

	if (n > window_end - fblock)
		n = window_end - fblock;
	*count = 0;
	store_lock(s);
	if (radix_lookup(s->space, &f->map, fblock)) {	/* no hole any more */
		store_unlock(s);
		return 0;
	}
	block = block_alloc(s, f, fblock, &opens_group);
	*count = block != 0;
	while (block && *count < n && !radix_lookup(s->space, &f->map, fblock + *count) &&
	       block_is_free(s, block + *count) &&
	       (block + *count - s->data_start) % STORE_GROUP_BLOCKS)
		block_take(s, block + (*count)++);
	store_unlock(s);
	if (!block)
		return -ENOSPC;
	if (opens_group && how == STORE_ALLOCATE_STREAM) {
		uint64_t first = block - (block - s->data_start) % STORE_GROUP_BLOCKS;

		s->io->cache_large(s, store_block_offset(first),
				   STORE_GROUP_BLOCKS * STORE_BLOCK_SIZE);
	}
	return (int64_t)block;
}

void store_release_run(struct store *s, uint64_t block, uint64_t count)
{
	s->io->discard(s, store_block_offset(block), count * STORE_BLOCK_SIZE);
	store_lock(s);
	for (uint64_t i = 0; i < count; i++)
		__store_block_release(s, block + i);
	store_unlock(s);
}

int store_name_run(struct store *s, int slot, uint64_t fblock, uint64_t block, uint64_t count)
{
	struct store_file *f = &s->file[slot];
	uint64_t named = 0;
	int ret = 0;

	store_lock(s);
	__store_file_changing(s, slot);
	while (!ret && named < count)
		if (!(ret = store_map_insert(s, &f->map, fblock + named, block + named)))
			named++;
	if (ret) {
		extent_unmap(s, f, fblock, block, named, count);
	} else {
		f->blocks += count;
		__store_meta_changed(s);
	}
	__store_file_changed(s);
	store_unlock(s);
	return ret == -EEXIST ? -EAGAIN : ret;
}

/* Context: store.lock held. */
static void __store_free_range(struct store *s, int slot, uint64_t first, uint64_t last)
{
	struct store_file *f = &s->file[slot];
	struct radix_freed fr = { 0 };
	uint64_t fblock = first, block;

	__store_file_changing(s, slot);
	while (fblock <= last && (block = radix_next(s->space, &f->map, &fblock)) && fblock <= last) {
		/* Out of the map before it is pending: a process killed
		 * between leaks the block, never frees a block a map names. */
		radix_delete(s->space, &f->map, fblock, &fr);
		death_order();
		__store_pending_add(s, block);
		f->blocks--;
		__store_meta_changed(s);
		if (fblock++ == UINT64_MAX)
			break;
	}
	__store_file_changed(s);
	radix_release(s->space, &fr);
}

void store_free_range(struct store *s, int slot, uint64_t first, uint64_t last)
{
	store_lock(s);
	__store_free_range(s, slot, first, last);
	store_unlock(s);
}

void __store_file_remove(struct store *s, int slot)
{
	__store_free_range(s, slot, 0, UINT64_MAX);
	s->file[slot].in_use = false;
	s->m->files--;
	__store_meta_changed(s);
}

uint64_t store_give_back_free(struct store *s)
{
	uint64_t given = 0, run = 0;

	for (uint64_t b = s->data_start; b <= s->data_start + s->data_blocks; b++) {
		bool free_block = b < s->data_start + s->data_blocks && block_is_free(s, b);

		if (free_block) {
			run++;
			continue;
		}
		if (run && s->io->discard(s, store_block_offset(b - run),
					  run * STORE_BLOCK_SIZE) == 0)
			given += run;
		run = 0;
	}
	return given;
}
