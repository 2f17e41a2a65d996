// SPDX-License-Identifier: MIT
/*
 * store_check.c - reading and validating the on-disk store: superblock
 * choice, metadata checksum, file records, extents and their overlaps.
 * Used by store_load() before anything is trusted, and by `udax fsck`.
 *
 * Holds no locks: it works on images read from the backing file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compat.h"
#include "store_disk.h"

void store_error_set(struct store_error *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why->text, sizeof(why->text), fmt, ap);
	va_end(ap);
}

static uint32_t crc_table[256];

/* Filled before main(), so readers need no synchronization. */
__attribute__((constructor)) static void crc_table_fill(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
		crc_table[i] = c;
	}
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint32_t super_crc(const struct disk_super *sb)
{
	struct disk_super copy = *sb;

	copy.super_crc = 0;
	return crc32c(0, &copy, sizeof(copy));
}

int disk_super_validate(const struct disk_super *sb, uint64_t file_bytes,
			struct store_error *why)
{
	uint64_t table_blocks;

	if (memcmp(sb->magic, STORE_MAGIC, sizeof(sb->magic)) != 0) {
		store_error_set(why, "not a udax store (bad magic)");
		return -EINVAL;
	}
	if (sb->version != STORE_VERSION) {
		store_error_set(why, "unsupported store version %u (this udax reads %u)",
				sb->version, STORE_VERSION);
		return -EINVAL;
	}
	if (super_crc(sb) != sb->super_crc) {
		store_error_set(why, "superblock checksum mismatch");
		return -EUCLEAN;
	}
	table_blocks = disk_table_bytes(sb->files_max) / STORE_BLOCK_SIZE;
	if (sb->block_size != STORE_BLOCK_SIZE || sb->active_area > 1 ||
	    sb->files_max == 0 || sb->files_max > STORE_FILES_MAX ||
	    sb->area_blocks < table_blocks ||
	    (sb->area_blocks - table_blocks) * (STORE_BLOCK_SIZE / 16) < sb->extents ||
	    sb->files > sb->files_max ||
	    sb->area_start[0] < 2 || sb->area_start[1] < sb->area_start[0] + sb->area_blocks ||
	    sb->data_start < sb->area_start[1] + sb->area_blocks ||
	    sb->data_start % STORE_GROUP_BLOCKS || sb->data_blocks == 0 ||
	    sb->data_blocks % STORE_GROUP_BLOCKS ||
	    sb->data_start + sb->data_blocks != sb->store_blocks ||
	    sb->store_blocks > ((uint64_t)1 << 32)) {
		store_error_set(why, "superblock geometry is inconsistent");
		return -EUCLEAN;
	}
	if (file_bytes < sb->store_blocks * STORE_BLOCK_SIZE) {
		store_error_set(why, "store is truncated: %llu bytes of %llu",
				(unsigned long long)file_bytes,
				(unsigned long long)(sb->store_blocks * STORE_BLOCK_SIZE));
		return -EUCLEAN;
	}
	return 0;
}

static int check_name(const struct disk_file *df)
{
	if (df->name_len == 0 || df->name[df->name_len] != '\0' ||
	    memchr(df->name, '\0', df->name_len) || memchr(df->name, '/', df->name_len))
		return -1;
	return 0;
}

static int check_extent(const struct disk_super *sb, const struct disk_extent *e,
			uint64_t *used, struct store_error *why, const char *name)
{
	uint64_t first = e->store_block;

	if (e->len == 0 || first < sb->data_start ||
	    first + e->len > sb->data_start + sb->data_blocks) {
		store_error_set(why, "file '%s': extent outside the data area", name);
		return -EUCLEAN;
	}
	for (uint64_t b = first - sb->data_start; b < first - sb->data_start + e->len; b++) {
		if (used[b / 64] & ((uint64_t)1 << (b % 64))) {
			store_error_set(why, "block %llu belongs to two extents (file '%s')",
					(unsigned long long)(b + sb->data_start), name);
			return -EUCLEAN;
		}
		used[b / 64] |= (uint64_t)1 << (b % 64);
	}
	return 0;
}

int disk_area_validate(const struct disk_super *sb, const uint8_t *area,
		       uint64_t *used, struct store_error *why)
{
	const struct disk_extent *ext =
		(const struct disk_extent *)(area + disk_table_bytes(sb->files_max));
	uint64_t words = (sb->data_blocks + 63) / 64;
	uint64_t *bits = used ? used : calloc(words, sizeof(*bits));
	uint64_t next_extent = 0;
	uint32_t files = 0;
	int ret = 0;

	if (!bits)
		return -ENOMEM;
	if (crc32c(0, area, disk_table_bytes(sb->files_max) +
			    sb->extents * sizeof(struct disk_extent)) != sb->meta_crc) {
		store_error_set(why, "metadata checksum mismatch");
		ret = -EUCLEAN;
		goto out;
	}
	for (uint32_t i = 0; i < sb->files_max && !ret; i++) {
		const struct disk_file *df =
			(const struct disk_file *)(area + (uint64_t)i * DISK_FILE_RECORD);
		uint64_t blocks = 0, prev_end = 0;

		if (!df->in_use)
			continue;
		files++;
		if (check_name(df)) {
			store_error_set(why, "file record %u has a bad name", i);
			ret = -EUCLEAN;
			break;
		}
		if (df->extent_first != next_extent ||
		    df->extent_count > sb->extents - next_extent) {
			store_error_set(why, "file '%s': extent list out of bounds", df->name);
			ret = -EUCLEAN;
			break;
		}
		for (uint64_t k = 0; k < df->extent_count && !ret; k++) {
			const struct disk_extent *e = &ext[df->extent_first + k];

			if (k && e->file_block < prev_end) {
				store_error_set(why, "file '%s': extents unsorted or overlapping",
						df->name);
				ret = -EUCLEAN;
				break;
			}
			prev_end = e->file_block + e->len;
			blocks += e->len;
			ret = check_extent(sb, e, bits, why, df->name);
		}
		if (!ret && blocks != df->blocks) {
			store_error_set(why, "file '%s': block count %llu, extents hold %llu",
					df->name, (unsigned long long)df->blocks,
					(unsigned long long)blocks);
			ret = -EUCLEAN;
		}
		next_extent += df->extent_count;
	}
	if (!ret && (files != sb->files || next_extent != sb->extents)) {
		store_error_set(why, "superblock counts %u files/%llu extents, table has %u/%llu",
				sb->files, (unsigned long long)sb->extents, files,
				(unsigned long long)next_extent);
		ret = -EUCLEAN;
	}
out:
	if (!used)
		free(bits);
	return ret;
}

static int read_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done;

	return compat_io_full(fd, buf, len, off, false, &done);
}

int disk_read_store(int fd, struct disk_super *sb, uint8_t **area,
		    struct store_error *why)
{
	struct disk_super slot[2];
	struct store_error slot_why[2];
	int slot_ret[2], best = -1;
	uint64_t area_bytes;
	struct stat st;
	int ret;

	if (fstat(fd, &st) != 0)
		return -errno;
	if ((uint64_t)st.st_size < 2 * STORE_BLOCK_SIZE) {
		store_error_set(why, (uint64_t)st.st_size < sizeof(slot[0]) ?
				"not a udax store (file too small)" :
				"store is truncated: superblocks missing");
		return st.st_size < (off_t)sizeof(slot[0]) ? -EINVAL : -EUCLEAN;
	}
	for (int i = 0; i < 2; i++) {
		ret = read_full(fd, &slot[i], sizeof(slot[i]), (uint64_t)i * STORE_BLOCK_SIZE);
		if (ret)
			return ret;
		slot_ret[i] = disk_super_validate(&slot[i], (uint64_t)st.st_size, &slot_why[i]);
		if (!slot_ret[i] && (best < 0 || slot[i].generation > slot[best].generation))
			best = i;
	}
	if (best < 0) {
		/* Report "damaged" over "foreign" if either slot looked like ours. */
		int pick = slot_ret[0] == -EUCLEAN ? 0 : 1;

		*why = slot_why[pick];
		return slot_ret[pick];
	}
	*sb = slot[best];
	area_bytes = disk_table_bytes(sb->files_max) +
		     sb->extents * sizeof(struct disk_extent);
	*area = malloc(area_bytes);
	if (!*area)
		return -ENOMEM;
	ret = read_full(fd, *area, area_bytes,
			store_block_offset(sb->area_start[sb->active_area]));
	if (ret) {
		store_error_set(why, "cannot read metadata area: %s", strerror(-ret));
		free(*area);
		*area = NULL;
		return ret == -ENODATA ? -EUCLEAN : ret;
	}
	return 0;
}

int store_check_path(const char *path, struct store_error *why)
{
	struct disk_super sb;
	uint8_t *area = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0) {
		ret = -errno;
		store_error_set(why, "cannot open: %s", strerror(errno));
		return ret;
	}
	/* A store in use may be between two metadata writes: refuse. */
	if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
		ret = errno == EWOULDBLOCK ? -EBUSY : -errno;
		store_error_set(why, "store is in use by another opener");
		close(fd);
		return ret;
	}
	ret = disk_read_store(fd, &sb, &area, why);
	if (!ret)
		ret = disk_area_validate(&sb, area, NULL, why);
	free(area);
	close(fd);
	return ret;
}
