// SPDX-License-Identifier: MIT
/*
 * store_region_dir_full: the directory of shared regions ($UDAX_REGION_DIR,
 * a tmpfs of its own here) is nearly full while the store is not (found by
 * the adversarial pass of issue 14's API step: the open succeeded, and the
 * first fault, a read of a hole, died of SIGBUS without a word).
 *  1. Room for the region's fixed part but not for the first chunk of its
 *     node arena: the shared open fails with -ENOSPC and says why; a
 *     read-only open reads the store outside the region.
 *  2. Room for the first chunk only: the open succeeds, and once the page
 *     index of a file outgrows the chunk (read faults of holes scattered
 *     over 4 GiB), the fault raises SIGBUS in the faulting process with a
 *     message naming the region's directory; a call gets -ENOMEM with a
 *     detail saying as much; nothing is lost (the store checks clean).
 * Needs root to mount a tmpfs (skipped otherwise).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define FILE_BYTES (4ull << 30)
#define STRIDE (256u << 10)	/* one page index leaf per read */
#define CHUNK (2ull << 20)	/* XPROC_ARENA_CHUNK */

static const char *store;
static char small[512];

/* At exit, pass or fail: no mount left behind. */
static void unmount_small(void)
{
	umount2(small, MNT_DETACH);
}

/* The size of the one region file in dir. */
static uint64_t region_bytes(const char *dir)
{
	char file[1024];
	struct dirent *e;
	struct stat st;
	DIR *d = opendir(dir);
	uint64_t bytes = 0;

	CHECK(d != NULL);
	while ((e = readdir(d))) {
		if (!strstr(e->d_name, ".region"))
			continue;
		snprintf(file, sizeof(file), "%s/%s", dir, e->d_name);
		CHECK(stat(file, &st) == 0);
		bytes = (uint64_t)st.st_size;
	}
	closedir(d);
	CHECK(bytes > CHUNK, "no region file in %s", dir);
	return bytes;
}

static void tmpfs_at(const char *dir, uint64_t bytes)
{
	char opts[64];

	umount2(dir, MNT_DETACH);
	snprintf(opts, sizeof(opts), "size=%llu", (unsigned long long)((bytes + 4095) & ~4095ull));
	CHECK(mount("udax-test", dir, "tmpfs", 0, opts) == 0, "mount: %s", strerror(errno));
}

/* Part 2's child: read holes until the index outgrows the region. */
static int read_holes(void)
{
	struct udax_store *s;
	struct udax_file *f;
	volatile char *map;
	char sink = 0;
	int fd = open(test_path("stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || dup2(fd, STDERR_FILENO) != STDERR_FILENO)
		return 2;
	if (udax_store_open(store, 0, &s) || udax_open(s, "f", O_RDONLY, &f) ||
	    udax_mmap2(f, 0, FILE_BYTES, PROT_READ, UDAX_MAP_PTE, (void **)&map))
		return 3;
	for (uint64_t off = 0; off < FILE_BYTES; off += STRIDE)
		sink ^= map[off];
	return sink == 0 ? 4 : 5;	/* every read served: the region had room */
}

int main(void)
{
	char why[512];
	struct udax_store *s;
	struct udax_file *f;
	struct udax_stat fst;
	uint64_t full;
	int status;
	pid_t pid;

	test_init("store_region_dir_full", 60);
	if (geteuid() != 0)
		test_skip("mounting a tmpfs needs root");
	store = test_path("store");
	snprintf(small, sizeof(small), "%s", test_path("regions"));
	CHECK(mkdir(small, 0700) == 0);
	setenv("UDAX_REGION_DIR", small, 1);
	CHECK_EQ(udax_store_create(store, 64ull << 20, 0), 0);
	CHECK_EQ(udax_store_open(store, 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, FILE_BYTES), 0);
	CHECK_EQ(udax_close(f), 0);
	full = region_bytes(small);
	CHECK_EQ(udax_store_close(s), 0);
	if (mount("udax-test", small, "tmpfs", 0, "size=64k") != 0)
		test_skip("cannot mount a tmpfs here");
	atexit(unmount_small);

	/* 1: no room for the arena's first chunk. */
	tmpfs_at(small, full - CHUNK / 2);
	CHECK_EQ(udax_store_open(store, 0, &s), -ENOSPC);
	CHECK(strstr(udax_strerror_detail(), "no room for the shared region"), "detail: %s",
	      udax_strerror_detail());
	/* A reader reads it outside the region, as one who may not write it. */
	CHECK_EQ(udax_store_open(store, UDAX_STORE_RDONLY, &s), 0);
	CHECK_EQ(udax_stat(s, "f", &fst), 0);
	CHECK_EQ(fst.size, FILE_BYTES);
	CHECK_EQ(udax_store_close(s), 0);

	/* 2: room for the first chunk only. */
	tmpfs_at(small, full + CHUNK / 4);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(read_holes());
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS, "reader status %#x", status);
	{
		int fd = open(test_path("stderr"), O_RDONLY);
		ssize_t n = fd >= 0 ? read(fd, why, sizeof(why) - 1) : -1;

		CHECK(n > 0, "the reader said nothing");
		why[n] = '\0';
		CHECK(strstr(why, "region file cannot grow"), "the reader said: %s", why);
		close(fd);
	}
	/* A call: the same lack, said. */
	CHECK_EQ(udax_store_open(store, 0, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDWR, &f), 0);
	{
		int ret = 0;

		for (uint64_t off = 0; off < FILE_BYTES && !ret; off += STRIDE)
			ret = (int)udax_pwrite(f, "w", 1, off) == 1 ? 0 : -ENOMEM;
		CHECK(ret == -ENOMEM, "every pwrite found room");
		CHECK(strstr(udax_strerror_detail(), "/dev/shm may be full"), "detail: %s",
		      udax_strerror_detail());
	}
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	CHECK_EQ(udax_store_check(store, 0), 0);
	test_pass();
}
