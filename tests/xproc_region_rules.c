// SPDX-License-Identifier: MIT
/*
 * xproc_region_rules: who may join a store's shared region and what a
 * joiner trusts. The region file gets the store's permission bits whatever
 * the umask; one wider than the store's, a symlink in its place, or (as
 * root) one owned by another user is refused with -EACCES and a reason;
 * leftover bytes with nobody present are reinitialized, foreign or
 * truncated bytes while a member is present are refused (-EUCLEAN); two
 * paths to one store meet in one region, two stores get two; the 65th
 * member gets -EBUSY; a missing region directory is an error, not a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"
#include "xproc/xproc.h"

static void noop_apply(void *ctx, const struct xproc_request *req)
{
	(void)ctx;
	(void)req;
}

static const char *region_of(int store_fd)
{
	static char path[512];
	struct stat st;

	CHECK(fstat(store_fd, &st) == 0);
	snprintf(path, sizeof(path), "%s/udax-%llx-%llx.region", test_path("regions"),
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	return path;
}

static int join(int fd, struct xproc_region **r, char *why)
{
	*why = 0;
	return xproc_join(fd, noop_apply, NULL, r, why, 256);
}

/* Hold the PRESENT byte of a region file as a member would. */
static int pretend_present(const char *region)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 1, .l_len = 1 };
	int fd = open(region, O_RDWR);

	CHECK(fd >= 0 && fcntl(fd, F_OFD_SETLK, &fl) == 0);
	return fd;
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
	CHECK(fd2 >= 0 && join(fd2, &r2, why) == 0, "%s", why);
	CHECK(xproc_peers(r) == 1ull << xproc_self(r2) && xproc_peers(r2) == 1ull << xproc_self(r),
	      "two paths, two regions");
	xproc_leave(r2);
	/* A second store, a second region. */
	other = open(test_path("other"), O_RDWR | O_CREAT, 0600);
	CHECK(other >= 0 && join(other, &r2, why) == 0, "%s", why);
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

	/* A region file more open than the store: refused. */
	held = open(region, O_RDWR | O_CREAT | O_EXCL, 0600);
	CHECK(held >= 0 && fchmod(held, 0666) == 0);
	ret = join(fd, &r, why);
	CHECK(ret == -EACCES && strstr(why, "wider"), "mode 0666: %d %s", ret, why);
	if (geteuid() == 0) {
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

	/* No region directory. */
	setenv("UDAX_REGION_DIR", test_path("missing"), 1);
	ret = join(fd, &r, why);
	CHECK(ret == -ENOENT && strstr(why, "cannot create shared region"), "no dir: %d %s", ret,
	      why);
	test_pass();
}
