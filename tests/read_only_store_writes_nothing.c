// SPDX-License-Identifier: MIT
/*
 * read_only_store_writes_nothing: a store opened with UDAX_STORE_RDONLY
 * is read (readdir, pread, mapped reads with 2 MiB and 4 KiB faults) and
 * never written: every writing call fails cleanly (-EROFS, or -EBADF on
 * its read-only handles), fsync and msync return 0, close writes no
 * checkpoint, and the store file keeps its bytes and mtime. A user who
 * may only read the store file (mode 0444; the test drops to nobody when
 * run as root) gets -EACCES from a normal open, with a reason naming the
 * flag, and can open it read-only; one who may not read it (mode 0600)
 * is refused every open and the check. Read-only openers share a store
 * with each other and with a writer, whose writes they see at once;
 * exclusive read-only openers share it with each other only, and the
 * store check runs beside them only (-EBUSY).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define STORE_BYTES (16ull << 20)
#define BIG (5ull << 20)	/* two 2 MiB extents and a 1 MiB tail */
#define NOBODY 65534

static uint8_t want[BIG];

static void check_contents(struct udax_store *s)
{
	static uint8_t got[BIG];
	char name[UDAX_NAME_MAX + 1];
	struct udax_file *f;
	uint64_t cookie = 0;
	int files = 0;
	char *map;

	while (udax_readdir(s, &cookie, name, sizeof(name)) == 1)
		files++;
	CHECK_EQ(files, 2);
	CHECK_EQ(udax_open(s, "big", O_RDONLY, &f), 0);
	CHECK_EQ(udax_pread(f, got, BIG, 0), (ssize_t)BIG);
	CHECK(memcmp(got, want, BIG) == 0);
	CHECK_EQ(udax_mmap(f, 0, BIG, PROT_READ, (void **)&map), 0);
	CHECK(memcmp(map, want, BIG) == 0, "mapped bytes differ");
	CHECK_EQ(udax_msync(map, BIG, MS_SYNC), 0);
	CHECK_EQ(udax_munmap(map, BIG), 0);
	CHECK_EQ(udax_close(f), 0);
}

/* As a user who may not even read the store file (mode 0600): every open
 * and the check are refused. */
static int open_as_stranger(const char *path)
{
	struct udax_store *s;

	CHECK(access(path, R_OK) != 0, "the stranger may read the store");
	CHECK_EQ(udax_store_open(path, 0, &s), -EACCES);
	CHECK_EQ(udax_store_open(path, UDAX_STORE_RDONLY, &s), -EACCES);
	CHECK(strstr(udax_strerror_detail(), "Permission denied"), "reason: %s",
	      udax_strerror_detail());
	CHECK_EQ(udax_store_check(path, 0), -EACCES);
	return 0;
}

/* As a user who may only read the store file. */
static int read_as_reader(const char *path)
{
	struct udax_store *s;

	CHECK(access(path, W_OK) != 0, "the reader may write the store");
	CHECK_EQ(udax_store_open(path, 0, &s), -EACCES);
	CHECK(strstr(udax_strerror_detail(), "UDAX_STORE_RDONLY"), "reason: %s",
	      udax_strerror_detail());
	CHECK_EQ(udax_store_open(path, UDAX_STORE_RDONLY, &s), 0);
	check_contents(s);
	CHECK_EQ(udax_store_close(s), 0);
	return 0;
}

/* Run fn(path) in a child as nobody (when root; as this user otherwise,
 * who must then lack the permission already); setuid failing skips it. */
static void as_other_user(const char *what, int (*fn)(const char *), const char *path)
{
	int status;
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(NOBODY) != 0 || setuid(NOBODY) != 0))
			_exit(TEST_SKIP);
		_exit(fn(path));
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == TEST_SKIP),
	      "%s child: status %#x", what, status);
	if (WEXITSTATUS(status) == TEST_SKIP)
		printf("no unprivileged user to be (setuid failed): the %s part skipped\n", what);
}

static uint8_t *store_bytes(const char *path, struct timespec *mtime)
{
	uint8_t *buf = malloc(STORE_BYTES);
	struct stat st;
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	CHECK_EQ(st.st_size, STORE_BYTES);
	CHECK(pread(fd, buf, STORE_BYTES, 0) == (ssize_t)STORE_BYTES);
	close(fd);
	*mtime = st.st_mtim;
	return buf;
}

static void check_unchanged(const char *path, const uint8_t *bytes, struct timespec mtime)
{
	struct timespec now;
	uint8_t *after = store_bytes(path, &now);

	CHECK(memcmp(after, bytes, STORE_BYTES) == 0, "the store file changed");
	CHECK(now.tv_sec == mtime.tv_sec && now.tv_nsec == mtime.tv_nsec,
	      "the store file's mtime changed");
	free(after);
}

int main(void)
{
	const char *path;
	struct udax_store *s, *s2, *w;
	struct udax_file *f, *g;
	struct timespec mtime;
	char dir[512], buf[16];
	uint8_t *bytes;
	uint64_t rng;
	void *map;

	test_init("read_only_store_writes_nothing", 60);
	path = test_path("store");
	rng = test_seed;
	for (size_t i = 0; i < BIG; i++)
		want[i] = (uint8_t)test_rand(&rng);
	CHECK_EQ(udax_store_create(path, STORE_BYTES, 0), 0);
	CHECK_EQ(udax_store_open(path, 0, &w), 0);
	CHECK_EQ(udax_open(w, "big", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_pwrite(f, want, BIG, 0), (ssize_t)BIG);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_open(w, "small", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_pwrite(f, "abc", 3, 0), 3);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(w), 0);
	bytes = store_bytes(path, &mtime);

	/* A reader who cannot write the file. Before this process opens a
	 * store: the child sets up its own fault delivery. */
	snprintf(dir, sizeof(dir), "%s", path);
	CHECK(chmod(dirname(dir), 0711) == 0 && chmod(path, 0444) == 0);
	as_other_user("reader", read_as_reader, path);
	check_unchanged(path, bytes, mtime);
	/* Another user, a 0600 store: refused. */
	CHECK(chmod(path, 0600) == 0);
	as_other_user("stranger", open_as_stranger, path);
	check_unchanged(path, bytes, mtime);
	CHECK(chmod(path, 0644) == 0);

	/* Exclusive readers share with each other only; the check runs
	 * beside them. */
	CHECK_EQ(udax_store_open(path, UDAX_STORE_RDONLY | UDAX_STORE_EXCLUSIVE, &s), 0);
	CHECK_EQ(udax_store_open(path, UDAX_STORE_RDONLY | UDAX_STORE_EXCLUSIVE, &s2), 0);
	CHECK_EQ(udax_store_open(path, 0, &w), -EBUSY);
	CHECK_EQ(udax_store_open(path, UDAX_STORE_RDONLY, &w), -EBUSY);
	CHECK(strstr(udax_strerror_detail(), "read-only by a process outside"), "reason: %s",
	      udax_strerror_detail());
	CHECK_EQ(udax_store_open(path, UDAX_STORE_EXCLUSIVE, &w), -EBUSY);
	CHECK_EQ(udax_store_check(path, 0), 0);
	check_contents(s);
	check_contents(s2);
	CHECK_EQ(udax_store_close(s2), 0);
	CHECK_EQ(udax_store_close(s), 0);

	/* Shared readers share with each other (and writers, below); the
	 * check and exclusive openers wait for them to close. */
	CHECK_EQ(udax_store_open(path, UDAX_STORE_RDONLY, &s), 0);
	CHECK_EQ(udax_store_open(path, UDAX_STORE_RDONLY, &s2), 0);
	CHECK_EQ(udax_store_check(path, 0), -EBUSY);
	CHECK_EQ(udax_store_open(path, UDAX_STORE_RDONLY | UDAX_STORE_EXCLUSIVE, &w), -EBUSY);
	CHECK(strstr(udax_strerror_detail(), "processes that share it"), "reason: %s",
	      udax_strerror_detail());
	CHECK_EQ(udax_store_open(path, UDAX_STORE_EXCLUSIVE, &w), -EBUSY);
	check_contents(s);
	check_contents(s2);
	CHECK_EQ(udax_store_close(s2), 0);

	/* Every writing call fails cleanly and changes nothing. */
	CHECK_EQ(udax_open(s, "big", O_RDWR, &f), -EROFS);
	CHECK_EQ(udax_open(s, "new", O_RDWR | O_CREAT, &f), -EROFS);
	CHECK_EQ(udax_open(s, "new", O_RDONLY | O_CREAT, &f), -EROFS);
	CHECK_EQ(udax_open(s, "big", O_RDONLY | O_TRUNC, &f), -EROFS);
	CHECK_EQ(udax_unlink(s, "small"), -EROFS);
	CHECK_EQ(udax_rename(s, "small", "other"), -EROFS);
	CHECK_EQ(udax_open(s, "small", O_RDONLY, &f), 0);
	CHECK_EQ(udax_open(s, "small", O_RDONLY, &g), 0);
	CHECK_EQ(udax_mmap(f, 0, 4096, PROT_READ | PROT_WRITE, &map), -EROFS);
	CHECK_EQ(udax_pwrite(f, "x", 1, 0), -EBADF);
	CHECK_EQ(udax_truncate(f, 0), -EBADF);
	CHECK_EQ(udax_punch_hole(f, 0, 4096), -EBADF);
	CHECK_EQ(udax_fallocate(f, 0, 4096), -EBADF);
	CHECK_EQ(udax_fsync(f), 0);
	CHECK_EQ(udax_mmap(f, 0, 4096, PROT_READ, &map), 0);
	CHECK_EQ(((char *)map)[1], 'b');
	CHECK_EQ(udax_msync(map, 4096, MS_SYNC), 0);
	CHECK_EQ(udax_munmap(map, 4096), 0);
	CHECK_EQ(udax_pread(g, buf, sizeof(buf), 0), 3);
	CHECK(memcmp(buf, "abc", 3) == 0);
	CHECK_EQ(udax_close(g), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	check_unchanged(path, bytes, mtime);

	/* A reader shares the store with a writer: it sees the writer's
	 * writes at once, through its mapping too; exclusive readers and
	 * the check are kept out meanwhile. */
	CHECK_EQ(udax_store_open(path, UDAX_STORE_RDONLY, &s), 0);
	CHECK_EQ(udax_open(s, "small", O_RDONLY, &g), 0);
	CHECK_EQ(udax_mmap(g, 0, 4096, PROT_READ, &map), 0);
	CHECK_EQ(((char *)map)[0], 'a');
	CHECK_EQ(udax_store_open(path, 0, &w), 0);
	CHECK_EQ(udax_open(w, "small", O_RDWR, &f), 0);
	CHECK_EQ(udax_pwrite(f, "x", 1, 0), 1);
	CHECK_EQ(((char *)map)[0], 'x');
	CHECK_EQ(udax_store_open(path, UDAX_STORE_RDONLY | UDAX_STORE_EXCLUSIVE, &s2), -EBUSY);
	CHECK_EQ(udax_store_check(path, 0), -EBUSY);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(w), 0);
	CHECK_EQ(udax_pread(g, buf, 1, 0), 1);
	CHECK_EQ(buf[0], 'x');
	CHECK_EQ(udax_munmap(map, 4096), 0);
	CHECK_EQ(udax_close(g), 0);
	CHECK_EQ(udax_store_close(s), 0);
	CHECK_EQ(udax_store_check(path, 0), 0);
	free(bytes);
	test_pass();
}
