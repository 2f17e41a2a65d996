// SPDX-License-Identifier: MIT
/*
 * region.c - joining and leaving a store's shared region: the region file,
 * its initialization by the first member, process slots and their life.
 *
 * Locks: the region file's SETUP byte (an OFD write lock, held only inside
 * xproc_join and xproc_leave) serializes joins and leaves of one region
 * across processes, so "nobody present" (the PRESENT byte free for
 * writing) cannot change while a joiner initializes or a leaver removes
 * the file. joined_lock (a process-local mutex) protects the list of this
 * process's regions that the fork handler walks; it is a leaf.
 * May sleep: xproc_join and xproc_leave wait for other joiners/leavers.
 *
 * Layer: xproc. May call: base, peers.c, shootdown.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/compat.h"
#include "xproc/region_layout.h"

static pthread_mutex_t joined_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xproc_region *joined;
static pthread_once_t fork_handler_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
	pthread_mutex_lock(&joined_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&joined_lock);
}

/* The child is no member: its copies of the region descriptors go (the
 * parent's slot locks live on in the parent's copies; the mappings were
 * never inherited, MADV_DONTFORK), its handles are forgotten (the library
 * refuses a child's inherited handles). */
static void fork_child(void)
{
	for (struct xproc_region *r = joined; r; r = r->next_joined) {
		close(r->fd);
		r->fd = -1;
		r->forked = true;
	}
	joined = NULL;
	pthread_mutex_unlock(&joined_lock);
}

static void fork_handler_install(void)
{
	(void)pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static void joined_add(struct xproc_region *r)
{
	pthread_once(&fork_handler_once, fork_handler_install);
	pthread_mutex_lock(&joined_lock);
	r->next_joined = joined;
	joined = r;
	pthread_mutex_unlock(&joined_lock);
}

static void joined_remove(struct xproc_region *r)
{
	pthread_mutex_lock(&joined_lock);
	for (struct xproc_region **p = &joined; *p; p = &(*p)->next_joined) {
		if (*p == r) {
			*p = r->next_joined;
			break;
		}
	}
	pthread_mutex_unlock(&joined_lock);
}

/* The store's identity: a block device by its device number (two nodes of
 * one device meet), a file by device and inode (two paths meet). */
static void store_identity(const struct stat *st, uint64_t *dev, uint64_t *ino)
{
	*dev = S_ISBLK(st->st_mode) ? 0 : (uint64_t)st->st_dev;
	*ino = S_ISBLK(st->st_mode) ? (uint64_t)st->st_rdev : (uint64_t)st->st_ino;
}

/* Whether an existing region file may be trusted: a plain file with one
 * name, owned by this user or by the store's owner, and no more open than
 * the store (a file another user made, or anyone may write, could be fed
 * to us to read requests from or to keep us out). */
static int region_file_check(int fd, const struct stat *store, char *why, size_t why_len)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		snprintf(why, why_len, "shared region is not a plain file");
		return -EACCES;
	}
	if (st.st_uid != geteuid() && st.st_uid != store->st_uid) {
		snprintf(why, why_len, "shared region belongs to user %u, neither this user nor "
			 "the store's owner", (unsigned)st.st_uid);
		return -EACCES;
	}
	if (st.st_mode & 0777 & ~(store->st_mode & 0666)) {
		snprintf(why, why_len, "shared region's permissions %03o are wider than the "
			 "store's %03o", (unsigned)(st.st_mode & 0777),
			 (unsigned)(store->st_mode & 0777));
		return -EACCES;
	}
	return 0;
}

/* Open the region file, making it with the store's permission bits (and
 * group, where this user may give it) when there is none. */
static int region_file_open(const char *path, const struct stat *store, char *why,
			    size_t why_len)
{
	mode_t mode = store->st_mode & 0666;
	int fd, ret;

	fd = compat_open_backing(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
	if (fd >= 0) {
		/* The umask may have narrowed it; a group the user is no
		 * member of stays the user's (then only the owner joins). */
		if (fchmod(fd, mode) != 0)
			ret = -errno;
		else
			ret = 0;
		if (!ret && store->st_gid != getegid())
			(void)fchown(fd, (uid_t)-1, store->st_gid);
	} else if (fd == -EEXIST) {
		fd = compat_open_backing(path, O_RDWR | O_NOFOLLOW, 0);
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

/* Whether fd is still the file at path (a leaver may have removed it
 * between our open and our SETUP lock: then open again). */
static bool region_file_current(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && a.st_nlink > 0 && stat(path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Zeroed, but for the header and the slots' incarnations, which start
 * from the clock: a lock word naming a member of an earlier life of the
 * region (every member killed, the file left) must not match the new
 * member in that slot, or the lock would never be taken over. */
static int region_init(int fd, uint64_t dev, uint64_t ino)
{
	struct xproc_header h = { .layout = XPROC_LAYOUT, .peers_max = XPROC_PEERS_MAX,
				  .store_dev = dev, .store_ino = ino,
				  .bytes = sizeof(struct xproc_shared) };
	struct xproc_peer peer[XPROC_PEERS_MAX];
	struct timespec now;

	memcpy(h.magic, XPROC_MAGIC, sizeof(h.magic));
	memset(peer, 0, sizeof(peer));
	clock_gettime(CLOCK_REALTIME, &now);
	for (unsigned s = 0; s < XPROC_PEERS_MAX; s++)
		peer[s].incarnation = (uint32_t)now.tv_nsec ^ (uint32_t)now.tv_sec << 10 ^ s << 20;
	if (ftruncate(fd, 0) != 0 || ftruncate(fd, (off_t)sizeof(struct xproc_shared)) != 0)
		return -errno;
	if (pwrite(fd, peer, sizeof(peer), offsetof(struct xproc_shared, peer)) !=
	    (ssize_t)sizeof(peer))
		return -EIO;
	return pwrite(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) ? 0 : -EIO;
}

static int region_map(struct xproc_region *r, uint64_t dev, uint64_t ino, char *why,
		      size_t why_len)
{
	const struct xproc_header *h;
	struct stat st;
	void *p;

	if (fstat(r->fd, &st) != 0)
		return -errno;
	if ((uint64_t)st.st_size < sizeof(struct xproc_shared)) {
		snprintf(why, why_len, "shared region %s is truncated", r->path);
		return -EUCLEAN;
	}
	p = mmap(NULL, sizeof(struct xproc_shared), PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	/* A mapping holds the open file description, and with it the slot
	 * lock: a fork child must not inherit it, or it would keep a dead
	 * parent alive (closing its descriptor copy is not enough). */
	if (madvise(p, sizeof(struct xproc_shared), MADV_DONTFORK) != 0) {
		munmap(p, sizeof(struct xproc_shared));
		return -errno;
	}
	h = p;
	if (memcmp(h->magic, XPROC_MAGIC, sizeof(h->magic)) || h->layout != XPROC_LAYOUT ||
	    h->peers_max != XPROC_PEERS_MAX || h->bytes != sizeof(struct xproc_shared) ||
	    h->store_dev != dev || h->store_ino != ino) {
		snprintf(why, why_len, "shared region %s is not this store's (or of another udax "
			 "version) and is in use", r->path);
		munmap(p, sizeof(struct xproc_shared));
		return -EUCLEAN;
	}
	r->shared = p;
	return 0;
}

/* Take the first slot nobody holds (a dead member's is free again). */
static int slot_claim(struct xproc_region *r, char *why, size_t why_len)
{
	for (unsigned s = 0; s < XPROC_PEERS_MAX; s++) {
		struct xproc_peer *peer = &r->shared->peer[s];

		if (xproc_byte_lock(r->fd, F_OFD_SETLK, F_WRLCK, XPROC_LOCK_SLOT0 + s) != 0)
			continue;
		r->self = s;
		atomic_fetch_add_explicit(&peer->incarnation, 1, memory_order_release);
		atomic_store_explicit(&peer->pid, getpid(), memory_order_relaxed);
		return 0;
	}
	snprintf(why, why_len, "%d processes share this store already", XPROC_PEERS_MAX);
	return -EBUSY;
}

/* Under SETUP: be present, initializing the region if alone. */
static int region_enter(struct xproc_region *r, uint64_t dev, uint64_t ino, char *why,
			size_t why_len)
{
	int ret;

	if (xproc_byte_lock(r->fd, F_OFD_SETLK, F_WRLCK, XPROC_LOCK_PRESENT) == 0) {
		ret = region_init(r->fd, dev, ino);
		if (!ret)
			ret = xproc_byte_lock(r->fd, F_OFD_SETLK, F_RDLCK, XPROC_LOCK_PRESENT);
	} else {
		ret = xproc_byte_lock(r->fd, F_OFD_SETLKW, F_RDLCK, XPROC_LOCK_PRESENT);
	}
	if (!ret)
		ret = region_map(r, dev, ino, why, why_len);
	if (!ret)
		ret = slot_claim(r, why, why_len);
	if (ret && r->shared) {
		munmap(r->shared, sizeof(struct xproc_shared));
		r->shared = NULL;
	}
	return ret;
}

/* Whether nobody else is present; then the region file goes (it is ours). */
static void region_remove_if_last(struct xproc_region *r)
{
	(void)xproc_byte_lock(r->fd, F_OFD_SETLK, F_UNLCK, XPROC_LOCK_PRESENT);
	if (xproc_byte_lock(r->fd, F_OFD_SETLK, F_WRLCK, XPROC_LOCK_PRESENT) == 0 &&
	    region_file_current(r->fd, r->path))
		unlink(r->path);
}

int xproc_join(int store_fd, xproc_apply_fn apply, void *ctx, struct xproc_region **out,
	       char *why, size_t why_len)
{
	const char *dir = secure_getenv("UDAX_REGION_DIR");
	struct xproc_region *r;
	uint64_t dev, ino;
	struct stat st;
	int ret, tries;

	if (fstat(store_fd, &st) != 0)
		return -errno;
	store_identity(&st, &dev, &ino);
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	mutex_init(&r->post_lock);
	r->apply = apply;
	r->ctx = ctx;
	if (snprintf(r->path, sizeof(r->path), "%s/udax-%llx-%llx.region",
		     dir && *dir ? dir : "/dev/shm", (unsigned long long)dev,
		     (unsigned long long)ino) >= (int)sizeof(r->path)) {
		snprintf(why, why_len, "UDAX_REGION_DIR is too long");
		ret = -ENAMETOOLONG;
		goto err_free;
	}
	for (tries = 0;; tries++) {
		r->fd = region_file_open(r->path, &st, why, why_len);
		if (r->fd < 0) {
			ret = r->fd;
			goto err_free;
		}
		ret = xproc_byte_lock(r->fd, F_OFD_SETLKW, F_WRLCK, XPROC_LOCK_SETUP);
		if (ret)
			goto err_close;
		if (region_file_current(r->fd, r->path))
			break;
		close(r->fd);	/* removed by a leaver meanwhile: again */
		if (tries == 100) {
			ret = -EAGAIN;
			goto err_free;
		}
	}
	ret = region_enter(r, dev, ino, why, why_len);
	if (!ret)
		ret = xproc_agent_start(r);
	if (ret) {
		if (r->shared) {
			(void)xproc_byte_lock(r->fd, F_OFD_SETLK, F_UNLCK, XPROC_LOCK_SLOT0 + r->self);
			munmap(r->shared, sizeof(struct xproc_shared));
		}
		region_remove_if_last(r);
		goto err_close;
	}
	(void)xproc_byte_lock(r->fd, F_OFD_SETLK, F_UNLCK, XPROC_LOCK_SETUP);
	joined_add(r);
	*out = r;
	return 0;

err_close:
	close(r->fd);
err_free:
	free(r);
	return ret;
}

void xproc_leave(struct xproc_region *r)
{
	if (r->forked) {
		free(r);
		return;
	}
	joined_remove(r);
	xproc_agent_stop(r);
	(void)xproc_byte_lock(r->fd, F_OFD_SETLKW, F_WRLCK, XPROC_LOCK_SETUP);
	atomic_store_explicit(&r->shared->peer[r->self].pid, 0, memory_order_relaxed);
	(void)xproc_byte_lock(r->fd, F_OFD_SETLK, F_UNLCK, XPROC_LOCK_SLOT0 + r->self);
	munmap(r->shared, sizeof(struct xproc_shared));
	region_remove_if_last(r);
	close(r->fd);	/* drops SETUP and PRESENT with the description */
	free(r);
}
