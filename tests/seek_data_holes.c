// SPDX-License-Identifier: MIT
/*
 * seek_data_holes: udax_seek_data() answers SEEK_DATA and SEEK_HOLE as
 * lseek(2) does, checked after each of 400 seeded random pwrites, punches,
 * truncates and fallocates of a file of up to 48 MiB:
 * - walking from 0 gives ascending, disjoint data runs inside the file,
 *   starting on a block and ending on a block or at the end of the file;
 * - their blocks add up to the file's blocks (udax_fstat): every block is
 *   found, no hole is called data;
 * - every page holding bytes written and not punched or truncated away
 *   lies in a run, and sampled hole bytes read as zeros;
 * - random offsets answer what the walk says (data: off itself or the next
 *   run's start, else -ENXIO; hole: off itself or the run's end);
 * - -ENXIO at and past the end, -EINVAL for another whence.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define PAGE 4096ull
#define MIB (1ull << 20)
#define FILE_MAX (48 * MIB)
#define PAGES (FILE_MAX / PAGE)
#define RUNS_MAX (PAGES / 2 + 1)
#define STEPS 400

struct run {
	uint64_t start, end;
};

static bool written[PAGES];	/* the model: pages holding written bytes */
static struct run runs[RUNS_MAX];
static char buf[MIB];

/* Walk f's data runs from 0 into runs[]. Return: how many. */
static size_t runs_walk(struct udax_file *f, uint64_t size)
{
	int64_t data, hole = 0;
	size_t n = 0;

	while ((data = udax_seek_data(f, (uint64_t)hole, SEEK_DATA)) >= 0) {
		hole = udax_seek_data(f, (uint64_t)data, SEEK_HOLE);
		CHECK(hole > data, "hole %lld after data %lld", (long long)hole, (long long)data);
		CHECK((uint64_t)hole <= size && (data % PAGE == 0) &&
		      ((uint64_t)hole == size || hole % PAGE == 0),
		      "run [%lld, %lld) of a %llu-byte file", (long long)data, (long long)hole,
		      (unsigned long long)size);
		CHECK(n == 0 || (uint64_t)data > runs[n - 1].end, "runs touch or go back");
		CHECK(n < RUNS_MAX);
		runs[n++] = (struct run){ (uint64_t)data, (uint64_t)hole };
	}
	CHECK_EQ(data, -ENXIO);
	return n;
}

/* The run holding off, or the first after it, or n. */
static size_t run_at(size_t n, uint64_t off)
{
	size_t i = 0;

	while (i < n && runs[i].end <= off)
		i++;
	return i;
}

static void check(struct udax_file *f, uint64_t *rng)
{
	uint64_t size = test_file_stat(f).size, blocks = 0;
	size_t n = runs_walk(f, size);

	for (size_t i = 0; i < n; i++)
		blocks += (runs[i].end - runs[i].start + PAGE - 1) / PAGE;
	CHECK_EQ(blocks, test_file_stat(f).blocks);
	for (uint64_t p = 0; p < PAGES; p++) {
		size_t i = run_at(n, p * PAGE);

		if (written[p])
			CHECK(i < n && runs[i].start <= p * PAGE, "page %llu was written, is a hole",
			      (unsigned long long)p);
	}
	for (int k = 0; k < 64 && size; k++) {
		uint64_t off = test_rand(rng) % size;
		size_t i = run_at(n, off);
		bool in_data = i < n && runs[i].start <= off;
		int64_t want_data = in_data ? (int64_t)off : i < n ? (int64_t)runs[i].start : -ENXIO;
		int64_t want_hole = in_data ? (int64_t)runs[i].end : (int64_t)off;
		char c = 1;

		CHECK_EQ(udax_seek_data(f, off, SEEK_DATA), want_data);
		CHECK_EQ(udax_seek_data(f, off, SEEK_HOLE), want_hole);
		if (!in_data) {
			CHECK_EQ(udax_pread(f, &c, 1, off), 1);
			CHECK_EQ(c, 0);
		}
	}
	CHECK_EQ(udax_seek_data(f, size, SEEK_DATA), -ENXIO);
	CHECK_EQ(udax_seek_data(f, size + 12345, SEEK_HOLE), -ENXIO);
	CHECK_EQ(udax_seek_data(f, 0, SEEK_END), -EINVAL);
}

/* Mark the model's pages wholly inside [off, off + len) as not written. */
static void model_clear(uint64_t off, uint64_t len)
{
	for (uint64_t p = (off + PAGE - 1) / PAGE; (p + 1) * PAGE <= off + len && p < PAGES; p++)
		written[p] = false;
}

static void step(struct udax_file *f, uint64_t *rng)
{
	uint64_t size = test_file_stat(f).size, r = test_rand(rng);
	uint64_t off = test_rand(rng) % FILE_MAX;
	uint64_t len = 1 + test_rand(rng) % (r & 1 ? MIB : 64 * 1024);

	if (off + len > FILE_MAX)
		len = FILE_MAX - off;
	switch (r >> 1 & 3) {
	case 0:	/* data: nonzero bytes */
		memset(buf, (int)(1 + r % 255), len);
		CHECK_EQ(udax_pwrite(f, buf, len, off), (ssize_t)len);
		for (uint64_t p = off / PAGE; p * PAGE < off + len; p++)
			written[p] = true;
		break;
	case 1:
		CHECK_EQ(udax_punch_hole(f, off, len), 0);
		model_clear(off, len);
		break;
	case 2:	/* mostly shrinking */
		off = r & 8 ? off : size / 2 + off % (size / 2 + 1);
		CHECK_EQ(udax_truncate(f, off), 0);
		model_clear((off + PAGE - 1) / PAGE * PAGE, FILE_MAX);
		break;
	default:
		CHECK_EQ(udax_fallocate(f, off, len), 0);
		break;
	}
}

int main(void)
{
	uint64_t rng;
	struct udax_store *s;
	struct udax_file *f;

	test_init("seek_data_holes", 120);
	rng = test_seed;
	CHECK_EQ(udax_store_create(test_path("s"), 256 * MIB, 0), 0);
	CHECK_EQ(udax_store_open(test_path("s"), 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);

	/* Empty: no data, not even a hole before the end. */
	CHECK_EQ(udax_seek_data(f, 0, SEEK_DATA), -ENXIO);
	CHECK_EQ(udax_seek_data(f, 0, SEEK_HOLE), -ENXIO);
	CHECK_EQ(udax_seek_data(NULL, 0, SEEK_DATA), -EINVAL);
	CHECK(*udax_strerror_detail());

	/* 1 GiB with two bytes: two runs, everything else a hole. */
	CHECK_EQ(udax_truncate(f, 1ull << 30), 0);
	CHECK_EQ(udax_pwrite(f, "a", 1, 8192), 1);
	CHECK_EQ(udax_pwrite(f, "b", 1, 512 * MIB + 5), 1);
	CHECK_EQ(runs_walk(f, 1ull << 30), 2);
	CHECK(runs[0].start <= 8192 && runs[0].end > 8192 && runs[1].start <= 512 * MIB &&
	      runs[1].end > 512 * MIB + 5 && runs[1].end < (1ull << 30));
	CHECK_EQ(udax_seek_data(f, 8193, SEEK_DATA), 8193);
	CHECK_EQ(udax_seek_data(f, (1ull << 30) - 1, SEEK_HOLE), (1ull << 30) - 1);
	CHECK_EQ(udax_truncate(f, 0), 0);

	for (int i = 0; i < STEPS; i++) {
		step(f, &rng);
		check(f, &rng);
	}
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	test_pass();
}
