/* SPDX-License-Identifier: MIT */
/*
 * store.h - the reference store: one backing file holding a superblock, a
 * file table, per-file block maps and 4 KiB data blocks.
 *
 * On-disk layout (block = 4096 bytes, little-endian host order):
 *
 *   block 0, 1     superblock slots, written alternately: the valid one
 *                  with the higher generation wins, unless its area is
 *                  damaged and the other's is not
 *   area 0, area 1 metadata areas: file table (files_max records of 512
 *                  bytes) then the extent array (16 bytes per extent); the
 *                  superblock names the active one and its checksum
 *   data_start..   data blocks, data_start aligned to 2 MiB
 *
 * A checkpoint (store_checkpoint) writes the whole metadata to the inactive
 * area, syncs it, then writes the superblock slot not in use: the store on
 * disk is always the last complete checkpoint.
 *
 * Layer: store. May call: base (locks, the radix tree of block maps), xproc
 * (a store several processes share: store_shared.c).
 */
#ifndef UDAX_STORE_H
#define UDAX_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/lock.h"
#include "base/radix.h"
#include "udax.h"
#include "xproc/xproc.h"

#define STORE_BLOCK_SIZE 4096u
#define STORE_BLOCK_SHIFT 12
#define STORE_GROUP_BLOCKS 512u		/* 2 MiB: the PMD size */
#define STORE_NAME_MAX UDAX_NAME_MAX
#define STORE_FILES_MAX 1024u
#define STORE_MAX_BLOCKS (1ull << 32)	/* 32-bit block numbers: 16 TiB */
#define STORE_FILE_MAX_BYTES (1ull << 46)	/* 64 TiB */
/* Version 2 stores have directories; a store whose table holds none is
 * written as version 1, which is the same format with every entry a file
 * of the root, so that a udax without directories still reads it. */
#define STORE_VERSION 2u
#define STORE_VERSION_FLAT 1u
#define STORE_MAGIC "UDAXSTOR"
/* Superblock flags. PREALLOC: the whole file was reserved on the host at
 * creation; freed blocks keep their host space (no punching). */
#define STORE_FLAG_PREALLOC 0x1u

/* Reason texts come back through this buffer (one line). */
struct store_error {
	char text[512];
};

struct store;

/* The writes and flushes a loaded store makes to its backing file
 * (store_io.c); a test build swaps them to record every one. Each returns
 * 0 or -errno. */
struct store_io_ops {
	int (*write)(struct store *s, const void *buf, size_t len, uint64_t off);
	int (*sync)(struct store *s);			/* fdatasync */
	int (*zero)(struct store *s, uint64_t off, uint64_t len);
	int (*discard)(struct store *s, uint64_t off, uint64_t len);
	/* bring [off, off+len) into the page cache as one large folio (a hint) */
	void (*cache_large)(struct store *s, uint64_t off, uint64_t len);
};

extern const struct store_io_ops store_io_default;

/* What an entry of the file table is. */
enum store_type {
	STORE_TYPE_FILE = 0,	/* a file: size, blocks, a block map */
	STORE_TYPE_DIR = 1,	/* a directory: entries name it as parent */
};

/* The parent of the root's entries. Other parents are a directory's slot
 * + 1 (store_parent_of_slot()). */
#define STORE_PARENT_ROOT 0u

static inline uint32_t store_parent_of_slot(int slot)
{
	return (uint32_t)slot + 1;
}

/* A file or directory of the store as kept in memory. Protected by
 * store.lock. name is the last component of its path; parent says in
 * which directory it is. */
struct store_file {
	bool in_use;
	uint8_t type;		/* enum store_type */
	uint32_t parent;	/* STORE_PARENT_ROOT or a directory's slot + 1 */
	char name[STORE_NAME_MAX + 1];
	uint64_t size;
	uint64_t blocks;	/* allocated data blocks */
	uint64_t birth;		/* drawn when the entry was made, kept on disk
				   (0: made before udax 0.4): with the slot,
				   which file this is (udax_file_id()) */
	struct radix_tree map;	/* file block -> store block */
};

/*
 * What the processes sharing a store share of it (issue 14, stage 2: in the
 * store's region; a store only this process uses has it in its own memory).
 * It holds no address: the arrays are at offsets from the struct
 * (store_meta_place()), and the block maps' nodes are refs into the
 * store's radix_space.
 *
 * Pending frees: a block freed by truncate, punch or unlink stays marked
 * used and is set in pending[pending_cur]. A checkpoint's snapshot flips
 * pending_cur, so the frees before it are in the other bitmap; once the
 * checkpoint is committed they are released (allocatable again), or, if it
 * failed, merged back into pending[pending_cur] for the next one. Bitmaps,
 * not a list: a free never needs memory, at vm.max_map_count or in the
 * fault handler, and the region's size is fixed by the store's geometry.
 * Each has a summary, pending_sum, with a bit per word (4,096 blocks) that
 * may hold a pending bit, set before the bit and cleared after the word: a
 * release or merge visits the words that hold frees, not the whole store.
 */
struct store_meta {
	/* checkpoint_lock */
	uint64_t generation;
	uint32_t active_area;
	uint32_t super_slot;	/* the slot of the superblock in use; a
				   checkpoint writes the other */
	/* store.lock: everything below */
	uint32_t files;
	uint32_t pending_cur;
	uint64_t group_cursor;	/* next group to try for a fresh extent */
	uint64_t blocks_free;
	uint64_t groups_empty;	/* groups with all their blocks free */
	uint64_t pending_count[2];
	uint64_t meta_changes;	/* bumped by every metadata change */
	uint64_t meta_committed;	/* meta_changes of the last checkpoint */
	uint64_t recoveries;		/* recoveries of store.lock (shared store) */
	/* The file whose map and block count a holder of store.lock is
	 * changing: slot + 1, or 0 (__store_file_changing()). After a death,
	 * only its block count needs counting again. */
	uint32_t changing_slot;
	/* A rename in progress (__store_file_rename()): slot + 1, or 0, with
	 * the entry it replaces (slot + 1, or 0). A process killed while it
	 * changes the records leaves it here, and the next holder of
	 * store.lock finishes it (__store_rename_finish()). */
	uint32_t rename_slot;
	uint32_t rename_victim;
	uint32_t rename_parent;
	char rename_name[STORE_NAME_MAX + 1];
};

/* Bytes of a store_meta with its arrays for this geometry, and where each
 * array lives (offsets from the struct, 64-byte aligned). */
struct store_meta_layout {
	uint64_t file, used, pending[2], pending_sum[2], group_free;
	uint64_t bytes;
};

void store_meta_layout(uint32_t files_max, uint64_t data_blocks, struct store_meta_layout *l);
/* Point s's metadata (m and the arrays) at meta, laid out for s's geometry
 * (files_max and data_blocks set). */
void store_meta_place(struct store *s, void *meta);
/* Set the free counts (per group, blocks_free, groups_empty) from the
 * bitmap of used blocks. Context: store.lock held, or the store loading. */
void __store_count_free(struct store *s);

/*
 * lock protects the shared metadata (m and the arrays beside it): file
 * table, block maps, allocator, pending frees. It is taken by the fault
 * path (block lookup and allocation) under an entry lock, never the other
 * way round, and never held across application memory access or I/O: a
 * new block is zeroed between being taken in the bitmap and being named in
 * a map (store_alloc.c); a checkpoint holds it only to take its snapshot
 * (store_format.c).
 */
struct store {
	int fd;
	bool rdonly;		/* UDAX_STORE_RDONLY: fd is O_RDONLY, no writes */
	uint32_t flags;		/* STORE_FLAG_* of the superblock */
	const struct store_io_ops *io;	/* store_io_default unless a test swaps it */
	uint64_t store_blocks;
	uint64_t data_start;
	uint64_t data_blocks;
	uint64_t area_start[2];
	uint64_t area_blocks;
	uint32_t files_max;
	uint64_t groups;
	/* Checkpoint buffers, kept from one checkpoint to the next
	 * (checkpoint_lock): a checkpoint allocates nothing unless the
	 * extents outgrow ckpt_ext, so it works in the fault handler
	 * (MAP_SYNC) and at vm.max_map_count, where mmap fails. */
	uint8_t *ckpt_table;
	struct disk_extent *ckpt_ext;
	uint64_t ckpt_ext_cap;

	/* store_lock() and store_checkpoint_lock() take these, or, for a
	 * store shared by processes, their twins in the region (head). */
	struct mutex checkpoint_lock;	/* see store_format.c */
	struct mutex lock;
	const struct store_lock_ops *lock_ops;	/* shared: the region's locks */
	struct xproc_region *region;	/* shared: this process's membership */
	struct store_region_head *head;	/* shared: the locks, in the region */
	struct radix_space arena_space;	/* shared: the region's node arena */
	void *callers_area;	/* shared: the callers' part of the region */

	/* The shared metadata and its arrays (store_meta_place()). */
	struct store_meta *m;
	uint64_t meta_bytes;
	struct store_file *file;	/* files_max of them */
	uint64_t *used;		/* bitmap of data blocks, 1 = allocated */
	uint64_t *pending[2];	/* bitmaps of pending frees */
	uint64_t *pending_sum[2];	/* a bit per word of pending: maybe not 0 */
	uint16_t *group_free;	/* free blocks per 2 MiB group */
	const struct radix_space *space;	/* where the block maps' nodes live */
};

/*
 * store.lock and store.checkpoint_lock (the order: checkpoint first).
 * Private store: the mutexes. Shared store: the region's xproc locks,
 * through lock_ops (store_open.c); a taker that finds the holder dead
 * repairs what it protects first. Async-signal-safe (the fault path).
 */
struct store_lock_ops {
	void (*lock)(struct store *s);
	void (*unlock)(struct store *s);
	void (*checkpoint_lock)(struct store *s);
	void (*checkpoint_unlock)(struct store *s);
};

static inline void store_lock(struct store *s)
{
	if (s->lock_ops)
		s->lock_ops->lock(s);
	else
		mutex_lock(&s->lock);
}

static inline void store_unlock(struct store *s)
{
	if (s->lock_ops)
		s->lock_ops->unlock(s);
	else
		mutex_unlock(&s->lock);
}

static inline void store_checkpoint_lock(struct store *s)
{
	if (s->lock_ops)
		s->lock_ops->checkpoint_lock(s);
	else
		mutex_lock(&s->checkpoint_lock);
}

static inline void store_checkpoint_unlock(struct store *s)
{
	if (s->lock_ops)
		s->lock_ops->checkpoint_unlock(s);
	else
		mutex_unlock(&s->checkpoint_lock);
}

/* The bytes of region memory a shared store's callers keep beside its
 * metadata for a store of files_max file slots (their page indexes and
 * shared files: the store does not know their types). */
typedef uint64_t (*store_callers_bytes_fn)(uint32_t files_max);

/*
 * store_load_shared - load the store at path for several processes at
 * once (issue 14, stages 2-3): join its region (xproc_join with apply/ctx,
 * the invalidations of this process's mappings), and if no member holds
 * the metadata yet, load it from the store file (read under the region's
 * lock: the newest checkpoint) into the region; else use the members'.
 * The region also holds callers_bytes(files_max) bytes for the callers
 * (NULL: none), 64-byte aligned, zeroed when the region was made, at
 * (*out)->callers_area.
 * flags: 0 or UDAX_STORE_RDONLY (this member never writes the store
 * file). flock(LOCK_SH): a private writer (store_load) and a member
 * exclude each other; so do a private reader and a member (the store
 * file's reader and member bytes, xproc.h). Return: 0 (why as store_load() says it for the loader, else
 * ""), or as store_load() and xproc_join() (-EUCLEAN also: the region
 * was made for another geometry, or the store file's changed), -EINVAL
 * (callers_bytes too large).
 */
int store_load_shared(const char *path, unsigned flags, store_callers_bytes_fn callers_bytes,
		      xproc_apply_fn apply, void *ctx, struct store **out, struct store_error *why);

/* Create a store file; flags: 0 or UDAX_STORE_PREALLOC (reserve the whole
 * file on the host: -ENOSPC if the host cannot hold it). */
int store_format(const char *path, uint64_t size_bytes, unsigned flags,
		 struct store_error *why);
/* store_format() with a file table of files_max records (1 ..
 * STORE_FILES_MAX): small stores for the fuzzer. */
int store_format_files(const char *path, uint64_t size_bytes, uint32_t files_max,
		       unsigned flags, struct store_error *why);
/* Load the store at path; flags: 0 or UDAX_STORE_RDONLY. Return: 0 or
 * -errno with the reason in why; on success why is "" or says that the
 * store was loaded from its older superblock slot (the newest one's area
 * is damaged). */
int store_load(const char *path, unsigned flags, struct store **out, struct store_error *why);
/* Write a checkpoint, then release the blocks freed before it.
 * Return: 0 or -errno: -EROFS for a read-only store; -EIO, with nothing
 * written, if the backing file is shorter than the store (truncated under
 * it). */
int store_checkpoint(struct store *s);
/* Make all data durable: a checkpoint if metadata changed since the last
 * one, else only fdatasync(); nothing for a read-only store.
 * Return: 0 or -errno (-EIO as above). */
int store_sync(struct store *s);
/* Bracket a change of file slot's map and block count, so that a process
 * killed inside it leaves the file to recount named (store_open.c).
 * Context: store.lock held. */
static inline void __store_file_changing(struct store *s, int slot)
{
	s->m->changing_slot = (uint32_t)slot + 1;
	death_order();
}

static inline void __store_file_changed(struct store *s)
{
	death_order();
	s->m->changing_slot = 0;
}

/* Record a metadata change (size). Context: store.lock held. */
static inline void __store_meta_changed(struct store *s)
{
	s->m->meta_changes++;
}
void store_unload(struct store *s);

/* Check the on-disk store at path without opening it for use; with
 * UDAX_CHECK_REPAIR in flags, repair it if it can be loaded (see
 * udax_store_check()). Return: 0 clean, with "" or a warning or what was
 * repaired in why; -EUCLEAN/-EINVAL/-errno with the first problem in why. */
int store_check_path(const char *path, unsigned flags, struct store_error *why);

/* store_load() flag (beside UDAX_STORE_RDONLY): load a store whose
 * directory structure is damaged and reattach the entries cut off from the
 * root under its lost+found directory (store_tree.c); for the repair. */
#define STORE_LOAD_TREE_REPAIR 0x100
#define STORE_LOST_FOUND "lost+found"

/* The file table as a tree (store_tree.c). A path is components of 1..255
 * bytes joined by single '/' (store_path_problem()). Context: store.lock
 * held. */
/* The directory path's last component lives in: *parent gets it and
 * *leaf points at the last component in path. Return: 0, -ENOENT (a
 * directory on the way does not exist) or -ENOTDIR (one is a file). */
int __store_parent_find(struct store *s, const char *path, uint32_t *parent,
			const char **leaf);
/* Return: the slot of the entry name in directory parent, or -ENOENT. */
int __store_child_find(struct store *s, uint32_t parent, const char *name);
/* Return: the slot path names, or -ENOENT / -ENOTDIR as the kernel's
 * lookup says. */
int __store_file_find(struct store *s, const char *path);
/* Add an entry called name of type to directory parent.
 * Return: its slot, or -ENOSPC (the table is full). */
int __store_file_create(struct store *s, uint32_t parent, const char *name,
			enum store_type type);
/* Move entry slot to directory parent under name, removing entry victim
 * (or nothing: -1) first. A process killed half way leaves it to
 * __store_rename_finish(), which completes a rename in progress. */
void __store_file_rename(struct store *s, int slot, int victim, uint32_t parent,
			 const char *name);
void __store_rename_finish(struct store *s);
/* Remove an entry (a directory must be empty), freeing a file's blocks. */
void __store_file_remove(struct store *s, int slot);
/* Whether directory slot has no entries. */
bool __store_dir_empty(struct store *s, int slot);
/* Whether directory slot dir is parent or one of its ancestors. */
bool __store_dir_contains(struct store *s, int dir, uint32_t parent);
/* Reattach the entries cut off from the root (their parent missing, a
 * file, or a cycle) to STORE_LOST_FOUND, named "#slot". Context: the store
 * is loaded for the repair only. Return: the entries moved, or -errno. */
int store_tree_repair(struct store *s);
/* Which rule path breaks (components of 1..255 bytes joined by single
 * '/', none "." or ".."), or NULL if it is a valid path. */
const char *store_path_problem(const char *path);
#define STORE_PATH_RULE "a path is components of 1..255 bytes joined by single '/', none " \
	"of them '.' or '..'"
#define STORE_PATH_MAX 4095	/* bytes in a path, without the NUL */

/*
 * The check of a table's tree, shared by the on-disk check and the
 * repair: n entries, kind[i] 0 (free), 1 + enum store_type; parent[i] as
 * struct store_file's. Every entry must reach the root through
 * directories. The entries whose link to their parent must be cut for
 * that (parent free, out of range or a file; one entry of each cycle) go
 * to broken (up to n), with the first problem in why.
 * Return: how many there are. Uses parent as scratch.
 */
uint32_t store_tree_breaks(uint32_t n, const uint8_t *kind, uint32_t *parent,
			   uint32_t *broken, struct store_error *why);

/* What store_get_block() does for a hole. */
enum store_get {
	STORE_LOOKUP,		/* nothing: return 0 */
	STORE_ALLOCATE,		/* allocate a zeroed block */
	STORE_ALLOCATE_STREAM,	/* the same, for a writer that will write the
				   rest of the block's 2 MiB group soon (a
				   sequential or large write): a block that
				   opens a wholly free group first brings the
				   group into the page cache as one 2 MiB
				   folio, which the block's zeroing and the
				   writes that follow land in, so that a
				   mapping can later map it with one PMD */
};

/*
 * Map file block fblock of file slot to a store block, allocating one for
 * a hole as how says. A new block is zeroed before it is named, reserving
 * its host space (FALLOC_FL_ZERO_RANGE; for STORE_ALLOCATE_STREAM written
 * zeros, which land in the large folio instead of splitting it).
 * Return: the block (> 0), 0 for a hole (STORE_LOOKUP), -ENOSPC (store or
 * host full), -ENOMEM or -EIO.
 * Context: takes store.lock; caller holds the entry lock of the page when
 * allocating, so that one page is never allocated twice. Async-signal-safe.
 */
int64_t store_get_block(struct store *s, int slot, uint64_t fblock, enum store_get how);

/*
 * A run of new blocks written before anyone can see them (udax_pwrite):
 * store_reserve_run() takes up to n blocks for the holes of file slot from
 * fblock on, inside fblock's 2 MiB window, contiguous in the store (the
 * first placed as store_get_block() places it; how as there), without
 * naming them in the file's map: nobody can find them, so they need no
 * zeroing pass if the caller writes them whole. store_name_run() names the
 * count blocks from block once written (Return: 0, or -ENOMEM, or -EAGAIN:
 * another process sharing the store filled one of the holes first; then
 * they are all released); store_release_run() gives them back unnamed, their
 * contents discarded.
 * Return: the first block with *count >= 1; 0 if fblock is no hole (any
 * more: a write that ran before the caller's entry lock filled it); or
 * -ENOSPC. Context: the caller holds the entry lock covering the run.
 */
int64_t store_reserve_run(struct store *s, int slot, uint64_t fblock, uint64_t n,
			  enum store_get how, uint64_t *count);
int store_name_run(struct store *s, int slot, uint64_t fblock, uint64_t block, uint64_t count);
void store_release_run(struct store *s, uint64_t block, uint64_t count);

/*
 * The run of file block fblock: if it is mapped, return its store block and
 * set *run to how many blocks from fblock (at most max) follow it
 * contiguously in the store; if it is a hole, return 0 and set *run to how
 * many holes (at most max) start there.
 * Context: takes store.lock.
 */
int64_t store_map_run(struct store *s, int slot, uint64_t fblock, uint64_t max,
		      uint64_t *run);

/* Whether the 2 MiB extent from block may hold data other than zeros
 * (compat_range_has_data()): never written since it was zeroed, it does
 * not. Async-signal-safe. */
bool store_extent_has_data(struct store *s, uint64_t block);
/* Whether the n blocks from block are all in the page cache
 * (compat_range_cached()). Async-signal-safe. */
bool store_range_cached(struct store *s, uint64_t block, uint64_t n);
/*
 * Allocate one 2 MiB extent (a wholly free, aligned group) for the
 * STORE_GROUP_BLOCKS holes from fblock (aligned) of the file, zeroed before
 * any map names it. Only while the store keeps a reserve of free groups
 * (STORE_EXTENT_RESERVE), so that sparse writes cannot use up the store
 * with mostly empty extents: 4 KiB allocation takes over.
 * Return: the first block; 0 if no extent is to be had (not all holes, no
 * free group, reserve reached, or no host space to zero it in: that is
 * given back, and 4 KiB blocks may still fit); -ENOMEM or -EIO.
 * Context: takes store.lock; the caller holds the entry lock covering
 * those file blocks.
 */
int64_t store_alloc_extent(struct store *s, int slot, uint64_t fblock);
#define STORE_EXTENT_RESERVE 8	/* 1/8 of the groups stay for 4 KiB blocks */

/* Name block as file block fblock in map (a file's block map), taking the
 * nodes it needs from the store's space. Return: 0, -ENOMEM, or -EEXIST if
 * the map names a block there already (another process sharing the store
 * allocated it first). */
int store_map_insert(struct store *s, struct radix_tree *map, uint64_t fblock, uint64_t block);

/* Return a block to the allocator (bitmap and counters).
 * Context: store.lock held. */
void __store_block_release(struct store *s, uint64_t block);

/* Extents' room kept allocated on the host beyond what a checkpoint writes
 * (store_format.c): 16,384 extents, 256 KiB per metadata area. */
#define STORE_AREA_MARGIN 16384
/* Pending frees (store_meta.c; see struct store_meta). Context: store.lock
 * held. Remember a freed block (still marked used) until a checkpoint
 * commits its freeing; release the blocks of pending[which] (their host
 * space given back one contiguous run at a time); merge pending[which]
 * back into pending[pending_cur] (its checkpoint failed or died); count
 * pending[which] again from its bits (after a death). Each costs what the
 * words holding frees cost, through pending_sum. */
void __store_pending_add(struct store *s, uint64_t block);
void __store_pending_release(struct store *s, unsigned which);
void __store_pending_merge_back(struct store *s, unsigned which);
void __store_pending_recount(struct store *s, unsigned which);

/* Give the host space of every free data block back (a repair: a crash
 * may leave blocks zeroed on the host that no checkpoint names; a
 * preallocated store keeps its space). Return: blocks given back.
 * Context: the store is loaded for the repair only (no lock taken). */
uint64_t store_give_back_free(struct store *s);

/* Free the blocks of [first, last] of the file's map (a truncate or punch);
 * they become allocatable after the next checkpoint. Context: takes lock. */
void store_free_range(struct store *s, int slot, uint64_t first, uint64_t last);

/* Byte offset of a block in the backing file. */
static inline uint64_t store_block_offset(uint64_t block)
{
	return block << STORE_BLOCK_SHIFT;
}

/* Helpers shared by the store's files. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
void store_error_set(struct store_error *why, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* fork() of a process with stores open (api/fork.c calls these from its
 * pthread_atfork handlers): prepare takes the lock of the list of store
 * descriptors (store_fd.c), parent releases it, child closes every listed
 * descriptor (the child must keep none of the parent's flock and lock
 * bytes) and releases it. */
void store_fd_fork_prepare(void);
void store_fd_fork_parent(void);
void store_fd_fork_child(void);

#endif /* UDAX_STORE_H */
