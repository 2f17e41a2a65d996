// SPDX-License-Identifier: MIT
/*
 * store_format.c - creating, loading, checkpointing and closing a store.
 *
 * Locks: store.checkpoint_lock serializes checkpoints and protects the
 * superblock state (generation, active area, superblock slot).
 * store_checkpoint() holds store.lock (see store.h) only to snapshot the
 * metadata, one consistent instant, and to release the frees it committed;
 * the writes and the two fdatasync() calls run without it, so faults keep
 * allocating meanwhile.
 * Order: checkpoint_lock -> store.lock. Loading and unloading run
 * single-threaded (the store is not published yet / no longer in use).
 * One writer at a time: store_load() holds flock(LOCK_EX) on the backing
 * file until store_unload(); read-only loads share it with LOCK_SH.
 *
 * Layer: store. May call: base, store_disk.c, store_alloc.c, store_io.c,
 * store_fd.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/compat.h"
#include "store/store_disk.h"

#define STORE_MIN_BYTES (4ull << 20)
#define STORE_MAX_BYTES (16ull << 40)	/* 32-bit block numbers */

static uint64_t round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

static int write_full(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done;

	return compat_io_full(fd, (void *)buf, len, off, true, &done);
}

static void super_seal(struct disk_super *sb)
{
	sb->super_crc = 0;
	sb->super_crc = crc32c(0, sb, sizeof(*sb));
}

/* Seal sb into a superblock slot's block image. */

/* Allocate all bytes of the new store file fd on the host. A host without
 * that much free space is refused at once, rather than filled up before
 * fallocate fails. Return: 0 or -errno. */
static int store_reserve(int fd, uint64_t bytes)
{
	struct statvfs v;

	if (fstatvfs(fd, &v) == 0 && (uint64_t)v.f_bavail * v.f_frsize < bytes)
		return -ENOSPC;
	return fallocate(fd, 0, 0, (off_t)bytes) == 0 ? 0 : -errno;
}

/* Bytes of a metadata area to hold allocated on the host for a
 * checkpoint of `extents` extents: the file table, the extents, and
 * STORE_AREA_MARGIN more extents' room (or the whole area if smaller). */
static uint64_t area_reserve_bytes(uint32_t files_max, uint64_t area_blocks, uint64_t extents)
{
	uint64_t want = disk_table_bytes(files_max) +
			(extents + STORE_AREA_MARGIN) * sizeof(struct disk_extent);
	uint64_t area = store_block_offset(area_blocks);

	return want < area ? want : area;
}

int store_format(const char *path, uint64_t size_bytes, unsigned flags,
		 struct store_error *why)
{
	return store_format_files(path, size_bytes, STORE_FILES_MAX, flags, why);
}

int store_format_files(const char *path, uint64_t size_bytes, uint32_t files_max,
		       unsigned flags, struct store_error *why)
{
	struct disk_super sb = { .version = STORE_VERSION_FLAT,
				 .block_size = STORE_BLOCK_SIZE,
				 .files_max = files_max,
				 .flags = flags & UDAX_STORE_PREALLOC ? STORE_FLAG_PREALLOC : 0 };
	uint64_t table_bytes = disk_table_bytes(files_max);
	uint8_t *zeros;
	int fd, ret;

	if (size_bytes < STORE_MIN_BYTES || size_bytes > STORE_MAX_BYTES) {
		store_error_set(why, "store size must be between 4 MiB and 16 TiB");
		return -EINVAL;
	}
	if (files_max == 0 || files_max > STORE_FILES_MAX) {
		store_error_set(why, "file table must hold 1 to %u files", STORE_FILES_MAX);
		return -EINVAL;
	}
	memcpy(sb.magic, STORE_MAGIC, sizeof(sb.magic));
	sb.store_blocks = size_bytes / STORE_BLOCK_SIZE / STORE_GROUP_BLOCKS *
			  STORE_GROUP_BLOCKS;
	sb.area_blocks = round_up(table_bytes + sb.store_blocks * sizeof(struct disk_extent),
				  STORE_BLOCK_SIZE) / STORE_BLOCK_SIZE;
	sb.area_start[0] = 2;
	sb.area_start[1] = 2 + sb.area_blocks;
	sb.data_start = round_up(2 + 2 * sb.area_blocks, STORE_GROUP_BLOCKS);
	if (sb.data_start >= sb.store_blocks) {
		store_error_set(why, "store size too small for its metadata");
		return -EINVAL;
	}
	sb.data_blocks = sb.store_blocks - sb.data_start;
	zeros = calloc(1, table_bytes);
	if (!zeros)
		return -ENOMEM;
	sb.meta_crc = crc32c(0, zeros, table_bytes);
	free(zeros);

	fd = compat_open_backing(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0) {
		store_error_set(why, "cannot create %s: %s", path, strerror(-fd));
		return fd;
	}
	ret = ftruncate(fd, (off_t)(sb.store_blocks * STORE_BLOCK_SIZE)) ? -errno : 0;
	if (!ret && (sb.flags & STORE_FLAG_PREALLOC)) {
		ret = store_reserve(fd, sb.store_blocks * STORE_BLOCK_SIZE);
		if (ret) {
			store_error_set(why, "cannot reserve %llu MiB for %s on the host: %s",
					(unsigned long long)(sb.store_blocks >> 8), path,
					strerror(-ret));
			close(fd);
			unlink(path);
			return ret;
		}
	}
	/* The host space checkpoints write, taken now: a full host must not
	 * stop the checkpoint that frees blocks (unlink, punch, truncate). */
	for (int i = 0; i < 2 && !ret; i++) {
		ret = compat_reserve_range(fd, store_block_offset(sb.area_start[i]),
					   area_reserve_bytes(sb.files_max, sb.area_blocks, 0));
		if (ret)
			store_error_set(why, "cannot reserve host space for the metadata of %s: %s",
					path, strerror(-ret));
	}
	/* Both slots valid; generation 1 (slot 1) is the newer. A slot holds
	 * its record at the start of its block, zeros after it. */
	for (sb.generation = 0; !ret && sb.generation < 2; sb.generation++) {
		super_seal(&sb);
		ret = write_full(fd, &sb, sizeof(sb), sb.generation * STORE_BLOCK_SIZE);
	}
	if (!ret && fsync(fd) != 0)
		ret = -errno;
	close(fd);
	if (ret) {
		store_error_set(why, "cannot write %s: %s", path, strerror(-ret));
		unlink(path);
	}
	return ret;
}

/* Build the block maps and the bitmap of used blocks from a validated
 * area. */
static int load_files(struct store *s, const struct disk_super *sb,
		      const uint8_t *area)
{
	const struct disk_extent *ext =
		(const struct disk_extent *)(area + disk_table_bytes(sb->files_max));

	for (uint32_t i = 0; i < sb->files_max; i++) {
		const struct disk_file *df =
			(const struct disk_file *)(area + (uint64_t)i * DISK_FILE_RECORD);
		struct store_file *f = &s->file[i];

		if (!df->in_use)
			continue;
		f->in_use = true;
		f->type = df->type;
		f->parent = df->parent;
		memcpy(f->name, df->name, sizeof(f->name));
		f->size = df->size;
		f->blocks = df->blocks;
		f->birth = df->birth;
		for (uint64_t k = 0; k < df->extent_count; k++) {
			const struct disk_extent *e = &ext[df->extent_first + k];

			for (uint32_t b = 0; b < e->len; b++) {
				uint64_t block = (uint64_t)e->store_block + b;
				uint64_t d = block - s->data_start;
				int ret = store_map_insert(s, &f->map, e->file_block + b, block);

				if (ret)
					return ret;
				s->used[d / 64] |= (uint64_t)1 << (d % 64);
			}
		}
	}
	s->m->files = sb->files;
	return 0;
}

int store_read_checked(struct store *s, unsigned flags, struct disk_store *ds,
			struct store_error *why)
{
	const struct disk_super *sb = &ds->sb;
	int ret = disk_read_store(s->fd, ds, why);

	if (ret)
		return ret;
	ret = disk_store_truncated(ds, why);
	if (!ret && ds->tree_broken && !(flags & STORE_LOAD_TREE_REPAIR)) {
		store_error_set(why, "directory structure is damaged: %u entr%s cut off from the "
				"root (%s); udax fsck --repair reattaches them under "
				STORE_LOST_FOUND, ds->tree_broken, ds->tree_broken > 1 ? "ies" : "y",
				ds->tree_why.text);
		ret = -EUCLEAN;
	}
	if (!ret && s->files_max &&
	    (sb->files_max != s->files_max || sb->data_blocks != s->data_blocks ||
	     sb->data_start != s->data_start || sb->area_start[0] != s->area_start[0] ||
	     sb->area_start[1] != s->area_start[1] || sb->area_blocks != s->area_blocks)) {
		store_error_set(why, "the store's geometry changed under it");
		ret = -EUCLEAN;
	}
	if (ret) {
		free(ds->area);
		ds->area = NULL;
	}
	return ret;
}

int store_open_file(const char *path, unsigned flags, enum store_opener opener,
		    struct store **out, struct store_error *why)
{
	int lock = opener == STORE_OPENER_ALONE ? LOCK_EX : LOCK_SH;
	struct store *s;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	mutex_init(&s->lock);
	mutex_init(&s->checkpoint_lock);
	s->io = &store_io_default;
	s->space = &radix_process_space;
	s->rdonly = flags & UDAX_STORE_RDONLY;
	s->fd = store_fd_open(path, s->rdonly ? O_RDONLY : O_RDWR);
	if (s->fd < 0) {
		ret = s->fd;
		store_error_set(why, "cannot open %s%s: %s%s", path,
				s->rdonly ? "" : " for writing", strerror(-ret),
				!s->rdonly && (ret == -EACCES || ret == -EROFS || ret == -EPERM)
				? "; open it read-only (UDAX_STORE_RDONLY) to read it" : "");
		free(s);
		return ret;
	}
	if (flock(s->fd, lock | LOCK_NB) != 0) {
		ret = errno == EWOULDBLOCK ? -EBUSY : -errno;
		store_error_set(why, s->rdonly ? "store is open for writing by another opener"
					       : "store is in use by another opener");
		store_fd_close(s->fd);
		free(s);
		return ret;
	}
	if (opener == STORE_OPENER_READER) {
		ret = xproc_store_reader_enter(s->fd, why->text, sizeof(why->text));
		if (ret) {
			store_fd_close(s->fd);
			free(s);
			return ret;
		}
	}
	*out = s;
	return 0;
}

int store_geometry_set(struct store *s, const struct disk_super *sb)
{
	s->store_blocks = sb->store_blocks;
	s->data_start = sb->data_start;
	s->data_blocks = sb->data_blocks;
	s->area_start[0] = sb->area_start[0];
	s->area_start[1] = sb->area_start[1];
	s->area_blocks = sb->area_blocks;
	s->files_max = sb->files_max;
	s->flags = sb->flags;
	s->groups = sb->data_blocks / STORE_GROUP_BLOCKS;
	if (s->rdonly)
		return 0;
	/* Memory for checkpoints, taken now: at vm.max_map_count no mmap
	 * would get it later. */
	s->ckpt_table = compat_buf_resize(NULL, 0, disk_table_bytes(s->files_max));
	return s->ckpt_table ? 0 : -ENOMEM;
}

int store_open_disk(const char *path, unsigned flags, enum store_opener opener,
		    struct store **out, struct disk_store *ds, struct store_error *why)
{
	struct store *s;
	int ret = store_open_file(path, flags, opener, &s, why);

	if (ret)
		return ret;
	ret = store_read_checked(s, flags, ds, why);
	if (!ret) {
		ret = store_geometry_set(s, &ds->sb);
		if (ret)
			free(ds->area);
	}
	if (ret) {
		store_close_disk(s);
		return ret;
	}
	*out = s;
	return 0;
}

int store_meta_fill(struct store *s, const struct disk_store *ds)
{
	int ret;

	s->m->super_slot = ds->slot;
	s->m->active_area = ds->sb.active_area;
	s->m->generation = ds->sb.generation;
	ret = load_files(s, &ds->sb, ds->area);
	if (!ret)
		__store_count_free(s);
	return ret;
}

void store_close_disk(struct store *s)
{
	compat_buf_free(s->ckpt_table, disk_table_bytes(s->files_max));
	compat_buf_free(s->ckpt_ext, s->ckpt_ext_cap * sizeof(*s->ckpt_ext));
	store_fd_close(s->fd);
	free(s);
}

/* Extents of one file's map, appended to *ext; at most max in all (the
 * area's room), whatever the map holds. Context: store.lock held.
 * Return: 0, -ENOMEM, or -EUCLEAN if they do not fit. */
static int collect_extents(struct store *s, struct store_file *f, struct disk_extent **ext,
			   uint64_t *count, uint64_t *cap, uint64_t max)
{
	uint64_t fblock = 0, block, first = *count;

	while ((block = radix_next(s->space, &f->map, &fblock))) {
		/* Only this file's last extent grows, never the previous
		 * file's, however contiguous. */
		struct disk_extent *last = *count > first ? &(*ext)[*count - 1] : NULL;

		if (last && last->file_block + last->len == fblock &&
		    (uint64_t)last->store_block + last->len == block && last->len < UINT32_MAX) {
			last->len++;
		} else {
			if (*count == max)
				return -EUCLEAN;
			if (*count == *cap) {
				uint64_t ncap = *cap ? *cap * 2 : 1024;
				void *p = compat_buf_resize(*ext, *cap * sizeof(**ext),
							    ncap * sizeof(**ext));

				if (!p)
					return -ENOMEM;
				*ext = p;
				*cap = ncap;
			}
			(*ext)[(*count)++] = (struct disk_extent){
				.file_block = fblock, .store_block = (uint32_t)block, .len = 1 };
		}
		if (fblock++ == UINT64_MAX)
			break;	/* the last index: the walk would start over */
	}
	return 0;
}

#define SNAP_NOT_TAKEN 2u

/* A consistent image of the metadata, taken under store.lock. */
struct snapshot {
	uint8_t *table;
	struct disk_extent *ext;
	uint64_t count, cap;
	uint32_t files;
	unsigned freed;		/* the pending bitmap this checkpoint commits,
				   SNAP_NOT_TAKEN until the snapshot flipped them */
	uint64_t meta_changes;	/* store.meta_changes at the snapshot */
	bool tree;		/* a directory exists: version 2, else 1 */
};

/* Extent records a metadata area of the store has room for. */
static uint64_t store_extents_max(const struct store *s)
{
	return (s->area_blocks * STORE_BLOCK_SIZE - disk_table_bytes(s->files_max)) /
	       sizeof(struct disk_extent);
}

/* Context: store.lock held. Return: 0, -ENOMEM or -EUCLEAN (the maps do
 * not fit the area: memory corrupted). */
static int snapshot_take(struct store *s, struct snapshot *snap)
{
	for (uint32_t i = 0; i < s->files_max; i++) {
		struct store_file *f = &s->file[i];
		struct disk_file *df =
			(struct disk_file *)(snap->table + (uint64_t)i * DISK_FILE_RECORD);
		int ret;

		if (!f->in_use)
			continue;
		df->in_use = 1;
		df->type = f->type;
		df->parent = f->parent;
		snap->tree |= f->type != STORE_TYPE_FILE || f->parent != STORE_PARENT_ROOT;
		df->name_len = (uint8_t)strlen(f->name);
		memcpy(df->name, f->name, df->name_len);
		df->size = f->size;
		df->blocks = f->blocks;
		df->birth = f->birth;
		df->extent_first = snap->count;
		ret = collect_extents(s, f, &snap->ext, &snap->count, &snap->cap,
				      store_extents_max(s));
		if (ret)
			return ret;
		df->extent_count = snap->count - df->extent_first;
	}
	snap->files = s->m->files;
	snap->meta_changes = s->m->meta_changes;
	/* Frees up to now are committed by this checkpoint; later ones wait
	 * for the next. The other bitmap is empty: each checkpoint releases
	 * or merges back its own under checkpoint_lock. */
	snap->freed = s->m->pending_cur;
	s->m->pending_cur ^= 1;
	return 0;
}

/* Return: 0, or -EIO if the backing file is shorter than the store (it was
 * truncated under us): a checkpoint would only record a store whose blocks
 * are gone, so none is written. Async-signal-safe. */
static int store_length_check(struct store *s)
{
	struct stat st;

	if (fstat(s->fd, &st) != 0)
		return -errno;
	return (uint64_t)st.st_size < store_block_offset(s->store_blocks) ? -EIO : 0;
}

/* Write the snapshot to the inactive area, then the superblock naming it
 * to the slot not in use. Context: checkpoint_lock held, store.lock not
 * held. */
static int snapshot_commit(struct store *s, const struct snapshot *snap)
{
	uint64_t table_bytes = disk_table_bytes(s->files_max);
	struct disk_super sb = { .version = snap->tree ? STORE_VERSION : STORE_VERSION_FLAT,
				 .block_size = STORE_BLOCK_SIZE };
	uint32_t area = s->m->active_area ^ 1, slot = s->m->super_slot ^ 1;
	int ret;

	ret = store_length_check(s);
	/* A generation of UINT64_MAX is refused at load (store_disk.c): a
	 * store that got to the one below it (only a crafted one can) stops
	 * checkpointing rather than write a superblock nobody would read. */
	if (!ret && s->m->generation + 1 == UINT64_MAX)
		ret = -EOVERFLOW;
	/* Host space for this area and a margin, so that a later checkpoint
	 * with a few more extents needs none (the host may be full by then).
	 * Should the host be full now, the write below says whether the
	 * margin taken before is enough. */
	(void)compat_reserve_range(s->fd, store_block_offset(s->area_start[area]),
				   area_reserve_bytes(s->files_max, s->area_blocks, snap->count));
	if (!ret)
		ret = s->io->write(s, snap->table, table_bytes,
				   store_block_offset(s->area_start[area]));
	if (!ret && snap->count)
		ret = s->io->write(s, snap->ext, snap->count * sizeof(*snap->ext),
				   store_block_offset(s->area_start[area]) + table_bytes);
	/* Data and the new area reach the disk before the superblock
	 * points at it. */
	if (!ret)
		ret = s->io->sync(s);
	if (!ret)
		ret = store_length_check(s);	/* truncated meanwhile */
	if (ret)
		return ret;
	memcpy(sb.magic, STORE_MAGIC, sizeof(sb.magic));
	sb.generation = s->m->generation + 1;
	sb.store_blocks = s->store_blocks;
	sb.data_start = s->data_start;
	sb.data_blocks = s->data_blocks;
	sb.area_start[0] = s->area_start[0];
	sb.area_start[1] = s->area_start[1];
	sb.area_blocks = s->area_blocks;
	sb.files_max = s->files_max;
	sb.active_area = area;
	sb.extents = snap->count;
	sb.files = snap->files;
	sb.flags = s->flags;
	sb.meta_crc = crc32c(crc32c(0, snap->table, table_bytes), snap->ext,
			     snap->count * sizeof(*snap->ext));
	/* The record only: the rest of the slot's block is never read (and
	 * a 4 KiB image would not fit a fault handler's small stack). */
	super_seal(&sb);
	ret = s->io->write(s, &sb, sizeof(sb), slot * STORE_BLOCK_SIZE);
	if (!ret)
		ret = s->io->sync(s);
	if (ret)
		return ret;
	s->m->generation = sb.generation;
	s->m->active_area = area;
	s->m->super_slot = slot;
	return 0;
}

int store_checkpoint(struct store *s)
{
	struct snapshot snap = { .table = s->ckpt_table, .freed = SNAP_NOT_TAKEN };
	int ret;

	if (s->rdonly)
		return -EROFS;
	store_checkpoint_lock(s);
	memset(snap.table, 0, disk_table_bytes(s->files_max));
	snap.ext = s->ckpt_ext;
	snap.cap = s->ckpt_ext_cap;
	store_lock(s);
	ret = snapshot_take(s, &snap);
	store_unlock(s);
	s->ckpt_ext = snap.ext;		/* perhaps grown */
	s->ckpt_ext_cap = snap.cap;
	if (!ret)
		ret = snapshot_commit(s, &snap);
	store_lock(s);
	if (!ret) {
		__store_pending_release(s, snap.freed);
		s->m->meta_committed = snap.meta_changes;
	} else if (snap.freed != SNAP_NOT_TAKEN) {
		__store_pending_merge_back(s, snap.freed);
	}
	store_unlock(s);
	store_checkpoint_unlock(s);
	return ret;
}

int store_sync(struct store *s)
{
	bool changed;
	int ret;

	if (s->rdonly)
		return 0;	/* nothing can have been written */
	store_lock(s);
	changed = s->m->meta_changes != s->m->meta_committed;
	store_unlock(s);
	if (changed)
		return store_checkpoint(s);
	ret = s->io->sync(s);
	return ret ? ret : store_length_check(s);
}
