// SPDX-License-Identifier: MIT
/*
 * host_enospc_fallback: a store is sparse on the host, so the host file
 * system can fill up before the store does. On small file systems mounted
 * for the test in a private mount namespace (tmpfs; ext4 on a loop device
 * when mkfs.ext4 and loop devices are there), with a 64 MiB store:
 *  - with about 1 MiB left on the host, a write fault where a 2 MiB extent
 *    would go gets a 4 KiB block instead (no SIGBUS), and the failed 2 MiB
 *    zeroing keeps no host space (ext4 keeps what a failed ZERO_RANGE
 *    allocated unless it is punched);
 *  - page after page fits until the host is full; then the write fault
 *    raises SIGBUS in the faulting thread, udax_pwrite and udax_fallocate
 *    return -ENOSPC (never -EIO), and the pages written keep their bytes;
 *  - punching, truncating and unlinking still work with the host full
 *    (their checkpoints write metadata areas whose host space was taken
 *    when the store was created: the old code needed new host space there
 *    and returned -ENOSPC, and the store stayed full for ever), and give
 *    the blocks' host space back: writes work again;
 *  - blocks a crash left allocated on the host but named by no file get
 *    their host space back from udax_store_check(UDAX_CHECK_REPAIR);
 *  - the store passes the check and keeps its data after reopening;
 *  - UDAX_STORE_PREALLOC reserves the whole store (-ENOSPC, and no file,
 *    when the host cannot hold it), and freed blocks keep their host space,
 *    also after the store is closed and reopened.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "udax.h"

#define PG 4096ull
#define MIB (1ull << 20)
#define STORE_BYTES (64 * MIB)
#define FILE_BYTES (8 * MIB)
#define FILE_PAGES (FILE_BYTES / PG)
#define SLACK (64 * 1024ull)	/* host space a file system may use on its own */

static uint64_t host_free(const char *dir)
{
	struct statvfs v;

	CHECK(statvfs(dir, &v) == 0);
	return (uint64_t)v.f_bavail * v.f_frsize;
}

/* Fill the host file system at dir with a file until about leave bytes
 * are free. Return: the bytes free then. */
static uint64_t host_fill(const char *dir, uint64_t leave)
{
	char path[512];
	uint64_t free_now = host_free(dir);
	int fd;

	CHECK(free_now > leave + MIB, "only %llu KiB free", (unsigned long long)free_now >> 10);
	snprintf(path, sizeof(path), "%s/filler", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(fallocate(fd, 0, 0, (off_t)(free_now - leave)) == 0, "filler: %s", strerror(errno));
	close(fd);
	return host_free(dir);
}

/* Run argv; Return: whether it exited 0 (false if it cannot be run). */
static bool run(char *const argv[])
{
	int status;
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void check_page(struct udax_file *f, uint64_t page, char want)
{
	char c = 0;

	CHECK_EQ(udax_pread(f, &c, 1, page * PG), 1);
	CHECK(c == want, "page %llu holds %d, not %d", (unsigned long long)page, c, want);
}

/* A process writes 2 MiB into a new file and dies before any checkpoint:
 * its blocks are free in the store, but allocated on the host until a
 * repair gives them back. */
static void leak_and_repair(const char *store, const char *dir, const char *fs)
{
	uint64_t before = host_free(dir), leaked;
	int status;
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		static char buf[2 * MIB];
		struct udax_store *s;
		struct udax_file *f;

		memset(buf, 'l', sizeof(buf));
		if (udax_store_open(store, 0, &s) || udax_open(s, "l", O_RDWR | O_CREAT, &f) ||
		    udax_pwrite(f, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
			_exit(1);
		_exit(0);	/* no fsync, no close */
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status));
	leaked = before - host_free(dir);
	CHECK(leaked >= 2 * MIB - SLACK, "%s: the crashed writer took %llu KiB", fs,
	      (unsigned long long)leaked >> 10);
	CHECK(udax_store_check(store, UDAX_CHECK_REPAIR) == 0, "%s: %s", fs,
	      udax_strerror_detail());
	CHECK(host_free(dir) + SLACK >= before, "%s: repair gave back %lld of %llu KiB", fs,
	      (long long)(host_free(dir) - (before - leaked)) >> 10,
	      (unsigned long long)leaked >> 10);
}

static void host_full(const char *dir, const char *fs)
{
	struct udax_file_stat st;
	struct udax_store *s;
	struct udax_file *f, *w;
	uint64_t left, before, n;
	char store[512], filler[512];
	char *map;

	snprintf(store, sizeof(store), "%s/store", dir);
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	CHECK_EQ(udax_store_create(store, STORE_BYTES, 0), 0);
	CHECK_EQ(udax_store_open(store, 0, &s), 0);
	/* No checkpoint before the host fills up: the metadata areas have
	 * only the host space the store was created with. */
	CHECK_EQ(udax_open(s, "warm", O_RDWR | O_CREAT, &w), 0);
	CHECK_EQ(udax_pwrite(w, "w", 1, PG), 1);
	CHECK_EQ(udax_open(s, "f", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_truncate(f, FILE_BYTES), 0);
	CHECK_EQ(udax_mmap(f, 0, FILE_BYTES, PROT_READ | PROT_WRITE, (void **)&map), 0);

	left = host_fill(dir, MIB);
	CHECK(left >= 256 * 1024 && left < 2 * MIB, "%s: %llu KiB left", fs,
	      (unsigned long long)left >> 10);

	/* No room for a 2 MiB extent on the host: a 4 KiB block. */
	CHECK(!test_access_sigbus(map, true, 1),
	      "%s: a write fault raised SIGBUS with %llu KiB left on the host", fs,
	      (unsigned long long)left >> 10);
	st = test_file_stat(f);
	CHECK_EQ(st.blocks, 1);
	CHECK(st.faults_pmd_fallback >= 1);
	CHECK(host_free(dir) + PG + SLACK >= left,
	      "%s: the failed 2 MiB zeroing kept host space: %llu KiB free, %llu KiB before",
	      fs, (unsigned long long)host_free(dir) >> 10, (unsigned long long)left >> 10);

	/* Page after page until the host is full. */
	for (n = 1; n < FILE_PAGES; n++)
		if (test_access_sigbus(map + n * PG, true, (char)(n | 1)))
			break;
	CHECK(n < FILE_PAGES, "%s: no SIGBUS with the host full", fs);
	CHECK(n * PG + SLACK >= left / 2, "%s: only %llu pages fit in %llu KiB", fs,
	      (unsigned long long)n, (unsigned long long)left >> 10);
	printf("%s: %llu KiB left on the host: %llu 4 KiB blocks, then SIGBUS\n", fs,
	       (unsigned long long)left >> 10, (unsigned long long)n);
	CHECK_EQ(map[n * PG], 0);	/* still a hole */
	CHECK_EQ(test_file_stat(f).blocks, n);
	CHECK_EQ(udax_pwrite(f, "y", 1, n * PG + 5), -ENOSPC);
	CHECK_EQ(udax_fallocate(f, 6 * MIB, 2 * MIB), -ENOSPC);
	CHECK_EQ(udax_fallocate(f, n * PG, PG), -ENOSPC);
	for (uint64_t p = 0; p < n; p++)
		CHECK(map[p * PG] == (char)(p | 1), "%s: page %llu lost its byte", fs,
		      (unsigned long long)p);

	/* Punching gives host space back. */
	before = host_free(dir);
	CHECK_EQ(udax_punch_hole(f, PG, 16 * PG), 0);
	CHECK(host_free(dir) >= before + 8 * PG, "%s: punching 16 blocks freed %lld bytes",
	      fs, (long long)(host_free(dir) - before));
	CHECK(!test_access_sigbus(map + n * PG, true, 'z'), "%s: SIGBUS after punching", fs);
	CHECK_EQ(map[n * PG], 'z');
	CHECK_EQ(udax_truncate(w, 0), 0);
	CHECK_EQ(udax_close(w), 0);
	CHECK_EQ(udax_unlink(s, "warm"), 0);
	CHECK_EQ(udax_munmap(map, FILE_BYTES), 0);
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);

	CHECK(udax_store_check(store, 0) == 0, "%s: %s", fs, udax_strerror_detail());
	CHECK_EQ(udax_store_open(store, UDAX_STORE_RDONLY, &s), 0);
	CHECK_EQ(udax_open(s, "f", O_RDONLY, &f), 0);
	check_page(f, 0, 1);
	check_page(f, 5, 0);
	check_page(f, 17, 17 | 1);
	check_page(f, n, 'z');
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_store_close(s), 0);
	CHECK(unlink(filler) == 0);
	leak_and_repair(store, dir, fs);
	CHECK(unlink(store) == 0);
}

/* Write a 3 MiB file, then remove it; Return: host bytes free after. */
static uint64_t write_and_remove(struct udax_store *s, const char *dir)
{
	static char buf[3 * MIB];
	struct udax_file *f;

	memset(buf, 'p', sizeof(buf));
	CHECK_EQ(udax_open(s, "p", O_RDWR | O_CREAT, &f), 0);
	CHECK_EQ(udax_pwrite(f, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	CHECK_EQ(udax_close(f), 0);
	CHECK_EQ(udax_unlink(s, "p"), 0);
	return host_free(dir);
}

static void prealloc(const char *dir, const char *fs)
{
	struct udax_store *s;
	uint64_t before, reserved;
	char store[512];

	snprintf(store, sizeof(store), "%s/reserved", dir);
	before = host_free(dir);
	CHECK(before < STORE_BYTES);
	CHECK_EQ(udax_store_create(store, STORE_BYTES, UDAX_STORE_PREALLOC), -ENOSPC);
	CHECK(access(store, F_OK) != 0 && errno == ENOENT, "%s: a failed create left %s", fs,
	      store);
	CHECK(host_free(dir) + SLACK >= before);
	CHECK_EQ(udax_store_create(store, 8 * MIB, UDAX_STORE_PREALLOC), 0);
	reserved = host_free(dir);
	CHECK(reserved + 8 * MIB <= before + SLACK, "%s: only %lld KiB reserved", fs,
	      (long long)(before - reserved) >> 10);
	for (int open_count = 0; open_count < 2; open_count++) {
		CHECK_EQ(udax_store_open(store, 0, &s), 0);
		CHECK(write_and_remove(s, dir) + SLACK >= reserved,
		      "%s: writing a reserved store took host space", fs);
		CHECK(host_free(dir) <= reserved + SLACK,
		      "%s: freeing blocks of a reserved store gave %lld KiB back", fs,
		      (long long)(host_free(dir) - reserved) >> 10);
		CHECK_EQ(udax_store_close(s), 0);
	}
	CHECK_EQ(udax_store_check(store, 0), 0);
	CHECK(unlink(store) == 0);
}

int main(void)
{
	char tmpfs_dir[512], ext4_dir[512], image[512];
	int fd;

	test_init("host_enospc_fallback", 120);
	test_install_sigbus_catcher();
	if (unshare(CLONE_NEWNS) != 0)
		test_skip("no private mount namespace (unshare: not permitted)");
	CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
	snprintf(tmpfs_dir, sizeof(tmpfs_dir), "%s", test_path("tmpfs"));
	CHECK(mkdir(tmpfs_dir, 0700) == 0);
	if (mount("tmpfs", tmpfs_dir, "tmpfs", 0, "size=16m") != 0)
		test_skip("cannot mount a tmpfs");
	host_full(tmpfs_dir, "tmpfs");
	prealloc(tmpfs_dir, "tmpfs");
	CHECK(umount2(tmpfs_dir, 0) == 0);

	/* ext4, whose failed ZERO_RANGE keeps what it allocated. */
	snprintf(image, sizeof(image), "%s", test_path("ext4.img"));
	snprintf(ext4_dir, sizeof(ext4_dir), "%s", test_path("ext4"));
	CHECK(mkdir(ext4_dir, 0700) == 0);
	fd = open(image, O_RDWR | O_CREAT, 0600);
	CHECK(fd >= 0 && ftruncate(fd, 32 * MIB) == 0);
	close(fd);
	if (!run((char *const[]){ "mkfs.ext4", "-q", "-m", "0", "-F", image, NULL }) ||
	    !run((char *const[]){ "mount", "-o", "loop", image, ext4_dir, NULL })) {
		printf("ext4 part skipped: no mkfs.ext4 or no loop device\n");
		test_pass();
	}
	host_full(ext4_dir, "ext4");
	prealloc(ext4_dir, "ext4");
	CHECK(umount2(ext4_dir, 0) == 0);
	test_pass();
}
