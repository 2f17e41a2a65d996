// SPDX-License-Identifier: MIT
/*
 * dirs_fsck_repairs_tree: a store whose file table (checksums matching)
 * has an entry cut off from the root: its parent a free record, its parent
 * a file, or two directories each other's parent. udax_store_check() says
 * -EUCLEAN naming the directory structure, udax_store_open() refuses it
 * with -EUCLEAN pointing at fsck --repair, and the repair reattaches the
 * cut-off entry under lost+found as "#record": the store then checks
 * clean, opens, every entry is reachable from the root, and the data of a
 * moved file is intact.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_disk.h"
#include "test_util.h"
#include "udax.h"

static uint8_t *image;
static size_t image_len;

static void image_io(const char *path, bool write_back)
{
	struct stat st;
	int fd = open(path, O_RDWR);

	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	if (!write_back) {
		image_len = (size_t)st.st_size;
		image = realloc(image, image_len);
		CHECK(image && pread(fd, image, image_len, 0) == (ssize_t)image_len);
	} else {
		CHECK(pwrite(fd, image, image_len, 0) == (ssize_t)image_len);
	}
	close(fd);
}

static struct disk_super *newest(void)
{
	struct disk_super *a = (struct disk_super *)image;
	struct disk_super *b = (struct disk_super *)(image + STORE_BLOCK_SIZE);

	return a->generation > b->generation ? a : b;
}

static struct disk_file *record(unsigned i)
{
	struct disk_super *sb = newest();

	return (struct disk_file *)(image + sb->area_start[sb->active_area] * STORE_BLOCK_SIZE +
				    (size_t)i * DISK_FILE_RECORD);
}

/* The record of the entry called name (the last component). */
static unsigned record_of(const char *name)
{
	for (unsigned i = 0; i < newest()->files_max; i++)
		if (record(i)->in_use && !strcmp(record(i)->name, name))
			return i;
	test_fail(__FILE__, __LINE__, "no record called %s", name);
}

static void reseal(void)
{
	struct disk_super *sb = newest();

	sb->meta_crc = crc32c(0, record(0), disk_area_bytes(sb));
	sb->super_crc = 0;
	sb->super_crc = crc32c(0, sb, sizeof(*sb));
}

static void store_make(const char *path)
{
	struct udax_store *s;
	struct udax_file *f;

	unlink(path);
	CHECK_EQ(udax_store_create(path, 8ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(path, 0, &s), 0);
	CHECK_EQ(udax_mkdir(s, "a", 0755), 0);
	CHECK_EQ(udax_mkdir(s, "a/b", 0755), 0);
	CHECK_EQ(udax_open(s, "a/b/g", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_pwrite(f, "gee", 3, 0), 3);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_open(s, "x", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

/* Every entry reachable from the root: count them. */
static unsigned entries(struct udax_store *s, const char *dir)
{
	char name[UDAX_NAME_MAX + 1], sub[600];
	uint64_t cookie = 0;
	unsigned type, n = 0;

	while (udax_readdir2(s, dir, &cookie, name, sizeof(name), &type) == 1) {
		n++;
		snprintf(sub, sizeof(sub), "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
		if (type == UDAX_TYPE_DIR)
			n += entries(s, sub);
	}
	return n;
}

struct damage {
	const char *what;
	const char *cut;	/* the entry damaged */
	const char *parent;	/* its parent after the damage (NULL: free) */
	const char *moved;	/* the entry the repair moves (of a cycle,
				   the one whose parent is seen first on it) */
	const char *file;	/* where g is then, below the moved entry */
	const char *reason;	/* in the check's detail */
};

static const struct damage damages[] = {
	{ "orphan", "g", NULL, "g", "", "does not exist" },
	{ "parent is a file", "b", "x", "b", "/g", "names a file" },
	{ "cycle", "a", "b", "b", "/g", "cycle" },
};

int main(void)
{
	const char *path;

	test_init("dirs_fsck_repairs_tree", 60);
	path = strdup(test_path("store"));
	for (size_t k = 0; k < sizeof(damages) / sizeof(damages[0]); k++) {
		const struct damage *d = &damages[k];
		char moved[64], file[80];
		struct udax_store *s;
		struct udax_file *f;
		struct udax_stat st;
		unsigned cut;
		char buf[3];

		store_make(path);
		image_io(path, false);
		cut = record_of(d->cut);
		record(cut)->parent = d->parent ? record_of(d->parent) + 1 : newest()->files_max;
		reseal();
		image_io(path, true);

		CHECK_EQ(udax_store_check(path, 0), -EUCLEAN);
		CHECK(strstr(udax_strerror_detail(), "directory structure") &&
		      strstr(udax_strerror_detail(), d->reason), "%s: check says: %s", d->what,
		      udax_strerror_detail());
		CHECK_EQ(udax_store_open(path, 0, &s), -EUCLEAN);
		CHECK(strstr(udax_strerror_detail(), "fsck --repair"), "%s: open says: %s",
		      d->what, udax_strerror_detail());
		CHECK(udax_store_check(path, UDAX_CHECK_REPAIR) == 0, "%s: repair: %s", d->what,
		      udax_strerror_detail());
		CHECK(strstr(udax_strerror_detail(), "lost+found"), "%s: repair says: %s",
		      d->what, udax_strerror_detail());
		CHECK(udax_store_check(path, 0) == 0 && !*udax_strerror_detail(),
		      "%s: after the repair: %s", d->what, udax_strerror_detail());

		CHECK_EQ(udax_store_open(path, 0, &s), 0);
		snprintf(moved, sizeof(moved), "lost+found/#%u", record_of(d->moved));
		CHECK(udax_stat(s, moved, &st) == 0, "%s: %s: %s", d->what, moved,
		      udax_strerror_detail());
		/* a, a/b, a/b/g, x and lost+found, all reachable */
		CHECK_EQ(entries(s, NULL), 5);
		snprintf(file, sizeof(file), "%s%s", moved, d->file);
		CHECK_EQ(udax_open(s, file, O_RDONLY, &f), 0);
		CHECK_EQ(udax_pread(f, buf, 3, 0), 3);
		CHECK(!memcmp(buf, "gee", 3), "%s: the data of %s", d->what, file);
		CHECK_EQ(udax_close(f), 0);
		CHECK_EQ(udax_store_close(s), 0);
	}
	free(image);
	test_pass();
}
