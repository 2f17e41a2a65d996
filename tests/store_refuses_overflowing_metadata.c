// SPDX-License-Identifier: MIT
/*
 * store_refuses_overflowing_metadata: stores whose superblock or records
 * hold counts and offsets that only pass a check by wrapping around 2^64,
 * or that break a rule of the format (a metadata area without room for an
 * extent per data block, a name twice, a size past the maximum file size,
 * an in_use byte other than 0 or 1, an extent past the maximum file size,
 * a generation at its limit), all with matching
 * checksums. Each is refused by udax_store_open() and udax_store_check()
 * with -EUCLEAN and a reason naming the problem, without a crash, a hang
 * or a huge allocation, and the file is left as it was. The store has one
 * superblock slot (the other is wiped), so that nothing falls back to it.
 * Each case runs in a child process with its own time limit: a hang (the
 * close of a store whose map wraps past 2^64 looped forever) fails that
 * case, and every case is reported. A store one generation short of the
 * limit opens, but refuses to checkpoint (-EOVERFLOW) rather than write a
 * superblock that would be refused and silently roll the store back.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store_disk.h"
#include "test_util.h"
#include "udax.h"

#define CASE_SECONDS 10

static uint8_t *image, *copy;
static size_t image_len;
static int active_slot;

static void image_read(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	image_len = (size_t)st.st_size;
	image = malloc(image_len);
	copy = malloc(image_len);
	CHECK(image && copy && pread(fd, image, image_len, 0) == (ssize_t)image_len);
	close(fd);
}

static void image_write(const char *path, const uint8_t *data)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0 && pwrite(fd, data, image_len, 0) == (ssize_t)image_len);
	close(fd);
}

static bool image_same(const char *path, const uint8_t *data)
{
	uint8_t *now = malloc(image_len);
	int fd = open(path, O_RDONLY);
	bool same;

	CHECK(now && fd >= 0 && pread(fd, now, image_len, 0) == (ssize_t)image_len);
	same = memcmp(now, data, image_len) == 0;
	close(fd);
	free(now);
	return same;
}

static struct disk_super *slot(uint8_t *img, int i)
{
	return (struct disk_super *)(img + (size_t)i * STORE_BLOCK_SIZE);
}

static uint8_t *area(uint8_t *img)
{
	struct disk_super *sb = slot(img, active_slot);

	return img + sb->area_start[sb->active_area] * STORE_BLOCK_SIZE;
}

static struct disk_file *record(uint8_t *img, unsigned i)
{
	return (struct disk_file *)(area(img) + (size_t)i * DISK_FILE_RECORD);
}

static struct disk_extent *extents(uint8_t *img)
{
	struct disk_super *sb = slot(img, active_slot);

	return (struct disk_extent *)(area(img) + disk_table_bytes(sb->files_max));
}

/* Make the checksums match the damage, computing the area's length as a
 * checker that lets it wrap would. */
static void reseal(uint8_t *img)
{
	struct disk_super *sb = slot(img, active_slot);
	uint64_t len = disk_table_bytes(sb->files_max) + sb->extents * sizeof(struct disk_extent);
	size_t at = (size_t)(area(img) - img);

	if (len <= image_len - at)
		sb->meta_crc = crc32c(0, img + at, len);
	sb->super_crc = 0;
	sb->super_crc = crc32c(0, sb, sizeof(*sb));
}

static void area_blocks_wrap(uint8_t *img)
{
	/* (area_blocks - table_blocks) * 256 and area_start + area_blocks
	 * wrap; the extent array's length wraps to 0. */
	slot(img, active_slot)->area_blocks = UINT64_MAX;
	slot(img, active_slot)->extents = 1ull << 60;
	record(img, 0)->extent_count = 1000;
}

static void area_start_wraps(uint8_t *img)
{
	struct disk_super *sb = slot(img, active_slot);

	/* area 1 at 2^64 - area_blocks: area_start[1] + area_blocks is 0. */
	sb->area_start[sb->active_area ^ 1] = 0 - sb->area_blocks;
}

static void extents_exceed_data(uint8_t *img)
{
	struct disk_super *sb = slot(img, active_slot);

	/* The extent array has room for one per store block. */
	sb->extents = sb->data_blocks + 1;
}

static void area_room_short(uint8_t *img)
{
	struct disk_super *sb = slot(img, active_slot);

	/* Room for 256 extents, fewer than the data blocks: enough for the
	 * files now, not for what they can fragment into (found by the
	 * fuzzer: the checkpoint at close then failed). */
	sb->area_blocks = disk_table_bytes(sb->files_max) / STORE_BLOCK_SIZE + 1;
}

static void extent_file_block_wraps(uint8_t *img)
{
	extents(img)[record(img, 0)->extent_first].file_block = UINT64_MAX - 1;
}

static void extent_past_max_file(uint8_t *img)
{
	extents(img)[record(img, 0)->extent_first].file_block = 1ull << 40;
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

static void size_past_max(uint8_t *img)
{
	record(img, 0)->size = (1ull << 46) + 1;
}

static void in_use_two(uint8_t *img)
{
	record(img, 1)->in_use = 2;
}

static void generation_limit(uint8_t *img)
{
	slot(img, active_slot)->generation = UINT64_MAX;
}

static const struct bad_case {
	const char *label;
	void (*damage)(uint8_t *img);
	const char *word;
} cases[] = {
	{ "area_blocks wraps", area_blocks_wrap, "geometry" },
	{ "area_start wraps", area_start_wraps, "geometry" },
	{ "more extents than data blocks", extents_exceed_data, "geometry" },
	{ "area room below the data blocks", area_room_short, "geometry" },
	{ "extent file_block + len wraps", extent_file_block_wraps, "maximum file size" },
	{ "extent past the maximum file size", extent_past_max_file, "maximum file size" },
	{ "a name twice", name_twice, "twice" },
	{ "size 2^64 - 1", size_max, "maximum file size" },
	{ "size 2^46 + 1", size_past_max, "maximum file size" },
	{ "in_use 2", in_use_two, "in_use" },
	{ "generation at its limit", generation_limit, "generation" },
};

/* In a child: Return 0 if the case is refused as expected, else 1 (a
 * crash or a hang ends the child otherwise). */
static int case_run(const struct bad_case *c, const char *path)
{
	struct udax_store *s;
	int ret = udax_store_open(path, 0, &s);

	if (ret == 0) {
		printf("  %s: opened (closing it returns %d)\n", c->label, udax_store_close(s));
		return 1;
	}
	if (ret != -EUCLEAN || !strstr(udax_strerror_detail(), c->word)) {
		printf("  %s: open returned %d (%s), expected %d with '%s'\n", c->label, ret,
		       udax_strerror_detail(), -EUCLEAN, c->word);
		return 1;
	}
	printf("  %-34s -> %d: %s\n", c->label, ret, udax_strerror_detail());
	ret = udax_store_check(path, 0);
	if (ret != -EUCLEAN || !strstr(udax_strerror_detail(), c->word)) {
		printf("  %s: check returned %d (%s)\n", c->label, ret, udax_strerror_detail());
		return 1;
	}
	return 0;
}

int main(void)
{
	const char *good, *bad;
	struct udax_store *s;
	struct udax_file *f;
	static char data[3 * 4096];
	unsigned failed = 0;

	test_init("store_refuses_overflowing_metadata", 11 * CASE_SECONDS + 30);
	good = test_path("good");
	bad = test_path("bad");
	CHECK_EQ(udax_store_create(good, 8ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(good, 0, &s), 0);
	CHECK_EQ(udax_open(s, "first", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_pwrite(f, data, sizeof(data), 0), (ssize_t)sizeof(data));
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_open(s, "second", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_pwrite(f, "more", 4, 0), 4);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	image_read(good);
	active_slot = slot(image, 0)->generation > slot(image, 1)->generation ? 0 : 1;
	memset(slot(image, active_slot ^ 1), 0, STORE_BLOCK_SIZE);
	CHECK(record(image, 0)->in_use && record(image, 0)->extent_count == 1);
	CHECK(extents(image)[0].len == 3);
	CHECK(record(image, 1)->in_use && record(image, 1)->extent_count == 1);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct stat before, after;
		int status;
		pid_t pid;

		memcpy(copy, image, image_len);
		cases[i].damage(copy);
		reseal(copy);
		image_write(bad, copy);
		CHECK(stat(bad, &before) == 0);
		fflush(stdout);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			signal(SIGALRM, SIG_DFL);
			alarm(CASE_SECONDS);
			status = case_run(&cases[i], bad);
			fflush(stdout);
			_exit(status);
		}
		CHECK(waitpid(pid, &status, 0) == pid);
		if (WIFSIGNALED(status)) {
			printf("  %s: %s\n", cases[i].label, WTERMSIG(status) == SIGALRM ?
			       "hung" : strsignal(WTERMSIG(status)));
			failed++;
			continue;
		}
		CHECK(stat(bad, &after) == 0);
		if (after.st_size != before.st_size || !image_same(bad, copy)) {
			printf("  %s: the store file changed\n", cases[i].label);
			status = 1;
		}
		failed += status != 0;
	}
	CHECK(failed == 0, "%u of %zu cases not refused as expected", failed,
	      sizeof(cases) / sizeof(cases[0]));

	memcpy(copy, image, image_len);
	slot(copy, active_slot)->generation = UINT64_MAX - 1;
	reseal(copy);
	image_write(bad, copy);
	CHECK_EQ(udax_store_open(bad, 0, &s), 0);
	CHECK_EQ(udax_unlink(s, "second"), -EOVERFLOW);
	CHECK_EQ(udax_store_close(s), -EOVERFLOW);
	CHECK(image_same(bad, copy), "a store at the generation limit was written");
	free(image);
	free(copy);
	test_pass();
}
