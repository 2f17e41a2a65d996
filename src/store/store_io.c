// SPDX-License-Identifier: MIT
/*
 * store_io.c - the default store I/O ops: every metadata write, block
 * zeroing, discard and flush that a loaded store makes to its backing file
 * goes through store.io, so that a test build can record them (and replay
 * crash images at each flush point). File data moves through the page
 * cache (mappings, pread/pwrite) and becomes durable at the next sync.
 * A store made with UDAX_STORE_PREALLOC keeps its host space: its blocks
 * are zeroed in place and freed ones are not punched (they are zeroed
 * again when allocated).
 *
 * Holds no locks; callers hold what their own file says.
 *
 * Layer: store. May call: base.
 */
#include <errno.h>
#include <unistd.h>

#include "base/compat.h"
#include "store/store.h"

static int default_write(struct store *s, const void *buf, size_t len, uint64_t off)
{
	size_t done;

	return compat_io_full(s->fd, (void *)buf, len, off, true, &done);
}

static int default_sync(struct store *s)
{
	return fdatasync(s->fd) == 0 ? 0 : -errno;
}

static int default_zero(struct store *s, uint64_t off, uint64_t len)
{
	if (s->flags & STORE_FLAG_PREALLOC)
		return compat_zero_allocated(s->fd, off, len);
	return compat_zero_range(s->fd, off, len);
}

static void default_cache_large(struct store *s, uint64_t off, uint64_t len)
{
	compat_page_cache_huge(s->fd, off, len);
}

static int default_discard(struct store *s, uint64_t off, uint64_t len)
{
	if (s->flags & STORE_FLAG_PREALLOC)
		return 0;
	return compat_discard_range(s->fd, off, len);
}

bool store_extent_has_data(struct store *s, uint64_t block)
{
	return compat_range_has_data(s->fd, store_block_offset(block),
				     STORE_GROUP_BLOCKS * STORE_BLOCK_SIZE);
}

bool store_range_cached(struct store *s, uint64_t block, uint64_t n)
{
	return compat_range_cached(s->fd, store_block_offset(block), n * STORE_BLOCK_SIZE);
}

const struct store_io_ops store_io_default = {
	.write = default_write,
	.sync = default_sync,
	.zero = default_zero,
	.cache_large = default_cache_large,
	.discard = default_discard,
};
