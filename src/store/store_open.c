// SPDX-License-Identifier: MIT
/*
 * store_open.c - loading a store: for this process alone (store_load: the
 * metadata in its memory, store.lock and checkpoint_lock its mutexes), or
 * for several processes at once (store_load_shared, issue 14, stage 2);
 * and unloading it.
 *
 * A shared store's metadata (struct store_meta with its arrays: file
 * table, bitmaps, free blocks per group) lives in the user area of the
 * store's region (src/xproc), after a small head holding the two locks;
 * the block maps' nodes live in the region's node arena, named by offsets
 * (struct radix_space over xproc_arena_take/give). Every process reads
 * and changes the one copy under the head's lock, an xproc_lock, which
 * serves as store.lock for every thread of every member; checkpoint_lock
 * likewise. A private store (store_load) keeps the same structures in its
 * own memory under mutexes: the code behind store_lock() is one (the
 * shared locks come through struct store_lock_ops, so that the files
 * below need not call this one).
 *
 *   user area:  [struct store_region_head][pad to STORE_REGION_META]
 *               [struct store_meta + arrays (store_meta_place)][pad to 64]
 *               [the callers' area: callers_bytes(files_max)]
 *
 * The first member to take the lock with `loaded` clear fills the
 * metadata from the store file (its last checkpoint, read under the lock);
 * the others use it as it is, the newest state of the store.
 *
 * Death: a member killed holding store.lock leaves the metadata as its
 * stores up to the kill made it (every change is ordered for that:
 * radix.h's "Death", death_order() in store_alloc.c and store_tree.c);
 * the member that takes the lock over repairs it before use
 * (shared_recover()). A member killed in the middle of the first load
 * leaves `loaded` clear: the next one zeroes the metadata and loads again
 * (the nodes the dead one took stay in the arena, lost). A member killed
 * holding checkpoint_lock may have set aside the frees its checkpoint was
 * to commit: the next holder puts them back (shared_checkpoint_lock()),
 * and they wait for the next checkpoint, which is always safe (a crash
 * between the superblock write and the release only delays them).
 *
 * Locks: head.checkpoint_lock, then head.lock (store.h); the arena's lock
 * is taken under head.lock (node take/give), never the other way.
 *
 * Layer: store. May call: base, xproc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_disk.h"

/* The region's layout (xproc_join checks every member's against the
 * first's) follows the geometry: user_bytes from files_max and
 * data_blocks, arena_max from data_blocks. So a member whose store file
 * has another geometry is refused there, and the head keeps none. */
struct store_region_head {
	struct xproc_lock lock;			/* store.lock */
	struct xproc_lock checkpoint_lock;	/* store.checkpoint_lock */
	_Atomic uint32_t loaded;		/* meta holds the store (lock) */
};

#define STORE_REGION_META 4096u	/* the metadata's offset in the user area */

/* The arena may hold this many node bytes per data block on top of a
 * floor: a dense block map needs about 9 (a 560-byte leaf per 64 blocks). */
#define STORE_ARENA_PER_BLOCK 64u
#define STORE_ARENA_FLOOR (64ull << 20)

/* Repair the metadata after its lock's holder died: finish a rename, fix
 * the maps' roots, count the files, the blocks of the file it was changing
 * (changing_slot), the pending frees and the free blocks again: the cost
 * follows the bitmaps and that one file, not every map. Blocks the dead
 * process had taken but not named stay used until the store is loaded
 * anew. Context: head.lock held. */
static void shared_recover(struct store *s)
{
	struct store_meta *m = s->m;
	uint32_t files = 0;

	for (uint32_t i = 0; i < s->files_max; i++) {
		struct store_file *f = &s->file[i];

		radix_root_repair(s->space, &f->map);
		/* The name is whole in a record in use, but for a rename,
		 * finished below; a NUL keeps a torn one a string. */
		f->name[STORE_NAME_MAX] = '\0';
		files += f->in_use;
	}
	if (m->changing_slot && m->changing_slot <= s->files_max) {
		struct store_file *f = &s->file[m->changing_slot - 1];
		uint64_t fblock = 0, blocks = 0;

		for (; radix_next(s->space, &f->map, &fblock); fblock++) {
			blocks++;
			if (fblock == UINT64_MAX)
				break;
		}
		f->blocks = blocks;
	}
	m->changing_slot = 0;
	m->files = files;
	m->rename_name[STORE_NAME_MAX] = '\0';
	__store_rename_finish(s);
	if (m->pending_cur > 1)
		m->pending_cur = 0;
	__store_pending_recount(s, 0);
	__store_pending_recount(s, 1);
	__store_count_free(s);
	__store_meta_changed(s);
	m->recoveries++;
}

static void shared_lock(struct store *s)
{
	/* A fork child never gets here: the library refuses its handles. */
	if (xproc_lock(s->region, &s->head->lock) == XPROC_LOCK_RECOVERED)
		shared_recover(s);
}

static void shared_unlock(struct store *s)
{
	xproc_unlock(s->region, &s->head->lock);
}

/* A dead checkpointer may have set aside the frees its checkpoint was to
 * commit (the bitmap other than pending_cur): they wait for the next. And
 * it may have died after its superblock reached the disk but before it
 * said so here (generation, active_area, super_slot), or half way through
 * saying so: the next checkpoint must write the area and slot the newest
 * sealed superblock does not name, so they are read from the disk again
 * (two superblocks, nothing allocated: this may run in a fault). */
static void shared_checkpoint_lock(struct store *s)
{
	struct disk_super sb;
	uint32_t slot;

	if (xproc_lock(s->region, &s->head->checkpoint_lock) != XPROC_LOCK_RECOVERED)
		return;
	shared_lock(s);
	__store_pending_merge_back(s, s->m->pending_cur ^ 1);
	shared_unlock(s);
	if (disk_super_newest(s->fd, &sb, &slot) == 0) {
		s->m->generation = sb.generation;
		s->m->active_area = sb.active_area;
		s->m->super_slot = slot;
	}
}

static void shared_checkpoint_unlock(struct store *s)
{
	xproc_unlock(s->region, &s->head->checkpoint_lock);
}

static const struct store_lock_ops shared_lock_ops = {
	.lock = shared_lock,
	.unlock = shared_unlock,
	.checkpoint_lock = shared_checkpoint_lock,
	.checkpoint_unlock = shared_checkpoint_unlock,
};

/* Fill the region's metadata from the store file, unless members did.
 * The file is read again here, under the lock: what the load read before
 * it joined may be older than a checkpoint members made and left after.
 * Context: head.lock held. */
static int shared_meta_use(struct store *s, struct store_error *why)
{
	struct store_region_head *head = s->head;
	struct disk_store ds;
	int ret;

	if (atomic_load_explicit(&head->loaded, memory_order_acquire)) {
		*why = (struct store_error){ "" };
		return 0;
	}
	/* None loaded it, or its loader died half way (its nodes are lost). */
	ret = store_read_checked(s, 0, &ds, why);
	if (ret)
		return ret;
	memset(s->m, 0, s->meta_bytes);
	ret = store_meta_fill(s, &ds);
	free(ds.area);
	if (ret) {
		store_error_set(why, "no room for the store's block maps in its shared region");
		return ret;
	}
	atomic_store_explicit(&head->loaded, 1, memory_order_release);
	*why = ds.fell_back ? ds.note : (struct store_error){ "" };
	return 0;
}

int store_load_shared(const char *path, unsigned flags, store_callers_bytes_fn callers_bytes,
		      xproc_apply_fn apply, void *ctx, struct store **out, struct store_error *why)
{
	uint64_t callers, callers_at;
	struct store_meta_layout meta;
	struct xproc_layout layout;
	struct disk_super sb;
	struct store *s;
	uint32_t slot;
	char *user;
	int ret;

	/* The geometry from a superblock only: members may be checkpointing
	 * (an area read now could be torn); the whole store is read under
	 * the region's lock, by the member that fills the region. */
	ret = store_open_file(path, flags, STORE_OPENER_MEMBER, &s, why);
	if (ret)
		return ret;
	ret = disk_super_newest(s->fd, &sb, &slot);
	if (ret) {
		struct disk_store ds;

		/* Say what is wrong as a load would. */
		ret = store_read_checked(s, 0, &ds, why);
		if (!ret) {
			free(ds.area);
			store_error_set(why, "no superblock of the store could be read whole");
			ret = -EUCLEAN;
		}
	} else {
		ret = store_geometry_set(s, &sb);
	}
	if (ret)
		goto err_close;
	store_meta_layout(s->files_max, s->data_blocks, &meta);
	callers_at = (STORE_REGION_META + meta.bytes + 63) & ~63ull;
	callers = callers_bytes ? callers_bytes(s->files_max) : 0;
	if (callers > XPROC_LAYOUT_BYTES_MAX) {
		store_error_set(why, "the region's callers' area is too large");
		ret = -EINVAL;
		goto err_close;
	}
	layout = (struct xproc_layout){
		.user_bytes = callers_at + callers,
		.node_bytes = sizeof(struct radix_node),
		.arena_max = STORE_ARENA_FLOOR + s->data_blocks * STORE_ARENA_PER_BLOCK,
	};
	ret = xproc_join(s->fd, path, &layout, apply, ctx, &s->region, why->text,
			 sizeof(why->text));
	if (ret)
		goto err_close;
	user = xproc_user_area(s->region);
	s->head = (struct store_region_head *)user;
	store_meta_place(s, user + STORE_REGION_META);
	s->callers_area = callers ? user + callers_at : NULL;
	s->arena_space = xproc_arena_space(s->region);
	s->space = &s->arena_space;
	s->lock_ops = &shared_lock_ops;
	store_lock(s);
	ret = shared_meta_use(s, why);
	store_unlock(s);
	if (ret)
		goto err_leave;
	*out = s;
	return 0;

err_leave:
	xproc_leave(s->region);
err_close:
	store_close_disk(s);
	return ret;
}

/* Free a private store's metadata: its maps' nodes and the arrays. */
static void meta_free(struct store *s)
{
	for (uint32_t i = 0; i < s->files_max; i++)
		radix_destroy(s->space, &s->file[i].map);
	free(s->m);
}

int store_load(const char *path, unsigned flags, struct store **out, struct store_error *why)
{
	struct store_meta_layout layout;
	struct disk_store ds;
	struct store *s;
	void *meta;
	int ret;

	ret = store_open_disk(path, flags, flags & UDAX_STORE_RDONLY ? STORE_OPENER_READER
			      : STORE_OPENER_ALONE, &s, &ds, why);
	if (ret)
		return ret;
	store_meta_layout(s->files_max, s->data_blocks, &layout);
	meta = calloc(1, layout.bytes);
	if (!meta) {
		ret = -ENOMEM;
		goto err_close;
	}
	store_meta_place(s, meta);
	ret = store_meta_fill(s, &ds);
	if (ret) {
		meta_free(s);
		goto err_close;
	}
	free(ds.area);
	*why = ds.fell_back ? ds.note : (struct store_error){ "" };
	*out = s;
	return 0;

err_close:
	free(ds.area);
	store_close_disk(s);
	return ret;
}

void store_unload(struct store *s)
{
	if (s->region)
		xproc_leave(s->region);
	else
		meta_free(s);
	store_close_disk(s);
}
