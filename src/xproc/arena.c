// SPDX-License-Identifier: MIT
/*
 * arena.c - the region's user area and node arena: fixed-size nodes any
 * member takes and gives back, in a part of the region file that grows by
 * XPROC_ARENA_CHUNK up to the layout's arena_max (region_layout.h has the
 * file's layout). A node is named by its offset in the file: every member
 * maps the whole span of the file at join, so base + offset is the same
 * node everywhere, and 0 (the header) is never a node.
 *
 * Every member maps the whole span at join (region_file.c): the arena
 * grows in the file only. State (struct xproc_arena in the header): `end`,
 * the file bytes that hold nodes; `cursor`, the first node never handed out (nodes below
 * it were handed out once); `free_head`, a list of given back nodes
 * linked through their first 8 bytes (0 ends it); `in_use`.
 *
 * Locks: arena.lock (an xproc_lock: a holder's death is seen and the lock
 * taken over) protects every field but `end`'s readers, and the first 8
 * bytes of the free nodes. `end` is written under it and read without it
 * at join. No other lock is taken under it, and it is taken under none:
 * take and give run in signal handlers. May sleep: take and give (the
 * lock).
 *
 * Death: a holder killed at any instant leaves the arena usable as is by
 * the member that takes the lock over (XPROC_LOCK_RECOVERED needs no
 * repair here), because every change of the state is one store that
 * leaves it consistent, made with release so the stores reach memory in
 * program order (a dead holder's stores are a prefix of its program):
 *   take:  in_use += n; free_head = the node after the k taken from the
 *          list; cursor += (n - k) nodes. A node leaves the list or the
 *          never-used space by one store and belongs to the taker from
 *          then on: if it dies, the node is leaked, never handed out
 *          again. Killed before the last store: in_use counts n too many
 *          (a leak on paper, the upper bound nodes_in_use promises).
 *   give:  each node's next = the chain so far (the nodes are the
 *          giver's: nobody reads them), then free_head = the chain (one
 *          store: the whole batch joins the list or none of it), then
 *          in_use -= n. Killed before the head store: the nodes leak.
 *   grow:  the file gets the new chunk (posix_fallocate, which also
 *          extends it; on failure tmpfs leaves it as it was, and a dead
 *          grower leaves it harmlessly longer than `end`), then end = the
 *          new end, then the caller maps it. `end` never exceeds what
 *          the file holds, so no member maps a byte beyond the file.
 * The list is changed only at its head, by one store naming nodes the
 * storer holds, so it never gets a cycle or a node handed out, and a
 * node is handed out by one store, so never twice: the only cost of a
 * death is the nodes the dead member held (until the region is made anew,
 * every member gone). Reads of the list check each offset (in the arena,
 * below cursor, on a node boundary), and a walk is bounded by n.
 *
 * Layer: xproc. May call: base, lock.c, region_file.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>

#include "xproc/region_layout.h"

static struct xproc_arena *arena_of(const struct xproc_region *r)
{
	return &r->shared->header.arena;
}

/* The first 8 bytes of a node: while it is free, the next free one. */
static _Atomic uint64_t *node_next(const struct xproc_region *r, uint64_t node)
{
	return (_Atomic uint64_t *)((char *)r->shared + node);
}

/* Whether node was handed out once and lies in the file. Context:
 * arena.lock held. */
static bool node_valid(const struct xproc_region *r, uint64_t node, uint64_t cursor)
{
	return node >= r->arena_off && node < cursor &&
	       (node - r->arena_off) % r->layout.node_bytes == 0 &&
	       node + r->layout.node_bytes <=
		       atomic_load_explicit(&arena_of(r)->end, memory_order_relaxed);
}

void *xproc_user_area(const struct xproc_region *r)
{
	if (r->forked || !r->layout.user_bytes)
		return NULL;
	return (char *)r->shared + r->user_off;
}

char *xproc_arena_base(const struct xproc_region *r)
{
	return r->forked ? NULL : (char *)r->shared;
}

static int space_take(const struct radix_space *sp, unsigned n, radix_ref *refs)
{
	return xproc_arena_take(sp->ctx, n, refs) ? -ENOMEM : 0;
}

static void space_give(const struct radix_space *sp, unsigned n, const radix_ref *refs)
{
	xproc_arena_give(sp->ctx, n, refs);
}

struct radix_space xproc_arena_space(struct xproc_region *r)
{
	return (struct radix_space){
		.base = xproc_arena_base(r),
		.take = space_take,
		.give = space_give,
		.ctx = r,
	};
}

uint64_t xproc_arena_nodes_in_use(const struct xproc_region *r)
{
	if (r->forked)
		return 0;
	return atomic_load_explicit(&arena_of(r)->in_use, memory_order_relaxed);
}

/* Context: arena.lock held. Make the file hold `need` bytes (a node's end
 * beyond `end`, within the layout), then publish them. */
static int arena_grow(struct xproc_region *r, uint64_t need)
{
	struct xproc_arena *a = arena_of(r);
	uint64_t end = atomic_load_explicit(&a->end, memory_order_relaxed);
	uint64_t chunks = (need - r->arena_off + XPROC_ARENA_CHUNK - 1) / XPROC_ARENA_CHUNK;
	uint64_t new_end = r->arena_off + chunks * XPROC_ARENA_CHUNK;
	int ret;

	if (new_end > r->span)
		new_end = r->span;
	ret = posix_fallocate(r->fd, (off_t)end, (off_t)(new_end - end));
	if (ret)
		return -ret;
	/* Pairs with the acquire load of end at join and in node_valid():
	 * whoever reads a node below new_end finds the file holding it. */
	atomic_store_explicit(&a->end, new_end, memory_order_release);
	return 0;
}

/* Context: arena.lock held. */
static int __arena_take(struct xproc_region *r, unsigned n, uint64_t *offsets)
{
	struct xproc_arena *a = arena_of(r);
	const uint64_t size = r->layout.node_bytes;
	uint64_t cursor = atomic_load_explicit(&a->cursor, memory_order_acquire);
	uint64_t node = atomic_load_explicit(&a->free_head, memory_order_acquire);
	uint64_t fresh, need;
	unsigned k = 0;
	int ret;

	if (cursor < r->arena_off || cursor > r->arena_off + r->layout.arena_max)
		return -EUCLEAN;
	for (; k < n && node; k++) {
		if (!node_valid(r, node, cursor))
			return -EUCLEAN;
		offsets[k] = node;
		node = atomic_load_explicit(node_next(r, node), memory_order_relaxed);
	}
	/* node: the list's head once the k nodes are taken. */
	fresh = n - k;
	if (fresh > (r->arena_off + r->layout.arena_max - cursor) / size)
		return -ENOMEM;
	need = cursor + fresh * size;
	if (need > atomic_load_explicit(&a->end, memory_order_relaxed)) {
		ret = arena_grow(r, need);
		if (ret)
			return ret;
	}
	for (unsigned i = k; i < n; i++)
		offsets[i] = cursor + (i - k) * size;
	/* One store each, in this order (see the top of the file). */
	atomic_fetch_add_explicit(&a->in_use, n, memory_order_release);
	if (k)
		atomic_store_explicit(&a->free_head, node, memory_order_release);
	if (fresh)
		atomic_store_explicit(&a->cursor, need, memory_order_release);
	return 0;
}

int xproc_arena_take(struct xproc_region *r, unsigned n, uint64_t *offsets)
{
	int saved_errno = errno, ret;

	if (r->forked)
		return -EBADF;
	if (!n)
		return 0;
	if (!r->layout.node_bytes)	/* no arena in the layout */
		return -ENOMEM;
	/* A holder's death needs no repair: TAKEN and RECOVERED alike. */
	ret = xproc_lock(r, &arena_of(r)->lock);
	if (ret < 0)
		goto out;
	ret = __arena_take(r, n, offsets);
	xproc_unlock(r, &arena_of(r)->lock);
out:
	errno = saved_errno;
	return ret;
}

void xproc_arena_give(struct xproc_region *r, unsigned n, const uint64_t *offsets)
{
	struct xproc_arena *a;
	uint64_t cursor, head, given = 0;
	int saved_errno = errno;

	if (r->forked || !n || !r->layout.node_bytes)
		return;
	a = arena_of(r);
	if (xproc_lock(r, &a->lock) < 0)
		goto out;
	cursor = atomic_load_explicit(&a->cursor, memory_order_acquire);
	head = atomic_load_explicit(&a->free_head, memory_order_acquire);
	for (unsigned i = n; i-- > 0;) {
		if (!node_valid(r, offsets[i], cursor))
			continue;
		/* The node is still this process's: nobody reads it. */
		atomic_store_explicit(node_next(r, offsets[i]), head, memory_order_relaxed);
		head = offsets[i];
		given++;
	}
	if (given) {
		/* Release: the links above reach memory before the head that
		 * makes them reachable. */
		atomic_store_explicit(&a->free_head, head, memory_order_release);
		atomic_fetch_sub_explicit(&a->in_use, given, memory_order_release);
	}
	xproc_unlock(r, &a->lock);
out:
	errno = saved_errno;
}
