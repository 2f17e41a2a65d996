// SPDX-License-Identifier: MIT
/*
 * xproc_region_rules: who may join a store's shared region and what a
 * joiner trusts. The region file gets the store's permission bits whatever
 * the umask; one wider than the store's is narrowed by its owner and
 * refused by others; a symlink in its place, or (as root) one owned by
 * another user is refused with -EACCES and a reason;
 * leftover bytes with nobody present are reinitialized, foreign or
 * truncated bytes while a member is present are refused (-EUCLEAN); two
 * paths to one store meet in one region, two stores get two; the 65th
 * member gets -EBUSY; a region file removed under its members is not
 * replaced by a second region (-EBUSY); joins beside the last leaver, or
 * beside members killed with SIGKILL, never fail; as root: members of a group-writable store join whoever of them
 * came first, the owner joins a region root made, and a full region
 * directory gives -ENOSPC; a missing one is an error, not a crash.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <string.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xproc_test.h"

static const char *region_of(int store_fd)
{
	static char path[512];
	struct stat st;

	CHECK(fstat(store_fd, &st) == 0);
	snprintf(path, sizeof(path), "%s/udax-%llx-%llx.region", test_path("regions"),
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	return path;
}

static int join_path(int fd, const char *path, struct xproc_region **r, char *why)
{
	*why = 0;
	return xproc_join(fd, path, NULL, xproc_test_noop, NULL, r, why, 256);
}

static int join(int fd, struct xproc_region **r, char *why)
{
	return join_path(fd, test_path("store"), r, why);
}

/* Hold the PRESENT byte of a region file as a member would. */
static int pretend_present(const char *region)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 1, .l_len = 1 };
	int fd = open(region, O_RDWR);

	CHECK(fd >= 0 && fcntl(fd, F_OFD_SETLK, &fl) == 0);
	return fd;
}

/* Two processes join and leave in a loop: each leave may be the last
 * while the other joins (the file removed between its open and its lock,
 * or between its failed create and its open): no join may fail. */
static void join_beside_last_leaver(int fd)
{
	struct xproc_region *r;
	char why[256];
	int status;
	pid_t pid[2];

	for (int p = 0; p < 2; p++) {
		pid[p] = fork();
		CHECK(pid[p] >= 0);
		if (pid[p] == 0) {
			for (int i = 0; i < 1500; i++) {
				int ret = join(fd, &r, why);

				if (ret) {
					fprintf(stderr, "join %d failed: %d %s\n", i, ret, why);
					_exit(1);
				}
				xproc_leave(r);
			}
			_exit(0);
		}
	}
	for (int p = 0; p < 2; p++)
		CHECK(waitpid(pid[p], &status, 0) == pid[p] && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0, "a join beside the last leaver failed");
}

/* A process joins and leaves in a loop while others join and are killed:
 * the kernel drops a dead member's region locks before it closes its
 * store descriptor, so a joiner finding itself alone may still see the
 * member byte held for a moment, which must not become a false -EBUSY
 * (found by an adversarial pass: 5 in 2000 kills). */
static void join_beside_killed_members(int fd)
{
	_Atomic uint32_t *stop = xproc_test_shared(sizeof(*stop));
	struct xproc_region *r;
	int ready[2], status;
	char why[256], c;
	pid_t joiner, member;

	joiner = fork();
	CHECK(joiner >= 0);
	if (joiner == 0) {
		while (!atomic_load(stop)) {
			int ret = join(fd, &r, why);

			if (ret) {
				fprintf(stderr, "join beside a killed member: %d %s\n", ret, why);
				_exit(1);
			}
			xproc_leave(r);
		}
		_exit(0);
	}
	CHECK(pipe(ready) == 0);
	for (int i = 0; i < 500; i++) {
		member = fork();
		CHECK(member >= 0);
		if (member == 0) {
			CHECK(join(fd, &r, why) == 0, "member: %s", why);
			CHECK(write(ready[1], "j", 1) == 1);
			for (;;)
				pause();
		}
		CHECK(read(ready[0], &c, 1) == 1);
		kill(member, SIGKILL);
		CHECK(waitpid(member, &status, 0) == member);
	}
	atomic_store(stop, 1);
	CHECK(waitpid(joiner, &status, 0) == joiner && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "a join beside killed members failed");
	close(ready[0]);
	close(ready[1]);
}

/* As user `uid` in group `gid`: join the store at path, stay until the
 * pipe `stay` (its ends) is closed, if given. Exit status: 0 joined, 1
 * refused. */
static pid_t join_as(const char *path, uid_t uid, gid_t gid, int ready, const int *stay)
{
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		struct xproc_region *r;
		char why[256] = "", c;
		int fd, ret;

		if (setgroups(1, &gid) || setgid(gid) || setuid(uid))
			_exit(2);
		fd = open(path, O_RDWR);
		ret = fd < 0 ? -errno : join_path(fd, path, &r, why);
		if (ret) {
			fprintf(stderr, "uid %u: join %d %s\n", uid, ret, why);
			_exit(1);
		}
		if (stay) {
			close(stay[1]);
			CHECK(write(ready, "j", 1) == 1);
			(void)read(stay[0], &c, 1);
		}
		xproc_leave(r);
		_exit(0);
	}
	return pid;
}

static void expect_join_as(const char *path, uid_t uid, gid_t gid)
{
	int status;
	pid_t pid = join_as(path, uid, gid, -1, NULL);

	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "uid %u (group %u), who may write the store, could not join", uid, gid);
}

/* Whoever may write a store joins its region, whoever made the file: a
 * group member first at a 0660 store, then its owner and another member;
 * root first at a 0600 store, then its owner. */
static void group_store_members(void)
{
	const char *path = test_path("group-store");
	int fd, ready[2], stay[2], status;
	char c;
	pid_t first;

	CHECK(chmod(test_path(""), 0755) == 0 && chmod(test_path("regions"), 01777) == 0);
	fd = open(path, O_RDWR | O_CREAT, 0660);
	CHECK(fd >= 0 && fchown(fd, 1001, 5000) == 0 && fchmod(fd, 0660) == 0);
	CHECK(pipe(ready) == 0 && pipe(stay) == 0);
	first = join_as(path, 1002, 5000, ready[1], stay);
	CHECK(read(ready[0], &c, 1) == 1, "group member 1002 could not join first");
	expect_join_as(path, 1001, 5000);
	expect_join_as(path, 1003, 5000);
	close(stay[1]);
	CHECK(waitpid(first, &status, 0) == first && WIFEXITED(status) && !WEXITSTATUS(status));

	/* Root first (a process of its own: this one stays without threads
	 * for its forks, xproc_test.h). */
	close(stay[0]);
	CHECK(fchmod(fd, 0600) == 0 && pipe(stay) == 0);
	first = join_as(path, 0, 0, ready[1], stay);
	CHECK(read(ready[0], &c, 1) == 1, "root could not join first");
	expect_join_as(path, 1001, 1001);
	close(stay[1]);
	CHECK(waitpid(first, &status, 0) == first && WIFEXITED(status) && !WEXITSTATUS(status));
	close(fd);
	close(ready[0]);
	close(ready[1]);
	close(stay[0]);
}

/* A region directory with no room: the join fails with -ENOSPC, no
 * member dies of SIGBUS later. Needs a tmpfs of 64 KiB (skipped where
 * mounting is not allowed). */
static void full_region_dir(int fd)
{
	const char *dir = test_path("small");
	struct xproc_region *r;
	char why[256];
	int ret;

	CHECK(mkdir(dir, 0700) == 0);
	if (mount("udax-test", dir, "tmpfs", 0, "size=64k") != 0) {
		printf("(a full region directory not checked: mount: %s)\n", strerror(errno));
		return;
	}
	setenv("UDAX_REGION_DIR", dir, 1);
	ret = join(fd, &r, why);
	if (!ret)
		xproc_leave(r);
	umount(dir);
	setenv("UDAX_REGION_DIR", test_path("regions"), 1);
	CHECK(ret == -ENOSPC && strstr(why, "no room"), "a full region directory: %d %s", ret,
	      why);
}

int main(void)
{
	struct xproc_region *r, *r2, *many[XPROC_PEERS_MAX];
	char why[256], junk[8192];
	const char *region;
	struct stat st;
	int fd, fd2, other, held, ret;

	test_init("xproc_region_rules", 60);
	CHECK(mkdir(test_path("regions"), 0700) == 0);
	setenv("UDAX_REGION_DIR", test_path("regions"), 1);
	fd = open(test_path("store"), O_RDWR | O_CREAT, 0640);
	CHECK(fd >= 0 && fchmod(fd, 0640) == 0);
	region = region_of(fd);

	/* The store's bits, whatever the umask. */
	umask(077);
	CHECK(join(fd, &r, why) == 0, "%s", why);
	CHECK(stat(region, &st) == 0 && (st.st_mode & 0777) == 0640 && st.st_uid == geteuid(),
	      "region mode %o uid %u", st.st_mode & 0777, st.st_uid);
	/* Another path to the same store meets the same region. */
	CHECK(link(test_path("store"), test_path("store-link")) == 0);
	fd2 = open(test_path("store-link"), O_RDWR);
	CHECK(fd2 >= 0 && join_path(fd2, test_path("store-link"), &r2, why) == 0, "%s", why);
	CHECK(xproc_peers(r) == 1ull << xproc_self(r2) && xproc_peers(r2) == 1ull << xproc_self(r),
	      "two paths, two regions");
	xproc_leave(r2);
	/* A second store, a second region. */
	other = open(test_path("other"), O_RDWR | O_CREAT, 0600);
	CHECK(other >= 0 && join_path(other, test_path("other"), &r2, why) == 0, "%s", why);
	CHECK(xproc_peers(r2) == 0 && xproc_peers(r) == 0, "two stores share a region");
	xproc_leave(r2);

	/* 64 members at most. */
	for (int i = 0; i < XPROC_PEERS_MAX - 1; i++)
		CHECK(join(fd, &many[i], why) == 0, "member %d: %s", i + 2, why);
	ret = join(fd, &r2, why);
	CHECK(ret == -EBUSY && strstr(why, "64 processes"), "65th member: %d %s", ret, why);
	for (int i = 0; i < XPROC_PEERS_MAX - 1; i++)
		xproc_leave(many[i]);

	/* Bytes a member sees that are not this store's region: refused. */
	held = pretend_present(region);
	xproc_leave(r);		/* the held PRESENT lock keeps the file */
	CHECK(access(region, F_OK) == 0);
	memset(junk, 0x5a, sizeof(junk));
	CHECK(pwrite(held, junk, sizeof(junk), 0) == (ssize_t)sizeof(junk));
	ret = join(fd, &r, why);
	CHECK(ret == -EUCLEAN && strstr(why, "not this store's"), "foreign bytes: %d %s", ret,
	      why);
	CHECK(ftruncate(held, 100) == 0);
	ret = join(fd, &r, why);
	CHECK(ret == -EUCLEAN && strstr(why, "truncated"), "truncated: %d %s", ret, why);
	/* Nobody present: the leftover bytes are made anew. */
	close(held);
	CHECK(join(fd, &r, why) == 0, "leftover bytes, nobody present: %s", why);
	xproc_leave(r);
	CHECK(access(region, F_OK) != 0, "the last member left the region file");

	/* A region file more open than the store (narrowed since): its
	 * owner narrows it; anyone else's is refused. */
	held = open(region, O_RDWR | O_CREAT | O_EXCL, 0600);
	CHECK(held >= 0 && fchmod(held, 0666) == 0);
	CHECK(join(fd, &r, why) == 0, "our own region file, too open: %s", why);
	CHECK(stat(region, &st) == 0 && (st.st_mode & 0777) == 0640, "left at %o",
	      st.st_mode & 0777);
	xproc_leave(r);
	held = open(region, O_RDWR | O_CREAT | O_EXCL, 0600);
	CHECK(held >= 0);
	if (geteuid() == 0) {
		/* The store's owner's, too open. */
		CHECK(fchown(fd, 1001, 1001) == 0 && fchown(held, 1001, 1001) == 0 &&
		      fchmod(held, 0666) == 0);
		ret = join(fd, &r, why);
		CHECK(ret == -EACCES && strstr(why, "wider"), "mode 0666: %d %s", ret, why);
		CHECK(fchown(fd, 0, 0) == 0);
		CHECK(fchmod(held, 0600) == 0 && fchown(held, 65534, 65534) == 0);
		ret = join(fd, &r, why);
		CHECK(ret == -EACCES && strstr(why, "belongs to user 65534"),
		      "another user's: %d %s", ret, why);
	}
	close(held);
	CHECK(unlink(region) == 0);
	/* A symlink in its place (to a file the attacker wants written). */
	CHECK(symlink(test_path("victim"), region) == 0);
	ret = join(fd, &r, why);
	CHECK(ret == -EACCES, "symlink: %d %s", ret, why);
	CHECK(access(test_path("victim"), F_OK) != 0, "the symlink was followed");
	CHECK(unlink(region) == 0);

	/* The region file removed under a member (a /dev/shm cleaner,
	 * logind's RemoveIPC): a newcomer must not make a second region. */
	CHECK(join(fd, &r, why) == 0, "%s", why);
	CHECK(unlink(region) == 0);
	ret = join(fd, &r2, why);
	CHECK(ret == -EBUSY && strstr(why, "outside the shared region"),
	      "a second region beside a removed one: %d %s", ret, why);
	xproc_leave(r);
	CHECK(join(fd, &r, why) == 0, "after the old member left: %s", why);
	xproc_leave(r);

	join_beside_last_leaver(fd);
	join_beside_killed_members(fd);
	if (geteuid() == 0) {
		group_store_members();
		full_region_dir(fd);
	}

	/* No region directory. */
	setenv("UDAX_REGION_DIR", test_path("missing"), 1);
	ret = join(fd, &r, why);
	CHECK(ret == -ENOENT && strstr(why, "cannot create shared region"), "no dir: %d %s", ret,
	      why);
	test_pass();
}
