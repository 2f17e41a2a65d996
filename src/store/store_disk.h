/* SPDX-License-Identifier: MIT */
/*
 * store_disk.h - layer store: the on-disk records of the store (see
 * store.h for the layout). Read and validated by store_disk.c, for
 * store_format.c (load, write) and store_check.c.
 */
#ifndef UDAX_STORE_DISK_H
#define UDAX_STORE_DISK_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

struct disk_super {
	char magic[8];		/* STORE_MAGIC, not NUL-terminated */
	uint32_t version;
	uint32_t block_size;
	uint64_t generation;
	uint64_t store_blocks;	/* blocks of the backing file */
	uint64_t data_start;
	uint64_t data_blocks;
	uint64_t area_start[2];
	uint64_t area_blocks;
	uint32_t files_max;
	uint32_t active_area;
	uint64_t extents;	/* extent records in the active area */
	uint32_t files;
	uint32_t meta_crc;	/* crc32c of the file table and the extents */
	uint32_t super_crc;	/* crc32c of this record with super_crc = 0 */
	uint32_t flags;		/* STORE_FLAG_* (0 in stores made before flags) */
};

#define DISK_FILE_RECORD 512u

struct disk_file {
	uint8_t in_use;
	uint8_t name_len;
	uint8_t type;		/* enum store_type; 0 in version 1 */
	uint8_t reserved;
	uint32_t parent;	/* STORE_PARENT_ROOT or a directory's record + 1;
				   0 in version 1 */
	uint64_t size;
	uint64_t blocks;
	uint64_t extent_first;	/* index into the area's extent array */
	uint64_t extent_count;
	char name[STORE_NAME_MAX + 1];
	uint64_t birth;		/* store_file.birth; 0 before udax 0.4 (then:
				   pad, written as zeros) */
	uint8_t pad[DISK_FILE_RECORD - 48 - (STORE_NAME_MAX + 1)];
};

struct disk_extent {
	uint64_t file_block;
	uint32_t store_block;
	uint32_t len;
};

_Static_assert(sizeof(struct disk_file) == DISK_FILE_RECORD, "file record size");
_Static_assert(sizeof(struct disk_extent) == 16, "extent record size");

static inline uint64_t disk_table_bytes(uint32_t files_max)
{
	return (uint64_t)files_max * DISK_FILE_RECORD;
}

/* Bytes of a metadata area image: the file table and sb->extents extent
 * records (sb validated: no overflow). */
static inline uint64_t disk_area_bytes(const struct disk_super *sb)
{
	return disk_table_bytes(sb->files_max) + sb->extents * sizeof(struct disk_extent);
}

/* Extent records a metadata area of sb's geometry has room for (sb
 * validated). */
static inline uint64_t disk_area_extents_max(const struct disk_super *sb)
{
	return (sb->area_blocks * STORE_BLOCK_SIZE - disk_table_bytes(sb->files_max)) /
	       sizeof(struct disk_extent);
}

/* Check a metadata area image (disk_area_bytes(sb) long) against its
 * validated superblock: checksum, file records, extents, names, block
 * ownership, counts. Return 0, -EUCLEAN with the first problem in why, or
 * -ENOMEM. */
int disk_area_validate(const struct disk_super *sb, const uint8_t *area,
		       struct store_error *why);

/* What disk_read_store() found in a backing file. */
struct disk_store {
	struct disk_super sb;	/* the superblock to use */
	uint8_t *area;		/* its metadata area, validated (malloc) */
	uint32_t slot;		/* the slot sb was read from */
	uint64_t file_bytes;	/* length of the backing file */
	bool fell_back;		/* the newest superblock or its area is damaged:
				   sb is the older slot's */
	uint32_t tree_broken;	/* entries cut off from the root (area's
				   directory structure damaged): tree_why */
	struct store_error tree_why;
	struct store_error note;	/* fell_back: what it means; else "" or a
					   warning about the spare slot */
};

/*
 * Read the superblock slots and choose the one to use. A slot is valid if
 * its magic, version and checksum are right and its geometry's every count
 * and offset is in range (with overflow-safe arithmetic). The valid one
 * with the higher generation whose metadata area validates is used, else
 * the other valid one (ds->fell_back). Return 0 with ds filled, -EINVAL (not a
 * store), -EUCLEAN (no usable slot) with the reason in why, or -errno.
 * A file shorter than the store is not refused here (see
 * disk_store_truncated()) as long as the metadata area can be read.
 */
int disk_read_store(int fd, struct disk_store *ds, struct store_error *why);

/* The sealed superblock slot (magic, version, checksum; its geometry in
 * range) of the higher generation, without reading any area: a checkpoint
 * syncs its area before it writes the superblock naming it, and never
 * writes the area the newest sealed slot names, so that area is whole.
 * Safe beside processes that checkpoint the store (a slot torn by a write
 * in progress is not sealed; the other is). Allocates nothing.
 * Return: 0 with *sb and *slot, -EUCLEAN (no sealed slot) or -errno. */
int disk_super_newest(int fd, struct disk_super *sb, uint32_t *slot);

/* Return -EUCLEAN if the backing file is shorter than the store, with the
 * damage explained in why (the files with blocks past the end), else 0. */
int disk_store_truncated(const struct disk_store *ds, struct store_error *why);
/* The file blocks of ds past the end of the backing file: the files they
 * belong to go to *files and their names, up to size bytes, to names
 * ("'a', 'b', 'c' and more"). Return: the number of blocks. */
uint64_t disk_truncation_lost(const struct disk_store *ds, char *names, size_t size,
			      unsigned *files);

/* Who opens a store file, and so which locks it takes (store_open_file):
 * flock(LOCK_EX) for a writer alone; flock(LOCK_SH) for the others, which
 * excludes such a writer; and a reader outside any region marks the file
 * (xproc_store_reader_enter), which excludes every region's members (they
 * change metadata it would not see). */
enum store_opener {
	STORE_OPENER_ALONE,	/* store_load(), read-write */
	STORE_OPENER_READER,	/* store_load(UDAX_STORE_RDONLY), a check */
	STORE_OPENER_MEMBER,	/* store_load_shared() */
};

/* The steps of a load (store_format.c), shared by store_load() and
 * store_load_shared(). store_open_file: open the file at path and take
 * the locks of `opener` for a new *out (store_close_disk() undoes it); then
 * store_geometry_set: its geometry from a superblock, and its checkpoint
 * buffer (-ENOMEM); store_read_checked: read and check the store into *ds
 * (ds->area is the caller's to free; -EUCLEAN also if the geometry, once
 * set, changed); store_open_disk: the three; store_meta_fill: fill placed,
 * zeroed metadata from ds (0 or -ENOMEM). */
int store_open_file(const char *path, unsigned flags, enum store_opener opener,
		    struct store **out, struct store_error *why);
int store_geometry_set(struct store *s, const struct disk_super *sb);
int store_open_disk(const char *path, unsigned flags, enum store_opener opener,
		    struct store **out, struct disk_store *ds, struct store_error *why);
int store_read_checked(struct store *s, unsigned flags, struct disk_store *ds,
		       struct store_error *why);
int store_meta_fill(struct store *s, const struct disk_store *ds);
void store_close_disk(struct store *s);

/* store_fd.c: open the store file at path (compat_open_backing(), flags
 * as open(2)), on the list of descriptors fork() children close; and close
 * one so opened. Return: the descriptor or -errno. */
int store_fd_open(const char *path, int flags);
void store_fd_close(int fd);

#endif /* UDAX_STORE_DISK_H */
