// SPDX-License-Identifier: MIT
/*
 * region_file.c - the files behind a membership: the region file (its
 * name, who may be trusted to have made it, its initialization and
 * mapping) and a second open description of the store file, whose lock
 * byte says "a member of some region has this store open"; the names of
 * the store's files in the region directory (the region's, the lock
 * proxies').
 *
 * Fork safety: a fork child must never hold a description of either file,
 * or it would keep its dead parent's locks (slot, SETUP, member) alive.
 * So every descriptor and the join's mapping are made and dropped under
 * fork_lock, with the membership on the list the fork handler walks: the
 * child closes each listed descriptor before it runs any code of its own,
 * and never inherits the mapping (MADV_DONTFORK). The mapping spans the
 * whole layout (fixed part, user area, arena_max) from the join on: the
 * arena grows in the file only, so no member ever maps again (a signal
 * handler could not take fork_lock, and at vm.max_map_count a new mapping
 * could fail where nothing can report it). Bytes past the file's end are
 * never touched: the arena publishes its end only after the file holds it.
 *
 * Locks: fork_lock (process-local mutex; xproc_fork_prepare() takes it
 * before fork, so no fork happens while it is held) protects `forkable` and each
 * listed membership's descriptors. A leaf: nothing that may wait runs
 * under it (open, fstat, mmap of tmpfs and of the store path only).
 *
 * Layer: xproc. May call: base.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/compat.h"
#include "xproc/region_layout.h"

static pthread_mutex_t fork_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xproc_region *forkable;

void xproc_fork_prepare(void)
{
	pthread_mutex_lock(&fork_lock);
}

void xproc_fork_parent(void)
{
	pthread_mutex_unlock(&fork_lock);
}

/* The child is no member: its copies of the descriptors go (the parent's
 * locks live on in the parent's), its memberships are marked forked (the
 * calls on them then fail; the library refuses a child's handles). */
void xproc_fork_child(void)
{
	for (struct xproc_region *r = forkable; r; r = r->next_forkable) {
		if (r->fd >= 0)
			close(r->fd);
		if (r->member_fd >= 0)
			close(r->member_fd);
		r->fd = r->member_fd = -1;
		r->shared = NULL;
		r->forked = true;
	}
	forkable = NULL;
	pthread_mutex_unlock(&fork_lock);
}

void xproc_store_identity(const struct stat *st, uint64_t *dev, uint64_t *ino)
{
	*dev = S_ISBLK(st->st_mode) ? 0 : (uint64_t)st->st_dev;
	*ino = S_ISBLK(st->st_mode) ? (uint64_t)st->st_rdev : (uint64_t)st->st_ino;
}

int xproc_store_file_path(const struct stat *store, const char *suffix, char *path,
			  size_t len, char *why, size_t why_len)
{
	const char *dir = secure_getenv("UDAX_REGION_DIR");
	uint64_t dev, ino;

	if (dir && *dir && *dir != '/') {
		snprintf(why, why_len, "UDAX_REGION_DIR must be an absolute path");
		return -EINVAL;
	}
	xproc_store_identity(store, &dev, &ino);
	if (snprintf(path, len, "%s/udax-%llx-%llx.%s", dir && *dir ? dir : "/dev/shm",
		     (unsigned long long)dev, (unsigned long long)ino, suffix) >= (int)len) {
		snprintf(why, why_len, "UDAX_REGION_DIR is too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

bool xproc_owner_may_write(const struct stat *st, const struct stat *store)
{
	return st->st_uid == geteuid() || st->st_uid == store->st_uid || st->st_uid == 0 ||
	       ((store->st_mode & S_IWGRP) && st->st_gid == store->st_gid);
}

/* Whether an existing region file may be trusted: a plain file with one
 * name, made by someone who may write the store (its owner, this user,
 * root, or, for a group-writable store, a member of its group: the file
 * has the store's group), and no more open than the store. A file made by
 * anyone else could feed us requests. -EAGAIN: removed meanwhile. */
static int region_file_check(int fd, const struct stat *store, char *why, size_t why_len)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (S_ISREG(st.st_mode) && st.st_nlink == 0)
		return -EAGAIN;
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		snprintf(why, why_len, "shared region is not a plain file");
		return -EACCES;
	}
	if (!xproc_owner_may_write(&st, store)) {
		snprintf(why, why_len, "shared region belongs to user %u, who may not write "
			 "the store (made there first: the store's users need an "
			 "UDAX_REGION_DIR only they may write)", (unsigned)st.st_uid);
		return -EACCES;
	}
	/* Wider than the store's (narrowed since the file was made, and its
	 * last member killed): its owner narrows it; anyone else refuses. */
	if ((st.st_mode & 0777 & ~(store->st_mode & 0666)) &&
	    (st.st_uid != geteuid() || fchmod(fd, store->st_mode & 0666) != 0)) {
		snprintf(why, why_len, "shared region's permissions %03o are wider than the "
			 "store's %03o", (unsigned)(st.st_mode & 0777),
			 (unsigned)(store->st_mode & 0777));
		return -EACCES;
	}
	return 0;
}

/* Open the region file, making it with the store's permission bits, group
 * (where this user may give it) and, for root, owner. -EAGAIN: it came or
 * went meanwhile. */
static int region_file_open(const char *path, const struct stat *store, char *why,
			    size_t why_len)
{
	mode_t mode = store->st_mode & 0666;
	int fd, ret = 0;

	fd = compat_open_backing(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
	if (fd >= 0) {
		if (fchmod(fd, mode) != 0)	/* the umask narrowed it */
			ret = -errno;
		else if (geteuid() == 0)
			(void)fchown(fd, store->st_uid, store->st_gid);
		else if (store->st_gid != getegid())
			(void)fchown(fd, (uid_t)-1, store->st_gid);
	} else if (fd == -EEXIST) {
		fd = compat_open_backing(path, O_RDWR | O_NOFOLLOW, 0);
		if (fd == -ENOENT)
			return -EAGAIN;
		if (fd < 0) {
			snprintf(why, why_len, "cannot open shared region %s: %s", path,
				 strerror(-fd));
			return fd == -ELOOP ? -EACCES : fd;
		}
		ret = region_file_check(fd, store, why, why_len);
	} else {
		snprintf(why, why_len, "cannot create shared region %s: %s", path, strerror(-fd));
		return fd;
	}
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* A description of the store file of its own (not the caller's, which a
 * fork child inherits and the store's mappings hold), for the member
 * lock. */
static int store_member_open(const char *store_path, const struct stat *store, char *why,
			     size_t why_len)
{
	struct stat st;
	int fd = compat_open_backing(store_path, O_RDWR, 0);

	if (fd < 0) {
		snprintf(why, why_len, "cannot open the store again for the shared region: %s",
			 strerror(-fd));
		return fd;
	}
	if (fstat(fd, &st) != 0 || st.st_dev != store->st_dev || st.st_ino != store->st_ino) {
		close(fd);
		snprintf(why, why_len, "the store's path names another file now");
		return -ESTALE;
	}
	return fd;
}

int xproc_files_open(struct xproc_region *r, const char *store_path, const struct stat *store,
		     char *why, size_t why_len)
{
	int ret = 0;

	pthread_mutex_lock(&fork_lock);
	r->member_fd = store_member_open(store_path, store, why, why_len);
	if (r->member_fd < 0) {
		ret = r->member_fd;
		goto out_unlock;
	}
	r->fd = region_file_open(r->path, store, why, why_len);
	if (r->fd < 0) {
		ret = r->fd;
		goto err_close_member;
	}
	r->next_forkable = forkable;
	forkable = r;
	goto out_unlock;

err_close_member:
	close(r->member_fd);
	r->member_fd = -1;
out_unlock:
	pthread_mutex_unlock(&fork_lock);
	return ret;
}

void xproc_files_close(struct xproc_region *r)
{
	pthread_mutex_lock(&fork_lock);
	for (struct xproc_region **p = &forkable; *p; p = &(*p)->next_forkable) {
		if (*p == r) {
			*p = r->next_forkable;
			break;
		}
	}
	if (r->shared)
		munmap(r->shared, r->span);
	close(r->fd);
	close(r->member_fd);
	r->shared = NULL;
	r->fd = r->member_fd = -1;
	pthread_mutex_unlock(&fork_lock);
}

bool xproc_file_current(const struct xproc_region *r)
{
	struct stat a, b;

	/* By name, with no descriptor: out of descriptors, an open here
	 * failed, which read as "removed", and the join retried until it
	 * gave up with -EAGAIN (found by the adversarial pass). */
	return fstat(r->fd, &a) == 0 && a.st_nlink > 0 &&
	       fstatat(AT_FDCWD, r->path, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Zeroed, but for the header and the slots' incarnations, which start
 * from the clock: a lock word naming a member of an earlier life of the
 * region (every member killed, the file left) must not match the new
 * member in that slot, or the lock would never be taken over. The memory
 * of the fixed part, the user area and the arena's first chunk is taken
 * now (tmpfs): a full file system fails the join with -ENOSPC, not a
 * member's first fault later with SIGBUS (found by the adversarial pass of
 * issue 14's API step). The arena is empty; a take past its first chunk
 * grows it, and one that cannot fails (-ENOSPC: the fault gets SIGBUS,
 * with a message, a call -ENOMEM). */
int xproc_file_init(struct xproc_region *r, uint64_t dev, uint64_t ino, char *why,
		    size_t why_len)
{
	uint64_t first_end = r->layout.node_bytes ? r->arena_off + XPROC_ARENA_CHUNK : r->arena_off;
	struct xproc_header h;
	struct xproc_peer peer[XPROC_PEERS_MAX];
	struct timespec now;
	int ret;

	if (first_end > r->span)
		first_end = r->span;
	h = (struct xproc_header){ .layout = XPROC_LAYOUT, .peers_max = XPROC_PEERS_MAX,
				   .store_dev = dev, .store_ino = ino,
				   .bytes = sizeof(struct xproc_shared),
				   .user_bytes = r->layout.user_bytes,
				   .arena_max = r->layout.arena_max,
				   .node_bytes = r->layout.node_bytes,
				   .arena = { .lock = XPROC_LOCK_INIT, .end = first_end,
					      .cursor = r->arena_off } };
	memcpy(h.magic, XPROC_MAGIC, sizeof(h.magic));
	memset(peer, 0, sizeof(peer));
	clock_gettime(CLOCK_REALTIME, &now);
	for (unsigned s = 0; s < XPROC_PEERS_MAX; s++)
		peer[s].incarnation = (uint32_t)now.tv_nsec ^ (uint32_t)now.tv_sec << 10 ^ s << 20;
	if (ftruncate(r->fd, 0) != 0)
		return -errno;
	ret = -posix_fallocate(r->fd, 0, (off_t)first_end);
	if (ret) {
		snprintf(why, why_len, "no room for the shared region %s: %s", r->path,
			 strerror(-ret));
		return ret;
	}
	if (pwrite(r->fd, peer, sizeof(peer), offsetof(struct xproc_shared, peer)) !=
	    (ssize_t)sizeof(peer))
		return -EIO;
	return pwrite(r->fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) ? 0 : -EIO;
}

/* Whether the header names this store and this udax's geometry and
 * layout; -EUCLEAN with the reason if not. */
static int header_check(const struct xproc_region *r, const struct xproc_header *h,
			uint64_t dev, uint64_t ino, char *why, size_t why_len)
{
	if (memcmp(h->magic, XPROC_MAGIC, sizeof(h->magic)) || h->layout != XPROC_LAYOUT ||
	    h->peers_max != XPROC_PEERS_MAX || h->bytes != sizeof(struct xproc_shared) ||
	    h->store_dev != dev || h->store_ino != ino) {
		snprintf(why, why_len, "shared region %s is not this store's (or of another udax "
			 "version) and is in use", r->path);
		return -EUCLEAN;
	}
	if (h->user_bytes != r->layout.user_bytes || h->node_bytes != r->layout.node_bytes ||
	    h->arena_max != r->layout.arena_max) {
		snprintf(why, why_len, "shared region %s is in use with another layout (user area "
			 "%llu bytes, nodes of %u bytes, arena up to %llu bytes; this process "
			 "asks %llu, %u, %llu): two udax versions disagree", r->path,
			 (unsigned long long)h->user_bytes, (unsigned)h->node_bytes,
			 (unsigned long long)h->arena_max,
			 (unsigned long long)r->layout.user_bytes,
			 (unsigned)r->layout.node_bytes, (unsigned long long)r->layout.arena_max);
		return -EUCLEAN;
	}
	return 0;
}

/* Context: fork_lock held (join), the span mapped. The header must name
 * this store and layout, and the file hold the arena's published end. */
static int region_check(struct xproc_region *r, uint64_t dev, uint64_t ino, char *why,
			size_t why_len)
{
	const struct xproc_header *h = &r->shared->header;
	struct stat st;
	uint64_t end;
	int ret = header_check(r, h, dev, ino, why, why_len);

	if (ret)
		return ret;
	/* Pairs with the release store of arena.end in arena_grow(). */
	end = atomic_load_explicit(&h->arena.end, memory_order_acquire);
	if (fstat(r->fd, &st) != 0)
		return -errno;
	if (end < r->arena_off || end > r->span || (uint64_t)st.st_size < end) {
		snprintf(why, why_len, "shared region %s is truncated or its arena damaged",
			 r->path);
		return -EUCLEAN;
	}
	return 0;
}

int xproc_file_map(struct xproc_region *r, uint64_t dev, uint64_t ino, char *why,
		   size_t why_len)
{
	struct stat st;
	void *p;
	int ret = 0;

	if (fstat(r->fd, &st) != 0)
		return -errno;
	if ((uint64_t)st.st_size < sizeof(struct xproc_shared)) {
		snprintf(why, why_len, "shared region %s is truncated", r->path);
		return -EUCLEAN;
	}
	/* The mapping made with MADV_DONTFORK under fork_lock: no child has
	 * it. */
	pthread_mutex_lock(&fork_lock);
	p = mmap(NULL, r->span, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, r->fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		snprintf(why, why_len, "no address space for the shared region's %llu bytes "
			 "(RLIMIT_AS?): %s", (unsigned long long)r->span, strerror(-ret));
		goto out_unlock;
	}
	r->shared = p;
	if (madvise(p, r->span, MADV_DONTFORK) != 0)
		ret = -errno;
	else
		ret = region_check(r, dev, ino, why, why_len);
	if (ret) {
		munmap(p, r->span);
		r->shared = NULL;
	}
out_unlock:
	pthread_mutex_unlock(&fork_lock);
	return ret;
}

