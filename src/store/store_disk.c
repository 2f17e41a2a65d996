// SPDX-License-Identifier: MIT
/*
 * store_disk.c - layer store: reading and validating the on-disk store
 * (store_disk.h): the choice of superblock slot (the newest whose metadata
 * validates, else the older), the metadata checksum, file records, extents
 * and their overlaps, the file's length. Every count and offset read from
 * disk is range-checked before it is used, with arithmetic that cannot
 * wrap (checks of the form a > limit - b). Used by loading
 * (store_format.c) and by the check (store_check.c); the check that every
 * entry reaches the root is shared with the repair (store_tree.c).
 *
 * May call: base. Locks: none: it works on images read from the backing
 * file.
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

#include "base/compat.h"
#include "store/store_disk.h"

void store_error_set(struct store_error *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why->text, sizeof(why->text), fmt, ap);
	va_end(ap);
}

static uint32_t crc_table[256];

/* Filled before main() and before any constructor of default priority
 * (the preload shim's open stores in theirs), so readers need no
 * synchronization. */
__attribute__((constructor(101))) static void crc_table_fill(void)
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

/* Whether [start, start + len) lies inside [lo, hi), without overflow. */
static bool range_inside(uint64_t start, uint64_t len, uint64_t lo, uint64_t hi)
{
	return start >= lo && start <= hi && len <= hi - start;
}

/* Magic, version and checksum: whether the slot holds a record written by
 * this format, so that its generation can be believed. */
static int super_check_seal(const struct disk_super *sb, struct store_error *why)
{
	if (memcmp(sb->magic, STORE_MAGIC, sizeof(sb->magic)) != 0) {
		store_error_set(why, "not a udax store (bad magic)");
		return -EINVAL;
	}
	if (sb->version != STORE_VERSION && sb->version != STORE_VERSION_FLAT) {
		store_error_set(why, "unsupported store version %u (this udax reads %u and %u)",
				sb->version, STORE_VERSION_FLAT, STORE_VERSION);
		return -EINVAL;
	}
	if (super_crc(sb) != sb->super_crc) {
		store_error_set(why, "superblock checksum mismatch");
		return -EUCLEAN;
	}
	return 0;
}

static int super_check_geometry(const struct disk_super *sb, struct store_error *why)
{
	uint64_t table_bytes = disk_table_bytes(sb->files_max);
	const char *bad = NULL;

	if (sb->generation == UINT64_MAX) {
		store_error_set(why, "superblock generation at its limit");
		return -EUCLEAN;
	}
	/* Each block count is bounded by store_blocks <= 2^32 before it
	 * is multiplied by the block size. */
	if (sb->block_size != STORE_BLOCK_SIZE)
		bad = "block size";
	else if (sb->files_max == 0 || sb->files_max > STORE_FILES_MAX ||
		 sb->files > sb->files_max)
		bad = "file table";
	else if (sb->store_blocks > STORE_MAX_BLOCKS || sb->data_start % STORE_GROUP_BLOCKS ||
		 sb->data_blocks == 0 || sb->data_blocks % STORE_GROUP_BLOCKS ||
		 !range_inside(sb->data_start, sb->data_blocks, 0, sb->store_blocks) ||
		 sb->data_blocks != sb->store_blocks - sb->data_start)
		bad = "data area";
	else if (sb->active_area > 1 ||
		 !range_inside(sb->area_start[0], sb->area_blocks, 2, sb->area_start[1]) ||
		 !range_inside(sb->area_start[1], sb->area_blocks, 2, sb->data_start) ||
		 sb->area_blocks * STORE_BLOCK_SIZE < table_bytes ||
		 disk_area_extents_max(sb) < sb->data_blocks)
		bad = "metadata areas";	/* room for an extent per data block */
	else if (sb->extents > sb->data_blocks)
		bad = "extent count";
	if (bad) {
		store_error_set(why, "superblock geometry is inconsistent (%s)", bad);
		return -EUCLEAN;
	}
	return 0;
}

static const struct disk_file *area_record(const uint8_t *area, uint32_t i)
{
	return (const struct disk_file *)(area + (uint64_t)i * DISK_FILE_RECORD);
}

static const struct disk_extent *area_extents(const struct disk_super *sb, const uint8_t *area)
{
	return (const struct disk_extent *)(area + disk_table_bytes(sb->files_max));
}

static int check_name(const struct disk_file *df)
{
	if (df->name_len == 0 || df->name[df->name_len] != '\0' ||
	    memchr(df->name, '\0', df->name_len) || memchr(df->name, '/', df->name_len))
		return -1;
	return 0;
}

/* An extent of the area, for the ownership check. */
struct extent_ref {
	uint64_t start;		/* store block */
	uint32_t len;
	uint32_t file;		/* record index */
};

/* Check in-use record i and its extents, which must start at extent
 * *next; note each extent in refs and move *next past them.
 * Return: 0 or -EUCLEAN. */
static int record_validate(const struct disk_super *sb, const uint8_t *area, uint32_t i,
			   uint64_t *next, struct extent_ref *refs, struct store_error *why)
{
	const uint64_t file_blocks_max = STORE_FILE_MAX_BYTES / STORE_BLOCK_SIZE;
	const struct disk_file *df = area_record(area, i);
	const struct disk_extent *ext = area_extents(sb, area);
	uint64_t blocks = 0, prev_end = 0;

	if (df->in_use != 1) {
		store_error_set(why, "file record %u: in_use is %u, not 0 or 1", i, df->in_use);
		return -EUCLEAN;
	}
	if (check_name(df)) {
		store_error_set(why, "file record %u has a bad name", i);
		return -EUCLEAN;
	}
	if (df->type > STORE_TYPE_DIR || df->reserved ||
	    (sb->version == STORE_VERSION_FLAT && (df->type || df->parent))) {
		store_error_set(why, "file '%s': type %u%s is not one of version %u", df->name,
				df->type, df->parent ? " in a directory" : "", sb->version);
		return -EUCLEAN;
	}
	if (df->type == STORE_TYPE_DIR && (df->size || df->blocks || df->extent_count)) {
		store_error_set(why, "directory '%s' has a size or blocks", df->name);
		return -EUCLEAN;
	}
	if (df->size > STORE_FILE_MAX_BYTES) {
		store_error_set(why, "file '%s': size %llu is past the maximum file size",
				df->name, (unsigned long long)df->size);
		return -EUCLEAN;
	}
	if (df->extent_first != *next || df->extent_count > sb->extents - *next) {
		store_error_set(why, "file '%s': extent list out of bounds", df->name);
		return -EUCLEAN;
	}
	for (uint64_t k = 0; k < df->extent_count; k++) {
		const struct disk_extent *e = &ext[df->extent_first + k];

		if (e->len == 0 || !range_inside(e->store_block, e->len, sb->data_start,
						 sb->data_start + sb->data_blocks)) {
			store_error_set(why, "file '%s': extent outside the data area", df->name);
			return -EUCLEAN;
		}
		if (!range_inside(e->file_block, e->len, 0, file_blocks_max)) {
			store_error_set(why, "file '%s': extent past the maximum file size",
					df->name);
			return -EUCLEAN;
		}
		if (e->file_block < prev_end) {
			store_error_set(why, "file '%s': extents unsorted or overlapping",
					df->name);
			return -EUCLEAN;
		}
		/* No wrap: both are below 2^34 and 2^32 extents. */
		prev_end = e->file_block + e->len;
		blocks += e->len;
		refs[df->extent_first + k] =
			(struct extent_ref){ .start = e->store_block, .len = e->len, .file = i };
	}
	if (blocks != df->blocks) {
		store_error_set(why, "file '%s': block count %llu, extents hold %llu", df->name,
				(unsigned long long)df->blocks, (unsigned long long)blocks);
		return -EUCLEAN;
	}
	*next += df->extent_count;
	return 0;
}

/* Return: 0, or -EUCLEAN if two in-use records of a directory have the
 * same name. */
static int names_unique(const struct disk_super *sb, const uint8_t *area,
			struct store_error *why)
{
	for (uint32_t i = 1; i < sb->files_max; i++) {
		const struct disk_file *df = area_record(area, i);

		for (uint32_t j = 0; df->in_use && j < i; j++) {
			const struct disk_file *other = area_record(area, j);

			if (other->in_use && other->parent == df->parent &&
			    other->name_len == df->name_len &&
			    memcmp(other->name, df->name, df->name_len) == 0) {
				store_error_set(why, "file '%s' is in its directory twice "
						"(records %u and %u)", df->name, j, i);
				return -EUCLEAN;
			}
		}
	}
	return 0;
}

static int extent_ref_cmp(const void *a, const void *b)
{
	const struct extent_ref *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

/* Return: 0, or -EUCLEAN if a store block is in two extents. */
static int blocks_owned_once(const uint8_t *area, struct extent_ref *refs, uint64_t count,
			     struct store_error *why)
{
	if (count)
		qsort(refs, count, sizeof(*refs), extent_ref_cmp);
	for (uint64_t i = 1; i < count; i++) {
		/* Inside the data area, both: no wrap. */
		if (refs[i].start < refs[i - 1].start + refs[i - 1].len) {
			store_error_set(why, "block %llu belongs to two extents (files '%s' and "
					"'%s')", (unsigned long long)refs[i].start,
					area_record(area, refs[i - 1].file)->name,
					area_record(area, refs[i].file)->name);
			return -EUCLEAN;
		}
	}
	return 0;
}

int disk_area_validate(const struct disk_super *sb, const uint8_t *area,
		       struct store_error *why)
{
	struct extent_ref *refs = NULL;
	uint64_t next_extent = 0;
	uint32_t files = 0;
	int ret = 0;

	if (crc32c(0, area, disk_area_bytes(sb)) != sb->meta_crc) {
		store_error_set(why, "metadata checksum mismatch");
		return -EUCLEAN;
	}
	if (sb->extents) {
		refs = malloc(sb->extents * sizeof(*refs));
		if (!refs)
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < sb->files_max && !ret; i++) {
		if (!area_record(area, i)->in_use)
			continue;
		files++;
		ret = record_validate(sb, area, i, &next_extent, refs, why);
	}
	if (!ret && (files != sb->files || next_extent != sb->extents)) {
		store_error_set(why, "superblock counts %u files/%llu extents, table has %u/%llu",
				sb->files, (unsigned long long)sb->extents, files,
				(unsigned long long)next_extent);
		ret = -EUCLEAN;
	}
	if (!ret)
		ret = names_unique(sb, area, why);
	if (!ret)
		ret = blocks_owned_once(area, refs, sb->extents, why);
	free(refs);
	return ret;
}

uint32_t store_tree_breaks(uint32_t n, const uint8_t *kind, uint32_t *parent,
			   uint32_t *broken, struct store_error *why)
{
	/* state: 0 unknown, 1 reaches the root, 2 on the walk of round r */
	uint32_t *walk = calloc(n ? n : 1, sizeof(*walk));
	uint8_t *state = calloc(n ? n : 1, 1);
	uint32_t count = 0;

	if (!walk || !state) {
		free(walk);
		free(state);
		store_error_set(why, "no memory to check the directory structure");
		return UINT32_MAX;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = 0, at = i;

		if (!kind[i] || state[i] == 1)
			continue;
		/* Walk up until the root, an entry known to reach it, or a
		 * break: the entry at the break is cut (it will hang from the
		 * root's lost+found), and the whole walk then reaches the
		 * root. */
		for (;;) {
			uint32_t p = parent[at];
			const char *problem = NULL;

			state[at] = 2;
			walk[len++] = at;
			if (p == STORE_PARENT_ROOT)
				break;
			if (p - 1 >= n)
				problem = "names a parent past the table";
			else if (!kind[p - 1])
				problem = "names a parent that does not exist";
			else if (kind[p - 1] != 1 + STORE_TYPE_DIR)
				problem = "names a file as its parent";
			else if (state[p - 1] == 1)
				break;
			else if (state[p - 1] == 2)
				problem = "is in a cycle of directories";
			if (problem) {
				if (!count)
					store_error_set(why, "entry %u %s", at, problem);
				broken[count++] = at;
				parent[at] = STORE_PARENT_ROOT;
				break;
			}
			at = p - 1;
		}
		while (len)
			state[walk[--len]] = 1;
	}
	free(walk);
	free(state);
	return count;
}

/* Whether every entry of the area reaches the root through directories:
 * *broken gets how many are cut off, why the first one's problem.
 * Return: 0 or -ENOMEM. */
static int area_tree_check(const struct disk_super *sb, const uint8_t *area, uint32_t *broken,
			   struct store_error *why)
{
	uint32_t n = sb->files_max, *parent = calloc(n, sizeof(*parent));
	uint32_t *cut = calloc(n, sizeof(*cut));
	uint8_t *kind = calloc(n, 1);

	*broken = 0;
	if (parent && cut && kind) {
		for (uint32_t i = 0; i < n; i++) {
			const struct disk_file *df = area_record(area, i);

			kind[i] = df->in_use ? 1 + df->type : 0;
			parent[i] = df->parent;
		}
		*broken = store_tree_breaks(n, kind, parent, cut, why);
	}
	free(parent);
	free(cut);
	free(kind);
	if (!parent || !cut || !kind || *broken == UINT32_MAX) {
		*broken = 0;
		return -ENOMEM;
	}
	return 0;
}

static int read_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done;

	return compat_io_full(fd, buf, len, off, false, &done);
}

/* Read and validate the metadata area sb names.
 * Return: 0 with *area (malloc), -EUCLEAN with why, or -errno. */
static int area_read(int fd, const struct disk_super *sb, uint64_t file_bytes,
		     uint8_t **area, struct store_error *why)
{
	uint64_t off = store_block_offset(sb->area_start[sb->active_area]);
	uint64_t len = disk_area_bytes(sb);
	int ret;

	*area = NULL;
	if (off > file_bytes || len > file_bytes - off) {
		store_error_set(why, "metadata area lies past the end of the file (store is "
				"truncated: %llu bytes of %llu)", (unsigned long long)file_bytes,
				(unsigned long long)store_block_offset(sb->store_blocks));
		return -EUCLEAN;
	}
	*area = malloc(len);
	if (!*area)
		return -ENOMEM;
	ret = read_full(fd, *area, len, off);
	if (ret) {
		store_error_set(why, "cannot read metadata area: %s", strerror(-ret));
		ret = ret == -ENODATA ? -EUCLEAN : ret;
	} else {
		ret = disk_area_validate(sb, *area, why);
	}
	if (ret) {
		free(*area);
		*area = NULL;
	}
	return ret;
}

/* A superblock slot as read. */
struct slot_state {
	struct disk_super sb;
	int ret;		/* disk_super_validate() */
	bool sealed;		/* magic, version, checksum right: the
				   generation is the one written */
	struct store_error why;
};

int disk_super_newest(int fd, struct disk_super *sb, uint32_t *slot)
{
	struct store_error why;
	struct disk_super one;
	int found = -1;

	for (uint32_t i = 0; i < 2; i++) {
		int ret = read_full(fd, &one, sizeof(one), (uint64_t)i * STORE_BLOCK_SIZE);

		if (ret)
			return ret;
		if (super_check_seal(&one, &why) || super_check_geometry(&one, &why) ||
		    (found >= 0 && one.generation <= sb->generation))
			continue;
		*sb = one;
		found = (int)i;
	}
	if (found < 0)
		return -EUCLEAN;
	*slot = (uint32_t)found;
	return 0;
}

int disk_read_store(int fd, struct disk_store *ds, struct store_error *why)
{
	struct store_error area_why[2];
	struct slot_state slot[2];
	int order[2], candidates = 0, newest = -1, used = -1, ret = 0;
	struct stat st;

	memset(ds, 0, sizeof(*ds));
	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		store_error_set(why, "not a udax store (%s)",
				S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
		return -EINVAL;
	}
	ds->file_bytes = (uint64_t)st.st_size;
	if (ds->file_bytes < 2 * STORE_BLOCK_SIZE) {
		bool foreign = ds->file_bytes < sizeof(slot[0].sb);

		store_error_set(why, foreign ? "not a udax store (file too small)" :
				"store is truncated: superblocks missing");
		return foreign ? -EINVAL : -EUCLEAN;
	}
	for (int i = 0; i < 2; i++) {
		ret = read_full(fd, &slot[i].sb, sizeof(slot[i].sb),
				(uint64_t)i * STORE_BLOCK_SIZE);
		if (ret)
			return ret;
		slot[i].ret = super_check_seal(&slot[i].sb, &slot[i].why);
		slot[i].sealed = slot[i].ret == 0;
		if (slot[i].sealed)
			slot[i].ret = super_check_geometry(&slot[i].sb, &slot[i].why);
		if (slot[i].sealed &&
		    (newest < 0 || slot[i].sb.generation > slot[newest].sb.generation))
			newest = i;
	}
	if (newest < 0) {
		/* Report "damaged" over "foreign" if either slot looked like ours. */
		int pick = slot[0].ret == -EUCLEAN ? 0 : 1;

		*why = slot[pick].why;
		return slot[pick].ret;
	}
	for (int i = newest, k = 0; k < 2; i ^= 1, k++)
		if (!slot[i].ret)
			order[candidates++] = i;
	for (int k = 0; k < candidates && used < 0; k++) {
		int i = order[k];

		ret = area_read(fd, &slot[i].sb, ds->file_bytes, &ds->area, &area_why[i]);
		if (ret && ret != -EUCLEAN)
			return ret;
		if (!ret)
			used = i;
	}
	if (used < 0) {
		/* The newest slot's problem comes first. */
		*why = slot[newest].ret ? slot[newest].why : area_why[newest];
		return -EUCLEAN;
	}
	ds->sb = slot[used].sb;
	ds->slot = (uint32_t)used;
	ret = area_tree_check(&ds->sb, ds->area, &ds->tree_broken, &ds->tree_why);
	if (ret) {
		free(ds->area);
		ds->area = NULL;
		return ret;
	}
	ds->fell_back = used != newest;
	if (ds->fell_back)
		store_error_set(&ds->note, "newest superblock (slot %d, generation %llu) is "
				"unusable: %s; the store opens from slot %d (generation %llu) "
				"without the last checkpoint's changes", newest,
				(unsigned long long)slot[newest].sb.generation,
				slot[newest].ret ? slot[newest].why.text : area_why[newest].text,
				used, (unsigned long long)ds->sb.generation);
	else if (slot[used ^ 1].ret)
		store_error_set(&ds->note, "spare superblock slot %d is damaged (%s); the next "
				"checkpoint rewrites it", used ^ 1, slot[used ^ 1].why.text);
	return 0;
}

uint64_t disk_truncation_lost(const struct disk_store *ds, char *names, size_t size,
				unsigned *files)
{
	const struct disk_super *sb = &ds->sb;
	const struct disk_extent *ext = area_extents(sb, ds->area);
	uint64_t cut = ds->file_bytes / STORE_BLOCK_SIZE;	/* first block not whole */
	uint64_t lost = 0;
	size_t len = 0;

	names[0] = '\0';
	*files = 0;
	for (uint32_t i = 0; i < sb->files_max; i++) {
		const struct disk_file *df = area_record(ds->area, i);
		uint64_t file_lost = 0;

		for (uint64_t k = 0; df->in_use && k < df->extent_count; k++) {
			const struct disk_extent *e = &ext[df->extent_first + k];
			uint64_t end = (uint64_t)e->store_block + e->len;

			if (end > cut)
				file_lost += end - (e->store_block > cut ? e->store_block : cut);
		}
		if (!file_lost)
			continue;
		lost += file_lost;
		if (++*files <= 3)
			len += (size_t)snprintf(names + len, size - len, "%s'%.64s'",
						*files > 1 ? ", " : "", df->name);
	}
	if (*files > 3)
		snprintf(names + len, size - len, " and more");
	return lost;
}

int disk_store_truncated(const struct disk_store *ds, struct store_error *why)
{
	uint64_t store_bytes = store_block_offset(ds->sb.store_blocks);
	char names[256];
	unsigned files;
	uint64_t lost;

	if (ds->file_bytes >= store_bytes)
		return 0;
	lost = disk_truncation_lost(ds, names, sizeof(names), &files);
	if (!lost)
		store_error_set(why, "store is truncated: %llu bytes of %llu; no file block lies "
				"past the end; udax fsck --repair extends it",
				(unsigned long long)ds->file_bytes,
				(unsigned long long)store_bytes);
	else
		store_error_set(why, "store is truncated: %llu bytes of %llu; %llu blocks of "
				"file%s %s lie past the end; udax fsck --repair extends it and "
				"those blocks read as zeros", (unsigned long long)ds->file_bytes,
				(unsigned long long)store_bytes, (unsigned long long)lost,
				files > 1 ? "s" : "", names);
	return -EUCLEAN;
}
