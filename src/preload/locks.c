// SPDX-License-Identifier: MIT
/*
 * locks.c - layer preload: file locks on udax descriptors, kept as the
 * kernel keeps them for the one process that uses the store:
 * - POSIX record locks (fcntl F_SETLK, F_SETLKW, F_GETLK): owned by the
 *   process, so they never conflict with each other; any close of a
 *   descriptor of the file releases all of them (fs/locks.c's
 *   locks_remove_posix);
 * - OFD locks (F_OFD_SETLK, F_OFD_SETLKW, F_OFD_GETLK): owned by the open
 *   file description, released when its last descriptor closes; they
 *   conflict with other descriptions' OFD locks and with the POSIX locks,
 *   even of this process;
 * - flock(2) locks: whole file, owned by the description, a namespace of
 *   their own (they never meet fcntl locks, as on Linux).
 * A new lock replaces its owner's locks on the range and merges with its
 * owner's adjacent or overlapping locks of the same type; each owner's
 * locks stay together, sorted by start, where its first lock was put (at
 * the end for an owner without locks), so that F_GETLK reports the lock
 * the kernel would. A process that has the
 * store is the only one using it (a fork child gets EBUSY), so this table
 * is every lock there is.
 *
 * Waiting (F_SETLKW, F_OFD_SETLKW, flock without LOCK_NB) is not
 * interrupted by signals (the kernel's EINTR): a handler runs and the wait
 * goes on.
 *
 * May call: libc, core.c.
 * Locks: lock_table_lock (a mutex) over the table; waiters sleep on
 * lock_table_changed, broadcast whenever a lock goes or shrinks. Nothing is
 * taken under it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "preload/shim.h"

/* The end of a lock "to the end of the file", whatever it becomes. */
#define LOCK_TO_END INT64_MAX

enum lock_kind {
	LOCK_POSIX,	/* owned by the process */
	LOCK_OFD,	/* owned by the description */
	LOCK_FLOCK,	/* owned by the description, whole file */
};

struct shim_lock {
	const struct shim_node *node;
	const struct shim_ofd *ofd;	/* OFD and flock locks: the owner */
	int64_t start, end;		/* bytes start..end, both included */
	short type;			/* F_RDLCK or F_WRLCK */
	enum lock_kind kind;
	struct shim_lock *next;
};

static pthread_mutex_t lock_table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lock_table_changed = PTHREAD_COND_INITIALIZER;
static struct shim_lock *lock_table;

static bool same_owner(const struct shim_lock *a, const struct shim_lock *b)
{
	return a->node == b->node && a->kind == b->kind &&
	       (a->kind == LOCK_POSIX || a->ofd == b->ofd);
}

/* Whether existing lock a is in the way of request b; an F_UNLCK request
 * (an F_OFD_GETLK test) asks for b's own locks instead (fs/locks.c's
 * posix_test_locks_conflict). */
static bool conflicts(const struct shim_lock *a, const struct shim_lock *b)
{
	bool overlap = a->node == b->node && a->start <= b->end && b->start <= a->end;

	if (b->type == F_UNLCK)
		return overlap && same_owner(a, b);
	if (same_owner(a, b) || (a->kind == LOCK_FLOCK) != (b->kind == LOCK_FLOCK))
		return false;
	return overlap && (a->type == F_WRLCK || b->type == F_WRLCK);
}

/* The first lock in the way of want. Context: lock_table_lock held. */
static struct shim_lock *first_conflict(const struct shim_lock *want)
{
	for (struct shim_lock *l = lock_table; l; l = l->next)
		if (conflicts(l, want))
			return l;
	return NULL;
}

/* Set (or, type F_UNLCK, clear) req's range for its owner: the owner's locks
 * there are cut out, the new one merged with its own adjacent and
 * overlapping locks of its type and put among its owner's, by start.
 * Context: lock_table_lock held; nothing in the way. Return: 0, -ENOLCK. */
static int owner_set(const struct shim_lock *req)
{
	struct shim_lock *spare[2] = { malloc(sizeof(**spare)), malloc(sizeof(**spare)) };
	struct shim_lock *add = NULL, **at, **after_owner = NULL, *before_owner = NULL;
	int64_t start = req->start, end = req->end;
	bool had_locks = false;

	if (!spare[0] || !spare[1] || (req->type != F_UNLCK && !(add = malloc(sizeof(*add))))) {
		free(spare[0]);
		free(spare[1]);
		return -ENOLCK;
	}
	/* where the owner's locks are: a new lock stays there even if it
	 * replaces them all, as the kernel's takes the place of the first */
	for (struct shim_lock *l = lock_table, *prev = NULL; l && !had_locks; prev = l, l = l->next)
		if (same_owner(l, req)) {
			before_owner = prev;
			had_locks = true;
		}
	for (at = &lock_table; *at;) {
		struct shim_lock *l = *at;

		if (!same_owner(l, req)) {
			at = &l->next;
			continue;
		}
		if (l->type == req->type && req->type != F_UNLCK &&
		    l->start <= (end == LOCK_TO_END ? end : end + 1) &&
		    (start == 0 ? 0 : start - 1) <= l->end) {
			/* same type, touching: merged into the new lock */
			start = l->start < start ? l->start : start;
			end = l->end > end ? l->end : end;
		} else if (l->start <= end && start <= l->end) {
			/* another type, overlapping: what lies outside stays */
			if (l->start < start) {
				struct shim_lock *left = spare[0];

				spare[0] = NULL;
				*left = *l;
				left->end = start - 1;
				left->next = l;
				*at = left;
				at = &left->next;
			}
			if (l->end > end) {
				struct shim_lock *right = spare[1];

				spare[1] = NULL;
				*right = *l;
				right->start = end + 1;
				right->next = l->next;
				l->next = right;
			}
		} else {
			at = &l->next;
			continue;
		}
		*at = l->next;
		free(l);
	}
	free(spare[0]);
	free(spare[1]);
	pthread_cond_broadcast(&lock_table_changed);
	if (!add)
		return 0;
	*add = *req;
	add->start = start;
	add->end = end;
	/* among the owner's locks, by start; a new owner's at the end */
	for (at = &lock_table; *at; at = &(*at)->next) {
		if (!same_owner(*at, req))
			continue;
		after_owner = &(*at)->next;
		if ((*at)->start > start)
			break;
	}
	if (*at == NULL && after_owner)
		at = after_owner;
	else if (!after_owner && had_locks)
		at = before_owner ? &before_owner->next : &lock_table;
	add->next = *at;
	*at = add;
	return 0;
}

/* Take or test req for its owner: F_GETLK-style tests fill *found with the
 * first lock in the way (type F_UNLCK if none); others wait while
 * something is in the way (wait) or fail -EAGAIN. Return: 0 or -errno. */
static int lock_request(struct shim_lock *req, bool test, bool wait, struct shim_lock *found)
{
	struct shim_lock *in_way;
	int ret = 0;

	pthread_mutex_lock(&lock_table_lock);
	if (test) {
		in_way = first_conflict(req);
		*found = in_way ? *in_way : (struct shim_lock){ .type = F_UNLCK };
	} else {
		while (req->type != F_UNLCK && (in_way = first_conflict(req)) && wait)
			pthread_cond_wait(&lock_table_changed, &lock_table_lock);
		ret = req->type != F_UNLCK && in_way ? -EAGAIN : owner_set(req);
	}
	pthread_mutex_unlock(&lock_table_lock);
	return ret;
}

/* The range of fl, its l_whence at base, into *req. Return: 0 or -errno. */
static int range_of(const struct flock *fl, int64_t base, struct shim_lock *req)
{
	int64_t start, end;

	if (__builtin_add_overflow(base, (int64_t)fl->l_start, &start))
		return -EOVERFLOW;
	if (start < 0)
		return -EINVAL;
	if (fl->l_len > 0) {
		if (fl->l_len - 1 > LOCK_TO_END - start)
			return -EOVERFLOW;
		end = start + fl->l_len - 1;
	} else if (fl->l_len < 0) {
		if (start + fl->l_len < 0)
			return -EINVAL;
		end = start - 1;
		start += fl->l_len;
	} else {
		end = LOCK_TO_END;
	}
	req->start = start;
	req->end = end;
	return 0;
}

int shim_lock_fcntl(struct shim_ofd *ofd, int cmd, struct flock *fl, int64_t base)
{
	bool ofd_cmd = cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW || cmd == F_OFD_GETLK;
	bool test = cmd == F_GETLK || cmd == F_OFD_GETLK;
	int acc = atomic_load(&ofd->flags) & O_ACCMODE;
	struct shim_lock req = { .node = ofd->node, .ofd = ofd }, found;
	int ret;

	/* in fs/locks.c's order: F_GETLK's type, the range, the type (F_UNLCK
	 * tests only with F_OFD_GETLK, since Linux 6.6: this description's own
	 * locks there), the access mode, an OFD command's l_pid */
	if (cmd == F_GETLK && fl->l_type != F_RDLCK && fl->l_type != F_WRLCK)
		return -EINVAL;
	ret = range_of(fl, base, &req);
	if (ret)
		return ret;
	if (fl->l_type != F_RDLCK && fl->l_type != F_WRLCK && fl->l_type != F_UNLCK)
		return -EINVAL;
	if (!test && ((fl->l_type == F_RDLCK && acc == O_WRONLY) ||
		      (fl->l_type == F_WRLCK && acc == O_RDONLY)))
		return -EBADF;
	if (ofd_cmd && fl->l_pid != 0)
		return -EINVAL;
	req.type = fl->l_type;
	req.kind = ofd_cmd ? LOCK_OFD : LOCK_POSIX;
	ret = lock_request(&req, test, cmd == F_SETLKW || cmd == F_OFD_SETLKW, &found);
	if (ret || !test)
		return ret;
	fl->l_type = found.type;
	if (found.type != F_UNLCK) {
		fl->l_whence = SEEK_SET;
		fl->l_start = found.start;
		fl->l_len = found.end == LOCK_TO_END ? 0 : found.end - found.start + 1;
		fl->l_pid = found.kind == LOCK_POSIX ? getpid() : -1;
	}
	return 0;
}

int shim_lock_flock(struct shim_ofd *ofd, int op)
{
	struct shim_lock req = { .node = ofd->node, .ofd = ofd, .kind = LOCK_FLOCK,
				 .end = LOCK_TO_END };
	struct shim_lock *own;
	int ret;

	switch (op & ~LOCK_NB) {
	case LOCK_SH: req.type = F_RDLCK; break;
	case LOCK_EX: req.type = F_WRLCK; break;
	case LOCK_UN: req.type = F_UNLCK; break;
	default: return -EINVAL;
	}
	/* A conversion drops the old lock first, as the kernel's does. */
	pthread_mutex_lock(&lock_table_lock);
	for (own = lock_table; own && !same_owner(own, &req); own = own->next)
		;
	if (own && own->type == req.type) {
		pthread_mutex_unlock(&lock_table_lock);
		return 0;
	}
	ret = own ? owner_set(&(struct shim_lock){ .node = req.node, .ofd = ofd,
						    .kind = LOCK_FLOCK, .type = F_UNLCK,
						    .end = LOCK_TO_END }) : 0;
	pthread_mutex_unlock(&lock_table_lock);
	if (ret || req.type == F_UNLCK)
		return ret;
	ret = lock_request(&req, false, !(op & LOCK_NB), NULL);
	return ret == -EAGAIN ? -EWOULDBLOCK : ret;
}

/* Remove the locks of node that match (kind, ofd: NULL any). */
static void locks_drop(const struct shim_node *node, enum lock_kind kind,
		       const struct shim_ofd *ofd)
{
	bool dropped = false;

	pthread_mutex_lock(&lock_table_lock);
	for (struct shim_lock **at = &lock_table; *at;) {
		struct shim_lock *l = *at;

		if (l->node == node && l->kind == kind && (!ofd || l->ofd == ofd)) {
			*at = l->next;
			free(l);
			dropped = true;
		} else {
			at = &l->next;
		}
	}
	if (dropped)
		pthread_cond_broadcast(&lock_table_changed);
	pthread_mutex_unlock(&lock_table_lock);
}

void shim_locks_fd_closed(const struct shim_ofd *ofd)
{
	if (shim_is_child())	/* the table is the parent's (and may be locked) */
		return;
	locks_drop(ofd->node, LOCK_POSIX, NULL);
}

void shim_locks_ofd_gone(const struct shim_ofd *ofd)
{
	locks_drop(ofd->node, LOCK_OFD, ofd);
	locks_drop(ofd->node, LOCK_FLOCK, ofd);
}
