// SPDX-License-Identifier: MIT
/*
 * store_superblock_fallback: the two superblock slots as fsck and open see
 * them. A store checkpointed twice (file size 100, then 200) is damaged in
 * four ways, each from a fresh copy:
 *  - the newest slot's metadata area fails its checksum: the store opens
 *    from the older slot (size 100); udax_store_check() says -EUCLEAN and
 *    that the last checkpoint's changes are lost; UDAX_CHECK_REPAIR makes
 *    it clean, with both slots valid again;
 *  - the spare (older) slot is torn: the store is clean with a warning in
 *    udax_strerror_detail(); the repair rewrites the slot;
 *  - the newest slot's generation is at its limit (it could never be
 *    followed): it is not used, as a damaged newest slot;
 *  - both areas fail: -EUCLEAN, and the repair writes nothing.
 * And a store whose newest superblock sits in the slot its generation's
 * parity does not name (a valid state): a checkpoint writes the other
 * slot, never the one in use.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_disk.h"
#include "test_util.h"
#include "udax.h"

static uint8_t *image, *copy;
static size_t image_len;
static const char *path;

static void image_load(uint8_t *img)
{
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0 && pread(fd, img, image_len, 0) == (ssize_t)image_len);
	close(fd);
}

static void image_store(const uint8_t *img)
{
	int fd = open(path, O_RDWR | O_TRUNC);

	CHECK(fd >= 0 && pwrite(fd, img, image_len, 0) == (ssize_t)image_len);
	close(fd);
}

static bool image_same(const uint8_t *img)
{
	uint8_t *now = malloc(image_len);
	bool same;

	CHECK(now);
	image_load(now);
	same = memcmp(now, img, image_len) == 0;
	free(now);
	return same;
}

static struct disk_super *slot(uint8_t *img, int i)
{
	return (struct disk_super *)(img + (size_t)i * STORE_BLOCK_SIZE);
}

static bool slot_valid(uint8_t *img, int i)
{
	struct disk_super sb = *slot(img, i);

	sb.super_crc = 0;
	return !memcmp(sb.magic, STORE_MAGIC, 8) &&
	       crc32c(0, &sb, sizeof(sb)) == slot(img, i)->super_crc;
}

static int newest(uint8_t *img)
{
	return slot(img, 0)->generation > slot(img, 1)->generation ? 0 : 1;
}

static uint8_t *area_of(uint8_t *img, int i)
{
	return img + slot(img, i)->area_start[slot(img, i)->active_area] * STORE_BLOCK_SIZE;
}

static void reseal(struct disk_super *sb)
{
	sb->super_crc = 0;
	sb->super_crc = crc32c(0, sb, sizeof(*sb));
}

static uint64_t file_size(void)
{
	struct udax_store *s;
	struct udax_file *f;
	struct udax_file_stat st;

	CHECK_EQ(udax_store_open(path, 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDONLY, &f), 0);
	st = test_file_stat(f);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	return st.size;
}

static void set_size(uint64_t size)
{
	struct udax_store *s;
	struct udax_file *f;

	CHECK_EQ(udax_store_open(path, 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, size), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
}

/* The repair brought the store back to clean, both slots valid. */
static void check_repaired(const char *what)
{
	CHECK_EQ(udax_store_check(path, UDAX_CHECK_REPAIR), 0);
	CHECK(strstr(udax_strerror_detail(), "repaired") &&
	      strstr(udax_strerror_detail(), what), "repair detail: %s", udax_strerror_detail());
	printf("  repair: %s\n", udax_strerror_detail());
	CHECK_EQ(udax_store_check(path, 0), 0);
	CHECK(!strcmp(udax_strerror_detail(), ""), "after repair: %s", udax_strerror_detail());
	image_load(copy);
	CHECK(slot_valid(copy, 0) && slot_valid(copy, 1));
}

int main(void)
{
	struct udax_store *s;
	struct stat st;
	int n, other;

	test_init("store_superblock_fallback", 60);
	path = test_path("store");
	CHECK_EQ(udax_store_create(path, 8ull << 20, 0), 0);
	set_size(100);
	set_size(200);
	CHECK(stat(path, &st) == 0);
	image_len = (size_t)st.st_size;
	image = malloc(image_len);
	copy = malloc(image_len);
	image_load(image);
	n = newest(image);
	other = n ^ 1;
	CHECK(slot_valid(image, 0) && slot_valid(image, 1));
	CHECK(slot(image, n)->active_area != slot(image, other)->active_area);

	/* The newest slot's area fails its checksum: open falls back. */
	memcpy(copy, image, image_len);
	area_of(copy, n)[offsetof(struct disk_file, size)] ^= 1;
	image_store(copy);
	CHECK_EQ(udax_store_check(path, 0), -EUCLEAN);
	CHECK(strstr(udax_strerror_detail(), "metadata checksum") &&
	      strstr(udax_strerror_detail(), "last checkpoint"), "%s", udax_strerror_detail());
	printf("  newest area damaged: %s\n", udax_strerror_detail());
	CHECK_EQ(udax_store_open(path, 0, &s), 0);
	CHECK(strstr(udax_strerror_detail(), "last checkpoint"), "open: %s",
	      udax_strerror_detail());
	CHECK_EQ(udax_store_close(s), 0);
	image_store(copy);
	CHECK_EQ(file_size(), 100);
	image_store(copy);
	check_repaired("metadata checksum");
	CHECK_EQ(file_size(), 100);

	/* A torn spare slot: clean, with a warning. */
	memcpy(copy, image, image_len);
	((uint8_t *)slot(copy, other))[20] ^= 0x40;
	image_store(copy);
	CHECK_EQ(udax_store_check(path, 0), 0);
	CHECK(strstr(udax_strerror_detail(), "slot") &&
	      strstr(udax_strerror_detail(), "checksum"), "warning: '%s'", udax_strerror_detail());
	printf("  spare slot torn: 0, warning: %s\n", udax_strerror_detail());
	CHECK_EQ(file_size(), 200);
	image_store(copy);
	check_repaired("slot");
	CHECK_EQ(file_size(), 200);

	/* A newest slot that could never checkpoint again is not used. */
	memcpy(copy, image, image_len);
	slot(copy, n)->generation = UINT64_MAX;
	reseal(slot(copy, n));
	image_store(copy);
	CHECK_EQ(udax_store_check(path, 0), -EUCLEAN);
	CHECK(strstr(udax_strerror_detail(), "generation"), "%s", udax_strerror_detail());
	CHECK_EQ(file_size(), 100);

	/* Both areas damaged: nothing to repair from, nothing written. */
	memcpy(copy, image, image_len);
	area_of(copy, n)[offsetof(struct disk_file, size)] ^= 1;
	area_of(copy, other)[offsetof(struct disk_file, size)] ^= 1;
	image_store(copy);
	CHECK_EQ(udax_store_check(path, UDAX_CHECK_REPAIR), -EUCLEAN);
	CHECK(strstr(udax_strerror_detail(), "metadata checksum"), "%s", udax_strerror_detail());
	CHECK_EQ(udax_store_open(path, 0, &s), -EUCLEAN);
	CHECK(image_same(copy), "a refused repair wrote to the store");

	/* Newest in the slot its parity does not name: a checkpoint writes
	 * the other slot. */
	memcpy(copy, image, image_len);
	slot(copy, n)->generation++;
	reseal(slot(copy, n));
	image_store(copy);
	CHECK_EQ(udax_store_check(path, 0), 0);
	CHECK_EQ(udax_store_open(path, 0, &s), 0);
	CHECK_EQ(udax_store_close(s), 0);
	image_load(image);
	CHECK(memcmp(slot(image, n), slot(copy, n), sizeof(struct disk_super)) == 0,
	      "the checkpoint overwrote the superblock in use (slot %d)", n);
	CHECK(slot_valid(image, other) && slot(image, other)->generation ==
	      slot(copy, n)->generation + 1, "slot %d: generation %llu", other,
	      (unsigned long long)slot(image, other)->generation);
	CHECK_EQ(file_size(), 200);
	free(image);
	free(copy);
	test_pass();
}
