/* SPDX-License-Identifier: MIT */
/*
 * store_disk.h - the on-disk records of the store (see store.h for the
 * layout). Shared by store_format.c (read/write) and store_check.c.
 */
#ifndef UDAX_STORE_DISK_H
#define UDAX_STORE_DISK_H

#include <stdint.h>

#include "store.h"

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
	uint8_t reserved[6];
	uint64_t size;
	uint64_t blocks;
	uint64_t extent_first;	/* index into the area's extent array */
	uint64_t extent_count;
	char name[STORE_NAME_MAX + 1];
	uint8_t pad[DISK_FILE_RECORD - 40 - (STORE_NAME_MAX + 1)];
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

/* Read a superblock slot; Return 0 if it is valid, else -EINVAL (not a
 * store) or -EUCLEAN (damaged), with the reason in why. */
int disk_super_validate(const struct disk_super *sb, uint64_t file_bytes,
			struct store_error *why);

/* Check a metadata area image against its superblock: records, extents,
 * overlaps. Fills used (data-block bitmap, zeroed by the caller) when
 * non-NULL. Return 0 or -EUCLEAN with the first problem in why. */
int disk_area_validate(const struct disk_super *sb, const uint8_t *area,
		       uint64_t *used, struct store_error *why);

/* Read the better superblock and its area image. Return 0 or -errno. */
int disk_read_store(int fd, struct disk_super *sb, uint8_t **area,
		    struct store_error *why);

#endif /* UDAX_STORE_DISK_H */
