// SPDX-License-Identifier: MIT
/*
 * region.c - joining and leaving a store's shared region: being present,
 * initializing it when alone, process slots.
 *
 * Locks: the region file's SETUP byte (an OFD write lock, held only inside
 * xproc_join and xproc_leave) serializes joins and leaves of one region
 * across processes, so "nobody present" (the PRESENT byte free for
 * writing) cannot change while a joiner initializes or a leaver removes
 * the file. The descriptors and the mapping are made and dropped in
 * region_file.c, under its fork lock.
 * May sleep: xproc_join and xproc_leave wait for other joiners/leavers.
 *
 * Layer: xproc. May call: base, peers.c, region_file.c, shootdown.c,
 * lock_proxy.c.
 */
#define _GNU_SOURCE
#include <errno.h>
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

/* Join and leave retry this often when the region file comes or goes
 * under them (each time another process made progress). */
#define JOIN_TRIES 100


/* Where the user area and the arena go, from a layout checked in bounds:
 * page aligned after the fixed part; the mapping reaches arena_max. */
static int region_geometry(struct xproc_region *r, const struct xproc_layout *layout,
			   char *why, size_t why_len)
{
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	const struct xproc_layout none = { 0 };
	const struct xproc_layout *l = layout ? layout : &none;

	if (l->user_bytes > XPROC_LAYOUT_BYTES_MAX || l->arena_max > XPROC_LAYOUT_BYTES_MAX ||
	    l->node_bytes % 8 || (l->arena_max && l->node_bytes < 8) ||
	    l->node_bytes > l->arena_max) {
		snprintf(why, why_len, "layout out of bounds: user area %llu bytes, nodes of %u "
			 "bytes (a multiple of 8, at least 8, at most the arena), arena up to "
			 "%llu bytes (each at most %llu)", (unsigned long long)l->user_bytes,
			 (unsigned)l->node_bytes, (unsigned long long)l->arena_max,
			 XPROC_LAYOUT_BYTES_MAX);
		return -EINVAL;
	}
	r->layout = *l;
	r->user_off = (sizeof(struct xproc_shared) + page - 1) / page * page;
	r->arena_off = r->user_off + (l->user_bytes + page - 1) / page * page;
	r->span = r->arena_off + (l->arena_max + page - 1) / page * page;
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

/* Whether ready(r) holds, asked again for up to XPROC_LIVENESS_MS. */
static bool ready_within_liveness(struct xproc_region *r, bool (*ready)(struct xproc_region *r))
{
	const struct timespec pause = { 0, XPROC_LIVENESS_MS * 1000000L / 20 };

	for (int tries = 0; tries < 20; tries++) {
		if (ready(r))
			return true;
		nanosleep(&pause, NULL);
	}
	return false;
}

/* Whether the member byte can be write-locked (nobody holds it; taken if
 * so). Asked for a while: a member that just died released its region
 * file's locks, but the kernel closes its descriptors one by one, and the
 * store's may still be open for a moment. */
static bool store_member_free(struct xproc_region *r)
{
	return xproc_byte_lock(r->member_fd, F_OFD_SETLK, F_WRLCK, XPROC_STORE_MEMBER) == 0;
}

/* Whether the reader byte is free. Asked for a while by a joiner beside
 * members: no reader is ever let in beside members, so one holding its
 * byte then is a reader (a udax_store_check(), udax fsck, a read-only
 * open) that took it and is about to see the members' byte and give its
 * own back. Asked once, such a passing check refused a member that joined
 * (a fork child, which lost its mappings: found by the second adversarial
 * pass of stage 4). */
static bool store_reader_gone(struct xproc_region *r)
{
	return !xproc_byte_held(r->member_fd, XPROC_STORE_READER);
}

/* Hold the store's member byte for reading; alone in the region, first
 * check that no member of another region holds it. */
static int store_member_take(struct xproc_region *r, bool alone, char *why, size_t why_len)
{
	if ((alone && !ready_within_liveness(r, store_member_free)) ||
	    xproc_byte_lock(r->member_fd, F_OFD_SETLK, F_RDLCK, XPROC_STORE_MEMBER)) {
		snprintf(why, why_len, "the store is in use by processes outside the shared "
			 "region %s (its file was removed under them, they use another "
			 "UDAX_REGION_DIR, or a program holds a lock on the whole store file): "
			 "they must close the store first", r->path);
		return -EBUSY;
	}
	/* Taken, then tested, as a reader does the other way round. */
	if (!store_reader_gone(r) && (alone || !ready_within_liveness(r, store_reader_gone))) {
		(void)xproc_byte_lock(r->member_fd, F_OFD_SETLK, F_UNLCK, XPROC_STORE_MEMBER);
		snprintf(why, why_len, "the store is open read-only by a process outside its "
			 "shared region (one that may only read the store file, or opened it "
			 "for itself): it must close the store first");
		return -EBUSY;
	}
	return 0;
}

/* Under SETUP: be present, initializing the region if alone. */
static int region_enter(struct xproc_region *r, uint64_t dev, uint64_t ino, char *why,
			size_t why_len)
{
	bool alone = xproc_byte_lock(r->fd, F_OFD_SETLK, F_WRLCK, XPROC_LOCK_PRESENT) == 0;
	int ret = store_member_take(r, alone, why, why_len);

	if (!ret && alone) {
		ret = xproc_file_init(r, dev, ino, why, why_len);
		if (!ret)
			ret = xproc_byte_lock(r->fd, F_OFD_SETLK, F_RDLCK, XPROC_LOCK_PRESENT);
	} else if (!ret) {
		/* Only a joiner or leaver under SETUP write-locks it. */
		ret = xproc_byte_lock(r->fd, F_OFD_SETLK, F_RDLCK, XPROC_LOCK_PRESENT);
	}
	if (!ret)
		ret = xproc_file_map(r, dev, ino, why, why_len);
	if (!ret)
		ret = slot_claim(r, why, why_len);
	return ret;
}

/* Under SETUP, no longer present: if nobody else is, the region file goes
 * (it is ours to remove). */
static void region_remove_if_last(struct xproc_region *r)
{
	(void)xproc_byte_lock(r->fd, F_OFD_SETLK, F_UNLCK, XPROC_LOCK_PRESENT);
	char locks[PATH_MAX];
	size_t len = strlen(r->path) - strlen("region");

	if (xproc_byte_lock(r->fd, F_OFD_SETLK, F_WRLCK, XPROC_LOCK_PRESENT) == 0 &&
	    xproc_file_current(r)) {
		unlink(r->path);
		/* no member holds a lock proxy now, nor can one until the
		 * next joiner has SETUP */
		snprintf(locks, sizeof(locks), "%.*slocks", (int)len, r->path);
		xproc_lock_proxies_remove_path(locks);
	}
}

/* Under SETUP: give up the slot (if one was claimed) and the member byte,
 * remove the region file if nobody else is present, and close (which
 * drops SETUP and PRESENT with the descriptions). The member byte goes
 * before the file may: a joiner that makes the next region must find no
 * member byte held by a member of this one. */
static void region_exit(struct xproc_region *r)
{
	if (r->self < XPROC_PEERS_MAX) {
		atomic_store_explicit(&r->shared->peer[r->self].pid, 0, memory_order_relaxed);
		(void)xproc_byte_lock(r->fd, F_OFD_SETLK, F_UNLCK, XPROC_LOCK_SLOT0 + r->self);
	}
	(void)xproc_byte_lock(r->member_fd, F_OFD_SETLK, F_UNLCK, XPROC_STORE_MEMBER);
	region_remove_if_last(r);
	xproc_files_close(r);
}

/* Open the files and take SETUP on a region file still in place. */
static int region_setup_lock(struct xproc_region *r, const char *store_path,
			     const struct stat *st, char *why, size_t why_len)
{
	for (int tries = 0; tries < JOIN_TRIES; tries++) {
		int ret = xproc_files_open(r, store_path, st, why, why_len);

		if (ret == -EAGAIN)
			continue;
		if (ret)
			return ret;
		ret = xproc_byte_lock(r->fd, F_OFD_SETLKW, F_WRLCK, XPROC_LOCK_SETUP);
		if (ret) {
			xproc_files_close(r);
			return ret;
		}
		if (xproc_file_current(r))
			return 0;
		xproc_files_close(r);	/* removed by a leaver meanwhile */
	}
	snprintf(why, why_len, "shared region %s kept coming and going", r->path);
	return -EAGAIN;
}

int xproc_join(int store_fd, const char *store_path, const struct xproc_layout *layout,
	       xproc_apply_fn apply, void *ctx, struct xproc_region **out, char *why,
	       size_t why_len)
{
	struct xproc_region *r;
	uint64_t dev, ino;
	struct stat st;
	int ret;

	if (fstat(store_fd, &st) != 0)
		return -errno;
	xproc_store_identity(&st, &dev, &ino);
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	mutex_init(&r->post_lock);
	r->fd = r->member_fd = -1;
	r->self = XPROC_PEERS_MAX;	/* no slot yet */
	r->apply = apply;
	r->ctx = ctx;
	ret = region_geometry(r, layout, why, why_len);
	if (ret)
		goto err_free;
	ret = xproc_store_file_path(&st, "region", r->path, sizeof(r->path), why, why_len);
	if (ret)
		goto err_free;
	ret = region_setup_lock(r, store_path, &st, why, why_len);
	if (ret)
		goto err_free;
	ret = region_enter(r, dev, ino, why, why_len);
	if (!ret)
		ret = xproc_agent_start(r);
	if (ret) {
		region_exit(r);
		goto err_free;
	}
	(void)xproc_byte_lock(r->fd, F_OFD_SETLK, F_UNLCK, XPROC_LOCK_SETUP);
	*out = r;
	return 0;

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
	xproc_agent_stop(r);
	(void)xproc_byte_lock(r->fd, F_OFD_SETLKW, F_WRLCK, XPROC_LOCK_SETUP);
	region_exit(r);
	free(r);
}
