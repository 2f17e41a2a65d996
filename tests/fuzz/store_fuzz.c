// SPDX-License-Identifier: MIT
/*
 * store_fuzz - libFuzzer target for everything udax reads from a store
 * file: superblock slots, file table, extent array, the file's length.
 *
 * A template store (4 MiB, a file table of 8 records, a few files with
 * data, checkpointed twice so that both areas hold them) is made once per
 * process in a temporary file. Each input is laid over a copy of the
 * template's metadata:
 *
 *   byte 0     flags: FUZZ_META_CRC0/1 recompute slot 0/1's metadata
 *              checksum (over the area it names, if that lies in the
 *              metadata), FUZZ_SUPER_CRC0/1 reseal slot 0/1 (after),
 *              FUZZ_CUT truncate the file, FUZZ_REPAIR run the repair,
 *              FUZZ_WRITE change the files after reading them
 *   byte 1     with FUZZ_CUT: the file's new length in 16 KiB units
 *   then       bytes replacing, in order: superblock slot 0, slot 1, the
 *              file table of the template's active area, its extent array
 *
 * Without recomputed checksums almost nothing would get past the CRCs.
 * Then: udax_store_check(); with FUZZ_REPAIR the repair; udax_store_open();
 * the tree walked with udax_readdir2(); each file opened, read with
 * udax_pread() at both ends
 * and through a mapping of its first page; udax_close(); with FUZZ_WRITE,
 * each file written, punched, truncated and synced, a file created, one
 * removed (allocation and frees on whatever passed the checks); close.
 * Asserted (abort): a store that checks clean opens; a repair that returns
 * 0 leaves a store that checks clean without warning; every listed name
 * opens; a mapping reads what pread reads; changes succeed (or find the
 * store full); a store that opened closes with 0 and checks clean
 * afterwards.
 *
 * UDAX_FUZZ_SEEDS=DIR writes the seed inputs (one per defect the store
 * checks were fixed for) to DIR and exits; UDAX_FUZZ_DIR chooses where
 * the template lives (default /dev/shm, else $TMPDIR or /tmp).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_disk.h"
#include "udax.h"

#define FUZZ_META_CRC0 0x01
#define FUZZ_META_CRC1 0x02
#define FUZZ_SUPER_CRC0 0x04
#define FUZZ_SUPER_CRC1 0x08
#define FUZZ_CUT 0x10
#define FUZZ_REPAIR 0x20
#define FUZZ_WRITE 0x40
#define FUZZ_HEADER 2
#define FUZZ_CUT_UNIT (16u * 1024)
#define STORE_BYTES (4ull << 20)
#define FILES_MAX 8
#define PG 4096

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256], path[300];
static uint8_t *template;	/* the whole template file */
static uint8_t *work;		/* its metadata, with the input laid over */
static size_t meta_len;		/* superblocks and both areas */
static uint64_t area_off, table_bytes, extents_room;
static int fd = -1;
static int data_dirty;		/* the file's length or data changed */

static void die_ret(const char *what, long long ret)
{
	fprintf(stderr, "store_fuzz: %s: %lld (%s)\n", what, ret, udax_strerror_detail());
	abort();
}

static void die(const char *what)
{
	die_ret(what, 0);
}

static void cleanup(void)
{
	if (fd >= 0)
		close(fd);
	unlink(path);
	rmdir(dir);
}

static struct disk_super *slot(uint8_t *img, int i)
{
	return (struct disk_super *)(img + (size_t)i * STORE_BLOCK_SIZE);
}

static void template_files(void)
{
	static const char *const names[] = { "alpha", "beta", "gamma", "dir/delta-empty" };
	static uint8_t buf[3 * PG];
	struct udax_store *s;
	struct udax_file *f;

	for (int round = 0; round < 2; round++) {
		if (udax_store_open(path, 0, &s))
			die("open template");
		for (int i = 0; round == 0 && i < 4; i++) {
			memset(buf, 'a' + i, sizeof(buf));
			/* records 0-2 the files, 3 "dir", 4 "dir/delta-empty" */
			if (i == 3 && udax_mkdir(s, "dir", 0755))
				die("make template directory");
			if (udax_open(s, names[i], O_RDWR | O_CREAT, &f))
				die("create template file");
			/* alpha: 3 blocks; beta: a hole then 1 block; gamma: 2
			 * runs; delta: empty. */
			if ((i == 0 && udax_pwrite(f, buf, 3 * PG, 0) != 3 * PG) ||
			    (i == 1 && udax_pwrite(f, buf, 100, 5 * PG) != 100) ||
			    (i == 2 && (udax_pwrite(f, buf, PG, 0) != PG ||
					udax_pwrite(f, buf, 2 * PG, 40 * PG) != 2 * PG)) ||
			    udax_close(f))
				die("write template file");
		}
		if (udax_store_close(s))
			die("close template");
	}
}

static void template_make(void)
{
	const char *env = getenv("UDAX_FUZZ_DIR"), *tmp = getenv("TMPDIR");
	struct store_error why;
	struct disk_super *sb;
	struct stat st;

	if (!env)
		env = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : tmp && *tmp ? tmp : "/tmp";
	snprintf(dir, sizeof(dir), "%s/udax-fuzz-XXXXXX", env);
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(path, sizeof(path), "%s/store", dir);
	atexit(cleanup);
	if (store_format_files(path, STORE_BYTES, FILES_MAX, 0, &why))
		die(why.text);
	template_files();
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || (uint64_t)st.st_size != STORE_BYTES)
		die("template file");
	template = malloc(STORE_BYTES);
	if (!template || pread(fd, template, STORE_BYTES, 0) != (ssize_t)STORE_BYTES)
		die("read template");
	sb = slot(template, slot(template, 0)->generation > slot(template, 1)->generation ? 0 : 1);
	meta_len = (size_t)((sb->area_start[1] + sb->area_blocks) * STORE_BLOCK_SIZE);
	area_off = sb->area_start[sb->active_area] * STORE_BLOCK_SIZE;
	table_bytes = disk_table_bytes(sb->files_max);
	extents_room = sb->area_blocks * STORE_BLOCK_SIZE - table_bytes;
	work = malloc(meta_len);
	if (!work)
		die("malloc");
}

/* Lay src (len bytes, what is left of the input) over dst, at most room
 * bytes. Return: the bytes used. */
static size_t overlay(uint8_t *dst, size_t room, const uint8_t *src, size_t len)
{
	size_t n = len < room ? len : room;

	memcpy(dst, src, n);
	return n;
}

static void meta_crc_recompute(struct disk_super *sb)
{
	uint64_t ext_bytes, len, off;

	if (sb->files_max > STORE_FILES_MAX || sb->active_area > 1 ||
	    __builtin_mul_overflow(sb->extents, sizeof(struct disk_extent), &ext_bytes) ||
	    __builtin_add_overflow(disk_table_bytes(sb->files_max), ext_bytes, &len) ||
	    __builtin_mul_overflow(sb->area_start[sb->active_area], STORE_BLOCK_SIZE, &off) ||
	    off > meta_len || len > meta_len - off)
		return;
	sb->meta_crc = crc32c(0, work + off, len);
}

static void super_reseal(struct disk_super *sb)
{
	sb->super_crc = 0;
	sb->super_crc = crc32c(0, sb, sizeof(*sb));
}

/* Put the template back where the last input changed it. */
static void file_restore(void)
{
	if (data_dirty) {
		if (ftruncate(fd, STORE_BYTES) ||
		    pwrite(fd, template + meta_len, STORE_BYTES - meta_len, (off_t)meta_len) !=
			    (ssize_t)(STORE_BYTES - meta_len))
			die("restore template data");
		data_dirty = 0;
	}
	if (pwrite(fd, work, meta_len, 0) != (ssize_t)meta_len)
		die("write metadata");
}

/* Open, stat and read one listed file, through pread and a mapping. */
static void file_exercise(struct udax_store *s, const char *name)
{
	struct udax_file_stat st;
	struct udax_file *f;
	char head[64], tail[64], *map;
	ssize_t n;

	if (udax_open(s, name, O_RDONLY, &f) || udax_fstat(f, &st))
		die("a listed file does not open");
	n = udax_pread(f, head, sizeof(head), 0);
	if (n < 0 || (uint64_t)n != (st.size < sizeof(head) ? st.size : sizeof(head)))
		die("pread at 0");
	if (st.size > sizeof(tail) && udax_pread(f, tail, sizeof(tail), st.size - sizeof(tail)) !=
					      (ssize_t)sizeof(tail))
		die("pread at the end");
	if (st.size) {
		if (udax_mmap(f, 0, PG, PROT_READ, (void **)&map))
			die("mmap");
		if (memcmp(map, head, (size_t)n) != 0)
			die("the mapping reads other bytes than pread");
		if (udax_munmap(map, PG))
			die("munmap");
	}
	if (udax_close(f))
		die("close a file");
}

/* Write, punch, truncate and sync one listed file. */
static void file_change(struct udax_store *s, const char *name)
{
	struct udax_file_stat st;
	struct udax_file *f;
	ssize_t n;

	if (udax_open(s, name, O_RDWR, &f) || udax_fstat(f, &st))
		die("a listed file does not open for writing");
	n = udax_pwrite(f, "w", 1, st.size / 2);
	if (n != 1 && n != -ENOSPC)
		die("pwrite");
	if (udax_punch_hole(f, 0, 2 * PG) || udax_truncate(f, st.size / 3) || udax_fsync(f) ||
	    udax_fsync(f) || udax_close(f))
		die("punch, truncate, fsync or close");
}

/* Call fn on every file of directory parent (NULL: the root) and of its
 * subdirectories; the first file's path goes to first (if not NULL and
 * still ""). Asserted: every listed entry stats as the type listed. */
static void tree_each(struct udax_store *s, const char *parent,
		      void (*fn)(struct udax_store *s, const char *path), char *first)
{
	char name[UDAX_NAME_MAX + 1], sub[UDAX_PATH_MAX + 1];
	uint64_t cookie = 0;
	unsigned type;

	while (udax_readdir2(s, parent, &cookie, name, sizeof(name), &type) == 1) {
		struct udax_stat st;

		if (snprintf(sub, sizeof(sub), "%s%s%s", parent ? parent : "", parent ? "/" : "",
			     name) >= (int)sizeof(sub))
			continue;	/* deeper than a path can name */
		if (udax_stat(s, sub, &st) || st.type != type)
			die("a listed entry does not stat as listed");
		if (type == UDAX_TYPE_DIR) {
			tree_each(s, sub, fn, first);
			continue;
		}
		fn(s, sub);
		if (first && !*first)
			strcpy(first, sub);
	}
}

static void store_change(struct udax_store *s, const char *first)
{
	struct udax_file *f;
	ssize_t n;
	int ret;

	data_dirty = 1;
	tree_each(s, NULL, file_change, NULL);
	ret = udax_open(s, "fuzz-new", O_RDWR | O_CREAT, &f);
	if (ret == 0) {
		n = udax_pwrite(f, template, 3 * PG, PG);
		if (n != 3 * PG && n != -ENOSPC)
			die_ret("write a new file", n);
		ret = udax_close(f);
		if (ret)
			die_ret("close a new file", ret);
	} else if (ret != -ENOSPC) {
		die_ret("create a file", ret);
	}
	if (*first && udax_unlink(s, first))
		die("unlink");
}

static void store_exercise(int change)
{
	char first[UDAX_PATH_MAX + 1] = "";
	struct udax_store *s;
	int clean = udax_store_check(path, 0) == 0;

	if (udax_store_open(path, 0, &s)) {
		if (clean)
			die("a store that checks clean does not open");
		return;
	}
	tree_each(s, NULL, file_exercise, first);
	if (change)
		store_change(s, first);
	if (udax_store_close(s))
		die("closing an opened store failed");
	if (udax_store_check(path, 0) || *udax_strerror_detail())
		die("a store closed after use does not check clean");
}

/* Repair, unless the superblocks claim a store so large that extending
 * the file to it would only cost time. */
static void store_repair(void)
{
	for (int i = 0; i < 2; i++)
		if (slot(work, i)->store_blocks > 4 * STORE_BYTES / STORE_BLOCK_SIZE)
			return;
	data_dirty = 1;
	if (udax_store_check(path, UDAX_CHECK_REPAIR) == 0 &&
	    (udax_store_check(path, 0) || *udax_strerror_detail()))
		die("a repaired store does not check clean");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t flags = size > 0 ? data[0] : 0, cut = size > 1 ? data[1] : 0;
	size_t at = size < FUZZ_HEADER ? size : FUZZ_HEADER;

	memcpy(work, template, meta_len);
	at += overlay(work, sizeof(struct disk_super), data + at, size - at);
	at += overlay(work + STORE_BLOCK_SIZE, sizeof(struct disk_super), data + at, size - at);
	at += overlay(work + area_off, table_bytes, data + at, size - at);
	overlay(work + area_off + table_bytes, extents_room, data + at, size - at);
	if (flags & FUZZ_META_CRC0)
		meta_crc_recompute(slot(work, 0));
	if (flags & FUZZ_META_CRC1)
		meta_crc_recompute(slot(work, 1));
	if (flags & FUZZ_SUPER_CRC0)
		super_reseal(slot(work, 0));
	if (flags & FUZZ_SUPER_CRC1)
		super_reseal(slot(work, 1));
	file_restore();
	if (flags & FUZZ_CUT) {
		data_dirty = 1;
		if (ftruncate(fd, (off_t)cut * FUZZ_CUT_UNIT))
			die("truncate");
	}
	if (flags & FUZZ_REPAIR)
		store_repair();
	store_exercise(flags & FUZZ_WRITE);
	return 0;
}

/* Seeds: the template as it is, and one input per defect. */
struct seed {
	const char *name;
	uint8_t flags, cut;
	void (*damage)(uint8_t *img);
};

static struct disk_super *newest(uint8_t *img)
{
	return slot(img, slot(img, 0)->generation > slot(img, 1)->generation ? 0 : 1);
}

static struct disk_super *spare(uint8_t *img)
{
	return slot(img, slot(img, 0)->generation > slot(img, 1)->generation ? 1 : 0);
}

static struct disk_file *record(uint8_t *img, unsigned i)
{
	return (struct disk_file *)(img + area_off + (size_t)i * DISK_FILE_RECORD);
}

static struct disk_extent *extent(uint8_t *img, unsigned i)
{
	return (struct disk_extent *)(img + area_off + table_bytes) + i;
}

static void both(uint8_t *img, void (*change)(struct disk_super *sb))
{
	change(slot(img, 0));
	change(slot(img, 1));
}

static void area_blocks_wrap_sb(struct disk_super *sb)
{
	sb->area_blocks = UINT64_MAX;
	sb->extents = 1ull << 60;
}

static void area_blocks_wrap(uint8_t *img)
{
	both(img, area_blocks_wrap_sb);
	record(img, 0)->extent_count = 1000;
}

static void area_start_wraps_sb(struct disk_super *sb)
{
	sb->area_start[1] = 0 - sb->area_blocks;
}

static void area_start_wraps(uint8_t *img)
{
	both(img, area_start_wraps_sb);
}

static void extents_exceed_data_sb(struct disk_super *sb)
{
	sb->extents = sb->data_blocks + 1;
}

static void extents_exceed_data(uint8_t *img)
{
	both(img, extents_exceed_data_sb);
}

static void extent_wraps(uint8_t *img)
{
	extent(img, 0)->file_block = UINT64_MAX - 1;
}

static void extent_past_max(uint8_t *img)
{
	extent(img, 0)->file_block = 1ull << 40;
}

static void name_twice(uint8_t *img)
{
	memcpy(record(img, 1)->name, record(img, 0)->name, sizeof(record(img, 0)->name));
	record(img, 1)->name_len = record(img, 0)->name_len;
}

static void size_max(uint8_t *img)
{
	record(img, 0)->size = UINT64_MAX;
}

static void in_use_two(uint8_t *img)
{
	record(img, 1)->in_use = 2;
}

static void generation_limit(uint8_t *img)
{
	newest(img)->generation = UINT64_MAX;
}

static void newest_area_damaged(uint8_t *img)
{
	record(img, 0)->size ^= 1;	/* checksum not recomputed */
}

static void spare_torn(uint8_t *img)
{
	((uint8_t *)spare(img))[20] ^= 0x40;
}

static void parity_mismatch(uint8_t *img)
{
	newest(img)->generation++;
}

static void extents_overlap(uint8_t *img)
{
	extent(img, 1)->store_block = extent(img, 0)->store_block;
}

static void extents_unsorted(uint8_t *img)
{
	struct disk_extent t = *extent(img, 2);	/* gamma's two runs */

	*extent(img, 2) = *extent(img, 3);
	*extent(img, 3) = t;
}

static void name_slash(uint8_t *img)
{
	record(img, 0)->name[1] = '/';
}

static void blocks_mismatch(uint8_t *img)
{
	record(img, 0)->blocks++;
}

static void tree_orphan(uint8_t *img)
{
	record(img, 4)->parent = 6;	/* record 5 is free */
}

static void tree_parent_file(uint8_t *img)
{
	record(img, 4)->parent = 1;	/* alpha */
}

static void tree_cycle(uint8_t *img)
{
	record(img, 4)->type = STORE_TYPE_DIR;	/* empty: a valid directory */
	record(img, 3)->parent = 5;
}

static void nothing(uint8_t *img)
{
	(void)img;
}

#define RESEAL (FUZZ_META_CRC0 | FUZZ_META_CRC1 | FUZZ_SUPER_CRC0 | FUZZ_SUPER_CRC1)

static const struct seed seeds[] = {
	{ "template", 0, 0, nothing },
	{ "template-resealed", RESEAL, 0, nothing },
	{ "template-write", FUZZ_WRITE, 0, nothing },
	{ "newest-area-damaged-write", FUZZ_WRITE, 0, newest_area_damaged },
	{ "area-blocks-wrap", RESEAL, 0, area_blocks_wrap },
	{ "area-start-wraps", RESEAL, 0, area_start_wraps },
	{ "extents-exceed-data-blocks", RESEAL, 0, extents_exceed_data },
	{ "extent-file-block-wraps", RESEAL, 0, extent_wraps },
	{ "extent-past-max-file-size", RESEAL, 0, extent_past_max },
	{ "name-twice", RESEAL, 0, name_twice },
	{ "size-2-64-minus-1", RESEAL, 0, size_max },
	{ "in-use-2", RESEAL, 0, in_use_two },
	{ "generation-limit", RESEAL, 0, generation_limit },
	{ "newest-area-damaged", 0, 0, newest_area_damaged },
	{ "newest-area-damaged-repair", FUZZ_REPAIR, 0, newest_area_damaged },
	{ "spare-slot-torn", 0, 0, spare_torn },
	{ "spare-slot-torn-repair", FUZZ_REPAIR, 0, spare_torn },
	{ "newest-slot-parity-mismatch", RESEAL, 0, parity_mismatch },
	{ "truncated-in-data", FUZZ_CUT, 150, nothing },
	{ "truncated-in-data-repair", FUZZ_CUT | FUZZ_REPAIR, 150, nothing },
	{ "truncated-in-areas", FUZZ_CUT, 1, nothing },
	{ "truncated-to-nothing", FUZZ_CUT, 0, nothing },
	{ "extents-overlap", RESEAL, 0, extents_overlap },
	{ "extents-unsorted", RESEAL, 0, extents_unsorted },
	{ "name-with-slash", RESEAL, 0, name_slash },
	{ "blocks-mismatch", RESEAL, 0, blocks_mismatch },
	{ "tree-orphan", RESEAL, 0, tree_orphan },
	{ "tree-orphan-repair", RESEAL | FUZZ_REPAIR, 0, tree_orphan },
	{ "tree-parent-file", RESEAL | FUZZ_WRITE, 0, tree_parent_file },
	{ "tree-parent-file-repair", RESEAL | FUZZ_REPAIR | FUZZ_WRITE, 0, tree_parent_file },
	{ "tree-cycle", RESEAL, 0, tree_cycle },
	{ "tree-cycle-repair", RESEAL | FUZZ_REPAIR | FUZZ_WRITE, 0, tree_cycle },
};

/* The input that lays img's regions over the template, with flags. */
static void seed_write(const char *seed_dir, const struct seed *sd)
{
	uint8_t *img = malloc(meta_len);
	size_t ext_len = 0;
	char name[512];
	FILE *out;

	memcpy(img, template, meta_len);
	sd->damage(img);
	/* The extent array as far as the template or the damage uses it. */
	while (ext_len < extents_room && extent(img, (unsigned)(ext_len / 16))->len)
		ext_len += sizeof(struct disk_extent);
	snprintf(name, sizeof(name), "%s/seed-%s", seed_dir, sd->name);
	out = fopen(name, "wb");
	if (!out || fputc(sd->flags, out) == EOF || fputc(sd->cut, out) == EOF ||
	    fwrite(img, sizeof(struct disk_super), 1, out) != 1 ||
	    fwrite(img + STORE_BLOCK_SIZE, sizeof(struct disk_super), 1, out) != 1 ||
	    fwrite(img + area_off, table_bytes, 1, out) != 1 ||
	    (ext_len && fwrite(img + area_off + table_bytes, ext_len, 1, out) != 1) ||
	    fclose(out))
		die("write seed");
	free(img);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seed_dir = getenv("UDAX_FUZZ_SEEDS");

	(void)argc;
	(void)argv;
	template_make();
	if (seed_dir) {
		for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
			seed_write(seed_dir, &seeds[i]);
		printf("store_fuzz: %zu seeds written to %s\n", sizeof(seeds) / sizeof(seeds[0]),
		       seed_dir);
		exit(0);
	}
	return 0;
}
